/* Advancing one run of the pool (run_active.h): the server protocol (wait for listen, checks
 * until one after the fault, spin sampling, SIGTERM), sustained-fault windows, timeouts, and
 * the end of a run: what it left killed, its results collected into its sf_runres. */
#define _GNU_SOURCE
#include "run_active.h"

#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "clock.h"
#include "launch.h"
#include "listening.h"
#include "proc.h"
#include "reap.h"
#include "runner.h"
#include "seccomp.h"
#include "slot.h"
#include "text.h"

#define SF_SAMPLE_MS 300      /* CPU sampling window for a server that stopped serving */
#define SF_KILL_GRACE_MS 500  /* SIGTERM to the group, then SIGKILL after this */
#define SF_RECHECK_MS 100     /* a pause between checks: after a failed one, or while a
                                 sustained fault lasts */
#define SF_PEER_VERDICT_MS 500 /* and exit within this of PROG's end: its verdict */
#define SF_PROC_READY_MS 25   /* a server not seen listening in its log: /proc looked at */
#define SF_WINDOW_GRACE_MS 2000 /* a sustained fault's run: how long it may last past its
                                   recovery time */

/* The run's CPU want: every thread of every process of its tree (a worker's spin too). */
static long long sf_busy_ms(const struct sf_active *a)
{
  return sf_tree_busy_ms(a->pid, a->slot ? a->slot->cg.dir : NULL);
}

void sf_run_set_state(struct sf_active *a, enum sf_state st, long long now)
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
  sf_run_set_state(a, SF_S_CHECK, now);
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
  sf_run_set_state(a, SF_S_KILLING, now);
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
  sf_run_set_state(a, SF_S_TERM, now);
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
    sf_run_set_state(a, SF_S_PAUSE, now);
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
    sf_run_set_state(a, SF_S_RECHECK, now);
  else if (room && fired && !passed_after && after < SF_AFTER_CHECKS)
    sf_start_check(a, now);
  else if (fired && !passed_after)
    sf_run_set_state(a, SF_S_SAMPLE, now);
  else
    sf_term(a, now);
}

/* Advance one run; returns 1 when it has finished. */
int sf_run_step(struct sf_active *a, long long now, struct sf_active *act, unsigned n,
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
      sf_run_set_state(a, SF_S_PEER, now);
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
      sf_run_set_state(a, SF_S_KILLED, now);
    }
    break;
  case SF_S_PEER: /* handled above, while the main process is done */
    break;
  case SF_S_KILLING:
    if (now - a->state_t >= SF_KILL_GRACE_MS) {
      sf_kill_group(a->pid, SIGKILL);
      sf_run_set_state(a, SF_S_KILLED, now);
    }
    break;
  case SF_S_KILLED:
    if (now - a->state_t >= 1000) /* SIGKILL is not refused; keep asking */
      sf_kill_group(a->pid, SIGKILL), a->state_t = now;
    break;
  }
  return 0;
}
