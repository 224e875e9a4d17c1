/* The report model (report.h): classes, kinds, points and ids, shards, the matrix, the
 * verdict. A point's rules and reproducer are written by reproducer.c. */
#define _GNU_SOURCE
#include "report.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sockfault/exit.h"
#include "table.h"
#include "text.h"

static const struct {
  const char *name;
  char mark;
  const char *legend;
} sf_class_info[SF_NCLASSES] = {
    [SF_C_OK] = {"ok", '.', "handled (a server still serves)"},
    [SF_C_NOT_REACHED] = {"not-reached", '-', "the fault never fired: the run diverged"},
    [SF_C_ERROR_EXIT] = {"error-exit", 'e', "exited non-zero"},
    [SF_C_MUTE_EXIT] = {"mute-exit", 'M', "exited non-zero without a word"},
    [SF_C_FD_LEAK] = {"fd-leak", 'L', "more sockets open at exit than in the baseline"},
    [SF_C_LATE_EXIT] = {"late-exit", 'T', "exited after SIGTERM, but past the grace"},
    [SF_C_REQUEST_STALLED] = {"request-stalled", 'W',
                              "the request the fault hit (try again) was served late"},
    [SF_C_REQUEST_LOST] = {"request-lost", 'D',
                           "the request the fault hit (try again) was lost"},
    [SF_C_SILENT] = {"silent", 'Q', "exit 0 but different output: error swallowed"},
    [SF_C_STOPPED_SERVING] = {"stopped-serving", 'X', "server no longer serves"},
    [SF_C_NO_RECOVERY] = {"no-recovery", 'R', "did not serve again after a lasting fault"},
    [SF_C_SPIN] = {"spin", 'P', "burned CPU or retried without pause during a lasting fault"},
    [SF_C_HANG] = {"hang", 'H', "timed out or ignored SIGTERM"},
    [SF_C_CRASH] = {"crash", 'C', "killed by a signal"},
    [SF_C_SANITIZER] = {"sanitizer", 'S', "sanitizer report on stderr"},
};

const char *sf_class_name(enum sf_class c)
{
  return (unsigned)c < SF_NCLASSES ? sf_class_info[c].name : "?";
}

char sf_class_mark(enum sf_class c)
{
  return (unsigned)c < SF_NCLASSES ? sf_class_info[c].mark : '?';
}

const char *sf_class_legend(enum sf_class c)
{
  return (unsigned)c < SF_NCLASSES ? sf_class_info[c].legend : "?";
}

int sf_class_lookup(const char *name, size_t len)
{
  for (int c = 0; c < SF_NCLASSES; c++)
    if (strlen(sf_class_info[c].name) == len && memcmp(sf_class_info[c].name, name, len) == 0)
      return c;
  return -1;
}

/* A comma-separated list of names into a bit mask: 0, or -1 with *bad, *badlen the name that
 * lookup did not know. */
static int sf_names_mask(const char *list, int (*lookup)(const char *, size_t), unsigned *mask,
                         const char **bad, int *badlen)
{
  unsigned m = 0;
  for (const char *p = list;;) {
    const char *comma = strchr(p, ',');
    size_t l = comma ? (size_t)(comma - p) : strlen(p);
    int c = lookup(p, l);
    if (c < 0) {
      *bad = p;
      *badlen = (int)(l > 60 ? 60 : l);
      return -1;
    }
    m |= 1u << c;
    if (!comma)
      break;
    p = comma + 1;
  }
  *mask = m;
  return 0;
}

int sf_fail_on_parse(const char *list, unsigned *mask, char *err, size_t errlen)
{
  const char *bad;
  int bl;
  if (strcmp(list, "none") == 0) {
    *mask = 0;
    return 0;
  }
  if (strcmp(list, "all") == 0) {
    *mask = ((1u << SF_NCLASSES) - 1) & ~SF_CLASS_BIT(SF_C_OK);
    return 0;
  }
  if (sf_names_mask(list, sf_class_lookup, mask, &bad, &bl) != 0) {
    char names[512];
    sf_fail_on_format(((1u << SF_NCLASSES) - 1), names, sizeof names);
    snprintf(err, errlen, "unknown class '%.*s' (classes: %s; or all, none)", bl, bad, names);
    return -1;
  }
  return 0;
}

