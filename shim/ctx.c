/* The shim's side of the decision (decide.h): what a filter or a faithfulness check asks of a
 * call, learnt from the fd table (which keeps the sockets' kinds and ports) and the kernel;
 * and the faithful fakes' actions in the calling process. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <unistd.h>

#include "site.h"
#include "state.h"

static int sf_shim_fd_kind(struct sf_ctx *c, int *family, int *type)
{
  return sf_fd_kind(c->fd, family, type);
}

/* from the fd table, which asks the kernel only about what it has not seen */
static void sf_shim_fd_ports(struct sf_ctx *c, bool want_port, bool want_peer, int *port,
                             int *peer)
{
  sf_fd_ports(c->fd, want_port, want_peer, port, peer);
}

static int sf_shim_site(struct sf_ctx *c, const char *site) { return sf_site_matches(c->site, site); }

static int sf_shim_fd_flags(struct sf_ctx *c) { return fcntl(c->fd, F_GETFL); }

static bool sf_shim_fd_timeout(struct sf_ctx *c, int opt)
{
  struct timeval tv = {0, 0};
  socklen_t l = sizeof tv;
  return sf_real.getsockopt != NULL && sf_real.getsockopt(c->fd, SOL_SOCKET, opt, &tv, &l) == 0 &&
         (tv.tv_sec != 0 || tv.tv_usec != 0);
}

static bool sf_shim_fd_ready(struct sf_ctx *c, short events)
{
  struct pollfd p = {.fd = c->fd, .events = events};
  return poll(&p, 1, 0) == 1 && (p.revents & (events | POLLERR | POLLHUP));
}

/* The synchronous signals (SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGTRAP, SIGSYS) come from the
 * thread's own instructions, never to a thread asleep in a call: their handlers (a
 * sanitizer's, a crash reporter's) do not count. */
