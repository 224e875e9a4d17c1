/* sockfault explore: every socket call the program makes, every occurrence, every
 * documented errno — one run each with exactly that failure, and what happened. This is
 * the verb: its options, the progress line and the reports; the exploration itself is
 * engine/explore.c. */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "clock.h"
#include "cmd.h"
#include "explore.h"
#include "launch.h"
#include "msg.h"
#include "options.h"
#include "outputs.h"
#include "session.h"
#include "sockfault/exit.h"
#include "table.h"

static const char sf_explore_help[] =
    "usage: sockfault explore [OPTIONS] -- PROG [ARGS...]\n"
    "\n"
    "Runs PROG once unfaulted (the baseline), then once per failure point: each socket call\n"
    "kind it made, each occurrence, each documented errno, with exactly that call failing.\n"
    "Prints the call x errno matrix and one reproducer per finding. {port} in ARGS and in\n"
    "--check is a free loopback port per run; {tmp} a private temp dir per run.\n"
    "\n"
    "  --check CMD          PROG is a server: once it listens (or binds a datagram socket),\n"
    "                       run CMD (sh -c) to judge it; one of up to 3 checks after the\n"
    "                       fault must pass; then PROG gets SIGTERM\n"
    "  --checks N           checks of the unfaulted server, default 2 (its later calls\n"
    "                       become points); a run checks up to N+2 times for its fault\n"
    "  --server CMD         PROG is a client: start CMD (sh -c, not faulted) first, per run;\n"
    "                       its exit status says whether the data arrived (0: it did)\n"
    "  --term-grace SECS    a server must exit within SECS of SIGTERM (default 2, at most\n"
    "                       --timeout); within twice that it 'exited late', later is a hang\n"
    "  --calls LIST         only these calls (comma-separated, e.g. accept,recv)\n"
    "  --errnos LIST        only these errnos, where documented; 'core' is\n"
    "                       EMFILE,ENOBUFS,EACCES,EPERM; 'all' every documented errno,\n"
    "                       those only a bug causes too, forced (default 'env': those\n"
    "                       the environment can cause, where the socket's state allows)\n"
    "  --force              every rule with :force: injected whatever the socket's state\n"
    "                       (the shim's kernel-faithfulness checks off; 'all' implies it)\n"
    "  --max-per-call N     occurrences (or sites) per call, default 8\n"
    "  --by-site            one point per call site instead of per occurrence\n"
    "  --kinds LIST         point kinds (default all): once (one call fails), burst (the\n"
    "                       same errno at k and k+1, and k..k+2 when worth retrying, on a\n"
    "                       server's serving-phase calls), sustained (EMFILE/ENFILE/ENOBUFS/\n"
    "                       ENOMEM on the calls that allocate, from k on for --window, then\n"
    "                       lifted)\n"
    "  --window SECS        how long a sustained fault lasts, default 2\n"
    "  --depth 1|2          2: also pairs, a second fault on a later call (default 1)\n"
    "  --budget N           at most N pair runs with --depth 2 (default 256)\n"
    "  --search N           then N runs of a guided search for faults that only matter\n"
    "                       together: schedules of up to --max-faults faults, grown from\n"
    "                       the ones whose runs took a new error path; each finding's\n"
    "                       schedule minimised (not with --depth 2)\n"
    "  --max-faults K       faults per schedule with --search, 2 to 4 (default 3)\n"
    "  --seed N             the search's choices among equals (default 0)\n"
    "  --context 1|2        the search's call site: 1 the call's return address (default),\n"
    "                       2 that and its caller's, so a helper used by two paths is two\n"
    "                       sites (needs frame pointers in the program; docs/explore.md)\n"
    "  --timeout SECS       per run, default 10 (a run past it is a hang)\n"
    "  --jobs N             runs at once, default: the number of CPUs\n"
    "  --shard I/N|auto     run the I-th of N deterministic slices (see 'sockfault merge');\n"
    "                       auto: from SOCKFAULT_SHARD=I/N, GitLab's CI_NODE_INDEX and\n"
    "                       CI_NODE_TOTAL, or Kubernetes' JOB_COMPLETION_INDEX with\n"
    "                       SOCKFAULT_SHARD_COUNT=N\n"
    "  --require-points N   exit 9 when the exploration has fewer than N points (default 1:\n"
    "                       a program that made none of the selected calls tested nothing)\n"
    "  --progress SECS      off a terminal, a progress line on stderr every SECS (default 5;\n"
    "                       0: none); on a terminal one line redrawn in place\n"
    "  --fail-on LIST       classes that are findings (default crash,sanitizer,hang,\n"
    "                       spin,no-recovery,silent,stopped-serving,mute-exit,\n"
    "                       request-lost,request-stalled; 'all', 'none')\n"
    "  --expect-status N    PROG's normal exit status when not a server (default 0)\n"
    "  --backend B          preload, seccomp, or auto: seccomp for static and Go programs,\n"
    "                       else preload (default; see sockfault run --help)\n"
    "  --json FILE          the report as JSON ('-' for stdout; schema in docs/explore.md)\n"
    "  --junit FILE         the report as JUnit XML, one testcase per point\n"
    "  --html FILE          the report as one self-contained HTML page: the matrix as a\n"
    "                       grid, each cell's runs, the baseline's calls\n"
    "  -q, --quiet          no table on stdout\n"
    "  -h, --help           this text\n"
    "\n"
    "Exit status: 0 no findings, 1 findings, 2 usage, 5 PROG cannot be faulted,\n"
    "6 the baseline failed, 7 internal error, 8 more than half the points not reached\n"
    "(could not judge), 9 fewer points than --require-points (nothing explored).\n";

