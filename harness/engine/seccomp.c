/* The seccomp backend's supervisor (seccomp.h). */
#define _GNU_SOURCE
#include "seccomp.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <poll.h>
#include <signal.h>
#include <time.h>
#include <unistd.h>

#include "decide.h"
#include "logfmt.h"
#include "proc.h"
#include "seccomp_filter.h"
#include "seccomp_procs.h"
#include "seccomp_target.h"
#include "table.h"

/* Linux 6.6: wake the target on the supervisor's CPU at once (not in Debian 12's headers) */
#ifndef SECCOMP_IOCTL_NOTIF_SET_FLAGS
#define SECCOMP_IOCTL_NOTIF_SET_FLAGS SECCOMP_IOW(4, __u64)
#endif
#ifndef SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP
#define SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP (1UL << 0)
#endif

struct sf_sup {
  struct sf_sup_conf conf;
  struct sf_ruleset rules;
  uint64_t base_seed;
  struct sf_bpf filter; /* its trapped: the calls whose notifications are decided here */
  pid_t root;
  int listener;
  int log_fd;
  struct seccomp_notif *req;
  struct seccomp_notif_resp *resp;
  size_t req_size, resp_size;
  struct sf_procs procs; /* the processes and threads seen, their counts (seccomp_procs.c) */
  uint64_t tree[SF_MAX_RULES]; /* per=tree's counts (seccomp_target.c) */
  bool warned_uring;
  unsigned long long injected;
};

static void sf_log_start(void *arg, struct sf_proc *p, pid_t tid);

struct sf_sup *sf_sup_new(const struct sf_sup_conf *conf, char *err, size_t errlen)
{
  struct sf_sup *s = calloc(1, sizeof *s);
  if (!s) {
    snprintf(err, errlen, "out of memory");
    return NULL;
  }
  s->conf = *conf;
  if (conf->rules)
    s->rules = *conf->rules;
  s->conf.rules = &s->rules;
  s->listener = -1;
  s->log_fd = -1;
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  s->base_seed = ((uint64_t)ts.tv_sec << 32) ^ (uint64_t)ts.tv_nsec ^ ((uint64_t)getpid() << 16);
  sf_procs_init(&s->procs);
  s->procs.rules = &s->rules;
  s->procs.inherit = conf->inherit;
  s->procs.base_seed = s->base_seed;
  s->procs.on_new = sf_log_start;
  s->procs.arg = s;
  for (unsigned i = 0; i < s->rules.n; i++)
    s->procs.per_thread |= s->rules.rule[i].per_thread;
  if (sf_filter_build(&s->filter, &s->rules, conf->log != NULL, conf->log_all, conf->inherit) != 0) {
    snprintf(err, errlen, "seccomp: the filter for these rules is too long");
    free(s);
    return NULL;
  }
  struct seccomp_notif_sizes sz;
  if (syscall(SYS_seccomp, SECCOMP_GET_NOTIF_SIZES, 0, &sz) != 0) {
    snprintf(err, errlen, "seccomp user notification is not available here: %s",
             strerror(errno));
    free(s);
    return NULL;
  }
  s->req_size = sz.seccomp_notif > sizeof *s->req ? sz.seccomp_notif : sizeof *s->req;
  s->resp_size = sz.seccomp_notif_resp > sizeof *s->resp ? sz.seccomp_notif_resp : sizeof *s->resp;
  s->req = calloc(1, s->req_size);
  s->resp = calloc(1, s->resp_size);
  if (conf->log) {
    s->log_fd = open(conf->log, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (s->log_fd < 0)
      snprintf(err, errlen, "%s: %s", conf->log, strerror(errno));
  }
  if (!s->req || !s->resp || (conf->log && s->log_fd < 0)) {
    if (!s->req || !s->resp)
      snprintf(err, errlen, "out of memory");
    sf_sup_free(s);
    return NULL;
  }
  return s;
}

int sf_sup_install(const struct sf_sup *s)
{
  struct sock_fprog prog = {.len = s->filter.ninsn, .filter = (struct sock_filter *)s->filter.insn};
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
    return -1;
  /* WAIT_KILLABLE_RECV (Linux 5.19): once we have read a call, a signal no longer interrupts
   * it (a SIGTERM handler without SA_RESTART would otherwise see a trapped close fail with
   * EINTR, the fd still open, where the real close cannot be interrupted) */
  int fd = (int)syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER,
                        SECCOMP_FILTER_FLAG_NEW_LISTENER | SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV,
                        &prog);
  if (fd < 0 && errno == EINVAL)
    fd = (int)syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_NEW_LISTENER,
                      &prog);
  return fd;
}

