/* test_request.c — the refserver protocol (request.h), without any socket: every command,
 * every limit, malformed input, CRLF, overlong lines split across reads, back-pressure. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "request.h"

#include "check.h"

/* One client: its session, output collected as a string. */
static struct rs_store store;
static struct rs_stats stats;
static struct rs_session sess;
static char got[1 << 20];
static size_t got_len;

static void reset(void)
{
  rs_store_init(&store);
  memset(&stats, 0, sizeof stats);
  rs_session_init(&sess);
  got_len = 0;
  got[0] = '\0';
}

/* Move the session's output into got[]. */
static void drain(void)
{
  size_t n;
  const char *p = rs_out_pending(&sess.out, &n);
  if (got_len + n >= sizeof got)
    abort(); /* a test bug: too much output */
  memcpy(got + got_len, p, n);
  got_len += n;
  got[got_len] = '\0';
  rs_out_consume(&sess.out, n);
}

/* Feed data in chunks of at most `chunk` bytes, processing and draining as a server
 * would, and return everything replied. */
static const char *feed_chunked(const char *data, size_t n, size_t chunk)
{
  size_t off = 0;
  for (int guard = 0; off < n && guard < 1000000; guard++) {
    size_t k = n - off < chunk ? n - off : chunk;
    off += rs_session_input(&sess, data + off, k);
    rs_session_process(&sess, &store, &stats);
    drain();
    if (sess.quit)
      break;
  }
  rs_session_process(&sess, &store, &stats);
  drain();
  return got;
}

static const char *feed(const char *s) { return feed_chunked(s, strlen(s), (size_t)-1); }

/* Reply to one request on a fresh output (the store is kept). */
static const char *req(const char *line)
{
  got_len = 0;
  got[0] = '\0';
  return feed(line);
}

static void test_commands(void)
{
  reset();
  CHECK_STR(req("PING\n"), "+PONG\n");
  CHECK_STR(req("ping\n"), "+PONG\n");
  CHECK_STR(req("PiNg\n"), "+PONG\n");
  CHECK_STR(req("PING x\n"), "-ERR wrong number of arguments for 'PING'\n");
  CHECK_STR(req("PING \n"), "-ERR wrong number of arguments for 'PING'\n");

  CHECK_STR(req("ECHO hello\n"), "+hello\n");
  CHECK_STR(req("echo two  spaces here\n"), "+two  spaces here\n");
  CHECK_STR(req("ECHO \n"), "+\n");
  CHECK_STR(req("ECHO\n"), "-ERR wrong number of arguments for 'ECHO'\n");
  CHECK_STR(req("ECHO a\tb\n"), "+a\tb\n");

  CHECK_STR(req("GET k\n"), "-ERR no such key\n");
  CHECK_STR(req("SET k v1\n"), "+OK\n");
  CHECK_STR(req("GET k\n"), "+v1\n");
  CHECK_STR(req("GET K\n"), "-ERR no such key\n"); /* keys are case-sensitive */
  CHECK_STR(req("SET k value with spaces\n"), "+OK\n");
  CHECK_STR(req("get k\n"), "+value with spaces\n");
  CHECK_STR(req("SET e \n"), "+OK\n");
  CHECK_STR(req("GET e\n"), "+\n");
  CHECK_STR(req("DEL k\n"), "+OK\n");
  CHECK_STR(req("GET k\n"), "-ERR no such key\n");
  CHECK_STR(req("DEL k\n"), "-ERR no such key\n");
  CHECK_STR(req("GET e\n"), "+\n");

  CHECK_STR(req("SET\n"), "-ERR wrong number of arguments for 'SET'\n");
  CHECK_STR(req("SET k\n"), "-ERR wrong number of arguments for 'SET'\n");
  CHECK_STR(req("SET  v\n"), "-ERR wrong number of arguments for 'SET'\n");
  CHECK_STR(req("GET\n"), "-ERR wrong number of arguments for 'GET'\n");
  CHECK_STR(req("GET \n"), "-ERR wrong number of arguments for 'GET'\n");
  CHECK_STR(req("GET a b\n"), "-ERR wrong number of arguments for 'GET'\n");
  CHECK_STR(req("DEL\n"), "-ERR wrong number of arguments for 'DEL'\n");
  CHECK_STR(req("DEL a b\n"), "-ERR wrong number of arguments for 'DEL'\n");

  CHECK_STR(req("STATS x\n"), "-ERR wrong number of arguments for 'STATS'\n");
  stats.conns_open = 3;
  stats.conns_total = 7;
  unsigned long before = stats.requests;
  char want[128];
  snprintf(want, sizeof want, "+connections=3 accepted=7 requests=%lu keys=1\n", before + 1);
  CHECK_STR(req("STATS\n"), want);
  CHECK(stats.requests == before + 1);

  CHECK_STR(req("FOO\n"), "-ERR unknown command 'FOO'\n");
  CHECK_STR(req("foo bar baz\n"), "-ERR unknown command 'foo'\n");
  CHECK_STR(req("PINGX\n"), "-ERR unknown command 'PINGX'\n");
  CHECK_STR(req(" PING\n"), "-ERR unknown command ''\n");
  CHECK_STR(req("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789\n"),
            "-ERR unknown command 'ABCDEFGHIJKLMNOPQRSTUVWXYZ012345'\n");
  CHECK_STR(req("\n"), "-ERR empty request\n");
  CHECK_STR(req("\r\n"), "-ERR empty request\n");
  CHECK_STR(req("PI\x01NG\n"), "-ERR invalid byte in request\n");
  CHECK_STR(req("ECHO a\x7f\n"), "-ERR invalid byte in request\n");
  CHECK_STR(req("ECHO a\r\r\n"), "-ERR invalid byte in request\n");
  CHECK_STR(req("ECHO a\rb\n"), "-ERR invalid byte in request\n");

  /* A NUL byte cannot go through req(): it is a C string. */
  got_len = 0;
  feed_chunked("ECHO a\0b\nPING\n", 14, 100);
  CHECK_STR(got, "-ERR invalid byte in request\n+PONG\n");
}