static volatile sig_atomic_t sf_stop_sig;

static void sf_on_stop(int sig) { sf_stop_sig = sig; }

struct sf_xopts {
  struct sf_outputs out;
  unsigned jobs, require_points;
  long long progress_ms;   /* off a terminal: a line every progress_ms, 0 none */
  bool jobs_given, quiet;
  enum sf_backend backend;
};

static int sf_parse_uint(const char *opt, const char *s, unsigned lo, unsigned hi, unsigned *out)
{
  char *end;
  errno = 0;
  unsigned long v = strtoul(s, &end, 10);
  if (!(s[0] >= '0' && s[0] <= '9') || *end || errno || v < lo || v > hi) {
    sf_opt_err("explore", "%s '%s': expected a whole number from %u to %u", opt, s, lo, hi);
    return -1;
  }
  *out = (unsigned)v;
  return 0;
}

static int sf_parse_calls(struct sf_explore *x, const char *list)
{
  uint64_t m = 0;
  for (const char *p = list;;) {
    const char *comma = strchr(p, ',');
    size_t l = comma ? (size_t)(comma - p) : strlen(p);
    int id = sf_call_lookup(p, l);
    if (id < 0) {
      const char *near = sf_closest_call(p, l);
      sf_opt_err("explore", "--calls '%s': unknown call '%.*s'%s%s%s", list, (int)(l > 60 ? 60 : l),
             p, near ? " (did you mean '" : "", near ? near : "", near ? "'?)" : "");
      return -1;
    }
    m |= SF_CALL_BIT(id);
    if (!comma)
      break;
    p = comma + 1;
  }
  x->calls_mask = m;
  return 0;
}

static int sf_parse_errnos(struct sf_explore *x, const char *list)
{
  static const char core[] = "EMFILE,ENOBUFS,EACCES,EPERM";
  const char *given = list;
  x->nerrnos = 0;
  x->all_errnos = strcmp(list, "documented") == 0 || strcmp(list, "all") == 0;
  x->force |= x->all_errnos;
  if (x->all_errnos || strcmp(list, "env") == 0)
    return 0;
  if (strcmp(list, "core") == 0)
    list = core;
  for (const char *p = list;;) {
    const char *comma = strchr(p, ',');
    size_t l = comma ? (size_t)(comma - p) : strlen(p);
    int e = sf_errno_lookup(p, l);
    if (e < 0) {
      const char *near = sf_closest_errno(p, l);
      sf_opt_err("explore", "--errnos '%s': unknown errno '%.*s'%s%s%s", given,
             (int)(l > 60 ? 60 : l), p, near ? " (did you mean '" : "", near ? near : "",
             near ? "'?)" : "");
      return -1;
    }
    if (x->nerrnos == SF_MAX_ERRNO_SEL) {
      sf_opt_err("explore", "--errnos '%s': more than %d errnos", given, SF_MAX_ERRNO_SEL);
      return -1;
    }
    x->errnos[x->nerrnos++] = e;
    if (!comma)
      break;
    p = comma + 1;
  }
  return 0;
}

