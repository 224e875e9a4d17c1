/* A point's shim rules and its `sockfault run` command line (report.h), the text every
 * writer prints for a point. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "report.h"
#include "table.h"
#include "text.h"

void sf_fault_rule(const struct sf_fault *f, char *buf, size_t len)
{
  const char *call = (unsigned)f->call < SF_NCALLS ? sf_calls[f->call].name : "?";
  const char *en = sf_errno_name(f->err);
  char site[SF_SITE_MAX + 8] = "", when[64];
  if (f->site[0])
    snprintf(site, sizeof site, ":site=%s", f->site);
  if (f->window_ms > 0)
    snprintf(when, sizeof when, "%llu+:for=%lld%s", f->when,
             f->window_ms % 1000 ? f->window_ms : f->window_ms / 1000,
             f->window_ms % 1000 ? "ms" : "s");
  else if (f->until > f->when)
    snprintf(when, sizeof when, "%llu..%llu", f->when, f->until);
  else
    snprintf(when, sizeof when, "%llu", f->when);
  snprintf(buf, len, "%s:error=%s%s:when=%s%s%s", call, en ? en : "?", site, when,
           f->per_tree ? ":per=tree" : "", f->force ? ":force" : "");
}

void sf_point_rules(const struct sf_point *p, char *buf, size_t len)
{
  size_t n = 0;
  if (len)
    buf[0] = '\0';
  for (unsigned i = 0; i < p->nfaults && i < SF_MAX_FAULTS && n < len; i++) {
    if (i)
      buf[n++] = ';';
    sf_fault_rule(&p->fault[i], buf + n, len - n);
    n += strlen(buf + n);
  }
  if (n < len)
    buf[n] = '\0';
}

/* Append one word to buf, after a space unless it is the first. */
static void sf_append_word(char *buf, size_t len, size_t *n, const char *piece)
{
  int w = snprintf(buf + *n, len - *n, "%s%s", *n ? " " : "", piece);
  if (w > 0)
    *n = *n + (size_t)w < len ? *n + (size_t)w : len - 1;
}

/* Append s to buf, single-quoted for the shell when it needs it. */
static void sf_shq(char *buf, size_t len, size_t *n, const char *s)
{
  int plain = s[0] != '\0';
  for (const char *p = s; *p; p++)
    if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-+=./,:@%", *p))
      plain = 0;
  char piece[4096];
  size_t k = 0;
  if (plain) {
    k = (size_t)snprintf(piece, sizeof piece, "%s", s);
  } else {
    piece[k++] = '\'';
    for (const char *p = s; *p && k < sizeof piece - 6; p++) {
      if (*p == '\'') {
        memcpy(piece + k, "'\\''", 4);
        k += 4;
      } else {
        piece[k++] = *p;
      }
    }
    piece[k++] = '\'';
    piece[k] = '\0';
  }
  sf_append_word(buf, len, n, piece);
}

/* Append s with {port} filled and each {tmp} as "${SF_TMP}", the fresh private directory the
 * reproducer makes first (as replay does), never a shared one such as /tmp. */
static void sf_shq_subst(char *buf, size_t len, size_t *n, const char *s, int port)
{
  char *a = sf_subst(s, port, "\x01");
  if (!a || !strchr(a, '\x01')) {
    sf_shq(buf, len, n, a ? a : s);
    free(a);
    return;
  }
  char piece[4096];
  size_t k = 0;
  piece[k++] = '"';
  for (const char *p = a; *p && k < sizeof piece - 12; p++) {
    if (*p == '\x01') {
      memcpy(piece + k, "${SF_TMP}", 9);
      k += 9;
      continue;
    }
    if (strchr("\"\\$`", *p))
      piece[k++] = '\\';
    piece[k++] = *p;
  }
  piece[k++] = '"';
  piece[k] = '\0';
  free(a);
  sf_append_word(buf, len, n, piece);
}

void sf_point_reproducer(const struct sf_report *r, const struct sf_point *p, char *buf,
                         size_t len)
{
  size_t n = 0;
  buf[0] = '\0';
  bool tmp = r->check && strstr(r->check, "{tmp}");
  tmp |= r->peer && strstr(r->peer, "{tmp}");
  for (size_t i = 0; i < r->nargs; i++)
    tmp |= strstr(r->args[i], "{tmp}") != NULL;
  if (tmp)
    sf_append_word(buf, len, &n, "SF_TMP=$(mktemp -d) &&");
  sf_shq(buf, len, &n, "sockfault");
  sf_shq(buf, len, &n, "run");
  for (unsigned i = 0; i < p->nfaults && i < SF_MAX_FAULTS; i++) {
    char rule[256];
    sf_fault_rule(&p->fault[i], rule, sizeof rule);
    sf_shq(buf, len, &n, "-e");
    sf_shq(buf, len, &n, rule);
  }
  sf_shq(buf, len, &n, "--");
  sf_shq(buf, len, &n, r->prog ? r->prog : "?");
  for (size_t i = 0; i < r->nargs; i++)
    sf_shq_subst(buf, len, &n, r->args[i], p->port);
  if (r->peer) {
    char *c = sf_subst(r->peer, p->port, "${SF_TMP}");
    int w = snprintf(buf + n, len - n, "   # first, from another shell%s: %s",
                     tmp ? " with the same SF_TMP" : "", c ? c : r->peer);
    if (w > 0)
      n = n + (size_t)w < len ? n + (size_t)w : len - 1;
    free(c);
  }
  if (r->check) {
    char *c = sf_subst(r->check, p->port, "${SF_TMP}");
    int w = snprintf(buf + n, len - n, "   # then, from another shell%s: %s",
                     tmp ? " with the same SF_TMP" : "", c ? c : r->check);
    (void)w;
    free(c);
  }
}
