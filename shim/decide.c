/* The per-call decision: which rules match, their counters, when/prob, the errno (decide.h). */
#define _GNU_SOURCE /* clock_gettime under -std=c11 */
#include "decide.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <string.h>
#include <time.h>

int sf_sockaddr_port(const struct sockaddr *sa)
{
  if (sa->sa_family == AF_INET)
    return ntohs(((const struct sockaddr_in *)(const void *)sa)->sin_port);
  if (sa->sa_family == AF_INET6)
    return ntohs(((const struct sockaddr_in6 *)(const void *)sa)->sin6_port);
  return -1;
}

void sf_ctx_fill_kind(struct sf_ctx *c, const struct sf_ctx_ops *ops)
{
  if (c->have_kind)
    return;
  c->have_kind = true;
  if (c->addr != NULL && c->family < 0)
    c->family = c->addr->sa_family;
  if (c->fd >= 0 && (c->family < 0 || c->type < 0)) {
    int f = -1, t = -1;
    if (ops->fd_kind(c, &f, &t)) {
      if (c->family < 0)
        c->family = f;
      if (c->type < 0)
        c->type = t;
    }
  }
}

void sf_ctx_fill_ports(struct sf_ctx *c, const struct sf_ctx_ops *ops)
{
  if (c->have_ports)
    return;
  c->have_ports = true;
  if (c->addr != NULL) {
    int p = sf_sockaddr_port(c->addr);
    if (c->call == SF_ID_bind)
      c->port = p;
    else
      c->peer = p;
  }
  if (c->fd < 0 || sf_calls[c->call].ctx == SF_CTX_NEW)
    return;
  const bool want_peer = c->peer < 0 && (sf_calls[c->call].kind & SF_K_PEER);
  if (c->port < 0 || want_peer) {
    int port = -1, peer = -1;
    ops->fd_ports(c, c->port < 0, want_peer, &port, &peer);
    if (c->port < 0)
      c->port = port;
    if (want_peer)
      c->peer = peer;
  }
}

static int sf_filters_match(const struct sf_rule *r, struct sf_ctx *c, const struct sf_ctx_ops *ops)
{
  unsigned f = r->filters;
  if (f == 0)
    return 1;
  if (f & SF_F_FD && c->fd != r->fd)
    return 0;
  if (f & (SF_F_FAMILY | SF_F_TYPE)) {
    sf_ctx_fill_kind(c, ops);
    if (f & SF_F_FAMILY && c->family != r->family)
      return 0;
    if (f & SF_F_TYPE && c->type != r->type)
      return 0;
  }
  if (f & SF_F_PORT) {
    sf_ctx_fill_ports(c, ops);
    if (c->port != r->port && c->peer != r->port)
      return 0;
  }
  if (f & SF_F_SITE && !ops->site_matches(c, r->site))
    return 0;
  return 1;
}

/* --- faithful to the kernel: could it return this errno in this state? (docs/faithful.md) ---
 * Asked only once a rule has chosen to fail the call, so the backend's state queries are paid
 * per injection, never per call. */

static bool sf_nonblocking(struct sf_ctx *c, const struct sf_ctx_ops *ops)
{
  if (c->flags & MSG_DONTWAIT)
    return true;
  int fl = ops->fd_flags(c);
  return fl >= 0 && (fl & O_NONBLOCK);
}

/* SO_RCVTIMEO for the calls that wait for input, SO_SNDTIMEO for the others (connect too). */
static bool sf_has_timeout(struct sf_ctx *c, const struct sf_ctx_ops *ops)
{
  return ops->fd_timeout(c, (sf_calls[c->call].kind & SF_K_IN) ? SO_RCVTIMEO : SO_SNDTIMEO);
}

/* The call would return at once: input queued (a connection, data, EOF, an error) for the
 * calls that wait for input, room to send for the others. */
static bool sf_ready(struct sf_ctx *c, const struct sf_ctx_ops *ops)
{
  return ops->fd_ready(c, (sf_calls[c->call].kind & SF_K_IN) ? POLLIN : POLLOUT);
}

/* A signal can interrupt a sleeping socket call: some handler is installed without
 * SA_RESTART, or the socket has a timeout (then even a restarting handler, or a stop and
 * SIGCONT, ends the call with EINTR: signal(7)). */
static bool sf_interruptible(struct sf_ctx *c, const struct sf_ctx_ops *ops)
{
  return sf_has_timeout(c, ops) || ops->interruptible(c);
}

/* The errnos whose possibility depends on the call's state (sf_faithful checks them). */
static bool sf_errno_stateful(int call, int err)
{
  const int idx = sf_errno_index(call, err);
  return err == EPIPE || err == EINTR || err == EAGAIN || err == EINPROGRESS ||
         (idx >= 0 && sf_calls[call].errnos[idx].why == SF_WHY_ENV_FS);
}

