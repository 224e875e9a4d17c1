/* The run pool (runner.h): one state machine per running program, one poll loop for all. */
#define _GNU_SOURCE
#include "runner.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "capture.h"
#include "clock.h"
#include "fs.h"
#include "seccomp.h"
#include "launch.h"
#include "listening.h"
#include "peer.h"
#include "proc.h"
#include "reap.h"
#include "report.h"
#include "slot.h"
#include "text.h"

#define SF_MAX_JOBS 256
#define SF_SAMPLE_MS 300      /* CPU sampling window for a server that stopped serving */
#define SF_KILL_GRACE_MS 500  /* SIGTERM to the group, then SIGKILL after this */
#define SF_RECHECK_MS 100     /* a pause between checks: after a failed one, or while a
                                 sustained fault lasts */
#define SF_PEER_VERDICT_MS 500 /* and exit within this of PROG's end: its verdict */
#define SF_NPROC_CAP 4096     /* RLIMIT_NPROC for the programs (binds only non-root users) */
#define SF_PIDS_MAX 512       /* pids.max of a run's cgroup: tasks (processes and threads) */
#define SF_PROC_READY_MS 25   /* a server not seen listening in its log: /proc looked at */

enum sf_state {
  SF_S_RUN,        /* not a server: waiting for it to end */
  SF_S_WAIT_READY, /* server: waiting for a listen in the log */
  SF_S_CHECK,      /* server: a check is running */
  SF_S_RECHECK,    /* server: a check after the fault failed, pausing before the next */
  SF_S_SAMPLE,     /* server: the checks failed, measuring whether it spins */
  SF_S_PAUSE,      /* server under a sustained fault: between two checks */
  SF_S_TERM,       /* server: SIGTERM sent, waiting for the exit */
  SF_S_PEER,       /* PROG ended: waiting for the --server peer's verdict */
  SF_S_KILLING,    /* timed out: SIGTERM to the group sent, SIGKILL next */
  SF_S_KILLED,     /* SIGKILL sent: waiting to reap */
};

struct sf_active {
  bool used;
  size_t idx;
  const struct sf_runspec *spec;
  struct sf_runres *res;
  struct sf_slot *slot;
  char dir[PATH_MAX], log[PATH_MAX + 8];
  pid_t pid, check_pid, peer_pid;
  struct sf_sup *sup;     /* the seccomp backend's supervisor, or NULL */
  int out_fd, err_fd;
  struct sf_capture out, err;
  struct sf_logscan scan;
  enum sf_state st;
  long long t0, deadline, state_t, cpu_mark;
  bool main_done, check_done, peer_done;
  int wstatus, check_wstatus, peer_wstatus;
  long long check_t0, term_t, proc_t; /* proc_t: when /proc is next asked if it listens */
  struct rusage ru;
  bool check_after_fault; /* the running check started after every rule had fired */
  bool check_after_lift;  /* ... after a sustained fault was lifted */
  long long win_t, lift_t, win_busy; /* a sustained fault: seen firing, lifted; busy ms then */
};

#define SF_WINDOW_GRACE_MS 2000 /* ... and how long after its recovery time a run may last */

static int sf_chld_pipe[2] = {-1, -1};

static void sf_on_chld(int sig)
{
  (void)sig;
  int e = errno;
  (void)!write(sf_chld_pipe[1], "x", 1);
  errno = e;
}

static int sf_needs_port(const struct sf_runspec *s)
{
  if ((s->check && strstr(s->check, "{port}")) || (s->peer && strstr(s->peer, "{port}")))
    return 1;
  for (size_t i = 0; i < s->nargs; i++)
    if (strstr(s->args[i], "{port}"))
      return 1;
  return 0;
}

static int sf_port_taken(const struct sf_active *act, unsigned n, int port)
{
  for (unsigned i = 0; i < n; i++)
    if (act[i].used && act[i].res->port == port)
      return 1;
  return 0;
}

/* The run's CPU want: every thread of every process of its tree (a worker's spin too). */
static long long sf_busy_ms(const struct sf_active *a)
{
  return sf_tree_busy_ms(a->pid, a->slot ? a->slot->cg.dir : NULL);
}

static void sf_set_state(struct sf_active *a, enum sf_state st, long long now)
{
  a->st = st;
  a->state_t = now;
  a->cpu_mark = sf_busy_ms(a);
}

