/* The JSON report (schema in docs/explore.md; written by report_json.c) read back by merge
 * and replay. Unknown keys are ignored. */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "json.h"
#include "load.h"
#include "report.h"
#include "rules.h"
#include "table.h"

#define SF_REPORT_MAX_BYTES (256u << 20)

static int sf_signal_lookup(const char *name)
{
  if (!name)
    return 0;
  if (strncmp(name, "SIG", 3) == 0)
    for (int s = 1; s < 65; s++) {
      const char *a = sigabbrev_np(s);
      if (a && strcmp(a, name + 3) == 0)
        return s;
    }
  if (strncmp(name, "signal ", 7) == 0)
    return atoi(name + 7);
  return -1;
}

static char *sf_dup_or_null(const char *s) { return s ? strdup(s) : NULL; }

static int sf_load_fault(const struct sf_json *f, struct sf_fault *out, size_t pi, int fi,
                         char *err, size_t errlen)
{
  const char *call = sf_json_str(f, "call", NULL), *en = sf_json_str(f, "errno", NULL);
  const char *site = sf_json_str(f, "site", NULL);
  long long when = sf_json_int(f, "when", -1);
  out->call = call ? sf_call_lookup(call, strlen(call)) : -1;
  out->err = en ? sf_errno_lookup(en, strlen(en)) : -1;
  if (out->call < 0 || out->err < 0 || when < 1 || (site && strlen(site) >= SF_SITE_MAX)) {
    const char *bad = out->call < 0 ? call : out->err < 0 ? en : NULL;
    snprintf(err, errlen, "points[%zu].faults[%d]: %s%s%.60s%s", pi, fi,
             out->call < 0 ? "missing or unknown \"call\""
             : out->err < 0 ? "missing or unknown \"errno\""
             : when < 1     ? "\"when\" must be a number >= 1"
                            : "\"site\" too long",
             bad ? " '" : "", bad ? bad : "", bad ? "'" : "");
    return -1;
  }
  out->when = (unsigned long long)when;
  long long until = sf_json_int(f, "until", 0), window = sf_json_int(f, "window_ms", 0);
  if (until < 0 || (until > 0 && until <= when) || window < 0 || window > 86400000 ||
      (until > 0 && window > 0)) {
    snprintf(err, errlen, "points[%zu].faults[%d]: \"until\" must follow \"when\", "
             "\"window_ms\" be from 1 to 86400000, and not both", pi, fi);
    return -1;
  }
  out->until = (unsigned long long)until;
  out->window_ms = window;
  out->force = sf_json_bool(f, "force", false);
  out->per_tree = sf_json_bool(f, "per_tree", false);
  snprintf(out->site, sizeof out->site, "%s", site ? site : "");
  /* replay hands the rule to the shim: one it would refuse (a bad site) is refused here */
  static struct sf_ruleset rs;
  char text[SF_SITE_MAX + 128], perr[256];
  rs.n = 0;
  sf_fault_rule(out, text, sizeof text);
  if (sf_rules_parse(text, strlen(text), "report", &rs, perr, sizeof perr) != 0) {
    snprintf(err, errlen, "points[%zu].faults[%d]: not a valid rule (\"site\"?): %s", pi, fi,
             perr);
    return -1;
  }
  return 0;
}

/* An option of the report: absent means its default (older reports), else a whole number
 * in [lo, hi]. 0, or -1 with a message. */
static int sf_load_opt(const struct sf_json *opt, const char *key, long long def, long long lo,
                       long long hi, long long *out, char *err, size_t errlen)
{
  const struct sf_json *v = sf_json_get(opt, key);
  *out = def;
  if (!v)
    return 0;
  if (v->type != SF_JNUM || v->num != (double)(long long)v->num || v->num < (double)lo ||
      v->num > (double)hi) {
    snprintf(err, errlen, "options.%s: expected a whole number from %lld to %lld", key, lo, hi);
    return -1;
  }
  *out = (long long)v->num;
  return 0;
}

