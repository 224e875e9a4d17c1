/* explore --search (search.h): a coverage-guided search whose coverage is the error path.
 *
 * A run's signature is what its log shows from the first injected fault on: per process, the
 * sequence of (call site, call, result), taken as the set of its transitions (one tuple to
 * the next) so that a loop that turns once more is not new. A schedule whose run shows a
 * transition no run showed before is kept; each kept schedule is extended by one fault on a
 * call its run made after its last fault, those at call sites the baseline never reached (the
 * retry and cleanup paths) first and the nearest first, then its last fault's errno and
 * occurrence are varied. The seeds are the single-fault points. Each finding's schedule is
 * minimised (minimise.c) and reported once. */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "outcome.h"
#include "search.h"
#include "table.h"

/* --- a set of 64-bit hashes (open addressing; 0 stands for itself as 1) -------------- */

struct sf_hset {
  uint64_t *v;
  size_t n, cap;
};

static int sf_hset_add(struct sf_hset *h, uint64_t k) /* 1 added, 0 present, -1 no memory */
{
  k = k ? k : 1;
  if (2 * (h->n + 1) > h->cap) {
    size_t nc = h->cap ? 2 * h->cap : 1024;
    uint64_t *nv = calloc(nc, sizeof *nv);
    if (!nv)
      return -1;
    for (size_t i = 0; i < h->cap; i++)
      if (h->v[i])
        for (size_t j = h->v[i] & (nc - 1);; j = (j + 1) & (nc - 1))
          if (!nv[j]) {
            nv[j] = h->v[i];
            break;
          }
    free(h->v);
    h->v = nv;
    h->cap = nc;
  }
  for (size_t j = k & (h->cap - 1);; j = (j + 1) & (h->cap - 1)) {
    if (h->v[j] == k)
      return 0;
    if (!h->v[j]) {
      h->v[j] = k;
      h->n++;
      return 1;
    }
  }
}

static int sf_hset_has(const struct sf_hset *h, uint64_t k)
{
  k = k ? k : 1;
  for (size_t j = h->cap ? k & (h->cap - 1) : 0; h->cap; j = (j + 1) & (h->cap - 1)) {
    if (h->v[j] == k)
      return 1;
    if (!h->v[j])
      return 0;
  }
  return 0;
}