/* Spinning: since the last state change, the program wanted the CPU (ran or waited to run)
 * nearly all the time. */
static void sf_measure_spin(struct sf_active *a, long long now)
{
  long long wall = now - a->state_t, cpu = sf_busy_ms(a);
  if (wall < 200 || a->cpu_mark < 0) { /* too short a window: judge the whole run */
    wall = now - a->t0;
    a->cpu_mark = 0;
  }
  if (cpu < 0 || wall <= 0)
    return;
  int pct = cpu > a->cpu_mark ? (int)((cpu - a->cpu_mark) * 100 / wall) : 0; /* a thread gone */
  a->res->cpu_percent = pct;
  a->res->spinning = pct >= 70;
}

/* What the run's log must hold: every call when the calls are kept or a server's listen
 * must be seen; else the injected calls and the start and exit records are all a run is
 * judged by (the rules that fired, the sockets open at exit), and the shim writes far less. */
static const char *sf_log_level(const struct sf_runspec *s)
{
  return s->keep_calls || s->check ? "all" : "faults";
}

/* A run's supervisor under the seccomp backend: its rules, its log. */
static struct sf_sup *sf_seccomp_sup(const struct sf_runspec *s, const char *log, char *err,
                                     size_t errlen)
{
  static struct sf_ruleset rs;
  memset(&rs, 0, sizeof rs);
  const char *text = s->rules ? s->rules : ""; /* "": the baseline, no rule */
  if (text[0] && sf_rules_parse(text, strlen(text), "explore", &rs, err, errlen) != 0)
    return NULL;
  const struct sf_sup_conf conf = {.rules = &rs, .log = log, .inherit = true,
                                   .log_all = strcmp(sf_log_level(s), "all") == 0};
  return sf_sup_new(&conf, err, errlen);
}