static int sf_id_cmp(const void *a, const void *b)
{
  unsigned long long x = *(const unsigned long long *)a, y = *(const unsigned long long *)b;
  return x < y ? -1 : x > y;
}

/* Each point once (replay would pick the first of two, merge would count both), each one
 * of the exploration's points and of the report's shard. */
static int sf_check_ids(const struct sf_report *r, char *err, size_t errlen)
{
  for (size_t i = 0; i < r->npoints; i++) {
    const struct sf_point *p = &r->points[i];
    if (p->index > r->total_points || !sf_report_has_shard(r, (p->index - 1) % r->shard_n + 1)) {
      snprintf(err, errlen, "points[%zu]: id %u is not one of the %u points of the report's "
               "shards of %u", i, p->index, r->total_points, r->shard_n);
      return -1;
    }
  }
  unsigned long long *ids = malloc((r->npoints ? r->npoints : 1) * sizeof *ids);
  if (!ids) {
    snprintf(err, errlen, "out of memory");
    return -1;
  }
  for (size_t i = 0; i < r->npoints; i++)
    ids[i] = (unsigned long long)r->points[i].index << 32 | r->points[i].sub;
  qsort(ids, r->npoints, sizeof *ids, sf_id_cmp);
  int rc = 0;
  for (size_t i = 1; i < r->npoints && rc == 0; i++)
    if (ids[i] == ids[i - 1]) {
      unsigned idx = (unsigned)(ids[i] >> 32), sub = (unsigned)(ids[i] & 0xffffffffu);
      if (sub)
        snprintf(err, errlen, "points: id %u.%u appears twice", idx, sub);
      else
        snprintf(err, errlen, "points: id %u appears twice", idx);
      rc = -1;
    }
  free(ids);
  return rc;
}

/* "also": [{"id": "N.K", "shard": "I/N", "run": R}, ...], what merge wrote. */
static int sf_load_also(const struct sf_json *v, struct sf_point *p, size_t pi, const char *id,
                        char *err, size_t errlen)
{
  const struct sf_json *also = sf_json_get(v, "also");
  if (!also)
    return 0;
  if (also->type != SF_JARR || also->n > 100000) {
    snprintf(err, errlen, "points[%zu] (id %s): \"also\" must be a list", pi, id);
    return -1;
  }
  p->also = calloc(also->n ? also->n : 1, sizeof *p->also);
  if (!p->also) {
    snprintf(err, errlen, "out of memory");
    return -1;
  }
  for (size_t i = 0; i < also->n; i++) {
    const struct sf_json *a = &also->items[i];
    const char *aid = a->type == SF_JOBJ ? sf_json_str(a, "id", NULL) : NULL;
    struct sf_also *o = &p->also[p->nalso];
    if (!aid || sf_point_id_parse(aid, &o->index, &o->sub) != 0 || o->sub == 0) {
      snprintf(err, errlen, "points[%zu] (id %s): also[%zu]: missing or bad \"id\" (N.K)", pi,
               id, i);
      return -1;
    }
    long long run = sf_json_int(a, "run", 0);
    o->run = run > 0 && run < 4000000000LL ? (unsigned)run : 0;
    p->nalso++;
  }
  return 0;
}

