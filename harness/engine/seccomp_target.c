/* The seccomp supervisor's answers to what a decision asks of a trapped call (decide.h's
 * ops): the target's socket through our own copy of it, its memory, its /proc entries; and
 * the faithful fakes' actions on the target (seccomp_target.h). */
#define _GNU_SOURCE
#include "seccomp_target.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <unistd.h>

int sf_target_fd(struct sf_ctx *c)
{
  struct sf_target *t = c->backend;
  if (t->dup == -1) {
    t->dup = t->pidfd >= 0 ? (int)syscall(SYS_pidfd_getfd, t->pidfd, c->fd, 0) : -1;
    /* the pid may have been reused since the notification: a fd of another process is
     * never looked at */
    if (t->dup >= 0 && ioctl(t->listener, SECCOMP_IOCTL_NOTIF_ID_VALID, &t->req->id) != 0) {
      close(t->dup);
      t->dup = -1;
    }
    if (t->dup < 0)
      t->dup = -2;
  }
  return t->dup;
}

static int sf_sup_fd_kind(struct sf_ctx *c, int *family, int *type)
{
  int fd = sf_target_fd(c);
  socklen_t l = sizeof *family;
  if (fd < 0 || getsockopt(fd, SOL_SOCKET, SO_DOMAIN, family, &l) != 0)
    return 0;
  l = sizeof *type;
  return getsockopt(fd, SOL_SOCKET, SO_TYPE, type, &l) == 0;
}

static void sf_sup_fd_ports(struct sf_ctx *c, bool want_port, bool want_peer, int *port,
                            int *peer)
{
  int fd = sf_target_fd(c);
  struct sockaddr_storage ss;
  socklen_t l = sizeof ss;
  if (fd >= 0 && want_port && getsockname(fd, (struct sockaddr *)&ss, &l) == 0)
    *port = sf_sockaddr_port((struct sockaddr *)&ss);
  l = sizeof ss;
  if (fd >= 0 && want_peer && getpeername(fd, (struct sockaddr *)&ss, &l) == 0)
    *peer = sf_sockaddr_port((struct sockaddr *)&ss);
}

/* MODULE+0xOFFSET of the instruction pointer, from /proc/PID/maps: the offset from the
 * module's first mapping, as dladdr gives the shim. */
const char *sf_sup_site(struct sf_ctx *c)
{
  struct sf_target *t = c->backend;
  if (t->have_site)
    return t->site;
  t->have_site = true;
  snprintf(t->site, sizeof t->site, "?+0x%llx", (unsigned long long)(uintptr_t)c->site);
  char path[64];
  snprintf(path, sizeof path, "/proc/%d/maps", (int)t->tgid);
  FILE *f = fopen(path, "re");
  if (!f)
    return t->site;
  char line[512], base_mod[256] = "";
  unsigned long long base = 0, ip = (uintptr_t)c->site;
  while (fgets(line, sizeof line, f)) {
    unsigned long long lo, hi, off;
    int pathpos = 0;
    if (sscanf(line, "%llx-%llx %*s %llx %*s %*s %n", &lo, &hi, &off, &pathpos) < 3 || !pathpos)
      continue;
    char *mod = line + pathpos;
    mod[strcspn(mod, "\n")] = '\0';
    if (mod[0] != '/')
      continue;
    if (strcmp(mod, base_mod) != 0) { /* a module's first mapping is its load base */
      snprintf(base_mod, sizeof base_mod, "%s", mod);
      base = lo - off;
    }
    if (ip >= lo && ip < hi) {
      const char *slash = strrchr(mod, '/');
      snprintf(t->site, sizeof t->site, "%s+0x%llx", slash ? slash + 1 : mod, ip - base);
      break;
    }
  }
  fclose(f);
  return t->site;
}

static int sf_sup_site_matches(struct sf_ctx *c, const char *site)
{
  return strcmp(sf_sup_site(c), site) == 0;
}

/* The socket's state, for the faithfulness checks (decide.c), from our copy of it: the same
 * open file description, so its O_NONBLOCK, its timeouts and what is queued are the target's. */
static int sf_sup_fd_flags(struct sf_ctx *c)
{
  int fd = sf_target_fd(c);
  return fd >= 0 ? fcntl(fd, F_GETFL) : -1;
}

static bool sf_sup_fd_timeout(struct sf_ctx *c, int opt)
{
  int fd = sf_target_fd(c);
  struct timeval tv = {0, 0};
  socklen_t l = sizeof tv;
  return fd >= 0 && getsockopt(fd, SOL_SOCKET, opt, &tv, &l) == 0 &&
         (tv.tv_sec != 0 || tv.tv_usec != 0);
}

static bool sf_sup_fd_ready(struct sf_ctx *c, short events)
{
  int fd = sf_target_fd(c);
  struct pollfd p = {.fd = fd, .events = events};
  return fd >= 0 && poll(&p, 1, 0) == 1 && (p.revents & (events | POLLERR | POLLHUP));
}

/* A caught signal could interrupt the call. Whether its handler has SA_RESTART cannot be seen
 * from another process (/proc shows only which signals are caught: SigCgt), so every caught
 * signal counts, the synchronous ones (a thread's own faults) excepted: a wider view than the
 * shim's, documented in docs/faithful.md. */
