/*
 * gen_man TEMPLATE OUTPUT VERSION: writes sockfault-rules(7) from its prose template and
 * the tables the shim is built from (calls.def, errnos.def, envs.def), so the man page
 * cannot drift from the code. A line that is exactly @NAME@ becomes a block; @NAME@
 * inside a line becomes a phrase; an unknown @NAME@ fails the build.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rules.h"
#include "table.h"

static const struct {
  const char *name, *doc;
} sf_envs[] = {
#define SF_ENV(name, doc) {#name, doc},
#include "envs.def"
#undef SF_ENV
};

struct sf_alias {
  const char *name, *canonical;
};
static const struct sf_alias sf_aliases[] = {
#define SF_ERRNO(n)
#define SF_ERRNO_ALIAS(n, c) {#n, #c},
#include "errnos.def"
#undef SF_ERRNO
#undef SF_ERRNO_ALIAS
};

static const int sf_errno_values[] = {
#define SF_ERRNO(n) n,
#define SF_ERRNO_ALIAS(n, c)
#include "errnos.def"
#undef SF_ERRNO
#undef SF_ERRNO_ALIAS
};

#define SF_COUNT(a) (sizeof(a) / sizeof((a)[0]))

/* Text for roff: backslashes and hyphens escaped, and a leading '.' or '\'' kept from
 * being read as a request. at_bol says whether s starts a line. */
static void sf_roff(FILE *out, const char *s, int at_bol)
{
  if (at_bol && (*s == '.' || *s == '\''))
    fputs("\\&", out);
  for (; *s; s++) {
    if (*s == '\\')
      fputs("\\e", out);
    else if (*s == '-')
      fputs("\\-", out);
    else
      fputc(*s, out);
  }
}

/* "\fBa\fR, \fBb\fR and \fBc\fR" for the calls in mask. */
static void sf_call_list(FILE *out, uint64_t mask)
{
  int n = 0, total = 0;
  for (int id = 0; id < SF_NCALLS; id++)
    total += (mask & SF_CALL_BIT(id)) != 0;
  for (int id = 0; id < SF_NCALLS; id++) {
    if (!(mask & SF_CALL_BIT(id)))
      continue;
    if (n > 0)
      fputs(n == total - 1 ? " and " : ", ", out);
    fprintf(out, "\\fB%s\\fR", sf_calls[id].name);
    n++;
  }
}

/* The calls a set selects, asked of the parser itself. */
static uint64_t sf_set_calls(const char *set)
{
  char text[64], err[256];
  struct sf_ruleset rs = {0};
  snprintf(text, sizeof text, "%s:error=any", set);
  if (sf_rules_parse(text, strlen(text), "gen_man", &rs, err, sizeof err) != 0 || rs.n != 1) {
    fprintf(stderr, "gen_man: %s\n", err);
    exit(1);
  }
  return rs.rule[0].calls;
}

static void sf_call_table(FILE *out)
{
  for (int id = 0; id < SF_NCALLS; id++) {
    const struct sf_call_info *c = &sf_calls[id];
    fprintf(out, ".TP\n.B %s\n", c->name);
    sf_roff(out, c->ret, 1);
    fprintf(out, " \\fB%s\\fR", c->name);
    sf_roff(out, c->params, 0);
    fprintf(out, "\n.br\nFails with \\fB%s%ld\\fR%s; documented errnos:\n", c->fail < 0 ? "\\-" : "",
            c->fail < 0 ? -c->fail : c->fail,
            c->ctx == SF_CTX_SOCKFD ? " (intercepted on sockets only)" : "");
    for (unsigned i = 0; i < c->nerrnos; i++)
      fprintf(out, "\\fB%s\\fR\\~(%s,\\~%s)%s\n", sf_errno_name(c->errnos[i].err),
              sf_src_name(c->errnos[i].src), sf_why_name(c->errnos[i].why),
              i + 1 < c->nerrnos ? "," : ".");
  }
}

/* The WHY column's values, from table.h's SF_WHYS. */
static void sf_why_table(FILE *out)
{
  for (int w = 0; w < SF_NWHY; w++) {
    fprintf(out, ".TP\n.B %s\n", sf_why_name((enum sf_why)w));
    sf_roff(out, sf_why_text((enum sf_why)w), 1);
    fputs(sf_why_env((enum sf_why)w) ? ": a correct program can meet it.\n"
                                     : ": only a bug causes it.\n",
          out);
  }
}

static int sf_by_name(const void *a, const void *b)
{
  return strcmp(sf_errno_name(*(const int *)a), sf_errno_name(*(const int *)b));
}

static void sf_man_errno_index(FILE *out)
{
  int used[SF_COUNT(sf_errno_values)];
  size_t n = 0;
  for (size_t i = 0; i < SF_COUNT(sf_errno_values); i++) {
    int err = sf_errno_values[i];
    for (int id = 0; id < SF_NCALLS; id++) {
      if (sf_errno_documented(id, err)) {
        used[n++] = err;
        break;
      }
    }
  }
  qsort(used, n, sizeof used[0], sf_by_name);
  for (size_t i = 0; i < n; i++) {
    uint64_t mask = 0;
    for (int id = 0; id < SF_NCALLS; id++)
      if (sf_errno_documented(id, used[i]))
        mask |= SF_CALL_BIT(id);
    fprintf(out, ".TP\n.BR %s \" (%d)\"\n", sf_errno_name(used[i]), used[i]);
    sf_roff(out, strerror(used[i]), 1);
    fputs(".\nDocumented for ", out);
    sf_call_list(out, mask);
    fputs(".\n", out);
  }
}

