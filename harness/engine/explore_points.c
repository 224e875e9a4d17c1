/* Which failure points to run (explore.h): one per call kind seen in the baseline, per
 * occurrence (or call site), per errno; and for --depth 2, pairs whose second fault hits a
 * call the first fault's run went on to make — the retry or cleanup path failing too. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "points.h"
#include "table.h"

unsigned sf_explore_errnos(const struct sf_explore *x, int call, bool unix_seen, int *out,
                           unsigned max)
{
  const struct sf_call_info *c = &sf_calls[call];
  unsigned n = 0;
  for (unsigned i = 0; i < c->nerrnos && n < max; i++) {
    int e = c->errnos[i].err;
    int want = x->nerrnos == 0 && (x->all_errnos || sf_why_env(c->errnos[i].why));
    if (!x->force && !unix_seen && c->errnos[i].why == SF_WHY_ENV_FS)
      continue;
    for (unsigned j = 0; j < x->nerrnos && !want; j++)
      want = x->errnos[j] == e;
    if (want)
      out[n++] = e;
  }
  return n;
}

/* A rule the shim would refuse (a site name it cannot parse, say) is no point at all. */
static int sf_rule_ok(const struct sf_fault *f)
{
  char text[256], err[256];
  static struct sf_ruleset rs;
  rs.n = 0;
  sf_fault_rule(f, text, sizeof text);
  return sf_rules_parse(text, strlen(text), "explore", &rs, err, sizeof err) == 0;
}

static int sf_add_single(struct sf_explore *x, unsigned *index, const struct sf_fault *f)
{
  if (!sf_rule_ok(f))
    return 0;
  unsigned i = ++*index;
  if ((i - 1) % x->rep.shard_n != x->rep.shard_i - 1)
    return 0;
  struct sf_point *p = sf_report_add(&x->rep);
  if (!p)
    return -1;
  p->index = i;
  p->nfaults = 1;
  p->fault[0] = *f;
  return 1;
}

