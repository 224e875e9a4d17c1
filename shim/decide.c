/* The per-call decision: which rules match, their counters, when/prob, the errno. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "state.h"

#include "site.h"

void sf_ctx_kind(struct sf_ctx *c)
{
  if (c->have_kind)
    return;
  c->have_kind = true;
  if (c->addr != NULL && c->family < 0)
    c->family = c->addr->sa_family;
  if (c->fd >= 0 && (c->family < 0 || c->type < 0)) {
    int f = -1, t = -1;
    if (sf_fd_kind(c->fd, &f, &t)) {
      if (c->family < 0)
        c->family = f;
      if (c->type < 0)
        c->type = t;
    }
  }
}

/* Local and peer ports: from the address the call names, else from the fd table, which asks
 * the kernel only about what it has not seen. */
void sf_ctx_ports(struct sf_ctx *c)
{
  if (c->have_ports)
    return;
  c->have_ports = true;
  const enum sf_ctx_kind kind = sf_calls[c->call].ctx;
  if (c->addr != NULL) {
    int p = sf_sockaddr_port(c->addr);
    if (c->call == SF_ID_bind)
      c->port = p;
    else
      c->peer = p;
  }
  if (c->fd < 0 || kind == SF_CTX_NEW)
    return;
  const bool want_peer = c->peer < 0 && (sf_calls[c->call].kind & SF_K_PEER);
  if (c->port < 0 || want_peer) {
    int port = -1, peer = -1;
    sf_fd_ports(c->fd, c->port < 0, want_peer, &port, &peer);
    if (c->port < 0)
      c->port = port;
    if (want_peer)
      c->peer = peer;
  }
}

static int sf_filters_match(const struct sf_rule *r, struct sf_ctx *c)
{
  unsigned f = r->filters;
  if (f == 0)
    return 1;
  if (f & SF_F_FD && c->fd != r->fd)
    return 0;
  if (f & (SF_F_FAMILY | SF_F_TYPE)) {
    sf_ctx_kind(c);
    if (f & SF_F_FAMILY && c->family != r->family)
      return 0;
    if (f & SF_F_TYPE && c->type != r->type)
      return 0;
  }
  if (f & SF_F_PORT) {
    sf_ctx_ports(c);
    if (c->port != r->port && c->peer != r->port)
      return 0;
  }
  if (f & SF_F_SITE && !sf_site_matches(c->site, r->site))
    return 0;
  return 1;
}

/* --- faithful to the kernel: could it return this errno in this state? (docs/faithful.md) ---
 * Asked only once a rule has chosen to fail the call, so the syscalls below (fcntl, poll,
 * getsockopt, sigaction) are paid per injection, never per call. */

static bool sf_nonblocking(const struct sf_ctx *c)
{
  if (c->flags & MSG_DONTWAIT)
    return true;
  int fl = fcntl(c->fd, F_GETFL);
  return fl >= 0 && (fl & O_NONBLOCK);
}

/* SO_RCVTIMEO for the calls that wait for input, SO_SNDTIMEO for the others (connect too). */
static bool sf_has_timeout(const struct sf_ctx *c)
{
  struct timeval tv = {0, 0};
  socklen_t l = sizeof tv;
  int opt = (sf_calls[c->call].kind & SF_K_IN) ? SO_RCVTIMEO : SO_SNDTIMEO;
  return sf_real.getsockopt != NULL && sf_real.getsockopt(c->fd, SOL_SOCKET, opt, &tv, &l) == 0 &&
         (tv.tv_sec != 0 || tv.tv_usec != 0);
}

/* The call would return at once: input queued (a connection, data, EOF, an error) for the
 * calls that wait for input, room to send for the others. */
static bool sf_ready(const struct sf_ctx *c)
{
  short want = (sf_calls[c->call].kind & SF_K_IN) ? POLLIN : POLLOUT;
  struct pollfd p = {.fd = c->fd, .events = want};
  return poll(&p, 1, 0) == 1 && (p.revents & (want | POLLERR | POLLHUP));
}

/* A signal can interrupt a sleeping socket call: some handler is installed without
 * SA_RESTART, or the socket has a timeout (then even a restarting handler, or a stop and
 * SIGCONT, ends the call with EINTR: signal(7)). The synchronous signals (SIGSEGV, SIGBUS,
 * SIGFPE, SIGILL, SIGTRAP, SIGSYS) come from the thread's own instructions, never to a
 * thread asleep in a call: their handlers (a sanitizer's, a crash reporter's) do not count. */
