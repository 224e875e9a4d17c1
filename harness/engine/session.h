/* What every run of a failure point shares, set up once, the same way for explore and
 * replay: the backend chosen (PROG checked to be reachable by the preload, the shim found;
 * or the seccomp backend), the caller's own
 * rules taken out of the environment (the session owns every run's rules), ASan-built
 * targets told to tolerate the preload, a private temp dir for the runs, the run pool and
 * the runs' common spec. */
#ifndef SF_SESSION_H
#define SF_SESSION_H

#include <limits.h>
#include <signal.h>

#include "launch.h"
#include "report.h"
#include "runner.h"

struct sf_session {
  char shim[PATH_MAX];
  char base[PATH_MAX];       /* the private temp dir, "" when not made */
  struct sf_pool pool;
  struct sf_runspec proto;   /* PROG, its arguments, the check, the timeouts of r */
};

/* Set s up for the runs of r (r->prog, args, check and timeout_ms set), jobs at once,
 * abandoned when *stop is set, through the backend (auto: seccomp for a static or Go
 * program, said on stderr). 0, or an exit status after saying why ("sockfault VERB:"). */
int sf_session_open(struct sf_session *s, const char *verb, const struct sf_report *r,
                    unsigned jobs, volatile sig_atomic_t *stop, enum sf_backend backend);
/* Remove the temp dir (a warning when it cannot be). */
void sf_session_close(struct sf_session *s, const char *verb);

#endif
