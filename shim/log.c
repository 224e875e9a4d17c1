/* The JSON Lines log: one record per call, formatted on the stack (logfmt.c), one raw write
 * each. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "logfmt.h"
#include "caller.h"
#include "site.h"
#include "state.h"

/* The log fd is moved this high so that programs reusing low fds rarely meet it. */
#define SF_LOG_FD_MIN 500

/* The process's pid, and each thread's tid, asked of the kernel once (a syscall costs more
 * than a microsecond on some virtual machines: two per record made the log 2x slower). fork's
 * child handler (sf_log_after_fork) asks again. A thread's first record checks that the
 * process is the one whose pid is kept: a vfork child, which runs in its parent's memory and
 * thread until exec, then logs its own ids without storing them in its parent's thread. */
static _Atomic int sf_log_pid;
static __thread int sf_log_tid __attribute__((tls_model("initial-exec")));

void sf_log_after_fork(void)
{
  atomic_store_explicit(&sf_log_pid, (int)syscall(SYS_getpid), memory_order_relaxed);
  sf_log_tid = 0;
}

int sf_self_pid(void)
{
  int p = atomic_load_explicit(&sf_log_pid, memory_order_relaxed);
  if (p == 0) {
    int saved = errno;
    p = (int)syscall(SYS_getpid);
    errno = saved;
    int zero = 0;
    if (!atomic_compare_exchange_strong_explicit(&sf_log_pid, &zero, p, memory_order_relaxed,
                                                 memory_order_relaxed))
      p = zero;
  }
  return p;
}

static void sf_log_ids(int *pid, int *tid)
{
  int p = atomic_load_explicit(&sf_log_pid, memory_order_relaxed);
  if (SF_LIKELY(sf_log_tid != 0 && p != 0)) {
    *pid = p;
    *tid = sf_log_tid;
    return;
  }
  int saved = errno;
  *pid = (int)syscall(SYS_getpid);
  *tid = (int)syscall(SYS_gettid);
  errno = saved;
  if (p == 0) {
    int zero = 0; /* the first record of the process: its pid from now on */
    if (atomic_compare_exchange_strong_explicit(&sf_log_pid, &zero, *pid, memory_order_relaxed,
                                                memory_order_relaxed))
      p = *pid;
    else
      p = zero;
  }
  if (p == *pid)
    sf_log_tid = *tid;
}

static int sf_log_open_fd(const char *path, struct stat *st, char *why, size_t whylen);

/* The log is still ours while the shim has seen no close of its fd (fdtab.c's sf_fd_forget
 * sets log_broken: no syscall per record asks). A program that closed every inherited fd
 * (closefrom, close_range or a loop, as daemons do at start-up) or dup2'd over the number
 * gets the log reopened by its path on a new fd, the number left to the program; only when
 * that fails, or the path now names another file, is the log silenced for good, rather than
 * have records land in the program's own files. Bounded: a program that keeps closing it is
 * not chased forever. A close the shim cannot see (syscall(SYS_close), io_uring) it cannot
 * know of, as for the fd table. */
static int sf_log_usable(void)
{
  static _Atomic bool dead;
  static _Atomic int busy;
  if (sf_g.log_fd < 0 || atomic_load_explicit(&dead, memory_order_relaxed))
    return 0;
  if (!atomic_load_explicit(&sf_g.log_broken, memory_order_relaxed))
    return 1;
  if (atomic_exchange_explicit(&busy, 1, memory_order_acquire))
    return 0; /* another thread is reopening it: this record is lost */
  struct stat st;
  int fd = -1;
  if (sf_g.log_path[0] && atomic_fetch_add(&sf_g.log_reopens, 1) < 1000)
    fd = sf_log_open_fd(sf_g.log_path, &st, NULL, 0);
  const bool ok = fd >= 0 && st.st_dev == sf_g.log_dev && st.st_ino == sf_g.log_ino;
  if (ok) {
    sf_g.log_fd = fd;
    atomic_store_explicit(&sf_g.log_broken, false, memory_order_relaxed);
  } else {
    if (fd >= 0)
      syscall(SYS_close, fd);
    atomic_store_explicit(&dead, true, memory_order_relaxed);
  }
  atomic_store_explicit(&busy, 0, memory_order_release);
  return ok;
}

/* One record, whole or not at all: a record that did not fit (len 0) is not written; a write
 * cut short (the disk filled in the middle of it) is cut off the file again, so no half line
 * stays for a reader to trip on, as long as no other process appended after it in between
 * (then the half line stays). Either way the record is counted as dropped, and the exit
 * record says how many. */
