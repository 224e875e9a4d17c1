/*
 * The interposed functions, expanded from calls.def. Pass-through costs one relaxed load
 * and a bit test before the tail call; everything else is on the slow path in sf_enter and
 * sf_leave. No _GNU_SOURCE here: glibc's GNU prototypes use transparent unions for socket
 * addresses, and ours must match the plain POSIX ones.
 */
#undef _FORTIFY_SOURCE
#define _DEFAULT_SOURCE
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <unistd.h>

#include "caller.h"
#include "state.h"

int accept4(int fd, struct sockaddr *restrict addr, socklen_t *restrict len, int flags);

static __thread int sf_depth __attribute__((tls_model("initial-exec")));

/* Slow-path entry: -1 pass through untouched, 0 perform the call, > 0 inject that errno.
 * Everything here is the shim's own business: its lookups (fstat of a generic fd,
 * getsockname/getpeername for the log and port filters, the log's first open) must not
 * leave their errno behind, or a successful call after them would show it (close(s);
 * perror("connect") printed ENOTCONN under the log). So sf_enter restores errno on every
 * path; sf_leave's callers set errno themselves after it. */
static int sf_enter_(struct sf_ctx *c, int *rule, uint64_t *n);
static int sf_enter(struct sf_ctx *c, int *rule, uint64_t *n)
{
  const int saved = errno;
  const int r = sf_enter_(c, rule, n);
  errno = saved;
  return r;
}

static int sf_enter_(struct sf_ctx *c, int *rule, uint64_t *n)
{
  if (SF_UNLIKELY(atomic_load_explicit(&sf_g.init, memory_order_acquire) != SF_INIT_DONE)) {
    sf_init();
    if (atomic_load_explicit(&sf_g.init, memory_order_acquire) != SF_INIT_DONE)
      return -1; /* initialising in this very thread: a nested call goes straight through */
  }
  if (sf_depth > 0)
    return -1;
  const uint64_t bit = SF_CALL_BIT(c->call);
  /* Only a rule or the log needs to know whether a generic fd is a socket; a close here
   * merely to keep the kind cache current costs no fstat. */
  const bool wanted = (sf_g.armed & bit) || sf_g.log_level != SF_LOG_OFF;
  if (wanted && sf_calls[c->call].ctx == SF_CTX_SOCKFD && !sf_fd_is_socket(c->fd))
    return -1;
  sf_depth++;
  if (sf_g.log_level != SF_LOG_OFF) {
    *n = atomic_fetch_add_explicit(&sf_g.seen[c->call], 1, memory_order_relaxed) + 1;
    if (sf_g.log_level == SF_LOG_ALL) {
      /* Before the call: after close or a failed accept there is nothing left to ask. */
      sf_ctx_kind(c);
      sf_ctx_ports(c);
    }
  }
  *rule = -1;
  return (sf_g.armed & bit) ? sf_decide(c, rule) : 0;
}

static void sf_leave(struct sf_ctx *c, long ret, int err, int rule, uint64_t n)
{
  const unsigned kind = sf_calls[c->call].kind;
  if (atomic_load_explicit(&sf_g.track_fds, memory_order_relaxed) && ret >= 0 && rule < 0 &&
      (kind & SF_K_NEWFD)) {
    const bool fresh = sf_calls[c->call].ctx == SF_CTX_NEW;
    if (c->sv != NULL) { /* socketpair: two sockets of the kind its arguments named */
      sf_fd_created(c->sv[0], c->family, c->type, fresh);
      sf_fd_created(c->sv[1], c->family, c->type, fresh);
    } else {
      if (!fresh)
        sf_ctx_kind(c); /* accept: the new socket is of the listener's kind */
      sf_fd_created((int)ret, c->family, c->type, fresh);
    }
  }
  /* a bind, connect, listen or send the kernel performed may have changed its ports */
  if ((kind & SF_K_ADDR) && rule < 0 &&
      atomic_load_explicit(&sf_g.track_ports, memory_order_relaxed))
    sf_fd_addr_event(c->fd, c->call, c->addr, ret);
  if (kind & SF_K_CLOSEFD)
    sf_fd_forget(c->fd); /* Linux releases the fd even when close reports an error */
  if ((sf_g.log_level == SF_LOG_ALL || (sf_g.log_level == SF_LOG_FAULTS && rule >= 0)) &&
      !(rule >= 0 && c->quiet)) {
    if (sf_g.log_level == SF_LOG_FAULTS) {
      sf_ctx_kind(c);
      sf_ctx_ports(c);
    }
    struct sf_record rec = {c, n, ret, err, rule};
    sf_log_call(&rec);
  }
  sf_depth--;
}

