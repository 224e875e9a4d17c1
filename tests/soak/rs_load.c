/* rs_load — a bounded loopback load generator for sockfault-refserver that checks every
 * reply byte for byte.
 *
 * K connection slots are kept busy at once (poll, non-blocking sockets). Each connection
 * sends R requests as a pipeline (at most --depth outstanding), then QUIT, and must get
 * exactly the expected reply to each, "+BYE", then EOF. Requests are unique per
 * connection: slot s uses the key "k<s>" alone (no other connection touches it while s is
 * busy, and the store never holds more than one key per slot), values and ECHO texts carry
 * the slot, the connection's number and the request's index, so a reply meant for another
 * connection or request cannot pass.
 *
 * Two modes: --requests M (the load test: M requests in all, M/K per connection, one
 * connection per slot) and --seconds T (the soak: a slot whose connection ended opens a
 * new one until T has passed; each connection sends 1..R requests, R from --per-conn).
 *
 * Each connection ends as one of
 *   ok        every reply exact, "+BYE", then EOF
 *   broken    EOF or an error (reset, ...) before that; every reply received was exact
 *   mismatch  a reply that differs from the expected one: never explained by a fault
 *   stalled   no progress for --timeout seconds
 *   connfail  connect failed
 * --report FILE gets one line per connection that was not ok:
 *   "<local port> <outcome> <replies ok> gen=<n> <detail>"   (the driver matches the
 * ports against the peers of the shim's injected calls), then "<port> reused <count>" for
 * each local port that more than one connection used. The last line on stdout is the
 * summary. --think MS paces a connection: a batch of --depth requests, the replies, a
 * pause, the next batch (long-lived connections, few ports reused).
 *
 * Exit status: 0 every connection ok; 1 some were not (see the report); 2 usage. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define RL_SLOTS_MAX 4096
#define RL_KEY_SLOTS 1000    /* slots that use the store: RS_KEYS_MAX (1024) minus a margin */
#define RL_DEPTH_MAX 64
#define RL_REQ_MAX 128       /* bytes of one request line */
#define RL_IN_CAP 8192
#define RL_CONNECTING_MAX 64 /* connects in flight at once: the listen backlog is finite */

enum rl_outcome { RL_OK, RL_BROKEN, RL_MISMATCH, RL_STALLED, RL_CONNFAIL, RL_NOUTCOMES };
static const char *const rl_outcome_name[RL_NOUTCOMES] = {"ok", "broken", "mismatch",
                                                           "stalled", "connfail"};

enum rl_state { S_IDLE, S_CONNECTING, S_RUN, S_EOF_WAIT };

struct rl_conn {
  int fd;
  enum rl_state state;
  unsigned slot;
  unsigned long gen;        /* connection number, unique over the run */
  unsigned nreq;            /* requests before QUIT */
  unsigned sent;            /* requests queued (QUIT counts as request nreq) */
  unsigned got;             /* replies checked */
  uint16_t lport;
  long long last_progress;  /* ms */
  long long next_fill;      /* --think: don't queue the next batch before (ms) */
  size_t out_head, out_len;
  size_t hold_at;           /* non-zero: send out[out_head..hold_at) only, until release_at */
  long long release_at;
  char out[RL_DEPTH_MAX * RL_REQ_MAX];
  size_t in_len;
  char in[RL_IN_CAP];
};

struct rl_opts {
  const char *host;
  unsigned port;
  unsigned slots;
  unsigned long requests;   /* --requests: total; 0 with --seconds */
  double seconds;           /* --seconds: soak mode */
  unsigned per_conn;        /* requests per connection (soak: at most) */
  unsigned depth;
  unsigned think_ms;        /* pause between batches of a connection; 0: a sliding window */
  double timeout_s;
  unsigned long seed;
  const char *report;
};

struct rl_run {
  struct rl_opts o;
  struct sockaddr_storage addr;
  socklen_t addrlen;
  struct rl_conn *conns;
  struct pollfd *pfds;
  unsigned long next_gen;
  unsigned long started, connecting;
  unsigned long count[RL_NOUTCOMES];
  unsigned long requests_sent, replies_ok;
  uint64_t rng;
  FILE *report;
  unsigned char port_uses[65536]; /* connections per local port (saturating) */
  unsigned port_lo, port_hi, port_next; /* local ports handed out in turn: few reused */
};

