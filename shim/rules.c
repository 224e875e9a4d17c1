/* The fault-rule language parsed (its printing: rules_format.c). Pure: no allocation, no I/O. */
#include "rules.h"

#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "table.h"

/* A slice of the input: rules and their fields are never copied. */
struct sf_str {
  const char *p;
  size_t n;
};

struct sf_perr {
  char *buf;
  size_t len;
  const char *origin;
  long line; /* > 0 when the origin is a file */
  unsigned index;
  struct sf_str rule;
};

static int sf_fail(struct sf_perr *pe, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static int sf_fail(struct sf_perr *pe, const char *fmt, ...)
{
  if (pe->buf == NULL || pe->len == 0)
    return -1;
  int shown = pe->rule.n > 80 ? 77 : (int)pe->rule.n;
  const char *more = pe->rule.n > 80 ? "..." : "";
  int k;
  if (pe->line > 0)
    k = snprintf(pe->buf, pe->len, "%s:%ld: rule '%.*s%s': ", pe->origin, pe->line, shown,
                 pe->rule.p, more);
  else
    k = snprintf(pe->buf, pe->len, "%s rule %u '%.*s%s': ", pe->origin, pe->index, shown,
                 pe->rule.p, more);
  if (k >= 0 && (size_t)k < pe->len) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(pe->buf + k, pe->len - (size_t)k, fmt, ap);
    va_end(ap);
  }
  return -1;
}

/* A value as shown in a message: at most 40 bytes, then "...", so that the reason after it
 * always fits in the caller's buffer however long the bad value. */
#define SF_SHOW_MAX 40
#define SF_VAL(v) ((v).n > SF_SHOW_MAX ? SF_SHOW_MAX : (int)(v).n), (v).p, \
                  ((v).n > SF_SHOW_MAX ? "..." : "")

static int sf_is_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f'; }

static struct sf_str sf_trim(struct sf_str s)
{
  while (s.n > 0 && sf_is_space(s.p[0])) {
    s.p++;
    s.n--;
  }
  while (s.n > 0 && sf_is_space(s.p[s.n - 1]))
    s.n--;
  return s;
}

static int sf_eq(struct sf_str s, const char *lit)
{
  return strlen(lit) == s.n && memcmp(s.p, lit, s.n) == 0;
}

static int sf_starts(struct sf_str s, const char *lit)
{
  size_t l = strlen(lit);
  return s.n >= l && memcmp(s.p, lit, l) == 0;
}

/* Strict unsigned decimal (or 0x hex when hex_ok): digits only, no sign, no overflow. */
static int sf_parse_u64(struct sf_str s, uint64_t *out, int hex_ok)
{
  unsigned base = 10;
  if (hex_ok && s.n > 2 && s.p[0] == '0' && (s.p[1] == 'x' || s.p[1] == 'X')) {
    base = 16;
    s.p += 2;
    s.n -= 2;
  }
  if (s.n == 0)
    return -1;
  uint64_t v = 0;
  for (size_t i = 0; i < s.n; i++) {
    unsigned d;
    char c = s.p[i];
    if (c >= '0' && c <= '9')
      d = (unsigned)(c - '0');
    else if (base == 16 && c >= 'a' && c <= 'f')
      d = (unsigned)(c - 'a' + 10);
    else if (base == 16 && c >= 'A' && c <= 'F')
      d = (unsigned)(c - 'A' + 10);
    else
      return -1;
    if (v > (UINT64_MAX - d) / base)
      return -1;
    v = v * base + d;
  }
  *out = v;
  return 0;
}

/* Splits s at the first occurrence of sep: head before, tail after (tail.p NULL if none). */
static struct sf_str sf_split(struct sf_str s, const char *sep, struct sf_str *tail)
{
  size_t l = strlen(sep);
  for (size_t i = 0; i + l <= s.n; i++) {
    if (memcmp(s.p + i, sep, l) == 0) {
      tail->p = s.p + i + l;
      tail->n = s.n - i - l;
      return (struct sf_str){s.p, i};
    }
  }
  tail->p = NULL;
  tail->n = 0;
  return s;
}


