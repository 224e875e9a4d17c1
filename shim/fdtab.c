/*
 * Which fds are sockets, and their kind and ports, known without a syscall.
 *
 * A rule on read, write or close must count sockets only, and a syscall costs more than a
 * microsecond on some virtual machines: an fstat per armed close made socket+close 25 % slower;
 * a getsockname and a getpeername per call made a port= filter 3x a bare setsockopt and the
 * log at level all 7.8x. So the shim keeps, per fd number, what it has proved: a socket it saw
 * being created (socket, socketpair, accept, accept4) or one an fstat found, its family and
 * type, its local port and its peer's. Knowledge is dropped at every close the shim sees:
 * close itself, the target of dup2/dup3, close_range, closefrom, and the closes inside libc's
 * fclose, freopen and fcloseall (an fdopen'd socket). Each close is forgotten before the real
 * call (so no other thread can reuse the number while it still reads as a socket) and again
 * after it (an fstat by a thread racing the close may have stored its answer in between). An
 * fd with no entry costs one fstat.
 *
 * Ports (sf_fd_ports): a socket the shim saw created starts unbound (port 0 for AF_INET and
 * AF_INET6, none for other families) with no peer. The calls that may change that are
 * calls.def's SF_K_ADDR kind (bind, listen, connect, and every send: Linux binds an unbound
 * datagram socket at its first send, even a failing one); after each, what it settled is
 * stored and what it may have changed is forgotten (sf_fd_addr_event). An unknown port is asked
 * of the kernel (getsockname, getpeername) and kept only when it cannot change any more
 * without a call the shim sees: a local port once bound, a peer once connected. So a port or a
 * peer, once learned, stays until the fd is closed or bound/connected again, even after the
 * connection ended (when the kernel would answer ENOTCONN): port= still matches the calls on a
 * connection to that port after a reset.
 *
 * What the shim cannot see it cannot drop: a socket closed by syscall(SYS_close), io_uring or
 * statically linked code, its number then reused for a file, would still count as a socket;
 * a socket the shim saw created and then bound or connected by a call it does not intercept
 * (sendmmsg, sendfile, io_uring) keeps reading as unbound or unconnected.
 * fds 0-2 are never cached (daemon() and login_tty() dup2 over them inside libc).
 *
 * Entry: bit 0 socket; bits 1-6 family + 1 and 7-10 type + 1 (0: not yet asked); bits 11-27
 * the local port and 28-44 the peer's (0 unknown, 1 none, else port + 2); bits 45-63 a
 * generation bumped by every drop and every address change, so an answer that raced a close
 * or a bind cannot be stored stale: every store is one compare-and-swap from the word read
 * before the proof.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "state.h"

#define SF_FDE_SOCK UINT64_C(1)
#define SF_FDE_FAM_SH 1
#define SF_FDE_TYPE_SH 7
#define SF_FDE_LOC_SH 11
#define SF_FDE_PEER_SH 28
#define SF_FDE_ADDR_BITS 17
#define SF_FDE_ADDR_MASK ((UINT64_C(1) << SF_FDE_ADDR_BITS) - 1)
#define SF_FDE_GEN (UINT64_C(1) << 45)
#define SF_FDE_LOW (SF_FDE_GEN - 1)
#define SF_FD_FIRST 3

/* A port field: 0 not known, 1 none (-1: no port or no peer), else the port + 2. */
#define SF_ADDR_UNKNOWN 0u
#define SF_ADDR_NONE 1u

static bool sf_fd_cached(int fd) { return fd >= SF_FD_FIRST && fd < SF_FD_TRACK; }

static unsigned sf_fde_field(uint64_t e, int shift)
{
  return (unsigned)((e >> shift) & SF_FDE_ADDR_MASK);
}

static uint64_t sf_fde_with(uint64_t e, int shift, unsigned v)
{
  return (e & ~(SF_FDE_ADDR_MASK << shift)) | (uint64_t)v << shift;
}

static unsigned sf_addr_enc(int port) { return port < 0 ? SF_ADDR_NONE : (unsigned)port + 2; }
static int sf_addr_dec(unsigned v) { return v == SF_ADDR_NONE ? -1 : (int)v - 2; }

static int sf_fde_family(uint64_t e) { return (int)((e >> SF_FDE_FAM_SH) & 0x3f) - 1; }
static int sf_fde_type(uint64_t e) { return (int)((e >> SF_FDE_TYPE_SH) & 0xf) - 1; }

static bool sf_inet(int family) { return family == AF_INET || family == AF_INET6; }