/* 1: inject err as chosen; 0: the kernel could not return it now, leave this occurrence
 * alone. Sets c->start_real where the faithful fake performs the real call (a connect that
 * goes on in the background). Only the errnos whose possibility depends on the socket's
 * state are checked; every other is always possible. */
static int sf_faithful(struct sf_ctx *c, const struct sf_ctx_ops *ops, int err)
{
  const unsigned kind = sf_calls[c->call].kind;
  const int idx = sf_errno_index(c->call, err);
  if (idx >= 0 && sf_calls[c->call].errnos[idx].why == SF_WHY_ENV_FS) { /* a path's errors need a path: AF_UNIX only */
    sf_ctx_fill_kind(c, ops);
    return c->family == AF_UNIX;
  }
  if (err == EPIPE) { /* a broken pipe needs a connection: stream and seqpacket only */
    sf_ctx_fill_kind(c, ops);
    return c->type != SOCK_DGRAM && c->type != SOCK_RAW;
  }
  if (c->fd < 0)
    return 1;
  if (c->call == SF_ID_connect && (err == EINPROGRESS || err == EINTR)) {
    /* non-blocking: under way; blocking: interrupted while it goes on. Either way the kernel
     * has started the connection, so the fake starts it too. */
    const bool nb = sf_nonblocking(c, ops);
    if (err == EINPROGRESS ? !nb : (nb || !sf_interruptible(c, ops)))
      return 0;
    c->start_real = true;
    return 1;
  }
  if (err == EINTR && (kind & SF_K_BLOCK))
    return (kind & (SF_K_IN | SF_K_OUT)) && !sf_nonblocking(c, ops) && !sf_ready(c, ops) &&
           sf_interruptible(c, ops);
  if (err == EAGAIN && (kind & (SF_K_IN | SF_K_OUT)))
    return (sf_nonblocking(c, ops) || sf_has_timeout(c, ops)) && !sf_ready(c, ops);
  return 1;
}

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