static int sf_start(struct sf_pool *pool, struct sf_active *a, struct sf_active *act,
                    unsigned nact, const struct rlimit *nproc, struct sf_reaper *rp)
{
  const struct sf_runspec *s = a->spec;
  struct sf_runres *r = a->res;
  struct sf_slot *sl = a->slot;
  char err[512];
  a->pid = a->check_pid = a->peer_pid = -1;
  a->out_fd = a->err_fd = -1;
  if (sf_slot_dir(sl, pool->tmpbase, pool->seq++, r->spawn_err, sizeof r->spawn_err) != 0)
    return -1;
  snprintf(a->dir, sizeof a->dir, "%s", sl->dir);
  snprintf(a->log, sizeof a->log, "%s/log", a->dir);
  if (sf_needs_port(s)) {
    for (int tries = 0; tries < 32 && r->port <= 0; tries++) {
      int p = sf_free_port();
      if (p > 0 && !sf_port_taken(act, nact, p))
        r->port = p;
    }
    if (r->port <= 0) {
      snprintf(r->spawn_err, sizeof r->spawn_err, "no free loopback port");
      return -1;
    }
  }
  if (s->peer && (a->peer_pid = sf_peer_start(s->peer, r->port, a->dir, s->timeout_ms, err,
                                               sizeof err)) < 0) {
    snprintf(r->spawn_err, sizeof r->spawn_err, "%.500s", err);
    return -1;
  }
  char **argv = calloc(s->nargs + 2, sizeof *argv);
  int outp[2] = {-1, -1}, errp[2] = {-1, -1};
  int null = open("/dev/null", O_RDONLY | O_CLOEXEC);
  int ok = argv && null >= 0 && pipe2(outp, O_CLOEXEC) == 0 && pipe2(errp, O_CLOEXEC) == 0;
  if (ok) {
    argv[0] = (char *)s->prog;
    for (size_t i = 0; i < s->nargs && ok; i++)
      ok = (argv[i + 1] = sf_subst(s->args[i], r->port, a->dir)) != NULL;
  }
  pid_t pid = -1;
  int cgfd = -1;
  if (ok && rp->cg.base[0]) {
    cgfd = sf_cg_slot_ready(&rp->cg, &sl->cg, pool->seq++, SF_PIDS_MAX);
    if (cgfd < 0) {
      snprintf(r->spawn_err, sizeof r->spawn_err, "cannot create its cgroup in %.300s: %s",
               rp->cg.base, strerror(errno));
      ok = 0;
    }
  }
  if (ok && s->seccomp && !(a->sup = sf_seccomp_sup(s, a->log, err, sizeof err))) {
    snprintf(r->spawn_err, sizeof r->spawn_err, "%.400s", err);
    ok = 0;
  }
  if (ok) {
    struct sf_launch l = {.shim = s->shim, .argv = argv, .rules = s->rules ? s->rules : "",
                          .log = a->log, .log_level = sf_log_level(s), .inherit = 1,
                          .log_context = s->context > 1 ? "2" : NULL,
                          .fd_in = null, .fd_out = outp[1], .fd_err = errp[1], .new_pgrp = 1,
                          .nproc = nproc, .cgroup_fd = cgfd, .die_with_parent = 1,
                          .tmpdir = a->dir};
    if (a->sup) /* the supervisor holds the rules and writes the log */
      l.shim = l.rules = l.log = l.log_level = NULL, l.seccomp = a->sup;
    pid = sf_spawn(&l, err, sizeof err);
    if (pid < 0)
      snprintf(r->spawn_err, sizeof r->spawn_err, "%.400s", err);
  } else if (!r->spawn_err[0]) {
    snprintf(r->spawn_err, sizeof r->spawn_err, "cannot set up the run: %s", strerror(errno));
  }
  if (argv)
    for (size_t i = 0; i < s->nargs; i++)
      free(argv[i + 1]);
  free(argv);
  if (null >= 0)
    close(null);
  if (outp[1] >= 0)
    close(outp[1]);
  if (errp[1] >= 0)
    close(errp[1]);
  if (pid < 0) {
    if (a->peer_pid > 0)
      sf_kill_group(a->peer_pid, SIGKILL);
    sf_sup_free(a->sup);
    a->sup = NULL;
    if (outp[0] >= 0)
      close(outp[0]);
    if (errp[0] >= 0)
      close(errp[0]);
    /* nothing ran past exec: what joined the group is reaped already */
    sf_slot_after(sl, !sl->cg.dir[0] || sf_reaper_run_done(rp, &sl->cg, a->log, NULL, 0));
    return -1;
  }
  fcntl(outp[0], F_SETFL, O_NONBLOCK);
  fcntl(errp[0], F_SETFL, O_NONBLOCK);
  a->out_fd = outp[0];
  a->err_fd = errp[0];
  a->pid = pid;
  sf_capture_init(&a->out, false, s->echo ? 1 : -1);
  sf_capture_init(&a->err, true, s->echo ? 2 : -1);
  sf_logscan_init(&a->scan, pid, s->keep_calls);
  a->t0 = sf_now_ms();
  a->deadline = a->t0 + s->timeout_ms;
  a->main_done = a->check_done = a->peer_done = false;
  sf_set_state(a, s->check ? SF_S_WAIT_READY : SF_S_RUN, a->t0);
  return 0;
}

static void sf_start_check(struct sf_active *a, long long now)
{
  const unsigned n = a->spec->nrules;
  const unsigned long long all = n >= 64 ? ~0ull : (1ull << n) - 1;
  sf_logscan_poll(&a->scan, a->log);
  a->check_after_fault = (a->scan.fired & all) == all && a->scan.injected >= a->spec->burst;
  a->check_t0 = now;
  if (a->res->checks_started++ == 0)
    a->res->fired_before_checks = a->check_after_fault;
  a->check_after_lift = a->res->lifted;
  char *cmd = sf_subst(a->spec->check, a->res->port, a->dir);
  a->check_done = false;
  a->check_pid = cmd ? sf_spawn_check(cmd, a->dir) : -1;
  free(cmd);
  if (a->check_pid < 0) { /* as if the check failed to run */
    a->check_done = true;
    a->check_wstatus = 127 << 8;
  }
  sf_set_state(a, SF_S_CHECK, now);
}

/* SIGTERM to the program, its trapped calls answered first (sf_sup_drain says why). */
static void sf_send_term(struct sf_active *a, bool group)
{
  if (a->sup)
    sf_sup_drain(a->sup);
  if (group)
    sf_kill_group(a->pid, SIGTERM);
  else
    kill(a->pid, SIGTERM);
}

static void sf_timeout(struct sf_active *a, long long now)
{
  a->res->timed_out = true;
  sf_measure_spin(a, now);
  if (a->check_pid > 0 && !a->check_done)
    sf_kill_group(a->check_pid, SIGKILL);
  if (a->peer_pid > 0 && !a->peer_done)
    sf_kill_group(a->peer_pid, SIGKILL);
  sf_send_term(a, true);
  sf_set_state(a, SF_S_KILLING, now);
}

