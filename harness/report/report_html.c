/* The HTML report: one self-contained page (inline CSS, a little vanilla JS, nothing fetched)
 * with a summary, the call x errno matrix as a table whose cells open their runs, and the
 * baseline's calls as a timeline. Everything the program or the user wrote (arguments, the
 * check, stderr, details, sites) is escaped and made valid UTF-8; without JS every cell's
 * runs are still in <details> elements below the grid. */
#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "report.h"
#include "report_html.h"
#include "table.h"
#include "text.h"

#ifndef SOCKFAULT_VERSION
#define SOCKFAULT_VERSION "unknown"
#endif

/* s as HTML text or attribute value: markup characters escaped, invalid UTF-8 as U+FFFD,
 * control characters other than tab and newline as '?'. */
static void sf_h(FILE *f, const char *s)
{
  const unsigned char *u = (const unsigned char *)(s ? s : "");
  size_t len = strlen((const char *)u);
  for (size_t i = 0; i < len;) {
    unsigned char c = u[i];
    const char *ent = c == '<' ? "&lt;" : c == '>' ? "&gt;" : c == '&' ? "&amp;"
                    : c == '"' ? "&quot;" : c == '\'' ? "&#39;" : NULL;
    if (ent) {
      fputs(ent, f);
      i++;
    } else if (c == '\n' || c == '\t') {
      fputc(c, f);
      i++;
    } else if (c < 0x20 || c == 0x7f) {
      fputc('?', f);
      i++;
    } else {
      i += sf_utf8_put(f, u + i, len - i);
    }
  }
}

static const char *sf_call_name(int call)
{
  return (unsigned)call < SF_NCALLS ? sf_calls[call].name : "?";
}

static const char *sf_err_name(int err)
{
  const char *n = sf_errno_name(err);
  return n ? n : "?";
}

/* The CSS class of an outcome: k-crash, ...; k-not-run for a planned point not run. */
static void sf_kclass(FILE *f, int cls)
{
  fprintf(f, "k-%s", cls >= 0 ? sf_class_name((enum sf_class)cls) : "not-run");
}

static void sf_mark(FILE *f, int cls)
{
  fputs("<span class=\"mark ", f);
  sf_kclass(f, cls);
  fprintf(f, "\" aria-hidden=\"true\">%c</span>", cls >= 0 ? sf_class_mark((enum sf_class)cls) : '?');
}

static const char *sf_basename(const char *p)
{
  const char *s = p ? strrchr(p, '/') : NULL;
  return s ? s + 1 : p ? p : "?";
}

static void sf_html_command(const struct sf_report *r, FILE *f)
{
  sf_h(f, r->prog ? r->prog : "?");
  for (size_t i = 0; i < r->nargs; i++) {
    fputc(' ', f);
    sf_h(f, r->args[i]);
  }
}

static void sf_html_findings(const struct sf_report *r, FILE *f, char *repro)
{
  if (!sf_report_findings(r))
    return;
  fputs("<section id=\"findings\" aria-labelledby=\"h-findings\">\n<h2 id=\"h-findings\">"
        "Findings</h2>\n<table class=\"list\" id=\"sf-findings\">\n<thead><tr>"
        "<th scope=\"col\">id</th><th scope=\"col\">class</th><th scope=\"col\">rules</th>"
        "<th scope=\"col\">what happened</th><th scope=\"col\">reproducer</th></tr></thead>\n"
        "<tbody>\n", f);
  for (size_t i = 0; i < r->npoints; i++) {
    const struct sf_point *p = &r->points[i];
    if (!p->done || !p->finding)
      continue;
    char id[32], rules[SF_POINT_RULES_MAX];
    sf_point_id(p, id, sizeof id);
    sf_point_rules(p, rules, sizeof rules);
    sf_point_reproducer(r, p, repro, SF_REPRO_MAX);
    fprintf(f, "<tr><td><a href=\"#run-%s\">#%s</a></td><td class=\"nw\">", id, id);
    sf_mark(f, (int)p->cls);
    fprintf(f, " %s</td><td><code>", sf_class_name(p->cls));
    sf_h(f, rules);
    fputs("</code></td><td>", f);
    sf_h(f, p->detail);
    fputs("</td><td><code>", f);
    sf_h(f, repro);
    fputs("</code></td></tr>\n", f);
  }
  fputs("</tbody></table>\n</section>\n", f);
}