static int sf_parse_set(struct sf_perr *pe, struct sf_str set, struct sf_rule *r)
{
  if (set.n == 0)
    return sf_fail(pe, "no call named before the first ':' (try e.g. accept:error=EMFILE)");
  while (set.p != NULL) {
    struct sf_str rest;
    struct sf_str name = sf_trim(sf_split(set, ",", &rest));
    if (name.n == 0)
      return sf_fail(pe, "empty call name in the list '%.*s%s'", SF_VAL(set));
    if (sf_eq(name, "all")) {
      r->calls |= SF_ALL_CALLS;
    } else if (sf_eq(name, "%net") || sf_eq(name, "%network")) {
      r->calls |= sf_calls_of_kind(SF_K_NET);
    } else {
      int id = sf_call_lookup(name.p, name.n);
      if (id < 0) {
        const char *near = sf_closest_call(name.p, name.n);
        if (near)
          return sf_fail(pe, "unknown call '%.*s%s' (did you mean '%s'?)", SF_VAL(name),
                         near);
        return sf_fail(pe, "unknown call '%.*s%s' (`sockfault errnos` lists the calls)",
                       SF_VAL(name));
      }
      r->calls |= SF_CALL_BIT(id);
    }
    set = rest;
  }
  return 0;
}

static int sf_parse_error(struct sf_perr *pe, struct sf_str v, struct sf_rule *r)
{
  if (sf_eq(v, "any")) {
    r->any = true;
    return 0;
  }
  uint64_t num;
  if (sf_parse_u64(v, &num, 0) == 0) {
    if (num == 0 || num > 4095 || sf_errno_name((int)num) == NULL)
      return sf_fail(pe, "error=%.*s%s is not an errno number this system knows", SF_VAL(v));
    r->err = (int)num;
    return 0;
  }
  int e = sf_errno_lookup(v.p, v.n);
  if (e < 0) {
    const char *near = sf_closest_errno(v.p, v.n);
    if (near)
      return sf_fail(pe, "unknown errno '%.*s%s' (did you mean '%s'?)", SF_VAL(v), near);
    return sf_fail(pe, "unknown errno '%.*s%s'", SF_VAL(v));
  }
  r->err = e;
  return 0;
}

/* when=N | N+ | N+S | N..M | N..M+S, strace's meaning. */
static int sf_parse_when(struct sf_perr *pe, struct sf_str v, struct sf_rule *r)
{
  struct sf_str range_tail, step_s;
  struct sf_str range = sf_split(v, "+", &step_s);
  struct sf_str first_s = sf_split(range, "..", &range_tail);
  uint64_t first, last, step = 1;
  if (sf_parse_u64(first_s, &first, 0) != 0 || first == 0)
    return sf_fail(pe, "when=%.*s%s: '%.*s%s' is not an occurrence number (1, 2, …)",
                   SF_VAL(v), SF_VAL(first_s));
  if (range_tail.p != NULL) {
    if (sf_parse_u64(range_tail, &last, 0) != 0)
      return sf_fail(pe, "when=%.*s%s: '%.*s%s' is not an occurrence number", SF_VAL(v),
                     SF_VAL(range_tail));
    if (last < first)
      return sf_fail(pe, "when=%.*s%s: the range ends before it starts", SF_VAL(v));
  } else {
    last = step_s.p != NULL ? SF_WHEN_INF : first;
  }
  if (step_s.p != NULL && step_s.n > 0) {
    if (sf_parse_u64(step_s, &step, 0) != 0 || step == 0)
      return sf_fail(pe, "when=%.*s%s: step '%.*s%s' is not a positive number", SF_VAL(v),
                     SF_VAL(step_s));
  } else if (step_s.p != NULL && range_tail.p != NULL) {
    return sf_fail(pe, "when=%.*s%s: '+' after a range needs a step (N..M+S)", SF_VAL(v));
  }
  r->first = first;
  r->last = last;
  r->step = last == first ? 1 : step; /* one occurrence: the step means nothing (N..N+S is N) */
  r->has_when = true;
  return 0;
}

