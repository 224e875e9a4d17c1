/* What the runs leave behind, killed and reaped: processes that escaped their run's process
 * group (setsid, double fork), run cgroups whose processes are still dying, and at the end
 * of a pool every child of ours still there (explore is a child subreaper: orphans of its
 * runs are its children). With a pids cgroup per run this is exact; without, the escaped
 * processes are recognised by the run's log path in their environment. */
#ifndef SF_REAP_H
#define SF_REAP_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "cgroup.h"

struct sf_reaper {
  struct sf_cgroup cg;    /* the pool's cgroup; cg.base "" when runs go without */
  char **dying;           /* run cgroups killed, not yet removed */
  size_t ndying, cap;
};

/* Set up for a pool: its cgroup if one can be had (as root, a note once when not: nothing
 * else bounds root's processes), fds 0-2 open. */
void sf_reaper_open(struct sf_reaper *rp);

/* A run has ended (its process reaped): kill what is left of it — the processes of its
 * slot's cgroup (cg, or NULL when it has none), else our children whose environment holds
 * its log path, except the processes listed in live (the other runs and checks). True when
 * nothing of the run was left: its group is empty and stays the slot's for the next run,
 * or, without a group, no such child was found. Else a group is killed and the slot loses
 * it (it is removed once its processes are gone). */
bool sf_reaper_run_done(struct sf_reaper *rp, struct sf_cgslot *cg, const char *log,
                        const pid_t *live, size_t nlive);

/* The end of a slot: its group removed, or killed and removed later. */
void sf_reaper_slot_close(struct sf_reaper *rp, struct sf_cgslot *cg);

/* Kill again what is in the dying cgroups; remove those now empty. */
void sf_reaper_poll(struct sf_reaper *rp);

/* The end of the pool: every child left killed and reaped, round after round as their own
 * children are orphaned to us, the cgroups removed (a warning after a few seconds). */
void sf_reaper_close(struct sf_reaper *rp);

#endif
