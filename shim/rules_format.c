/* The fault-rule language printed: a rule's canonical text, which parses back to the same
 * rule (rules.c). Pure: no allocation, no I/O. */
#include "rules.h"

#include <stdio.h>
#include <string.h>

#include "table.h"

/* A small appender that counts what it would need, like snprintf. */
struct sf_out {
  char *buf;
  size_t len, used;
};

static void sf_put(struct sf_out *o, const char *s, size_t n)
{
  for (size_t i = 0; i < n; i++, o->used++)
    if (o->used + 1 < o->len)
      o->buf[o->used] = s[i];
  if (o->len > 0)
    o->buf[o->used < o->len ? o->used : o->len - 1] = '\0';
}

static void sf_puts(struct sf_out *o, const char *s) { sf_put(o, s, strlen(s)); }

static void sf_putu(struct sf_out *o, uint64_t v)
{
  char tmp[24];
  int n = snprintf(tmp, sizeof tmp, "%llu", (unsigned long long)v);
  sf_put(o, tmp, (size_t)n);
}

static void sf_format_into(struct sf_out *o, const struct sf_rule *r)
{
  if (r->calls == SF_ALL_CALLS) {
    sf_puts(o, "all");
  } else {
    int first = 1;
    for (int id = 0; id < SF_NCALLS; id++) {
      if (!(r->calls & SF_CALL_BIT(id)))
        continue;
      if (!first)
        sf_puts(o, ",");
      sf_puts(o, sf_calls[id].name);
      first = 0;
    }
  }
  sf_puts(o, ":error=");
  if (r->any)
    sf_puts(o, "any");
  else if (sf_errno_name(r->err))
    sf_puts(o, sf_errno_name(r->err));
  else
    sf_putu(o, (uint64_t)r->err);
  if (r->has_when) {
    sf_puts(o, ":when=");
    sf_putu(o, r->first);
    if (r->last == SF_WHEN_INF) {
      sf_puts(o, "+");
      if (r->step != 1)
        sf_putu(o, r->step);
    } else if (r->last != r->first) {
      sf_puts(o, "..");
      sf_putu(o, r->last);
      if (r->step != 1) {
        sf_puts(o, "+");
        sf_putu(o, r->step);
      }
    }
  }
  if (r->has_prob) {
    char tmp[16];
    if (r->prob == SF_PROB_ONE) {
      sf_puts(o, ":prob=1");
    } else {
      int n = snprintf(tmp, sizeof tmp, "%09u", (unsigned)r->prob);
      while (n > 1 && tmp[n - 1] == '0')
        n--;
      sf_puts(o, ":prob=0.");
      sf_put(o, tmp, (size_t)n);
    }
  }
  if (r->has_seed) {
    sf_puts(o, ":seed=");
    sf_putu(o, r->seed);
  }
  if (r->has_for) {
    sf_puts(o, ":for=");
    sf_putu(o, r->for_ms % 1000 ? r->for_ms : r->for_ms / 1000);
    sf_puts(o, r->for_ms % 1000 ? "ms" : "s");
  }
  if (r->filters & SF_F_FAMILY) {
    sf_puts(o, ":family=");
    sf_puts(o, sf_family_name(r->family));
  }
  if (r->filters & SF_F_TYPE) {
    sf_puts(o, ":type=");
    sf_puts(o, sf_type_name(r->type));
  }
  if (r->filters & SF_F_PORT) {
    sf_puts(o, ":port=");
    sf_putu(o, (uint64_t)r->port);
  }
  if (r->filters & SF_F_FD) {
    sf_puts(o, ":fd=");
    sf_putu(o, (uint64_t)r->fd);
  }
  if (r->filters & SF_F_SITE) {
    sf_puts(o, ":site=");
    sf_puts(o, r->site);
  }
  if (r->force)
    sf_puts(o, ":force");
  if (r->per_thread)
    sf_puts(o, ":per=thread");
  if (r->per_tree)
    sf_puts(o, ":per=tree");
}

size_t sf_rule_format(const struct sf_rule *r, char *buf, size_t len)
{
  struct sf_out o = {buf, len, 0};
  if (len > 0)
    buf[0] = '\0';
  sf_format_into(&o, r);
  return o.used;
}

size_t sf_rules_format(const struct sf_ruleset *rs, char *buf, size_t len)
{
  struct sf_out o = {buf, len, 0};
  if (len > 0)
    buf[0] = '\0';
  for (unsigned i = 0; i < rs->n; i++) {
    if (i)
      sf_puts(&o, ";");
    sf_format_into(&o, &rs->rule[i]);
  }
  return o.used;
}
