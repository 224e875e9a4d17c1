/* rs_check — one client session against sockfault-refserver that uses every command and
 * every error reply of the protocol (harness/refserver/request.h) and checks each reply
 * byte for byte. The check of the explore proof (tests/soak/CMakeLists.txt).
 *
 * usage: rs_check PORT [HOST]      (HOST: 127.0.0.1 by default; loopback only)
 * Exit status: 0 every reply exact and EOF after QUIT; 1 anything else (why on stderr);
 * 2 usage. Bounded: the whole session must finish within RC_DEADLINE_MS. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define RC_DEADLINE_MS 4000
#define RC_LONG_LINE 1100 /* > RS_LINE_MAX (1024): "-ERR line too long" */
#define RC_SPLIT_PAUSE_NS 5000000 /* between the parts of a split request */

struct rc {
  int fd;
  long long deadline;
  size_t have;
  char buf[4096];
};

static long long rc_now_ms(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int rc_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int rc_fail(const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  fputs("rs_check: ", stderr);
  vfprintf(stderr, fmt, ap);
  fputc('\n', stderr);
  va_end(ap);
  return -1;
}

/* Wait for ev on the socket until the deadline. 0, or -1 on timeout or poll failure. */
static int rc_wait(struct rc *c, short ev)
{
  for (;;) {
    long long left = c->deadline - rc_now_ms();
    if (left <= 0)
      return rc_fail("timed out after %d ms", RC_DEADLINE_MS);
    struct pollfd p = {.fd = c->fd, .events = ev};
    int n = poll(&p, 1, (int)left);
    if (n > 0)
      return 0;
    if (n < 0 && errno != EINTR)
      return rc_fail("poll: %s", strerror(errno));
  }
}

static int rc_send(struct rc *c, const char *data, size_t len)
{
  while (len > 0) {
    ssize_t n = send(c->fd, data, len, MSG_NOSIGNAL);
    if (n > 0) {
      data += n;
      len -= (size_t)n;
    } else if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
      if (rc_wait(c, POLLOUT) != 0)
        return -1;
    } else {
      return rc_fail("send: %s", n < 0 ? strerror(errno) : "returned 0");
    }
  }
  return 0;
}

/* Fill the buffer with at least one more byte; 0, 1 at EOF, -1 on error or timeout. */
static int rc_fill(struct rc *c)
{
  if (c->have == sizeof c->buf)
    return rc_fail("a reply longer than %zu bytes", sizeof c->buf);
  for (;;) {
    ssize_t n = recv(c->fd, c->buf + c->have, sizeof c->buf - c->have, 0);
    if (n > 0) {
      c->have += (size_t)n;
      return 0;
    }
    if (n == 0)
      return 1;
    if (errno != EAGAIN && errno != EINTR)
      return rc_fail("recv: %s", strerror(errno));
    if (rc_wait(c, POLLIN) != 0)
      return -1;
  }
}

/* Read one reply line (without "\n") into line; 0, or -1. */
static int rc_line(struct rc *c, char *line, size_t cap)
{
  for (;;) {
    char *nl = memchr(c->buf, '\n', c->have);
    if (nl) {
      size_t l = (size_t)(nl - c->buf);
      if (l >= cap)
        return rc_fail("a reply of %zu bytes, more than expected", l);
      memcpy(line, c->buf, l);
      line[l] = '\0';
      c->have -= l + 1;
      memmove(c->buf, nl + 1, c->have);
      return 0;
    }
    int r = rc_fill(c);
    if (r != 0)
      return r < 0 ? -1 : rc_fail("EOF before a complete reply (%zu bytes pending)", c->have);
  }
}

static int rc_expect(struct rc *c, const char *what, const char *want)
{
  char got[2048];
  if (rc_line(c, got, sizeof got) != 0)
    return rc_fail("(waiting for the reply to %.*s)", (int)strcspn(what, "\n"), what);
  if (strcmp(got, want) != 0)
    return rc_fail("%.*s: expected '%s', got '%.200s'", (int)strcspn(what, "\n"), what, want,
                   got);
  return 0;
}

