/* The human report: the call x errno matrix (worst outcome per cell), its legend, one line
 * per single-fault finding with its reproducer, the multi-fault findings apart (no cell
 * shows them) with their schedules, and a summary. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "report.h"
#include "table.h"

static void sf_text_header(const struct sf_report *r, FILE *out)
{
  fprintf(out, "sockfault explore: %s", r->prog ? r->prog : "?");
  for (size_t i = 0; i < r->nargs; i++)
    fprintf(out, " %s", r->args[i]);
  fputc('\n', out);
  if (r->check)
    fprintf(out, "check: %s\n", r->check);
  char base[160];
  sf_baseline_describe(r, base, sizeof base);
  fprintf(out, "baseline: %s\n", base);
  size_t singles = 0, pairs = 0;
  for (size_t i = 0; i < r->npoints; i++)
    sf_point_grown(&r->points[i]) ? pairs++ : singles++;
  fprintf(out, "points: %zu single-fault", singles);
  if (r->shard_n > 1)
    sf_shard_note(r, out);
  if (r->depth > 1)
    fprintf(out, ", %zu pairs (--depth 2, budget %u)", pairs, r->budget);
  if (r->search) {
    char line[256];
    sf_search_describe(r, line, sizeof line);
    fprintf(out, "\nsearch: %s", line);
  }
  fputc('\n', out);
}

static void sf_text_matrix(const struct sf_report *r, FILE *out)
{
  struct sf_matrix m;
  sf_report_matrix(r, &m);
  if (m.ncols == 0)
    return;
  int width[64];
  fprintf(out, "\n%-16s", "");
  for (int k = 0; k < m.ncols; k++) {
    width[k] = (int)strlen(sf_calls[m.cols[k]].name);
    fprintf(out, " %s", sf_calls[m.cols[k]].name);
  }
  fputc('\n', out);
  for (int j = 0; j < m.nrows; j++) {
    const char *en = sf_errno_name(m.rows[j]);
    fprintf(out, "%-16s", en ? en : "?");
    for (int k = 0; k < m.ncols; k++) {
      int worst = sf_report_cell(r, m.cols[k], m.rows[j]);
      char mark = worst >= 0 ? sf_class_mark((enum sf_class)worst) : worst == -2 ? '?' : ' ';
      int left = (width[k] - 1) / 2;
      fprintf(out, " %*s%c%*s", left, "", mark, width[k] - 1 - left, "");
    }
    fputc('\n', out);
  }
  fprintf(out, "\nlegend:");
  for (int c = 0; c < SF_NCLASSES; c++)
    fprintf(out, "%s%c %s", c == 0 ? " " : c % 3 == 0 ? "\n        " : "   ",
            sf_class_mark((enum sf_class)c), sf_class_name((enum sf_class)c));
  fprintf(out, "\n        (blank: not explored; each cell is the worst over occurrences)\n");
  size_t ng = sf_report_grown_findings(r);
  if (ng)
    fprintf(out, "        (single faults only: %zu multi-fault finding%s listed apart below)\n",
            ng, ng == 1 ? "" : "s");
}

/* The findings of several faults, which no cell shows: each with its class, its schedule
 * one rule a line, how it was found, and its reproducer. */
static void sf_text_grown(const struct sf_report *r, FILE *out, char *repro)
{
  size_t ng = sf_report_grown_findings(r);
  if (!ng)
    return;
  fprintf(out, "multi-fault findings (not in the matrix; each schedule is %s): %zu\n",
          r->search ? "minimal: drop any rule and the finding goes" : "a --depth 2 pair", ng);
  char id[32], rule[256], how[SF_HOW_MAX];
  for (const struct sf_point *p = NULL; (p = sf_next_grown_finding(r, p, id, how));) {
    fprintf(out, "  #%-6s %-15s %s", id, sf_class_name(p->cls), how);
    if (sf_point_bug_only(p))
      fputs("; on errnos only a bug causes", out);
    fprintf(out, ": %s\n", p->detail ? p->detail : "");
    for (unsigned k = 0; k < p->nfaults && k < SF_MAX_FAULTS; k++) {
      sf_fault_rule(&p->fault[k], rule, sizeof rule);
      fprintf(out, "           %u. %s\n", k + 1, rule);
    }
    sf_point_reproducer(r, p, repro, SF_REPRO_MAX);
    fprintf(out, "           %s\n", repro);
  }
}

int sf_report_write_text(const struct sf_report *r, FILE *out)
{
  sf_text_header(r, out);
  sf_text_matrix(r, out);
  size_t nf = sf_report_findings(r);
  char fail_on[256];
  sf_fail_on_format(r->fail_on, fail_on, sizeof fail_on);
  fprintf(out, "\nfindings: %zu (classes counted: %s)\n", nf, fail_on[0] ? fail_on : "none");
  char *repro = malloc(SF_REPRO_MAX);
  if (!repro)
    return -1;
  /* first the findings a correct program's environment can cause, then those on errnos only
   * a bug causes (explore --errnos all): a crash there is real, a missed retry is not */
  size_t nbug = 0;
  for (size_t i = 0; i < r->npoints; i++)
    nbug += r->points[i].done && r->points[i].finding && !sf_point_grown(&r->points[i]) &&
            sf_point_bug_only(&r->points[i]);
  for (int bug = 0; bug < 2; bug++) {
    if (bug && nbug)
      fprintf(out, "findings on errnos only a bug causes (a correct call never meets them): %zu\n",
              nbug);
    for (size_t i = 0; i < r->npoints; i++) {
      const struct sf_point *p = &r->points[i];
      if (!p->done || !p->finding || sf_point_grown(p) || sf_point_bug_only(p) != (bug == 1))
        continue;
      char id[32], rules[SF_POINT_RULES_MAX];
      sf_point_id(p, id, sizeof id);
      sf_point_rules(p, rules, sizeof rules);
      sf_point_reproducer(r, p, repro, SF_REPRO_MAX);
      fprintf(out, "  #%-6s %-15s %s: %s\n           %s\n", id, sf_class_name(p->cls), rules,
              p->detail ? p->detail : "", repro);
    }
  }
  sf_text_grown(r, out, repro);
  free(repro);
  size_t nmis = 0;
  for (size_t i = 0; i < r->npoints; i++) {
    const struct sf_point *p = &r->points[i];
    if (!p->done || !p->misleading)
      continue;
    char id[32], rules[600];
    sf_point_id(p, id, sizeof id);
    sf_point_rules(p, rules, sizeof rules);
    if (nmis++ == 0)
      fputs("misleading (a message naming another error than the injected one; not a "
            "finding):\n", out);
    fprintf(out, "  #%-6s %-15s %s\n", id, sf_class_name(p->cls), rules);
  }
  size_t count[SF_NCLASSES] = {0}, done = 0;
  for (size_t i = 0; i < r->npoints; i++)
    if (r->points[i].done) {
      count[r->points[i].cls]++;
      done++;
    }
  fprintf(out, "summary: %zu runs", done);
  for (int c = 0; c < SF_NCLASSES; c++)
    if (count[c])
      fprintf(out, ", %zu %s", count[c], sf_class_name((enum sf_class)c));
  if (done < r->npoints)
    fprintf(out, "; %zu not run", r->npoints - done);
  fputc('\n', out);
  return ferror(out) ? -1 : 0;
}