static void test_crlf_and_pipelining(void)
{
  reset();
  CHECK_STR(feed("PING\r\nECHO x\r\nSET a 1\r\nGET a\r\n"), "+PONG\n+x\n+OK\n+1\n");
  CHECK(stats.requests == 4);
  /* a line without "\n" yet is no request */
  CHECK_STR(req("PING"), "");
  CHECK_STR(req("\n"), "+PONG\n");
  /* the "\r" and the "\n" in different reads */
  CHECK_STR(req("PING\r"), "");
  CHECK_STR(req("\n"), "+PONG\n");
}

static void test_quit(void)
{
  reset();
  CHECK_STR(feed("PING\nQUIT\nPING\nECHO never\n"), "+PONG\n+BYE\n");
  CHECK(sess.quit);
  size_t room;
  rs_session_inbuf(&sess, &room);
  CHECK(room == 0);
  CHECK(rs_session_input(&sess, "PING\n", 5) == 0);
  CHECK(rs_session_process(&sess, &store, &stats) == 0);
  CHECK(stats.requests == 2);

  reset();
  CHECK_STR(req("QUIT now\n"), "-ERR wrong number of arguments for 'QUIT'\n");
  CHECK(!sess.quit);
  CHECK_STR(req("quit\n"), "+BYE\n");
  CHECK(sess.quit);
}

static void test_key_value_limits(void)
{
  char line[RS_LINE_MAX + 16], key[RS_KEY_MAX + 2], value[RS_VALUE_MAX + 2];
  reset();

  memset(key, 'k', sizeof key);
  key[RS_KEY_MAX] = '\0'; /* exactly the limit */
  snprintf(line, sizeof line, "SET %s v\n", key);
  CHECK_STR(req(line), "+OK\n");
  snprintf(line, sizeof line, "GET %s\n", key);
  CHECK_STR(req(line), "+v\n");
  key[RS_KEY_MAX] = 'k';
  key[RS_KEY_MAX + 1] = '\0'; /* one over */
  snprintf(line, sizeof line, "SET %s v\n", key);
  CHECK_STR(req(line), "-ERR key too long\n");
  snprintf(line, sizeof line, "GET %s\n", key);
  CHECK_STR(req(line), "-ERR key too long\n");
  snprintf(line, sizeof line, "DEL %s\n", key);
  CHECK_STR(req(line), "-ERR key too long\n");

  memset(value, 'v', sizeof value);
  value[RS_VALUE_MAX] = '\0';
  snprintf(line, sizeof line, "SET big %s\n", value);
  CHECK_STR(req(line), "+OK\n");
  char want[RS_VALUE_MAX + 4];
  snprintf(want, sizeof want, "+%s\n", value);
  CHECK_STR(req("GET big\n"), want);
  value[RS_VALUE_MAX] = 'v';
  value[RS_VALUE_MAX + 1] = '\0';
  snprintf(line, sizeof line, "SET big %s\n", value);
  CHECK_STR(req(line), "-ERR value too long\n");
  CHECK_STR(req("GET big\n"), want); /* the old value stays */
}

