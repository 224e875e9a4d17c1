/* Starting one run of the pool (run_active.h): its temp dir, loopback port, peer, seccomp
 * supervisor or shim environment, and the program spawned in its own group and cgroup. */
#define _GNU_SOURCE
#include "run_active.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cgroup.h"
#include "clock.h"
#include "launch.h"
#include "peer.h"
#include "proc.h"
#include "reap.h"
#include "rules.h"
#include "runner.h"
#include "seccomp.h"
#include "slot.h"
#include "text.h"

#define SF_PIDS_MAX 512       /* pids.max of a run's cgroup: tasks (processes and threads) */

int sf_run_needs_port(const struct sf_runspec *s)
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

int sf_run_start(struct sf_pool *pool, struct sf_active *a, struct sf_active *act,
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
  if (sf_run_needs_port(s)) {
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
  sf_run_set_state(a, s->check ? SF_S_WAIT_READY : SF_S_RUN, a->t0);
  return 0;
}
