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
#include "points.h"
#include "session.h"

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
