/* sockfault merge A.json B.json ...: shard reports of one exploration, combined. */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "options.h"
#include "outputs.h"
#include "report.h"
#include "sockfault/exit.h"

static const char sf_merge_help[] =
    "usage: sockfault merge [--json FILE] [--junit FILE] [--html FILE] [-q]\n"
    "                       [--allow-partial] [--require-points N] REPORT.json...\n"
    "\n"
    "Combines the JSON reports of the shards of one exploration (explore --shard I/N) into\n"
    "one report: the matrix and findings on stdout, --json/--junit/--html as explore writes\n"
    "them.\n"
    "The reports must come from the same program, arguments, check and options, and every\n"
    "shard must be there: a missing one exits 4, unless --allow-partial (the merged report\n"
    "then names the shards it holds, e.g. options.shard \"1-2,4/4\").\n"
    "A --search finding two shards both found (the same minimal schedule and class) is\n"
    "listed once, the other shard's id under its \"also\".\n"
    "  --require-points N   exit 9 when the exploration has fewer than N points (default 1)\n"
    "Exit status: 0 no findings, 1 findings, 2 usage, 4 a report is unreadable, malformed,\n"
    "does not belong with the others, or a shard is missing, 8 more than half the points\n"
    "not reached, 9 fewer points than --require-points.\n";

