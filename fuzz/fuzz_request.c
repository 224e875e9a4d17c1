/*
 * fuzz_request — the refserver's protocol layer (harness/refserver/request.c) over arbitrary
 * bytes: framing, parsing, the store, the bounded output buffer and back-pressure.
 *
 * Input: byte 0 steers delivery, the rest is the client's byte stream.
 *   bits 0-5  input chunk size (0: as much as fits)
 *   bits 6-7  how the "client" reads replies: 0 everything at once, 1 only when the session
 *             stalls (back-pressure), 2 seven bytes at a time, 3 half of what is pending
 *
 * Properties asserted:
 *  - the replies are byte for byte those of the specification model (oracle.c), whatever
 *    the chunking and reading pattern: one well-formed reply per request line, in order;
 *  - limits: the input buffer never holds more than RS_IN_CAP bytes, the output buffer
 *    never more than RS_OUT_CAP, the store never more than RS_KEYS_MAX keys, each within
 *    RS_KEY_MAX/RS_VALUE_MAX; STATS' request counter equals the replies sent;
 *  - liveness: while input is left and the client reads, the session takes it; after
 *    QUIT it takes nothing;
 *  - rs_request on the whole input as one line answers with one well-formed reply.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_check.h"
#include "oracle.h"
#include "request.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct rs_store store;
static struct rs_session sess;
static struct oracle model;

static void check_limits(void)
{
  FZ_CHECK(sess.in_len <= RS_IN_CAP, "in_len %zu", sess.in_len);
  FZ_CHECK(sess.out.head <= sess.out.len && sess.out.len <= RS_OUT_CAP, "out %zu..%zu",
           sess.out.head, sess.out.len);
  FZ_CHECK(store.count <= RS_KEYS_MAX, "%zu keys", store.count);
  for (size_t i = 0; i < store.count; i++)
    FZ_CHECK(store.entries[i].key_len >= 1 && store.entries[i].key_len <= RS_KEY_MAX &&
                 store.entries[i].value_len <= RS_VALUE_MAX,
             "entry %zu: key %u value %u bytes", i, store.entries[i].key_len,
             store.entries[i].value_len);
}

/* Read up to max bytes of replies, checking them against the expected stream. */
static size_t client_read(const struct fz_buf *want, size_t *got, size_t max)
{
  size_t n;
  const char *p = rs_out_pending(&sess.out, &n);
  if (n > max)
    n = max;
  FZ_CHECK(*got + n <= want->len, "more replies than the specification gives (%zu > %zu)",
           *got + n, want->len);
  if (n > 0 && memcmp(p, want->p + *got, n) != 0) {
    size_t k = 0;
    while (p[k] == want->p[*got + k])
      k++;
    size_t at = *got + k, from = at > 40 ? at - 40 : 0;
    FZ_CHECK(0, "reply differs from the specification at byte %zu:\n  want ...%.*s\n  got  "
             "...%.*s", at, (int)(at - from + 40 < want->len - from ? at - from + 40 : want->len - from),
             want->p + from, (int)(n - k < 40 ? n - k : 40), p + k);
  }
  rs_out_consume(&sess.out, n);
  *got += n;
  return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  if (size == 0)
    return 0;
  size_t chunk = data[0] & 0x3f;
  unsigned mode = data[0] >> 6;
  const char *in = (const char *)data + 1;
  size_t n = size - 1;
  if (chunk == 0)
    chunk = SIZE_MAX;

  /* What a correct server answers. */
  struct rs_stats stats = {1, 1, 0};
  struct oracle *o = &model;
  oracle_init(o, stats.conns_open, stats.conns_total);
  struct fz_buf want = {0};
  bool quit;
  size_t nreplies = oracle_stream(o, in, n, &want, &quit);

  rs_store_init(&store);
  rs_session_init(&sess);
  size_t pos = 0, got = 0;
  size_t budget = 4 * (n + want.len) + 1000; /* each turn moves a byte in or out */
  for (size_t turn = 0;; turn++) {
    FZ_CHECK(turn < budget, "no progress after %zu turns (input %zu/%zu, replies %zu/%zu)",
             turn, pos, n, got, want.len);
    size_t room, take = 0;
    rs_session_inbuf(&sess, &room);
    if (sess.quit)
      FZ_CHECK(room == 0, "takes input after QUIT");
    if (pos < n) {
      take = rs_session_input(&sess, in + pos, n - pos < chunk ? n - pos : chunk);
      pos += take;
    }
    size_t replies = rs_session_process(&sess, &store, &stats);
    check_limits();
    size_t pending;
    rs_out_pending(&sess.out, &pending);
    bool stalled = take == 0 && replies == 0;
    size_t read = 0;
    switch (mode) {
    case 0: read = client_read(&want, &got, SIZE_MAX); break;
    case 1: read = stalled ? client_read(&want, &got, SIZE_MAX) : 0; break;
    case 2: read = client_read(&want, &got, 7); break;
    case 3: read = client_read(&want, &got, pending > 1 ? pending / 2 : pending); break;
    }
    if (stalled && read == 0) {
      /* Nothing moved: the stream must be used up (or cut short by QUIT). */
      FZ_CHECK(pos == n || sess.quit, "session stalls with %zu input bytes left", n - pos);
      break;
    }
  }
  FZ_CHECK(got == want.len, "replies end early: %zu of %zu bytes", got, want.len);
  FZ_CHECK(stats.requests == nreplies, "STATS requests=%lu, replies %zu", stats.requests,
           nreplies);
  FZ_CHECK(store.count == oracle_keys(o), "%zu keys stored, model has %zu", store.count,
           oracle_keys(o));
  FZ_CHECK(sess.quit == quit, "QUIT %d, model %d", sess.quit, quit);
  for (size_t a = 0, b; a < want.len; a = b) { /* the model's own output, line by line */
    const char *nl = memchr(want.p + a, '\n', want.len - a);
    b = (size_t)(nl - want.p) + 1;
    FZ_CHECK(oracle_reply_wellformed(want.p + a, b - a), "ill-formed reply '%.*s'",
             (int)(b - a), want.p + a);
  }

  /* The whole input as one request line, any bytes, any size. */
  struct rs_out out = {0};
  FZ_CHECK(rs_request(&store, &stats, in, n, &out) != RS_REQ_NOROOM, "no room in empty out");
  size_t len;
  const char *r = rs_out_pending(&out, &len);
  FZ_CHECK(oracle_reply_wellformed(r, len), "ill-formed reply '%.*s'", (int)len, r);

  fz_buf_free(&want);
  return 0;
}
