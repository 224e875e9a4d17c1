/* The exploration's plan: its options and selections (struct sf_explore) and the failure
 * points grown from the logged calls (engine/explore_points.c) — what the verb, the runs
 * (explore.c) and the search (search.c) share. */
#ifndef SF_POINTS_H
#define SF_POINTS_H

#include <stdbool.h>
#include <stdint.h>

#include "report.h"
#include "runner.h"

#define SF_MAX_ERRNO_SEL 64

struct sf_explore {
  struct sf_report rep;     /* options, baseline and points */
  uint64_t calls_mask;      /* calls to explore (--calls), bit per call id */
  int errnos[SF_MAX_ERRNO_SEL]; /* --errnos selection; none: see all_errnos */
  unsigned nerrnos;
  /* --errnos all: every documented errno, bug-only ones too, each rule with :force so the
   * shim's kernel-state checks let it through; without a selection, only the errnos the
   * environment can cause to a correct call (calls.def's ENV_ column) */
  bool all_errnos;
  /* every rule with :force (--force, --errnos all): past the shim's state checks */
  bool force;
  unsigned pairs_per_fault; /* later calls considered for a second fault */
  /* the baseline's calls came from more than one process (it forks children that make
   * calls): every fault counts its occurrences over the process tree (:per=tree), set by
   * sf_points_singles */
  bool per_tree;
};

/* The errnos to try on a call, in table order: the selection where documented, else all
 * documented ones with --errnos all, else the environment's; without --errnos all, not the
 * AF_UNIX path errnos (ENV_FS) unless the baseline made the call on an AF_UNIX socket
 * (unix_seen): the shim would not inject them elsewhere (docs/faithful.md). Returns how
 * many were written to out. */
unsigned sf_explore_errnos(const struct sf_explore *x, int call, bool unix_seen, int *out,
                           unsigned max);

/* Add the single-fault points from the baseline's calls to x->rep, keeping only those of
 * the shard; sets rep.total_points. Returns the number added, -1 when out of memory. */
long sf_points_singles(struct sf_explore *x, const struct sf_logcall *calls, size_t ncalls);
/* The baseline's calls came from more than one process (it forked children that made calls):
 * its points then count occurrences over the process tree (per=tree). */
bool sf_baseline_forked(const struct sf_logcall *calls, size_t ncalls);
/* The occurrence of calls[j] among its call's records: per process (the log's n), or over
 * the whole tree in the log's order (tree: per=tree). */
unsigned long long sf_occurrence(const struct sf_logcall *calls, size_t j, bool tree);

/* Keep the first SF_TIMELINE_MAX of the baseline's calls in rep.baseline for the reports.
 * 0, or -1 when out of memory. */
int sf_explore_timeline(struct sf_report *r, const struct sf_logcall *calls, size_t ncalls);

/* Add --depth 2 pairs grown from the single points already judged (res[i] is the run of
 * the i-th point of the report, with its calls kept). At most budget; returns how many. */
long sf_points_pairs(struct sf_explore *x, const struct sf_runres *res, size_t nsingles,
                     unsigned budget);

#endif