/* The findings of several faults, which no cell of the matrix shows: each schedule's rules
 * in order, how it was found, what happened and its reproducer. */
static void sf_html_grown(const struct sf_report *r, FILE *f, char *repro)
{
  if (!sf_report_grown_findings(r))
    return;
  fputs("<section id=\"multi\" aria-labelledby=\"h-multi\">\n<h2 id=\"h-multi\">Multi-fault "
        "findings</h2>\n<p class=\"note\">Not in the call \xc3\x97 errno matrix, which shows "
        "single faults.", f);
  fputs(r->search ? " Each schedule is minimal: without any one of its rules the finding goes."
                  : " Each is a --depth 2 pair.", f);
  fputs("</p>\n", f);
  char id[32], rule[256], how[SF_HOW_MAX];
  for (const struct sf_point *p = NULL; (p = sf_next_grown_finding(r, p, id, how));) {
    fprintf(f, "<article class=\"run\" id=\"multi-%s\"><h4><a href=\"#run-%s\">#%s</a> ", id,
            id, id);
    sf_mark(f, (int)p->cls);
    fprintf(f, " <span class=\"cls\">%s</span> \xe2\x80\x94 ", sf_class_name(p->cls));
    sf_h(f, how);
    fputs("</h4>\n<ol class=\"faults\">\n", f);
    for (unsigned k = 0; k < p->nfaults && k < SF_MAX_FAULTS; k++) {
      sf_fault_rule(&p->fault[k], rule, sizeof rule);
      fputs("<li><code>", f);
      sf_h(f, rule);
      fputs("</code></li>\n", f);
    }
    fputs("</ol>\n<p>", f);
    sf_h(f, p->detail);
    fputs("</p>\n<p class=\"lbl\">reproducer</p><pre>", f);
    sf_point_reproducer(r, p, repro, SF_REPRO_MAX);
    sf_h(f, repro);
    fputs("</pre>\n</article>\n", f);
  }
  fputs("</section>\n", f);
}

static void sf_html_summary(const struct sf_report *r, FILE *f)
{
  size_t count[SF_NCLASSES] = {0}, done = 0, singles = 0, pairs = 0;
  for (size_t i = 0; i < r->npoints; i++) {
    const struct sf_point *p = &r->points[i];
    sf_point_grown(p) ? pairs++ : singles++;
    if (p->done) {
      count[p->cls]++;
      done++;
    }
  }
  size_t nf = sf_report_findings(r);
  fputs("<section id=\"summary\" aria-labelledby=\"h-summary\">\n"
        "<h2 id=\"h-summary\">Summary</h2>\n<div class=\"summary\">\n", f);
  fprintf(f, "<p class=\"verdict %s\" id=\"sf-verdict\">%zu finding%s</p>\n",
          nf ? "bad" : "good", nf, nf == 1 ? "" : "s");
  fputs("<dl class=\"facts\">\n", f);
  if (r->check) {
    fputs("<dt>check</dt><dd><code>", f);
    sf_h(f, r->check);
    fputs("</code></dd>\n", f);
  }
  const struct sf_baseline *b = &r->baseline;
  char base[160];
  sf_baseline_describe(r, base, sizeof base);
  fputs("<dt>baseline</dt><dd>", f);
  sf_h(f, base);
  fprintf(f, ", %zu socket calls</dd>\n<dt>points</dt><dd>%zu single-fault", b->timeline_total,
          singles);
  if (r->shard_n > 1)
    sf_shard_note(r, f);
  if (r->depth > 1)
    fprintf(f, ", %zu pairs (depth 2, budget %u)", pairs, r->budget);
  fprintf(f, "; %zu run", done);
  if (done < r->npoints)
    fprintf(f, ", %zu not run", r->npoints - done);
  if (r->search) {
    char line[256];
    sf_search_describe(r, line, sizeof line);
    fputs("</dd>\n<dt>search</dt><dd>", f);
    sf_h(f, line);
  }
  size_t ng = sf_report_grown_findings(r);
  if (ng)
    fprintf(f, "</dd>\n<dt>multi-fault</dt><dd><a href=\"#multi\">%zu finding%s of several "
            "faults</a> (not in the matrix)", ng, ng == 1 ? "" : "s");
  char fail_on[256];
  sf_fail_on_format(r->fail_on, fail_on, sizeof fail_on);
  fprintf(f, "</dd>\n<dt>findings are</dt><dd>%s</dd>\n", fail_on[0] ? fail_on : "none");
  if (r->calls || r->errnos || r->by_site || r->force) {
    fputs("<dt>options</dt><dd><code>", f);
    if (r->calls) {
      fputs("--calls ", f);
      sf_h(f, r->calls);
    }
    if (r->errnos) {
      fputs(r->calls ? " --errnos " : "--errnos ", f);
      sf_h(f, r->errnos);
    }
    if (r->by_site)
      fputs(r->calls || r->errnos ? " --by-site" : "--by-site", f);
    if (r->force) /* implied by --errnos all */
      fputs(r->calls || r->errnos || r->by_site ? " --force" : "--force", f);
    fputs("</code></dd>\n", f);
  }
  fputs("</dl>\n<ul class=\"counts\" aria-label=\"runs per outcome class\">\n", f);
  for (int c = 0; c < SF_NCLASSES; c++)
    if (count[c]) {
      fputs("<li>", f);
      sf_mark(f, c);
      fprintf(f, " %s <b>%zu</b></li>\n", sf_class_name((enum sf_class)c), count[c]);
    }
  fputs("</ul>\n</div>\n</section>\n", f);
}

