/* Minimising a finding's fault schedule (search.h). With at most SF_MAX_FAULTS faults,
 * ddmin's partitions reduce to its last step: try the schedule without each one fault (in
 * parallel), keep the first that still gives the class, start again; stop when none does.
 * The result is 1-minimal: every fault left is needed, which is what the reproducer promises. */
#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>

#include "search.h"

static void sf_drop(const struct sf_sched *s, unsigned k, struct sf_sched *out)
{
  out->n = 0;
  for (unsigned i = 0; i < s->n; i++)
    if (i != k)
      out->f[out->n++] = s->f[i];
}

long sf_minimise(const struct sf_sched *s, struct sf_point *pt, sf_sched_runner run, void *ctx,
                 struct sf_sched *best)
{
  enum sf_class cls = pt->cls;
  long runs = 0;
  *best = *s;
  /* one fault left: without it the run is the baseline, which was judged fine */
  while (best->n > 1) {
    struct sf_sched trial[SF_MAX_FAULTS];
    struct sf_point out[SF_MAX_FAULTS];
    unsigned n = best->n;
    for (unsigned k = 0; k < n; k++)
      sf_drop(best, k, &trial[k]);
    int rc = run(ctx, trial, n, out);
    runs += n;
    unsigned keep = n;
    for (unsigned k = 0; k < n && keep == n; k++)
      if (out[k].done && out[k].finding && out[k].cls == cls)
        keep = k;
    if (keep < n) {
      sf_point_free(pt);
      *pt = out[keep];
      memset(&out[keep], 0, sizeof out[keep]); /* moved */
      *best = trial[keep];
    }
    for (unsigned k = 0; k < n; k++)
      sf_point_free(&out[k]);
    if (rc != 0)
      return -1;
    if (keep == n)
      break;
  }
  return runs;
}