/* A socket entry of a known family and type; the ports as given (fields, already encoded). */
static uint64_t sf_fde(uint64_t old, int family, int type, unsigned loc, unsigned peer)
{
  uint64_t f = family >= 0 && family < 0x3f ? (uint64_t)family + 1 : 0;
  uint64_t t = type >= 0 && type < 0xf ? (uint64_t)type + 1 : 0;
  return (old & ~SF_FDE_LOW) | SF_FDE_SOCK | f << SF_FDE_FAM_SH | t << SF_FDE_TYPE_SH |
         (uint64_t)loc << SF_FDE_LOC_SH | (uint64_t)peer << SF_FDE_PEER_SH;
}

static void sf_fd_raise_hwm(int fd)
{
  int h = atomic_load_explicit(&sf_g.fd_hwm, memory_order_relaxed);
  while (fd >= h && !atomic_compare_exchange_weak_explicit(&sf_g.fd_hwm, &h, fd + 1,
                                                            memory_order_relaxed,
                                                            memory_order_relaxed)) {
  }
}

/* Store `e` for fd, unless the entry changed since `old` was read. */
static void sf_fd_put(int fd, uint64_t old, uint64_t e)
{
  sf_fd_raise_hwm(fd);
  (void)atomic_compare_exchange_strong_explicit(&sf_g.fdkind[fd], &old, e,
                                                memory_order_relaxed, memory_order_relaxed);
}

/* Store proof that fd is a socket, unless the entry changed since `old` was read. */
static void sf_fd_store(int fd, uint64_t old, int family, int type)
{
  unsigned loc = (old & SF_FDE_SOCK) ? sf_fde_field(old, SF_FDE_LOC_SH) : SF_ADDR_UNKNOWN;
  unsigned peer = (old & SF_FDE_SOCK) ? sf_fde_field(old, SF_FDE_PEER_SH) : SF_ADDR_UNKNOWN;
  sf_fd_put(fd, old, sf_fde(old, family, type, loc, peer));
}

void sf_fd_created(int fd, int family, int type, bool fresh)
{
  if (!sf_fd_cached(fd))
    return;
  /* socket(): unbound and unconnected (a raw socket's "port" is its protocol: asked);
   * accept's new socket: ports asked when needed */
  unsigned loc = fresh && type != SOCK_RAW ? sf_addr_enc(sf_inet(family) ? 0 : -1)
                                           : SF_ADDR_UNKNOWN;
  unsigned peer = fresh ? SF_ADDR_NONE : SF_ADDR_UNKNOWN;
  uint64_t old = atomic_load_explicit(&sf_g.fdkind[fd], memory_order_relaxed);
  sf_fd_put(fd, old, sf_fde(old, family, type, loc, peer));
}

static void sf_fd_drop(int fd)
{
  if (!sf_fd_cached(fd))
    return;
  uint64_t old = atomic_load_explicit(&sf_g.fdkind[fd], memory_order_relaxed);
  while (!atomic_compare_exchange_weak_explicit(&sf_g.fdkind[fd], &old,
                                                (old & ~SF_FDE_LOW) + SF_FDE_GEN,
                                                memory_order_relaxed, memory_order_relaxed)) {
  }
}

/* The log's fd closed or replaced by the program: the log is silenced for good (log.c), rather
 * than have records land in the program's own files. */
static void sf_fd_log_gone(unsigned lo, unsigned hi)
{
  int lf = sf_g.log_fd;
  if (SF_UNLIKELY(lf >= 0 && (unsigned)lf >= lo && (unsigned)lf <= hi))
    atomic_store_explicit(&sf_g.log_broken, true, memory_order_relaxed);
}

void sf_fd_forget(int fd)
{
  if (fd >= 0)
    sf_fd_log_gone((unsigned)fd, (unsigned)fd);
  sf_fd_drop(fd);
}

/* Every entry from lo to hi dropped (the numbers may have been closed unseen). */
void sf_fd_forget_from(unsigned lo, unsigned hi)
{
  unsigned end = (unsigned)atomic_load_explicit(&sf_g.fd_hwm, memory_order_relaxed);
  if (hi < end)
    end = hi + 1;
  for (unsigned fd = lo < SF_FD_FIRST ? SF_FD_FIRST : lo; fd < end; fd++)
    sf_fd_drop((int)fd);
}

/* close_range, closefrom: every fd from lo to hi closed. */
static void sf_fd_closed_from(unsigned lo, unsigned hi)
{
  sf_fd_log_gone(lo, hi);
  sf_fd_forget_from(lo, hi);
}