static uint64_t sf_mix(uint64_t x) /* splitmix64's finaliser */
{
  x += UINT64_C(0x9e3779b97f4a7c15);
  x = (x ^ (x >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
  x = (x ^ (x >> 27)) * UINT64_C(0x94d049bb133111eb);
  return x ^ (x >> 31);
}

static uint64_t sf_fnv(uint64_t h, const void *p, size_t n)
{
  const unsigned char *b = p;
  for (size_t i = 0; i < n; i++)
    h = (h ^ b[i]) * UINT64_C(0x100000001b3);
  return h;
}

/* A call site's identity: its return address, and with --context 2 its caller's too (the
 * caller is "" otherwise), so that one helper called from two paths is two sites. */
static uint64_t sf_site_key(const char *site, const char *caller, int call)
{
  uint64_t h = sf_fnv(UINT64_C(0xcbf29ce484222325), site, strlen(site));
  if (caller[0])
    h = sf_fnv(h ^ '<', caller, strlen(caller));
  return sf_mix(h ^ (uint64_t)call);
}

/* The same schedule in any order of its faults hashes the same. */
static uint64_t sf_sched_key(const struct sf_sched *s)
{
  uint64_t sum = 0;
  for (unsigned i = 0; i < s->n; i++) {
    const struct sf_fault *f = &s->f[i];
    uint64_t h = sf_fnv(UINT64_C(0xcbf29ce484222325), f->site, strlen(f->site));
    sum += sf_mix(h ^ sf_mix((uint64_t)f->call << 40 ^ (uint64_t)f->err << 32 ^ f->when));
  }
  return sf_mix(sum ^ s->n);
}

/* --- the search's state ---------------------------------------------------------------- */

struct sf_cand {
  long score;
  uint64_t tie;            /* from --seed: the order among equal scores */
  unsigned root;           /* the single point the schedule grew from */
  struct sf_sched s;
};

struct sf_found {          /* a reported finding: its minimal schedule and class */
  struct sf_sched s;
  enum sf_class cls;
  uint64_t where;          /* the call sites its faults hit (sf_where) */
};

struct sf_search {
  struct sf_search_io *io;
  struct sf_explore *x;
  struct sf_hset edges;    /* transitions seen after a first fault, in any run */
  struct sf_hset sigs;     /* distinct signatures */
  struct sf_hset tried;    /* schedules run (or queued) */
  struct sf_hset base;     /* (site, call) of the baseline */
  struct sf_cand *q;
  size_t nq, capq;
  struct sf_found *found;
  size_t nfound, capfound;
  unsigned runs, minimise_runs, kept, findings;
};

/* The caller that counts in a site's identity: "" unless --context 2. */
static const char *sf_caller(const struct sf_search *s, const char *caller)
{
  return s->x->rep.context > 1 ? caller : "";
}

/* Room for one more element in *arr (n used of *cap, each size bytes). 0, or -1. */
static int sf_room(void *arr, size_t n, size_t *cap, size_t size)
{
  if (n < *cap)
    return 0;
  size_t nc = *cap ? 2 * *cap : 64;
  void *g = realloc(*(void **)arr, nc * size);
  if (!g)
    return -1;
  *(void **)arr = g;
  *cap = nc;
  return 0;
}

static int sf_push(struct sf_search *s, const struct sf_sched *sc, unsigned root, long score)
{
  uint64_t key = sf_sched_key(sc);
  int added = sf_hset_add(&s->tried, key);
  if (added <= 0)
    return added;
  if (sf_room(&s->q, s->nq, &s->capq, sizeof *s->q) != 0)
    return -1;
  struct sf_cand *c = &s->q[s->nq++];
  c->score = score;
  c->tie = sf_mix(key ^ sf_mix(s->x->rep.seed));
  c->root = root;
  c->s = *sc;
  return 1;
}

/* The best candidate out of the queue into *out; 0 when the queue is empty. */
static int sf_pop(struct sf_search *s, struct sf_cand *out)
{
  if (s->nq == 0)
    return 0;
  size_t b = 0;
  for (size_t i = 1; i < s->nq; i++)
    if (s->q[i].score > s->q[b].score ||
        (s->q[i].score == s->q[b].score && s->q[i].tie < s->q[b].tie))
      b = i;
  *out = s->q[b];
  s->q[b] = s->q[--s->nq];
  return 1;
}

/* The transitions of one process, one call at a time: prev is its last tuple. */
struct sf_walk {
  int pids[64];
  uint64_t prev[64];
  unsigned npids;
};

/* The edge from the process's previous call to this one, or 0 past 64 processes. A call
 * failed by the schedule counts as the call it was (its errno is the schedule's doing):
 * only what the program did next is its path. */
static uint64_t sf_step(struct sf_walk *w, int pid, const char *site, const char *caller,
                        int call, int result)
{
  unsigned k = 0;
  while (k < w->npids && w->pids[k] != pid)
    k++;
  if (k == w->npids) {
    if (w->npids == 64)
      return 0;
    w->pids[w->npids] = pid;
    w->prev[w->npids++] = 0;
  }
  uint64_t t = sf_site_key(site, caller, call) ^ sf_mix((uint64_t)(unsigned)result);
  uint64_t edge = sf_mix(w->prev[k] * 31 + t);
  w->prev[k] = t;
  return edge ? edge : 1;
}

/* Edge e seen by a schedule of nf faults: seen for every size from nf up. A transition is
 * new for a schedule when no schedule of its size or smaller showed it: a 3-fault schedule
 * whose third fault changed nothing must not hide the 2-fault path it went through, since
 * that one can still grow. 1 when new at nf, 0 if not, -1 when out of memory. */
static int sf_edge_add(struct sf_search *s, uint64_t e, unsigned nf)
{
  int fresh = 0;
  for (unsigned k = nf; k <= SF_MAX_FAULTS; k++) {
    int rc = sf_hset_add(&s->edges, sf_mix(e ^ k));
    if (rc < 0)
      return -1;
    if (k == nf)
      fresh = rc;
    else if (rc == 0)
      break; /* seen from a size below k: seen above too */
  }
  return fresh;
}

/* The signature of a run of a schedule of nf faults: its transitions go into the global
 * set, which starts with the baseline's, so what is new is the error path. Returns how many
 * were new (-1: no memory); *fresh_sig whether the set as a whole was. */
static long sf_signature(struct sf_search *s, const struct sf_logcall *c, size_t n,
                         unsigned nf, bool *fresh_sig)
{
  struct sf_walk w = {.npids = 0};
  long fresh = 0;
  uint64_t sig = 0;
  for (size_t j = 0; j < n; j++) {
    uint64_t edge = sf_step(&w, c[j].pid, c[j].site, sf_caller(s, c[j].caller), c[j].call,
                            c[j].failed && !c[j].injected ? c[j].err : 0);
    if (!edge)
      continue;
    int rc = sf_edge_add(s, edge, nf);
    if (rc < 0)
      return -1;
    fresh += rc;
    sig += sf_mix(edge); /* a sum: the same set of transitions, whatever their order */
  }
  int rc = sf_hset_add(&s->sigs, sig);
  if (rc < 0)
    return -1;
  *fresh_sig = rc == 1;
  return fresh;
}

static int sf_has_fault(const struct sf_sched *sc, int call, unsigned long long when,
                        const char *site)
{
  for (unsigned i = 0; i < sc->n; i++)
    if (sc->f[i].call == call && sc->f[i].when == when && strcmp(sc->f[i].site, site) == 0)
      return 1;
  return 0;
}

/* The errno a new fault on call gets: the schedule's last errno where the call documents
 * it (the retry failing as the first try did), else one drawn from the seed. */
static int sf_pick_errno(const struct sf_search *s, const struct sf_sched *sc, int call,
                         uint64_t salt)
{
  int errs[SF_MAX_ERRNO_SEL];
  unsigned ne = sf_explore_errnos(s->x, call, false, errs, SF_MAX_ERRNO_SEL);
  if (ne == 0)
    return 0;
  for (unsigned i = 0; i < ne; i++)
    if (errs[i] == sc->f[sc->n - 1].err)
      return errs[i];
  return errs[sf_mix(s->x->rep.seed ^ salt) % ne];
}

#define SF_EXT_MAX 256 /* calls after the last fault considered for the next one */

/* A kept schedule: queue its extensions by one fault and the variations of its last one. */
static int sf_extend(struct sf_search *s, const struct sf_sched *sc, unsigned root,
                   const struct sf_logcall *c, size_t n)
{
  const struct sf_explore *x = s->x;
  size_t last = n;
  for (size_t j = 0; j < n; j++)
    if (c[j].injected)
      last = j;
  if (last == n)
    return 0;
  if (sc->n < x->rep.max_faults) {
    struct sf_hset seen = {0}; /* (site, call) met earlier in this list: a loop's next turn */
    unsigned dist = 0;
    for (size_t j = last + 1; j < n && dist < SF_EXT_MAX; j++) {
      const struct sf_logcall *k = &c[j];
      if (!(x->calls_mask & SF_CALL_BIT(k->call)) || k->failed)
        continue;
      struct sf_fault f = {.call = k->call, .when = sf_occurrence(c, j, x->per_tree),
                           .force = x->force, .per_tree = x->per_tree};
      if (x->rep.by_site) {
        if (!k->site[0] || k->site[0] == '?')
          continue;
        snprintf(f.site, sizeof f.site, "%s", k->site);
        f.when = 0; /* the occurrence at this site, in this process (or the tree) */
        for (size_t i = 0; i <= j; i++)
          f.when += (x->per_tree || c[i].pid == k->pid) && c[i].call == k->call &&
                    strcmp(c[i].site, k->site) == 0;
      }
      if (sf_has_fault(sc, f.call, f.when, f.site))
        continue;
      dist++;
      uint64_t key = sf_site_key(k->site, sf_caller(s, k->caller), k->call);
      int again = sf_hset_add(&seen, key);
      if (again < 0) {
        free(seen.v);
        return -1;
      }
      f.err = sf_pick_errno(s, sc, k->call, key);
      if (!f.err)
        continue;
      struct sf_sched e = *sc;
      e.f[e.n++] = f;
      /* the same call again after its failure is most often the retry */
      long score = (sf_hset_has(&s->base, key) ? 0 : 1000) - 8 * (long)dist +
                   20 * (long)sc->n - (again ? 0 : 500) +
                   (k->call == sc->f[sc->n - 1].call ? 50 : 0);
      if (sf_push(s, &e, root, score) < 0) {
        free(seen.v);
        return -1;
      }
    }
    free(seen.v);
  }
  if (sc->n < 2)
    return 0; /* the single points tried every errno and occurrence already */
  const struct sf_fault *lf = &sc->f[sc->n - 1];
  int errs[SF_MAX_ERRNO_SEL];
  unsigned ne = sf_explore_errnos(x, lf->call, false, errs, SF_MAX_ERRNO_SEL);
  for (unsigned i = 0; i < ne; i++) {
    struct sf_sched m = *sc;
    m.f[m.n - 1].err = errs[i];
    if (errs[i] != lf->err && sf_push(s, &m, root, -2000 - (long)i) < 0)
      return -1;
  }
  struct sf_sched m = *sc;
  m.f[m.n - 1].when++;
  if (!sf_has_fault(sc, lf->call, lf->when + 1, lf->site) && sf_push(s, &m, root, -3000) < 0)
    return -1;
  return 0;
}

/* A run that went on after its faults: a schedule worth extending if its path is new. */
static int sf_consider(struct sf_search *s, const struct sf_sched *sc, unsigned root,
                       const struct sf_point *p, const struct sf_runres *r)
{
  if (!r->calls || !p->done || !p->fired || p->finding ||
      !(p->cls == SF_C_OK || p->cls == SF_C_ERROR_EXIT || p->cls == SF_C_FD_LEAK))
    return 0;
  bool fresh_sig = false;
  long fresh = sf_signature(s, r->calls, r->ncalls, sc->n, &fresh_sig);
  if (fresh < 0)
    return -1;
  if (fresh == 0)
    return 0;
  s->kept++;
  return sf_extend(s, sc, root, r->calls, r->ncalls);
}

/* --- running schedules ------------------------------------------------------------------ */

struct sf_batch {
  struct sf_search *s;
  struct sf_runres *res;   /* kept for the caller when not NULL */
};

static int sf_run_batch(void *ctx, const struct sf_sched *sc, size_t n, struct sf_point *out)
{
  struct sf_batch *b = ctx;
  struct sf_search *s = b->s;
  struct sf_runspec specs[SF_SEARCH_BATCH];
  struct sf_runres res[SF_SEARCH_BATCH];
  char rules[SF_SEARCH_BATCH][SF_POINT_RULES_MAX];
  if (n > SF_SEARCH_BATCH)
    n = SF_SEARCH_BATCH;
  memset(specs, 0, sizeof specs);
  for (size_t i = 0; i < n; i++) {
    struct sf_point *p = &out[i];
    memset(p, 0, sizeof *p);
    p->exit_status = -1;
    p->sockets = -1;
    p->nfaults = sc[i].n;
    memcpy(p->fault, sc[i].f, sizeof sc[i].f);
    sf_point_rules(p, rules[i], sizeof rules[i]);
    specs[i] = s->io->session->proto;
    specs[i].rules = rules[i];
    specs[i].nrules = sc[i].n;
    specs[i].keep_calls = b->res != NULL;
  }
  int rc = sf_pool_run(&s->io->session->pool, specs, res, n);
  for (size_t i = 0; i < n; i++) {
    sf_classify(&s->x->rep, &res[i], sc[i].n, &out[i]); /* not run: done stays false */
    if (b->res)
      b->res[i] = res[i];
    else
      sf_runres_free(&res[i]);
  }
  return rc != 0 && *s->io->session->pool.stop ? -1 : 0;
}

static int sf_subset(const struct sf_sched *a, const struct sf_sched *b) /* a within b */
{
  for (unsigned i = 0; i < a->n; i++)
    if (!sf_has_fault(b, a->f[i].call, a->f[i].when, a->f[i].site))
      return 0;
  return 1;
}

static int sf_same_fault(const struct sf_fault *a, const struct sf_fault *b)
{
  return a->call == b->call && a->err == b->err && a->when == b->when &&
         strcmp(a->site, b->site) == 0;
}

/* Where the faults of min (a part of sc) hit in sc's run r: their call sites, as one key.
 * Two findings that fail the same sites are one bug met at another turn of a loop. */
static uint64_t sf_where(const struct sf_search *s, const struct sf_sched *sc,
                         const struct sf_sched *min, const struct sf_runres *r)
{
  uint64_t key = min->n;
  for (unsigned i = 0; i < min->n; i++) {
    const char *site = "", *caller = "";
    for (unsigned k = 0; k < sc->n; k++)
      if (sf_same_fault(&sc->f[k], &min->f[i]))
        for (size_t j = 0; r->calls && j < r->ncalls; j++)
          if (r->calls[j].injected && r->calls[j].rule == (int)k) {
            site = r->calls[j].site;
            caller = sf_caller(s, r->calls[j].caller);
            break;
          }
    key += sf_mix(sf_site_key(site, caller, min->f[i].call));
  }
  return sf_mix(key);
}

/* A finding of schedule sc (its run r judged into *p, run ordinal run): minimised, and added
 * to the report unless already known. 0, or -1 when stopped or out of memory. */
static int sf_finding(struct sf_search *s, const struct sf_sched *sc, unsigned root,
                      struct sf_point *p, const struct sf_runres *r, unsigned run)
{
  struct sf_report *rep = &s->x->rep;
  for (size_t i = 0; i < s->nfound; i++)
    if (s->found[i].cls == p->cls && sf_subset(&s->found[i].s, sc))
      return 0; /* a schedule that contains a known one finds what that one finds */
  struct sf_sched min;
  struct sf_batch b = {.s = s};
  long runs = sf_minimise(sc, p, sf_run_batch, &b, &min);
  if (runs < 0)
    return -1;
  s->minimise_runs += (unsigned)runs;
  uint64_t where = sf_where(s, sc, &min, r);
  for (size_t i = 0; i < s->nfound; i++)
    if (s->found[i].cls == p->cls &&
        ((s->found[i].s.n == min.n && sf_subset(&min, &s->found[i].s)) ||
         s->found[i].where == where))
      return 0;
  if (min.n == 1) /* a single point's finding, when the single points have it */
    for (size_t i = 0; i < rep->npoints; i++)
      if (sf_point_kind(&rep->points[i]) == SF_KIND_ONCE && rep->points[i].done &&
          rep->points[i].finding &&
          sf_same_fault(&rep->points[i].fault[0], &min.f[0]))
        return 0;
  if (sf_room(&s->found, s->nfound, &s->capfound, sizeof *s->found) != 0)
    return -1;
  s->found[s->nfound].s = min;
  s->found[s->nfound].where = where;
  s->found[s->nfound++].cls = p->cls;
  unsigned sub = 0;
  for (size_t i = 0; i < rep->npoints; i++)
    if (rep->points[i].index == root && rep->points[i].sub > sub)
      sub = rep->points[i].sub;
  struct sf_point *np = sf_report_add(rep);
  if (!np)
    return -1;
  *np = *p;
  memset(p, 0, sizeof *p); /* moved: detail, stderr_tail, checks */
  np->index = root;
  np->sub = sub + 1;
  np->nfaults = min.n;
  memcpy(np->fault, min.f, sizeof min.f);
  np->search = true;
  np->run = run;
  np->done = true;
  s->findings++;
  return 0;
}

static void sf_search_status(struct sf_search *s)
{
  if (!s->io->status)
    return;
  char line[200];
  snprintf(line, sizeof line,
           "explore: search %u/%u runs (+%u minimising), %u kept, %zu signature%s, %u finding%s",
           s->runs, s->x->rep.search, s->minimise_runs, s->kept, s->sigs.n,
           s->sigs.n == 1 ? "" : "s", s->findings, s->findings == 1 ? "" : "s");
  s->io->status(s->io->ctx, line);
}

static void sf_search_free(struct sf_search *s)
{
  free(s->edges.v);
  free(s->sigs.v);
  free(s->tried.v);
  free(s->base.v);
  free(s->q);
  free(s->found);
}

int sf_search(struct sf_search_io *io, const struct sf_runres *singles, size_t nsingles)
{
  struct sf_search s = {.io = io, .x = io->x};
  struct sf_report *rep = &io->x->rep;
  int rc = -1;
  const struct sf_baseline *bl = &rep->baseline;
  struct sf_walk w = {.npids = 0};
  for (size_t i = 0; i < bl->ntimeline; i++) {
    const struct sf_tcall *t = &bl->timeline[i];
    const char *caller = sf_caller(&s, t->caller);
    uint64_t edge = sf_step(&w, (int)t->proc, t->site, caller, t->call,
                            t->ret == -1 ? t->err : 0);
    if (sf_hset_add(&s.base, sf_site_key(t->site, caller, t->call)) < 0 ||
        (edge && sf_edge_add(&s, edge, 0) < 0))
      goto out;
  }
  /* the seeds: single points, in the order they were run */
  for (size_t i = 0; i < nsingles; i++) {
    if (sf_point_kind(&rep->points[i]) != SF_KIND_ONCE)
      continue; /* bursts and sustained faults are not one fault to build on */
    struct sf_sched sc = {.n = 1, .f = {rep->points[i].fault[0]}};
    if (sf_hset_add(&s.tried, sf_sched_key(&sc)) < 0 ||
        sf_consider(&s, &sc, rep->points[i].index, &rep->points[i], &singles[i]) < 0)
      goto out;
  }
  sf_search_status(&s);
  while (s.runs < rep->search) {
    struct sf_cand c[SF_SEARCH_BATCH];
    struct sf_sched sc[SF_SEARCH_BATCH];
    size_t n = 0;
    while (n < SF_SEARCH_BATCH && s.runs + n < rep->search && sf_pop(&s, &c[n])) {
      sc[n] = c[n].s;
      n++;
    }
    if (n == 0)
      break; /* nothing left to try */
    struct sf_point pts[SF_SEARCH_BATCH];
    struct sf_runres res[SF_SEARCH_BATCH];
    memset(res, 0, sizeof res);
    struct sf_batch b = {.s = &s, .res = res};
    unsigned first = io->runs_before + s.runs + s.minimise_runs + 1;
    int stopped = sf_run_batch(&b, sc, n, pts);
    s.runs += (unsigned)n;
    int bad = 0;
    for (size_t i = 0; i < n; i++) {
      if (!stopped && !bad) {
        if (pts[i].done && pts[i].finding && sc[i].n > 1)
          bad = sf_finding(&s, &sc[i], c[i].root, &pts[i], &res[i], first + (unsigned)i);
        else
          bad = sf_consider(&s, &sc[i], c[i].root, &pts[i], &res[i]);
      }
      sf_point_free(&pts[i]);
      sf_runres_free(&res[i]);
    }
    sf_search_status(&s);
    if (stopped || bad)
      goto out;
  }
  rc = 0;
out:
  rep->searched.runs = s.runs;
  rep->searched.kept = s.kept;
  rep->searched.signatures = (unsigned)s.sigs.n;
  rep->searched.minimise_runs = s.minimise_runs;
  rep->searched.findings = s.findings;
  sf_search_free(&s);
  return rc;
}