static void test_too_many_keys(void)
{
  char line[64];
  reset();
  int ok = 0;
  for (int i = 0; i < RS_KEYS_MAX; i++) {
    snprintf(line, sizeof line, "SET key%d %d\n", i, i);
    ok += strcmp(req(line), "+OK\n") == 0;
  }
  CHECK(ok == RS_KEYS_MAX);
  CHECK(store.count == RS_KEYS_MAX);
  CHECK_STR(req("SET onemore x\n"), "-ERR too many keys\n");
  CHECK_STR(req("SET key5 changed\n"), "+OK\n"); /* overwriting needs no new slot */
  CHECK_STR(req("GET key5\n"), "+changed\n");
  CHECK_STR(req("DEL key0\n"), "+OK\n");
  CHECK_STR(req("SET onemore x\n"), "+OK\n");
  CHECK_STR(req("GET onemore\n"), "+x\n");
  CHECK_STR(req("GET key1023\n"), "+1023\n"); /* moved into key0's slot by DEL */
  CHECK_STR(req("GET key0\n"), "-ERR no such key\n");
  int found = 0;
  for (int i = 1; i < RS_KEYS_MAX; i++) {
    snprintf(line, sizeof line, "GET key%d\n", i);
    char want[32];
    if (i == 5)
      snprintf(want, sizeof want, "+changed\n");
    else
      snprintf(want, sizeof want, "+%d\n", i);
    found += strcmp(req(line), want) == 0;
  }
  CHECK(found == RS_KEYS_MAX - 1);
}

/* "ECHO " + n bytes of 'x', and its reply. */
static void echo_line(char *buf, size_t n, const char *eol)
{
  memcpy(buf, "ECHO ", 5);
  memset(buf + 5, 'x', n);
  strcpy(buf + 5 + n, eol);
}

static void test_line_limit(void)
{
  static char line[RS_LINE_MAX * 4], want[RS_LINE_MAX * 4];
  reset();
  size_t n = RS_LINE_MAX - 5; /* "ECHO " + n = exactly RS_LINE_MAX bytes */
  echo_line(line, n, "\n");
  echo_line(want, n, "\n");
  want[0] = '+';
  memmove(want + 1, want + 5, n + 2);
  CHECK_STR(req(line), want);
  echo_line(line, n, "\r\n");
  CHECK_STR(req(line), want);
  echo_line(line, n + 1, "\n"); /* one byte over */
  CHECK_STR(req(line), "-ERR line too long\n");
  CHECK(!sess.discarding);
  echo_line(line, n + 1, "\r\n");
  CHECK_STR(req(line), "-ERR line too long\n");
  CHECK(!sess.discarding);
  echo_line(line, n + 2, "\n"); /* fills the buffer without a "\n" */
  CHECK_STR(req(line), "-ERR line too long\n");
  CHECK(!sess.discarding);

  /* Far too long, then a good request: one error, then the answer. */
  echo_line(line, 3 * RS_LINE_MAX, "\nPING\n");
  CHECK_STR(req(line), "-ERR line too long\n+PONG\n");

  /* The same split across many reads: byte by byte, and in odd chunks. */
  const size_t chunks[] = {1, 7, 100, 1023, 1024, 1025, 1026, 4000};
  for (size_t i = 0; i < sizeof chunks / sizeof chunks[0]; i++) {
    reset();
    feed_chunked(line, strlen(line), chunks[i]);
    CHECK_STR(got, "-ERR line too long\n+PONG\n");
    CHECK(stats.requests == 2);
  }

  /* Two overlong lines in a row, each answered once. */
  reset();
  static char two[RS_LINE_MAX * 8];
  size_t len = strlen(line) - 5; /* without "PING\n" */
  memcpy(two, line, len);
  memcpy(two + len, line, len);
  strcpy(two + 2 * len, "ECHO end\n");
  feed_chunked(two, strlen(two), 333);
  CHECK_STR(got, "-ERR line too long\n-ERR line too long\n+end\n");

  /* rs_request itself bounds the length. */
  reset();
  struct rs_out out = {0};
  CHECK(rs_request(&store, &stats, line, RS_LINE_MAX + 1, &out) == RS_REQ_OK);
  size_t plen;
  const char *p = rs_out_pending(&out, &plen);
  CHECK(plen == strlen("-ERR line too long\n") && memcmp(p, "-ERR line too long\n", plen) == 0);
}

