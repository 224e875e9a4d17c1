/* Outcome classes of failure points (outcome.h). The tests in sf_classify run in order and
 * the first that holds decides: what the run itself proves first (a sanitizer report, which
 * outranks the crash it came with; a crash by a signal not ours), then whether the fault
 * fired at all (not-reached), then the run's end (hang, never listening, stopped serving),
 * then what it left (fd-leak, silent). It is not the order of the classes' severity. */
#define _GNU_SOURCE
#include "outcome.h"

#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "table.h"
#include "text.h"

/* The last non-empty line of the stderr tail, trimmed, for "exited 1: <message>". */
static void sf_last_line(const char *tail, char *out, size_t len)
{
  out[0] = '\0';
  if (!tail)
    return;
  size_t n = strlen(tail);
  while (n > 0 && (tail[n - 1] == '\n' || tail[n - 1] == '\r' || tail[n - 1] == ' '))
    n--;
  size_t start = n;
  while (start > 0 && tail[start - 1] != '\n')
    start--;
  size_t l = n - start;
  if (l >= len)
    l = len - 1;
  memcpy(out, tail + start, l);
  out[l] = '\0';
  for (size_t i = 0; i < l; i++)
    if ((unsigned char)out[i] < 0x20)
      out[i] = ' ';
}

