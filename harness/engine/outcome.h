/* Judging one run against the baseline: the outcome class of a failure point and a line
 * saying what happened. Pure: a run's result in, the point's outcome fields out. */
#ifndef SF_OUTCOME_H
#define SF_OUTCOME_H

#include <stdbool.h>

#include "report.h"
#include "runner.h"

/* Fill p's outcome (cls, fired, exit_status, signal, spinning, duration, cpu, sockets,
 * detail, stderr_tail; finding from r->fail_on) from res. Takes res->stderr_tail. */
void sf_classify(const struct sf_report *r, struct sf_runres *res, unsigned nrules,
              struct sf_point *p);

#endif