static int sf_same_str(const char *a, const char *b)
{
  return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

/* Why report b cannot be merged into a, or NULL. */
static const char *sf_mismatch(const struct sf_report *a, const struct sf_report *b)
{
  if (!sf_same_str(a->prog, b->prog))
    return "a different program";
  if (a->nargs != b->nargs)
    return "different arguments";
  for (size_t i = 0; i < a->nargs; i++)
    if (strcmp(a->args[i], b->args[i]) != 0)
      return "different arguments";
  if (!sf_same_str(a->check, b->check))
    return "a different --check";
  if (!sf_same_str(a->peer, b->peer))
    return "a different --server";
  if (a->force != b->force)
    return "one was explored with --force (or --errnos all), the other without";
  if (!sf_same_str(a->calls, b->calls) || !sf_same_str(a->errnos, b->errnos) ||
      a->max_per_call != b->max_per_call || a->by_site != b->by_site || a->depth != b->depth ||
      a->budget != b->budget || a->timeout_ms != b->timeout_ms ||
      a->window_ms != b->window_ms || a->kinds != b->kinds || a->checks != b->checks ||
      a->term_grace_ms != b->term_grace_ms ||
      a->expect_status != b->expect_status || a->fail_on != b->fail_on ||
      a->search != b->search || a->max_faults != b->max_faults || a->seed != b->seed ||
      a->context != b->context)
    return "different explore options";
  if (a->shard_n != b->shard_n)
    return "a different shard count";
  if (a->total_points != b->total_points)
    return "a different number of points (did the baselines differ?)";
  return NULL;
}

/* Two shards' searches that found the same minimal schedule with the same class found one
 * bug: keep the first (in id order) and list the other's id, run and own duplicates under
 * it ("also"). Points are sorted. Returns how many were dropped, or -1 out of memory. */
static long sf_merge_dedup(struct sf_report *out)
{
  long dropped = 0;
  size_t keep = 0;
  for (size_t k = 0; k < out->npoints; k++) {
    struct sf_point *p = &out->points[k], *same = NULL;
    for (size_t j = 0; p->search && p->done && j < keep && !same; j++) {
      struct sf_point *q = &out->points[j];
      if (q->search && q->done && q->cls == p->cls && sf_point_same_faults(q, p))
        same = q;
    }
    if (!same) {
      out->points[keep++] = *p;
      continue;
    }
    struct sf_also *g = realloc(same->also, (same->nalso + 1 + p->nalso) * sizeof *g);
    if (!g)
      return -1;
    same->also = g;
    g[same->nalso++] = (struct sf_also){.index = p->index, .sub = p->sub, .run = p->run};
    for (unsigned i = 0; i < p->nalso; i++)
      g[same->nalso++] = p->also[i];
    sf_point_free(p);
    dropped++;
  }
  out->npoints = keep;
  return dropped;
}

int sf_cmd_merge(int argc, char **argv)
{
  static const struct option opts[] = {{"json", required_argument, NULL, 'j'},
                                       {"junit", required_argument, NULL, 'u'},
                                       {"html", required_argument, NULL, 'H'},
                                       {"quiet", no_argument, NULL, 'q'},
                                       {"allow-partial", no_argument, NULL, 'P'},
                                       {"require-points", required_argument, NULL, 'R'},
                                       {"help", no_argument, NULL, 'h'},
                                       {NULL, 0, NULL, 0}};
  struct sf_outputs outs = {0};
  int partial = 0;
  unsigned long require = 1;
  opterr = 0;
  optind = 1;
  for (;;) {
    int before = optind;
    int c = getopt_long(argc, argv, "qh", opts, NULL);
    if (c == -1)
      break;
    if (optarg && strcmp(optarg, "--") == 0) { /* "--json -- A.json": the value is missing */
      sf_opt_err("merge", "option '%s' needs a value (got '--')",
             argv[optind - 1 - (optind >= 2 && strcmp(argv[optind - 1], "--") == 0)]);
      return SOCKFAULT_EXIT_USAGE;
    }
    if (c == 'j')
      outs.path[sf_output_lookup("json")] = optarg;
    else if (c == 'u')
      outs.path[sf_output_lookup("junit")] = optarg;
    else if (c == 'H')
      outs.path[sf_output_lookup("html")] = optarg;
    else if (c == 'q')
      outs.quiet = true;
    else if (c == 'P')
      partial = 1;
    else if (c == 'R') {
      char *end;
      errno = 0;
      require = strtoul(optarg, &end, 10);
      if (!(optarg[0] >= '0' && optarg[0] <= '9') || *end || errno || require > 100000000) {
        sf_opt_err("merge", "--require-points '%s': expected a whole number from 0 to 100000000",
                   optarg);
        return SOCKFAULT_EXIT_USAGE;
      }
    }
    else if (c == 'h') {
      fputs(sf_merge_help, stdout);
      return 0;
    } else
      return sf_bad_option("merge", argc, argv, before);
  }
  if (optind >= argc) {
    sf_opt_err("merge", "no reports given (sockfault merge A.json B.json ...)");
    return SOCKFAULT_EXIT_USAGE;
  }
  if (sf_outputs_check("merge", &outs) != 0)
    return SOCKFAULT_EXIT_USAGE;
  int n = argc - optind;
  struct sf_report *in = calloc((size_t)n, sizeof *in);
  struct sf_report out;
  sf_report_init(&out);
  int status = SOCKFAULT_EXIT_REPORT;
  char err[600];
  if (!in)
    return SOCKFAULT_EXIT_INTERNAL;
  unsigned char *shard_seen = NULL;
  for (int i = 0; i < n; i++) {
    const char *path = argv[optind + i];
    if (sf_report_load(path, &in[i], err, sizeof err) != 0) {
      sf_err("merge", "%s: %s", path, err);
      goto out;
    }
    const char *why = i ? sf_mismatch(&in[0], &in[i]) : NULL;
    if (why) {
      sf_err("merge", "%s: not a shard of the same exploration as %s: %s", path, argv[optind],
             why);
      goto out;
    }
  }
  shard_seen = calloc(in[0].shard_n + 1, 1);
  if (!shard_seen) {
    status = SOCKFAULT_EXIT_INTERNAL;
    goto out;
  }
  /* The merged report: the first report's header, everybody's points. */
  struct sf_report *a = &in[0];
  out = *a;
  out.points = NULL;
  out.npoints = out.cap = 0;
  out.shards = shard_seen; /* the shards it holds, the true count kept */
  memset(&out.searched, 0, sizeof out.searched);
  for (int i = 0; i < n; i++) {
    out.searched.runs += in[i].searched.runs; /* each shard searched from its own points */
    out.searched.kept += in[i].searched.kept;
    out.searched.signatures += in[i].searched.signatures;
    out.searched.minimise_runs += in[i].searched.minimise_runs;
    out.searched.findings += in[i].searched.findings;
    for (unsigned s = 1; s <= in[i].shard_n; s++)
      if (sf_report_has_shard(&in[i], s) && shard_seen[s]++) {
        sf_err("merge", "%s: shard %u/%u given twice", argv[optind + i], s, in[i].shard_n);
        goto out_shallow;
      }
    for (size_t k = 0; k < in[i].npoints; k++) {
      struct sf_point *p = sf_report_add(&out);
      if (!p) {
        status = SOCKFAULT_EXIT_INTERNAL;
        goto out_shallow;
      }
      *p = in[i].points[k];
      memset(&in[i].points[k], 0, sizeof in[i].points[k]); /* moved */
    }
  }
  sf_report_sort(&out);
  for (size_t k = 1; k < out.npoints; k++)
    if (out.points[k].index == out.points[k - 1].index &&
        out.points[k].sub == out.points[k - 1].sub) {
      sf_err("merge", "point %u.%u appears in two reports", out.points[k].index,
             out.points[k].sub);
      goto out_shallow;
    }
  long dropped = sf_merge_dedup(&out);
  if (dropped < 0) {
    status = SOCKFAULT_EXIT_INTERNAL;
    goto out_shallow;
  }
  out.searched.findings -= (unsigned)dropped < out.searched.findings ? (unsigned)dropped
                                                                    : out.searched.findings;
  unsigned missing = 0;
  for (unsigned s = 1; s <= a->shard_n; s++)
    if (!shard_seen[s]) {
      sf_err("merge", "%s: shard %u/%u is missing: the merged report is incomplete",
             partial ? "warning" : "error", s, a->shard_n);
      missing++;
    }
  out.shard_i = 1;
  while (out.shard_i < out.shard_n && !shard_seen[out.shard_i])
    out.shard_i++;
  sf_report_mark_findings(&out);
  char why[300];
  status = sf_report_verdict(&out, (unsigned)require, why, sizeof why);
  if (missing && !partial) {
    sf_err("merge", "%u of %u shards missing: exit %d (--allow-partial merges what is there)",
           missing, a->shard_n, SOCKFAULT_EXIT_REPORT);
    status = SOCKFAULT_EXIT_REPORT;
  } else if (why[0])
    sf_err("merge", "could not judge: %s (exit %d)", why, status);
  if (sf_outputs_write("merge", &out, &outs) != 0)
    status = SOCKFAULT_EXIT_INTERNAL;
out_shallow:
  /* out shares its header strings with in[0]: free only its points */
  for (size_t k = 0; k < out.npoints; k++)
    sf_point_free(&out.points[k]);
  free(out.points);
  shard_seen = out.shards; /* freed once, below */
out:
  for (int i = 0; i < n; i++)
    sf_report_free(&in[i]);
  free(in);
  free(shard_seen);
  return status;
}