static void sf_set(struct sf_point *p, enum sf_class c, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void sf_set(struct sf_point *p, enum sf_class c, const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  p->cls = c;
  free(p->detail);
  p->detail = NULL;
  if (vasprintf(&p->detail, fmt, ap) < 0)
    p->detail = NULL;
  va_end(ap);
}

/* "exited with status 1: bind: Permission denied" */
static void sf_exit_words(const struct sf_runres *res, const char *tail, char *buf, size_t len)
{
  char sig[32], msg[160];
  if (WIFSIGNALED(res->wstatus)) {
    snprintf(buf, len, "killed by %s", sf_signal_name(WTERMSIG(res->wstatus), sig, sizeof sig));
    return;
  }
  sf_last_line(tail, msg, sizeof msg);
  snprintf(buf, len, "exited with status %d%s%s", WEXITSTATUS(res->wstatus), msg[0] ? ": " : "",
           msg);
}

/* A check passed: the server did serve before whatever happened next. */
static bool sf_served(const struct sf_runres *res)
{
  for (int i = 0; i < res->checks; i++)
    if (res->check_status[i] == 0)
      return true;
  return false;
}

/* A sustained fault spins when, while it lasted, the program used more than half a core or
 * retried the failing call faster than any back-off would (a 1 ms sleep allows 1000/s). */
#define SF_SPIN_CPU_PERCENT 50
#define SF_SPIN_RATE 1000

static bool sf_spun(const struct sf_runres *res)
{
  return res->lifted &&
         (res->window_cpu > SF_SPIN_CPU_PERCENT || res->window_rate > SF_SPIN_RATE);
}

void sf_classify(const struct sf_report *r, struct sf_runres *res, unsigned nrules,
              struct sf_point *p)
{
  const struct sf_baseline *b = &r->baseline;
  const bool server = r->check != NULL;
  const unsigned long long all = nrules >= 64 ? ~0ull : (1ull << nrules) - 1;
  char words[256], sig[32];
  p->done = true;
  p->port = res->port;
  p->fired = (res->fired & all) == all;
  p->duration_ms = res->duration_ms;
  p->cpu_ms = res->cpu_ms;
  p->spinning = res->spinning;
  p->sockets = res->sockets;
  p->window_cpu = res->window_cpu;
  p->window_rate = res->window_rate;
  p->recover_ms = res->recover_ms;
  const bool lasting = sf_point_kind(p) == SF_KIND_SUSTAINED;
  const long long win = p->fault[0].window_ms;
  p->exit_status = -1;
  p->signal = 0;
  free(p->stderr_tail);
  p->stderr_tail = res->stderr_tail;
  res->stderr_tail = NULL;
  if (res->spawn_failed) {
    sf_set(p, SF_C_NOT_REACHED, "not run: %s", res->spawn_err);
    p->done = false;
    p->finding = false;
    return;
  }
  const bool killed_by_us = res->timed_out || res->ignored_term;
  if (WIFEXITED(res->wstatus) && !killed_by_us)
    p->exit_status = WEXITSTATUS(res->wstatus);
  if (WIFSIGNALED(res->wstatus))
    p->signal = WTERMSIG(res->wstatus);
  sf_exit_words(res, p->stderr_tail, words, sizeof words);
  /* A signal is ours when we timed the run out, or the server died of the SIGTERM we sent
   * just as it did in the baseline. */
  const bool our_signal =
      killed_by_us || (res->termed && p->signal == SIGTERM && b->signal == SIGTERM);
  const char *spin = res->spinning ? "spinning" : "not spinning";

  if (res->sanitizer)
    sf_set(p, SF_C_SANITIZER, "%s report on stderr (%s)", res->sanitizer, words);
  else if (p->signal && !our_signal)
    sf_set(p, SF_C_CRASH, "killed by %s%s", sf_signal_name(p->signal, sig, sizeof sig),
           res->termed ? " (after SIGTERM)" : "");
  else if (!p->fired)
    sf_set(p, SF_C_NOT_REACHED, "the fault never fired (the run diverged from the baseline)%s",
           res->timed_out ? "; it also timed out" : "");
  else if (res->timed_out && server && !res->ready && !res->spinning)
    sf_set(p, SF_C_STOPPED_SERVING, "alive but never listened within %lld ms (%d%% busy)",
           r->timeout_ms, res->cpu_percent);
  else if (res->timed_out)
    sf_set(p, SF_C_HANG, "still running after %lld ms, %s (%d%% busy)%s", r->timeout_ms, spin,
           res->cpu_percent, server && res->ready ? " while being checked" : "");
  else if (res->ignored_term)
    sf_set(p, SF_C_HANG, "did not exit after SIGTERM, %s (%d%% busy): killed", spin,
           res->cpu_percent);
  else if (lasting && sf_spun(res))
    sf_set(p, SF_C_SPIN, "while the fault lasted (%lld ms): %d%% of a core, %lld failed "
           "calls/s%s", win, res->window_cpu, res->window_rate,
           !server ? "" : res->recovered ? "; served again after it was lifted"
                                         : "; did not serve again after it was lifted");
  else if (lasting && server && res->lifted && !res->recovered && !res->exited_early)
    sf_set(p, SF_C_NO_RECOVERY, "did not serve again within %lld ms after the fault was lifted "
           "(while it lasted, %lld ms: %d%% of a core, %lld failed calls/s)", r->timeout_ms,
           win, res->window_cpu, res->window_rate);
  else if (server && !res->ready)
    sf_set(p, SF_C_ERROR_EXIT, "%s, before listening", words);
  else if (server && res->exited_early && !sf_served(res) &&
           (res->checks_started == 0 || res->fired_before_checks))
    sf_set(p, SF_C_ERROR_EXIT, "%s, after listening but before serving", words);
  else if (server && res->exited_early)
    sf_set(p, SF_C_STOPPED_SERVING, "%s after the fault, while serving", words);
  else if (server && !lasting && res->avail_check >= 0 &&
           res->check_status[res->avail_check] != 0 && res->spinning)
    sf_set(p, SF_C_HANG, "stopped serving and spinning (%d%% busy): the check after the "
           "fault failed with status %d", res->cpu_percent, res->check_status[res->avail_check]);
  else if (server && !lasting && res->avail_check >= 0 &&
           res->check_status[res->avail_check] != 0)
    sf_set(p, SF_C_STOPPED_SERVING, "alive, but the check after the fault failed (status %d; "
           "%d%% busy)", res->check_status[res->avail_check], res->cpu_percent);
  else if (server && (p->signal != b->signal || (!p->signal && p->exit_status != b->exit_status)))
    sf_set(p, SF_C_ERROR_EXIT, "%s after SIGTERM (the baseline: %s %d)", words,
           b->signal ? "signal" : "status", b->signal ? b->signal : b->exit_status);
  else if (!server && p->exit_status != r->expect_status)
    sf_set(p, SF_C_ERROR_EXIT, "%s", words);
  else if (!server && b->stdout_stable && strcmp(res->stdout_hash, b->stdout_hash) != 0)
    sf_set(p, SF_C_SILENT, "exited %d after the fault, but its output differs from the "
           "baseline's (%llu bytes)", p->exit_status, res->stdout_bytes);
  else if (p->sockets >= 0 && b->sockets >= 0 && p->sockets > b->sockets)
    sf_set(p, SF_C_FD_LEAK, "%d socket(s) open at exit, %d in the baseline", p->sockets,
           b->sockets);
  else if (server && lasting && res->recovered)
    sf_set(p, SF_C_OK, "served again %lld ms after the fault was lifted (while it lasted: %d%% "
           "of a core, %lld failed calls/s); %s after SIGTERM", res->recover_ms,
           res->window_cpu, res->window_rate, words);
  else if (server)
    sf_set(p, SF_C_OK, "still served after the fault; %s after SIGTERM", words);
  else
    sf_set(p, SF_C_OK, "%s", words);
  p->finding = (r->fail_on & SF_CLASS_BIT(p->cls)) != 0;
}
