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
#include "table.h"
#include "text.h"

#ifndef SOCKFAULT_VERSION
#define SOCKFAULT_VERSION "unknown"
#endif


/* Colour plus the class's letter in every cell; the palette is Okabe-Ito based, so the
 * severe classes stay apart for colour-blind readers too. */
static const char sf_html_css[] =
    ":root{--line:#c8c8c8;--ink:#1b1b1b;--muted:#5a5a5a;--paper:#fff;--band:#f4f4f2}\n"
    "*{box-sizing:border-box}\n"
    "body{margin:0;font:14px/1.4 system-ui,-apple-system,'Segoe UI',Roboto,'DejaVu Sans',"
    "sans-serif;color:var(--ink);background:var(--paper)}\n"
    "header{padding:12px 20px;background:#22313f;color:#fff}\n"
    "header h1{margin:0;font-size:18px;font-weight:600}\n"
    "header p{margin:4px 0 0;font-size:13px;color:#dfe6ec;overflow-wrap:anywhere}\n"
    "header code{color:#fff}\n"
    "main{padding:8px 20px 24px}\n"
    "h2{font-size:16px;margin:16px 0 6px}\n"
    "code,pre{font-family:ui-monospace,'DejaVu Sans Mono',Menlo,Consolas,monospace;"
    "font-size:12px}\n"
    "pre{margin:2px 0;padding:6px 8px;background:var(--band);border:1px solid var(--line);"
    "white-space:pre-wrap;overflow-wrap:anywhere;max-height:18em;overflow:auto}\n"
    ".summary{display:flex;flex-wrap:wrap;gap:8px 28px;align-items:flex-start}\n"
    ".verdict{font-size:20px;font-weight:700;padding:6px 14px;border-radius:4px}\n"
    ".verdict.bad{background:#d55e00;color:#fff}.verdict.good{background:#dcefd6;color:#1d4d12}\n"
    "dl.facts{display:grid;grid-template-columns:auto 1fr;gap:1px 10px;margin:0}\n"
    "dl.facts dt{font-weight:600;color:var(--muted)}dl.facts dd{margin:0}\n"
    "ul.counts,ul.legend{list-style:none;margin:0;padding:0;display:flex;flex-wrap:wrap;"
    "gap:4px 6px}\n"
    "ul.counts li,ul.legend li{display:flex;align-items:center;gap:5px;padding:1px 6px 1px 1px;"
    "border:1px solid var(--line);border-radius:3px;background:#fff}\n"
    ".mark{display:inline-block;min-width:20px;text-align:center;font:700 13px/20px "
    "ui-monospace,'DejaVu Sans Mono',monospace;background:var(--bg,#fff);color:var(--fg,#000);"
    "border-radius:2px}\n"
    ".k-ok{--bg:#dcefd6;--fg:#1d4d12}.k-not-reached{--bg:#e4e4e4;--fg:#3d3d3d}\n"
    ".k-error-exit{--bg:#cfe2f3;--fg:#0f3a63}.k-fd-leak{--bg:#f0e442;--fg:#3f3a00}\n"
    ".k-silent{--bg:#56b4e9;--fg:#08263a}.k-stopped-serving{--bg:#e69f00;--fg:#2b1a00}\n"
    ".k-no-recovery{--bg:#8c510a;--fg:#fff}.k-spin{--bg:#f781bf;--fg:#3a0a24}\n"
    ".k-hang{--bg:#cc79a7;--fg:#2d0a1e}.k-crash{--bg:#d55e00;--fg:#fff}\n"
    ".k-sanitizer{--bg:#0b3d91;--fg:#fff}.k-not-run{--bg:#fff;--fg:#777}\n"
    ".k-mute-exit{--bg:#9ec5e8;--fg:#0f3a63}.k-late-exit{--bg:#f6f1b0;--fg:#3f3a00}\n"
    ".k-request-stalled{--bg:#a6dcef;--fg:#08263a}.k-request-lost{--bg:#009e73;--fg:#fff}\n"
    ".matrix{display:flex;flex-wrap:wrap;gap:16px 28px;align-items:flex-start}\n"
    ".gridcol{flex:0 1 auto}\n"
    "table.grid{border-collapse:collapse;font-size:12px}\n"
    "table.grid caption{caption-side:bottom;text-align:left;color:var(--muted);padding-top:4px;"
    "font-size:12px}\n"
    "table.grid th{font-weight:600}\n"
    "table.grid thead th{vertical-align:bottom;padding:2px 0 4px;height:7.5em}\n"
    "table.grid thead th span{writing-mode:vertical-rl;transform:rotate(180deg);"
    "white-space:nowrap;display:inline-block}\n"
    "table.grid tbody th{text-align:right;padding:0 6px 0 0;font:600 12px ui-monospace,"
    "'DejaVu Sans Mono',monospace}\n"
    "table.grid td{width:24px;height:20px;padding:0;border:1px solid #fff;text-align:center;"
    "background:var(--bg,#fafafa)}\n"
    "table.grid td.none{background:#fafafa}table.grid thead td{background:none}\n"
    "table.grid tbody tr:hover th{background:#fff3c4}\n"
    "a.cell{display:block;width:100%;height:100%;line-height:20px;text-decoration:none;"
    "color:var(--fg);font:700 13px ui-monospace,'DejaVu Sans Mono',monospace}\n"
    "td.f{box-shadow:inset 0 0 0 2px #000}\n"
    "a.cell:focus{outline:3px solid #000;outline-offset:-1px}\n"
    "a.cell.sel{outline:3px solid #000;outline-offset:1px;position:relative;z-index:1}\n"
    ".side{flex:1 1 440px;min-width:320px;max-width:820px;position:sticky;top:8px}\n"
    "#sf-panel{border:1px solid var(--line);border-radius:4px;padding:8px 12px;"
    "background:#fff}\n"
    "#sf-panel:focus{outline:2px solid #22313f}\n"
    "#sf-panel h3{margin:0 0 6px;font-size:15px}\n"
    ".run{border-top:1px solid var(--line);padding:6px 0}\n"
    ".run h4{margin:0 0 2px;font-size:13px;font-weight:600;display:flex;gap:8px;"
    "align-items:center;flex-wrap:wrap}\n"
    ".run p{margin:2px 0}.run .lbl{font-size:12px;color:var(--muted);margin-top:4px}\n"
    ".legend-box{margin:0 0 10px}.legend-box h3{margin:0 0 4px;font-size:12px}\n"
    ".legend-box p{margin:4px 0;color:var(--muted);font-size:12px}\n"
    "table.list{border-collapse:collapse;width:100%;font-size:12px}\n"
    "table.list th,table.list td{border-bottom:1px solid var(--line);padding:3px 6px;"
    "text-align:left;vertical-align:top}\n"
    "ol.timeline{list-style:none;margin:0;padding:0;display:flex;flex-wrap:wrap;gap:3px}\n"
    "ol.timeline li{font:12px/18px ui-monospace,'DejaVu Sans Mono',monospace;padding:0 5px 0 1px;"
    "border:1px solid var(--line);border-radius:2px;background:#fff;display:flex;gap:4px;"
    "align-items:center}\n"
    "ol.timeline li .mark{min-width:16px;font-size:11px;line-height:16px}\n"
    "ol.timeline li.nopt{padding-left:5px}\n"
    "ol.timeline li.fail{border:1px dashed #d55e00}\n"
    "ol.timeline li .p{color:var(--muted)}\n"
    "details.cellruns{border:1px solid var(--line);border-radius:3px;margin:3px 0;"
    "padding:2px 8px}\n"
    "details.cellruns summary{cursor:pointer}\n"
    ".note{color:var(--muted);font-size:12px}.nw{white-space:nowrap}\n"
    "footer{padding:8px 20px;color:var(--muted);font-size:12px;border-top:1px solid var(--line)}"
    "\n";

