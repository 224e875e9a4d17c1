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

/* What an errno says about the request it hit: try again (EINTR, EAGAIN, and ENOBUFS or
 * ENOMEM on a call moving data: losing the request is the program's bug), the connection
 * is over (ECONNRESET, EPIPE, ...: losing it is fine), or neither. */
enum sf_err_kind { SF_EK_OTHER, SF_EK_TRY_AGAIN, SF_EK_ENDS };
enum sf_err_kind sf_err_kind(int call, int err);

#endif