static void sf_html_legend(FILE *f)
{
  fputs("<div class=\"legend-box\"><h3 id=\"h-legend\" class=\"note\">Legend</h3>\n"
        "<ul class=\"legend\" aria-labelledby=\"h-legend\">\n", f);
  for (int c = 0; c < SF_NCLASSES; c++) {
    fputs("<li>", f);
    sf_mark(f, c);
    fprintf(f, " <span><b>%s</b> \xe2\x80\x94 ", sf_class_name((enum sf_class)c));
    sf_h(f, sf_class_legend((enum sf_class)c));
    fputs("</span></li>\n", f);
  }
  fputs("</ul>\n<p>A black frame marks a finding; blank: not explored. A cell is the worst "
        "outcome over the call's occurrences.</p></div>\n", f);
}

/* A point of (call, err): a single fault there, or a pair grown from one. */
static int sf_in_cell(const struct sf_point *p, int call, int err)
{
  return p->fault[0].call == call && p->fault[0].err == err;
}

static void sf_html_grid(const struct sf_report *r, const struct sf_matrix *m, FILE *f)
{
  /* the cell shown first: the first of the worst class, a finding before anything else;
   * none when everything is ok */
  int first_c = -1, first_e = -1, first_w = SF_C_OK;
  for (int j = 0; j < m->nrows; j++)
    for (int k = 0; k < m->ncols; k++) {
      int w = sf_report_cell(r, m->cols[k], m->rows[j]);
      if (w < 0)
        continue;
      w += (r->fail_on & SF_CLASS_BIT(w)) ? SF_NCLASSES : 0;
      if (w > first_w) {
        first_w = w;
        first_c = m->cols[k];
        first_e = m->rows[j];
      }
    }
  fputs("<section id=\"matrix\" aria-labelledby=\"h-matrix\">\n<h2 id=\"h-matrix\">Call "
        "\xc3\x97 errno</h2>\n<div class=\"matrix\">\n<div class=\"gridcol\">\n<table id=\"sf-grid\" "
        "class=\"grid\"", f);
  if (first_c >= 0)
    fprintf(f, " data-first=\"cell-%s-%s\"", sf_call_name(first_c), sf_err_name(first_e));
  fputs(">\n<caption>Rows: the errno injected; columns: the call made to fail.</caption>\n<thead><tr><td></td>", f);
  for (int k = 0; k < m->ncols; k++)
    fprintf(f, "<th scope=\"col\"><span>%s</span></th>", sf_call_name(m->cols[k]));
  fputs("</tr></thead>\n<tbody>\n", f);
  for (int j = 0; j < m->nrows; j++) {
    const char *en = sf_err_name(m->rows[j]);
    fprintf(f, "<tr><th scope=\"row\">%s</th>", en);
    for (int k = 0; k < m->ncols; k++) {
      int call = m->cols[k], w = sf_report_cell(r, call, m->rows[j]);
      if (w == -1) {
        fputs("<td class=\"none\"></td>", f);
        continue;
      }
      size_t runs = 0, findings = 0;
      for (size_t i = 0; i < r->npoints; i++)
        if (!sf_point_grown(&r->points[i]) && sf_in_cell(&r->points[i], call, m->rows[j])) {
          runs += r->points[i].done;
          findings += r->points[i].done && r->points[i].finding;
        }
      const char *cname = w >= 0 ? sf_class_name((enum sf_class)w) : "not run";
      fputs("<td class=\"cell ", f);
      sf_kclass(f, w);
      fprintf(f, "%s\"><a class=\"cell\" href=\"#cell-%s-%s\" title=\"%s %s: %s, %zu run%s%s\" "
              "aria-label=\"%s %s: %s, %zu run%s, %zu finding%s\">%c</a></td>",
              findings ? " f" : "", sf_call_name(call), en, sf_call_name(call), en, cname, runs,
              runs == 1 ? "" : "s", findings ? ", finding" : "", sf_call_name(call), en, cname,
              runs, runs == 1 ? "" : "s", findings, findings == 1 ? "" : "s",
              w >= 0 ? sf_class_mark((enum sf_class)w) : '?');
    }
    fputs("</tr>\n", f);
  }
  fputs("</tbody>\n</table>\n</div>\n<div class=\"side\">\n", f);
  sf_html_legend(f);
  fputs("<aside id=\"sf-panel\" tabindex=\"-1\" "
        "aria-live=\"polite\" aria-labelledby=\"sf-panel-title\">\n<h3 id=\"sf-panel-title\">"
        "Runs</h3>\n<div id=\"sf-panel-body\"><p class=\"note\">Select a cell of the grid to see "
        "its runs here (without JavaScript: under <a href=\"#runs\">Runs by cell</a>).</p>"
        "</div>\n</aside>\n</div>\n</div>\n</section>\n", f);
}

