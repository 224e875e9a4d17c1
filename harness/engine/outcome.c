/* Outcome classes of failure points (outcome.h). The tests in sf_classify run in order and
 * the first that holds decides: what the run itself proves first (a sanitizer report, which
 * outranks the crash it came with; a crash by a signal not ours), then whether the fault
 * fired at all (not-reached), then the run's end (hang, never listening, stopped serving),
 * then what it left (fd-leak, silent). It is not the order of the classes' severity. */
#define _GNU_SOURCE
#include "outcome.h"

#include <ctype.h>
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "capture.h"
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

/* A check started after the fault passed: it serves again. */
static bool sf_served_after(const struct sf_runres *res)
{
  for (int i = 0; i < res->checks; i++)
    if (res->check_after[i] && res->check_status[i] == 0)
      return true;
  return false;
}

static int sf_checks_after(const struct sf_runres *res)
{
  int n = 0;
  for (int i = 0; i < res->checks; i++)
    n += res->check_after[i];
  return n;
}

static bool sf_is_data_call(int call)
{
  static const int data[] = {SF_ID_send, SF_ID_sendto, SF_ID_sendmsg, SF_ID_recv,
                             SF_ID_recvfrom, SF_ID_recvmsg, SF_ID_read, SF_ID_write,
                             SF_ID_readv, SF_ID_writev};
  for (size_t i = 0; i < sizeof data / sizeof data[0]; i++)
    if (data[i] == call)
      return true;
  return false;
}

enum sf_err_kind sf_err_kind(int call, int err)
{
  switch (err) {
  case EINTR:
  case EAGAIN:
#if EWOULDBLOCK != EAGAIN
  case EWOULDBLOCK:
#endif
    return SF_EK_TRY_AGAIN;
  case ENOBUFS:
  case ENOMEM:
    return sf_is_data_call(call) ? SF_EK_TRY_AGAIN : SF_EK_OTHER;
  case ECONNRESET: case EPIPE: case ENOTCONN: case ETIMEDOUT: case ECONNABORTED:
  case ECONNREFUSED: case EHOSTUNREACH: case ENETUNREACH: case ENETDOWN: case ENETRESET:
  case EHOSTDOWN: case ESHUTDOWN:
    return SF_EK_ENDS;
  default:
    return SF_EK_OTHER;
  }
}

/* The last fault of the point (the one that made the run a point) and whether losing the
 * request it hit is the program's bug: a try-again errno the kernel could have returned
 * there. The shim says when it could not (res->unfaithful, "faithful":false in its log);
 * until it says so for a call, every injection counts as faithful. */
static bool sf_should_retry(const struct sf_point *p, const struct sf_runres *res)
{
  const struct sf_fault *f = &p->fault[p->nfaults - 1];
  if (sf_err_kind(f->call, f->err) != SF_EK_TRY_AGAIN)
    return false;
  return !(res->unfaithful & (1ull << (p->nfaults - 1)));
}

/* Nothing the program printed is new: every line it printed, the baseline printed too. */
static bool sf_said_nothing_new(const struct sf_baseline *b, const struct sf_runres *res)
{
  if (res->lines.over)
    return false;
  for (unsigned i = 0; i < res->lines.n; i++) {
    bool old = false;
    for (unsigned k = 0; k < b->nlines && !old; k++)
      old = b->lines[k] == res->lines.h[i];
    if (!old)
      return false;
  }
  return true;
}

static bool sf_word_in(const char *line, const char *word)
{
  size_t l = strlen(word);
  for (const char *q = line; (q = strstr(q, word)) != NULL; q++) {
    bool left = q == line || !(isalnum((unsigned char)q[-1]) || q[-1] == '_');
    bool right = !(isalnum((unsigned char)q[l]) || q[l] == '_');
    if (left && right)
      return true;
  }
  return false;
}

