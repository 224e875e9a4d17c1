/* The exploration proper: the baseline, then one run per failure point (and pair), each
 * judged as it ends (explore.h). The verb around it is cli/cmd_explore.c. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "explore.h"
#include "launch.h"
#include "msg.h"
#include "outcome.h"
#include "search.h"
#include "sockfault/exit.h"
#include "table.h"
#include "text.h"

/* What the pool's progress callback needs to judge each run as it ends. */
struct sf_batch {
  struct sf_explore *x;
  const struct sf_explore_hooks *hooks;
  size_t from, base, total;
  struct sf_runres *res;
  bool *judged;
};

static void sf_batch_done(void *ctx, size_t done, size_t total, const struct sf_runres *last,
                          size_t idx)
{
  struct sf_batch *b = ctx;
  (void)last;
  (void)total;
  if (!b->res)
    return; /* the baseline's runs are not points */
  struct sf_point *p = &b->x->rep.points[b->from + idx];
  sf_classify(&b->x->rep, &b->res[idx], p->nfaults, p);
  b->judged[idx] = true;
  if (b->hooks && b->hooks->judged)
    b->hooks->judged(b->hooks->ctx, b->base + done, b->base + b->total, p);
}

/* The runs of points [from, to) of the report; each judged; res kept for pair selection. */
static int sf_run_points(struct sf_explore *x, struct sf_session *s, struct sf_batch *b,
                         size_t from, size_t to, struct sf_runres **resp)
{
  size_t n = to - from;
  struct sf_runspec *specs = calloc(n ? n : 1, sizeof *specs);
  struct sf_runres *res = calloc(n ? n : 1, sizeof *res);
  char **rules = calloc(n ? n : 1, sizeof *rules);
  bool *judged = calloc(n ? n : 1, sizeof *judged);
  int rc = -1;
  if (!specs || !res || !rules || !judged)
    goto out;
  for (size_t i = 0; i < n; i++) {
    char text[SF_POINT_RULES_MAX];
    sf_point_rules(&x->rep.points[from + i], text, sizeof text);
    rules[i] = strdup(text);
    if (!rules[i])
      goto out;
    specs[i] = s->proto;
    specs[i].rules = rules[i];
    specs[i].nrules = x->rep.points[from + i].nfaults;
    x->rep.points[from + i].run = (unsigned)(from + i + 1); /* points run in report order */
    specs[i].window_ms = x->rep.points[from + i].fault[0].window_ms;
    specs[i].burst = sf_fault_burst(&x->rep.points[from + i].fault[0]);
  }
  b->from = from;
  b->total = n;
  b->res = res;
  b->judged = judged;
  rc = sf_pool_run(&s->pool, specs, res, n);
  b->res = NULL;
  b->judged = NULL;
  for (size_t i = 0; i < n; i++) /* the runs not reported by the pool: interrupted */
    if (!judged[i]) {
      struct sf_point *p = &x->rep.points[from + i];
      sf_classify(&x->rep, &res[i], specs[i].nrules, p);
      if (b->hooks && b->hooks->judged)
        b->hooks->judged(b->hooks->ctx, b->base + n, b->base + n, p);
    }
  b->base += n;
out:
  for (size_t i = 0; rules && i < n; i++)
    free(rules[i]);
  free(rules);
  free(specs);
  free(judged);
  if (resp)
    *resp = res;
  else {
    for (size_t i = 0; res && i < n; i++)
      sf_runres_free(&res[i]);
    free(res);
  }
  return rc;
}

static int sf_failed_check(const struct sf_runres *b)
{
  for (int i = 0; i < b->checks; i++)
    if (b->check_status[i] != 0)
      return i;
  return -1;
}

