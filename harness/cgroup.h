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

/* Create the sub-group of run SEQ with pids.max = MAX; its path in dir. Returns an fd open
 * for writing on its cgroup.procs (O_CLOEXEC): a child writes "0" there to join. -1 on error. */
int sf_cg_run(const struct sf_cgroup *cg, unsigned seq, long max, char *dir, size_t len);

/* SIGKILL every process in the group (cgroup.kill, else each pid of cgroup.procs), then try
 * to remove it. 0 once removed; -1 while processes are still dying in it (call again). */
int sf_cg_reap(const char *dir);

/* Remove the pool's group (its run groups must be gone). */
void sf_cg_close(struct sf_cgroup *cg);

#endif