static void sf_finish(struct sf_active *a, struct sf_active *act, unsigned n,
                      struct sf_reaper *rp)
{
  struct sf_runres *r = a->res;
  if (a->check_pid > 0 && !a->check_done)
    sf_kill_group(a->check_pid, SIGKILL); /* reaped later as an orphan of ours */
  if (a->peer_pid > 0 && !a->peer_done)
    sf_kill_group(a->peer_pid, SIGKILL);
  sf_kill_group(a->pid, SIGKILL);         /* whatever it left behind in its group */
  /* and whatever left the group (setsid, double fork) */
  pid_t live[6 * SF_MAX_JOBS]; /* three pids per run (PROG, check, peer), up to 2 x --jobs runs */
  size_t nlive = 0;
  for (unsigned i = 0; i < n; i++)
    if (act[i].used && &act[i] != a && nlive + 2 <= sizeof live / sizeof live[0]) {
      live[nlive++] = act[i].pid;
      live[nlive++] = act[i].check_pid;
      if (act[i].peer_pid > 0 && nlive < sizeof live / sizeof live[0])
        live[nlive++] = act[i].peer_pid;
    }
  bool clean = sf_reaper_run_done(rp, rp->cg.base[0] ? &a->slot->cg : NULL, a->log, live,
                                  nlive);
  /* The group is dead: read what is left, boundedly (an escaped daemon may hold a pipe). */
  for (int i = 0; i < 16 && a->out_fd >= 0 && sf_capture_read(&a->out, a->out_fd) == 2; i++) {
  }
  for (int i = 0; i < 16 && a->err_fd >= 0 && sf_capture_read(&a->err, a->err_fd) == 2; i++) {
  }
  if (a->out_fd >= 0)
    close(a->out_fd);
  if (a->err_fd >= 0)
    close(a->err_fd);
  sf_sup_free(a->sup); /* the run is over: nothing is left to answer */
  a->sup = NULL;
  sf_logscan_poll(&a->scan, a->log);
  r->exited = true;
  r->wstatus = a->wstatus;
  r->ready_unlogged = r->ready && !a->scan.ready;
  r->ready = r->ready || a->scan.ready;
  r->fired = a->scan.fired;
  r->fired_ready = a->scan.fired_ready;
  r->unfaithful = a->scan.unfaithful;
  if (a->peer_pid > 0)
    r->peer_status = a->peer_done && WIFEXITED(a->peer_wstatus) ? WEXITSTATUS(a->peer_wstatus)
                                                                  : -1;
  r->sockets = a->scan.sockets;
  r->log_records = a->scan.records;
  r->duration_ms = sf_now_ms() - a->t0;
  r->cpu_ms = (long long)a->ru.ru_utime.tv_sec * 1000 + a->ru.ru_utime.tv_usec / 1000 +
              (long long)a->ru.ru_stime.tv_sec * 1000 + a->ru.ru_stime.tv_usec / 1000;
  sf_capture_hex(&a->out, r->stdout_hash);
  r->stdout_bytes = a->out.bytes;
  sf_lines_end(&a->out.lines);
  sf_lines_end(&a->err.lines);
  r->lines = a->out.lines;
  sf_lines_merge(&r->lines, &a->err.lines);
  r->stdout_tail = sf_capture_tail(&a->out);
  r->sanitizer = a->err.sanitizer;
  r->stderr_tail = sf_capture_tail(&a->err);
  if (a->spec->keep_calls) {
    r->calls = a->scan.calls;
    r->ncalls = a->scan.ncalls;
    a->scan.calls = NULL;
  }
  sf_logscan_done(&a->scan);
  sf_slot_after(a->slot, clean);
  a->used = false;
}

/* A sustained fault: when it is first seen to fire, the window opens (and the run's deadline
 * moves past its end); when the window is over, the CPU share and the rate of failed calls
 * while it lasted. The shim lifts it by its own clock, no later than we see it. */