/* Whether line names errno e: its name (ETIMEDOUT) or its strerror text, any case. */
static bool sf_names_errno(const char *line, int e)
{
  const char *name = sf_errno_name(e);
  const char *text = strerror(e);
  return (name && sf_word_in(line, name)) ||
         (text && strncmp(text, "Unknown error", 13) != 0 && strcasestr(line, text));
}

/* The lines of the tails the baseline did not print name another errno than the injected
 * one, and never the injected one: a message that sends its reader the wrong way. */
static bool sf_misleading(const struct sf_baseline *b, const char *tail, int err, bool *other)
{
  if (!tail)
    return false;
  bool named = false;
  for (const char *line = tail; *line;) {
    const char *nl = strchr(line, '\n');
    size_t len = nl ? (size_t)(nl - line) : strlen(line);
    char buf[512];
    uint64_t h = sf_line_hash(line, len);
    bool old = false;
    for (unsigned k = 0; k < b->nlines && !old; k++)
      old = b->lines[k] == h;
    if (!old && len > 0) {
      snprintf(buf, sizeof buf, "%.*s", (int)(len < sizeof buf ? len : sizeof buf - 1), line);
      if (sf_names_errno(buf, err))
        named = true;
      for (int e = 1; e < 200 && !*other; e++)
        if (e != err && sf_errno_name(e) && sf_names_errno(buf, e))
          *other = true;
    }
    line = nl ? nl + 1 : line + len;
  }
  return named;
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
  p->peer_status = res->peer_status;
  p->misleading = false;
  free(p->stderr_tail);
  p->stderr_tail = res->stderr_tail;
  res->stderr_tail = NULL;
  free(p->checks);
  p->checks = NULL;
  p->nchecks = 0;
  if (res->checks > 0 && (p->checks = calloc((size_t)res->checks, sizeof *p->checks))) {
    p->nchecks = (unsigned)res->checks;
    for (int i = 0; i < res->checks; i++)
      p->checks[i] = (struct sf_check){.status = res->check_status[i], .ms = res->check_ms[i],
                                       .after = res->check_after[i], .hit = i == res->hit};
  }
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
  const struct sf_fault *last = &p->fault[p->nfaults ? p->nfaults - 1 : 0];
  const char *en = sf_errno_name(last->err);
  if (p->fired) {
    bool other = false, named = sf_misleading(b, p->stderr_tail, last->err, &other);
    named = sf_misleading(b, res->stdout_tail, last->err, &other) || named;
    p->misleading = other && !named;
  }
  const bool mute = sf_said_nothing_new(b, res);
  const enum sf_class exit_cls = mute ? SF_C_MUTE_EXIT : SF_C_ERROR_EXIT;
  const char *mute_words = mute ? " without a word (nothing printed the baseline did not)" : "";
  /* A fault in accept after the listen is the serving phase, check or no check yet. */
  const bool accept_fault = last->call == SF_ID_accept || last->call == SF_ID_accept4;
  const bool serving_fault = accept_fault && (res->fired_ready & (1ull << (p->nfaults - 1)));
  const int nafter = sf_checks_after(res);
  const bool hit_lost = res->hit >= 0 && res->check_status[res->hit] != 0 && sf_served_after(res);
  const long long stall_ms = b->check_ms * 5 > b->check_ms + 1000 ? b->check_ms * 5
                                                                     : b->check_ms + 1000;
  const bool hit_stalled = res->hit >= 0 && res->check_status[res->hit] == 0 &&
                           res->check_ms[res->hit] > stall_ms;
  const bool retry = sf_should_retry(p, res);

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
    sf_set(p, SF_C_HANG, "never exited after SIGTERM (waited %lld ms), %s (%d%% busy): killed",
           2 * r->term_grace_ms, spin, res->cpu_percent);
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
    sf_set(p, exit_cls, "%s, before listening%s", words, mute_words);
  else if (server && res->exited_early && !sf_served(res) && !serving_fault &&
           (res->checks_started == 0 || res->fired_before_checks))
    sf_set(p, exit_cls, "%s, after listening but before serving%s", words, mute_words);
  else if (server && res->exited_early)
    sf_set(p, SF_C_STOPPED_SERVING, "%s after the fault, while serving", words);
  else if (server && !lasting && nafter > 0 && !sf_served_after(res) && res->spinning)
    sf_set(p, SF_C_HANG, "stopped serving and spinning (%d%% busy): %d check(s) after the "
           "fault failed (the last with status %d)", res->cpu_percent, nafter,
           res->check_status[res->checks - 1]);
  else if (server && !lasting && nafter > 0 && !sf_served_after(res))
    sf_set(p, SF_C_STOPPED_SERVING, "alive, but %d check(s) after the fault failed (the last "
           "with status %d; %d%% busy)", nafter, res->check_status[res->checks - 1],
           res->cpu_percent);
  else if (!server && r->peer && p->exit_status == r->expect_status && res->peer_status != 0)
    sf_set(p, SF_C_SILENT, "exited %d after the fault, but the --server peer says the data "
           "did not arrive (%s)", p->exit_status,
           res->peer_killed ? "it never ended: killed" : "its status was not 0");
  else if (server && !lasting && hit_lost && retry)
    sf_set(p, SF_C_REQUEST_LOST, "the request %s hit (check %d) failed with status %d, later "
           "checks passed: %s says try again, the request was dropped instead", en,
           res->hit + 1, res->check_status[res->hit], en);
  else if (server && !lasting && hit_stalled && retry)
    sf_set(p, SF_C_REQUEST_STALLED, "the request %s hit (check %d) took %lld ms (the "
           "baseline's slowest check: %lld ms): it waited instead of trying again", en,
           res->hit + 1, res->check_ms[res->hit], b->check_ms);
  else if (server && (p->signal != b->signal || (!p->signal && p->exit_status != b->exit_status)))
    sf_set(p, exit_cls, "%s after SIGTERM (the baseline: %s %d)%s", words,
           b->signal ? "signal" : "status", b->signal ? b->signal : b->exit_status, mute_words);
  else if (!server && p->exit_status != r->expect_status)
    sf_set(p, exit_cls, "%s%s", words, mute_words);
  else if (!server && b->stdout_stable && strcmp(res->stdout_hash, b->stdout_hash) != 0)
    sf_set(p, SF_C_SILENT, "exited %d after the fault, but its output differs from the "
           "baseline's (%llu bytes)", p->exit_status, res->stdout_bytes);
  else if (res->exited_late)
    sf_set(p, SF_C_LATE_EXIT, "exited late (after %.1f s) after SIGTERM; the grace is %.1f s",
           (double)res->term_ms / 1000, (double)r->term_grace_ms / 1000);
  else if (p->sockets >= 0 && b->sockets >= 0 && p->sockets > b->sockets)
    sf_set(p, SF_C_FD_LEAK, "%d socket(s) open at exit, %d in the baseline", p->sockets,
           b->sockets);
  else if (server && lasting && res->recovered)
    sf_set(p, SF_C_OK, "served again %lld ms after the fault was lifted (while it lasted: %d%% "
           "of a core, %lld failed calls/s); %s after SIGTERM", res->recover_ms,
           res->window_cpu, res->window_rate, words);
  else if (server && !lasting && hit_lost)
    sf_set(p, SF_C_OK, "lost the request %s hit (check %d), then served again (%s: %s); "
           "%s after SIGTERM", en, res->hit + 1, en,
           sf_err_kind(last->call, last->err) == SF_EK_ENDS ? "it ends the connection"
           : retry ? "" : res->unfaithful ? "an injection no kernel would make there"
                                          : "not a try-again errno", words);
  else if (server)
    sf_set(p, SF_C_OK, "still served after the fault; %s after SIGTERM", words);
  else
    sf_set(p, SF_C_OK, "%s", words);
  p->finding = (r->fail_on & SF_CLASS_BIT(p->cls)) != 0;
}