/* Byte-by-byte feeding gives the same replies as one big read. */
static void test_chunking_equivalence(void)
{
  const char *script = "SET a 1\r\nGET a\nECHO x y\nBAD\n\nDEL a\nGET a\nSTATS\nPING\nQUIT\nPING\n";
  reset();
  feed(script);
  static char whole[sizeof got];
  memcpy(whole, got, got_len + 1);
  for (size_t chunk = 1; chunk < 12; chunk++) {
    reset();
    feed_chunked(script, strlen(script), chunk);
    CHECK_STR(got, whole);
  }
  CHECK_STR(whole, "+OK\n+1\n+x y\n-ERR unknown command 'BAD'\n-ERR empty request\n+OK\n"
                   "-ERR no such key\n+connections=0 accepted=0 requests=8 keys=0\n+PONG\n+BYE\n");
}

/* A client that never reads: the session stops taking input when its output is full, and
 * answers the rest once the output is drained. Nothing grows. */
static void test_back_pressure(void)
{
  static char line[RS_LINE_MAX + 2];
  reset();
  echo_line(line, RS_LINE_MAX - 5, "\n");
  size_t n = strlen(line);
  int sent = 0, guard = 0;
  size_t took = 0;
  /* Fill without draining. */
  for (; guard < 1000; guard++) {
    took = rs_session_input(&sess, line, n);
    rs_session_process(&sess, &store, &stats);
    if (took < n) /* input full: back-pressure reached; took bytes of a line are in */
      break;
    sent++;
  }
  CHECK(guard < 1000);
  size_t pending;
  rs_out_pending(&sess.out, &pending);
  CHECK(pending <= RS_OUT_CAP);
  CHECK(pending > RS_OUT_CAP - RS_REPLY_MAX); /* it did fill up */
  CHECK(rs_session_process(&sess, &store, &stats) == 0);
  CHECK(stats.requests < (unsigned long)sent); /* some lines wait */
  /* The client reads: every complete line is answered, none twice. */
  for (guard = 0; guard < 100 && rs_session_has_output(&sess); guard++) {
    drain();
    rs_session_process(&sess, &store, &stats);
  }
  CHECK(guard < 100);
  CHECK(stats.requests == (unsigned long)sent);
  CHECK(sess.in_len == took); /* the partial line waits for its end */
  size_t replies = 0;
  for (size_t i = 0; i < got_len; i++)
    replies += got[i] == '\n';
  CHECK(replies == (size_t)sent);

  /* rs_request refuses to write without room. */
  struct rs_out out = {0};
  out.len = RS_OUT_CAP - RS_REPLY_MAX + 1;
  unsigned long before = stats.requests;
  CHECK(rs_request(&store, &stats, "PING", 4, &out) == RS_REQ_NOROOM);
  CHECK(stats.requests == before);
  CHECK(out.len == RS_OUT_CAP - RS_REPLY_MAX + 1);
}

/* Random bytes in random chunks: every reply is one well-formed line, buffers bounded. */
static void test_random_input(void)
{
  unsigned long long x = 0x9e3779b97f4a7c15ull;
  static char data[1 << 16];
  const char alphabet[] = "PINGECHOSETGETDELQUITSTATS pingx \r\n\n\n\t\x01";
  for (int round = 0; round < 50; round++) {
    reset();
    size_t n = 0;
    while (n < sizeof data) {
      x ^= x << 13, x ^= x >> 7, x ^= x << 17;
      if (x % 97 == 0) { /* sometimes a long run without "\n" */
        size_t run = (size_t)(x % 3000);
        for (size_t k = 0; k < run && n < sizeof data; k++)
          data[n++] = 'z';
      } else {
        data[n++] = (x % 5 == 0) ? (char)(x >> 24) : alphabet[(x >> 8) % (sizeof alphabet - 1)];
      }
    }
    /* no QUIT stop: drop it from the stream */
    for (size_t k = 0; k + 4 <= n; k++)
      if (memcmp(data + k, "QUIT", 4) == 0 || memcmp(data + k, "quit", 4) == 0)
        data[k] = '_';
    size_t chunk = 1 + (size_t)(x % 2000);
    feed_chunked(data, n, chunk);
    /* check each reply line */
    int bad = 0;
    size_t lines = 0;
    for (char *p = got; p < got + got_len;) {
      char *nl = memchr(p, '\n', (size_t)(got + got_len - p));
      if (nl == NULL) {
        bad++;
        break;
      }
      if (!(p[0] == '+' || strncmp(p, "-ERR ", 5) == 0))
        bad++;
      lines++;
      p = nl + 1;
    }
    CHECK(bad == 0);
    CHECK(lines == stats.requests);
    CHECK(store.count <= RS_KEYS_MAX);
  }
}

int main(void)
{
  test_commands();
  test_crlf_and_pipelining();
  test_quit();
  test_key_value_limits();
  test_too_many_keys();
  test_line_limit();
  test_chunking_equivalence();
  test_back_pressure();
  test_random_input();
  CHECK_DONE();
}
