/* The set-up every run of a failure point shares (session.h). */
#define _GNU_SOURCE
#include "session.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fs.h"
#include "launch.h"
#include "msg.h"
#include "sockfault/exit.h"

int sf_session_open(struct sf_session *s, const char *verb, const struct sf_report *r,
                    unsigned jobs, volatile sig_atomic_t *stop, enum sf_backend backend)
{
  char err[1024], chose[PATH_MAX + 64];
  memset(s, 0, sizeof *s);
  if (sf_backend_choose(backend, r->prog, &backend, chose, sizeof chose, err, sizeof err) != 0 ||
      (backend == SF_BACKEND_PRELOAD && sf_find_shim(s->shim, sizeof s->shim, err, sizeof err) != 0)) {
    sf_err(verb, "%s", err);
    return SOCKFAULT_EXIT_TARGET;
  }
  if (chose[0])
    sf_err(verb, "%s", chose);
  if (r->context > 1 && backend == SF_BACKEND_SECCOMP) {
    /* a trapped system call shows its instruction pointer (in libc), not the program's
     * frames: there is no caller to read */
    sf_err(verb, "--context 2 needs the preload backend: the seccomp backend cannot see a call "
           "site's caller");
    return SOCKFAULT_EXIT_TARGET;
  }
  unsetenv("SOCKFAULT");
  unsetenv("SOCKFAULT_FILE");
  const char *asan = getenv("ASAN_OPTIONS");
  if (!asan || !strstr(asan, "verify_asan_link_order")) {
    char opts[2048];
    snprintf(opts, sizeof opts, "verify_asan_link_order=0%s%s", asan && *asan ? ":" : "",
             asan ? asan : "");
    setenv("ASAN_OPTIONS", opts, 1);
  }
  const char *tmp = getenv("TMPDIR");
  snprintf(s->base, sizeof s->base, "%s/sockfault-%s.XXXXXX", tmp && *tmp ? tmp : "/tmp", verb);
  if (!mkdtemp(s->base)) {
    sf_err(verb, "mkdtemp %s: %s", s->base, strerror(errno));
    s->base[0] = '\0';
    return SOCKFAULT_EXIT_INTERNAL;
  }
  s->pool = (struct sf_pool){.tmpbase = s->base, .jobs = jobs, .stop = stop};
  s->proto = (struct sf_runspec){
      .shim = s->shim, .seccomp = backend == SF_BACKEND_SECCOMP, .prog = r->prog, .args = r->args, .nargs = r->nargs,
      .check = r->check, .peer = r->peer, .timeout_ms = r->timeout_ms,
      .term_grace_ms = r->term_grace_ms < r->timeout_ms ? r->term_grace_ms : r->timeout_ms,
      /* the baseline's checks and two more: its later occurrences */
      .pre_checks = r->checks + 2, .context = r->context};
  return 0;
}

void sf_session_close(struct sf_session *s, const char *verb)
{
  if (s->base[0] && sf_rmtree(s->base) != 0)
    sf_err(verb, "warning: could not remove %s: %s", s->base, strerror(errno));
  s->base[0] = '\0';
}