static void sf_html_run(const struct sf_report *r, const struct sf_point *p, FILE *f,
                        char *repro)
{
  char id[32], rules[SF_POINT_RULES_MAX], sig[32];
  sf_point_id(p, id, sizeof id);
  sf_point_rules(p, rules, sizeof rules);
  fprintf(f, "<article class=\"run\" id=\"run-%s\"><h4>#%s ", id, id);
  sf_mark(f, p->done ? (int)p->cls : -2);
  fprintf(f, " <span class=\"cls\">%s%s</span> <code>", p->done ? sf_class_name(p->cls)
          : "not run", p->done && p->finding ? " (finding)" : "");
  sf_h(f, rules);
  fputs("</code></h4>\n", f);
  if (!p->done) {
    fputs("</article>\n", f);
    return;
  }
  fputs("<p>", f);
  sf_h(f, p->detail);
  fputs("</p>\n<p class=\"note\">", f);
  if (p->signal)
    fprintf(f, "signal %s", sf_signal_name(p->signal, sig, sizeof sig));
  else if (p->exit_status >= 0)
    fprintf(f, "exit %d", p->exit_status);
  else
    fputs("killed by sockfault", f);
  fprintf(f, " \xc2\xb7 %lld ms (CPU %lld ms)%s%s", p->duration_ms, p->cpu_ms,
          p->fired ? "" : " \xc2\xb7 the fault did not fire", p->spinning ? " \xc2\xb7 spinning"
          : "");
  if (p->sockets >= 0)
    fprintf(f, " \xc2\xb7 %d socket(s) open at exit", p->sockets);
  if (p->peer_status >= 0)
    fprintf(f, " \xc2\xb7 the --server peer exited %d", p->peer_status);
  if (p->misleading)
    fputs(" \xc2\xb7 <b>misleading</b>: its message names another error than the injected one",
          f);
  for (unsigned i = 0; i < p->nchecks; i++)
    fprintf(f, "%s%s%s check %u: %s in %lld ms", i ? "," : " \xc2\xb7 checks:",
            p->checks[i].hit ? " <b>hit</b>" : "", p->checks[i].after ? " after" : "", i + 1,
            p->checks[i].status ? "failed" : "passed", p->checks[i].ms);
  fputs("</p>\n<p class=\"lbl\">reproducer</p><pre>", f);
  sf_point_reproducer(r, p, repro, SF_REPRO_MAX);
  sf_h(f, repro);
  fputs("</pre>\n<p class=\"lbl\">stderr (tail)</p><pre class=\"stderr\">", f);
  sf_h(f, p->stderr_tail && p->stderr_tail[0] ? p->stderr_tail : "(nothing)");
  fputs("</pre>\n</article>\n", f);
}