static void sf_log_emit(const char *buf, size_t len)
{
  if (!sf_log_usable())
    return;
  if (len == 0) {
    atomic_fetch_add_explicit(&sf_g.log_dropped, 1, memory_order_relaxed);
    return;
  }
  int saved = errno;
  long w;
  do
    w = syscall(SYS_write, sf_g.log_fd, buf, len);
  while (w < 0 && errno == EINTR);
  if (w != (long)len) {
    atomic_fetch_add_explicit(&sf_g.log_dropped, 1, memory_order_relaxed);
    struct stat st;
    off_t end = w > 0 ? lseek(sf_g.log_fd, 0, SEEK_CUR) : -1; /* O_APPEND: just past ours */
    if (end >= w && fstat(sf_g.log_fd, &st) == 0 && st.st_size == end)
      syscall(SYS_ftruncate, sf_g.log_fd, (long)(end - w));
  }
  errno = saved;
}

/* O_NONBLOCK: a FIFO planted at the path must not hang the program before main */
#define SF_LOG_FLAGS (O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK)

/* The same open without openat2 (a kernel before 5.6, or a seccomp filter refusing it): the
 * path walked one component at a time, each checked not to be a symbolic link before it is
 * entered. ELOOP when one is. */
static int sf_open_walk(const char *path)
{
  char buf[4096];
  size_t len = strlen(path);
  if (len >= sizeof buf) {
    errno = ENAMETOOLONG;
    return -1;
  }
  memcpy(buf, path, len + 1);
  int dir = (int)syscall(SYS_openat, AT_FDCWD, buf[0] == '/' ? "/" : ".",
                         O_PATH | O_DIRECTORY | O_CLOEXEC);
  char *p = buf;
  while (dir >= 0) {
    while (*p == '/')
      p++;
    char *slash = strchr(p, '/');
    while (slash && slash[1] == '/')
      slash++; /* "a//b" */
    if (!slash || !slash[1]) { /* the last component ("a/b/" too) */
      if (slash)
        *strchr(p, '/') = '\0';
      int fd = (int)syscall(SYS_openat, dir, *p ? p : ".", SF_LOG_FLAGS, 0600);
      int e = errno;
      syscall(SYS_close, dir);
      errno = e;
      return fd;
    }
    *strchr(p, '/') = '\0';
    struct stat st;
    int next = -1;
    if (fstatat(dir, p, &st, AT_SYMLINK_NOFOLLOW) != 0)
      ;
    else if (S_ISLNK(st.st_mode))
      errno = ELOOP;
    else
      next = (int)syscall(SYS_openat, dir, p, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    int e = errno;
    syscall(SYS_close, dir);
    errno = e;
    dir = next;
    p = slash + 1;
  }
  return -1;
}

/* Open path for the log, moved above SF_LOG_FD_MIN: the fd, or -1 with the reason in why
 * (whylen may be 0). No symbolic link in any component (RESOLVE_NO_SYMLINKS), not only the
 * last: a link in a directory someone else can write would send our records, or the
 * O_CREAT, elsewhere; and only a regular file of our own with one link. */
static int sf_log_open_fd(const char *path, struct stat *st, char *why, size_t whylen)
{
  struct open_how how = {.flags = SF_LOG_FLAGS, .mode = 0600,
                         .resolve = RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS};
  int fd = (int)syscall(SYS_openat2, AT_FDCWD, path, &how, sizeof how);
  if (fd < 0 && (errno == ENOSYS || errno == EPERM))
    fd = sf_open_walk(path);
  if (fd < 0) {
    int e = errno;
    snprintf(why, whylen, "%s", e == ELOOP ? "a symbolic link is in the path (refused: the "
             "log goes where the path says, nowhere else)"
             : e == ENXIO ? "is not a regular file (refused)" /* a FIFO with no reader */
             : strerror(e));
    return -1;
  }
  int high = fcntl(fd, F_DUPFD_CLOEXEC, SF_LOG_FD_MIN);
  if (high >= 0) {
    syscall(SYS_close, fd);
    fd = high;
  }
  int bad = 1;
  if (fstat(fd, st) != 0 || !S_ISREG(st->st_mode))
    snprintf(why, whylen, "is not a regular file (refused)");
  else if (st->st_nlink != 1) /* a hard link to a file elsewhere: appending would write there */
    snprintf(why, whylen, "has %lu hard links (refused: the log must be a file of its own)",
             (unsigned long)st->st_nlink);
  else if (st->st_uid != geteuid())
    snprintf(why, whylen, "belongs to uid %u, not to this process (uid %u) (refused: we "
             "append only to our own file)", (unsigned)st->st_uid, (unsigned)geteuid());
  else
    bad = 0;
  if (bad) {
    syscall(SYS_close, fd);
    return -1;
  }
  fcntl(fd, F_SETFL, O_APPEND); /* drop O_NONBLOCK again */
  return fd;
}

int sf_log_open(const char *path, char *why, size_t whylen)
{
  struct stat st;
  int fd = sf_log_open_fd(path, &st, why, whylen);
  if (fd < 0)
    return -1;
  /* kept absolute, for reopening after a chdir */
  size_t n = 0;
  if (path[0] != '/' && getcwd(sf_g.log_path, sizeof sf_g.log_path - 2)) {
    n = strlen(sf_g.log_path);
    sf_g.log_path[n++] = '/';
  }
  if (n + strlen(path) < sizeof sf_g.log_path)
    memcpy(sf_g.log_path + n, path, strlen(path) + 1);
  else
    sf_g.log_path[0] = '\0'; /* too long to keep: never reopened */
  sf_g.log_fd = fd;
  sf_g.log_dev = st.st_dev;
  sf_g.log_ino = st.st_ino;
  return 0;
}

void sf_log_call(const struct sf_record *rec)
{
  int pid, tid;
  sf_log_ids(&pid, &tid);
  char site[160], caller[160], buf[SF_LOG_RECORD_MAX];
  const char *sym = NULL;
  sf_site_format(rec->ctx->site, site, sizeof site, &sym);
  if (sf_g.log_context == 2)
    sf_caller_format(rec->ctx->frame, caller, sizeof caller);
  const struct sf_logrec r = {
      .pid = pid,
      .tid = tid,
      .ctx = rec->ctx,
      .n = rec->n,
      .have_ret = true,
      .ret = rec->ret,
      .err = rec->err,
      .rule = rec->rule,
      .fired = sf_logfmt_fired(&sf_g.rs, rec->rule),
      .site = site,
      .caller = sf_g.log_context == 2 ? caller : NULL,
      .sym = sym,
  };
  sf_log_emit(buf, sf_logfmt_call(&r, buf));
}

void sf_log_event(const char *event, const char *extra_json)
{
  int pid, tid;
  sf_log_ids(&pid, &tid);
  char buf[SF_LOG_RECORD_MAX];
  sf_log_emit(buf, sf_logfmt_event(pid, tid, event, extra_json, buf));
}

struct sf_dirent64 {
  unsigned long long d_ino;
  long long d_off;
  unsigned short d_reclen;
  unsigned char d_type;
  char d_name[];
};

/* Sockets open now, from /proc/self/fd through raw getdents64: no allocation. */
int sf_count_open_sockets(void)
{
  int dfd = (int)syscall(SYS_openat, AT_FDCWD, "/proc/self/fd", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd < 0 && errno == EMFILE) {
    /* The fd table is full, the worst leak of all, and no fd is free to list it: ask each
     * number below the limit instead. A full table holds about that many, so the scan costs
     * what the listing would (and above the limit sit only the shim's own log fds). */
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur > (1u << 20))
      return -1;
    int count = 0;
    for (int fd = 0; fd < (int)rl.rlim_cur; fd++) {
      struct stat st;
      count += fstat(fd, &st) == 0 && S_ISSOCK(st.st_mode);
    }
    return count;
  }
  if (dfd < 0)
    return -1;
  char buf[4096];
  int count = 0;
  for (int rounds = 0; rounds < 100000; rounds++) {
    long n = syscall(SYS_getdents64, dfd, buf, sizeof buf);
    if (n <= 0)
      break;
    for (long off = 0; off < n;) {
      struct sf_dirent64 *d = (struct sf_dirent64 *)(void *)(buf + off);
      off += d->d_reclen;
      int fd = 0, ok = d->d_name[0] != '\0';
      for (const char *p = d->d_name; *p; p++) {
        if (*p < '0' || *p > '9') {
          ok = 0;
          break;
        }
        fd = fd * 10 + (*p - '0');
      }
      struct stat st;
      if (ok && fd != dfd && fstat(fd, &st) == 0 && S_ISSOCK(st.st_mode))
        count++;
    }
  }
  syscall(SYS_close, dfd);
  return count;
}
