/*
 * fuzz_rules — the rule-language parser (shim/rules.c) over arbitrary bytes.
 *
 * Properties asserted for every input:
 *  - sf_rules_parse returns 0 with an empty message, or -1 with a one-line message that
 *    names the origin; it never writes more than SF_MAX_RULES rules;
 *  - every parsed rule is well-formed (calls known, errno named, when/prob in range, filters
 *    consistent, site terminated);
 *  - round trip: the canonical text (sf_rules_format) parses again, to the same rules, and
 *    prints to the same text; a short buffer gets a terminated prefix and the same length.
 * ASan/UBSan catch the rest; the parser allocates nothing, so there is nothing to leak.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_check.h"
#include "rules.h"
#include "table.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_rule(const struct sf_rule *r, unsigned i)
{
  FZ_CHECK(r->calls != 0 && (r->calls & ~SF_ALL_CALLS) == 0, "rule %u: calls %#llx", i,
           (unsigned long long)r->calls);
  FZ_CHECK(r->any ? r->err == 0 : sf_errno_name(r->err) != NULL, "rule %u: errno %d", i, r->err);
  FZ_CHECK(!(r->any && r->force), "rule %u: any with force", i);
  FZ_CHECK(r->first >= 1 && r->last >= r->first && r->step >= 1, "rule %u: when %llu..%llu+%llu",
           i, (unsigned long long)r->first, (unsigned long long)r->last,
           (unsigned long long)r->step);
  FZ_CHECK(r->has_when || (r->first == 1 && r->last == SF_WHEN_INF && r->step == 1),
           "rule %u: when without has_when", i);
  FZ_CHECK(r->prob <= SF_PROB_ONE && (r->has_prob || r->prob == SF_PROB_ONE), "rule %u: prob %u",
           i, (unsigned)r->prob);
  FZ_CHECK((r->filters & ~(unsigned)(SF_F_FAMILY | SF_F_TYPE | SF_F_PORT | SF_F_FD | SF_F_SITE)) == 0,
           "rule %u: filters %#x", i, r->filters);
  FZ_CHECK(!(r->filters & SF_F_FAMILY) || sf_family_name(r->family) != NULL, "rule %u: family", i);
  FZ_CHECK(!(r->filters & SF_F_TYPE) || sf_type_name(r->type) != NULL, "rule %u: type", i);
  FZ_CHECK(!(r->filters & SF_F_PORT) || (r->port >= 0 && r->port <= 65535), "rule %u: port", i);
  FZ_CHECK(!(r->filters & SF_F_FD) || r->fd >= 0, "rule %u: fd", i);
  FZ_CHECK(memchr(r->site, '\0', sizeof r->site) != NULL, "rule %u: site unterminated", i);
  FZ_CHECK(!(r->filters & SF_F_SITE) == (r->site[0] == '\0'), "rule %u: site filter", i);
  /* Documented errnos only, unless forced or drawn from the table. */
  if (!r->any && !r->force)
    for (int id = 0; id < SF_NCALLS; id++)
      FZ_CHECK(!(r->calls & SF_CALL_BIT(id)) || sf_errno_documented(id, r->err),
               "rule %u: %s undocumented for %s", i, sf_errno_name(r->err), sf_calls[id].name);
}

static int same_rule(const struct sf_rule *a, const struct sf_rule *b)
{
  return a->calls == b->calls && a->err == b->err && a->any == b->any && a->force == b->force &&
         a->has_when == b->has_when && a->has_prob == b->has_prob &&
         a->has_seed == b->has_seed && a->first == b->first && a->last == b->last &&
         a->step == b->step && a->prob == b->prob && a->seed == b->seed &&
         a->filters == b->filters && (!(a->filters & SF_F_FAMILY) || a->family == b->family) &&
         (!(a->filters & SF_F_TYPE) || a->type == b->type) &&
         (!(a->filters & SF_F_PORT) || a->port == b->port) &&
         (!(a->filters & SF_F_FD) || a->fd == b->fd) && strcmp(a->site, b->site) == 0;
}

/* The rule sets are large (64 rules with a site each): static, not on the stack. */
static struct sf_ruleset parsed, again;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  /* The first byte picks the origin: a file (line numbers in messages) or the variable. */
  const char *origin = size > 0 && (data[0] & 1) ? "fuzz.rules" : "SOCKFAULT";
  char err[512];
  memset(&parsed, 0, sizeof parsed);
  memset(err, 'x', sizeof err);
  int rc = sf_rules_parse((const char *)data, size, origin, &parsed, err, sizeof err);
  FZ_CHECK(parsed.n <= SF_MAX_RULES, "%u rules", parsed.n);
  FZ_CHECK(memchr(err, '\0', sizeof err) != NULL, "error message not terminated");
  if (rc != 0) {
    FZ_CHECK(rc == -1, "rc %d", rc);
    FZ_CHECK(err[0] != '\0', "failed without a message");
    FZ_CHECK(strncmp(err, origin, strlen(origin)) == 0, "message does not name the origin: %s",
             err);
    FZ_CHECK(strchr(err, '\n') == NULL, "message is not one line: %s", err);
    return 0;
  }
  FZ_CHECK(err[0] == '\0', "success with a message: %s", err);
  for (unsigned i = 0; i < parsed.n; i++)
    check_rule(&parsed.rule[i], i);

  /* Round trip: canonical text -> the same rules -> the same text. */
  size_t need = sf_rules_format(&parsed, NULL, 0);
  char *text = malloc(need + 1);
  char *text2 = malloc(need + 1);
  FZ_CHECK(text && text2, "out of memory");
  FZ_CHECK(sf_rules_format(&parsed, text, need + 1) == need && strlen(text) == need,
           "format length");
  FZ_CHECK(memchr(text, ';', need) != NULL || parsed.n <= 1, "rules not separated: %s", text);
  size_t cut = size > 1 ? data[1] % (need + 1) : 0;
  char *shortbuf = malloc(cut + 1);
  FZ_CHECK(shortbuf, "out of memory");
  FZ_CHECK(sf_rules_format(&parsed, shortbuf, cut + 1) == need, "short format length");
  FZ_CHECK(strlen(shortbuf) == cut && memcmp(shortbuf, text, cut) == 0,
           "short buffer is not a prefix");
  free(shortbuf);

  memset(&again, 0, sizeof again);
  rc = sf_rules_parse(text, need, "SOCKFAULT", &again, err, sizeof err);
  FZ_CHECK(rc == 0, "canonical text does not parse: '%s': %s", text, err);
  FZ_CHECK(again.n == parsed.n, "rule count %u -> %u through '%s'", parsed.n, again.n, text);
  for (unsigned i = 0; i < parsed.n; i++) {
    char one[1024];
    sf_rule_format(&parsed.rule[i], one, sizeof one);
    FZ_CHECK(same_rule(&parsed.rule[i], &again.rule[i]), "rule %u changed through '%s'", i, one);
  }
  FZ_CHECK(sf_rules_format(&again, text2, need + 1) == need && strcmp(text, text2) == 0,
           "format is not idempotent: '%s' -> '%s'", text, text2);
  free(text);
  free(text2);
  return 0;
}