void sf_sup_attach(struct sf_sup *s, pid_t pid, int listener)
{
  s->root = pid;
  s->procs.root = pid;
  s->listener = listener;
  /* each trapped call is a round trip between two tasks: a synchronous wake-up keeps them on
   * one CPU (a kernel without it refuses; the calls are answered all the same) */
  (void)ioctl(listener, SECCOMP_IOCTL_NOTIF_SET_FLAGS, SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP);
}

int sf_sup_fd(const struct sf_sup *s) { return s->listener; }

unsigned long long sf_sup_injected(const struct sf_sup *s) { return s->injected; }

/* --- the log ---------------------------------------------------------------------------------- */

static void sf_log_write(struct sf_sup *s, const char *b, size_t n)
{
  while (s->log_fd >= 0 && n > 0) {
    ssize_t w = write(s->log_fd, b, n);
    if (w < 0 && errno == EINTR)
      continue;
    if (w <= 0)
      return;
    b += w;
    n -= (size_t)w;
  }
}

static void sf_log_start(void *arg, struct sf_proc *p, pid_t tid)
{
  struct sf_sup *s = arg;
  if (s->log_fd < 0)
    return;
  char path[64], exe[256], extra[900], rec[SF_LOG_RECORD_MAX];
  snprintf(path, sizeof path, "/proc/%d/exe", (int)p->tgid);
  ssize_t n = readlink(path, exe, sizeof exe - 1);
  exe[n > 0 ? n : 0] = '\0';
  const pid_t ppid = sf_proc_ppid(p->tgid);
  sf_logfmt_start(extra, sizeof extra, ppid > 0 ? ppid : 0, exe, &p->rs);
  sf_log_write(s, rec, sf_logfmt_event(p->tgid, tid, "start", extra, rec));
}

/* Sockets open in a process, from /proc/PID/fd (the shim's exit record counts the same). */
static int sf_count_sockets(pid_t tgid)
{
  char path[64], link[64], target[64];
  snprintf(path, sizeof path, "/proc/%d/fd", (int)tgid);
  int dfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd < 0)
    return -1;
  int count = 0;
  char buf[4096];
  for (int rounds = 0; rounds < 100000; rounds++) {
    long n = syscall(SYS_getdents64, dfd, buf, sizeof buf);
    if (n <= 0)
      break;
    for (long off = 0; off < n;) {
      const char *name = buf + off + 19; /* d_name in struct linux_dirent64 */
      unsigned short reclen;
      memcpy(&reclen, buf + off + 16, sizeof reclen);
      off += reclen;
      if (name[0] < '0' || name[0] > '9')
        continue;
      snprintf(link, sizeof link, "%s", name);
      ssize_t l = readlinkat(dfd, link, target, sizeof target - 1);
      if (l > 7 && memcmp(target, "socket:", 7) == 0)
        count++;

    }
  }
  close(dfd);
  return count;
}


