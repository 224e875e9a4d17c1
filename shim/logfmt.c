/* The log's records, formatted on the caller's buffer (logfmt.h). */
#include "logfmt.h"

#include <stdio.h>
#include <string.h>

struct sf_buf {
  char *b; /* SF_LOG_RECORD_MAX bytes */
  size_t n;
  bool over; /* something did not fit: the record is dropped, never written cut */
};

/* The helpers are inlined so that a literal's length is known when compiled: with a call and
 * a strlen per piece, and a copy per character of a string, formatting took ~4,000
 * instructions a record (callgrind), a third of the record's time beside its one write. */
#define SF_B_INLINE static inline __attribute__((always_inline))

/* A string field gets at most this much of the record (a C++ symbol can be kilobytes). */
#define SF_STR_MAX 300

SF_B_INLINE void sf_b_raw(struct sf_buf *o, const char *s, size_t l)
{
  if (l > SF_LOG_RECORD_MAX - 2 - o->n) { /* keep room for "}\n" */
    o->over = true;
    return;
  }
  memcpy(o->b + o->n, s, l);
  o->n += l;
}

SF_B_INLINE void sf_b_lit(struct sf_buf *o, const char *s) { sf_b_raw(o, s, strlen(s)); }

/* The length of the valid UTF-8 sequence at s (NUL-terminated), 0 when it is not one. */
static size_t sf_utf8_len(const unsigned char *s)
{
  unsigned c = s[0], lo = 0x80, hi = 0xbf;
  size_t need;
  if (c < 0x80)
    return 1;
  if (c >= 0xc2 && c <= 0xdf)
    need = 2;
  else if (c >= 0xe0 && c <= 0xef) /* no overlong form, no surrogate */
    need = 3, lo = c == 0xe0 ? 0xa0 : 0x80, hi = c == 0xed ? 0x9f : 0xbf;
  else if (c >= 0xf0 && c <= 0xf4)
    need = 4, lo = c == 0xf0 ? 0x90 : 0x80, hi = c == 0xf4 ? 0x8f : 0xbf;
  else
    return 0;
  if (s[1] < lo || s[1] > hi)
    return 0;
  for (size_t i = 2; i < need; i++)
    if (s[i] < 0x80 || s[i] > 0xbf)
      return 0;
  return need;
}

/* The bytes standing for the character at s, which is not plain ASCII text: in esc (an
 * escape) or at s itself (*out), k of them; *adv the input bytes they stand for. */
static size_t sf_esc_one(const char *s, char esc[6], const char **out, size_t *adv)
{
  static const char hex[] = "0123456789abcdef";
  unsigned c = (unsigned char)*s;
  *out = esc;
  *adv = 1;
  if (c == '"' || c == '\\') {
    esc[0] = '\\', esc[1] = (char)c;
    return 2;
  }
  if (c >= 0x80 && (*adv = sf_utf8_len((const unsigned char *)s)) != 0) {
    *out = s;
    return *adv;
  }
  unsigned hi = c < 0x20 ? 0x00 : 0xdc; /* a control byte, or a byte of bad UTF-8 */
  *adv = 1;
  esc[0] = '\\', esc[1] = 'u', esc[2] = hex[hi >> 4], esc[3] = hex[hi & 15];
  esc[4] = hex[c >> 4], esc[5] = hex[c & 15];
  return 6;
}

static bool sf_plain(unsigned char c) { return c >= 0x20 && c < 0x80 && c != '"' && c != '\\'; }

size_t sf_json_escape(char *dst, size_t cap, const char *s)
{
  size_t n = 0;
  while (*s) {
    char esc[6];
    const char *out = s;
    size_t adv = 1, k = sf_plain((unsigned char)*s) ? 1 : sf_esc_one(s, esc, &out, &adv);
    if (n + k > cap)
      break;
    memcpy(dst + n, out, k);
    n += k;
    s += adv;
  }
  return n;
}

/* A JSON string: runs that need no escape are copied whole; valid UTF-8 as it is, each byte
 * of bad UTF-8 as \udcXX; cut at a whole character after SF_STR_MAX bytes. */
static void sf_b_str(struct sf_buf *o, const char *s)
{
  sf_b_lit(o, "\"");
  size_t cap = o->n + SF_STR_MAX; /* where the field ends, the closing quote and "}\n" kept */
  if (cap > SF_LOG_RECORD_MAX - 3)
    cap = SF_LOG_RECORD_MAX - 3;
  for (;;) {
    const char *run = s;
    while (sf_plain((unsigned char)*s))
      s++;
    size_t l = (size_t)(s - run);
    if (o->n + l > cap) {
      sf_b_raw(o, run, cap > o->n ? cap - o->n : 0);
      break;
    }
    sf_b_raw(o, run, l);
    if (*s == 0)
      break;
    char esc[6];
    const char *out;
    size_t adv, k = sf_esc_one(s, esc, &out, &adv);
    if (o->n + k > cap)
      break;
    sf_b_raw(o, out, k);
    s += adv;
  }
  sf_b_lit(o, "\"");
}

static void sf_b_int(struct sf_buf *o, long long v)
{
  char tmp[24];
  int i = sizeof tmp;
  unsigned long long u = v < 0 ? 0ull - (unsigned long long)v : (unsigned long long)v;
  do {
    tmp[--i] = (char)('0' + u % 10);
    u /= 10;
  } while (u != 0);
  if (v < 0)
    tmp[--i] = '-';
  sf_b_raw(o, tmp + i, sizeof tmp - (size_t)i);
}