static bool sf_sup_interruptible(struct sf_ctx *c)
{
  struct sf_target *t = c->backend;
  char path[64], buf[2048];
  snprintf(path, sizeof path, "/proc/%d/status", (int)t->req->pid);
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return false;
  ssize_t n = read(fd, buf, sizeof buf - 1);
  close(fd);
  buf[n > 0 ? n : 0] = '\0';
  const char *cgt = strstr(buf, "\nSigCgt:");
  if (!cgt)
    return false;
  unsigned long long mask = strtoull(cgt + 8, NULL, 16);
  static const int sync_sigs[] = {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGTRAP, SIGSYS};
  for (size_t i = 0; i < sizeof sync_sigs / sizeof sync_sigs[0]; i++)
    mask &= ~(1ULL << (sync_sigs[i] - 1));
  return mask != 0;
}

/* per=thread: the thread's counts, kept with its tid (a thread forgotten when the table of
 * tids is full starts counting afresh). */
static uint64_t sf_sup_thread_count(struct sf_ctx *c, const struct sf_rulestate *st, unsigned i)
{
  struct sf_target *t = c->backend;
  const uint64_t gen = atomic_load_explicit(&st->gen, memory_order_relaxed) + 1;
  for (unsigned k = 0; k < t->ntids; k++) {
    struct sf_tid *e = &t->tids[k];
    if (e->tid != (pid_t)t->req->pid)
      continue;
    if (e->gen != gen) {
      memset(e->count, 0, sizeof e->count);
      e->gen = gen;
    }
    return ++e->count[i];
  }
  return 1;
}

/* per=tree: every process the supervisor serves descends from the one it started, so the
 * tree's count is one count for all of them (exec'd programs included). */
static uint64_t sf_sup_tree_count(struct sf_ctx *c, unsigned i)
{
  struct sf_target *t = c->backend;
  return ++t->tree[i];
}

const struct sf_ctx_ops sf_sup_ops = {
    .fd_kind = sf_sup_fd_kind,
    .fd_ports = sf_sup_fd_ports,
    .site_matches = sf_sup_site_matches,
    .fd_flags = sf_sup_fd_flags,
    .fd_timeout = sf_sup_fd_timeout,
    .fd_ready = sf_sup_fd_ready,
    .interruptible = sf_sup_interruptible,
    .thread_count = sf_sup_thread_count,
    .tree_count = sf_sup_tree_count,
};

/* A connect the kernel would have started before answering EINPROGRESS or EINTR: started here,
 * non-blocking, on the target's own socket. The errno to answer: the fake's, or the real one
 * when the connect failed at once. (An AF_UNIX peer would see our credentials in SO_PEERCRED:
 * docs/faithful.md.) */
int sf_sup_start_connect(struct sf_ctx *c, socklen_t len, int inject)
{
  int fd = sf_target_fd(c);
  if (fd < 0 || c->addr == NULL)
    return inject;
  int fl = sf_start_begin(fd);
  int rc = connect(fd, c->addr, len);
  return sf_start_end(fd, fl, rc, rc == 0 ? 0 : errno, inject);
}

/* The kernel's SIGPIPE with an EPIPE from a send on a stream socket without MSG_NOSIGNAL: to
 * the calling thread, pending when it returns from the call. */
void sf_sup_sigpipe(struct sf_ctx *c, int err)
{
  const struct sf_target *t = c->backend;
  if (sf_fake_sigpipe_due(c, &sf_sup_ops, err))
    (void)syscall(SYS_tgkill, t->tgid, (pid_t)t->req->pid, SIGPIPE);
}

/* The MSG_* flags argument of the send and receive calls (the shim's wrappers take them the
 * same way), else 0. */
int sf_msg_flags(int call, const __u64 *a)
{
  switch (call) {
  case SF_ID_send:
  case SF_ID_sendto:
  case SF_ID_recv:
  case SF_ID_recvfrom:
    return (int)a[3];
  case SF_ID_sendmsg:
  case SF_ID_recvmsg:
    return (int)a[2];
  default:
    return 0;
  }
}

/* The address a call names, read from the target (bind, connect: 2nd argument; sendto: 5th). */
void sf_read_addr(struct sf_ctx *c, struct sockaddr_storage *ss)
{
  const struct sf_target *t = c->backend;
  const __u64 *a = t->req->data.args;
  uint64_t ptr = 0, len = 0;
  if (c->call == SF_ID_bind || c->call == SF_ID_connect)
    ptr = a[1], len = a[2];
  else if (c->call == SF_ID_sendto)
    ptr = a[4], len = a[5];
  if (ptr == 0 || len < sizeof(sa_family_t))
    return;
  if (len > sizeof *ss)
    len = sizeof *ss;
  memset(ss, 0, sizeof *ss);
  struct iovec local = {ss, (size_t)len}, remote = {(void *)(uintptr_t)ptr, (size_t)len};
  if (process_vm_readv((pid_t)t->req->pid, &local, 1, &remote, 1, 0) != (ssize_t)len)
    return;
  /* read from the right process only if the notification still stands (pid reuse) */
  if (ioctl(t->listener, SECCOMP_IOCTL_NOTIF_ID_VALID, &t->req->id) != 0)
    return;
  c->addr = (const struct sockaddr *)ss;
}