static int sf_load_point(const struct sf_json *v, struct sf_report *r, size_t pi, char *err,
                         size_t errlen)
{
  const struct sf_json *faults = sf_json_get(v, "faults");
  const char *id = sf_json_str(v, "id", NULL), *cls = sf_json_str(v, "class", NULL);
  unsigned index, sub;
  if (v->type != SF_JOBJ || !id || sf_point_id_parse(id, &index, &sub) != 0) {
    snprintf(err, errlen, "points[%zu]: missing or bad \"id\"", pi);
    return -1;
  }
  int c = cls ? sf_class_lookup(cls, strlen(cls)) : -1;
  if (c < 0) {
    snprintf(err, errlen, "points[%zu] (id %s): missing or unknown \"class\"", pi, id);
    return -1;
  }
  /* a --search finding (N.K) may need one fault only: one no single point tried */
  bool search = sf_json_bool(v, "search", false);
  if (!faults || faults->type != SF_JARR || faults->n < 1 || faults->n > SF_MAX_FAULTS ||
      (sub > 0 && faults->n < (search ? 1u : 2u)) || (sub == 0 && faults->n != 1) ||
      (search && sub == 0)) {
    snprintf(err, errlen, "points[%zu] (id %s): \"faults\" must list 1 fault (2 to %d for an "
             "id N.K, 1 to %d for a --search finding N.K)", pi, id, SF_MAX_FAULTS,
             SF_MAX_FAULTS);
    return -1;
  }
  struct sf_point *p = sf_report_add(r);
  if (!p) {
    snprintf(err, errlen, "out of memory");
    return -1;
  }
  p->index = index;
  p->sub = sub;
  p->nfaults = (unsigned)faults->n;
  for (size_t i = 0; i < faults->n; i++)
    if (sf_load_fault(&faults->items[i], &p->fault[i], pi, (int)i, err, errlen) != 0)
      return -1;
  p->done = true;
  p->search = search;
  long long run = sf_json_int(v, "run", 0);
  p->run = run > 0 && run < 4000000000LL ? (unsigned)run : 0;
  if (sf_load_also(v, p, pi, id, err, errlen) != 0)
    return -1;
  p->cls = (enum sf_class)c;
  p->finding = sf_json_bool(v, "finding", false);
  p->fired = sf_json_bool(v, "fired", false);
  p->exit_status = (int)sf_json_int(v, "exit_status", -1);
  p->signal = sf_signal_lookup(sf_json_str(v, "signal", NULL));
  if (p->signal < 0)
    p->signal = 0;
  p->spinning = sf_json_bool(v, "spinning", false);
  p->duration_ms = sf_json_int(v, "duration_ms", 0);
  p->cpu_ms = sf_json_int(v, "cpu_ms", 0);
  p->sockets = (int)sf_json_int(v, "sockets", -1);
  p->port = (int)sf_json_int(v, "port", 0);
  p->window_cpu = (int)sf_json_int(v, "window_cpu_percent", -1);
  p->window_rate = sf_json_int(v, "window_failed_per_s", -1);
  p->recover_ms = sf_json_int(v, "recovered_after_ms", -1);
  p->misleading = sf_json_bool(v, "misleading", false);
  p->peer_status = (int)sf_json_int(v, "peer_status", -1);
  const struct sf_json *checks = sf_json_get(v, "checks");
  if (checks && checks->type == SF_JARR && checks->n > 0 && checks->n <= 1000 &&
      (p->checks = calloc(checks->n, sizeof *p->checks))) {
    p->nchecks = (unsigned)checks->n;
    for (size_t i = 0; i < checks->n; i++)
      p->checks[i] = (struct sf_check){
          .status = (int)sf_json_int(&checks->items[i], "status", -1),
          .ms = sf_json_int(&checks->items[i], "ms", 0),
          .after = sf_json_bool(&checks->items[i], "after_fault", false),
          .hit = sf_json_bool(&checks->items[i], "hit", false)};
  }
  p->detail = sf_dup_or_null(sf_json_str(v, "detail", ""));
  p->stderr_tail = sf_dup_or_null(sf_json_str(v, "stderr_tail", ""));
  return 0;
}

/* The baseline's calls, when the report has them (older reports do not); entries naming no
 * known call are skipped. 0, or -1 when out of memory. */