#define CTX_NEW(d, t) c.family = (d), c.type = (t)&0xf
#define CTX_ADDR(f, a) c.fd = (f), c.addr = (a)
#define CTX_FD(f) c.fd = (f)
#define CTX_FDF(f, fl) c.fd = (f), c.flags = (fl)
#define CTX_ADDRF(f, a, fl) CTX_ADDR(f, a), c.flags = (fl)
#define CTX_SOCKFD(f) c.fd = (f)
#define CTX_PAIR(d, t, v) CTX_NEW(d, t), c.sv = (v)

/*
 * An injected failure does not perform the real call — a refused accept leaves the
 * connection pending, as a real EMFILE would — except close: Linux releases the fd even when
 * close fails, so the injected close closes too, or correct programs would leak.
 */
#define SF_UNPAREN(...) __VA_ARGS__

/*
 * The wrapper proper is only the fast path, so it needs no stack frame: load, test, tail
 * call. Everything else is in sf_slow_NAME, out of line and cold; with the two in one body,
 * gcc saved six registers and made a frame before the test on every call (21 instructions
 * more than a bare dlsym wrapper, by callgrind). The call site is passed down explicitly.
 */
#define SF_CALL(name, ret, params, args, fail, ctx, kind, errnos)                                \
  __attribute__((noinline, cold)) static ret sf_slow_##name(const void *site_,             \
                                                            SF_UNPAREN params)             \
  {                                                                                        \
    struct sf_ctx c = {.call = SF_ID_##name, .fd = -1, .family = -1, .type = -1,          \
                       .port = -1, .peer = -1, .site = site_,                              \
                       .frame = SF_CALLER_FRAME(site_)};                                   \
    ctx;                                                                                   \
    int rule_;                                                                             \
    uint64_t n_ = 0;                                                                       \
    int inject_ = sf_enter(&c, &rule_, &n_);                                               \
    /* a closing fd is forgotten before and after: no other thread may reuse the number    \
     * while it still reads as a socket */                                                 \
    if ((kind) & SF_K_CLOSEFD)                                                         \
      sf_fd_forget(c.fd);                                                                  \
    ret(*real_) params = sf_real.name;                                                \
    if (SF_UNLIKELY(real_ == NULL)) {                                                      \
      void *sym_ = sf_real_lookup(#name);                                     \
      memcpy(&real_, &sym_, sizeof sym_);                                                  \
      if (real_ == NULL) {                                                                 \
        sf_note("no next definition of ", #name, " (is the shim linked statically?)");    \
        if (inject_ >= 0)                                                                  \
          sf_leave(&c, (long)(fail), ENOSYS, -1, n_);                                \
        errno = ENOSYS;                                                                    \
        return (ret)(fail);                                                                \
      }                                                                                    \
    }                                                                                      \
    if (inject_ < 0) {                                                                     \
      if (!((kind) & SF_K_CLOSEFD))                                                     \
        return real_ args;                                                                 \
      /* even a close the shim lets through (nested, not a socket) ends what it knew */    \
      ret r_ = real_ args;                                                                 \
      int saved_ = errno;                                                                  \
      sf_fd_forget(c.fd);                                                                  \
      if (r_ == 0 && sf_depth == 0)                                                        \
        sf_slot_freed();                                                                   \
      errno = saved_;                                                                      \
      return r_;                                                                           \
    }                                                                                      \
    if (inject_ > 0) {                                                                     \
      if ((kind) & SF_K_CLOSEFD) {                                                         \
        if (real_ args == 0)                                                               \
          sf_slot_freed();                                                                 \
      } else if (c.start_real) { /* a connect the kernel would have started */            \
        int fl_ = sf_start_begin(c.fd);                                                    \
        long rr_ = (long)real_ args;                                                       \
        inject_ = sf_start_end(c.fd, fl_, rr_, errno, inject_);                            \
      }                                                                                    \
      sf_leave(&c, (long)(fail), inject_, rule_, n_);                                \
      sf_fake_sigpipe(&c, inject_);                                                        \
      errno = inject_;                                                                     \
      return (ret)(fail);                                                                  \
    }                                                                                      \
    ret r_ = real_ args;                                                                   \
    int saved_ = errno;                                                                    \
    if ((kind) & SF_K_CLOSEFD && r_ == 0)                                                  \
      sf_slot_freed();                                                                     \
    sf_leave(&c, (long)r_, saved_, -1, n_);                                \
    errno = saved_;                                                                        \
    return r_;                                                                             \
  }                                                                                        \
  __attribute__((visibility("default"))) ret name params                          \
  {                                                                                        \
    if (SF_LIKELY(atomic_load_explicit(&sf_g.fast, memory_order_relaxed) &                \
                  SF_CALL_BIT(SF_ID_##name)))                                              \
      return sf_real.name args;                                                       \
    return sf_slow_##name(__builtin_return_address(0), SF_UNPAREN args);                   \
  }
#include "calls.def"
#undef SF_CALL