/* prob=0.25 | .25 | 1 | 25% | 5e-1 | 2.5E-1 — a decimal number, kept exactly in billionths:
 * the digits as one integer D and a power of ten, D * 10^e10 (no floating point). */
static int sf_parse_prob(struct sf_perr *pe, struct sf_str v, struct sf_rule *r)
{
  int percent = v.n > 0 && v.p[v.n - 1] == '%';
  size_t n = v.n - (size_t)percent, i = 0;
  uint64_t d = 0;
  long e10 = percent ? -2 : 0, exp = 0;
  int digits = 0, dot = 0, sig = 0;
  for (; i < n; i++) {
    char c = v.p[i];
    if (c == '.' && !dot) {
      dot = 1;
    } else if (c >= '0' && c <= '9') {
      digits++;
      if (d == 0 && c == '0') { /* leading zeros carry nothing but their place */
        e10 -= dot;
        continue;
      }
      if (++sig > 18) { /* more significant digits than any 1e-9 step needs */
        if (!dot)
          return sf_fail(pe, "prob=%.*s%s is above 1", SF_VAL(v));
        if (c != '0')
          return sf_fail(pe, "prob=%.*s%s is finer than 1e-9", SF_VAL(v));
        continue; /* a zero after the point, dropped */
      }
      d = d * 10 + (uint64_t)(c - '0');
      e10 -= dot;
    } else {
      break;
    }
  }
  if (digits == 0)
    return sf_fail(pe, "prob=%.*s%s is not a number between 0 and 1", SF_VAL(v));
  if (i < n && (v.p[i] == 'e' || v.p[i] == 'E')) {
    int neg = i + 1 < n && v.p[i + 1] == '-';
    size_t k = i + 1 + (size_t)(neg || (i + 1 < n && v.p[i + 1] == '+'));
    if (k == n)
      return sf_fail(pe, "prob=%.*s%s is not a number between 0 and 1", SF_VAL(v));
    for (; k < n && v.p[k] >= '0' && v.p[k] <= '9'; k++)
      if ((exp = exp * 10 + (v.p[k] - '0')) > 1000)
        return sf_fail(pe, "prob=%.*s%s: the exponent is out of range", SF_VAL(v));
    e10 += neg ? -exp : exp;
    i = k;
  }
  if (i < n)
    return sf_fail(pe, "prob=%.*s%s is not a number between 0 and 1", SF_VAL(v));
  e10 += 9; /* billionths */
  for (; d && e10 < 0; e10++) {
    if (d % 10)
      return sf_fail(pe, "prob=%.*s%s is finer than 1e-9", SF_VAL(v));
    d /= 10;
  }
  for (; d && e10 > 0; e10--) {
    if (d > SF_PROB_ONE)
      break;
    d *= 10;
  }
  if (d > SF_PROB_ONE)
    return sf_fail(pe, "prob=%.*s%s is above 1", SF_VAL(v));
  r->prob = (uint32_t)d;
  r->has_prob = true;
  return 0;
}

static int sf_parse_int_in(struct sf_perr *pe, const char *key, struct sf_str v, uint64_t max,
                           int *out)
{
  uint64_t n;
  if (sf_parse_u64(v, &n, 0) != 0 || n > max)
    return sf_fail(pe, "%s=%.*s%s is not a number from 0 to %llu", key, SF_VAL(v),
                   (unsigned long long)max);
  *out = (int)n;
  return 0;
}

