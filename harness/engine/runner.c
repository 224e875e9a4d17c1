/* The run pool (runner.h): one state machine per running program (run_active.h), one poll
 * loop for all. */
#define _GNU_SOURCE
#include "runner.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cgroup.h"
#include "clock.h"
#include "fs.h"
#include "proc.h"
#include "reap.h"
#include "run_active.h"
#include "seccomp.h"
#include "slot.h"

#define SF_NPROC_CAP 4096     /* RLIMIT_NPROC for the programs (binds only non-root users) */

static int sf_chld_pipe[2] = {-1, -1};

static void sf_on_chld(int sig)
{
  (void)sig;
  int e = errno;
  (void)!write(sf_chld_pipe[1], "x", 1);
  errno = e;
}

static long long sf_wait_ms(const struct sf_active *act, unsigned n, long long now)
{
  long long w = 200;
  for (unsigned i = 0; i < n; i++) {
    const struct sf_active *a = &act[i];
    if (!a->used)
      continue;
    if (a->st == SF_S_WAIT_READY || a->st == SF_S_SAMPLE ||
        (a->main_done && a->st != SF_S_PEER))
      w = w < 2 ? w : 2; /* the log is tailed by polling the file */
    if (a->spec->window_ms > 0 && w > 10)
      w = 10; /* a sustained fault's window is timed from the log */
    long long d = a->deadline - now;
    if (d < w)
      w = d;
    if (a->st != SF_S_RUN && a->st != SF_S_WAIT_READY && a->st != SF_S_CHECK && w > 20)
      w = 20;
  }
  return w < 0 ? 0 : w;
}

static void sf_reap(struct sf_active *act, unsigned n)
{
  for (int rounds = 0; rounds < 100000; rounds++) {
    int st;
    struct rusage ru;
    pid_t p = wait4(-1, &st, WNOHANG, &ru);
    if (p <= 0)
      return;
    for (unsigned i = 0; i < n; i++) {
      struct sf_active *a = &act[i];
      if (!a->used)
        continue;
      if (p == a->pid) {
        a->main_done = true;
        a->wstatus = st;
        a->ru = ru;
      } else if (p == a->check_pid) {
        a->check_done = true;
        a->check_wstatus = st;
      } else if (p == a->peer_pid && !a->peer_done) {
        a->peer_done = true;
        a->peer_wstatus = st;
      }
    }
    /* anything else is an orphan handed to us as subreaper: reaped, forgotten */
  }
}

void sf_runres_free(struct sf_runres *r)
{
  free(r->stderr_tail);
  free(r->stdout_tail);
  free(r->calls);
  r->stderr_tail = r->stdout_tail = NULL;
  r->calls = NULL;
}

/* A run waiting out a sustained fault's window mostly sleeps (a program that spins in it is
 * a finding): it does not count against --jobs, so the window overlaps other runs — when
 * each run has a port of its own ({port}); runs that share one go one at a time. */
static unsigned sf_counted(const struct sf_active *act, unsigned cap)
{
  unsigned k = 0;
  for (unsigned i = 0; i < cap; i++)
    k += act[i].used &&
         !(act[i].win_t && !act[i].res->lifted && sf_run_needs_port(act[i].spec));
  return k;
}