static long long rl_now_ms(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static uint64_t rl_rand(struct rl_run *r)
{
  r->rng ^= r->rng << 13; /* xorshift64: reproducible from --seed */
  r->rng ^= r->rng >> 7;
  r->rng ^= r->rng << 17;
  return r->rng;
}

/* Request j of connection c, and the reply it must get (without "\n"). */
static void rl_request(const struct rl_conn *c, unsigned j, char *req, size_t rlen, char *want,
                       size_t wlen)
{
  if (j == c->nreq) {
    snprintf(req, rlen, "QUIT\n");
    snprintf(want, wlen, "+BYE");
    return;
  }
  unsigned kind = j % 6;
  if (c->slot >= RL_KEY_SLOTS && kind != 5)
    kind = 2; /* beyond the store's room: ECHO and PING only */
  switch (kind) {
  case 0:
    snprintf(req, rlen, "SET k%u v%u.%lu.%u\n", c->slot, c->slot, c->gen, j);
    snprintf(want, wlen, "+OK");
    break;
  case 1:
    snprintf(req, rlen, "GET k%u\r\n", c->slot);
    snprintf(want, wlen, "+v%u.%lu.%u", c->slot, c->gen, j - 1);
    break;
  case 2:
    snprintf(req, rlen, "ECHO e %lu %u  s%u \n", c->gen, j, c->slot);
    snprintf(want, wlen, "+e %lu %u  s%u ", c->gen, j, c->slot);
    break;
  case 3:
    snprintf(req, rlen, "del k%u\n", c->slot);
    snprintf(want, wlen, "+OK");
    break;
  case 4:
    snprintf(req, rlen, "GET k%u\n", c->slot);
    snprintf(want, wlen, "-ERR no such key");
    break;
  default:
    snprintf(req, rlen, "PING\n");
    snprintf(want, wlen, "+PONG");
    break;
  }
}

static void rl_end(struct rl_run *r, struct rl_conn *c, enum rl_outcome out, const char *fmt,
                   ...) __attribute__((format(printf, 4, 5)));
static void rl_end(struct rl_run *r, struct rl_conn *c, enum rl_outcome out, const char *fmt,
                   ...)
{
  r->count[out]++;
  if (out != RL_OK && r->report) {
    char detail[300];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(detail, sizeof detail, fmt, ap);
    va_end(ap);
    for (char *p = detail; *p; p++)
      if ((unsigned char)*p < 0x20)
        *p = ' ';
    fprintf(r->report, "%u %s %u gen=%lu %s\n", (unsigned)c->lport, rl_outcome_name[out],
            c->got, c->gen, detail);
  }
  if (c->fd >= 0)
    close(c->fd);
  if (c->state == S_CONNECTING)
    r->connecting--;
  c->fd = -1;
  c->state = S_IDLE;
}

/* Bind fd to the next free local port of the ephemeral range, in turn, so that a port
 * names one connection in the shim's log for as long as the range lasts (the kernel's own
 * choice reuses a port at once when the server closed first). Best effort: after a few
 * ports in use, the kernel chooses. */
static void rl_bind(struct rl_run *r, int fd)
{
  struct sockaddr_storage me = r->addr;
  for (int tries = 0; tries < 32 && r->port_hi > r->port_lo; tries++) {
    unsigned p = r->port_next++;
    if (r->port_next > r->port_hi)
      r->port_next = r->port_lo;
    if (r->port_uses[p] && tries < 16) /* used before: the next, unless all are */
      continue;
    if (me.ss_family == AF_INET6)
      ((struct sockaddr_in6 *)&me)->sin6_port = htons((uint16_t)p);
    else
      ((struct sockaddr_in *)&me)->sin_port = htons((uint16_t)p);
    if (bind(fd, (struct sockaddr *)&me, r->addrlen) == 0)
      return;
    if (errno != EADDRINUSE && errno != EACCES)
      return;
  }
}

/* The ephemeral range (/proc/sys/net/ipv4/ip_local_port_range), less its first port; a
 * random start in it, from --seed. */
static void rl_port_range(struct rl_run *r)
{
  unsigned lo = 32768, hi = 60999;
  FILE *f = fopen("/proc/sys/net/ipv4/ip_local_port_range", "r");
  if (f) {
    if (fscanf(f, "%u %u", &lo, &hi) != 2 || lo < 1024 || hi > 65535 || lo >= hi)
      lo = 32768, hi = 60999;
    fclose(f);
  }
  r->port_lo = lo + 1;
  r->port_hi = hi;
  r->port_next = r->port_lo + (unsigned)(rl_rand(r) % (r->port_hi - r->port_lo));
}

/* Start a new connection in slot c. */
static void rl_start(struct rl_run *r, struct rl_conn *c, long long now)
{
  c->gen = r->next_gen++;
  c->nreq = r->o.requests ? r->o.per_conn
                          : 1 + (unsigned)(rl_rand(r) % (r->o.per_conn ? r->o.per_conn : 1));
  c->sent = c->got = 0;
  c->out_head = c->out_len = c->in_len = 0;
  c->lport = 0;
  c->last_progress = now;
  c->next_fill = 0;
  c->hold_at = 0;
  r->started++;
  c->fd = socket(r->addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (c->fd < 0) {
    c->state = S_IDLE;
    rl_end(r, c, RL_CONNFAIL, "socket: %s", strerror(errno));
    return;
  }
  rl_bind(r, c->fd);
  c->state = S_CONNECTING;
  r->connecting++;
  if (connect(c->fd, (struct sockaddr *)&r->addr, r->addrlen) != 0 && errno != EINPROGRESS) {
    rl_end(r, c, RL_CONNFAIL, "connect: %s", strerror(errno));
    return;
  }
  struct sockaddr_storage me;
  socklen_t ml = sizeof me;
  if (getsockname(c->fd, (struct sockaddr *)&me, &ml) == 0)
    c->lport = ntohs(me.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&me)->sin6_port
                                              : ((struct sockaddr_in *)&me)->sin_port);
  if (r->port_uses[c->lport] < 255)
    r->port_uses[c->lport]++;
}

/* Queue requests up to the pipeline depth; with --think, a batch once the last one was
 * answered and the pause is over. */
static void rl_fill(struct rl_run *r, struct rl_conn *c, long long now)
{
  char want[RL_REQ_MAX];
  if (r->o.think_ms) {
    if (c->sent != c->got || now < c->next_fill || c->sent > c->nreq)
      return;
    c->next_fill = now + r->o.think_ms;
    c->last_progress = now;
  }
  if (c->out_head > 0 && c->out_head == c->out_len)
    c->out_head = c->out_len = 0;
  size_t last = c->out_len;
  while (c->sent <= c->nreq && c->sent - c->got < r->o.depth &&
         sizeof c->out - c->out_len >= RL_REQ_MAX) {
    last = c->out_len;
    rl_request(c, c->sent, c->out + c->out_len, RL_REQ_MAX, want, sizeof want);
    c->out_len += strlen(c->out + c->out_len);
    c->sent++;
    r->requests_sent++;
  }
  /* One batch in four ends with a request cut in two, the second part a few ms later:
   * the server then holds a partial line when its recv comes, as TCP can split anywhere. */
  if (last < c->out_len && !c->hold_at && rl_rand(r) % 4 == 0) {
    c->hold_at = last + 1 + (size_t)(rl_rand(r) % (c->out_len - last - 1));
    c->release_at = now + 2 + (long long)(rl_rand(r) % 8);
  }
}

/* Check the complete reply lines received. */
static void rl_check(struct rl_run *r, struct rl_conn *c)
{
  size_t used = 0;
  char req[RL_REQ_MAX], want[RL_REQ_MAX];
  for (;;) {
    char *line = c->in + used;
    char *nl = memchr(line, '\n', c->in_len - used);
    if (!nl)
      break;
    size_t len = (size_t)(nl - line);
    used += len + 1;
    if (c->got >= c->sent || c->state == S_EOF_WAIT) {
      rl_end(r, c, RL_MISMATCH, "an unexpected reply '%.*s'", (int)(len > 80 ? 80 : len), line);
      return;
    }
    rl_request(c, c->got, req, sizeof req, want, sizeof want);
    if (len != strlen(want) || memcmp(line, want, len) != 0) {
      rl_end(r, c, RL_MISMATCH, "request %u '%.*s': expected '%s', got '%.*s'", c->got,
             (int)strcspn(req, "\r\n"), req, want, (int)(len > 80 ? 80 : len), line);
      return;
    }
    c->got++;
    r->replies_ok++;
    if (c->got == c->nreq + 1)
      c->state = S_EOF_WAIT; /* "+BYE": only EOF may follow */
  }
  c->in_len -= used;
  memmove(c->in, c->in + used, c->in_len);
  if (c->in_len == sizeof c->in)
    rl_end(r, c, RL_MISMATCH, "a reply line longer than %zu bytes", sizeof c->in);
}

static void rl_io(struct rl_run *r, struct rl_conn *c, short rev, long long now)
{
  if (c->state == S_CONNECTING) {
    int err = 0;
    socklen_t el = sizeof err;
    if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &el) != 0)
      err = errno;
    if (err != 0) {
      rl_end(r, c, RL_CONNFAIL, "connect: %s", strerror(err));
      return;
    }
    r->connecting--;
    c->state = S_RUN;
    c->last_progress = now;
    rev |= POLLOUT;
  }
  if (c->state == S_RUN && (rev & POLLOUT)) {
    rl_fill(r, c, now);
    for (;;) {
      size_t end = c->hold_at ? c->hold_at : c->out_len;
      if (c->out_head >= end)
        break;
      ssize_t n = send(c->fd, c->out + c->out_head, end - c->out_head, MSG_NOSIGNAL);
      if (n > 0) {
        c->out_head += (size_t)n;
        c->last_progress = now;
        continue;
      }
      if (n < 0 && (errno == EAGAIN || errno == EINTR))
        break;
      rl_end(r, c, RL_BROKEN, "send: %s", n < 0 ? strerror(errno) : "0");
      return;
    }
  }
  if (rev & (POLLIN | POLLHUP | POLLERR)) {
    for (int turns = 0; turns < 4 && c->fd >= 0; turns++) {
      ssize_t n = recv(c->fd, c->in + c->in_len, sizeof c->in - c->in_len, 0);
      if (n > 0) {
        c->in_len += (size_t)n;
        c->last_progress = now;
        rl_check(r, c);
        continue;
      }
      if (n < 0 && (errno == EAGAIN || errno == EINTR))
        break;
      if (n == 0 && c->state == S_EOF_WAIT && c->in_len == 0)
        rl_end(r, c, RL_OK, "ok");
      else if (n == 0 && c->state == S_EOF_WAIT)
        rl_end(r, c, RL_MISMATCH, "%zu bytes after +BYE", c->in_len);
      else if (n == 0)
        rl_end(r, c, RL_BROKEN, "EOF after %u of %u replies (%zu bytes pending)", c->got,
               c->nreq + 1, c->in_len);
      else
        rl_end(r, c, RL_BROKEN, "recv after %u of %u replies: %s", c->got, c->nreq + 1,
               strerror(errno));
      return;
    }
  }
  if (c->fd >= 0 && c->state == S_RUN)
    rl_fill(r, c, now);
}

