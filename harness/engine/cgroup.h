/* A pids cgroup per run of explore: a bound on the tasks a run may create that holds for
 * root too (RLIMIT_NPROC does not bind root), and a handle on every process the run made
 * wherever it went (setsid, double fork), so that all of them can be killed. cgroup v2 with
 * the pids controller delegated, or cgroup v1's pids hierarchy; when neither is writable,
 * explore runs without (sf_cg_open says why). */
#ifndef SF_CGROUP_H
#define SF_CGROUP_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>

struct sf_cgroup {
  char base[PATH_MAX];   /* the group of this pool: <own cgroup>/sockfault-PID-N; "" if none */
  bool v2;
};

/* Create the pool's group under our own cgroup; the first time in this process, prove
 * that it works (a sub-group with pids.max that a child can join). 0, or -1 with the
 * reason. */
int sf_cg_open(struct sf_cgroup *cg, char *why, size_t len);

/* The group a pool's slot gives its runs, one run after another: made once, reused while
 * each run leaves it empty. */
struct sf_cgslot {
  char dir[PATH_MAX];    /* "" when the slot has no group */
  int procs_fd;          /* cgroup.procs, for writing: a child writes "0" there to join */
  int max_fd, current_fd;/* pids.max (writing), pids.current (reading) */
};

void sf_cg_slot_init(struct sf_cgslot *s);

/* The slot's group for its next run: created as run-SEQ with pids.max = MAX when the slot
 * has none, else pids.max written again (a run as root may have raised it). Returns the
 * cgroup.procs fd (the slot's: O_CLOEXEC, not to be closed), or -1 with errno and the slot
 * without a group. */
int sf_cg_slot_ready(const struct sf_cgroup *cg, struct sf_cgslot *s, unsigned seq, long max);

/* Whether nothing of the last run is in the group: pids.current is 0, which counts every
 * task that joined it, living or not yet reaped. */
bool sf_cg_slot_empty(const struct sf_cgslot *s);

/* Close the slot's fds and forget its group (reap s->dir before, with sf_cg_reap). */
void sf_cg_slot_forget(struct sf_cgslot *s);

/* SIGKILL every process in the group (cgroup.kill, else each pid of cgroup.procs), then try
 * to remove it. 0 once removed; -1 while processes are still dying in it (call again). */
int sf_cg_reap(const char *dir);

/* Remove the pool's group (its run groups must be gone). */
void sf_cg_close(struct sf_cgroup *cg);

#endif