static int sf_respond(struct sf_sup *s, long val, int err, bool cont)
{
  memset(s->resp, 0, s->resp_size);
  s->resp->id = s->req->id;
  s->resp->val = val;
  s->resp->error = err ? -err : 0;
  s->resp->flags = cont ? SECCOMP_USER_NOTIF_FLAG_CONTINUE : 0;
  int rc;
  do /* a signal to us (run's SIGCHLD, its timer) must not lose the answer */
    rc = ioctl(s->listener, SECCOMP_IOCTL_NOTIF_SEND, s->resp);
  while (rc != 0 && errno == EINTR);
  if (rc != 0 && errno != ENOENT)
    return -1; /* ENOENT: the call was interrupted (a signal, the target killed) */
  return 0;
}

/* Linux releases the fd even when close fails, and the shim's injected close closes too: here
 * the socket is released by putting /dev/null in its place in the target (ADDFD with SETFD);
 * the number stays taken, as no call frees a number in another process. */
static void sf_close_anyway(struct sf_sup *s, int fd)
{
  int null = open("/dev/null", O_RDWR | O_CLOEXEC);
  if (null < 0)
    return;
  struct seccomp_notif_addfd add = {.id = s->req->id, .flags = SECCOMP_ADDFD_FLAG_SETFD,
                                    .srcfd = (__u32)null, .newfd = (__u32)fd};
  while (ioctl(s->listener, SECCOMP_IOCTL_NOTIF_ADDFD, &add) < 0 && errno == EINTR)
    ;
  close(null);
}

/* Process p ends (exit_group, or its only thread's exit): its exit record, its counts
 * handed to the children it leaves behind, its entry dropped. */
static void sf_on_exit(struct sf_sup *s, struct sf_proc *p, pid_t tid)
{
  if (!p)
    return;
  if (s->log_fd >= 0) {
    char extra[200], rec[SF_LOG_RECORD_MAX];
    snprintf(extra, sizeof extra, "\"sockets\":%d,\"injected\":%llu", sf_count_sockets(p->tgid),
             (unsigned long long)atomic_load(&p->rs.injected));
    sf_log_write(s, rec, sf_logfmt_event(p->tgid, tid, "exit", extra, rec));
  }
  sf_procs_adopt_children(&s->procs, p);
  sf_procs_drop(&s->procs, p);
}