int sf_pool_run(struct sf_pool *pool, const struct sf_runspec *specs, struct sf_runres *res,
                size_t n)
{
  const unsigned jobs =
      pool->jobs < 1 ? 1 : pool->jobs > SF_MAX_JOBS ? SF_MAX_JOBS : pool->jobs;
  const unsigned cap = 2 * jobs; /* runs at once: jobs, and as many in a window */
  /* the runs with a window first, so that their windows overlap the others' runs */
  size_t *order = malloc((n ? n : 1) * sizeof *order), k0 = 0;
  for (size_t i = 0; order && i < n; i++)
    if (specs[i].window_ms > 0)
      order[k0++] = i;
  for (size_t i = 0; order && i < n; i++)
    if (specs[i].window_ms <= 0)
      order[k0++] = i;
  prctl(PR_SET_CHILD_SUBREAPER, 1);
  struct sf_reaper rp;
  sf_reaper_open(&rp); /* first: it makes sure fds 0-2 are taken */
  struct sf_active *act = calloc(cap, sizeof *act);
  struct sf_slot *slots = calloc(cap, sizeof *slots);
  if (!order || !act || !slots || pipe2(sf_chld_pipe, O_CLOEXEC | O_NONBLOCK) != 0) {
    free(order);
    free(act);
    free(slots);
    sf_reaper_close(&rp);
    return -1;
  }
  for (unsigned i = 0; i < cap; i++)
    sf_cg_slot_init(&slots[i].cg);
  struct sigaction sa = {.sa_handler = sf_on_chld, .sa_flags = SA_RESTART | SA_NOCLDSTOP}, old;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGCHLD, &sa, &old);
  struct rlimit nproc;
  const struct rlimit *np = NULL;
  if (getrlimit(RLIMIT_NPROC, &nproc) == 0) {
    if (nproc.rlim_cur == RLIM_INFINITY || nproc.rlim_cur > SF_NPROC_CAP)
      nproc.rlim_cur = nproc.rlim_max < SF_NPROC_CAP ? nproc.rlim_max : SF_NPROC_CAP;
    np = &nproc;
  }
  for (size_t i = 0; i < n; i++)
    memset(&res[i], 0, sizeof res[i]), res[i].sockets = -1, res[i].avail_check = -1,
    res[i].window_cpu = -1, res[i].window_rate = res[i].recover_ms = -1, res[i].hit = -1,
    res[i].peer_status = -1;
  size_t next = 0, done = 0;
  unsigned nactive = 0;
  int rc = 0;
  struct pollfd *pfd = calloc(3 * cap + 1, sizeof *pfd);
  struct sf_active **owner = calloc(3 * cap + 1, sizeof *owner);
  if (!pfd || !owner)
    rc = -1;
  while (rc == 0 || nactive > 0) {
    int stopping = (pool->stop && *pool->stop) || rc != 0;
    while (!stopping && nactive < cap && sf_counted(act, cap) < jobs && next < n) {
      unsigned slot = 0;
      while (act[slot].used)
        slot++;
      struct sf_active *a = &act[slot];
      memset(a, 0, sizeof *a);
      a->used = true;
      a->slot = &slots[slot];
      a->idx = order[next];
      a->spec = &specs[a->idx];
      a->res = &res[a->idx];
      next++;
      if (sf_run_start(pool, a, act, cap, np, &rp) != 0) {
        a->res->spawn_failed = true;
        a->used = false;
        done++;
        if (pool->progress)
          pool->progress(pool->ctx, done, n, a->res, a->idx);
        continue;
      }
      nactive++;
    }
    if (nactive == 0)
      break;
    if (stopping)
      for (unsigned i = 0; i < cap; i++)
        if (act[i].used && act[i].st != SF_S_KILLING && act[i].st != SF_S_KILLED) {
          sf_kill_group(act[i].pid, SIGKILL);
          if (act[i].check_pid > 0)
            sf_kill_group(act[i].check_pid, SIGKILL);
          sf_run_set_state(&act[i], SF_S_KILLED, sf_now_ms());
        }
    nfds_t k = 0;
    pfd[k++] = (struct pollfd){.fd = sf_chld_pipe[0], .events = POLLIN};
    for (unsigned i = 0; i < cap; i++) {
      if (!act[i].used)
        continue;
      owner[k] = &act[i];
      pfd[k++] = (struct pollfd){.fd = act[i].out_fd, .events = POLLIN};
      owner[k] = &act[i];
      pfd[k++] = (struct pollfd){.fd = act[i].err_fd, .events = POLLIN};
      if (act[i].sup && sf_sup_fd(act[i].sup) >= 0) {
        owner[k] = &act[i];
        pfd[k++] = (struct pollfd){.fd = sf_sup_fd(act[i].sup), .events = POLLIN};
      }
    }
    long long now = sf_now_ms();
    long long wait = sf_wait_ms(act, cap, now);
    if (rp.ndying && wait > 5)
      wait = 5; /* killed processes die within milliseconds: their group goes soon */
    int pr = poll(pfd, k, (int)wait);
    if (pr < 0 && errno != EINTR) {
      rc = -1;
      continue;
    }
    char drain[64];
    while (read(sf_chld_pipe[0], drain, sizeof drain) > 0) {
    }
    for (nfds_t i = 1; i < k; i++)
      if (pfd[i].revents && owner[i]->sup && pfd[i].fd == sf_sup_fd(owner[i]->sup)) {
        /* a trapped call waits: answered now; a hang-up (no process has the filter any
         * more) takes the listener out of the poll set */
        if ((pfd[i].revents & POLLIN) ? sf_sup_handle(owner[i]->sup) != 0
                                      : (pfd[i].revents & (POLLHUP | POLLERR)) != 0)
          sf_sup_close(owner[i]->sup);
      } else if (pfd[i].revents) {
        struct sf_active *a = owner[i];
        int *fd = pfd[i].fd == a->out_fd ? &a->out_fd : &a->err_fd;
        if (sf_capture_read(fd == &a->out_fd ? &a->out : &a->err, *fd) == 1) {
          close(*fd); /* EOF: out of the poll set, or POLLHUP would spin us */
          *fd = -1;
        }
      }
    sf_reap(act, cap);
    if (rp.ndying)
      sf_reaper_poll(&rp);
    now = sf_now_ms();
    for (unsigned i = 0; i < cap; i++) {
      if (!act[i].used)
        continue;
      size_t idx = act[i].idx;
      if (sf_run_step(&act[i], now, act, cap, &rp)) {
        nactive--;
        done++;
        if (pool->progress)
          pool->progress(pool->ctx, done, n, &res[idx], idx);
      }
    }
  }
  for (size_t i = next; i < n; i++) {
    res[order[i]].spawn_failed = true;
    snprintf(res[order[i]].spawn_err, sizeof res[order[i]].spawn_err, "not run: interrupted");
  }
  free(order);
  sigaction(SIGCHLD, &old, NULL);
  close(sf_chld_pipe[0]);
  close(sf_chld_pipe[1]);
  sf_chld_pipe[0] = sf_chld_pipe[1] = -1;
  for (unsigned i = 0; i < cap; i++) {
    if (slots[i].dir[0])
      sf_rmtree(slots[i].dir);
    sf_reaper_slot_close(&rp, &slots[i].cg);
  }
  free(slots);
  sf_reaper_close(&rp);
  free(pfd);
  free(owner);
  free(act);
  if (pool->stop && *pool->stop)
    return -1;
  return rc;
}
