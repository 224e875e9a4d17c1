/* explore --search: a guided search over fault schedules of up to --max-faults faults,
 * steered by the error paths the program takes (search.c), and the minimisation of each
 * finding's schedule (minimise.c). */
#ifndef SF_SEARCH_H
#define SF_SEARCH_H

#include <stdbool.h>
#include <stddef.h>

#include "points.h"
#include "session.h"

/* Schedules run this many at a time, each batch chosen from what the earlier ones showed:
 * the choices depend on --seed, never on --jobs. */
#define SF_SEARCH_BATCH 8

/* A fault schedule: one shim rule per fault. */
struct sf_sched {
  unsigned n;
  struct sf_fault f[SF_MAX_FAULTS];
};

/* What the search needs from the verb. */
struct sf_search_io {
  struct sf_explore *x;
  struct sf_session *session;      /* the pool and the runs' common spec */
  unsigned runs_before;            /* the exploration's runs so far: ordinals go on from it */
  void (*status)(void *ctx, const char *line); /* the progress line, or NULL */
  void *ctx;
};

/* Search from the single-fault points rep.points[0..nsingles) and their runs (calls kept),
 * within x->rep.search runs; each finding is minimised and added to the report as a point
 * grown from the single point its schedule started from. 0, or -1 when stopped or out of
 * memory. The statistics go to x->rep.searched. */
int sf_search(struct sf_search_io *io, const struct sf_runres *singles, size_t nsingles);

/* Runs n schedules and judges each into out[i] (zeroed first; the caller frees what each
 * owns with sf_point_free). 0, or -1 when stopped. */
typedef int (*sf_sched_runner)(void *ctx, const struct sf_sched *s, size_t n,
                               struct sf_point *out);

/* Delta debugging of a schedule whose run gave class cls (a finding): faults are dropped
 * while the run without them still gives cls, until dropping any one loses it (1-minimal).
 * *best gets the minimal schedule, *pt its run (taking over pt's strings). Returns the runs
 * made, or -1 when stopped. */
long sf_minimise(const struct sf_sched *s, struct sf_point *pt, sf_sched_runner run, void *ctx,
                 struct sf_sched *best);

#endif
