/* sockfault run: one program under chosen faults; exits with the program's status. */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cmd.h"
#include "seccomp.h"
#include "launch.h"
#include "load.h"
#include "options.h"
#include "rules.h"
#include "sockfault/exit.h"

static const char sf_run_help[] =
    "usage: sockfault run [-e RULE]... [-f RULEFILE] [--log PATH] [--log-level all|faults]\n"
    "                     [--no-inherit] [--backend auto|preload|seccomp] -- PROG [ARGS...]\n"
    "\n"
    "Runs PROG with libsockfault.so preloaded and the rules set; exits with PROG's status\n"
    "(128+N if a signal N killed it). A static or Go program, which LD_PRELOAD cannot reach,\n"
    "is faulted through seccomp instead (--backend auto, the default, says so on stderr).\n"
    "\n"
    "  -e, --rule RULE      a rule: SET:error=ERRNO[:when=EXPR][:prob=P][:seed=N][:for=DUR]\n"
    "                       [:FILTER=V][:force]; repeat for more (e.g. -e\n"
    "                       'accept:error=EMFILE:when=2'; for=2s: the fault lasts 2 s)\n"
    "  -f, --file FILE      rules from FILE, one per line, '#' comments\n"
    "  -l, --log PATH       JSON Lines record of intercepted calls (schema in the README)\n"
    "      --log-level L    'all' (every intercepted call, default) or 'faults'\n"
    "      --no-inherit     keep the faults out of PROG's child processes\n"
    "      --backend B      preload (LD_PRELOAD), seccomp (a filter traps the socket system\n"
    "                       calls and sockfault decides them), auto: seccomp for static and Go\n"
    "                       programs, else preload (default)\n"
    "  -h, --help           this text\n"
    "\n"
    "Rules are checked before PROG starts: a bad rule exits 3 and PROG does not run.\n";

static volatile sig_atomic_t sf_child;

static void sf_forward(int sig)
{
  if (sf_child > 0)
    kill(sf_child, sig);
}