/* "+connections=N accepted=N requests=N keys=N", N decimal, connections >= 1,
 * accepted >= connections, requests >= the requests this session made so far. */
static int rc_expect_stats(struct rc *c, unsigned long min_requests)
{
  char got[2048], tail;
  unsigned long open, total, reqs, keys;
  if (rc_line(c, got, sizeof got) != 0)
    return rc_fail("(waiting for the reply to STATS)");
  if (sscanf(got, "+connections=%lu accepted=%lu requests=%lu keys=%lu%c", &open, &total,
             &reqs, &keys, &tail) != 4 ||
      strspn(got + 1, "connectiosapdrqkyu=0123456789 ") != strlen(got + 1))
    return rc_fail("STATS: unexpected reply '%.200s'", got);
  if (open < 1 || total < open || reqs < min_requests || keys < 1)
    return rc_fail("STATS: implausible counts in '%s'", got);
  return 0;
}

static int rc_connect(struct rc *c, const char *host, unsigned port)
{
  struct sockaddr_storage ss;
  socklen_t sl;
  memset(&ss, 0, sizeof ss);
  struct sockaddr_in *v4 = (struct sockaddr_in *)&ss;
  struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)&ss;
  if (inet_pton(AF_INET, host, &v4->sin_addr) == 1 && (ntohl(v4->sin_addr.s_addr) >> 24) == 127) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons((uint16_t)port);
    sl = sizeof *v4;
  } else if (inet_pton(AF_INET6, host, &v6->sin6_addr) == 1 &&
             IN6_IS_ADDR_LOOPBACK(&v6->sin6_addr)) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons((uint16_t)port);
    sl = sizeof *v6;
  } else {
    return rc_fail("'%s': not a loopback address (127.0.0.0/8 or ::1)", host);
  }
  c->fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (c->fd < 0)
    return rc_fail("socket: %s", strerror(errno));
  if (connect(c->fd, (struct sockaddr *)&ss, sl) != 0) {
    if (errno != EINPROGRESS)
      return rc_fail("connect %s:%u: %s", host, port, strerror(errno));
    int err = 0;
    socklen_t el = sizeof err;
    if (rc_wait(c, POLLOUT) != 0 || getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &el) != 0)
      return -1;
    if (err != 0)
      return rc_fail("connect %s:%u: %s", host, port, strerror(err));
  }
  return 0;
}