static int sf_strcmp_p(const void *a, const void *b)
{
  return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Distinct call sites of one call kind, sorted; at most max. */
static size_t sf_sites(const struct sf_logcall *calls, size_t n, int call, const char **out,
                       size_t max)
{
  size_t k = 0;
  const char **all = malloc((n ? n : 1) * sizeof *all);
  if (!all)
    return 0;
  for (size_t i = 0; i < n; i++)
    if (calls[i].call == call && calls[i].site[0] && calls[i].site[0] != '?')
      all[k++] = calls[i].site;
  qsort(all, k, sizeof *all, sf_strcmp_p);
  size_t m = 0;
  for (size_t i = 0; i < k && m < max; i++)
    if (m == 0 || strcmp(out[m - 1], all[i]) != 0)
      out[m++] = all[i];
  free(all);
  return m;
}

/* The errnos of running out of a resource: a table, a buffer, memory. Such a shortage lasts. */
static bool sf_lasting_errno(int e)
{
  return e == EMFILE || e == ENFILE || e == ENOBUFS || e == ENOMEM;
}

/* The errnos a program may sensibly retry on: its retry loop is what k..k+2 tests. */
static bool sf_retry_errno(int e)
{
  return sf_lasting_errno(e) || e == EINTR || e == EAGAIN || e == ECONNABORTED;
}

/* Burst and sustained points. A server's serving phase starts after its first successful
 * listen: each call kind made there gets, at its first occurrence k there, each errno at k and
 * k+1, and the errnos worth retrying at k..k+2 too (burst); each call that allocates an fd,
 * each shortage errno from k on for --window (sustained). A program that is not a server has
 * no serving phase: only the sustained points, from the first occurrence of each allocating
 * call. */
bool sf_baseline_forked(const struct sf_logcall *calls, size_t ncalls)
{
  for (size_t i = 1; i < ncalls; i++)
    if (calls[i].pid != calls[0].pid)
      return true;
  return false;
}

unsigned long long sf_occurrence(const struct sf_logcall *calls, size_t j, bool tree)
{
  if (!tree)
    return calls[j].n;
  unsigned long long k = 0;
  for (size_t i = 0; i <= j; i++)
    k += calls[i].call == calls[j].call;
  return k;
}

static long sf_points_lasting(struct sf_explore *x, const struct sf_logcall *calls,
                              size_t ncalls, unsigned *index)
{
  const struct sf_report *r = &x->rep;
  const bool burst = (r->kinds & SF_KIND_BIT(SF_KIND_BURST)) && r->check;
  const bool lasting = (r->kinds & SF_KIND_BIT(SF_KIND_SUSTAINED)) != 0;
  if (!burst && !lasting)
    return 0;
  size_t from = 0;
  if (r->check) {
    while (from < ncalls && !(calls[from].call == SF_ID_listen && calls[from].ret == 0))
      from++;
    from++;
  }
  long added = 0;
  int errs[SF_MAX_ERRNO_SEL];
  for (int call = 0; call < SF_NCALLS; call++) {
    if (!(x->calls_mask & SF_CALL_BIT(call)))
      continue;
    size_t j = from;
    while (j < ncalls && calls[j].call != call)
      j++;
    if (j >= ncalls)
      continue;
    unsigned ne = sf_explore_errnos(x, call, calls[j].unix_family, errs, SF_MAX_ERRNO_SEL);
    const bool tree = x->per_tree;
    struct sf_fault f = {.call = call, .when = sf_occurrence(calls, j, tree), .force = x->force,
                         .per_tree = tree};
    for (unsigned e = 0; burst && e < ne; e++)
      for (unsigned len = 2; len <= (sf_retry_errno(errs[e]) ? 3u : 2u); len++) {
        f.err = errs[e];
        f.until = f.when + len - 1;
        int rc = sf_add_single(x, index, &f);
        if (rc < 0)
          return -1;
        added += rc;
      }
    f.until = 0;
    f.window_ms = r->window_ms;
    for (unsigned e = 0; lasting && (sf_calls[call].kind & SF_K_NEWFD) && e < ne; e++) {
      if (!sf_lasting_errno(errs[e]))
        continue;
      f.err = errs[e];
      int rc = sf_add_single(x, index, &f);
      if (rc < 0)
        return -1;
      added += rc;
    }
  }
  return added;
}

long sf_points_singles(struct sf_explore *x, const struct sf_logcall *calls, size_t ncalls)
{
  unsigned index = 0;
  long added = 0;
  int errs[SF_MAX_ERRNO_SEL];
  const bool once = (x->rep.kinds & SF_KIND_BIT(SF_KIND_ONCE)) != 0;
  /* a program that forks children which make calls (a process per connection) is faulted
   * once in the whole tree, not once in every child: per=tree, occurrences over the tree */
  const bool tree = x->per_tree = sf_baseline_forked(calls, ncalls);
  for (int call = 0; call < SF_NCALLS && once; call++) {
    if (!(x->calls_mask & SF_CALL_BIT(call)))
      continue;
    unsigned long long maxn = 0;
    bool unix_seen = false;
    for (size_t i = 0; i < ncalls; i++)
      if (calls[i].call == call) {
        maxn = tree ? maxn + 1 : calls[i].n > maxn ? calls[i].n : maxn;
        unix_seen |= calls[i].unix_family;
      }
    if (maxn == 0)
      continue;
    unsigned ne = sf_explore_errnos(x, call, unix_seen, errs, SF_MAX_ERRNO_SEL);
    struct sf_fault f = {.call = call, .force = x->force, .per_tree = tree};
    if (x->rep.by_site) {
      const char *sites[256];
      size_t lim = x->rep.max_per_call < 256 ? x->rep.max_per_call : 256;
      size_t ns = sf_sites(calls, ncalls, call, sites, lim);
      for (size_t s = 0; s < ns; s++)
        for (unsigned e = 0; e < ne; e++) {
          f.err = errs[e];
          f.when = 1;
          snprintf(f.site, sizeof f.site, "%s", sites[s]);
          int rc = sf_add_single(x, &index, &f);
          if (rc < 0)
            return -1;
          added += rc;
        }
      continue;
    }
    unsigned long long k = maxn < x->rep.max_per_call ? maxn : x->rep.max_per_call;
    for (unsigned long long when = 1; when <= k; when++)
      for (unsigned e = 0; e < ne; e++) {
        f.err = errs[e];
        f.when = when;
        int rc = sf_add_single(x, &index, &f);
        if (rc < 0)
          return -1;
        added += rc;
      }
  }
  long more = sf_points_lasting(x, calls, ncalls, &index);
  if (more < 0)
    return -1;
  x->rep.total_points = index;
  return added + more;
}

struct sf_cand {
  unsigned dist, rank;  /* how far after the first fault; errno order (first's errno first) */
  size_t parent;        /* position of the single point in the report */
  struct sf_fault second;
};

static int sf_cand_cmp(const void *a, const void *b)
{
  const struct sf_cand *x = a, *y = b;
  if (x->dist != y->dist)
    return x->dist < y->dist ? -1 : 1;
  if (x->rank != y->rank)
    return x->rank < y->rank ? -1 : 1;
  return x->parent < y->parent ? -1 : x->parent > y->parent;
}

/* A single point whose program went on after the fault, so a second fault means something. */
static int sf_can_grow(const struct sf_point *p)
{
  return p->done && p->fired && sf_point_kind(p) == SF_KIND_ONCE &&
         (p->cls == SF_C_OK || p->cls == SF_C_ERROR_EXIT || p->cls == SF_C_FD_LEAK);
}

long sf_points_pairs(struct sf_explore *x, const struct sf_runres *res, size_t nsingles,
                     unsigned budget)
{
  struct sf_cand *cand = NULL;
  size_t nc = 0, cap = 0;
  int errs[SF_MAX_ERRNO_SEL];
  for (size_t i = 0; i < nsingles; i++) {
    const struct sf_point *p = &x->rep.points[i];
    const struct sf_runres *r = &res[i];
    if (!sf_can_grow(p) || !r->calls)
      continue;
    size_t j = 0;
    while (j < r->ncalls && !(r->calls[j].injected && r->calls[j].rule == 0))
      j++;
    if (j == r->ncalls)
      continue;
    int pid = r->calls[j].pid;
    unsigned dist = 0;
    for (size_t k = j + 1; k < r->ncalls && dist < x->pairs_per_fault; k++) {
      const struct sf_logcall *c = &r->calls[k];
      if (c->pid != pid || !(x->calls_mask & SF_CALL_BIT(c->call)))
        continue;
      dist++;
      unsigned ne = sf_explore_errnos(x, c->call, c->unix_family, errs, SF_MAX_ERRNO_SEL);
      for (unsigned e = 0; e < ne; e++) {
        if (nc == cap) {
          size_t ncap = cap ? cap * 2 : 256;
          struct sf_cand *g = realloc(cand, ncap * sizeof *g);
          if (!g) {
            free(cand);
            return -1;
          }
          cand = g;
          cap = ncap;
        }
        struct sf_cand *cd = &cand[nc++];
        memset(cd, 0, sizeof *cd);
        cd->dist = dist;
        /* the same errno again first: the retry failing the way the first try did */
        cd->rank = errs[e] == p->fault[0].err ? 0 : e + 1;
        cd->parent = i;
        cd->second.call = c->call;
        cd->second.force = x->force;
        cd->second.err = errs[e];
        cd->second.per_tree = x->per_tree;
        cd->second.when = sf_occurrence(r->calls, k, x->per_tree);
      }
    }
  }
  if (nc > 1)
    qsort(cand, nc, sizeof *cand, sf_cand_cmp);
  unsigned *subs = calloc(nsingles ? nsingles : 1, sizeof *subs);
  if (!subs) {
    free(cand);
    return -1;
  }
  long added = 0;
  for (size_t i = 0; i < nc && (unsigned long)added < budget; i++) {
    const struct sf_cand *cd = &cand[i]; /* unique: (call, n) never repeats in a process */
    if (!sf_rule_ok(&cd->second))
      continue;
    struct sf_point first = x->rep.points[cd->parent]; /* copied: adding may move points */
    struct sf_point *p = sf_report_add(&x->rep);
    if (!p) {
      free(subs);
      free(cand);
      return -1;
    }
    p->index = first.index;
    p->sub = ++subs[cd->parent];
    p->nfaults = 2;
    p->fault[0] = first.fault[0];
    p->fault[1] = cd->second;
    added++;
  }
  free(subs);
  free(cand);
  return added;
}

int sf_explore_timeline(struct sf_report *r, const struct sf_logcall *calls, size_t ncalls)
{
  size_t n = ncalls < SF_TIMELINE_MAX ? ncalls : SF_TIMELINE_MAX;
  struct sf_baseline *b = &r->baseline;
  free(b->timeline);
  b->timeline = NULL;
  b->ntimeline = 0;
  b->timeline_total = ncalls;
  if (n == 0)
    return 0;
  if (!(b->timeline = calloc(n, sizeof *b->timeline)))
    return -1;
  /* processes numbered in the order they first logged a call: pids differ every run */
  int pids[64];
  unsigned npids = 0;
  for (size_t i = 0; i < n; i++) {
    const struct sf_logcall *c = &calls[i];
    struct sf_tcall *t = &b->timeline[i];
    unsigned k = 0;
    while (k < npids && pids[k] != c->pid)
      k++;
    if (k == npids && npids < 64)
      pids[npids++] = c->pid;
    t->proc = k;
    t->call = c->call;
    t->n = c->n;
    t->ret = c->ret;
    t->err = c->failed ? c->err : 0;
    snprintf(t->site, sizeof t->site, "%s", c->site);
    snprintf(t->caller, sizeof t->caller, "%s", c->caller);
  }
  b->ntimeline = n;
  return 0;
}