void sf_fail_on_format(unsigned mask, char *buf, size_t len)
{
  size_t n = 0;
  if (len)
    buf[0] = '\0';
  for (int c = 0; c < SF_NCLASSES; c++)
    if (mask & SF_CLASS_BIT(c)) {
      int k = snprintf(buf + n, len - n, "%s%s", n ? "," : "", sf_class_info[c].name);
      if (k < 0 || (size_t)k >= len - n)
        return;
      n += (size_t)k;
    }
}

static const char *const sf_kind_names[SF_NKINDS] = {"once",  "burst",   "sustained",
                                                     "pair", "schedule"};

const char *sf_kind_name(enum sf_kind k)
{
  return (unsigned)k < SF_NKINDS ? sf_kind_names[k] : "?";
}

/* once, burst and sustained: pairs are not chosen by name but by --depth 2 */
static int sf_kind_lookup(const char *name, size_t len)
{
  for (int i = 0; i < SF_KIND_PAIR; i++)
    if (strlen(sf_kind_names[i]) == len && memcmp(sf_kind_names[i], name, len) == 0)
      return i;
  return -1;
}

int sf_kinds_parse(const char *list, unsigned *mask, char *err, size_t errlen)
{
  const char *bad;
  int bl;
  if (strcmp(list, "all") == 0) {
    *mask = SF_DEFAULT_KINDS;
    return 0;
  }
  if (sf_names_mask(list, sf_kind_lookup, mask, &bad, &bl) != 0) {
    snprintf(err, errlen, "unknown kind '%.*s' (kinds: once, burst, sustained; or all; "
             "pairs come from --depth 2)", bl, bad);
    return -1;
  }
  return 0;
}

enum sf_kind sf_point_kind(const struct sf_point *p)
{
  if (p->search)
    return SF_KIND_SCHEDULE;
  if (p->nfaults > 1)
    return SF_KIND_PAIR;
  if (p->fault[0].window_ms > 0)
    return SF_KIND_SUSTAINED;
  return p->fault[0].until > p->fault[0].when ? SF_KIND_BURST : SF_KIND_ONCE;
}

bool sf_point_grown(const struct sf_point *p)
{
  return p->sub > 0;
}

unsigned sf_point_shard(const struct sf_report *r, unsigned index)
{
  return r->shard_n > 1 && index ? (index - 1) % r->shard_n + 1 : 1;
}

bool sf_point_grown_finding(const struct sf_point *p)
{
  return p->done && p->finding && sf_point_grown(p);
}

const struct sf_point *sf_next_grown_finding(const struct sf_report *r,
                                             const struct sf_point *after, char *id, char *how)
{
  if (!r->points)
    return NULL; /* no arithmetic on a null pointer, even + 0 */
  for (const struct sf_point *p = after ? after + 1 : r->points; p < r->points + r->npoints;
       p++)
    if (sf_point_grown_finding(p)) {
      sf_point_id(p, id, 32);
      sf_point_provenance(r, p, how, SF_HOW_MAX);
      return p;
    }
  return NULL;
}

size_t sf_report_grown_findings(const struct sf_report *r)
{
  size_t n = 0;
  for (size_t i = 0; i < r->npoints; i++)
    n += sf_point_grown_finding(&r->points[i]);
  return n;
}

void sf_point_provenance(const struct sf_report *r, const struct sf_point *p, char *buf,
                         size_t len)
{
  size_t n = 0;
#define SF_PUT(...)                                                                     \
  do {                                                                                  \
    int w_ = n < len ? snprintf(buf + n, len - n, __VA_ARGS__) : 0;                     \
    n += w_ > 0 ? (size_t)w_ : 0;                                                       \
  } while (0)
  if (len)
    buf[0] = '\0';
  SF_PUT("%u fault%s, %s", p->nfaults, p->nfaults == 1 ? "" : "s",
         p->search ? "minimal schedule from --search" : "pair (--depth 2)");
  if (p->run)
    SF_PUT(" (run %u)", p->run);
  if (r->shard_n > 1)
    SF_PUT(", shard %u/%u", sf_point_shard(r, p->index), r->shard_n);
  for (unsigned k = 0; k < p->nalso; k++)
    SF_PUT("%s#%u.%u shard %u/%u", k ? ", " : "; also found as ", p->also[k].index,
           p->also[k].sub, sf_point_shard(r, p->also[k].index), r->shard_n);
#undef SF_PUT
}