static const struct {
  const char *name;
  int value;
} sf_families[] = {{"inet", AF_INET}, {"inet6", AF_INET6}, {"unix", AF_UNIX}},
  sf_types[] = {{"stream", SOCK_STREAM},
                {"dgram", SOCK_DGRAM},
                {"seqpacket", SOCK_SEQPACKET},
                {"raw", SOCK_RAW}};

const char *sf_family_name(int family)
{
  for (size_t i = 0; i < sizeof sf_families / sizeof sf_families[0]; i++)
    if (sf_families[i].value == family)
      return sf_families[i].name;
  return NULL;
}

const char *sf_type_name(int type)
{
  for (size_t i = 0; i < sizeof sf_types / sizeof sf_types[0]; i++)
    if (sf_types[i].value == type)
      return sf_types[i].name;
  return NULL;
}

static int sf_parse_site(struct sf_perr *pe, struct sf_str v, struct sf_rule *r)
{
  struct sf_str off;
  struct sf_str mod = sf_split(v, "+0x", &off);
  uint64_t dummy;
  if (mod.n == 0 || off.p == NULL || off.n == 0 || off.n > 16 ||
      sf_parse_u64((struct sf_str){off.p - 2, off.n + 2}, &dummy, 1) != 0)
    return sf_fail(pe, "site=%.*s%s is not MODULE+0xOFFSET (as the log writes it)", SF_VAL(v));
  if (v.n >= SF_SITE_MAX)
    return sf_fail(pe, "site=%.*s%s is longer than %d characters", SF_VAL(v),
                   SF_SITE_MAX - 1);
  memcpy(r->site, v.p, v.n);
  r->site[v.n] = '\0';
  r->filters |= SF_F_SITE;
  return 0;
}

/* for=DURATION: 2s, 1500ms, or a bare number of seconds; from 1 ms to a day. */
static int sf_parse_for(struct sf_perr *pe, struct sf_str v, struct sf_rule *r)
{
  uint64_t n, unit = 1000;
  struct sf_str num = v;
  if (num.n > 2 && memcmp(num.p + num.n - 2, "ms", 2) == 0) {
    num.n -= 2;
    unit = 1;
  } else if (num.n > 1 && num.p[num.n - 1] == 's') {
    num.n -= 1;
  }
  if (sf_parse_u64(num, &n, 0) != 0 || n == 0 || n > 86400000 / unit)
    return sf_fail(pe, "for=%.*s%s is not a duration from 1ms to 86400s (e.g. for=2s, "
                   "for=500ms)", SF_VAL(v));
  r->for_ms = n * unit;
  r->has_for = true;
  return 0;
}

static const char *const sf_keys[] = {"error", "when", "prob", "seed",  "family", "type",
                                      "port",  "fd",   "site", "force", "for",    "per"};
enum { SF_NKEYS = sizeof sf_keys / sizeof sf_keys[0] };