static void sf_alias_list(FILE *out)
{
  for (size_t i = 0; i < SF_COUNT(sf_aliases); i++)
    fprintf(out, "%s\\fB%s\\fR (as \\fB%s\\fR)", i ? (i + 1 == SF_COUNT(sf_aliases) ? " and " : ", ") : "",
            sf_aliases[i].name, sf_aliases[i].canonical);
}

static void sf_environment(FILE *out)
{
  for (size_t i = 0; i < SF_COUNT(sf_envs); i++) {
    fprintf(out, ".TP\n.B %s\n", sf_envs[i].name);
    sf_roff(out, sf_envs[i].doc, 1);
    fputs(".\n", out);
  }
}

static const char *sf_version = "";

/* Expands one @NAME@; 0, or -1 for a name this generator does not know. */
static int sf_expand(FILE *out, const char *name, size_t len, int whole_line)
{
#define SF_IS(lit) (len == sizeof(lit) - 1 && memcmp(name, lit, len) == 0)
  if (whole_line && SF_IS("CALL_TABLE"))
    sf_call_table(out);
  else if (whole_line && SF_IS("WHY_TABLE"))
    sf_why_table(out);
  else if (whole_line && SF_IS("ERRNO_INDEX"))
    sf_man_errno_index(out);
  else if (whole_line && SF_IS("ENVIRONMENT"))
    sf_environment(out);
  else if (SF_IS("ALIASES"))
    sf_alias_list(out);
  else if (SF_IS("VERSION"))
    sf_roff(out, sf_version, 0);
  else if (SF_IS("MAX_RULES"))
    fprintf(out, "%d", SF_MAX_RULES);
  else if (SF_IS("ALL_CALLS"))
    sf_call_list(out, sf_set_calls("all"));
  else if (SF_IS("NET_CALLS"))
    sf_call_list(out, sf_set_calls("%net"));
  else if (SF_IS("SOCKFD_CALLS")) {
    uint64_t mask = 0;
    for (int id = 0; id < SF_NCALLS; id++)
      if (sf_calls[id].ctx == SF_CTX_SOCKFD)
        mask |= SF_CALL_BIT(id);
    sf_call_list(out, mask);
  } else
    return -1;
  return 0;
#undef SF_IS
}

static int sf_is_marker_char(char c) { return (c >= 'A' && c <= 'Z') || c == '_'; }

/* Copies one template line, expanding its markers. */
static int sf_line(FILE *out, const char *line, const char *tmpl, long lineno)
{
  size_t len = strlen(line);
  if (len > 2 && line[0] == '@' && line[len - 1] == '@' &&
      strspn(line + 1, "ABCDEFGHIJKLMNOPQRSTUVWXYZ_") == len - 2) {
    if (sf_expand(out, line + 1, len - 2, 1) == 0)
      return 0;
  }
  for (const char *p = line; *p; p++) {
    if (*p == '@') {
      const char *q = p + 1;
      while (sf_is_marker_char(*q))
        q++;
      if (*q == '@' && q > p + 1) {
        if (sf_expand(out, p + 1, (size_t)(q - p - 1), 0) != 0) {
          fprintf(stderr, "%s:%ld: unknown marker %.*s\n", tmpl, lineno, (int)(q - p + 1), p);
          return -1;
        }
        p = q;
        continue;
      }
    }
    fputc(*p, out);
  }
  fputc('\n', out);
  return 0;
}

int main(int argc, char **argv)
{
  if (argc != 4) {
    fprintf(stderr, "usage: gen_man TEMPLATE OUTPUT VERSION\n");
    return 2;
  }
  const char *tmpl = argv[1], *outpath = argv[2];
  sf_version = argv[3];
  char tmp[4096];
  snprintf(tmp, sizeof tmp, "%s.tmp", outpath);
  FILE *in = fopen(tmpl, "r");
  if (!in) {
    fprintf(stderr, "gen_man: %s: %s\n", tmpl, strerror(errno));
    return 1;
  }
  FILE *out = fopen(tmp, "w");
  if (!out) {
    fprintf(stderr, "gen_man: %s: %s\n", tmp, strerror(errno));
    fclose(in);
    return 1;
  }
  fprintf(out, ".\\\" Generated from %s and shim/calls.def by gen_man: do not edit.\n", tmpl);
  char *line = NULL;
  size_t cap = 0;
  ssize_t n;
  long lineno = 0;
  int rc = 0;
  while (rc == 0 && (n = getline(&line, &cap, in)) >= 0) {
    lineno++;
    if (n > 0 && line[n - 1] == '\n')
      line[n - 1] = '\0';
    rc = sf_line(out, line, tmpl, lineno);
  }
  free(line);
  if (ferror(in)) {
    fprintf(stderr, "gen_man: %s: read error\n", tmpl);
    rc = -1;
  }
  fclose(in);
  if (fclose(out) != 0) {
    fprintf(stderr, "gen_man: %s: %s\n", tmp, strerror(errno));
    rc = -1;
  }
  if (rc == 0 && rename(tmp, outpath) != 0) {
    fprintf(stderr, "gen_man: %s: %s\n", outpath, strerror(errno));
    rc = -1;
  }
  if (rc != 0)
    remove(tmp);
  return rc == 0 ? 0 : 1;
}