static int rl_usage(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int rl_usage(const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  fputs("rs_load: ", stderr);
  vfprintf(stderr, fmt, ap);
  fputs("\nusage: rs_load --port N [--host 127.0.0.1|::1] --conns K (--requests M | --seconds T"
        " [--per-conn R] [--think MS]) [--depth D] [--timeout S] [--seed N] [--report FILE]\n",
        stderr);
  va_end(ap);
  return 2;
}

static int rl_num(const char *s, double lo, double hi, double *out)
{
  char *end;
  errno = 0;
  double v = strtod(s, &end);
  if (!*s || *end || errno || !(v >= lo && v <= hi))
    return -1;
  *out = v;
  return 0;
}

static int rl_options(int argc, char **argv, struct rl_opts *o)
{
  o->host = "127.0.0.1";
  o->depth = 8;
  o->timeout_s = 10;
  o->seed = 1;
  o->per_conn = 0;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (i + 1 >= argc)
      return rl_usage("'%s': a value is missing, or an unknown option", a);
    const char *v = argv[++i];
    double d;
    if (strcmp(a, "--host") == 0) {
      o->host = v;
      continue;
    }
    if (strcmp(a, "--report") == 0) {
      o->report = v;
      continue;
    }
    if (rl_num(v, 0, 1e9, &d) != 0)
      return rl_usage("%s '%s': not a number in range", a, v);
    if (strcmp(a, "--port") == 0 && d >= 1 && d <= 65535)
      o->port = (unsigned)d;
    else if (strcmp(a, "--conns") == 0 && d >= 1 && d <= RL_SLOTS_MAX)
      o->slots = (unsigned)d;
    else if (strcmp(a, "--requests") == 0 && d >= 1)
      o->requests = (unsigned long)d;
    else if (strcmp(a, "--seconds") == 0 && d > 0 && d <= 86400)
      o->seconds = d;
    else if (strcmp(a, "--per-conn") == 0 && d >= 1 && d <= 1000000)
      o->per_conn = (unsigned)d;
    else if (strcmp(a, "--depth") == 0 && d >= 1 && d <= RL_DEPTH_MAX)
      o->depth = (unsigned)d;
    else if (strcmp(a, "--think") == 0 && d <= 10000)
      o->think_ms = (unsigned)d;
    else if (strcmp(a, "--timeout") == 0 && d >= 0.1 && d <= 3600)
      o->timeout_s = d;
    else if (strcmp(a, "--seed") == 0)
      o->seed = (unsigned long)d;
    else
      return rl_usage("%s '%s': unknown option or value out of range", a, v);
  }
  if (!o->port || !o->slots || (o->requests == 0) == (o->seconds == 0))
    return rl_usage("--port, --conns and one of --requests and --seconds are needed");
  if (o->requests) {
    if (o->requests < o->slots)
      return rl_usage("--requests must be at least --conns");
    o->per_conn = (unsigned)(o->requests / o->slots);
  } else if (!o->per_conn) {
    o->per_conn = 40;
  }
  return -1;
}

