/* One run in progress, as the pool (runner.c) holds it: its state (struct sf_active), how it
 * starts (run_start.c) and how it is advanced through the server protocol to its end
 * (run_protocol.c). Internal to those three files. */
#ifndef SF_RUN_ACTIVE_H
#define SF_RUN_ACTIVE_H

#include <limits.h>
#include <stdbool.h>
#include <sys/resource.h>
#include <sys/types.h>

#include "capture.h"
#include "shimlog.h"

/* Used through pointers only. runner.h is not included: runner.c includes this header, and
 * the two would make a module cycle (ctest layers). */
struct sf_pool;
struct sf_runspec;
struct sf_runres;
struct sf_reaper;
struct sf_slot;
struct sf_sup;

#define SF_MAX_JOBS 256

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

/* A run needs a loopback port of its own: {port} in its check, peer or ARGS. */
int sf_run_needs_port(const struct sf_runspec *s);

/* Start run a: its dir, port, peer and the program (act[0..nact): the runs going on, whose
 * ports are taken). 0, or -1 with res->spawn_err set and nothing left running. */
int sf_run_start(struct sf_pool *pool, struct sf_active *a, struct sf_active *act,
                 unsigned nact, const struct rlimit *nproc, struct sf_reaper *rp);

/* The run enters state st at now; its CPU time is marked there (spin is measured from it). */
void sf_run_set_state(struct sf_active *a, enum sf_state st, long long now);

/* Advance one run (act[0..n): all of them); returns 1 when it has finished. */
int sf_run_step(struct sf_active *a, long long now, struct sf_active *act, unsigned n,
                struct sf_reaper *rp);

#endif
