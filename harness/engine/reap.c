/* Killing and reaping what the runs leave behind (reap.h). */
#define _GNU_SOURCE
#include "reap.h"

#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "clock.h"
#include "proc.h"
#include "msg.h"

#define SF_REAP_MS 5000 /* at the end, how long to keep killing what is left */
#define SF_KIDS_MAX 1024

/* Our fds 0, 1, 2 must be open: else a pipe or log of a run could take their number, and
 * the reports, or the child's dup2 of its stdio, would land in the wrong file. */
static void sf_stdio_open(void)
{
  for (int fd = 0; fd < 3; fd++)
    if (fcntl(fd, F_GETFD) < 0) {
      int null = open("/dev/null", O_RDWR);
      if (null >= 0 && null != fd) {
        dup2(null, fd);
        close(null);
      }
    }
}

void sf_reaper_open(struct sf_reaper *rp)
{
  static bool noted;
  char why[PATH_MAX + 128];
  memset(rp, 0, sizeof *rp);
  sf_stdio_open();
  if (sf_cg_open(&rp->cg, why, sizeof why) != 0 && geteuid() == 0 && !noted) {
    noted = true;
    sf_warn("sockfault: note: runs have no bound on their processes (%s; "
            "RLIMIT_NPROC does not bind root)\n", why);
  }
}

static void sf_dying_add(struct sf_reaper *rp, const char *dir)
{
  if (rp->ndying == rp->cap) {
    size_t cap = rp->cap ? rp->cap * 2 : 16;
    char **d = realloc(rp->dying, cap * sizeof *d);
    if (!d)
      return; /* left behind: sf_cg_close warns */
    rp->dying = d;
    rp->cap = cap;
  }
  if ((rp->dying[rp->ndying] = strdup(dir)))
    rp->ndying++;
}

void sf_reaper_poll(struct sf_reaper *rp)
{
  size_t k = 0;
  for (size_t i = 0; i < rp->ndying; i++) {
    if (sf_cg_reap(rp->dying[i]) == 0)
      free(rp->dying[i]);
    else
      rp->dying[k++] = rp->dying[i];
  }
  rp->ndying = k;
}

static void sf_reap_group(struct sf_reaper *rp, struct sf_cgslot *cg)
{
  char dir[PATH_MAX];
  snprintf(dir, sizeof dir, "%s", cg->dir);
  sf_cg_slot_forget(cg);
  if (dir[0] && sf_cg_reap(dir) != 0)
    sf_dying_add(rp, dir);
}

bool sf_reaper_run_done(struct sf_reaper *rp, struct sf_cgslot *cg, const char *log,
                        const pid_t *live, size_t nlive)
{
  if (cg && cg->dir[0]) { /* the cgroup holds every descendant, setsid or not */
    if (sf_cg_slot_empty(cg))
      return true;
    sf_reap_group(rp, cg);
    return false;
  }
  /* without: those orphaned to us, the subreaper, known by the run's log path */
  pid_t kids[SF_KIDS_MAX];
  size_t k = sf_children(kids, SF_KIDS_MAX);
  char kv[PATH_MAX + 32];
  snprintf(kv, sizeof kv, "SOCKFAULT_LOG=%s", log);
  bool clean = true;
  for (size_t i = 0; i < k && i < SF_KIDS_MAX; i++) {
    bool known = false;
    for (size_t j = 0; j < nlive && !known; j++)
      known = live[j] == kids[i];
    if (!known && sf_proc_has_env(kids[i], kv)) {
      kill(kids[i], SIGKILL);
      clean = false;
    }
  }
  return clean && k <= SF_KIDS_MAX;
}

void sf_reaper_slot_close(struct sf_reaper *rp, struct sf_cgslot *cg)
{
  sf_reap_group(rp, cg);
}

void sf_reaper_close(struct sf_reaper *rp)
{
  long long deadline = sf_now_ms() + SF_REAP_MS;
  for (;;) {
    sf_reaper_poll(rp);
    pid_t kids[SF_KIDS_MAX];
    size_t k = sf_children(kids, SF_KIDS_MAX);
    for (size_t i = 0; i < k && i < SF_KIDS_MAX; i++)
      kill(kids[i], SIGKILL);
    int st;
    while (waitpid(-1, &st, WNOHANG) > 0) {
    }
    if (k == 0 && rp->ndying == 0)
      break;
    if (sf_now_ms() > deadline) {
      sf_warn("sockfault: warning: %zu process(es) and %zu cgroup(s) of the runs "
              "still there after %d ms of SIGKILL\n", k, rp->ndying, SF_REAP_MS);
      break;
    }
    usleep(2000);
  }
  for (size_t i = 0; i < rp->ndying; i++)
    free(rp->dying[i]);
  free(rp->dying);
  rp->dying = NULL;
  rp->ndying = rp->cap = 0;
  sf_cg_close(&rp->cg);
}