/* "I/N" (what) into i, n; -1 naming what and the value. */
static int sf_shard_value(const char *what, const char *s, unsigned *i, unsigned *n)
{
  unsigned a, b;
  char tail;
  if (strspn(s, "0123456789/") != strlen(s) || /* no sign or space sscanf would take */
      sscanf(s, "%u/%u%c", &a, &b, &tail) != 2 || b < 1 || b > 100000 || a < 1 || a > b) {
    sf_opt_err("explore", "%s '%s': expected I/N with 1 <= I <= N", what, s);
    return -1;
  }
  *i = a;
  *n = b;
  return 0;
}

/* --shard auto: the shard from the CI engine's own variables, the first set of: an explicit
 * SOCKFAULT_SHARD=I/N (a GitHub Actions matrix sets it in the job's env), GitLab's
 * CI_NODE_INDEX/CI_NODE_TOTAL (1-based; parallel: N), Kubernetes Indexed Jobs'
 * JOB_COMPLETION_INDEX (0-based) with SOCKFAULT_SHARD_COUNT (the Job's completions). */
static int sf_shard_auto(unsigned *i, unsigned *n)
{
  const char *v = getenv("SOCKFAULT_SHARD"), *gi = getenv("CI_NODE_INDEX"),
             *gt = getenv("CI_NODE_TOTAL"), *ki = getenv("JOB_COMPLETION_INDEX"),
             *kn = getenv("SOCKFAULT_SHARD_COUNT");
  char buf[64], from[96];
  if (v) {
    snprintf(from, sizeof from, "SOCKFAULT_SHARD");
  } else if (gt) {
    /* GitLab sets CI_NODE_TOTAL=1 and no CI_NODE_INDEX in a job without parallel: */
    snprintf(buf, sizeof buf, "%.20s/%.20s", gi ? gi : (strcmp(gt, "1") == 0 ? "1" : ""), gt);
    v = buf;
    snprintf(from, sizeof from, "CI_NODE_INDEX/CI_NODE_TOTAL ('%.20s'/'%.20s')",
             gi ? gi : "(unset)", gt);
  } else if (ki) {
    unsigned long k;
    char *end;
    if (!kn) {
      sf_opt_err("explore", "--shard auto: JOB_COMPLETION_INDEX is set but not SOCKFAULT_SHARD_COUNT "
             "(set it to the Job's completions)");
      return -1;
    }
    errno = 0;
    k = strtoul(ki, &end, 10);
    if (!(ki[0] >= '0' && ki[0] <= '9') || *end || errno || k >= 100000) {
      sf_opt_err("explore", "--shard auto: JOB_COMPLETION_INDEX '%s' is not an index from 0", ki);
      return -1;
    }
    snprintf(buf, sizeof buf, "%lu/%.20s", k + 1, kn);
    v = buf;
    snprintf(from, sizeof from, "JOB_COMPLETION_INDEX %lu + 1, SOCKFAULT_SHARD_COUNT", k);
  } else {
    sf_opt_err("explore", "--shard auto: no shard in the environment (SOCKFAULT_SHARD=I/N, GitLab's "
           "CI_NODE_INDEX/CI_NODE_TOTAL, or Kubernetes' JOB_COMPLETION_INDEX with "
           "SOCKFAULT_SHARD_COUNT)");
    return -1;
  }
  char what[160];
  snprintf(what, sizeof what, "--shard auto: %s", from);
  if (sf_shard_value(what, v, i, n) != 0)
    return -1;
  fprintf(stderr, "sockfault explore: shard %u/%u (from %s)\n", *i, *n, from);
  return 0;
}

static int sf_parse_shard(const char *s, unsigned *i, unsigned *n)
{
  if (strcmp(s, "auto") == 0)
    return sf_shard_auto(i, n);
  return sf_shard_value("--shard", s, i, n);
}