SF_B_INLINE void sf_b_key(struct sf_buf *o, const char *key)
{
  if (o->n > 1)
    sf_b_lit(o, ",");
  sf_b_lit(o, "\"");
  sf_b_lit(o, key);
  sf_b_lit(o, "\":");
}

static void sf_b_head(struct sf_buf *o, char *buf, long pid, long tid)
{
  o->b = buf;
  o->n = 0;
  o->over = false;
  sf_b_lit(o, "{");
  sf_b_key(o, "pid");
  sf_b_int(o, pid);
  sf_b_key(o, "tid");
  sf_b_int(o, tid);
}

/* "}\n" and the length, or 0 when something did not fit: the record is dropped whole. */
static size_t sf_b_end(struct sf_buf *o)
{
  if (o->over)
    return 0;
  o->b[o->n++] = '}';
  o->b[o->n++] = '\n';
  return o->n;
}

long long sf_logfmt_fired(const struct sf_rulestate *st, int rule)
{
  if (rule < 0 || !st->rules.rule[rule].has_for)
    return -1;
  return (long long)atomic_load_explicit(&st->fired[rule], memory_order_relaxed);
}

size_t sf_logfmt_call(const struct sf_logrec *r, char *buf)
{
  struct sf_buf o;
  const struct sf_ctx *c = r->ctx;
  sf_b_head(&o, buf, r->pid, r->tid);
  sf_b_key(&o, "call");
  sf_b_str(&o, sf_calls[c->call].name);
  sf_b_key(&o, "n");
  sf_b_int(&o, (long long)r->n);
  if (c->fd >= 0) {
    sf_b_key(&o, "fd");
    sf_b_int(&o, c->fd);
  }
  const char *fam = c->family >= 0 ? sf_family_name(c->family) : NULL;
  if (fam) {
    sf_b_key(&o, "family");
    sf_b_str(&o, fam);
  }
  const char *ty = c->type >= 0 ? sf_type_name(c->type & 0xf) : NULL;
  if (ty) {
    sf_b_key(&o, "type");
    sf_b_str(&o, ty);
  }
  if (c->port >= 0) {
    sf_b_key(&o, "port");
    sf_b_int(&o, c->port);
  }
  if (c->peer >= 0) {
    sf_b_key(&o, "peer");
    sf_b_int(&o, c->peer);
  }
  if (r->have_ret) {
    sf_b_key(&o, "ret");
    sf_b_int(&o, r->ret);
    if (r->ret == -1) {
      const char *en = sf_errno_name(r->err);
      sf_b_key(&o, "errno");
      if (en)
        sf_b_str(&o, en);
      else
        sf_b_int(&o, r->err);
    }
  }
  sf_b_key(&o, "injected");
  sf_b_lit(&o, r->rule >= 0 ? "true" : "false");
  if (r->rule >= 0) {
    sf_b_key(&o, "rule");
    sf_b_int(&o, r->rule);
    if (r->fired >= 0) { /* a for= rule's records are thinned out: the count */
      sf_b_key(&o, "fired");
      sf_b_int(&o, r->fired);
    }
  }
  sf_b_key(&o, "site");
  sf_b_str(&o, r->site ? r->site : "?");
  if (r->caller) {
    sf_b_key(&o, "caller");
    sf_b_str(&o, r->caller);
  }
  if (r->sym) {
    sf_b_key(&o, "sym");
    sf_b_str(&o, r->sym);
  }
  return sf_b_end(&o);
}

size_t sf_logfmt_event(long pid, long tid, const char *event, const char *extra_json, char *buf)
{
  struct sf_buf o;
  sf_b_head(&o, buf, pid, tid);
  sf_b_key(&o, "event");
  sf_b_str(&o, event);
  if (extra_json && extra_json[0]) {
    sf_b_lit(&o, ",");
    sf_b_lit(&o, extra_json);
  }
  return sf_b_end(&o);
}

void sf_logfmt_start(char *extra, size_t len, long ppid, const char *exe,
                     const struct sf_rulestate *st)
{
  char rules[600];
  sf_rules_format(&st->rules, rules, sizeof rules);
  /* exe and rules (a site= names a module) escaped: bad UTF-8 as \udcXX, the line valid JSON */
  char exe_j[257], rules_j[481]; /* both fit in extra with the seeds cut to fit */
  exe_j[sf_json_escape(exe_j, sizeof exe_j - 1, exe)] = '\0';
  rules_j[sf_json_escape(rules_j, sizeof rules_j - 1, rules)] = '\0';
  int k = snprintf(extra, len, "\"ppid\":%ld,\"exe\":\"%s\",\"rules\":\"%s\",\"seeds\":[", ppid,
                   exe_j, rules_j);
  for (unsigned i = 0; i < st->rules.n && k > 0 && (size_t)k < len - 24; i++)
    k += snprintf(extra + k, len - (size_t)k, "%s%llu", i ? "," : "",
                  (unsigned long long)st->seed[i]);
  if (k > 0 && (size_t)k < len - 2)
    snprintf(extra + k, len - (size_t)k, "]");
}
