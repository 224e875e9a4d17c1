/* sockfault: run programs with chosen socket calls failing, and explore their error paths. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "cmd.h"
#include "capture.h"
#include "options.h"
#include "sockfault/exit.h"
#include "table.h"

#ifndef SOCKFAULT_VERSION
#define SOCKFAULT_VERSION "unknown"
#endif

struct sf_verb {
  const char *name;
  int (*fn)(int, char **);
  const char *summary;
};

static const struct sf_verb sf_verbs[] = {
    {"run", sf_cmd_run, "run one program with chosen socket calls failing"},
    {"errnos", sf_cmd_errnos, "list the intercepted calls and their documented errnos"},
    {"explore", sf_cmd_explore, "run a program once per failure point and judge each run"},
    {"replay", sf_cmd_replay, "run one failure point of an explore report again, live"},
    {"merge", sf_cmd_merge, "combine the shard reports of one exploration"},
};
enum { SF_NVERBS = sizeof sf_verbs / sizeof sf_verbs[0] };

/* Every verb ends here: whatever it wrote to stdout (a report, a table, --help, the echo of
 * replay) is flushed and checked once, so a full disk or a closed pipe is exit 7 with the
 * reason, never a silent 0. A verb that already said its output failed (7) is not said twice. */
static int sf_finish(const char *verb, int status)
{
  errno = 0;
  int bad = fflush(stdout) != 0 || ferror(stdout);
  int e = bad ? errno : sf_echo_errno;
  if (!bad && !e)
    return status;
  if (status != SOCKFAULT_EXIT_INTERNAL)
    sf_err(verb, "stdout: %s", e ? strerror(e) : "write error");
  return SOCKFAULT_EXIT_INTERNAL;
}

static void sf_usage(FILE *out)
{
  fprintf(out, "usage: sockfault VERB [OPTIONS] [-- PROG [ARGS...]]\n\nverbs:\n");
  for (int i = 0; i < SF_NVERBS; i++)
    fprintf(out, "  %-8s %s\n", sf_verbs[i].name, sf_verbs[i].summary);
  fprintf(out, "\n'sockfault VERB --help' describes each verb; --version prints the version.\n"
               "Rules: see sockfault-rules(7) or the README.\n");
}

int main(int argc, char **argv)
{
  if (argc < 2) {
    sf_usage(stderr);
    return SOCKFAULT_EXIT_USAGE;
  }
  if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
      strcmp(argv[1], "help") == 0) {
    sf_usage(stdout);
    return sf_finish(NULL, 0);
  }
  if (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "-V") == 0) {
    printf("sockfault %s\n", SOCKFAULT_VERSION);
    return sf_finish(NULL, 0);
  }
  for (int i = 0; i < SF_NVERBS; i++)
    if (strcmp(argv[1], sf_verbs[i].name) == 0)
      return sf_finish(sf_verbs[i].name, sf_verbs[i].fn(argc - 1, argv + 1));
  const char *names[SF_NVERBS];
  for (int i = 0; i < SF_NVERBS; i++)
    names[i] = sf_verbs[i].name;
  const char *near = sf_closest(argv[1], strlen(argv[1]), names, SF_NVERBS);
  sf_opt_err(NULL, "unknown verb '%.60s'%s%s%s", argv[1], near ? " (did you mean '" : "",
             near ? near : "", near ? "'?)" : "");
  return SOCKFAULT_EXIT_USAGE;
}