static int sf_parse_field(struct sf_perr *pe, struct sf_str field, struct sf_rule *r,
                          unsigned *seen)
{
  struct sf_str val;
  struct sf_str key = sf_trim(sf_split(field, "=", &val));
  int k = -1;
  for (int i = 0; i < SF_NKEYS; i++)
    if (sf_eq(key, sf_keys[i]))
      k = i;
  if (k < 0) {
    if (sf_eq(key, "retval") || sf_eq(key, "signal") || sf_eq(key, "delay_enter") ||
        sf_eq(key, "delay_exit") || sf_eq(key, "syscall"))
      return sf_fail(pe, "strace's '%.*s%s=' is not supported: sockfault injects errors only",
                     SF_VAL(key));
    const char *near = sf_closest(key.p, key.n, sf_keys, SF_NKEYS);
    if (near)
      return sf_fail(pe, "unknown key '%.*s%s' (did you mean '%s'?)", SF_VAL(key), near);
    return sf_fail(pe, "unknown key '%.*s%s' (keys: error when prob seed for family type port "
                   "fd site force per)", SF_VAL(key));
  }
  if (*seen & (1u << k))
    return sf_fail(pe, "'%s' given twice", sf_keys[k]);
  *seen |= 1u << k;
  if (sf_eq(key, "force")) {
    if (val.p != NULL)
      return sf_fail(pe, "'force' takes no value");
    r->force = true;
    return 0;
  }
  if (val.p == NULL)
    return sf_fail(pe, "'%.*s%s' needs a value (%.*s%s=…)", SF_VAL(key), SF_VAL(key));
  val = sf_trim(val);
  if (val.n == 0)
    return sf_fail(pe, "empty value for '%s'", sf_keys[k]);
  for (size_t i = 0; i < val.n; i++)
    if (sf_is_space(val.p[i]))
      return sf_fail(pe, "%s=%.*s%s: a space inside the value", sf_keys[k], SF_VAL(val));
  switch (k) {
  case 0: return sf_parse_error(pe, val, r);
  case 1: return sf_parse_when(pe, val, r);
  case 2: return sf_parse_prob(pe, val, r);
  case 3:
    if (sf_parse_u64(val, &r->seed, 1) != 0)
      return sf_fail(pe, "seed=%.*s%s is not a number", SF_VAL(val));
    r->has_seed = true;
    return 0;
  case 4:
  case 5: {
    int fam = k == 4;
    size_t n = fam ? sizeof sf_families / sizeof sf_families[0]
                   : sizeof sf_types / sizeof sf_types[0];
    for (size_t i = 0; i < n; i++) {
      if (sf_eq(val, fam ? sf_families[i].name : sf_types[i].name)) {
        if (fam) {
          r->family = sf_families[i].value;
          r->filters |= SF_F_FAMILY;
        } else {
          r->type = sf_types[i].value;
          r->filters |= SF_F_TYPE;
        }
        return 0;
      }
    }
    return sf_fail(pe, fam ? "family=%.*s%s: expected inet, inet6 or unix"
                           : "type=%.*s%s: expected stream, dgram, seqpacket or raw",
                   SF_VAL(val));
  }
  case 6:
    r->filters |= SF_F_PORT;
    return sf_parse_int_in(pe, "port", val, 65535, &r->port);
  case 7:
    r->filters |= SF_F_FD;
    return sf_parse_int_in(pe, "fd", val, INT_MAX, &r->fd);
  case 8: return sf_parse_site(pe, val, r);
  case 10: return sf_parse_for(pe, val, r);
  case 11: /* per=thread: when= and prob= count each thread's calls, as strace does;
             * per=tree: the calls of a process and its forked children together */
    if (sf_eq(val, "thread") || sf_eq(val, "process") || sf_eq(val, "tree")) {
      r->per_thread = sf_eq(val, "thread");
      r->per_tree = sf_eq(val, "tree");
      return 0;
    }
    return sf_fail(pe, "per=%.*s%s: expected thread, process or tree", SF_VAL(val));
  }
  return -1;
}

static int sf_check_rule(struct sf_perr *pe, const struct sf_rule *r)
{
  if (r->err == 0 && !r->any)
    return sf_fail(pe, "no error= given (e.g. error=EMFILE, or error=any)");
  if (r->any && r->force)
    return sf_fail(pe, "error=any draws from the documented errnos: 'force' has no meaning");
  if (r->any || r->force)
    return 0;
  for (int id = 0; id < SF_NCALLS; id++) {
    if (!(r->calls & SF_CALL_BIT(id)) || sf_errno_documented(id, r->err))
      continue;
    char list[512];
    size_t used = 0;
    list[0] = '\0';
    for (unsigned i = 0; i < sf_calls[id].nerrnos && used < sizeof list; i++) {
      int w = snprintf(list + used, sizeof list - used, "%s%s", i ? " " : "",
                       sf_errno_name(sf_calls[id].errnos[i].err));
      if (w > 0)
        used += (size_t)w;
    }
    return sf_fail(pe, "%s is not documented for %s (documented: %s); add :force to inject "
                   "it anyway", sf_errno_name(r->err), sf_calls[id].name, list);
  }
  return 0;
}