static int sf_load_timeline(const struct sf_json *base, struct sf_baseline *b)
{
  const struct sf_json *tl = sf_json_get(base, "timeline");
  long long total = sf_json_int(base, "timeline_total", 0);
  if (!tl || tl->type != SF_JARR || tl->n == 0)
    return 0;
  size_t n = tl->n < SF_TIMELINE_MAX ? tl->n : SF_TIMELINE_MAX;
  if (!(b->timeline = calloc(n, sizeof *b->timeline)))
    return -1;
  for (size_t i = 0; i < n; i++) {
    const struct sf_json *e = &tl->items[i];
    const char *call = sf_json_str(e, "call", NULL), *en = sf_json_str(e, "errno", NULL);
    struct sf_tcall *t = &b->timeline[b->ntimeline];
    t->call = call ? sf_call_lookup(call, strlen(call)) : -1;
    if (t->call < 0)
      continue;
    long long proc = sf_json_int(e, "proc", 0), occ = sf_json_int(e, "n", 0);
    t->proc = proc >= 0 && proc < 1000000 ? (unsigned)proc : 0;
    t->n = occ > 0 ? (unsigned long long)occ : 0;
    t->ret = sf_json_int(e, "ret", 0);
    t->err = en ? sf_errno_lookup(en, strlen(en)) : 0;
    snprintf(t->site, sizeof t->site, "%s", sf_json_str(e, "site", ""));
    snprintf(t->caller, sizeof t->caller, "%s", sf_json_str(e, "caller", ""));
    b->ntimeline++;
  }
  b->timeline_total = total > 0 && (unsigned long long)total >= b->ntimeline ? (size_t)total
                                                                             : b->ntimeline;
  return 0;
}