static void sf_window_step(struct sf_active *a, long long now)
{
  const struct sf_runspec *s = a->spec;
  struct sf_runres *r = a->res;
  if (!a->win_t && (a->scan.fired & 1)) {
    a->win_t = now;
    a->win_busy = sf_busy_ms(a);
    r->window_seen = true;
    /* past the recovery time (--timeout after the lift), so no-recovery is judged first */
    if (a->deadline < now + s->window_ms + s->timeout_ms + SF_WINDOW_GRACE_MS)
      a->deadline = now + s->window_ms + s->timeout_ms + SF_WINDOW_GRACE_MS;
  }
  if (a->win_t && !r->lifted && now >= a->win_t + s->window_ms) {
    long long busy = sf_busy_ms(a), wall = now - a->win_t;
    r->lifted = true;
    a->lift_t = now;
    r->window_cpu = busy < 0 || a->win_busy < 0 ? -1
                    : busy > a->win_busy ? (int)((busy - a->win_busy) * 100 / wall) : 0;
    sf_logscan_poll(&a->scan, a->log);
    r->window_rate = (long long)(a->scan.injected * 1000 / (unsigned long long)wall);
  }
}

static void sf_term(struct sf_active *a, long long now)
{
  sf_send_term(a, false);
  a->res->termed = true;
  a->term_t = now;
  sf_set_state(a, SF_S_TERM, now);
}

/* A server under a sustained fault, after a check: unavailable while the fault lasts is
 * expected, so checks go on until one started after the lift passes or --timeout passes
 * since the lift (no recovery). */
static void sf_window_check_done(struct sf_active *a, int status, long long now)
{
  struct sf_runres *r = a->res;
  if (r->lifted && a->check_after_lift && status == 0) {
    r->recovered = true;
    r->recover_ms = now - a->lift_t;
    sf_term(a, now);
  } else if (r->lifted && now - a->lift_t >= a->spec->timeout_ms) {
    sf_term(a, now);
  } else {
    sf_set_state(a, SF_S_PAUSE, now);
  }
}

/* A check ended: keep its status and duration (while there is room), and whether the fault
 * fired while it ran (the hit check). Returns its status. */
static int sf_check_record(struct sf_active *a, long long now)
{
  const unsigned n = a->spec->nrules;
  const unsigned long long all = n >= 64 ? ~0ull : (1ull << n) - 1;
  struct sf_runres *r = a->res;
  int status = sf_status_code(a->check_wstatus);
  a->check_pid = -1;
  sf_logscan_poll(&a->scan, a->log);
  if (r->checks >= SF_MAX_CHECKS)
    return status;
  int k = r->checks++;
  r->check_status[k] = status;
  r->check_ms[k] = now - a->check_t0;
  r->check_after[k] = a->check_after_fault;
  if (!a->check_after_fault && (a->scan.fired & all) == all && r->hit < 0 && a->spec->rules)
    r->hit = k;
  return status;
}

/* The next step of the protocol after a check: more checks until the fault fired (at most
 * pre_checks), then up to SF_AFTER_CHECKS after it until one passes, at least min_checks in
 * all; a server that passed none after the fault is watched for spinning; then SIGTERM. */
static void sf_check_next(struct sf_active *a, long long now)
{
  const struct sf_runspec *s = a->spec;
  struct sf_runres *r = a->res;
  const unsigned n = s->nrules;
  const unsigned long long all = n >= 64 ? ~0ull : (1ull << n) - 1;
  const int k = r->checks - 1;
  bool fired = (a->scan.fired & all) == all && a->scan.injected >= s->burst;
  const bool room = r->checks < SF_MAX_CHECKS;
  const bool pre_room = room && r->checks < (int)(s->pre_checks ? s->pre_checks : s->min_checks);
  if (!fired && !pre_room && s->burst > 1 && (a->scan.fired & 1) && k >= 0) {
    /* a burst cut short (the program no longer makes the call) is judged by the last check */
    r->check_after[k] = true;
    fired = true;
  }
  if (k >= 0 && r->check_after[k] && r->avail_check < 0)
    r->avail_check = k;
  int after = 0, passed_after = 0;
  for (int i = 0; i <= k; i++)
    if (r->check_after[i]) {
      after++;
      passed_after += r->check_status[i] == 0;
    }
  if (room && r->checks < (int)s->min_checks)
    sf_start_check(a, now);
  else if (!fired && pre_room)
    sf_start_check(a, now);
  else if (room && fired && !passed_after && after < SF_AFTER_CHECKS && after > 0)
    sf_set_state(a, SF_S_RECHECK, now);
  else if (room && fired && !passed_after && after < SF_AFTER_CHECKS)
    sf_start_check(a, now);
  else if (fired && !passed_after)
    sf_set_state(a, SF_S_SAMPLE, now);
  else
    sf_term(a, now);
}