bool sf_fake_sigpipe_due(struct sf_ctx *c, const struct sf_ctx_ops *ops, int err)
{
  if (err != EPIPE || !(sf_calls[c->call].kind & SF_K_OUT) || (c->flags & MSG_NOSIGNAL))
    return false;
  sf_ctx_fill_kind(c, ops);
  return c->type == SOCK_STREAM || c->type == SOCK_SEQPACKET;
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

void sf_rulestate_slot_freed(struct sf_rulestate *st)
{
  if (st->slot_rules)
    atomic_fetch_add_explicit(&st->free_slots, 1, memory_order_relaxed);
}

/* A full fd table has a free slot after a close: take it instead of failing. */
static int sf_take_slot(struct sf_rulestate *st)
{
  long n = atomic_load_explicit(&st->free_slots, memory_order_relaxed);
  while (n > 0)
    if (atomic_compare_exchange_weak_explicit(&st->free_slots, &n, n - 1,
                                              memory_order_relaxed, memory_order_relaxed))
      return 1;
  return 0;
}

#define SF_WIN_LOG_FIRST 32          /* a for= rule logs its first injections, */
#define SF_WIN_LOG_EVERY 50000000    /* then one per 50 ms: a spinning program's log stays small */

/* A for= rule: 1 if it may inject now (its window not over; the first injection opens it),
 * 0 if the window is over or a freed slot lets this call through. */
static int sf_window_open(struct sf_rulestate *st, const struct sf_rule *r, unsigned i,
                          struct sf_ctx *c)
{
  const int64_t now = sf_mono_ns();
  int64_t start = atomic_load_explicit(&st->win_start[i], memory_order_relaxed);
  if (start == 0) {
    atomic_store_explicit(&st->free_slots, 0, memory_order_relaxed); /* the table is full now */
    if (!atomic_compare_exchange_strong(&st->win_start[i], &start, now))
      start = atomic_load_explicit(&st->win_start[i], memory_order_relaxed);
    else
      start = now;
  }
  if (now - start >= (int64_t)r->for_ms * 1000000)
    return 0;
  if ((r->err == EMFILE || r->err == ENFILE) && sf_take_slot(st))
    return 0;
  uint64_t fired = atomic_load_explicit(&st->fired[i], memory_order_relaxed);
  int64_t last = atomic_load_explicit(&st->win_logged[i], memory_order_relaxed);
  c->quiet = fired >= SF_WIN_LOG_FIRST &&
             (now - last < SF_WIN_LOG_EVERY ||
              !atomic_compare_exchange_strong(&st->win_logged[i], &last, now));
  if (fired < SF_WIN_LOG_FIRST)
    atomic_store_explicit(&st->win_logged[i], now, memory_order_relaxed);
  return 1;
}

int sf_decide_rules(struct sf_rulestate *st, struct sf_ctx *c, const struct sf_ctx_ops *ops,
                    int *rule)
{
  int inject = 0;
  const uint64_t bit = SF_CALL_BIT(c->call);
  *rule = -1;
  for (unsigned i = 0; i < st->rules.n; i++) {
    const struct sf_rule *r = &st->rules.rule[i];
    if (!(r->calls & bit) || !sf_filters_match(r, c, ops))
      continue;
    /* Every matching rule counts the call, even when an earlier rule already fires. */
    uint64_t n = atomic_fetch_add_explicit(&st->count[i], 1, memory_order_relaxed) + 1;
    if (r->per_thread)
      n = ops->thread_count(c, st, i);
    else if (r->per_tree)
      n = ops->tree_count(c, i);
    if (inject || !sf_when_selects(r, n))
      continue;
    uint64_t h = sf_mix(st->seed[i] ^ sf_mix(n));
    if (r->prob < SF_PROB_ONE && (h >> 32) * SF_PROB_ONE >= (uint64_t)r->prob << 32)
      continue;
    if (r->has_for && !sf_window_open(st, r, i, c))
      continue;
    /* :force injects anything; otherwise only what the kernel could say now. error=any
     * draws its errno, then takes the next one in the table the kernel could return. */
    c->start_real = false;
    if (r->any) {
      const struct sf_call_info *ci = &sf_calls[c->call];
      const unsigned k = (unsigned)(sf_mix(h) % ci->nerrnos);
      for (unsigned j = 0; j < ci->nerrnos && inject == 0; j++) {
        int e = ci->errnos[(k + j) % ci->nerrnos].err;
        if (sf_faithful(c, ops, e))
          inject = e;
      }
    } else if (r->force || sf_faithful(c, ops, r->err)) {
      inject = r->err;
    }
    if (inject == 0)
      continue;
    *rule = (int)i;
    atomic_fetch_add_explicit(&st->fired[i], 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&st->injected, 1, memory_order_relaxed);
  }
  return inject;
}

void sf_rulestate_reset(struct sf_rulestate *st)
{
  for (unsigned i = 0; i < SF_MAX_RULES; i++) {
    atomic_store_explicit(&st->count[i], 0, memory_order_relaxed);
    atomic_store_explicit(&st->fired[i], 0, memory_order_relaxed);
    atomic_store_explicit(&st->win_start[i], 0, memory_order_relaxed);
    atomic_store_explicit(&st->win_logged[i], 0, memory_order_relaxed);
  }
  atomic_store_explicit(&st->injected, 0, memory_order_relaxed);
  atomic_store_explicit(&st->free_slots, 0, memory_order_relaxed);
  atomic_fetch_add_explicit(&st->gen, 1, memory_order_relaxed); /* per=thread counts too */
}

void sf_rulestate_copy_counts(struct sf_rulestate *dst, const struct sf_rulestate *src)
{
  for (unsigned i = 0; i < SF_MAX_RULES; i++) {
    atomic_store_explicit(&dst->count[i], atomic_load(&src->count[i]), memory_order_relaxed);
    atomic_store_explicit(&dst->fired[i], atomic_load(&src->fired[i]), memory_order_relaxed);
    atomic_store_explicit(&dst->win_start[i], atomic_load(&src->win_start[i]), memory_order_relaxed);
    atomic_store_explicit(&dst->win_logged[i], atomic_load(&src->win_logged[i]),
                          memory_order_relaxed);
  }
  atomic_store_explicit(&dst->injected, atomic_load(&src->injected), memory_order_relaxed);
  atomic_store_explicit(&dst->free_slots, atomic_load(&src->free_slots), memory_order_relaxed);
}

void sf_rulestate_seed(struct sf_rulestate *st, uint64_t base)
{
  bool slots = false;
  for (unsigned i = 0; i < st->rules.n; i++) {
    const struct sf_rule *r = &st->rules.rule[i];
    st->seed[i] = r->has_seed ? r->seed : base + i;
    slots |= r->has_for && (r->err == EMFILE || r->err == ENFILE);
  }
  st->slot_rules = slots;
  sf_rulestate_reset(st);
}

int sf_rule_constant_errno(const struct sf_rule *r, int call)
{
  if (r->any || r->filters || r->prob < SF_PROB_ONE || r->has_for)
    return 0;
  if (r->first != 1 || r->last != SF_WHEN_INF || r->step != 1)
    return 0;
  if (!r->force && sf_errno_stateful(call, r->err))
    return 0;
  return r->err;
}