int sf_cmd_run(int argc, char **argv)
{
  static const struct option opts[] = {
      {"rule", required_argument, NULL, 'e'},   {"file", required_argument, NULL, 'f'},
      {"log", required_argument, NULL, 'l'},    {"log-level", required_argument, NULL, 'L'},
      {"no-inherit", no_argument, NULL, 'I'},   {"help", no_argument, NULL, 'h'},
      {"backend", required_argument, NULL, 'B'},
      {NULL, 0, NULL, 0}};
  char *rules = NULL;
  size_t rules_len = 0;
  const char *file = NULL, *log = NULL, *level = NULL;
  int inherit = -1;
  enum sf_backend backend = SF_BACKEND_AUTO;
  opterr = 0;
  optind = 1;
  for (;;) {
    int before = optind;
    int c = getopt_long(argc, argv, "+e:f:l:h", opts, NULL);
    if (c == -1)
      break;
    switch (c) {
    case 'e': {
      size_t add = strlen(optarg);
      char *grown = realloc(rules, rules_len + add + 2);
      if (!grown)
        return SOCKFAULT_EXIT_INTERNAL;
      rules = grown;
      if (rules_len)
        rules[rules_len++] = '\n';
      memcpy(rules + rules_len, optarg, add + 1);
      rules_len += add;
      break;
    }
    case 'f':
      if (file) {
        sf_opt_err("run", "-f given twice ('%s' and '%s'); put the rules in one file", file, optarg);
        free(rules);
        return SOCKFAULT_EXIT_USAGE;
      }
      file = optarg;
      break;
    case 'l': log = optarg; break;
    case 'L':
      if (sf_log_level_parse(optarg) < 0) {
        sf_opt_err("run", "--log-level '%s': " SF_LOG_LEVEL_EXPECTED, optarg);
        free(rules);
        return SOCKFAULT_EXIT_USAGE;
      }
      level = optarg;
      break;
    case 'I': inherit = 0; break;
    case 'B': {
      int b = sf_backend_parse(optarg);
      if (b < 0) {
        sf_opt_err("run", "--backend '%s': expected 'auto', 'preload' or 'seccomp'", optarg);
        free(rules);
        return SOCKFAULT_EXIT_USAGE;
      }
      backend = (enum sf_backend)b;
      break;
    }
    case 'h':
      fputs(sf_run_help, stdout);
      free(rules);
      return 0;
    default:
      free(rules);
      return sf_bad_option("run", argc, argv, before);
    }
  }
  if (optind < argc && strcmp(argv[optind], "--") == 0)
    optind++;
  if (optind >= argc) {
    sf_opt_err("run", "no program given (sockfault run [OPTIONS] -- PROG [ARGS...])");
    free(rules);
    return SOCKFAULT_EXIT_USAGE;
  }
  char err[1024], why[PATH_MAX + 64];
  static struct sf_ruleset rs;
  char *all = sf_gather_rules(rules, file, err, sizeof err, &rs);
  free(rules);
  if (!all) {
    sf_err("run", "%s; nothing was run", err);
    return SOCKFAULT_EXIT_RULE;
  }
  rules = all; /* passed as SOCKFAULT; SOCKFAULT_FILE is not passed on */
  /* made absolute once: a program that changes directory still logs here */
  char log_abs[PATH_MAX];
  if (log && sf_abs_path(log, log_abs, sizeof log_abs) == 0)
    log = log_abs;
  char prog[PATH_MAX], shim[PATH_MAX];
  if (sf_resolve_prog(argv[optind], prog, sizeof prog, err, sizeof err) != 0 ||
      sf_backend_choose(backend, prog, &backend, why, sizeof why, err, sizeof err) != 0 ||
      (backend == SF_BACKEND_PRELOAD && sf_find_shim(shim, sizeof shim, err, sizeof err) != 0)) {
    sf_err("run", "%s", err);
    free(rules);
    return SOCKFAULT_EXIT_TARGET;
  }
  if (why[0])
    fprintf(stderr, "sockfault run: %s\n", why);
  /* executed by its resolved path, argv[0] as the user typed it (as a shell does) */
  struct sf_launch l = {.shim = shim, .argv = argv + optind, .path = prog, .rules = rules,
                        .rules_file = "", .log = log, .log_level = level,
                        .inherit = inherit, .fd_in = -1, .fd_out = -1, .fd_err = -1,
                        .die_with_parent = 1}; /* run killed: its program goes too */
  struct sigaction sa = {.sa_handler = sf_forward};
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, NULL);
  sigaction(SIGTERM, &sa, NULL);
  sigaction(SIGHUP, &sa, NULL);
  sigaction(SIGQUIT, &sa, NULL);
  struct sf_sup *sup = NULL;
  if (backend == SF_BACKEND_SECCOMP) {
    const struct sf_sup_conf conf = {.rules = &rs, .log = log, .inherit = inherit != 0,
                                     .log_all = log && (!level || strcmp(level, "all") == 0)};
    if (log && sf_check_output("run", "--log", log) != 0) {
      free(rules);
      return SOCKFAULT_EXIT_RULE;
    }
    sup = sf_sup_new(&conf, err, sizeof err);
    if (!sup) {
      sf_err("run", "%s", err);
      free(rules);
      return SOCKFAULT_EXIT_TARGET;
    }
    l = (struct sf_launch){.seccomp = sup, .argv = argv + optind, .path = prog, .inherit = -1,
                           .fd_in = -1, .fd_out = -1, .fd_err = -1, .die_with_parent = 1};
    /* the processes it leaves behind come to us: served until they end, as strace -f does */
    prctl(PR_SET_CHILD_SUBREAPER, 1);
  }
  pid_t pid = sf_spawn(&l, err, sizeof err);
  free(rules);
  if (pid < 0) {
    sf_err("run", "%s", err);
    sf_sup_free(sup);
    return SOCKFAULT_EXIT_TARGET;
  }
  sf_child = pid;
  int status;
  if (sup) {
    int rc = sf_sup_serve(sup, pid, &status);
    sf_sup_free(sup);
    if (rc != 0) {
      sf_err("run", "seccomp supervisor: %s", strerror(errno));
      return SOCKFAULT_EXIT_INTERNAL;
    }
    return sf_status_code(status);
  }
  while (waitpid(pid, &status, 0) < 0)
    if (errno != EINTR) {
      sf_err("run", "waitpid: %s", strerror(errno));
      return SOCKFAULT_EXIT_INTERNAL;
    }
  return sf_status_code(status);
}