static bool sf_same_fault(const struct sf_fault *a, const struct sf_fault *b)
{
  return a->call == b->call && a->err == b->err && a->when == b->when &&
         a->until == b->until && a->window_ms == b->window_ms && a->force == b->force &&
         strcmp(a->site, b->site) == 0;
}

bool sf_point_same_faults(const struct sf_point *a, const struct sf_point *b)
{
  if (a->nfaults != b->nfaults)
    return false;
  unsigned used = 0; /* b's faults matched so far, a bit each */
  for (unsigned i = 0; i < a->nfaults && i < SF_MAX_FAULTS; i++) {
    unsigned k = 0;
    while (k < b->nfaults && ((used >> k & 1) || !sf_same_fault(&a->fault[i], &b->fault[k])))
      k++;
    if (k == b->nfaults)
      return false;
    used |= 1u << k;
  }
  return true;
}

unsigned sf_fault_burst(const struct sf_fault *f)
{
  return f->until > f->when ? (unsigned)(f->until - f->when + 1) : 0;
}

void sf_report_init(struct sf_report *r)
{
  memset(r, 0, sizeof *r);
  r->max_per_call = 8;
  r->depth = 1;
  r->max_faults = 3;
  r->context = 1;
  r->shard_i = 1;
  r->shard_n = 1;
  r->timeout_ms = 10000;
  r->window_ms = 2000;
  r->kinds = SF_DEFAULT_KINDS;
  r->term_grace_ms = 2000;
  r->checks = 2;
  r->fail_on = SF_DEFAULT_FAIL_ON;
  r->baseline.sockets = -1;
  r->baseline.exit_status = -1;
}

void sf_point_free(struct sf_point *p)
{
  free(p->detail);
  free(p->stderr_tail);
  free(p->checks);
  free(p->also);
  p->detail = p->stderr_tail = NULL;
  p->checks = NULL;
  p->also = NULL;
  p->nalso = 0;
}

void sf_report_free(struct sf_report *r)
{
  free(r->prog);
  for (size_t i = 0; i < r->nargs; i++)
    free(r->args[i]);
  free(r->args);
  free(r->check);
  free(r->peer);
  free(r->errnos);
  free(r->calls);
  for (size_t i = 0; i < r->npoints; i++)
    sf_point_free(&r->points[i]);
  free(r->points);
  free(r->baseline.timeline);
  free(r->shards);
  memset(r, 0, sizeof *r);
}

struct sf_point *sf_report_add(struct sf_report *r)
{
  if (r->npoints == r->cap) {
    size_t nc = r->cap ? r->cap * 2 : 64;
    struct sf_point *p = realloc(r->points, nc * sizeof *p);
    if (!p)
      return NULL;
    r->points = p;
    r->cap = nc;
  }
  struct sf_point *p = &r->points[r->npoints++];
  memset(p, 0, sizeof *p);
  p->exit_status = -1;
  p->sockets = -1;
  p->window_cpu = -1;
  p->window_rate = p->recover_ms = -1;
  p->peer_status = -1;
  return p;
}

static int sf_point_cmp(const void *a, const void *b)
{
  const struct sf_point *x = a, *y = b;
  if (x->index != y->index)
    return x->index < y->index ? -1 : 1;
  return x->sub < y->sub ? -1 : x->sub > y->sub;
}

void sf_report_sort(struct sf_report *r)
{
  if (r->npoints > 1)
    qsort(r->points, r->npoints, sizeof *r->points, sf_point_cmp);
}

size_t sf_report_findings(const struct sf_report *r)
{
  size_t n = 0;
  for (size_t i = 0; i < r->npoints; i++)
    n += r->points[i].done && r->points[i].finding;
  return n;
}

bool sf_report_has_shard(const struct sf_report *r, unsigned s)
{
  return s >= 1 && s <= r->shard_n && (r->shards ? r->shards[s] != 0 : s == r->shard_i);
}

unsigned sf_report_nshards(const struct sf_report *r)
{
  unsigned n = 0;
  for (unsigned s = 1; s <= r->shard_n; s++)
    n += sf_report_has_shard(r, s);
  return n;
}