int sf_sup_handle(struct sf_sup *s)
{
  memset(s->req, 0, s->req_size);
  if (ioctl(s->listener, SECCOMP_IOCTL_NOTIF_RECV, s->req) != 0) {
    if (errno == EINTR || errno == ENOENT)
      return 0; /* interrupted, or the target went away before we read it */
    return -1;
  }
  const int nr = s->req->data.nr;
  if (nr == SYS_exit_group) {
    const pid_t tid = (pid_t)s->req->pid;
    sf_on_exit(s, sf_procs_at_exit(&s->procs, tid, s->log_fd >= 0), tid);
    return sf_respond(s, 0, 0, true);
  }
  if (nr == SYS_exit) { /* one thread ends: its tid is forgotten (seccomp_procs.c) */
    struct sf_proc *last;
    sf_procs_thread_exit(&s->procs, (pid_t)s->req->pid, &last);
    sf_on_exit(s, last, (pid_t)s->req->pid);
    return sf_respond(s, 0, 0, true);
  }
  if (nr == SYS_io_uring_setup) {
    if (!s->warned_uring)
      fprintf(stderr, "sockfault: warning: process %d sets up io_uring: socket operations "
                      "submitted through it are out of reach of the seccomp backend\n",
              (int)s->req->pid);
    s->warned_uring = true;
    return sf_respond(s, 0, 0, true);
  }
  const __u64 *a = s->req->data.args;
  const int call = sf_sys_call(nr, a);
  const pid_t tid = (pid_t)s->req->pid;
  /* a call on a socket fd checks its entry by taking the fd (below), not by a poll */
  const bool sockfd = call >= 0 && sf_calls[call].ctx == SF_CTX_SOCKFD;
  struct sf_proc *p = call >= 0 && (s->filter.trapped & SF_CALL_BIT(call))
                         ? sf_procs_of(&s->procs, tid, !sockfd) : NULL;
  if (!p)
    return sf_respond(s, 0, 0, true); /* trapped for another call sharing its system call */
  struct sf_target t = {.listener = s->listener, .req = s->req, .tgid = p->tgid, .pidfd = p->pidfd,
                       .tids = s->procs.tids, .ntids = s->procs.ntids, .tree = s->tree, .dup = -1};
  struct sf_ctx c = {.call = call, .fd = -1, .family = -1, .type = -1, .port = -1, .peer = -1,
                     .site = (const void *)(uintptr_t)s->req->data.instruction_pointer,
                     .backend = &t};
  struct sockaddr_storage ss;
  switch (sf_calls[call].ctx) {
  case SF_CTX_NEW:
    c.family = (int)a[0];
    c.type = (int)a[1] & 0xf;
    break;
  case SF_CTX_ADDR:
    c.fd = (int)a[0];
    sf_read_addr(&c, &ss);
    break;
  case SF_CTX_FD:
  case SF_CTX_SOCKFD:
    c.fd = (int)a[0];
    break;
  }
  c.flags = sf_msg_flags(call, a);
  /* the fd not had: no such fd, or the entry's process is gone and the tid another's now */
  if (sockfd && sf_target_fd(&c) < 0 && sf_procs_gone(&s->procs, p)) {
    if (!(p = sf_procs_of(&s->procs, tid, true)))
      return sf_respond(s, 0, 0, true);
    t.tgid = p->tgid, t.pidfd = p->pidfd, t.tids = s->procs.tids, t.ntids = s->procs.ntids;
    t.dup = -1;
  }
  struct stat st;
  if (sf_calls[call].ctx == SF_CTX_SOCKFD &&
      (sf_target_fd(&c) < 0 || fstat(t.dup, &st) != 0 || !S_ISSOCK(st.st_mode))) {
    if (t.dup >= 0)
      close(t.dup);
    return sf_respond(s, 0, 0, true); /* not a socket: not intercepted, as in the shim */
  }
  const bool logging = s->log_fd >= 0;
  const uint64_t n = ++p->seen[call];
  if (logging && s->conf.log_all) {
    sf_ctx_fill_kind(&c, &sf_sup_ops);
    sf_ctx_fill_ports(&c, &sf_sup_ops);
  }
  int rule = -1;
  int inject = sf_decide_rules(&p->rs, &c, &sf_sup_ops, &rule);
  struct sf_logrec rec = {.pid = p->tgid, .tid = s->req->pid, .ctx = &c, .n = n, .rule = rule,
                          .fired = sf_logfmt_fired(&p->rs, rule)};
  long val = 0;
  bool cont = true;
  if (inject && c.start_real)
    inject = sf_sup_start_connect(&c, (socklen_t)a[2], inject);
  if (inject) {
    s->injected++;
    if (call == SF_ID_close)
      sf_close_anyway(s, c.fd);
    sf_sup_sigpipe(&c, inject);
    rec.have_ret = true;
    rec.ret = (long)sf_calls[call].fail;
    rec.err = inject;
    cont = false;
  } else if (sf_calls[call].kind & SF_K_CLOSEFD) {
    sf_rulestate_slot_freed(&p->rs); /* its result is not seen: taken as a success */
  } else if (call == SF_ID_listen && sf_target_fd(&c) >= 0) {
    /* listen is done here, on the target's own socket, so that its result is known (the log
     * says when a server is ready); every other call continues unseen */
    rec.have_ret = true;
    rec.ret = listen(t.dup, (int)a[1]);
    rec.err = rec.ret < 0 ? errno : 0;
    val = rec.ret;
    inject = rec.err;
    cont = false;
  }
  if (logging && (s->conf.log_all || rule >= 0) && !(rule >= 0 && c.quiet)) {
    if (!s->conf.log_all) {
      sf_ctx_fill_kind(&c, &sf_sup_ops);
      sf_ctx_fill_ports(&c, &sf_sup_ops);
    }
    char buf[SF_LOG_RECORD_MAX];
    rec.site = sf_sup_site(&c);
    sf_log_write(s, buf, sf_logfmt_call(&rec, buf));
  }
  /* our copy of the socket goes before the answer: a close must leave no reference behind */
  if (t.dup >= 0)
    close(t.dup);
  return sf_respond(s, val, cont ? 0 : inject, cont);
}