/* Loopback only: the address must be 127.0.0.0/8 or ::1. */
static int rl_address(struct rl_run *r)
{
  struct sockaddr_in *v4 = (struct sockaddr_in *)&r->addr;
  struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)&r->addr;
  memset(&r->addr, 0, sizeof r->addr);
  if (inet_pton(AF_INET, r->o.host, &v4->sin_addr) == 1 &&
      (ntohl(v4->sin_addr.s_addr) >> 24) == 127) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons((uint16_t)r->o.port);
    r->addrlen = sizeof *v4;
    return 0;
  }
  if (inet_pton(AF_INET6, r->o.host, &v6->sin6_addr) == 1 &&
      IN6_IS_ADDR_LOOPBACK(&v6->sin6_addr)) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons((uint16_t)r->o.port);
    r->addrlen = sizeof *v6;
    return 0;
  }
  return rl_usage("--host '%s': only 127.0.0.0/8 or ::1", r->o.host);
}

/* Enough fds for every slot: raise the soft limit up to the hard one. */
static void rl_nofile(unsigned need)
{
  struct rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < need) {
    rl.rlim_cur = rl.rlim_max == RLIM_INFINITY || rl.rlim_max > need ? need : rl.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
      fprintf(stderr, "rs_load: setrlimit NOFILE %u: %s\n", need, strerror(errno));
  }
}