static bool sf_args_have_port(char **args, int n)
{
  for (int i = 0; i < n; i++)
    if (strstr(args[i], "{port}"))
      return true;
  return false;
}

/* Parse the options into x and o; returns -1 to go on, else an exit status. */
static int sf_options(int argc, char **argv, struct sf_explore *x, struct sf_xopts *o)
{
  enum { O_CHECK = 256, O_CALLS, O_ERRNOS, O_MAX, O_SITE, O_DEPTH, O_BUDGET, O_TIMEOUT,
         O_JOBS, O_SHARD, O_FAILON, O_STATUS, O_JSON, O_JUNIT, O_HTML, O_REQUIRE, O_PROGRESS,
         O_KINDS, O_WINDOW, O_CHECKS, O_SERVER, O_GRACE, O_SEARCH, O_MAXF, O_SEED, O_CONTEXT,
         O_FORCE, O_BACKEND };
  static const struct option opts[] = {
      {"check", required_argument, NULL, O_CHECK},   {"calls", required_argument, NULL, O_CALLS},
      {"errnos", required_argument, NULL, O_ERRNOS}, {"max-per-call", required_argument, NULL, O_MAX},
      {"by-site", no_argument, NULL, O_SITE},        {"depth", required_argument, NULL, O_DEPTH},
      {"force", no_argument, NULL, O_FORCE},
      {"budget", required_argument, NULL, O_BUDGET}, {"timeout", required_argument, NULL, O_TIMEOUT},
      {"jobs", required_argument, NULL, O_JOBS},     {"shard", required_argument, NULL, O_SHARD},
      {"fail-on", required_argument, NULL, O_FAILON},
      {"expect-status", required_argument, NULL, O_STATUS},
      {"json", required_argument, NULL, O_JSON},     {"junit", required_argument, NULL, O_JUNIT},
      {"html", required_argument, NULL, O_HTML},
      {"require-points", required_argument, NULL, O_REQUIRE},
      {"progress", required_argument, NULL, O_PROGRESS},
      {"search", required_argument, NULL, O_SEARCH},
      {"max-faults", required_argument, NULL, O_MAXF},
      {"seed", required_argument, NULL, O_SEED},
      {"context", required_argument, NULL, O_CONTEXT},
      {"kinds", required_argument, NULL, O_KINDS},   {"window", required_argument, NULL, O_WINDOW},
      {"checks", required_argument, NULL, O_CHECKS},
      {"server", required_argument, NULL, O_SERVER},
      {"term-grace", required_argument, NULL, O_GRACE},
      {"backend", required_argument, NULL, O_BACKEND},
      {"quiet", no_argument, NULL, 'q'},             {"help", no_argument, NULL, 'h'},
      {NULL, 0, NULL, 0}};
  struct sf_report *r = &x->rep;
  char err[512];
  unsigned u = 0;
  long long grace_ms = -1;
  opterr = 0;
  optind = 1;
  for (;;) {
    int before = optind;
    int c = getopt_long(argc, argv, "+qh", opts, NULL);
    if (c == -1)
      break;
    int bad = 0;
    if (optarg && strcmp(optarg, "--") == 0) { /* "--json -- A.json": the value is missing */
      sf_opt_err("explore", "option '%s' needs a value (got '--')",
             argv[optind - 1 - (optind >= 2 && strcmp(argv[optind - 1], "--") == 0)]);
      return SOCKFAULT_EXIT_USAGE;
    }
    switch (c) {
    case O_CHECK:
      free(r->check);
      r->check = strdup(optarg);
      break;
    case O_SERVER:
      free(r->peer);
      r->peer = strdup(optarg);
      break;
    case O_CHECKS:
      bad = sf_parse_uint("--checks", optarg, 1, SF_CHECKS_MAX_OPT, &r->checks);
      break;
    case O_GRACE:
      bad = sf_parse_seconds("explore", "--term-grace", optarg, &grace_ms);
      break;
    case O_CALLS:
      bad = sf_parse_calls(x, optarg);
      free(r->calls);
      r->calls = strdup(optarg);
      break;
    case O_ERRNOS:
      bad = sf_parse_errnos(x, optarg);
      free(r->errnos);
      r->errnos = strdup(optarg);
      break;
    case O_MAX: bad = sf_parse_uint("--max-per-call", optarg, 1, 100000, &r->max_per_call); break;
    case O_SITE: r->by_site = true; break;
    case O_FORCE: x->force = true; break;
    case O_DEPTH: bad = sf_parse_uint("--depth", optarg, 1, 2, &r->depth); break;
    case O_BUDGET: bad = sf_parse_uint("--budget", optarg, 0, 10000000, &r->budget); break;
    case O_TIMEOUT: bad = sf_parse_seconds("explore", "--timeout", optarg, &r->timeout_ms); break;
    case O_JOBS:
      bad = sf_parse_uint("--jobs", optarg, 1, 256, &o->jobs);
      o->jobs_given = true;
      break;
    case O_REQUIRE:
      bad = sf_parse_uint("--require-points", optarg, 0, 100000000, &o->require_points);
      break;
    case O_PROGRESS:
      o->progress_ms = 0;
      if (strcmp(optarg, "0") != 0)
        bad = sf_parse_seconds("explore", "--progress", optarg, &o->progress_ms);
      break;
    case O_BACKEND: {
      int b = sf_backend_parse(optarg);
      if (b < 0) {
        sf_opt_err("explore", "--backend '%s': expected 'auto', 'preload' or 'seccomp'", optarg);
        bad = -1;
      } else {
        o->backend = (enum sf_backend)b;
      }
      break;
    }
    case O_SHARD: bad = sf_parse_shard(optarg, &r->shard_i, &r->shard_n); break;
    case O_FAILON:
      if (sf_fail_on_parse(optarg, &r->fail_on, err, sizeof err) != 0) {
        sf_opt_err("explore", "--fail-on '%s': %s", optarg, err);
        bad = -1;
      }
      break;
    case O_STATUS:
      bad = sf_parse_uint("--expect-status", optarg, 0, 255, &u);
      r->expect_status = (int)u;
      break;
    case O_SEARCH: bad = sf_parse_uint("--search", optarg, 1, 10000000, &r->search); break;
    case O_MAXF:
      bad = sf_parse_uint("--max-faults", optarg, 2, SF_MAX_FAULTS, &r->max_faults);
      break;
    case O_SEED:
      bad = sf_parse_uint("--seed", optarg, 0, 4000000000u, &u);
      r->seed = u;
      break;
    case O_CONTEXT: bad = sf_parse_uint("--context", optarg, 1, 2, &r->context); break;
    case O_KINDS:
      if (sf_kinds_parse(optarg, &r->kinds, err, sizeof err) != 0) {
        sf_opt_err("explore", "--kinds '%s': %s", optarg, err);
        bad = -1;
      }
      break;
    case O_WINDOW: bad = sf_parse_seconds("explore", "--window", optarg, &r->window_ms); break;
    case O_JSON: o->out.path[sf_output_lookup("json")] = optarg; break;
    case O_JUNIT: o->out.path[sf_output_lookup("junit")] = optarg; break;
    case O_HTML: o->out.path[sf_output_lookup("html")] = optarg; break;
    case 'q': o->out.quiet = true; break;
    case 'h':
      fputs(sf_explore_help, stdout);
      fputs("Classes (for --fail-on), from the least to the most severe:", stdout);
      for (int k = 0; k < SF_NCLASSES; k++)
        printf(" %s", sf_class_name((enum sf_class)k));
      putchar('\n');
      return 0;
    default: return sf_bad_option("explore", argc, argv, before);
    }
    if (bad)
      return SOCKFAULT_EXIT_USAGE;
  }
  if (optind < argc && strcmp(argv[optind], "--") == 0)
    optind++;
  if (optind >= argc) {
    sf_opt_err("explore", "no program given (sockfault explore [OPTIONS] -- PROG [ARGS...])");
    return SOCKFAULT_EXIT_USAGE;
  }
  if (r->context > 1 && !r->search) {
    sf_opt_err("explore", "--context %u: only the search (--search N) tells sites by their "
               "caller", r->context);
    return SOCKFAULT_EXIT_USAGE;
  }
  if (r->search && r->depth > 1) {
    sf_opt_err("explore", "--search and --depth 2 both grow schedules from the single points: "
               "give one of them");
    return SOCKFAULT_EXIT_USAGE;
  }
  if (r->check && !r->check[0]) {
    sf_opt_err("explore", "--check '': the check command is empty");
    return SOCKFAULT_EXIT_USAGE;
  }
  if (r->peer && !r->peer[0]) {
    sf_opt_err("explore", "--server '': the peer command is empty");
    return SOCKFAULT_EXIT_USAGE;
  }
  if (r->peer && r->check) {
    sf_opt_err("explore", "--server '%s' with --check: PROG is either a client with a peer "
               "or a server with a check", r->peer);
    return SOCKFAULT_EXIT_USAGE;
  }
  if (grace_ms > r->timeout_ms) {
    sf_opt_err("explore", "--term-grace %lld ms is longer than --timeout (%lld ms)", grace_ms,
               r->timeout_ms);
    return SOCKFAULT_EXIT_USAGE;
  }
  r->term_grace_ms = grace_ms >= 0 ? grace_ms : r->timeout_ms < 2000 ? r->timeout_ms : 2000;
  r->force = x->force; /* recorded, so that merge refuses mixing forced and unforced shards */
  if (r->check && o->jobs > 1 && !sf_args_have_port(argv + optind + 1, argc - optind - 1)) {
    /* every run would listen on the same port: one binds, the others fail or are judged
     * against the wrong server, and the points come out not-reached */
    if (o->jobs_given) {
      sf_opt_err("explore", "--jobs %u with --check, but PROG's arguments have no {port}: the "
             "parallel runs would all use one port; put {port} where PROG takes its port, or "
             "use --jobs 1", o->jobs);
      return SOCKFAULT_EXIT_USAGE;
    }
    sf_err("explore", "note: PROG's arguments have no {port}, so its runs would share one "
           "port: running one at a time (--jobs 1)");
    o->jobs = 1;
  }
  if (sf_outputs_check("explore", &o->out) != 0)
    return SOCKFAULT_EXIT_USAGE;
  return -1;
}