int sf_report_shard_print(const struct sf_report *r, FILE *f)
{
  int first = 1;
  for (unsigned s = 1; s <= r->shard_n; s++) {
    if (!sf_report_has_shard(r, s))
      continue;
    unsigned e = s;
    while (e < r->shard_n && sf_report_has_shard(r, e + 1))
      e++;
    if (fprintf(f, e > s ? "%s%u-%u" : "%s%u", first ? "" : ",", s, e) < 0)
      return -1;
    first = 0;
    s = e;
  }
  return fprintf(f, "/%u", r->shard_n) < 0 ? -1 : 0;
}

void sf_shard_note(const struct sf_report *r, FILE *f)
{
  unsigned held = sf_report_nshards(r);
  fprintf(f, " (shard%s ", r->shards ? "s" : "");
  sf_report_shard_print(r, f);
  fprintf(f, " of %u", r->total_points);
  if (r->shards && held < r->shard_n)
    fprintf(f, "; %u missing", r->shard_n - held);
  fputc(')', f);
}

int sf_report_shard_parse(struct sf_report *r, const char *s)
{
  const char *slash = strrchr(s, '/');
  char *end;
  if (!slash || strspn(s, "0123456789,-/") != strlen(s) || !(slash[1] >= '0' && slash[1] <= '9'))
    return -1;
  unsigned long n = strtoul(slash + 1, &end, 10);
  if (*end || n < 1 || n > 100000)
    return -1;
  unsigned char *set = calloc(n + 1, 1);
  unsigned held = 0, first = 0;
  if (!set)
    return -1;
  for (const char *p = s; p < slash;) {
    unsigned long a = strtoul(p, &end, 10), b = a;
    if (end == p)
      goto bad;
    if (*end == '-') {
      p = end + 1;
      b = strtoul(p, &end, 10);
      if (end == p)
        goto bad;
    }
    if (a < 1 || b < a || b > n || (end != slash && *end != ','))
      goto bad;
    for (unsigned long k = a; k <= b; k++) {
      if (set[k]++) /* a shard twice, or runs out of order that overlap */
        goto bad;
      held++;
      first = first ? first : (unsigned)k;
    }
    p = end == slash ? slash : end + 1;
    if (p == slash && end != slash) /* a trailing comma */
      goto bad;
  }
  if (!held)
    goto bad;
  free(r->shards);
  r->shards = NULL;
  r->shard_n = (unsigned)n;
  r->shard_i = first;
  if (held > 1 || strpbrk(s, ",-"))
    r->shards = set;
  else
    free(set);
  return 0;
bad:
  free(set);
  return -1;
}

int sf_report_verdict(const struct sf_report *r, unsigned require, char *why, size_t len)
{
  size_t run = 0, unreached = 0;
  for (size_t i = 0; i < r->npoints; i++) {
    run += r->points[i].done;
    unreached += r->points[i].done && r->points[i].cls == SF_C_NOT_REACHED;
  }
  why[0] = 0;
  if (sf_report_findings(r))
    return SOCKFAULT_EXIT_FINDINGS;
  if (r->total_points < require) {
    snprintf(why, len, "%u failure point(s) in all, fewer than --require-points %u: the "
             "exploration tested %s", r->total_points, require,
             r->total_points ? "too little" : "nothing");
    return SOCKFAULT_EXIT_NOTHING;
  }
  if (run && unreached * 2 > run) {
    snprintf(why, len, "%zu of %zu runs were not-reached (the fault never fired: the runs "
             "diverged from the baseline), so most points could not be judged", unreached, run);
    return SOCKFAULT_EXIT_UNJUDGED;
  }
  return SOCKFAULT_EXIT_OK;
}

void sf_report_mark_findings(struct sf_report *r)
{
  for (size_t i = 0; i < r->npoints; i++)
    r->points[i].finding = r->points[i].done && (r->fail_on & SF_CLASS_BIT(r->points[i].cls));
}

