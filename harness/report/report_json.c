/* The JSON report (schema in docs/explore.md), written by explore and merge (read back by
 * report_json_load.c). Keys are written in a fixed order. */
#include <stdlib.h>

#include "json.h"
#include "report.h"
#include "table.h"
#include "text.h"

#ifndef SOCKFAULT_VERSION
#define SOCKFAULT_VERSION "unknown"
#endif

static void sf_jkey(FILE *f, const char *key) { fprintf(f, "\"%s\":", key); }

static void sf_jint_or_null(FILE *f, long long v, bool present)
{
  if (present)
    fprintf(f, "%lld", v);
  else
    fputs("null", f);
}

static void sf_write_point(const struct sf_report *r, const struct sf_point *p, FILE *f,
                           char *repro, size_t rlen)
{
  char id[32], rules[SF_POINT_RULES_MAX], sig[32];
  sf_point_id(p, id, sizeof id);
  sf_point_rules(p, rules, sizeof rules);
  sf_point_reproducer(r, p, repro, rlen);
  fputs("{\"id\":", f);
  sf_json_write_cstr(f, id);
  fprintf(f, ",\"index\":%u,\"sub\":%u,\"faults\":[", p->index, p->sub);
  for (unsigned i = 0; i < p->nfaults; i++) {
    fprintf(f, "%s{\"call\":", i ? "," : "");
    sf_json_write_cstr(f, sf_calls[p->fault[i].call].name);
    fputs(",\"errno\":", f);
    sf_json_write_cstr(f, sf_errno_name(p->fault[i].err));
    fprintf(f, ",\"when\":%llu,\"site\":", p->fault[i].when);
    sf_json_write_bytes(f, p->fault[i].site[0] ? p->fault[i].site : NULL);
    if (p->fault[i].until > p->fault[i].when)
      fprintf(f, ",\"until\":%llu", p->fault[i].until);
    if (p->fault[i].window_ms > 0)
      fprintf(f, ",\"window_ms\":%lld", p->fault[i].window_ms);
    if (p->fault[i].per_tree)
      fputs(",\"per_tree\":true", f);
    fprintf(f, ",\"force\":%s,\"errno_class\":\"%s\"}", p->fault[i].force ? "true" : "false",
            sf_errno_env(p->fault[i].call, p->fault[i].err) == 1 ? "env" : "bug");
  }
  fputs("],\"kind\":", f);
  sf_json_write_cstr(f, sf_kind_name(sf_point_kind(p)));
  fputs(",\"rules\":", f);
  sf_json_write_bytes(f, rules);
  if (p->search) /* additive to schema 1: a --search finding, its faults minimal */
    fputs(",\"search\":true", f);
  if (p->run)
    fprintf(f, ",\"run\":%u", p->run);
  if (p->nalso) { /* additive to schema 1: merge found it in other shards too */
    fputs(",\"also\":[", f);
    for (unsigned i = 0; i < p->nalso; i++) {
      const struct sf_also *a = &p->also[i];
      fprintf(f, "%s{\"id\":\"%u.%u\",\"shard\":\"%u/%u\"", i ? "," : "", a->index, a->sub,
              sf_point_shard(r, a->index), r->shard_n);
      if (a->run)
        fprintf(f, ",\"run\":%u", a->run);
      fputc('}', f);
    }
    fputc(']', f);
  }
  fputs(",\"class\":", f);
  sf_json_write_cstr(f, sf_class_name(p->cls));
  fprintf(f, ",\"finding\":%s,\"fired\":%s,", p->finding ? "true" : "false",
          p->fired ? "true" : "false");
  sf_jkey(f, "exit_status");
  sf_jint_or_null(f, p->exit_status, p->exit_status >= 0);
  fputs(",\"signal\":", f);
  sf_json_write_cstr(f, p->signal ? sf_signal_name(p->signal, sig, sizeof sig) : NULL);
  fprintf(f, ",\"spinning\":%s,\"duration_ms\":%lld,\"cpu_ms\":%lld,\"sockets\":",
          p->spinning ? "true" : "false", p->duration_ms, p->cpu_ms);
  sf_jint_or_null(f, p->sockets, p->sockets >= 0);
  if (sf_point_kind(p) == SF_KIND_SUSTAINED) {
    fputs(",\"window_cpu_percent\":", f);
    sf_jint_or_null(f, p->window_cpu, p->window_cpu >= 0);
    fputs(",\"window_failed_per_s\":", f);
    sf_jint_or_null(f, p->window_rate, p->window_rate >= 0);
    fputs(",\"recovered_after_ms\":", f);
    sf_jint_or_null(f, p->recover_ms, p->recover_ms >= 0);
  }
  fputs(",\"port\":", f);
  sf_jint_or_null(f, p->port, p->port > 0);
  fprintf(f, ",\"misleading\":%s,\"peer_status\":", p->misleading ? "true" : "false");
  sf_jint_or_null(f, p->peer_status, p->peer_status >= 0);
  fputs(",\"checks\":[", f);
  for (unsigned i = 0; i < p->nchecks; i++)
    fprintf(f, "%s{\"status\":%d,\"ms\":%lld,\"after_fault\":%s,\"hit\":%s}", i ? "," : "",
            p->checks[i].status, p->checks[i].ms, p->checks[i].after ? "true" : "false",
            p->checks[i].hit ? "true" : "false");
  fputs("],\"detail\":", f);
  sf_json_write_cstr(f, p->detail ? p->detail : "");
  fputs(",\"stderr_tail\":", f);
  sf_json_write_cstr(f, p->stderr_tail ? p->stderr_tail : "");
  fputs(",\"reproducer\":", f);
  sf_json_write_bytes(f, repro);
  fputc('}', f);
}

