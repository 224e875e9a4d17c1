/*
 * Which fds are sockets, known without a syscall.
 *
 * A rule on read, write or close must count sockets only, and a syscall costs more than a
 * microsecond on some virtual machines: an fstat per armed close made socket+close 25 % slower.
 * So the shim keeps, per fd number, what it has proved: a socket it saw being created (socket,
 * socketpair, accept, accept4) or one an fstat found. Only positive knowledge is kept, and it
 * is dropped at every close the shim sees: close itself, the target of dup2/dup3,
 * close_range, closefrom, and the closes inside libc's fclose, freopen and fcloseall (an
 * fdopen'd socket). Each close is forgotten before the real call (so no other thread can reuse
 * the number while it still reads as a socket) and again after it (an fstat by a thread
 * racing the close may have stored its answer in between). An fd with no entry costs one
 * fstat.
 *
 * What the shim cannot see it cannot drop: a socket closed by syscall(SYS_close), io_uring or
 * statically linked code, its number then reused for a file, would still count as a socket.
 * fds 0-2 are never cached (daemon() and login_tty() dup2 over them inside libc).
 *
 * Entry: bit 0 socket; bits 1-8 family + 1 and 9-16 type + 1 (0: not yet asked); bits 17-63
 * a generation bumped by every drop, so an fstat that raced a close cannot store its stale
 * answer: every store is one compare-and-swap from the word read before the proof.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "state.h"

#define SF_FDE_SOCK UINT64_C(1)
#define SF_FDE_GEN (UINT64_C(1) << 17)
#define SF_FDE_LOW (SF_FDE_GEN - 1)
#define SF_FD_FIRST 3

static bool sf_fd_cached(int fd) { return fd >= SF_FD_FIRST && fd < SF_FD_TRACK; }

static uint64_t sf_fde(uint64_t old, int family, int type)
{
  uint64_t f = family >= 0 && family < 255 ? (uint64_t)family + 1 : 0;
  uint64_t t = type >= 0 && type < 255 ? (uint64_t)type + 1 : 0;
  return (old & ~SF_FDE_LOW) | SF_FDE_SOCK | f << 1 | t << 9;
}

static void sf_fd_raise_hwm(int fd)
{
  int h = atomic_load_explicit(&sf_g.fd_hwm, memory_order_relaxed);
  while (fd >= h && !atomic_compare_exchange_weak_explicit(&sf_g.fd_hwm, &h, fd + 1,
                                                            memory_order_relaxed,
                                                            memory_order_relaxed)) {
  }
}

/* Store proof that fd is a socket, unless the entry changed since `old` was read. */
static void sf_fd_store(int fd, uint64_t old, int family, int type)
{
  sf_fd_raise_hwm(fd);
  (void)atomic_compare_exchange_strong_explicit(&sf_g.fdkind[fd], &old,
                                                sf_fde(old, family, type),
                                                memory_order_relaxed, memory_order_relaxed);
}

void sf_fd_created(int fd, int family, int type)
{
  if (sf_fd_cached(fd))
    sf_fd_store(fd, atomic_load_explicit(&sf_g.fdkind[fd], memory_order_relaxed), family, type);
}

void sf_fd_forget(int fd)
{
  if (!sf_fd_cached(fd))
    return;
  uint64_t old = atomic_load_explicit(&sf_g.fdkind[fd], memory_order_relaxed);
  while (!atomic_compare_exchange_weak_explicit(&sf_g.fdkind[fd], &old,
                                                (old & ~SF_FDE_LOW) + SF_FDE_GEN,
                                                memory_order_relaxed, memory_order_relaxed)) {
  }
}

void sf_fd_forget_from(unsigned lo, unsigned hi)
{
  unsigned end = (unsigned)atomic_load_explicit(&sf_g.fd_hwm, memory_order_relaxed);
  if (hi < end)
    end = hi + 1;
  for (unsigned fd = lo < SF_FD_FIRST ? SF_FD_FIRST : lo; fd < end; fd++)
    sf_fd_forget((int)fd);
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
  int f = (int)((e >> 1) & 0xff) - 1, t = (int)((e >> 9) & 0xff) - 1;
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
  if (sf_tracking())
    sf_fd_forget_from(first, last);
  int r = sf_treal.close_range ? sf_treal.close_range(first, last, flags)
                               : (int)syscall(SYS_close_range, first, last, flags);
  if (sf_tracking())
    sf_fd_forget_from(first, last);
  return r;
}

SF_EXPORT void closefrom(int lowfd)
{
  SF_TRACK_REAL(closefrom);
  if (sf_tracking() && lowfd >= 0)
    sf_fd_forget_from((unsigned)lowfd, ~0U);
  if (sf_treal.closefrom)
    sf_treal.closefrom(lowfd);
  else
    (void)syscall(SYS_close_range, (unsigned)lowfd, ~0U, 0);
  if (sf_tracking() && lowfd >= 0)
    sf_fd_forget_from((unsigned)lowfd, ~0U);
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