/* Each request alone, then a pipeline, then QUIT: every command and error reply. */
static int rc_session(struct rc *c)
{
  char key[32], req[256], want[256];
  static char longline[RC_LONG_LINE + 2];
  unsigned long reqs = 0;
  snprintf(key, sizeof key, "rc%ld", (long)getpid()); /* its own key: checks may overlap */

  /* split: send that many bytes, pause, then the rest, so that the server holds a partial
   * line when its next recv comes (a failure there must not lose the connection's fd) */
  struct step { const char *req, *want; size_t split; } steps[] = {
      {"PING\n", "+PONG", 0},
      {"ECHO hello,  world \n", "+hello,  world ", 8},
      {"ECHO\n", "-ERR wrong number of arguments for 'ECHO'", 0},
      {"GET\n", "-ERR wrong number of arguments for 'GET'", 2},
      {"SET onlykey\n", "-ERR wrong number of arguments for 'SET'", 0},
      {"PING extra\n", "-ERR wrong number of arguments for 'PING'", 0},
      {"NOPE x\n", "-ERR unknown command 'NOPE'", 0},
      {"\n", "-ERR empty request", 0},
      {"PI\001NG\n", "-ERR invalid byte in request", 0},
  };
  for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++) {
    size_t len = strlen(steps[i].req), first = steps[i].split;
    if (first && rc_send(c, steps[i].req, first) != 0)
      return -1;
    if (first)
      nanosleep(&(struct timespec){0, RC_SPLIT_PAUSE_NS}, NULL);
    if (rc_send(c, steps[i].req + first, len - first) != 0 ||
        rc_expect(c, steps[i].req, steps[i].want) != 0)
      return -1;
    reqs++;
  }
  memset(longline, 'x', RC_LONG_LINE);
  longline[RC_LONG_LINE] = '\n';
  if (rc_send(c, longline, RC_LONG_LINE + 1) != 0 ||
      rc_expect(c, "an overlong line", "-ERR line too long") != 0)
    return -1;
  reqs++;

  /* a key of RS_KEY_MAX + 1 bytes; a value of RS_VALUE_MAX + 1 bytes */
  int kl = snprintf(longline, sizeof longline, "GET %065d\n", 0);
  if (rc_send(c, longline, (size_t)kl) != 0 ||
      rc_expect(c, "a 65-byte key", "-ERR key too long") != 0)
    return -1;
  kl = snprintf(longline, sizeof longline, "SET %s %0513d\n", key, 0);
  if (rc_send(c, longline, (size_t)kl) != 0 ||
      rc_expect(c, "a 513-byte value", "-ERR value too long") != 0)
    return -1;
  reqs += 2;

  snprintf(req, sizeof req, "SET %s value of %s\n", key, key);
  snprintf(want, sizeof want, "+value of %s", key);
  if (rc_send(c, req, strlen(req)) != 0 || rc_expect(c, "SET", "+OK") != 0)
    return -1;
  snprintf(req, sizeof req, "GET %s\n", key);
  if (rc_send(c, req, strlen(req)) != 0 || rc_expect(c, "GET", want) != 0)
    return -1;
  reqs += 2;
  if (rc_send(c, "STATS\n", 6) != 0 || rc_expect_stats(c, reqs) != 0)
    return -1;
  snprintf(req, sizeof req, "DEL %s\n", key);
  if (rc_send(c, req, strlen(req)) != 0 || rc_expect(c, "DEL", "+OK") != 0)
    return -1;
  /* pipelined: CRLF framing, a lower-case command, the key gone */
  snprintf(req, sizeof req, "GET %s\r\nDEL %s\nping\r\nECHO\tx\n", key, key);
  if (rc_send(c, req, strlen(req)) != 0 ||
      rc_expect(c, "GET after DEL", "-ERR no such key") != 0 ||
      rc_expect(c, "DEL after DEL", "-ERR no such key") != 0 ||
      rc_expect(c, "ping", "+PONG") != 0 ||
      rc_expect(c, "ECHO with a tab", "-ERR unknown command 'ECHO\tx'") != 0)
    return -1;

  if (rc_send(c, "QUIT\nPING\n", 10) != 0 || rc_expect(c, "QUIT", "+BYE") != 0)
    return -1;
  int r;
  while ((r = rc_fill(c)) == 0) /* after QUIT: EOF, and nothing else */
    if (c->have)
      return rc_fail("bytes after +BYE: '%.*s'", (int)c->have, c->buf);
  return r == 1 ? 0 : -1;
}

int main(int argc, char **argv)
{
  if (argc < 2 || argc > 3) {
    fputs("usage: rs_check PORT [HOST]\n", stderr);
    return 2;
  }
  char *end;
  unsigned long port = strtoul(argv[1], &end, 10);
  if (*argv[1] == '\0' || *end || port == 0 || port > 65535) {
    fprintf(stderr, "rs_check: bad port '%s'\n", argv[1]);
    return 2;
  }
  struct rc c = {.fd = -1, .deadline = rc_now_ms() + RC_DEADLINE_MS};
  int rc = rc_connect(&c, argc == 3 ? argv[2] : "127.0.0.1", (unsigned)port) == 0 &&
                   rc_session(&c) == 0
               ? 0
               : 1;
  if (c.fd >= 0)
    close(c.fd);
  return rc;
}