static volatile sig_atomic_t sf_sup_chld;
static void sf_sup_on_chld(int sig) { (void)sig, sf_sup_chld = 1; } /* SIGCHLD, SIGALRM */

int sf_sup_serve(struct sf_sup *s, pid_t pid, int *status)
{
  /* The supervisor sleeps in SECCOMP_IOCTL_NOTIF_RECV itself: no poll before each trapped
   * call, whose system calls were a third of the supervisor's cost per call. A child's end
   * (SIGCHLD) interrupts the wait; so does a 200 ms interval timer, for a SIGCHLD that came
   * just before the wait began and for a listener no process holds any more (its waiters are
   * not woken). Neither handler restarts (EINTR), and answers retry on EINTR (sf_respond). */
  struct sigaction sa = {.sa_handler = sf_sup_on_chld, .sa_flags = SA_NOCLDSTOP}, old_chld,
                   old_alrm;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGCHLD, &sa, &old_chld);
  sa.sa_flags = 0;
  sigaction(SIGALRM, &sa, &old_alrm);
  sigset_t both, old_mask;
  sigemptyset(&both);
  sigaddset(&both, SIGCHLD);
  sigaddset(&both, SIGALRM);
  sigprocmask(SIG_UNBLOCK, &both, &old_mask);
  const struct itimerval tick = {{0, 200 * 1000}, {0, 200 * 1000}};
  struct itimerval old_timer;
  setitimer(ITIMER_REAL, &tick, &old_timer);
  bool root_done = false;
  int rc = 0;
  sf_sup_chld = 1;
  for (;;) {
    if (sf_sup_chld) {
      sf_sup_chld = 0;
      int st;
      pid_t w;
      while ((w = waitpid(-1, &st, WNOHANG)) > 0)
        if (w == pid) {
          *status = st;
          root_done = true;
        }
      if (w < 0 && errno == ECHILD) {
        rc = root_done ? 0 : -1; /* nobody left who has the filter */
        break;
      }
    }
    if (s->listener < 0) {
      pause(); /* only the reaping is left: the next SIGCHLD or tick */
      continue;
    }
    if (sf_sup_handle(s) != 0) { /* waits in RECV; 0 when interrupted */
      rc = -1;
      break;
    }
  }
  setitimer(ITIMER_REAL, &old_timer, NULL);
  sigaction(SIGALRM, &old_alrm, NULL);
  sigaction(SIGCHLD, &old_chld, NULL);
  sigprocmask(SIG_SETMASK, &old_mask, NULL);
  return rc;
}

void sf_sup_drain(struct sf_sup *s)
{
  for (int i = 0; i < 256 && s->listener >= 0; i++) {
    struct pollfd pf = {.fd = s->listener, .events = POLLIN};
    if (poll(&pf, 1, 0) != 1 || !(pf.revents & POLLIN) || sf_sup_handle(s) != 0)
      return;
  }
}

void sf_sup_close(struct sf_sup *s)
{
  if (s->listener >= 0)
    close(s->listener);
  s->listener = -1;
}

void sf_sup_free(struct sf_sup *s)
{
  if (!s)
    return;
  if (s->listener >= 0)
    close(s->listener);
  if (s->log_fd >= 0)
    close(s->log_fd);
  sf_procs_free(&s->procs);
  free(s->req);
  free(s->resp);
  free(s);
}
