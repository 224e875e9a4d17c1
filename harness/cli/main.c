/* sockfault: run programs with chosen socket calls failing, and explore their error paths. */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "cmd.h"
#include "sockfault/exit.h"

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

void sf_err(const char *verb, const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  fprintf(stderr, "sockfault%s%s: ", verb ? " " : "", verb ? verb : "");
  vfprintf(stderr, fmt, ap);
  fputc('\n', stderr);
  va_end(ap);
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
    return 0;
  }
  if (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "-V") == 0) {
    printf("sockfault %s\n", SOCKFAULT_VERSION);
    return 0;
  }
  for (int i = 0; i < SF_NVERBS; i++)
    if (strcmp(argv[1], sf_verbs[i].name) == 0)
      return sf_verbs[i].fn(argc - 1, argv + 1);
  sf_err(NULL, "unknown verb '%s'", argv[1]);
  sf_usage(stderr);
  return SOCKFAULT_EXIT_USAGE;
}