static int sf_parse_one(struct sf_perr *pe, struct sf_str text, struct sf_rule *r)
{
  memset(r, 0, sizeof *r);
  r->first = 1;
  r->last = SF_WHEN_INF;
  r->step = 1;
  r->prob = SF_PROB_ONE;
  /* Accept strace's spelling as pasted from a command line. */
  if (sf_starts(text, "inject=")) {
    text.p += 7;
    text.n -= 7;
  } else if (sf_starts(text, "fault=")) {
    text.p += 6;
    text.n -= 6;
  }
  struct sf_str rest;
  struct sf_str set = sf_trim(sf_split(text, ":", &rest));
  if (sf_parse_set(pe, set, r) != 0)
    return -1;
  unsigned seen = 0;
  while (rest.p != NULL) {
    struct sf_str next;
    struct sf_str field = sf_trim(sf_split(rest, ":", &next));
    if (field.n == 0)
      return sf_fail(pe, "empty field (two ':' in a row, or a ':' at the end)");
    if (sf_parse_field(pe, field, r, &seen) != 0)
      return -1;
    rest = next;
  }
  return sf_check_rule(pe, r);
}

int sf_rules_parse(const char *text, size_t len, const char *origin, struct sf_ruleset *out,
                   char *err, size_t errlen)
{
  struct sf_perr pe = {err, errlen, origin ? origin : "rules", 0, 0, {NULL, 0}};
  int is_file = origin != NULL && strcmp(origin, "SOCKFAULT") != 0 && strcmp(origin, "-e") != 0;
  long line = 1;
  size_t i = 0, before = out->n;
  if (err && errlen)
    err[0] = '\0';
  while (i <= len) {
    size_t start = i, end = i;
    while (end < len && text[end] != ';' && text[end] != '\n' && text[end] != '#')
      end++;
    struct sf_str rule = sf_trim((struct sf_str){text + start, end - start});
    long rule_line = line;
    if (end < len && text[end] == '#') /* a comment runs to the end of its line */
      while (end < len && text[end] != '\n')
        end++;
    if (end < len && text[end] == '\n')
      line++;
    i = end + 1;
    if (rule.n == 0)
      continue;
    for (size_t k = 0; k < rule.n; k++) {
      if (rule.p[k] == '\0') {
        pe.rule = rule;
        pe.index = out->n + 1;
        pe.line = is_file ? rule_line : 0;
        return sf_fail(&pe, "contains a NUL byte");
      }
    }
    pe.rule = rule;
    pe.index = out->n + 1;
    pe.line = is_file ? rule_line : 0;
    if (out->n >= SF_MAX_RULES)
      return sf_fail(&pe, "too many rules (at most %d)", SF_MAX_RULES);
    if (sf_parse_one(&pe, rule, &out->rule[out->n]) != 0)
      return -1;
    out->n++;
  }
  /* ';;;', '' or a file of comments: a rule set that does nothing must not pass for one that
   * does. The control API clears the rules with "" (or NULL), as documented. */
  int empty = out->n == before && strcmp(pe.origin, "sockfault_set_rules") != 0;
  if (empty && err && errlen) {
    struct sf_str all = {text, len};
    /* blank lines are shown as that, not quoted: a message stays on one line */
    if (is_file || memchr(text, '\n', len) != NULL)
      snprintf(err, errlen, "%s: no rule in it (only blank lines, ';' and comments): a rule "
               "set that does nothing is refused", pe.origin);
    else
      snprintf(err, errlen, "%s '%.*s%s': no rule in it: a rule set that does nothing is "
               "refused", pe.origin, SF_VAL(all));
  }
  return empty ? -1 : 0;
}