static int sf_load_tree(const struct sf_json *root, struct sf_report *r, char *err,
                        size_t errlen)
{
  const char *schema = sf_json_str(root, "schema", NULL);
  if (!schema || strcmp(schema, SF_SCHEMA_NAME) != 0) {
    snprintf(err, errlen, "not a sockfault explore report (\"schema\" is %s%s%s, expected "
             "\"" SF_SCHEMA_NAME "\")", schema ? "\"" : "", schema ? schema : "missing",
             schema ? "\"" : "");
    return -1;
  }
  const struct sf_json *args = sf_json_get(root, "args"), *opt = sf_json_get(root, "options");
  const struct sf_json *base = sf_json_get(root, "baseline"), *pts = sf_json_get(root, "points");
  const char *prog = sf_json_str(root, "prog", NULL);
  const char *missing = !prog ? "prog" : !args || args->type != SF_JARR ? "args"
                      : !opt || opt->type != SF_JOBJ ? "options"
                      : !base || base->type != SF_JOBJ ? "baseline"
                      : !pts || pts->type != SF_JARR ? "points" : NULL;
  if (missing) {
    snprintf(err, errlen, "missing or malformed \"%s\"", missing);
    return -1;
  }
  r->prog = strdup(prog);
  r->args = calloc(args->n + 1, sizeof *r->args);
  if (!r->prog || !r->args) {
    snprintf(err, errlen, "out of memory");
    return -1;
  }
  for (size_t i = 0; i < args->n; i++) {
    if (args->items[i].type != SF_JSTR) {
      snprintf(err, errlen, "args[%zu] is not a string", i);
      return -1;
    }
    r->args[r->nargs++] = strdup(args->items[i].str);
  }
  r->check = sf_dup_or_null(sf_json_str(root, "check", NULL));
  r->peer = sf_dup_or_null(sf_json_str(root, "server", NULL));
  r->calls = sf_dup_or_null(sf_json_str(opt, "calls", NULL));
  r->errnos = sf_dup_or_null(sf_json_str(opt, "errnos", NULL));
  long long mpc, depth, budget, status, checks, search, maxf, seed, context;
  if (sf_load_opt(opt, "max_per_call", 8, 1, 100000, &mpc, err, errlen) != 0 ||
      sf_load_opt(opt, "depth", 1, 1, 2, &depth, err, errlen) != 0 ||
      sf_load_opt(opt, "budget", 0, 0, 10000000, &budget, err, errlen) != 0 ||
      sf_load_opt(opt, "timeout_ms", 10000, 50, 86400000, &r->timeout_ms, err, errlen) != 0 ||
      sf_load_opt(opt, "expect_status", 0, 0, 255, &status, err, errlen) != 0 ||
      sf_load_opt(opt, "window_ms", 2000, 1, 86400000, &r->window_ms, err, errlen) != 0 ||
      sf_load_opt(opt, "checks", 2, 1, SF_CHECKS_MAX_OPT, &checks, err, errlen) != 0 ||
      sf_load_opt(opt, "term_grace_ms", r->timeout_ms < 2000 ? r->timeout_ms : 2000, 0,
                  r->timeout_ms, &r->term_grace_ms, err, errlen) != 0 ||
      sf_load_opt(opt, "search", 0, 0, 10000000, &search, err, errlen) != 0 ||
      sf_load_opt(opt, "max_faults", 3, 2, SF_MAX_FAULTS, &maxf, err, errlen) != 0 ||
      sf_load_opt(opt, "context", 1, 1, 2, &context, err, errlen) != 0 ||
      sf_load_opt(opt, "seed", 0, 0, 1LL << 52, &seed, err, errlen) != 0)
    return -1;
  r->checks = (unsigned)checks;
  r->search = (unsigned)search;
  r->max_faults = (unsigned)maxf;
  r->context = (unsigned)context;
  r->seed = (unsigned long long)seed;
  const struct sf_json *st = sf_json_get(root, "search");
  if (st && st->type == SF_JOBJ) {
    r->searched.runs = (unsigned)sf_json_int(st, "runs", 0);
    r->searched.kept = (unsigned)sf_json_int(st, "kept", 0);
    r->searched.signatures = (unsigned)sf_json_int(st, "signatures", 0);
    r->searched.minimise_runs = (unsigned)sf_json_int(st, "minimise_runs", 0);
    r->searched.findings = (unsigned)sf_json_int(st, "findings", 0);
  }
  const struct sf_json *kinds = sf_json_get(opt, "kinds");
  r->kinds = kinds ? 0 : SF_KIND_BIT(SF_KIND_ONCE); /* older reports: one failure each */
  for (size_t i = 0; kinds && i < (kinds->type == SF_JARR ? kinds->n : 1); i++) {
    unsigned m;
    char kerr[160];
    if (kinds->type != SF_JARR || kinds->items[i].type != SF_JSTR ||
        sf_kinds_parse(kinds->items[i].str, &m, kerr, sizeof kerr) != 0) {
      snprintf(err, errlen, "options.kinds[%zu]: not once, burst or sustained", i);
      return -1;
    }
    r->kinds |= m;
  }
  r->max_per_call = (unsigned)mpc;
  r->by_site = sf_json_bool(opt, "by_site", false);
  r->force = sf_json_bool(opt, "force", false);
  r->depth = (unsigned)depth;
  r->budget = (unsigned)budget;
  r->expect_status = (int)status;
  const char *shard = sf_json_str(opt, "shard", "1/1");
  if (sf_report_shard_parse(r, shard) != 0) {
    snprintf(err, errlen, "options.shard '%s' is not I/N (or, merged, a list of shards such as "
             "1-2,4/4)", shard);
    return -1;
  }
  const struct sf_json *fo = sf_json_get(opt, "fail_on");
  if (!fo || fo->type != SF_JARR) {
    snprintf(err, errlen, "missing or malformed \"options.fail_on\"");
    return -1;
  }
  r->fail_on = 0;
  for (size_t i = 0; i < fo->n; i++) {
    int c = fo->items[i].type == SF_JSTR ? sf_class_lookup(fo->items[i].str, fo->items[i].len) : -1;
    if (c < 0) {
      snprintf(err, errlen, "options.fail_on[%zu]: unknown class", i);
      return -1;
    }
    r->fail_on |= SF_CLASS_BIT(c);
  }
  struct sf_baseline *b = &r->baseline;
  b->exit_status = (int)sf_json_int(base, "exit_status", -1);
  b->signal = sf_signal_lookup(sf_json_str(base, "signal", NULL));
  if (b->signal < 0)
    b->signal = 0;
  b->duration_ms = sf_json_int(base, "duration_ms", 0);
  b->cpu_ms = sf_json_int(base, "cpu_ms", 0);
  b->sockets = (int)sf_json_int(base, "sockets", -1);
  b->stdout_stable = sf_json_bool(base, "stdout_stable", false);
  snprintf(b->stdout_hash, sizeof b->stdout_hash, "%s", sf_json_str(base, "stdout_hash", ""));
  b->port = (int)sf_json_int(base, "port", 0);
  b->check_ms = sf_json_int(base, "check_ms", 0);
  b->lines_over = sf_json_bool(base, "lines_over", false);
  const struct sf_json *lines = sf_json_get(base, "lines");
  for (size_t i = 0; lines && lines->type == SF_JARR && i < lines->n && b->nlines < 64; i++)
    if (lines->items[i].type == SF_JSTR)
      b->lines[b->nlines++] = strtoull(lines->items[i].str, NULL, 16);
  if (sf_load_timeline(base, b) != 0) {
    snprintf(err, errlen, "out of memory");
    return -1;
  }
  long long total = sf_json_int(root, "total_points", -1);
  if (total < 0 || total > 100000000) {
    snprintf(err, errlen, "missing or bad \"total_points\"");
    return -1;
  }
  r->total_points = (unsigned)total;
  for (size_t i = 0; i < pts->n; i++)
    if (sf_load_point(&pts->items[i], r, i, err, errlen) != 0)
      return -1;
  return sf_check_ids(r, err, errlen);
}