/* Why the baseline cannot be judged, or NULL when it can. */
static const char *sf_baseline_problem(const struct sf_report *r, const struct sf_runres *b,
                                       char *buf, size_t len)
{
  char sig[32];
  if (b->spawn_failed)
    snprintf(buf, len, "%s", b->spawn_err);
  else if (b->log_records == 0)
    snprintf(buf, len, "the shim logged nothing: is the program dynamically linked, and does "
             "it keep its environment (LD_PRELOAD, SOCKFAULT_LOG)? (--backend seccomp "
             "reaches any program)");
  else if (b->sanitizer)
    snprintf(buf, len, "%s report on stderr without any fault", b->sanitizer);
  else if (b->timed_out)
    snprintf(buf, len, "%s within --timeout (%lld ms)",
             r->check && !b->ready ? "never listened" : r->check ? "the check did not finish"
                                                                 : "did not exit",
             r->timeout_ms);
  else if (r->check && !b->ready)
    snprintf(buf, len, "exited (status %d) without listening", sf_status_code(b->wstatus));
  else if (r->check && (b->checks < 1 || b->exited_early))
    snprintf(buf, len, "exited (status %d) while serving", sf_status_code(b->wstatus));
  else if (r->check && sf_failed_check(b) >= 0)
    snprintf(buf, len, "check %d of %d failed (status %d) against the unfaulted server",
             sf_failed_check(b) + 1, b->checks, b->check_status[sf_failed_check(b)]);
  else if (r->check && b->ignored_term)
    snprintf(buf, len, "did not exit after SIGTERM");
  else if (r->check && b->exited_late)
    snprintf(buf, len, "exited only %lld ms after SIGTERM, past --term-grace (%lld ms)",
             b->term_ms, r->term_grace_ms);
  else if (r->peer && b->peer_status != 0)
    snprintf(buf, len, "the --server peer %s against the unfaulted client",
             b->peer_killed ? "never ended (killed)" : "failed");
  else if (r->context > 1 && b->ncalls && !b->calls[0].caller[0])
    snprintf(buf, len, "--context 2, but the shim logged no caller of a call site "
             "(SOCKFAULT_LOG_CONTEXT=2 not understood: an older libsockfault.so?)");
  else if (!r->check && WIFSIGNALED(b->wstatus))
    snprintf(buf, len, "killed by %s", sf_signal_name(WTERMSIG(b->wstatus), sig, sizeof sig));
  else if (!r->check && WEXITSTATUS(b->wstatus) != r->expect_status)
    snprintf(buf, len, "exited with status %d, expected %d (--expect-status)",
             WEXITSTATUS(b->wstatus), r->expect_status);
  else
    return NULL;
  return buf;
}

static int sf_baseline(struct sf_explore *x, struct sf_session *s, struct sf_runres *base)
{
  struct sf_report *r = &x->rep;
  /* A program that is not a server runs twice: output that differs between two unfaulted
   * runs cannot tell a swallowed error (silent) from noise. */
  struct sf_runspec specs[2] = {s->proto, s->proto};
  struct sf_runres res[2];
  specs[0].keep_calls = true;
  /* A server is checked twice: the second connection often takes another path (the loop
   * after a first client, a reused buffer), and its calls become points too. */
  specs[0].min_checks = specs[1].min_checks = r->checks;
  size_t n = r->check ? 1 : 2;
  if (sf_pool_run(&s->pool, specs, res, n) != 0 && *s->pool.stop)
    return -1;
  char why[600];
  for (size_t i = 0; i < n; i++) {
    if (sf_baseline_problem(r, &res[i], why, sizeof why)) {
      sf_err("explore", "the baseline (unfaulted) run failed: %s; nothing can be judged", why);
      if (res[i].stderr_tail && res[i].stderr_tail[0])
        fprintf(stderr, "--- its stderr (tail) ---\n%s\n---\n", res[i].stderr_tail);
      for (size_t k = 0; k < n; k++)
        sf_runres_free(&res[k]);
      return -1;
    }
  }
  if (r->check && res[0].ready_unlogged)
    sf_err("explore", "note: its log never showed a listen (it closed the shim's log where "
           "the shim could not reopen it, or it listens in a process without the shim); it "
           "was seen listening in /proc, and the calls it made unlogged are not explored");
  struct sf_baseline *b = &r->baseline;
  b->exit_status = WIFEXITED(res[0].wstatus) ? WEXITSTATUS(res[0].wstatus) : -1;
  b->signal = WIFSIGNALED(res[0].wstatus) ? WTERMSIG(res[0].wstatus) : 0;
  b->duration_ms = res[0].duration_ms;
  b->cpu_ms = res[0].cpu_ms;
  b->sockets = res[0].sockets;
  b->port = res[0].port;
  memcpy(b->stdout_hash, res[0].stdout_hash, sizeof b->stdout_hash);
  b->stdout_stable = n == 2 && strcmp(res[0].stdout_hash, res[1].stdout_hash) == 0;
  for (int i = 0; i < res[0].checks; i++)
    if (res[0].check_ms[i] > b->check_ms)
      b->check_ms = res[0].check_ms[i];
  struct sf_lines lines = res[0].lines;
  if (n == 2)
    sf_lines_merge(&lines, &res[1].lines);
  b->nlines = lines.n;
  memcpy(b->lines, lines.h, sizeof b->lines);
  b->lines_over = lines.over;
  if (n == 2 && !b->stdout_stable)
    sf_err("explore", "note: two unfaulted runs printed different output; 'silent' is not "
           "judged");
  *base = res[0];
  if (n == 2)
    sf_runres_free(&res[1]);
  return 0;
}

