/*
 * The fault-rule language, strace-compatible:
 *   SET:error=ERRNO[:when=EXPR][:prob=P][:seed=N][:for=DURATION][:FILTER=VALUE…][:force]
 * Pure: text in, rules or an error message out. No allocation, no I/O, so the shim can
 * parse before main and the fuzzer can hammer it.
 */
#ifndef SF_RULES_H
#define SF_RULES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SF_MAX_RULES 64
#define SF_WHEN_INF UINT64_MAX
#define SF_PROB_ONE 1000000000u /* prob is kept in billionths, exactly as written */
#define SF_SITE_MAX 96

enum sf_filter {
  SF_F_FAMILY = 1 << 0,
  SF_F_TYPE = 1 << 1,
  SF_F_PORT = 1 << 2,
  SF_F_FD = 1 << 3,
  SF_F_SITE = 1 << 4,
};

struct sf_rule {
  uint64_t calls;             /* bit per call id */
  int err;                    /* errno to inject; 0 with any */
  bool any;                   /* error=any: draw from the call's documented list */
  bool force;                 /* allow an errno the call does not document */
  bool per_thread;            /* per=thread: when= counts this thread's calls (strace) */
  bool per_tree;              /* per=tree: when= counts the calls of the process and every
                               * process forked from it, together */
  bool has_when, has_prob, has_seed, has_for;
  uint64_t first, last, step; /* when=first..last+step (last SF_WHEN_INF: open) */
  uint32_t prob;              /* in billionths; SF_PROB_ONE when absent */
  uint64_t seed;
  uint64_t for_ms;            /* for=: the rule injects only this long after it first did */
  unsigned filters;           /* enum sf_filter bits */
  int family;                 /* AF_* */
  int type;                   /* SOCK_* */
  int port;
  int fd;
  char site[SF_SITE_MAX];     /* MODULE+0xOFFSET, as logged */
};

struct sf_ruleset {
  unsigned n;
  struct sf_rule rule[SF_MAX_RULES];
};

/*
 * Parse rules separated by ';' or newlines; '#' starts a comment to the end of the line.
 * origin names the text in messages ("SOCKFAULT", "-e", a file name); for a file, line
 * numbers are given. Rules are appended to out. Returns 0, or -1 with a one-line message
 * in err naming the rule and the bad token.
 */
int sf_rules_parse(const char *text, size_t len, const char *origin, struct sf_ruleset *out,
                   char *err, size_t errlen);

/* The canonical text of a rule / a rule set (rules joined by ';'). Returns the length it
 * needs; output is truncated to len and always terminated when len > 0. */
size_t sf_rule_format(const struct sf_rule *r, char *buf, size_t len);
size_t sf_rules_format(const struct sf_ruleset *rs, char *buf, size_t len);

/* 1 if the when expression selects occurrence n (1-based). */
static inline int sf_when_selects(const struct sf_rule *r, uint64_t n)
{
  return n >= r->first && n <= r->last && (n - r->first) % r->step == 0;
}

const char *sf_family_name(int family);
const char *sf_type_name(int type);

#endif