static bool sf_interruptible(const struct sf_ctx *c)
{
  if (sf_has_timeout(c))
    return true;
  for (int sig = 1; sig < NSIG; sig++) {
    struct sigaction sa;
    if (sig == SIGKILL || sig == SIGSTOP || sig == SIGSEGV || sig == SIGBUS || sig == SIGFPE ||
        sig == SIGILL || sig == SIGTRAP || sig == SIGSYS || sigaction(sig, NULL, &sa) != 0)
      continue;
    if (sa.sa_handler != SIG_DFL && sa.sa_handler != SIG_IGN && !(sa.sa_flags & SA_RESTART))
      return true;
  }
  return false;
}

/* 1: inject err as chosen; 0: the kernel could not return it now, leave this occurrence
 * alone. Sets c->start_real where the faithful fake performs the real call (a connect that
 * goes on in the background). Only the errnos whose possibility depends on the socket's
 * state are checked; every other is always possible. */
static int sf_faithful(struct sf_ctx *c, int err)
{
  const unsigned kind = sf_calls[c->call].kind;
  const int idx = sf_errno_index(c->call, err);
  if (idx >= 0 && sf_calls[c->call].errnos[idx].why == SF_WHY_ENV_FS) { /* a path's errors need a path: AF_UNIX only */
    sf_ctx_kind(c);
    return c->family == AF_UNIX;
  }
  if (err == EPIPE) { /* a broken pipe needs a connection: stream and seqpacket only */
    sf_ctx_kind(c);
    return c->type != SOCK_DGRAM && c->type != SOCK_RAW;
  }
  if (c->fd < 0)
    return 1;
  if (c->call == SF_ID_connect && (err == EINPROGRESS || err == EINTR)) {
    /* non-blocking: under way; blocking: interrupted while it goes on. Either way the kernel
     * has started the connection, so the fake starts it too. */
    const bool nb = sf_nonblocking(c);
    if (err == EINPROGRESS ? !nb : (nb || !sf_interruptible(c)))
      return 0;
    c->start_real = true;
    return 1;
  }
  if (err == EINTR && (kind & SF_K_BLOCK))
    return (kind & (SF_K_IN | SF_K_OUT)) && !sf_nonblocking(c) && !sf_ready(c) &&
           sf_interruptible(c);
  if (err == EAGAIN && (kind & (SF_K_IN | SF_K_OUT)))
    return (sf_nonblocking(c) || sf_has_timeout(c)) && !sf_ready(c);
  return 1;
}

/* The real connect of an EINPROGRESS/EINTR fake, made non-blocking for the moment. */
int sf_start_begin(int fd)
{
  int fl = fcntl(fd, F_GETFL);
  if (fl >= 0 && !(fl & O_NONBLOCK))
    (void)fcntl(fd, F_SETFL, fl | O_NONBLOCK);
  return fl;
}

int sf_start_end(int fd, int fl, long ret, int err, int inject)
{
  if (fl >= 0 && !(fl & O_NONBLOCK))
    (void)fcntl(fd, F_SETFL, fl);
  /* started (or done at once): the fake stands; failed at once: that is the real answer */
  return ret == 0 || err == EINPROGRESS ? inject : err;
}

void sf_fake_sigpipe(struct sf_ctx *c, int err)
{
  if (err != EPIPE || !(sf_calls[c->call].kind & SF_K_OUT) || (c->flags & MSG_NOSIGNAL))
    return;
  sf_ctx_kind(c);
  if (c->type == SOCK_STREAM || c->type == SOCK_SEQPACKET)
    (void)syscall(SYS_tgkill, getpid(), gettid(), SIGPIPE);
}

/* splitmix64: the schedule is a pure function of (seed, occurrence), so the same seed gives
 * the same failures whatever the threads' interleaving. */