/* Clicking a cell (or Enter on it: cells are links) shows its runs in the panel beside the
 * grid; the first finding (or the page's #cell-... anchor) is shown on load. */
static const char sf_html_js[] =
    "(function () {\n"
    "  'use strict';\n"
    "  var grid = document.getElementById('sf-grid');\n"
    "  var panel = document.getElementById('sf-panel');\n"
    "  if (!grid || !panel) return;\n"
    "  var title = document.getElementById('sf-panel-title');\n"
    "  var body = document.getElementById('sf-panel-body');\n"
    "  var current = null;\n"
    "  function show(id, focus) {\n"
    "    var d = document.getElementById(id);\n"
    "    if (!d || d.tagName !== 'DETAILS') return;\n"
    "    var runs = d.querySelector('.runs'), sum = d.querySelector('summary .t');\n"
    "    var copy = runs ? runs.cloneNode(true) : document.createElement('p');\n"
    "    var ided = copy.querySelectorAll('[id]');\n"
    "    for (var i = 0; i < ided.length; i++) ided[i].removeAttribute('id');\n"
    "    body.textContent = '';\n"
    "    body.appendChild(copy);\n"
    "    title.textContent = sum ? sum.textContent : id;\n"
    "    if (current) { current.classList.remove('sel'); current.removeAttribute('aria-current'); }\n"
    "    current = grid.querySelector('a.cell[href=\"#' + id + '\"]');\n"
    "    if (current) { current.classList.add('sel'); current.setAttribute('aria-current', 'true'); }\n"
    "    panel.setAttribute('data-cell', id);\n"
    "    if (focus) panel.focus();\n"
    "  }\n"
    "  grid.addEventListener('click', function (e) {\n"
    "    var a = e.target.closest ? e.target.closest('a.cell') : null;\n"
    "    if (!a) return;\n"
    "    e.preventDefault();\n"
    "    var id = a.getAttribute('href').slice(1);\n"
    "    show(id, true);\n"
    "    if (history.replaceState) history.replaceState(null, '', '#' + id);\n"
    "  });\n"
    "  document.addEventListener('click', function (e) {\n"
    "    var a = e.target.closest ? e.target.closest('a[href^=\"#run-\"]') : null;\n"
    "    var t = a ? document.getElementById(a.getAttribute('href').slice(1)) : null;\n"
    "    var d = t ? t.closest('details') : null;\n"
    "    if (d) d.open = true;\n"
    "  });\n"
    "  var start = location.hash.slice(1);\n"
    "  if (!/^cell-/.test(start)) start = grid.getAttribute('data-first');\n"
    "  if (start) show(start, false);\n"
    "  grid.setAttribute('data-js', 'ready');\n"
    "})();\n";

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