/* Additive to schema 1: "timeline_total" and "timeline", the baseline's first calls. */
static void sf_write_timeline(const struct sf_baseline *b, FILE *f)
{
  fprintf(f, ",\"timeline_total\":%zu,\"timeline\":[", b->timeline_total);
  for (size_t i = 0; i < b->ntimeline; i++) {
    const struct sf_tcall *t = &b->timeline[i];
    fprintf(f, "%s\n {\"proc\":%u,\"call\":", i ? "," : "", t->proc);
    sf_json_write_cstr(f, (unsigned)t->call < SF_NCALLS ? sf_calls[t->call].name : "?");
    fprintf(f, ",\"n\":%llu,\"ret\":%lld,\"errno\":", t->n, t->ret);
    sf_json_write_cstr(f, t->ret == -1 ? sf_errno_name(t->err) : NULL);
    fputs(",\"site\":", f);
    sf_json_write_bytes(f, t->site[0] ? t->site : NULL);
    if (t->caller[0]) { /* additive: --context 2 */
      fputs(",\"caller\":", f);
      sf_json_write_bytes(f, t->caller);
    }
    fputc('}', f);
  }
  fputc(']', f);
}

int sf_report_write_json(const struct sf_report *r, FILE *f)
{
  char sig[32];
  fputs("{\"schema\":\"" SF_SCHEMA_NAME "\",\"sockfault\":\"" SOCKFAULT_VERSION "\",\n", f);
  fputs("\"prog\":", f);
  sf_json_write_bytes(f, r->prog);
  fputs(",\"args\":[", f);
  for (size_t i = 0; i < r->nargs; i++) {
    if (i)
      fputc(',', f);
    sf_json_write_bytes(f, r->args[i]);
  }
  fputs("],\"check\":", f);
  sf_json_write_bytes(f, r->check);
  fputs(",\"server\":", f);
  sf_json_write_bytes(f, r->peer);
  fputs(",\n\"options\":{\"calls\":", f);
  sf_json_write_cstr(f, r->calls);
  fputs(",\"errnos\":", f);
  sf_json_write_cstr(f, r->errnos);
  fprintf(f, ",\"max_per_call\":%u,\"by_site\":%s,\"force\":%s,\"depth\":%u,\"budget\":%u,"
             "\"timeout_ms\":%lld,\"window_ms\":%lld,\"term_grace_ms\":%lld,\"checks\":%u,"
             "\"shard\":\"",
          r->max_per_call, r->by_site ? "true" : "false", r->force ? "true" : "false", r->depth,
          r->budget, r->timeout_ms,
          r->window_ms, r->term_grace_ms, r->checks);
  sf_report_shard_print(r, f);
  fprintf(f, "\",\"expect_status\":%d,", r->expect_status);
  if (r->search) /* additive to schema 1 */
    fprintf(f, "\"search\":%u,\"max_faults\":%u,\"seed\":%llu,\"context\":%u,", r->search,
            r->max_faults, r->seed, r->context);
  fputs("\"kinds\":[", f);
  for (int k = 0, first = 1; k < SF_KIND_PAIR; k++)
    if (r->kinds & SF_KIND_BIT(k)) {
      fprintf(f, "%s\"%s\"", first ? "" : ",", sf_kind_name((enum sf_kind)k));
      first = 0;
    }
  fputs("],\"fail_on\":[", f);
  for (int c = 0, first = 1; c < SF_NCLASSES; c++)
    if (r->fail_on & SF_CLASS_BIT(c)) {
      fprintf(f, "%s\"%s\"", first ? "" : ",", sf_class_name((enum sf_class)c));
      first = 0;
    }
  const struct sf_baseline *b = &r->baseline;
  fputs("]},\n\"baseline\":{\"exit_status\":", f);
  sf_jint_or_null(f, b->exit_status, b->exit_status >= 0);
  fputs(",\"signal\":", f);
  sf_json_write_cstr(f, b->signal ? sf_signal_name(b->signal, sig, sizeof sig) : NULL);
  fprintf(f, ",\"duration_ms\":%lld,\"cpu_ms\":%lld,\"sockets\":", b->duration_ms, b->cpu_ms);
  sf_jint_or_null(f, b->sockets, b->sockets >= 0);
  fprintf(f, ",\"stdout_stable\":%s,\"stdout_hash\":\"%s\",\"port\":",
          b->stdout_stable ? "true" : "false", b->stdout_hash);
  sf_jint_or_null(f, b->port, b->port > 0);
  fprintf(f, ",\"check_ms\":%lld,\"lines_over\":%s,\"lines\":[", b->check_ms,
          b->lines_over ? "true" : "false");
  for (unsigned i = 0; i < b->nlines && i < 64; i++)
    fprintf(f, "%s\"%016llx\"", i ? "," : "", (unsigned long long)b->lines[i]);
  fputc(']', f);
  sf_write_timeline(b, f);
  fprintf(f, "},\n\"total_points\":%u,\n", r->total_points);
  if (r->search) {
    const struct sf_search_stats *st = &r->searched;
    fprintf(f, "\"search\":{\"runs\":%u,\"kept\":%u,\"signatures\":%u,\"minimise_runs\":%u,"
               "\"findings\":%u},\n",
            st->runs, st->kept, st->signatures, st->minimise_runs, st->findings);
  }
  fputs("\"points\":[\n", f);
  char *repro = malloc(SF_REPRO_MAX);
  if (!repro)
    return -1;
  size_t count[SF_NCLASSES] = {0}, done = 0;
  for (size_t i = 0; i < r->npoints; i++) {
    const struct sf_point *p = &r->points[i];
    if (!p->done)
      continue;
    fputs(done ? ",\n" : "", f);
    sf_write_point(r, p, f, repro, SF_REPRO_MAX);
    count[p->cls]++;
    done++;
  }
  free(repro);
  fprintf(f, "\n],\n\"summary\":{\"runs\":%zu,\"findings\":%zu,\"classes\":{", done,
          sf_report_findings(r));
  for (int c = 0; c < SF_NCLASSES; c++)
    fprintf(f, "%s\"%s\":%zu", c ? "," : "", sf_class_name((enum sf_class)c), count[c]);
  fputs("}}}\n", f);
  return ferror(f) ? -1 : 0;
}