static uint64_t sf_mix(uint64_t x)
{
  x += UINT64_C(0x9e3779b97f4a7c15);
  x = (x ^ (x >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
  x = (x ^ (x >> 27)) * UINT64_C(0x94d049bb133111eb);
  return x ^ (x >> 31);
}

static int64_t sf_mono_ns(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts); /* vDSO: no syscall, async-signal-safe */
  return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

void sf_slot_freed(void)
{
  if (sf_g.slot_rules)
    atomic_fetch_add_explicit(&sf_g.free_slots, 1, memory_order_relaxed);
}

/* A full fd table has a free slot after a close: take it instead of failing. */
static int sf_take_slot(void)
{
  long n = atomic_load_explicit(&sf_g.free_slots, memory_order_relaxed);
  while (n > 0)
    if (atomic_compare_exchange_weak_explicit(&sf_g.free_slots, &n, n - 1,
                                              memory_order_relaxed, memory_order_relaxed))
      return 1;
  return 0;
}

#define SF_WIN_LOG_FIRST 32          /* a for= rule logs its first injections, */
#define SF_WIN_LOG_EVERY 50000000    /* then one per 50 ms: a spinning program's log stays small */

/* A for= rule: 1 if it may inject now (its window not over; the first injection opens it),
 * 0 if the window is over or a freed slot lets this call through. */
static int sf_window_open(const struct sf_rule *r, unsigned i, struct sf_ctx *c)
{
  const int64_t now = sf_mono_ns();
  int64_t start = atomic_load_explicit(&sf_g.win_start[i], memory_order_relaxed);
  if (start == 0) {
    atomic_store_explicit(&sf_g.free_slots, 0, memory_order_relaxed); /* the table is full now */
    if (!atomic_compare_exchange_strong(&sf_g.win_start[i], &start, now))
      start = atomic_load_explicit(&sf_g.win_start[i], memory_order_relaxed);
    else
      start = now;
  }
  if (now - start >= (int64_t)r->for_ms * 1000000)
    return 0;
  if ((r->err == EMFILE || r->err == ENFILE) && sf_take_slot())
    return 0;
  uint64_t fired = atomic_load_explicit(&sf_g.fired[i], memory_order_relaxed);
  int64_t last = atomic_load_explicit(&sf_g.win_logged[i], memory_order_relaxed);
  c->quiet = fired >= SF_WIN_LOG_FIRST &&
             (now - last < SF_WIN_LOG_EVERY ||
              !atomic_compare_exchange_strong(&sf_g.win_logged[i], &last, now));
  if (fired < SF_WIN_LOG_FIRST)
    atomic_store_explicit(&sf_g.win_logged[i], now, memory_order_relaxed);
  return 1;
}

/* per=thread: each thread's own count of each rule's matches, as strace counts when= per
 * traced thread. No heap: a __thread array, zeroed again when the rules change (the
 * generation), so a thread's counts start afresh with each rule set. */
static __thread uint64_t sf_tcount[SF_MAX_RULES] __attribute__((tls_model("initial-exec")));
static __thread uint64_t sf_tgen __attribute__((tls_model("initial-exec")));

static uint64_t sf_thread_count(unsigned i)
{
  uint64_t gen = atomic_load_explicit(&sf_g.rules_gen, memory_order_relaxed) + 1;
  if (sf_tgen != gen) {
    memset(sf_tcount, 0, sizeof sf_tcount);
    sf_tgen = gen;
  }
  return ++sf_tcount[i];
}

int sf_decide(struct sf_ctx *c, int *rule)
{
  int inject = 0;
  const uint64_t bit = SF_CALL_BIT(c->call);
  *rule = -1;
  for (unsigned i = 0; i < sf_g.rules.n; i++) {
    const struct sf_rule *r = &sf_g.rules.rule[i];
    if (!(r->calls & bit) || !sf_filters_match(r, c))
      continue;
    /* Every matching rule counts the call, even when an earlier rule already fires. */
    uint64_t n = atomic_fetch_add_explicit(&sf_g.count[i], 1, memory_order_relaxed) + 1;
    if (r->per_thread)
      n = sf_thread_count(i);
    if (inject || !sf_when_selects(r, n))
      continue;
    uint64_t h = sf_mix(sf_g.seed[i] ^ sf_mix(n));
    if (r->prob < SF_PROB_ONE && (h >> 32) * SF_PROB_ONE >= (uint64_t)r->prob << 32)
      continue;
    if (r->has_for && !sf_window_open(r, i, c))
      continue;
    /* :force injects anything; otherwise only what the kernel could say now. error=any
     * draws its errno, then takes the next one in the table the kernel could return. */
    c->start_real = false;
    if (r->any) {
      const struct sf_call_info *ci = &sf_calls[c->call];
      const unsigned k = (unsigned)(sf_mix(h) % ci->nerrnos);
      for (unsigned j = 0; j < ci->nerrnos && inject == 0; j++) {
        int e = ci->errnos[(k + j) % ci->nerrnos].err;
        if (sf_faithful(c, e))
          inject = e;
      }
    } else if (r->force || sf_faithful(c, r->err)) {
      inject = r->err;
    }
    if (inject == 0)
      continue;
    *rule = (int)i;
    atomic_fetch_add_explicit(&sf_g.fired[i], 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&sf_g.injected, 1, memory_order_relaxed);
  }
  return inject;
}
