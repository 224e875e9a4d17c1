/* The exploration's state, shared by its parts —
 *   cli/cmd_explore.c        the verb: options, the progress line, the reports
 *   engine/explore.c         the baseline, then running and judging the points
 *   engine/explore_points.c  which failure points (and pairs) to run, from the logged calls
 *   engine/search.c          --search: schedules of several faults, and their minimisation
 *   engine/outcome.c         the class of each run
 *   engine/runner.c          running programs in parallel under the shim */
#ifndef SF_EXPLORE_H
#define SF_EXPLORE_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>

#include "report.h"
#include "runner.h"
#include "session.h"

#define SF_MAX_ERRNO_SEL 64

struct sf_explore {
  struct sf_report rep;     /* options, baseline and points */
  uint64_t calls_mask;      /* calls to explore (--calls), bit per call id */
  int errnos[SF_MAX_ERRNO_SEL]; /* --errnos selection; none: every documented errno */
  unsigned nerrnos;
  unsigned pairs_per_fault; /* later calls considered for a second fault */
};

/* The errnos to try on a call, in table order: the selection where documented, else all
 * documented ones. Returns how many were written to out. */
unsigned sf_explore_errnos(const struct sf_explore *x, int call, int *out, unsigned max);

/* Add the single-fault points from the baseline's calls to x->rep, keeping only those of
 * the shard; sets rep.total_points. Returns the number added, -1 when out of memory. */
long sf_points_singles(struct sf_explore *x, const struct sf_logcall *calls, size_t ncalls);

/* Keep the first SF_TIMELINE_MAX of the baseline's calls in rep.baseline for the reports.
 * 0, or -1 when out of memory. */
int sf_explore_timeline(struct sf_report *r, const struct sf_logcall *calls, size_t ncalls);

/* Add --depth 2 pairs grown from the single points already judged (res[i] is the run of
 * the i-th point of the report, with its calls kept). At most budget; returns how many. */
long sf_points_pairs(struct sf_explore *x, const struct sf_runres *res, size_t nsingles,
                     unsigned budget);

/* What the verb hears of the exploration as it goes. */
struct sf_explore_hooks {
  /* a point's run was judged: done of total runs so far (total grows with --depth 2) */
  void (*judged)(void *ctx, size_t done, size_t total, const struct sf_point *p);
  void (*points_start)(void *ctx); /* the baseline is done, the points' runs begin */
  void (*searched)(void *ctx, const char *line); /* --search: its state, after each batch */
  void *ctx;
};

/* The baseline, then every point of the shard (and the pairs of --depth 2), each judged;
 * the report sorted. 0, SOCKFAULT_EXIT_BASELINE after saying why the baseline failed,
 * 128+N when *s->pool.stop became N, or SOCKFAULT_EXIT_INTERNAL. */
int sf_explore_run(struct sf_explore *x, struct sf_session *s, const struct sf_explore_hooks *h);

#endif