static void sf_html_summary(const struct sf_report *r, FILE *f)
{
  size_t count[SF_NCLASSES] = {0}, done = 0, singles = 0, pairs = 0;
  for (size_t i = 0; i < r->npoints; i++) {
    const struct sf_point *p = &r->points[i];
    p->nfaults > 1 ? pairs++ : singles++;
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
  char fail_on[256];
  sf_fail_on_format(r->fail_on, fail_on, sizeof fail_on);
  fprintf(f, "</dd>\n<dt>findings are</dt><dd>%s</dd>\n", fail_on[0] ? fail_on : "none");
  if (r->calls || r->errnos || r->by_site) {
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
        if (r->points[i].nfaults == 1 && sf_in_cell(&r->points[i], call, m->rows[j])) {
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
          r->points[i].nfaults > 1 ? pairs++ : singles++;
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
    if (p->nfaults != 1 || !p->done || fl->call != t->call)
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
  sf_html_runs(r, &m, f, repro);
  fputs("</main>\n<footer>Written by sockfault " SOCKFAULT_VERSION " (sockfault explore "
        "--html); the same report as JSON: --json, schema sockfault-explore/1.</footer>\n"
        "<script>\n", f);
  fputs(sf_html_js, f);
  fputs("</script>\n</body>\n</html>\n", f);
  free(repro);
  return ferror(f) ? -1 : 0;
}
