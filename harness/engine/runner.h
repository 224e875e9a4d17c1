/* Running a program under the shim, many at a time: one temp dir and loopback port per run,
 * the server protocol (wait for listen, check until a check after the fault, SIGTERM), timeouts that kill
 * the process group (SIGTERM, then SIGKILL), everything reaped, results in input order. */
#ifndef SF_RUNNER_H
#define SF_RUNNER_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>

#include "capture.h"
#include "shimlog.h"

/* Checks of a server per run: the first starts once it listens, the next ones until the
 * fault has fired, then up to SF_AFTER_CHECKS more until one passes: availability is judged
 * over several checks after the fault, so a server that loses the one connection the fault
 * hit (the spare-descriptor trick) and serves the next is not judged on that one. */
#define SF_MAX_CHECKS 48
#define SF_AFTER_CHECKS 3

struct sf_runspec {
  const char *shim;
  bool seccomp;            /* the seccomp backend (engine/seccomp.h), not the shim */
  const char *prog;        /* resolved path */
  char *const *args;       /* ARGS templates ({port}, {tmp}) */
  size_t nargs;
  const char *check;       /* check command template, or NULL: not a server */
  const char *rules;       /* shim rules, or NULL for an unfaulted run */
  unsigned nrules;         /* rules in it: all must fire for the point to count as reached */
  unsigned min_checks;     /* a server is checked at least this often (the baseline: --checks) */
  unsigned pre_checks;     /* checks while the fault has not fired yet, at most */
  const char *peer;        /* --server command template: a peer started per run, or NULL */
  long long timeout_ms;
  long long term_grace_ms; /* how long a server may take to exit after SIGTERM; one that
                            * exits within twice that exited late, later is killed (hang) */
  unsigned burst;          /* > 1: rule 0 fails this many calls in a row; a check counts as
                            * after the fault once they all failed */
  long long window_ms;     /* > 0: a sustained fault (rule 0) lasting this long: measured
                            * while it lasts, and a server checked until it serves again */
  bool keep_calls;         /* keep the log's call records (baseline, pair selection) */
  unsigned context;        /* 2: the log names each call site's caller too (--context 2) */
  bool echo;               /* copy the program's output to ours as it comes (replay) */
};

struct sf_runres {
  bool spawn_failed;
  char spawn_err[512];
  int port;
  bool exited;             /* the program ended and was reaped; wstatus is valid */
  int wstatus;
  bool termed;             /* we sent it SIGTERM as the end of the server protocol */
  bool exited_early;       /* a server that ended before we sent SIGTERM */
  bool timed_out;          /* --timeout passed: killed */
  bool ignored_term;       /* twice the SIGTERM grace passed: killed */
  bool exited_late;        /* exited after SIGTERM, but only after the grace */
  long long term_ms;       /* from our SIGTERM to the exit, when it exited */
  bool spinning;           /* CPU time close to wall time when judged stuck */
  int cpu_percent;         /* % of the time it ran or waited to run, for the report */
  bool ready;              /* a listen succeeded */
  bool ready_unlogged;     /* ... seen in /proc only: the log never showed it */
  int checks;              /* checks run to their end */
  int checks_started;      /* checks started (the last may have been cut short) */
  int check_status[SF_MAX_CHECKS]; /* shell status of each: 0 passed */
  long long check_ms[SF_MAX_CHECKS]; /* how long each took */
  bool check_after[SF_MAX_CHECKS]; /* it started after every rule had fired */
  int hit;                 /* the check during which the last rule fired (its request is the
                            * one the fault hit), -1 if none */
  int avail_check;         /* the first check started after every rule had fired; -1 none */
  bool fired_before_checks;/* every rule had fired when the first check started */
  unsigned long long fired;/* rule bits that fired */
  unsigned long long fired_ready; /* rule bits that fired after a listen (serving phase) */
  unsigned long long unfaithful; /* rule bits whose injection the shim logged as one no
                            * kernel would give in that socket state ("faithful":false) */
  int peer_status;         /* --server: the peer's exit status, -1 killed/none */
  bool peer_killed;        /* the peer did not exit within the grace after PROG ended */
  int sockets;             /* open at exit (root process), -1 unknown */
  long long duration_ms, cpu_ms;
  char stdout_hash[17];
  unsigned long long stdout_bytes;
  struct sf_lines lines;   /* the distinct lines it printed (stdout and stderr) */
  char *stdout_tail;       /* malloc'd: with stderr_tail, where a message is looked for */
  const char *sanitizer;   /* static name, or NULL */
  char *stderr_tail;       /* malloc'd */
  /* a sustained fault: seen to fire; over (lifted); the CPU share (%) and failed calls per
   * second while it lasted; a check passed again, how long after the lift */
  bool window_seen, lifted, recovered;
  int window_cpu;
  long long window_rate, recover_ms;
  struct sf_logcall *calls;/* keep_calls: malloc'd */
  size_t ncalls;
  size_t log_records;
};

struct sf_pool {
  const char *tmpbase;     /* an existing private dir; each run gets a subdir of it */
  unsigned jobs;
  volatile sig_atomic_t *stop; /* set asynchronously to abandon the remaining runs */
  void (*progress)(void *ctx, size_t done, size_t total, const struct sf_runres *last,
                   size_t last_idx);
  void *ctx;
  unsigned seq;            /* runs started so far (names their dirs) */
};

/* Run specs[0..n) with at most pool->jobs at once; res[i] is specs[i]'s result. 0, or -1
 * when stopped (runs not started have spawn_failed set) or sockfault itself failed. */
int sf_pool_run(struct sf_pool *pool, const struct sf_runspec *specs, struct sf_runres *res,
                size_t n);
void sf_runres_free(struct sf_runres *r);

#endif