static int rl_loop(struct rl_run *r)
{
  const long long t0 = rl_now_ms();
  const long long timeout_ms = (long long)(r->o.timeout_s * 1000);
  const long long stop_new = r->o.seconds ? t0 + (long long)(r->o.seconds * 1000) : 0;
  /* a hard bound on the whole run: every loop ends */
  const long long hard = (stop_new ? stop_new : t0) + 2 * timeout_ms + 5000 +
                         (r->o.seconds ? 0 : (long long)r->o.requests * 5);
  unsigned long one_each = 0; /* --requests: slots started so far */
  for (;;) {
    long long now = rl_now_ms();
    bool more = r->o.requests ? one_each < r->o.slots : now < stop_new;
    unsigned active = 0;
    bool holding = false;
    for (unsigned i = 0; i < r->o.slots; i++) {
      struct rl_conn *c = &r->conns[i];
      if (c->state == S_IDLE && more && r->connecting < RL_CONNECTING_MAX &&
          (!r->o.requests || i == one_each)) {
        rl_start(r, c, now);
        one_each += r->o.requests ? 1 : 0;
      }
      if (c->state != S_IDLE && now - c->last_progress > timeout_ms)
        rl_end(r, c, RL_STALLED, "no progress for %.1f s after %u of %u replies",
               r->o.timeout_s, c->got, c->nreq + 1);
      if (c->state != S_IDLE && now > hard)
        rl_end(r, c, RL_STALLED, "still running at the run's hard limit");
      if (c->state == S_RUN)
        rl_fill(r, c, now); /* --think: the next batch may be due */
      if (c->hold_at && now >= c->release_at)
        c->hold_at = 0; /* the rest of the cut request may go */
      holding = holding || c->hold_at;
      struct pollfd *p = &r->pfds[i];
      p->fd = c->state == S_IDLE ? -1 : c->fd;
      p->events = c->state == S_CONNECTING                           ? POLLOUT
                  : c->out_head < (c->hold_at ? c->hold_at : c->out_len) ? (POLLIN | POLLOUT)
                                                                         : POLLIN;
      p->revents = 0;
      active += c->state != S_IDLE;
    }
    if (!active && !more)
      break;
    int n = poll(r->pfds, r->o.slots, holding ? 2 : 50);
    if (n < 0 && errno != EINTR) {
      perror("rs_load: poll");
      return -1;
    }
    now = rl_now_ms();
    for (unsigned i = 0; n > 0 && i < r->o.slots; i++)
      if (r->pfds[i].revents && r->conns[i].state != S_IDLE)
        rl_io(r, &r->conns[i], r->pfds[i].revents, now);
  }
  double secs = (double)(rl_now_ms() - t0) / 1000;
  unsigned long reused = 0;
  for (unsigned p = 1; p < 65536; p++)
    if (r->port_uses[p] > 1) {
      reused++;
      if (r->report)
        fprintf(r->report, "%u reused %u\n", p, (unsigned)r->port_uses[p]);
    }
  printf("rs_load: connections=%lu ok=%lu broken=%lu mismatch=%lu stalled=%lu connfail=%lu "
         "requests=%lu replies_ok=%lu reused_ports=%lu seconds=%.2f\n",
         r->started, r->count[RL_OK], r->count[RL_BROKEN], r->count[RL_MISMATCH],
         r->count[RL_STALLED], r->count[RL_CONNFAIL], r->requests_sent, r->replies_ok, reused, secs);
  return 0;
}