static void sf_html_runs(const struct sf_report *r, const struct sf_matrix *m, FILE *f,
                         char *repro)
{
  fputs("<section id=\"runs\" aria-labelledby=\"h-runs\">\n<h2 id=\"h-runs\">Runs by cell</h2>\n",
        f);
  for (int k = 0; k < m->ncols; k++)
    for (int j = 0; j < m->nrows; j++) {
      int call = m->cols[k], err = m->rows[j], w = sf_report_cell(r, call, err);
      if (w == -1)
        continue;
      size_t singles = 0, pairs = 0;
      for (size_t i = 0; i < r->npoints; i++)
        if (sf_in_cell(&r->points[i], call, err))
          sf_point_grown(&r->points[i]) ? pairs++ : singles++;
      fprintf(f, "<details class=\"cellruns\" id=\"cell-%s-%s\"><summary>", sf_call_name(call),
              sf_err_name(err));
      sf_mark(f, w);
      fprintf(f, " <span class=\"t\">%s \xc3\x97 %s \xe2\x80\x94 %s, %zu run%s", sf_call_name(call),
              sf_err_name(err), w >= 0 ? sf_class_name((enum sf_class)w) : "not run", singles,
              singles == 1 ? "" : "s");
      if (pairs && r->search)
        fprintf(f, " (+%zu minimal schedule%s found by the search)", pairs, pairs == 1 ? "" : "s");
      else if (pairs)
        fprintf(f, " (+%zu pair%s)", pairs, pairs == 1 ? "" : "s");
      fputs("</span></summary>\n<div class=\"runs\">\n", f);
      for (size_t i = 0; i < r->npoints; i++)
        if (sf_in_cell(&r->points[i], call, err))
          sf_html_run(r, &r->points[i], f, repro);
      fputs("</div></details>\n", f);
    }
  fputs("</section>\n", f);
}

/* The worst class over the single points injecting at this occurrence (or site) of the
 * call; -1 when none. Occurrences count per process, as the shim counts them. */
static int sf_tl_worst(const struct sf_report *r, const struct sf_tcall *t)
{
  int worst = -1;
  for (size_t i = 0; i < r->npoints; i++) {
    const struct sf_point *p = &r->points[i];
    const struct sf_fault *fl = &p->fault[0];
    if (sf_point_grown(p) || !p->done || fl->call != t->call)
      continue;
    if (fl->site[0] ? strcmp(fl->site, t->site) == 0 : fl->when == t->n)
      worst = (int)p->cls > worst ? (int)p->cls : worst;
  }
  return worst;
}