void sf_report_matrix(const struct sf_report *r, struct sf_matrix *m)
{
  m->ncols = m->nrows = 0;
  for (int c = 0; c < SF_NCALLS && c < 64; c++)
    for (size_t i = 0; i < r->npoints; i++)
      if (!sf_point_grown(&r->points[i]) && r->points[i].fault[0].call == c) {
        m->cols[m->ncols++] = c;
        break;
      }
  for (int k = 0; k < m->ncols; k++) {
    const struct sf_call_info *ci = &sf_calls[m->cols[k]];
    for (unsigned e = 0; e < ci->nerrnos; e++) {
      int err = ci->errnos[e].err, have = 0, used = 0;
      for (int j = 0; j < m->nrows; j++)
        have |= m->rows[j] == err;
      for (size_t i = 0; i < r->npoints && !used; i++)
        used = !sf_point_grown(&r->points[i]) && r->points[i].fault[0].err == err;
      if (!have && used && m->nrows < SF_MATRIX_ROWS)
        m->rows[m->nrows++] = err;
    }
  }
}

int sf_report_cell(const struct sf_report *r, int call, int err)
{
  int worst = -1;
  for (size_t i = 0; i < r->npoints; i++) {
    const struct sf_point *p = &r->points[i];
    if (sf_point_grown(p) || p->fault[0].call != call || p->fault[0].err != err)
      continue;
    if (!p->done)
      worst = worst < 0 ? -2 : worst;
    else if ((int)p->cls > worst)
      worst = (int)p->cls;
  }
  return worst;
}

void sf_point_id(const struct sf_point *p, char *buf, size_t len)
{
  if (p->sub)
    snprintf(buf, len, "%u.%u", p->index, p->sub);
  else
    snprintf(buf, len, "%u", p->index);
}

int sf_point_id_parse(const char *s, unsigned *index, unsigned *sub)
{
  char *end;
  errno = 0;
  unsigned long i = strtoul(s, &end, 10);
  if (end == s || errno || i == 0 || i > 100000000 || *s == '-' || *s == '+')
    return -1;
  unsigned long k = 0;
  if (*end == '.') {
    const char *q = end + 1;
    k = strtoul(q, &end, 10);
    if (end == q || errno || k == 0 || k > 100000000 || *q == '-' || *q == '+')
      return -1;
  }
  if (*end != '\0')
    return -1;
  *index = (unsigned)i;
  *sub = (unsigned)k;
  return 0;
}

bool sf_point_bug_only(const struct sf_point *p)
{
  for (unsigned i = 0; i < p->nfaults && i < SF_MAX_FAULTS; i++)
    if (sf_errno_env(p->fault[i].call, p->fault[i].err) != 1)
      return true;
  return false;
}

int sf_report_save(const struct sf_report *r, const char *path,
                   int (*writer)(const struct sf_report *, FILE *), char *err, size_t errlen)
{
  if (strcmp(path, "-") == 0) {
    if (writer(r, stdout) != 0 || fflush(stdout) != 0) {
      snprintf(err, errlen, "stdout: %s", strerror(errno));
      return -1;
    }
    return 0;
  }
  FILE *f = fopen(path, "w");
  if (!f) {
    snprintf(err, errlen, "%s: %s", path, strerror(errno));
    return -1;
  }
  int rc = writer(r, f);
  if (ferror(f))
    rc = -1;
  if (fclose(f) != 0)
    rc = -1;
  if (rc != 0)
    snprintf(err, errlen, "%s: write failed: %s", path, strerror(errno ? errno : EIO));
  return rc;
}

void sf_baseline_describe(const struct sf_report *r, char *buf, size_t len)
{
  const struct sf_baseline *b = &r->baseline;
  char sig[32];
  int n;
  if (b->signal)
    n = snprintf(buf, len, "%s %s", r->check ? "stopped by" : "killed by",
                 sf_signal_name(b->signal, sig, sizeof sig));
  else
    n = snprintf(buf, len, "exit %d", b->exit_status);
  if (n > 0 && (size_t)n < len)
    n += snprintf(buf + n, len - (size_t)n, " in %lld ms", b->duration_ms);
  if (n > 0 && (size_t)n < len && b->sockets >= 0)
    snprintf(buf + n, len - (size_t)n, ", %d socket(s) open at exit", b->sockets);
}

void sf_search_describe(const struct sf_report *r, char *buf, size_t len)
{
  const struct sf_search_stats *st = &r->searched;
  snprintf(buf, len,
           "--search %u (up to %u faults, seed %llu): %u runs and %u minimising, %u schedules "
           "kept, %u signatures, %u finding%s",
           r->search, r->max_faults, r->seed, st->runs, st->minimise_runs, st->kept,
           st->signatures, st->findings, st->findings == 1 ? "" : "s");
}