/* Advance one run; returns 1 when it has finished. */
static int sf_step(struct sf_active *a, long long now, struct sf_active *act, unsigned n,
                   struct sf_reaper *rp)
{
  const struct sf_runspec *s = a->spec;
  struct sf_runres *r = a->res;
  if ((s->check || s->window_ms > 0) && !a->main_done)
    sf_logscan_poll(&a->scan, a->log);
  if (s->window_ms > 0 && !a->main_done && a->st != SF_S_KILLING && a->st != SF_S_KILLED &&
      a->st != SF_S_TERM)
    sf_window_step(a, now);
  if (a->main_done && a->st == SF_S_TERM && !r->term_ms) {
    r->term_ms = now - a->term_t;
    r->exited_late = r->term_ms > s->term_grace_ms;
  }
  if (a->main_done && a->peer_pid > 0 && !a->peer_done && a->st != SF_S_KILLING &&
      a->st != SF_S_KILLED) {
    if (a->st != SF_S_PEER)
      sf_set_state(a, SF_S_PEER, now);
    else if (now - a->state_t >= SF_PEER_VERDICT_MS) { /* no verdict: as if it failed */
      r->peer_killed = true;
      sf_kill_group(a->peer_pid, SIGKILL);
      a->peer_done = true;
      a->peer_wstatus = SIGKILL;
    }
    return 0;
  }
  if (a->main_done) {
    if (s->check && !r->termed && a->st != SF_S_KILLING && a->st != SF_S_KILLED)
      r->exited_early = true;
    sf_finish(a, act, n, rp);
    return 1;
  }
  switch (a->st) {
  case SF_S_RUN:
    if (now >= a->deadline)
      sf_timeout(a, now);
    break;
  case SF_S_WAIT_READY: /* the log says so, else /proc: the log may have gone silent */
    if (a->scan.ready || (now >= a->proc_t && (a->proc_t = now + SF_PROC_READY_MS) &&
                          sf_tree_listening(a->pid, a->slot->cg.dir))) {
      r->ready = true;
      sf_start_check(a, now);
    } else if (now >= a->deadline) {
      sf_timeout(a, now);
    }
    break;
  case SF_S_CHECK:
    if (a->check_done) {
      int status = sf_check_record(a, now);
      if (a->win_t)
        sf_window_check_done(a, status, now);
      else
        sf_check_next(a, now);
    } else if (a->win_t && r->lifted && now - a->lift_t >= s->timeout_ms) {
      sf_kill_group(a->check_pid, SIGKILL); /* the check outlived the recovery time */
      sf_term(a, now);
    } else if (now >= a->deadline) {
      sf_timeout(a, now);
    }
    break;
  case SF_S_PAUSE:
    if (now - a->state_t >= SF_RECHECK_MS)
      sf_start_check(a, now);
    break;
  case SF_S_RECHECK:
    if (now >= a->deadline)
      sf_timeout(a, now);
    else if (now - a->state_t >= SF_RECHECK_MS)
      sf_start_check(a, now);
    break;
  case SF_S_SAMPLE:
    if (now - a->state_t >= SF_SAMPLE_MS) {
      sf_measure_spin(a, now);
      sf_term(a, now);
    }
    break;
  case SF_S_TERM:
    if (now - a->state_t >= 2 * s->term_grace_ms) {
      r->ignored_term = true;
      sf_measure_spin(a, now);
      sf_kill_group(a->pid, SIGKILL);
      sf_set_state(a, SF_S_KILLED, now);
    }
    break;
  case SF_S_PEER: /* handled above, while the main process is done */
    break;
  case SF_S_KILLING:
    if (now - a->state_t >= SF_KILL_GRACE_MS) {
      sf_kill_group(a->pid, SIGKILL);
      sf_set_state(a, SF_S_KILLED, now);
    }
    break;
  case SF_S_KILLED:
    if (now - a->state_t >= 1000) /* SIGKILL is not refused; keep asking */
      sf_kill_group(a->pid, SIGKILL), a->state_t = now;
    break;
  }
  return 0;
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
         !(act[i].win_t && !act[i].res->lifted && sf_needs_port(act[i].spec));
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
      if (sf_start(pool, a, act, cap, np, &rp) != 0) {
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
          sf_set_state(&act[i], SF_S_KILLED, sf_now_ms());
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
      if (sf_step(&act[i], now, act, cap, &rp)) {
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
