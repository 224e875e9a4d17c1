/* The JUnit XML report: one testsuite, one testcase per point; findings are failures,
 * not-reached points are skipped, the rest pass. Text is escaped and made valid UTF-8 and
 * valid XML 1.0 (control characters cannot appear even escaped), whatever a program wrote. */
#define _GNU_SOURCE
#include <string.h>

#include "json.h"
#include "report.h"
#include "table.h"

static void sf_xml(FILE *f, const char *s)
{
  const unsigned char *u = (const unsigned char *)(s ? s : "");
  size_t len = strlen((const char *)u);
  for (size_t i = 0; i < len;) {
    unsigned char c = u[i];
    switch (c) {
    case '<': fputs("&lt;", f); i++; continue;
    case '>': fputs("&gt;", f); i++; continue;
    case '&': fputs("&amp;", f); i++; continue;
    case '"': fputs("&quot;", f); i++; continue;
    case '\'': fputs("&apos;", f); i++; continue;
    case '\n': case '\t': fputc(c, f); i++; continue;
    default: break;
    }
    if (c < 0x20 || c == 0x7f) {
      fputc('?', f);
      i++;
      continue;
    }
    i += sf_utf8_put(f, u + i, len - i);
  }
}

/* A multi-fault finding's faults, one rule a line, in the failure's text. */
static void sf_junit_schedule(const struct sf_report *r, const struct sf_point *p, FILE *f)
{
  char rule[256], how[SF_HOW_MAX];
  sf_point_provenance(r, p, how, sizeof how);
  fputc('\n', f);
  sf_xml(f, how);
  fputc(':', f);
  for (unsigned k = 0; k < p->nfaults && k < SF_MAX_FAULTS; k++) {
    sf_fault_rule(&p->fault[k], rule, sizeof rule);
    fprintf(f, "\n  %u. ", k + 1);
    sf_xml(f, rule);
  }
}

int sf_report_write_junit(const struct sf_report *r, FILE *f)
{
  size_t tests = 0, failures = 0, skipped = 0;
  long long total_ms = 0;
  for (size_t i = 0; i < r->npoints; i++) {
    const struct sf_point *p = &r->points[i];
    if (!p->done)
      continue;
    tests++;
    failures += p->finding;
    skipped += !p->finding && p->cls == SF_C_NOT_REACHED;
    total_ms += p->duration_ms;
  }
  const char *base = r->prog ? strrchr(r->prog, '/') : NULL;
  base = base ? base + 1 : r->prog ? r->prog : "?";
  fputs("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites>\n", f);
  fputs("  <testsuite name=\"sockfault explore ", f);
  sf_xml(f, base);
  fprintf(f, "\" tests=\"%zu\" failures=\"%zu\" errors=\"0\" skipped=\"%zu\" time=\"%.3f\">\n",
          tests, failures, skipped, (double)total_ms / 1000.0);
  char repro[SF_REPRO_MAX], rules[SF_POINT_RULES_MAX], id[32];
  for (size_t i = 0; i < r->npoints; i++) {
    const struct sf_point *p = &r->points[i];
    if (!p->done)
      continue;
    sf_point_id(p, id, sizeof id);
    sf_point_rules(p, rules, sizeof rules);
    /* a --search schedule is grouped apart: its faults are on several calls */
    fputs("    <testcase classname=\"sockfault.", f);
    sf_xml(f, p->search ? sf_kind_name(SF_KIND_SCHEDULE)
                        : sf_calls[p->fault[p->nfaults - 1].call].name);
    fprintf(f, "\" name=\"#%s ", id);
    sf_xml(f, rules);
    fprintf(f, "\" time=\"%.3f\">\n", (double)p->duration_ms / 1000.0);
    if (p->finding) {
      sf_point_reproducer(r, p, repro, sizeof repro);
      fprintf(f, "      <failure type=\"%s\" message=\"%s: ", sf_class_name(p->cls),
              sf_class_name(p->cls));
      sf_xml(f, p->detail);
      fputs("\">", f);
      sf_xml(f, p->detail);
      if (sf_point_grown(p))
        sf_junit_schedule(r, p, f);
      fputs("\nreproduce: ", f);
      sf_xml(f, repro);
      fputs("\nstderr (tail):\n", f);
      sf_xml(f, p->stderr_tail);
      fputs("</failure>\n", f);
    } else if (p->cls == SF_C_NOT_REACHED) {
      fputs("      <skipped message=\"", f);
      sf_xml(f, p->detail);
      fputs("\"/>\n", f);
    }
    fprintf(f, "      <system-out>class: %s; ", sf_class_name(p->cls));
    sf_xml(f, p->detail);
    fputs("</system-out>\n    </testcase>\n", f);
  }
  fputs("  </testsuite>\n</testsuites>\n", f);
  return ferror(f) ? -1 : 0;
}
