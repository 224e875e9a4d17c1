/* sockfault replay REPORT.json [--point ID]: run one failure point again, its output live. */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd.h"
#include "options.h"
#include "outcome.h"
#include "proc.h"
#include "report.h"
#include "session.h"
#include "runner.h"
#include "sockfault/exit.h"

static const char sf_replay_help[] =
    "usage: sockfault replay REPORT.json [--point ID] [--timeout SECS]\n"
    "\n"
    "Runs one failure point of an explore report again, exactly as explore ran it (a fresh\n"
    "loopback port, the check for a server, SIGTERM at the end), showing the program's\n"
    "stdout and stderr as they come, then the outcome now and the outcome recorded.\n"
    "Without --point, the first finding. ID is as the report shows it: 17, or 17.2 for a pair.\n"
    "Exit status: 0 the point is not a finding now, 1 it is, 4 bad report, 5 PROG cannot be\n"
    "faulted.\n";

static volatile sig_atomic_t sf_replay_stop;
static void sf_replay_on_stop(int sig) { sf_replay_stop = sig; }

static int sf_replay_run(struct sf_report *r, struct sf_point *p, long long timeout_ms)
{
  /* the point runs as explore ran it: the same session, one job, its timeout */
  r->timeout_ms = timeout_ms;
  struct sf_session s;
  int status = sf_session_open(&s, "replay", r, 1, &sf_replay_stop, SF_BACKEND_AUTO);
  if (status != 0)
    return status;
  char rules[SF_POINT_RULES_MAX], id[32];
  sf_point_rules(p, rules, sizeof rules);
  sf_point_id(p, id, sizeof id);
  const enum sf_class recorded = p->cls;
  char *recorded_detail = p->detail ? strdup(p->detail) : NULL;
  fprintf(stderr, "sockfault replay: point #%s, %s (recorded: %s%s%s)\n", id, rules,
          sf_class_name(recorded), recorded_detail ? ", " : "",
          recorded_detail ? recorded_detail : "");
  struct sf_runspec spec = s.proto;
  spec.rules = rules;
  spec.nrules = p->nfaults;
  spec.window_ms = p->fault[0].window_ms;
  spec.burst = sf_fault_burst(&p->fault[0]);
  spec.echo = true;
  struct sf_runres res;
  int rc = sf_pool_run(&s.pool, &spec, &res, 1);
  sf_session_close(&s, "replay");
  if (rc != 0 && sf_replay_stop) {
    sf_runres_free(&res);
    free(recorded_detail);
    return 128 + sf_replay_stop;
  }
  sf_classify(r, &res, p->nfaults, p);
  sf_runres_free(&res);
  char repro[SF_REPRO_MAX];
  sf_point_reproducer(r, p, repro, sizeof repro);
  fprintf(stderr, "sockfault replay: now %s: %s\n  (recorded %s%s)\n  %s\n",
          sf_class_name(p->cls), p->detail ? p->detail : "", sf_class_name(recorded),
          p->cls == recorded ? ", the same" : ", different: the program may be flaky",
          repro);
  free(recorded_detail);
  return p->finding ? SOCKFAULT_EXIT_FINDINGS : SOCKFAULT_EXIT_OK;
}

int sf_cmd_replay(int argc, char **argv)
{
  static const struct option opts[] = {{"point", required_argument, NULL, 'p'},
                                       {"timeout", required_argument, NULL, 't'},
                                       {"help", no_argument, NULL, 'h'},
                                       {NULL, 0, NULL, 0}};
  const char *want = NULL;
  long long timeout_ms = -1;
  opterr = 0;
  optind = 1;
  for (;;) {
    int before = optind;
    int c = getopt_long(argc, argv, "p:h", opts, NULL);
    if (c == -1)
      break;
    if (c == 'p') {
      want = optarg;
    } else if (c == 't') {
      if (sf_parse_seconds("replay", "--timeout", optarg, &timeout_ms) != 0)
        return SOCKFAULT_EXIT_USAGE;
    } else if (c == 'h') {
      fputs(sf_replay_help, stdout);
      return 0;
    } else {
      return sf_bad_option("replay", argc, argv, before);
    }
  }
  if (optind != argc - 1) {
    sf_opt_err("replay", optind >= argc ? "no report given (sockfault replay REPORT.json "
                                      "[--point ID])"
                                    : "one report only, got '%s' too", argv[optind + 1]);
    return SOCKFAULT_EXIT_USAGE;
  }
  unsigned index = 0, sub = 0;
  if (want && sf_point_id_parse(want, &index, &sub) != 0) {
    sf_opt_err("replay", "--point '%s': expected a point id such as 17 or 17.2", want);
    return SOCKFAULT_EXIT_USAGE;
  }
  const char *path = argv[optind];
  struct sf_report r;
  char err[600];
  if (sf_report_load(path, &r, err, sizeof err) != 0) {
    sf_err("replay", "%s: %s", path, err);
    return SOCKFAULT_EXIT_REPORT;
  }
  struct sf_point *p = NULL;
  for (size_t i = 0; i < r.npoints && !p; i++)
    if (want ? r.points[i].index == index && r.points[i].sub == sub : r.points[i].finding)
      p = &r.points[i];
  int status;
  if (!p && want) {
    sf_opt_err("replay", "%s: no point '%s' in the report (%zu points)", path, want, r.npoints);
    status = SOCKFAULT_EXIT_USAGE;
  } else if (!p) {
    printf("%s: no findings to replay; choose one with --point ID\n", path);
    status = SOCKFAULT_EXIT_OK;
  } else {
    struct sigaction sa = {.sa_handler = sf_replay_on_stop}, old[2];
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, &old[0]);
    sigaction(SIGTERM, &sa, &old[1]);
    signal(SIGPIPE, SIG_IGN); /* our stdout closed: the echo is lost, the run goes on */
    status = sf_replay_run(&r, p, timeout_ms > 0 ? timeout_ms : r.timeout_ms);
    sigaction(SIGINT, &old[0], NULL);
    sigaction(SIGTERM, &old[1], NULL);
  }
  sf_report_free(&r);
  return status;
}
