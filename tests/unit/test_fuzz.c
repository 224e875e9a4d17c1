/* <sockfault/fuzz.h>'s decoder: every input is a valid schedule of documented errnos, its
 * rule text parses back to the same faults, the layout is the documented format 1, and a
 * bad call list is refused with the bad token named. */
#include <errno.h>
#include <string.h>

#include "check.h"
#include "rules.h"
#include "sockfault/fuzz.h"
#include "table.h"

static uint64_t rng = 0x9e3779b97f4a7c15u;
static uint8_t next_byte(void)
{
  rng ^= rng << 13;
  rng ^= rng >> 7;
  rng ^= rng << 17;
  return (uint8_t)rng;
}

static int id_of(const char *name) { return sf_call_lookup(name, strlen(name)); }

/* The schedule's faults, its rule text and its rest agree with each other and the format. */
static void check_schedule(const struct sockfault_fuzz_schedule *s, const char *calls,
                           const uint8_t *data, size_t size)
{
  CHECK(s->nfaults <= SOCKFAULT_FUZZ_MAX_FAULTS);
  CHECK_EQ(s->nfaults, size ? data[0] & 7 : 0);
  size_t want_at = 1 + 3 * (size_t)s->nfaults;
  CHECK_EQ(s->rest_size, size > want_at ? size - want_at : 0);
  CHECK_EQ(sockfault_fuzz_schedule_size(data, size), size - s->rest_size);
  if (size > want_at)
    CHECK(s->rest == data + want_at);
  struct sf_ruleset rs;
  memset(&rs, 0, sizeof rs);
  char err[256];
  if (s->nfaults == 0) { /* no fault: "", which sockfault_set_rules takes as "none" (a rule
                          * text with no rule is refused everywhere else) */
    CHECK_STR(s->rules, "");
    return;
  }
  if (sf_rules_parse(s->rules, strlen(s->rules), "test", &rs, err, sizeof err) != 0) {
    fprintf(stderr, "rule text '%s' does not parse: %s\n", s->rules, err);
    sf_check_failures++;
    return;
  }
  CHECK_EQ(rs.n, s->nfaults);
  for (unsigned i = 0; i < s->nfaults && i < rs.n; i++) {
    const struct sockfault_fuzz_fault *f = &s->fault[i];
    int id = id_of(f->call);
    CHECK(id >= 0);
    if (calls)
      CHECK(strstr(calls, f->call) != NULL);
    /* only documented errnos, from any input */
    CHECK(sf_errno_documented(id, f->err));
    CHECK_STR(f->err_name, sf_errno_name(f->err));
    CHECK(f->when >= 1 && f->when <= 16);
    CHECK(!f->onward || (f->err != EINTR && f->err != EAGAIN));
    CHECK_EQ(rs.rule[i].calls, SF_CALL_BIT(id));
    CHECK_EQ(rs.rule[i].err, f->err);
    CHECK_EQ(rs.rule[i].first, f->when);
    CHECK_EQ(rs.rule[i].last, f->onward ? SF_WHEN_INF : f->when);
  }
}