static int sf_fstat_socket(int fd)
{
  struct stat st;
  return fstat(fd, &st) == 0 && S_ISSOCK(st.st_mode);
}

int sf_fd_is_socket(int fd)
{
  if (!sf_fd_cached(fd))
    return fd >= 0 && sf_fstat_socket(fd);
  uint64_t e = atomic_load_explicit(&sf_g.fdkind[fd], memory_order_relaxed);
  if (e & SF_FDE_SOCK)
    return 1;
  if (!sf_fstat_socket(fd))
    return 0;
  sf_fd_store(fd, e, -1, -1);
  return 1;
}

/* Family and type, asked of the kernel through the real getsockopt (never our wrapper). */
static void sf_fd_ask(int fd, int *family, int *type)
{
  int v = -1;
  socklen_t l = sizeof v;
  *family = sf_real.getsockopt && sf_real.getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &v, &l) == 0
                ? v
                : -1;
  v = -1;
  l = sizeof v;
  *type = sf_real.getsockopt && sf_real.getsockopt(fd, SOL_SOCKET, SO_TYPE, &v, &l) == 0 ? v : -1;
}

int sf_fd_kind(int fd, int *family, int *type)
{
  if (fd < 0)
    return 0;
  uint64_t e = sf_fd_cached(fd) ? atomic_load_explicit(&sf_g.fdkind[fd], memory_order_relaxed) : 0;
  int f = sf_fde_family(e), t = sf_fde_type(e);
  if ((e & SF_FDE_SOCK) && f >= 0 && t >= 0) {
    *family = f;
    *type = t;
    return 1;
  }
  if (!(e & SF_FDE_SOCK) && !sf_fstat_socket(fd))
    return 0;
  sf_fd_ask(fd, family, type);
  if (sf_fd_cached(fd))
    sf_fd_store(fd, e, *family, *type);
  return 1;
}

/* One port from the kernel through the real call: its field value to keep (0: keep nothing,
 * the answer may change unseen), and the port in *port. */
static unsigned sf_fd_ask_port(int (*real)(int, struct sockaddr *restrict, socklen_t *restrict),
                               int fd, bool local, int *port)
{
  struct sockaddr_storage ss;
  socklen_t l = sizeof ss;
  *port = -1;
  if (real == NULL || real(fd, (struct sockaddr *)&ss, &l) != 0)
    return SF_ADDR_UNKNOWN; /* not connected yet, say */
  *port = sf_sockaddr_port((const struct sockaddr *)&ss);
  if (*port < 0)
    return SF_ADDR_NONE; /* not an internet socket: never a port */
  /* an unbound local port (0) may be bound by the next send */
  return local && *port == 0 ? SF_ADDR_UNKNOWN : sf_addr_enc(*port);
}

bool sf_fd_ports(int fd, bool want_port, bool want_peer, int *port, int *peer)
{
  const bool keep = sf_fd_cached(fd) && atomic_load_explicit(&sf_g.track_ports,
                                                             memory_order_relaxed);
  uint64_t e = keep ? atomic_load_explicit(&sf_g.fdkind[fd], memory_order_relaxed) : 0;
  if ((e & SF_FDE_SOCK) && sf_fde_family(e) >= 0 && !sf_inet(sf_fde_family(e))) {
    *port = *peer = -1; /* AF_UNIX & co.: no ports, ever */
    return false;
  }
  unsigned loc = (e & SF_FDE_SOCK) ? sf_fde_field(e, SF_FDE_LOC_SH) : SF_ADDR_UNKNOWN;
  unsigned pv = (e & SF_FDE_SOCK) ? sf_fde_field(e, SF_FDE_PEER_SH) : SF_ADDR_UNKNOWN;
  bool asked = false;
  int saved = errno;
  if (want_port) {
    if (loc != SF_ADDR_UNKNOWN) {
      *port = sf_addr_dec(loc);
    } else {
      loc = sf_fd_ask_port(sf_real.getsockname, fd, true, port);
      asked = true;
    }
  }
  if (want_peer) {
    if (pv != SF_ADDR_UNKNOWN) {
      *peer = sf_addr_dec(pv);
    } else {
      pv = sf_fd_ask_port(sf_real.getpeername, fd, false, peer);
      asked = true;
    }
  }
  errno = saved;
  if (asked && keep && (loc != SF_ADDR_UNKNOWN || pv != SF_ADDR_UNKNOWN)) {
    /* an answer proves a socket: keep the kind known so far */
    uint64_t n = (e & SF_FDE_SOCK) ? e : (e & ~SF_FDE_LOW) | SF_FDE_SOCK;
    n = sf_fde_with(sf_fde_with(n, SF_FDE_LOC_SH, loc), SF_FDE_PEER_SH, pv);
    sf_fd_put(fd, e, n);
  }
  return asked;
}

