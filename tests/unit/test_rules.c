/* The rule language: every form, every error, and print-then-parse round trips. */
#include <errno.h>
#include <string.h>
#include <sys/socket.h>

#include "check.h"
#include "rules.h"
#include "table.h"

static struct sf_ruleset rs;
static char err[512];

static int parse(const char *text)
{
  memset(&rs, 0, sizeof rs);
  return sf_rules_parse(text, strlen(text), "-e", &rs, err, sizeof err);
}

/* A bad rule fails and its message names the bad token. */
static void bad(const char *text, const char *token)
{
  if (parse(text) == 0) {
    fprintf(stderr, "accepted bad rule '%s'\n", text);
    sf_check_failures++;
    return;
  }
  CHECK_CONTAINS(err, token);
}

static void roundtrip(const char *text)
{
  CHECK_EQ(parse(text), 0);
  struct sf_ruleset first = rs;
  char buf[4096];
  sf_rules_format(&first, buf, sizeof buf);
  CHECK_EQ(parse(buf), 0);
  CHECK_EQ(rs.n, first.n);
  if (memcmp(&rs, &first, sizeof rs) != 0) {
    fprintf(stderr, "round trip of '%s' via '%s' changed the rules\n", text, buf);
    sf_check_failures++;
  }
}

int main(void)
{
  CHECK_EQ(parse("accept:error=EMFILE:when=2"), 0);
  CHECK_EQ(rs.n, 1);
  CHECK_EQ(rs.rule[0].calls, SF_CALL_BIT(SF_ID_accept));
  CHECK_EQ(rs.rule[0].err, EMFILE);
  CHECK(sf_when_selects(&rs.rule[0], 2) && !sf_when_selects(&rs.rule[0], 1) &&
        !sf_when_selects(&rs.rule[0], 3));

  /* every when form, strace's meaning */
  CHECK_EQ(parse("socket:error=EMFILE:when=3+"), 0);
  CHECK(!sf_when_selects(&rs.rule[0], 2) && sf_when_selects(&rs.rule[0], 3) &&
        sf_when_selects(&rs.rule[0], 1000));
  CHECK_EQ(parse("socket:error=EMFILE:when=2+3"), 0);
  CHECK(sf_when_selects(&rs.rule[0], 2) && sf_when_selects(&rs.rule[0], 5) &&
        sf_when_selects(&rs.rule[0], 8) && !sf_when_selects(&rs.rule[0], 3));
  CHECK_EQ(parse("socket:error=EMFILE:when=2..4"), 0);
  CHECK(!sf_when_selects(&rs.rule[0], 1) && sf_when_selects(&rs.rule[0], 2) &&
        sf_when_selects(&rs.rule[0], 4) && !sf_when_selects(&rs.rule[0], 5));
  CHECK_EQ(parse("socket:error=EMFILE:when=1..9+4"), 0);
  CHECK(sf_when_selects(&rs.rule[0], 1) && sf_when_selects(&rs.rule[0], 5) &&
        sf_when_selects(&rs.rule[0], 9) && !sf_when_selects(&rs.rule[0], 13) &&
        !sf_when_selects(&rs.rule[0], 2));
  CHECK_EQ(parse("socket:error=EMFILE"), 0); /* default: every call */
  CHECK(sf_when_selects(&rs.rule[0], 1) && sf_when_selects(&rs.rule[0], 77));

  /* sets, numbers, any, force, filters, separators, comments, strace's prefix */
  CHECK_EQ(parse("accept,accept4:error=24"), 0);
  CHECK_EQ(rs.rule[0].calls, SF_CALL_BIT(SF_ID_accept) | SF_CALL_BIT(SF_ID_accept4));
  CHECK_EQ(rs.rule[0].err, EMFILE);
  CHECK_EQ(parse("all:error=any"), 0);
  CHECK_EQ(rs.rule[0].calls, SF_ALL_CALLS);
  CHECK(rs.rule[0].any);
  CHECK_EQ(parse("%net:error=any"), 0);
  CHECK(!(rs.rule[0].calls & SF_CALL_BIT(SF_ID_read)) && (rs.rule[0].calls & SF_CALL_BIT(SF_ID_recv)));
  CHECK_EQ(parse("socket:error=EBADF:force"), 0);
  CHECK(rs.rule[0].force);
  CHECK_EQ(parse("inject=accept:error=EWOULDBLOCK"), 0);
  CHECK_EQ(rs.rule[0].err, EAGAIN);
  CHECK_EQ(parse("connect:error=ECONNREFUSED:family=inet6:type=stream:port=443:fd=7"), 0);
  CHECK_EQ(rs.rule[0].filters, SF_F_FAMILY | SF_F_TYPE | SF_F_PORT | SF_F_FD);
  CHECK_EQ(rs.rule[0].family, AF_INET6);
  CHECK_EQ(rs.rule[0].type, SOCK_STREAM);
  CHECK_EQ(rs.rule[0].port, 443);
  CHECK_EQ(rs.rule[0].fd, 7);
  CHECK_EQ(parse("accept:error=EMFILE:site=prog+0x1a2b"), 0);
  CHECK_STR(rs.rule[0].site, "prog+0x1a2b");
  CHECK_EQ(parse(" socket:error=EMFILE ; bind:error=EACCES\n# a comment\nlisten:error=EACCES # trailing\n\n"), 0);
  CHECK_EQ(rs.n, 3);
  CHECK_EQ(parse("recv:error=EINTR:prob=0.25:seed=42"), 0);
  CHECK_EQ(rs.rule[0].prob, 250000000);
  CHECK_EQ(rs.rule[0].seed, 42);
  CHECK_EQ(parse("recv:error=EINTR:prob=5%"), 0);
  CHECK_EQ(rs.rule[0].prob, 50000000);
  CHECK_EQ(parse("recv:error=EINTR:prob=1"), 0);
  CHECK_EQ(rs.rule[0].prob, SF_PROB_ONE);
  /* a rule set that does nothing is refused (issue 13): only the control API clears with "" */
  bad("", "no rule in it");
  bad(";", "-e ';': no rule in it");
  bad(";;;\n ; ", "no rule in it");
  memset(&rs, 0, sizeof rs);
  CHECK_EQ(sf_rules_parse(";;;", 3, "SOCKFAULT", &rs, err, sizeof err), -1);
  CHECK_CONTAINS(err, "SOCKFAULT ';;;': no rule in it");
  const char *comments = "# nothing yet\n\n  # really\n";
  CHECK_EQ(sf_rules_parse(comments, strlen(comments), "r.txt", &rs, err, sizeof err), -1);
  CHECK_CONTAINS(err, "r.txt: no rule in it");
  CHECK_EQ(sf_rules_parse("", 0, "sockfault_set_rules", &rs, err, sizeof err), 0);
  CHECK_EQ(rs.n, 0);
  /* for=: a fault that lasts, then is lifted */
  CHECK_EQ(parse("accept4:error=EMFILE:when=2+:for=3s"), 0);
  CHECK(rs.rule[0].has_for && rs.rule[0].for_ms == 3000);
  CHECK_EQ(parse("accept4:error=EMFILE:for=250ms"), 0);
  CHECK_EQ(rs.rule[0].for_ms, 250);
  CHECK_EQ(parse("accept4:error=EMFILE:for=2"), 0);
  CHECK_EQ(rs.rule[0].for_ms, 2000);
  CHECK_EQ(parse("accept4:error=EMFILE:force"), 0);
  CHECK(!rs.rule[0].has_for && rs.rule[0].force);

  /* whitespace around fields is trimmed, inside a value refused */
  CHECK_EQ(parse(" accept : error=EMFILE : when=2 "), 0);
  bad("accept:error=EM FILE", "error=EM FILE: a space inside the value");
  bad("accept:error=EMFILE:when=1 2", "when=1 2: a space");
  bad("accept:error=EMFILE:site=my mod+0x10", "site=my mod+0x10: a space");
  bad("accept:error=EMFILE:prob=0.\t5", "a space inside");

  /* prob: any decimal number from 0 to 1, exponents included, exactly */
  struct { const char *text; unsigned want; } probs[] = {
      {"5e-1", 500000000}, {"2.5E-1", 250000000}, {"1e0", SF_PROB_ONE}, {"1E+0", SF_PROB_ONE},
      {"0.5000000000", 500000000}, {"0e5", 0}, {"1e-9", 1}, {"100e-2", SF_PROB_ONE},
      {".5", 500000000}, {"00.25", 250000000}, {"0.000000001", 1}, {"50e-1%", 50000000},
      {"0.0000001%", 1}, {"0.1000000000000000000000", 100000000}};
  for (size_t i = 0; i < sizeof probs / sizeof probs[0]; i++) {
    char text[128];
    snprintf(text, sizeof text, "recv:error=EINTR:prob=%s", probs[i].text);
    CHECK_EQ(parse(text), 0);
    CHECK_EQ(rs.rule[0].prob, probs[i].want);
  }
  bad("accept:error=EMFILE:prob=5e", "prob=5e is not a number");
  bad("accept:error=EMFILE:prob=e-1", "prob=e-1");
  bad("accept:error=EMFILE:prob=5e-1x", "prob=5e-1x");
  bad("accept:error=EMFILE:prob=1e1", "prob=1e1 is above 1");
  bad("accept:error=EMFILE:prob=1e-10", "finer");
  bad("accept:error=EMFILE:prob=1e99999", "exponent");
  bad("accept:error=EMFILE:prob=inf", "prob=inf");
  bad("accept:error=EMFILE:prob=0x1", "prob=0x1");
  bad("accept:error=EMFILE:prob=.", "prob=.");

  /* an errno by number: any the kernel's table has, 133 (EHWPOISON) the last */
  CHECK_EQ(parse("accept:error=133:force"), 0);
  CHECK_EQ(rs.rule[0].err, 133);
  CHECK(strcmp(sf_errno_name(133), "EHWPOISON") == 0);
  CHECK_EQ(parse("accept:error=24"), 0);
  CHECK_EQ(rs.rule[0].err, EMFILE);
  bad("accept:error=134:force", "error=134 is not an errno number");
  bad("accept:error=41:force", "error=41 is not an errno number"); /* a hole in the table */

  /* an overlong bad value: the value cut, the reason kept */
  char longv[700] = "accept:error=EMFILE:prob=";
  memset(longv + strlen(longv), '7', 600);
  bad(longv, "...");
  CHECK_CONTAINS(err, "is above 1");
  char longe[700] = "accept:error=";
  memset(longe + strlen(longe), 'X', 600);
  bad(longe, "unknown errno 'XXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX...'");
  char longw[700] = "accept:error=EMFILE:when=1..";
  memset(longw + strlen(longw), '9', 600);
  bad(longw, "is not an occurrence number");

  /* malformed: the message names the rule and the bad token */
  bad("acept:error=EMFILE", "'acept' (did you mean 'accept'?)");
  bad("accept:error=EMFLE", "'EMFLE' (did you mean 'EMFILE'?)");
  bad("accept:error=EACCESS", "did you mean 'EACCES'");
  bad("accept:error=EMFILE:wen=2", "'wen' (did you mean 'when'?)");
  bad("accept:error=EMFILE:when=0", "when=0");
  bad("accept:error=EMFILE:when=x", "'x'");
  bad("accept:error=EMFILE:when=5..2", "ends before it starts");
  bad("accept:error=EMFILE:when=2+0", "step '0'");
  bad("accept:error=EMFILE:when=1..3+", "needs a step");
  bad("accept:error=EMFILE:when=99999999999999999999", "99999999999999999999");
  bad("accept:error=EMFILE:prob=1.5", "prob=1.5");
  bad("accept:error=EMFILE:prob=-1", "prob=-1");
  bad("accept:error=EMFILE:prob=0.1234567891", "finer");
  bad("accept:error=EMFILE:seed=abc", "seed=abc");
  bad("accept:error=EMFILE:for=0", "for=0 is not a duration");
  bad("accept:error=EMFILE:for=2m", "for=2m is not a duration");
  bad("accept:error=EMFILE:for=ms", "for=ms is not a duration");
  bad("accept:error=EMFILE:for=86401s", "for=86401s");
  bad("accept:error=EMFILE:for=1s:for=2s", "'for' given twice");
  bad("accept:error=EMFILE:for", "'for' needs a value");
  bad("accept:error=EMFILE:port=70000", "port=70000");
  bad("accept:error=EMFILE:family=ipx", "family=ipx");
  bad("accept:error=EMFILE:type=bogus", "type=bogus");
  bad("accept:error=EMFILE:site=nooffset", "site=nooffset");
  bad("accept:when=2", "no error=");
  bad("accept:error=EMFILE:error=EPERM", "'error' given twice");
  bad("accept:error=EMFILE:per=fiber", "per=fiber: expected thread, process or tree");
  bad("accept:error=", "empty value for 'error'");
  bad("accept:error=EMFILE::when=1", "empty field");
  bad("accept:error=EMFILE:", "empty field");
  bad(":error=EMFILE", "no call named");
  bad("accept,,bind:error=EACCES", "empty call name");
  bad("accept:error=EMFILE:force=1", "'force' takes no value");
  bad("accept:error=EMFILE:retval=0", "retval");
  bad("accept:error=9999", "9999");
  bad("accept:error=any:force", "force");
  bad("socket:error=EBADF", "EBADF is not documented for socket");
  bad("accept,socket:error=EPERM", "EPERM is not documented for socket");
  bad("accept:error=EMFILE:when", "'when' needs a value");
  bad("accept:error=EMFILE; bogus:error=EMFILE", "rule 2");

  /* a file origin gives line numbers */
  memset(&rs, 0, sizeof rs);
  const char *file = "# rules\nsocket:error=EMFILE\n\nbind:error=EBADFD\n";
  CHECK_EQ(sf_rules_parse(file, strlen(file), "rules.txt", &rs, err, sizeof err), -1);
  CHECK_CONTAINS(err, "rules.txt:4:");
  CHECK_CONTAINS(err, "EBADFD");

  /* at most SF_MAX_RULES */
  char many[8192] = "";
  for (int i = 0; i <= SF_MAX_RULES; i++)
    strcat(many, "socket:error=EMFILE;");
  bad(many, "too many rules");

  /* printing gives back the same rules */
  roundtrip("accept:error=EMFILE:when=2");
  roundtrip("socket,bind:error=EACCES:when=3+");
  roundtrip("socket:error=ENOBUFS:when=2+5;listen:error=EACCES:when=4..9;accept:error=EPERM:when=1..9+2");
  roundtrip("all:error=any:prob=0.000000001:seed=18446744073709551615");
  roundtrip("recv:error=EINTR:prob=0.5:family=unix:type=dgram:port=0:fd=2147483647");
  roundtrip("socket:error=EMFILE:when=2:per=thread");
  roundtrip("read:error=ECONNRESET:when=1:per=tree");
  roundtrip("socket:error=EBADF:force:site=a.out+0xdeadbeef");
  roundtrip("%net:error=ECONNRESET:force;read,write:error=EIO");
  roundtrip("accept4:error=EMFILE:when=3+:for=2s;socket:error=ENOBUFS:for=1500ms:force");
  /* found by fuzz_rules: a one-occurrence range with a step printed as when=N */
  roundtrip("send:error=EPIPE:when=1..1+2");
  CHECK_EQ(parse("send:error=EPIPE:when=4..4+9"), 0);
  CHECK(sf_when_selects(&rs.rule[0], 4) && !sf_when_selects(&rs.rule[0], 13));
  CHECK_DONE();
}