int main(void)
{
  struct sockfault_fuzz_schedule s;
  char err[256];

  /* Format 1, byte by byte: 2 faults over "recv,send", then the rest. */
  const int recv_id = id_of("recv"), send_id = id_of("send");
  const uint8_t in[] = {0x02 | 0xf8, /* bits 3-7 unused */
                        0, 0x00, 0,  /* recv, when=1, first errno */
                        3, 0x81, 2,  /* 3 % 2 = send, when=2 onward, third errno */
                        'x', 'y'};
  CHECK_EQ(sockfault_fuzz_decode(&s, "recv,send", in, sizeof in, err, sizeof err), 0);
  CHECK_EQ(s.nfaults, 2);
  char want[256];
  snprintf(want, sizeof want, "recv:error=%s:when=1;send:error=%s:when=2+",
           sf_errno_name(sf_calls[recv_id].errnos[0].err),
           sf_errno_name(sf_calls[send_id].errnos[2].err));
  CHECK_STR(s.rules, want);
  CHECK_EQ(s.rest_size, 2);
  CHECK(s.rest == in + 7);
  /* when: bits 0-3 only, bit 7 onward; errno modulo the documented count */
  const uint8_t in2[] = {1, 0, 0x7f, (uint8_t)(sf_calls[recv_id].nerrnos + 1)};
  CHECK_EQ(sockfault_fuzz_decode(&s, "recv", in2, sizeof in2, err, sizeof err), 0);
  CHECK_EQ(s.fault[0].when, 16);
  CHECK_EQ(s.fault[0].onward, 0);
  CHECK_EQ(s.fault[0].err, sf_calls[recv_id].errnos[1].err);

  /* EINTR and EAGAIN "from N on" would be retried for ever: they hit the Nth only. */
  const int transient[] = {EINTR, EAGAIN};
  for (int t = 0; t < 2; t++) {
    int idx = sf_errno_index(recv_id, transient[t]);
    CHECK(idx >= 0);
    const uint8_t in5[] = {1, 0, 0x82, (uint8_t)idx};
    CHECK_EQ(sockfault_fuzz_decode(&s, "recv", in5, sizeof in5, err, sizeof err), 0);
    CHECK_EQ(s.fault[0].err, transient[t]);
    CHECK_EQ(s.fault[0].onward, 0);
    CHECK_EQ(s.fault[0].when, 3);
  }

  /* The default list is the table, in its order. */
  const uint8_t in3[] = {1, (uint8_t)SF_ID_accept4, 0, 0};
  CHECK_EQ(sockfault_fuzz_decode(&s, NULL, in3, sizeof in3, err, sizeof err), 0);
  CHECK_STR(s.fault[0].call, "accept4");

  /* Empty and short inputs: missing bytes read as zero, nothing past the end is read. */
  CHECK_EQ(sockfault_fuzz_decode(&s, NULL, NULL, 0, err, sizeof err), 0);
  CHECK_EQ(s.nfaults, 0);
  CHECK_STR(s.rules, "");
  CHECK_EQ(s.rest_size, 0);
  const uint8_t in4[] = {7, 2};
  CHECK_EQ(sockfault_fuzz_decode(&s, "socket,bind,listen", in4, sizeof in4, err, sizeof err), 0);
  CHECK_EQ(s.nfaults, 7);
  CHECK_STR(s.fault[0].call, "listen");
  CHECK_STR(s.fault[6].call, "socket");
  CHECK_EQ(s.rest_size, 0);

  /* Any input, any list: a valid schedule of documented errnos whose text parses back. */
  const char *lists[] = {NULL, "recv", "recv,send,accept4,accept,setsockopt,shutdown,close",
                         "connect, sendmsg,recvmsg"};
  uint8_t buf[32];
  for (int round = 0; round < 40000; round++) {
    size_t size = next_byte() % sizeof buf;
    for (size_t i = 0; i < size; i++)
      buf[i] = next_byte();
    const char *calls = lists[round % 4];
    CHECK_EQ(sockfault_fuzz_decode(&s, calls, buf, size, err, sizeof err), 0);
    check_schedule(&s, calls, buf, size);
    if (sf_check_failures)
      break;
  }
  /* The longest rule text fits. */
  uint8_t big[22] = {7};
  int longest = 0;
  for (int id = 0; id < SF_NCALLS; id++)
    if (strlen(sf_calls[id].name) > strlen(sf_calls[longest].name))
      longest = id;
  for (int i = 0; i < 7; i++) {
    big[1 + 3 * i] = (uint8_t)longest;
    big[2 + 3 * i] = 0x8f;
  }
  CHECK_EQ(sockfault_fuzz_decode(&s, NULL, big, sizeof big, err, sizeof err), 0);
  check_schedule(&s, NULL, big, sizeof big);

  /* A bad call list names the bad token. */
  CHECK_EQ(sockfault_fuzz_decode(&s, "recv,recvx", in, sizeof in, err, sizeof err), -1);
  CHECK_CONTAINS(err, "'recvx' is not an intercepted call");
  CHECK_CONTAINS(err, "did you mean 'recv");
  CHECK_EQ(sockfault_fuzz_decode(&s, "send,send", in, sizeof in, err, sizeof err), -1);
  CHECK_CONTAINS(err, "'send' is listed twice");
  CHECK_EQ(sockfault_fuzz_decode(&s, ",", in, sizeof in, err, sizeof err), -1);
  CHECK_CONTAINS(err, "no call");
  CHECK_DONE();
}