/* After a call of the SF_K_ADDR kind on fd (performed: not an injected failure): what it
 * settled, and what it may have changed, which is then asked again when needed. */
void sf_fd_addr_event(int fd, int call, const struct sockaddr *addr, long ret)
{
  if (!sf_fd_cached(fd))
    return;
  uint64_t e = atomic_load_explicit(&sf_g.fdkind[fd], memory_order_relaxed);
  for (;;) {
    if (!(e & SF_FDE_SOCK))
      return; /* nothing known: nothing to change */
    unsigned loc = sf_fde_field(e, SF_FDE_LOC_SH), peer = sf_fde_field(e, SF_FDE_PEER_SH);
    const unsigned unbound = sf_addr_enc(0);
    int p = addr ? sf_sockaddr_port(addr) : -1;
    if (call == SF_ID_bind) {
      if (ret != 0)
        return;
      loc = p > 0 ? sf_addr_enc(p) : SF_ADDR_UNKNOWN; /* port 0: the kernel chose one */
    } else if (call == SF_ID_connect) {
      /* bound now if it was not; connected to addr, in progress, or not at all */
      if (loc == unbound)
        loc = SF_ADDR_UNKNOWN;
      peer = ret == 0 && p >= 0 ? sf_addr_enc(p) : SF_ADDR_UNKNOWN;
    } else {
      /* listen and sends bind an unbound socket; a send on an unconnected stream socket may
       * connect it (MSG_FASTOPEN); a listening socket never has a peer */
      bool fastopen = call != SF_ID_listen && sf_fde_type(e) == SOCK_STREAM &&
                      peer == SF_ADDR_NONE;
      if (loc != unbound && !fastopen)
        return;
      if (loc == unbound)
        loc = SF_ADDR_UNKNOWN;
      if (fastopen)
        peer = SF_ADDR_UNKNOWN;
    }
    uint64_t n = sf_fde_with(sf_fde_with(e, SF_FDE_LOC_SH, loc), SF_FDE_PEER_SH, peer) +
                 SF_FDE_GEN;
    if (atomic_compare_exchange_weak_explicit(&sf_g.fdkind[fd], &e, n, memory_order_relaxed,
                                              memory_order_relaxed))
      return;
  }
}

/* --- the calls that close fds without going through close() ------------------------------ */

/* Each is interposed below only to forget what it closes; the table of their next
 * definitions and its resolution derive from this one list. (The intercepted socket calls
 * that close an fd are calls.def's SF_K_CLOSEFD kind.) */
#define SF_FD_CLOSERS(X)                                                                     \
  X(dup2, int, (int, int))                                                                 \
  X(dup3, int, (int, int, int))                                                            \
  X(close_range, int, (unsigned, unsigned, int))                                           \
  X(closefrom, void, (int))                                                                \
  X(fclose, int, (FILE *))                                                                 \
  X(fcloseall, int, (void))                                                                \
  X(freopen, FILE *, (const char *, const char *, FILE *))                                 \
  X(freopen64, FILE *, (const char *, const char *, FILE *))

static struct {
#define SF_CLOSER_FIELD(name, ret, params) ret(*name) params;
  SF_FD_CLOSERS(SF_CLOSER_FIELD)
#undef SF_CLOSER_FIELD
} sf_treal;