int main(int argc, char **argv)
{
  struct rl_run r;
  memset(&r, 0, sizeof r);
  int st = rl_options(argc, argv, &r.o);
  if (st >= 0)
    return st;
  if (rl_address(&r) != 0)
    return 2;
  r.rng = r.o.seed * 0x9E3779B97F4A7C15ull + 1;
  rl_nofile(r.o.slots + 64);
  rl_port_range(&r);
  r.conns = calloc(r.o.slots, sizeof *r.conns);
  r.pfds = calloc(r.o.slots, sizeof *r.pfds);
  if (!r.conns || !r.pfds) {
    fputs("rs_load: out of memory\n", stderr);
    return 1;
  }
  for (unsigned i = 0; i < r.o.slots; i++) {
    r.conns[i].fd = -1;
    r.conns[i].slot = i;
  }
  if (r.o.report && !(r.report = fopen(r.o.report, "w"))) {
    fprintf(stderr, "rs_load: %s: %s\n", r.o.report, strerror(errno));
    return 2;
  }
  int rc = rl_loop(&r);
  if (r.report && fclose(r.report) != 0)
    rc = -1;
  free(r.conns);
  free(r.pfds);
  if (rc != 0)
    return 1;
  return r.count[RL_OK] == r.started ? 0 : 1;
}