static void sf_html_timeline(const struct sf_report *r, FILE *f)
{
  const struct sf_baseline *b = &r->baseline;
  fputs("<section id=\"timeline\" aria-labelledby=\"h-timeline\">\n<h2 id=\"h-timeline\">"
        "The baseline's socket calls</h2>\n", f);
  if (b->ntimeline == 0) {
    fputs("<p class=\"note\">Not recorded in this report.</p>\n</section>\n", f);
    return;
  }
  int multi = 0;
  for (size_t i = 0; i < b->ntimeline; i++)
    multi |= b->timeline[i].proc != 0;
  fprintf(f, "<p class=\"note\">%zu call%s in the order the shim logged them%s; repeats in a "
          "row are shown once with a count. The mark is the worst outcome of the points failing "
          "that occurrence (none: not explored); a dashed frame, a call that failed by itself.",
          b->timeline_total, b->timeline_total == 1 ? "" : "s",
          multi ? " (p1, p2 \xe2\x80\xa6: the processes after the first)" : "");
  if (b->timeline_total > b->ntimeline)
    fprintf(f, " <strong id=\"sf-timeline-cut\">Only the first %zu are shown.</strong>",
            b->ntimeline);
  fputs("</p>\n<ol class=\"timeline\" id=\"sf-timeline\">\n", f);
  for (size_t i = 0; i < b->ntimeline;) {
    const struct sf_tcall *t = &b->timeline[i];
    int worst = sf_tl_worst(r, t);
    size_t j = i + 1;
    while (j < b->ntimeline && b->timeline[j].proc == t->proc &&
           b->timeline[j].call == t->call && b->timeline[j].ret == t->ret &&
           b->timeline[j].err == t->err && strcmp(b->timeline[j].site, t->site) == 0) {
      int w = sf_tl_worst(r, &b->timeline[j]);
      worst = w > worst ? w : worst;
      j++;
    }
    fprintf(f, "<li class=\"%s%s\" title=\"#%zu", worst >= 0 ? "pt" : "nopt",
            t->ret == -1 ? " fail" : "", i + 1);
    if (j - i > 1)
      fprintf(f, "\xe2\x80\x93%zu", j);
    fprintf(f, ": %s occurrence %llu", sf_call_name(t->call), t->n);
    if (j - i > 1)
      fprintf(f, "\xe2\x80\x93%llu", b->timeline[j - 1].n);
    if (t->ret == -1)
      fprintf(f, ", failed with %s", sf_err_name(t->err));
    else
      fprintf(f, ", returned %lld", t->ret);
    if (t->site[0]) {
      fputs(", at ", f);
      sf_h(f, t->site);
    }
    if (worst >= 0)
      fprintf(f, "; worst outcome when failed: %s", sf_class_name((enum sf_class)worst));
    fputs("\">", f);
    if (worst >= 0)
      sf_mark(f, worst);
    if (t->proc)
      fprintf(f, "<span class=\"p\">p%u</span> ", t->proc);
    fputs(sf_call_name(t->call), f);
    if (t->ret == -1)
      fprintf(f, " \xe2\x86\x92 %s", sf_err_name(t->err));
    if (j - i > 1)
      fprintf(f, " \xc3\x97%zu", j - i);
    fputs("</li>\n", f);
    i = j;
  }
  fputs("</ol>\n</section>\n", f);
}

int sf_report_write_html(const struct sf_report *r, FILE *f)
{
  char *repro = malloc(SF_REPRO_MAX);
  if (!repro)
    return -1;
  struct sf_matrix m;
  sf_report_matrix(r, &m);
  size_t nf = sf_report_findings(r);
  fputs("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
        "<meta name=\"generator\" content=\"sockfault " SOCKFAULT_VERSION "\">\n<title>", f);
  fputs("sockfault explore: ", f);
  sf_h(f, sf_basename(r->prog));
  fprintf(f, " \xe2\x80\x94 %zu finding%s</title>\n<style>\n%s</style>\n</head>\n<body>\n", nf,
          nf == 1 ? "" : "s", sf_html_css);
  fputs("<header>\n<h1>sockfault explore: ", f);
  sf_h(f, sf_basename(r->prog));
  fputs("</h1>\n<p><code>", f);
  sf_html_command(r, f);
  fputs("</code></p>\n</header>\n<main>\n", f);
  sf_html_summary(r, f);
  if (m.ncols)
    sf_html_grid(r, &m, f);
  else
    fputs("<section id=\"matrix\"><h2>Call \xc3\x97 errno</h2><p class=\"note\">Nothing was "
          "explored.</p></section>\n", f);
  sf_html_timeline(r, f);
  sf_html_findings(r, f, repro);
  sf_html_grown(r, f, repro);
  sf_html_runs(r, &m, f, repro);
  fputs("</main>\n<footer>Written by sockfault " SOCKFAULT_VERSION " (sockfault explore "
        "--html); the same report as JSON: --json, schema sockfault-explore/1.</footer>\n"
        "<script>\n", f);
  fputs(sf_html_js, f);
  fputs("</script>\n</body>\n</html>\n", f);
  free(repro);
  return ferror(f) ? -1 : 0;
}