int sf_report_load(const char *path, struct sf_report *r, char *err, size_t errlen)
{
  sf_report_init(r);
  struct stat st;
  if (stat(path, &st) == 0 &&
      sf_fifo_check(path, st.st_mode, NULL, 1, "give a file, or <(...)", err, errlen) != 0)
    return -1;
  FILE *f = fopen(path, "r");
  if (!f) {
    snprintf(err, errlen, "%s", strerror(errno));
    return -1;
  }
  size_t cap = 1 << 16, len = 0;
  char *buf = malloc(cap);
  for (;;) {
    if (!buf)
      break;
    if (len == cap) {
      if (cap >= SF_REPORT_MAX_BYTES) {
        snprintf(err, errlen, "larger than %u MiB", SF_REPORT_MAX_BYTES >> 20);
        free(buf);
        fclose(f);
        return -1;
      }
      char *g = realloc(buf, cap * 2);
      if (!g) {
        free(buf);
        buf = NULL;
        break;
      }
      buf = g;
      cap *= 2;
    }
    size_t n = fread(buf + len, 1, cap - len, f);
    len += n;
    if (n == 0)
      break;
  }
  int rerr = ferror(f) ? (errno ? errno : EIO) : 0; /* a directory: EISDIR */
  fclose(f);
  if (!buf || rerr) {
    snprintf(err, errlen, "%s", !buf ? "out of memory" : strerror(rerr));
    free(buf);
    return -1;
  }
  char perr[256];
  struct sf_json *root = sf_json_parse(buf, len, perr, sizeof perr);
  free(buf);
  if (!root) {
    snprintf(err, errlen, "not valid JSON: %s", perr);
    return -1;
  }
  int rc = -1;
  if (root->type != SF_JOBJ)
    snprintf(err, errlen, "not a JSON object");
  else
    rc = sf_load_tree(root, r, err, errlen);
  sf_json_free(root);
  if (rc != 0) {
    sf_report_free(r);
    sf_report_init(r);
  }
  return rc;
}