/* The progress line: drawn as each point's run is judged, so that its findings are the
 * ones so far (the baseline's runs are not points and draw nothing). */
struct sf_progress {
  bool on, shown, lines;   /* on: drawn at all; lines: whole lines (stderr not a terminal) */
  long long t0, last, every;
  size_t findings;
};

static void sf_progress_draw(struct sf_progress *pg, const char *line)
{
  if (pg->lines) { /* a log, not a screen: a whole line, no escapes */
    fprintf(stderr, "%s\n", line);
    fflush(stderr);
    return;
  }
  struct winsize ws;
  int len = (int)strlen(line);
  /* a line that wraps is not erased by "\r\033[K" (only its last row is): cut it */
  if (ioctl(2, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0 && len >= ws.ws_col)
    len = ws.ws_col - 1;
  fprintf(stderr, "\r\033[K%.*s", len, line);
  fflush(stderr);
  pg->shown = true;
  sf_status_shown(true);
}

static void sf_progress_judged(void *ctx, size_t done, size_t total, const struct sf_point *p)
{
  struct sf_progress *pg = ctx;
  pg->findings += p->finding;
  if (!pg->on)
    return;
  long long now = sf_now_ms();
  if (pg->lines ? now - pg->last < pg->every : now - pg->last < 100 && done < total)
    return;
  pg->last = now;
  long long eta = done ? (now - pg->t0) * (long long)(total - done) / (long long)done / 1000 : 0;
  char line[160];
  snprintf(line, sizeof line, "explore: %zu/%zu runs, %zu finding%s so far, ETA %lld:%02lld",
           done, total, pg->findings, pg->findings == 1 ? "" : "s", eta / 60, eta % 60);
  sf_progress_draw(pg, line);
}

/* The points' runs begin: the ETA from their rate, not the baseline's; off a terminal, the
 * first line after one interval. */
static void sf_progress_start(void *ctx)
{
  struct sf_progress *pg = ctx;
  pg->t0 = pg->last = sf_now_ms();
}

/* --search's line, after each batch of its runs: at most every --progress seconds off a
 * terminal, as the other lines. */
static void sf_progress_search(void *ctx, const char *line)
{
  struct sf_progress *pg = ctx;
  long long now = sf_now_ms();
  if (!pg->on || (pg->lines && now - pg->last < pg->every))
    return;
  pg->last = now;
  sf_progress_draw(pg, line);
}

/* Erases the line, so that what comes next on stderr starts a line of its own. */
static void sf_progress_end(struct sf_progress *pg)
{
  if (pg->shown)
    fprintf(stderr, "\r\033[K");
  pg->shown = false;
  sf_status_shown(false);
}

static int sf_explore_main(struct sf_explore *x, struct sf_xopts *o, char **prog_argv,
                           int nprog)
{
  struct sf_report *r = &x->rep;
  char err[1024], prog[PATH_MAX];
  if (sf_resolve_prog(prog_argv[0], prog, sizeof prog, err, sizeof err) != 0) {
    sf_err("explore", "%s", err);
    return SOCKFAULT_EXIT_TARGET;
  }
  /* absolute for runs in other directories, but never realpath()'d: the name started by is
   * the program's personality (busybox applets, redis-server -> redis-check-rdb) */
  char abs[PATH_MAX];
  r->prog = strdup(sf_abs_path(prog, abs, sizeof abs) == 0 ? abs : prog);
  r->nargs = (size_t)(nprog - 1);
  r->args = calloc(r->nargs + 1, sizeof *r->args);
  if (!r->prog || !r->args)
    return SOCKFAULT_EXIT_INTERNAL;
  for (size_t i = 0; i < r->nargs; i++)
    if (!(r->args[i] = strdup(prog_argv[i + 1])))
      return SOCKFAULT_EXIT_INTERNAL;
  struct sf_session s;
  int status = sf_session_open(&s, "explore", r, o->jobs, &sf_stop_sig, o->backend);
  if (status != 0)
    return status;
  bool tty = isatty(2) != 0;
  struct sf_progress pg = {.on = tty || o->progress_ms > 0, .lines = !tty,
                           .every = o->progress_ms};
  const struct sf_explore_hooks hooks = {.judged = sf_progress_judged,
                                         .points_start = sf_progress_start,
                                         .searched = sf_progress_search, .ctx = &pg};
  status = sf_explore_run(x, &s, &hooks);
  sf_progress_end(&pg);
  if (status == 0) {
    char why[300];
    status = sf_report_verdict(r, o->require_points, why, sizeof why);
    if (sf_outputs_write("explore", r, &o->out) != 0)
      status = SOCKFAULT_EXIT_INTERNAL;
    else if (why[0])
      sf_err("explore", "could not judge: %s (exit %d)", why, status);
  } else if (sf_stop_sig) {
    sf_err("explore", "interrupted by signal %d; children killed, temp files removed",
           (int)sf_stop_sig);
    status = 128 + sf_stop_sig;
  }
  sf_session_close(&s, "explore");
  return status;
}

int sf_cmd_explore(int argc, char **argv)
{
  struct sf_explore x;
  memset(&x, 0, sizeof x);
  sf_report_init(&x.rep);
  x.rep.budget = 256;
  x.calls_mask = SF_ALL_CALLS;
  x.pairs_per_fault = 4;
  long cpus = sysconf(_SC_NPROCESSORS_ONLN);
  struct sf_xopts o = {.jobs = cpus > 0 ? (unsigned)(cpus > 256 ? 256 : cpus) : 1,
                       .require_points = 1, .progress_ms = 5000};
  int status = sf_options(argc, argv, &x, &o);
  if (status < 0) {
    x.rep.jobs = o.jobs;
    struct sigaction sa = {.sa_handler = sf_on_stop}, old[3];
    sigemptyset(&sa.sa_mask);
    const int sigs[3] = {SIGINT, SIGTERM, SIGHUP};
    for (int i = 0; i < 3; i++)
      sigaction(sigs[i], &sa, &old[i]);
    signal(SIGPIPE, SIG_IGN); /* a closed stdout is a write error (7), after the clean-up */
    status = sf_explore_main(&x, &o, argv + optind, argc - optind);
    for (int i = 0; i < 3; i++)
      sigaction(sigs[i], &old[i], NULL);
  }
  sf_report_free(&x.rep);
  return status;
}