#define SF_TRACK_REAL(name)                                                                 \
  do {                                                                                      \
    if (SF_UNLIKELY(sf_treal.name == NULL)) {                                               \
      void *sym_ = sf_real_lookup(#name);                                                   \
      memcpy(&sf_treal.name, &sym_, sizeof sym_);                                           \
    }                                                                                       \
  } while (0)

void sf_fdtab_resolve(void)
{
#define SF_CLOSER_RESOLVE(name, ret, params) SF_TRACK_REAL(name);
  SF_FD_CLOSERS(SF_CLOSER_RESOLVE)
#undef SF_CLOSER_RESOLVE
}

/* dlsym found no next definition: say so and fail the call, never jump to NULL. */
static void sf_track_missing(const char *name)
{
  sf_note("no next definition of ", name, " (is the shim linked statically?)");
  errno = ENOSYS;
}

static bool sf_tracking(void) { return atomic_load_explicit(&sf_g.track_fds, memory_order_relaxed); }

static void sf_fd_forget_if_tracking(int fd)
{
  if (sf_tracking())
    sf_fd_forget(fd);
}

/* The fd under a stream, errno untouched (memory streams have none). */
static int sf_stream_fd(FILE *fp)
{
  int saved = errno;
  int fd = fp ? fileno_unlocked(fp) : -1;
  errno = saved;
  return fd;
}

#define SF_EXPORT __attribute__((visibility("default")))

SF_EXPORT int dup2(int oldfd, int newfd)
{
  SF_TRACK_REAL(dup2);
  sf_fd_forget_if_tracking(newfd);
  int r = sf_treal.dup2 ? sf_treal.dup2(oldfd, newfd) : (int)syscall(SYS_dup2, oldfd, newfd);
  if (r >= 0 && sf_tracking())
    sf_fd_forget(newfd);
  return r;
}

SF_EXPORT int dup3(int oldfd, int newfd, int flags)
{
  SF_TRACK_REAL(dup3);
  sf_fd_forget_if_tracking(newfd);
  int r = sf_treal.dup3 ? sf_treal.dup3(oldfd, newfd, flags)
                        : (int)syscall(SYS_dup3, oldfd, newfd, flags);
  if (r >= 0 && sf_tracking())
    sf_fd_forget(newfd);
  return r;
}

SF_EXPORT int close_range(unsigned first, unsigned last, int flags)
{
  SF_TRACK_REAL(close_range);
  /* CLOSE_RANGE_CLOEXEC closes nothing now, but at exec: the table is gone by then */
  if (sf_tracking() && !(flags & CLOSE_RANGE_CLOEXEC))
    sf_fd_closed_from(first, last);
  int r = sf_treal.close_range ? sf_treal.close_range(first, last, flags)
                               : (int)syscall(SYS_close_range, first, last, flags);
  if (sf_tracking() && !(flags & CLOSE_RANGE_CLOEXEC))
    sf_fd_closed_from(first, last);
  return r;
}

SF_EXPORT void closefrom(int lowfd)
{
  SF_TRACK_REAL(closefrom);
  if (sf_tracking() && lowfd >= 0)
    sf_fd_closed_from((unsigned)lowfd, ~0U);
  if (sf_treal.closefrom)
    sf_treal.closefrom(lowfd);
  else
    (void)syscall(SYS_close_range, (unsigned)lowfd, ~0U, 0);
  if (sf_tracking() && lowfd >= 0)
    sf_fd_closed_from((unsigned)lowfd, ~0U);
}

SF_EXPORT int fclose(FILE *fp)
{
  SF_TRACK_REAL(fclose);
  if (sf_treal.fclose == NULL) {
    sf_track_missing("fclose");
    return EOF;
  }
  if (!sf_tracking())
    return sf_treal.fclose(fp);
  int fd = sf_stream_fd(fp);
  sf_fd_forget(fd);
  int r = sf_treal.fclose(fp);
  sf_fd_forget(fd); /* closed even when fclose reports an error */
  return r;
}

SF_EXPORT int fcloseall(void)
{
  SF_TRACK_REAL(fcloseall);
  if (sf_treal.fcloseall == NULL) {
    sf_track_missing("fcloseall");
    return EOF;
  }
  if (sf_tracking())
    sf_fd_forget_from(0, ~0U);
  int r = sf_treal.fcloseall();
  if (sf_tracking())
    sf_fd_forget_from(0, ~0U);
  return r;
}

/* freopen closes the stream's fd inside libc and opens another, often on the same number. */
static FILE *sf_reopen(FILE *(*real)(const char *, const char *, FILE *), const char *name,
                       const char *path, const char *mode, FILE *fp)
{
  if (real == NULL) {
    sf_track_missing(name);
    return NULL;
  }
  int fd = sf_tracking() ? sf_stream_fd(fp) : -1;
  sf_fd_forget(fd);
  FILE *r = real(path, mode, fp);
  sf_fd_forget(fd);
  return r;
}

SF_EXPORT FILE *freopen(const char *path, const char *mode, FILE *fp)
{
  SF_TRACK_REAL(freopen);
  return sf_reopen(sf_treal.freopen, "freopen", path, mode, fp);
}

SF_EXPORT FILE *freopen64(const char *path, const char *mode, FILE *fp)
{
  SF_TRACK_REAL(freopen64);
  return sf_reopen(sf_treal.freopen64, "freopen64", path, mode, fp);
}