static bool sf_shim_interruptible(struct sf_ctx *c)
{
  (void)c;
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

/* per=thread: each thread's own count of each rule's matches, as strace counts when= per
 * traced thread. No heap: a __thread array, zeroed again when the counters are reset (the
 * generation), so a thread's counts start afresh with each rule set. */
static __thread uint64_t sf_tcount[SF_MAX_RULES] __attribute__((tls_model("initial-exec")));
static __thread uint64_t sf_tgen __attribute__((tls_model("initial-exec")));

static uint64_t sf_shim_thread_count(struct sf_ctx *c, const struct sf_rulestate *st, unsigned i)
{
  (void)c;
  uint64_t gen = atomic_load_explicit(&st->gen, memory_order_relaxed) + 1;
  if (sf_tgen != gen) {
    memset(sf_tcount, 0, sizeof sf_tcount);
    sf_tgen = gen;
  }
  return ++sf_tcount[i];
}

/* per=tree: one count per rule for the process and every process forked or exec'd from it,
 * in a shared memfd page made before any fork. A forked child shares the mapping; an exec'd
 * program's shim maps the same page again from SOCKFAULT_TREE_FD (the fd is inherited, not
 * close-on-exec; if the program closed it, the creator's through /proc), so the tree counts
 * on across exec as under the seccomp backend. When neither can be had (the creator is gone
 * too, memfd refused), a fresh page; without any mapping, the process's own counts. */
#define SF_TREE_BYTES (SF_MAX_RULES * sizeof(uint64_t))
#define SF_TREE_FD_MIN 600 /* above the log's (500): programs reusing low fds rarely meet it */
static _Atomic uint64_t *_Atomic sf_tree;
static _Atomic uint64_t sf_tree_local[SF_MAX_RULES];

/* The tree's page, if fd (ours, or pid's through /proc) is it; -1 if not. */
static int sf_tree_open(int pid, int fd)
{
  char path[48], link[64];
  for (int pass = 0; pass < 2; pass++) {
    snprintf(path, sizeof path, pass ? "/proc/%d/fd/%d" : "/proc/self/fd/%d",
             pass ? pid : fd, fd);
    ssize_t n = readlink(path, link, sizeof link - 1);
    link[n > 0 ? n : 0] = '\0';
    if (strncmp(link, "/memfd:sockfault-tree", 21) != 0)
      continue;
    if (pass == 0)
      return fd;
    int own = open(path, O_RDWR | O_CLOEXEC); /* the creator's: the program closed ours */
    if (own >= 0)
      return own;
  }
  return -1;
}

/* The page of the process that exec'd us, if SOCKFAULT_TREE_FD ("PID:FD", the process that
 * made it and its fd) names it: our inherited fd, or, when the program closed it (Python's
 * subprocess closes every fd), the creator's through /proc while it lives. */
static bool sf_tree_inherit(void)
{
  const char *v = getenv("SOCKFAULT_TREE_FD");
  long num[2] = {0, 0};
  int k = 0;
  for (const char *p = v; p && *p && k < 2; p++) {
    if (*p == ':')
      k++;
    else if (*p >= '0' && *p <= '9' && num[k] < (1 << 22))
      num[k] = num[k] * 10 + (*p - '0');
    else
      return false;
  }
  if (!v || k != 1 || num[0] <= 0 || num[1] <= 0 || num[1] >= (1 << 20))
    return false;
  int fd = sf_tree_open((int)num[0], (int)num[1]);
  struct stat st;
  void *m = MAP_FAILED;
  if (fd >= 0 && fstat(fd, &st) == 0 && st.st_size == (off_t)SF_TREE_BYTES)
    m = mmap(NULL, SF_TREE_BYTES, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (fd >= 0 && fd != (int)num[1])
    close(fd);
  if (m == MAP_FAILED)
    return false;
  atomic_store_explicit(&sf_tree, m, memory_order_release);
  return true;
}

static void sf_tree_create(void)
{
  static char env[48]; /* putenv keeps the string */
  void *m = MAP_FAILED;
  int fd = memfd_create("sockfault-tree", 0);
  if (fd >= 0) {
    int high = fcntl(fd, F_DUPFD, SF_TREE_FD_MIN);
    if (high >= 0) {
      close(fd);
      fd = high;
    }
    if (ftruncate(fd, (off_t)SF_TREE_BYTES) == 0)
      m = mmap(NULL, SF_TREE_BYTES, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (m != MAP_FAILED) {
      snprintf(env, sizeof env, "SOCKFAULT_TREE_FD=%d:%d", (int)getpid(), fd);
      putenv(env);
    } else {
      close(fd);
    }
  }
  if (m == MAP_FAILED) /* no memfd: shared with forked children only */
    m = mmap(NULL, SF_TREE_BYTES, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (m != MAP_FAILED)
    atomic_store_explicit(&sf_tree, m, memory_order_release);
}

void sf_tree_reset(bool wanted, bool start)
{
  int saved = errno;
  if (wanted && atomic_load_explicit(&sf_tree, memory_order_acquire) == NULL) {
    if (start && sf_tree_inherit()) {
      errno = saved;
      return; /* the tree's counts go on */
    }
    sf_tree_create();
  }
  _Atomic uint64_t *t = atomic_load_explicit(&sf_tree, memory_order_acquire);
  for (unsigned i = 0; i < SF_MAX_RULES; i++) {
    atomic_store_explicit(&sf_tree_local[i], 0, memory_order_relaxed);
    if (t)
      atomic_store_explicit(&t[i], 0, memory_order_relaxed);
  }
  errno = saved;
}

static uint64_t sf_shim_tree_count(struct sf_ctx *c, unsigned i)
{
  (void)c;
  _Atomic uint64_t *t = atomic_load_explicit(&sf_tree, memory_order_acquire);
  if (t == NULL)
    t = sf_tree_local;
  return atomic_fetch_add_explicit(&t[i], 1, memory_order_relaxed) + 1;
}

static const struct sf_ctx_ops sf_shim_ops = {
    .fd_kind = sf_shim_fd_kind,
    .fd_ports = sf_shim_fd_ports,
    .site_matches = sf_shim_site,
    .fd_flags = sf_shim_fd_flags,
    .fd_timeout = sf_shim_fd_timeout,
    .fd_ready = sf_shim_fd_ready,
    .interruptible = sf_shim_interruptible,
    .thread_count = sf_shim_thread_count,
    .tree_count = sf_shim_tree_count,
};

void sf_ctx_kind(struct sf_ctx *c) { sf_ctx_fill_kind(c, &sf_shim_ops); }
void sf_ctx_ports(struct sf_ctx *c) { sf_ctx_fill_ports(c, &sf_shim_ops); }
int sf_decide(struct sf_ctx *c, int *rule) { return sf_decide_rules(&sf_g.rs, c, &sf_shim_ops, rule); }
void sf_slot_freed(void) { sf_rulestate_slot_freed(&sf_g.rs); }

void sf_fake_sigpipe(struct sf_ctx *c, int err)
{
  if (sf_fake_sigpipe_due(c, &sf_shim_ops, err))
    (void)syscall(SYS_tgkill, getpid(), gettid(), SIGPIPE);
}