/* The calls the baseline made, for the note that none of them was selected. */
static void sf_calls_seen(const struct sf_runres *b, char *seen, size_t len)
{
  size_t k = 0;
  seen[0] = '\0';
  for (int c = 0; c < SF_NCALLS && k + 16 < len; c++)
    for (size_t i = 0; i < b->ncalls; i++)
      if (b->calls[i].call == c) {
        k += (size_t)snprintf(seen + k, len - k, "%s%s", k ? "," : "", sf_calls[c].name);
        break;
      }
}

int sf_explore_run(struct sf_explore *x, struct sf_session *s, const struct sf_explore_hooks *h)
{
  struct sf_report *r = &x->rep;
  struct sf_batch batch = {.x = x, .hooks = h};
  s->pool.progress = sf_batch_done;
  s->pool.ctx = &batch;
  struct sf_runres base_res;
  struct sf_runres *single_res = NULL;
  int status = SOCKFAULT_EXIT_INTERNAL;
  if (sf_baseline(x, s, &base_res) != 0)
    return *s->pool.stop ? 128 + *s->pool.stop : SOCKFAULT_EXIT_BASELINE;
  long ns = sf_points_singles(x, base_res.calls, base_res.ncalls);
  if (x->per_tree)
    sf_err("explore", "note: the baseline's calls came from more than one process (it forks): "
           "each point fails its call once in the whole process tree (:per=tree), not once "
           "in every child");
  if (ns >= 0 && sf_explore_timeline(r, base_res.calls, base_res.ncalls) != 0)
    ns = -1;
  if (r->total_points == 0) {
    char seen[1024];
    sf_calls_seen(&base_res, seen, sizeof seen);
    sf_err("explore", "note: the baseline made none of the selected socket calls (it made: "
           "%s); nothing to explore", seen[0] ? seen : "none");
  }
  sf_runres_free(&base_res);
  if (ns < 0)
    return SOCKFAULT_EXIT_INTERNAL;
  if (h && h->points_start)
    h->points_start(h->ctx);
  s->proto.keep_calls = r->depth >= 2 || r->search > 0;
  if (sf_run_points(x, s, &batch, 0, r->npoints, &single_res) != 0 && *s->pool.stop)
    goto interrupted;
  if (r->search) {
    size_t nsingles = r->npoints;
    s->pool.progress = NULL; /* the search judges its own runs and says so after each batch */
    struct sf_search_io io = {.x = x, .session = s, .runs_before = (unsigned)nsingles,
                              .status = h ? h->searched : NULL, .ctx = h ? h->ctx : NULL};
    int src = sf_search(&io, single_res, nsingles);
    for (size_t i = 0; i < nsingles; i++)
      sf_runres_free(&single_res[i]);
    free(single_res);
    single_res = NULL;
    if (src != 0 && *s->pool.stop)
      goto interrupted;
    if (src != 0)
      goto out;
  }
  if (r->depth >= 2) {
    size_t nsingles = r->npoints;
    long np = sf_points_pairs(x, single_res, nsingles, r->budget);
    for (size_t i = 0; i < nsingles; i++)
      sf_runres_free(&single_res[i]);
    free(single_res);
    single_res = NULL;
    if (np < 0)
      goto out;
    s->proto.keep_calls = false;
    if (sf_run_points(x, s, &batch, nsingles, r->npoints, NULL) != 0 && *s->pool.stop)
      goto interrupted;
  }
  sf_report_sort(r);
  status = 0;
  goto out;
interrupted:
  status = 128 + *s->pool.stop;
out:
  if (single_res) {
    for (size_t i = 0; i < r->npoints; i++)
      sf_runres_free(&single_res[i]);
    free(single_res);
  }
  return status;
}
