/* sockfault errnos [CALL]: the call table, as people and scripts read it. */
#define _GNU_SOURCE
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cmd.h"
#include "options.h"
#include "sockfault/exit.h"
#include "table.h"

static const char sf_errnos_help[] =
    "usage: sockfault errnos [--json] [CALL]\n"
    "\n"
    "Lists every intercepted call with the value an injected failure returns and the errnos\n"
    "the call is documented to return, each with its source: seed (the project's reference),\n"
    "man (Linux man-pages) or posix (POSIX.1-2017), and its class: env (the environment can\n"
    "cause it to a correct call: explore's default) or bug (only a wrong argument or a call\n"
    "out of order can). With CALL, that call in detail, with the reason.\n"
    "error=any draws from these lists; other errnos need :force.\n"
    "\n"
    "      --json           the same as a JSON array, one object per call\n"
    "  -h, --help           this text\n";

static void sf_print_call_json(int id)
{
  const struct sf_call_info *c = &sf_calls[id];
  printf("{\"call\":\"%s\",\"returns\":\"%s\",\"params\":\"%s\",\"fail\":%ld,", c->name,
         c->ret, c->params, c->fail);
  static const struct {
    unsigned bit;
    const char *name;
  } kinds[] = {{SF_K_NET, "net"},   {SF_K_NEWFD, "creates_fd"}, {SF_K_CLOSEFD, "closes_fd"},
               {SF_K_PEER, "peer"}, {SF_K_BLOCK, "blocks"}, {SF_K_ADDR, "sets_addr"},
               {SF_K_IN, "waits_input"}, {SF_K_OUT, "waits_output"}};
  printf("\"kind\":[");
  const char *sep = "";
  for (size_t k = 0; k < sizeof kinds / sizeof kinds[0]; k++)
    if (c->kind & kinds[k].bit) {
      printf("%s\"%s\"", sep, kinds[k].name);
      sep = ",";
    }
  printf("],\"errnos\":[");
  for (unsigned i = 0; i < c->nerrnos; i++)
    printf("%s{\"errno\":\"%s\",\"value\":%d,\"source\":\"%s\",\"why\":\"%s\","
           "\"class\":\"%s\"}",
           i ? "," : "", sf_errno_name(c->errnos[i].err), c->errnos[i].err,
           sf_src_name(c->errnos[i].src), sf_why_name(c->errnos[i].why),
           sf_why_env(c->errnos[i].why) ? "env" : "bug");
  printf("]}");
}

int sf_cmd_errnos(int argc, char **argv)
{
  static const struct option opts[] = {{"json", no_argument, NULL, 'j'},
                                       {"help", no_argument, NULL, 'h'},
                                       {NULL, 0, NULL, 0}};
  int json = 0;
  opterr = 0;
  optind = 1;
  for (;;) {
    int before = optind;
    int c = getopt_long(argc, argv, "+jh", opts, NULL);
    if (c == -1)
      break;
    if (c == 'j')
      json = 1;
    else if (c == 'h') {
      fputs(sf_errnos_help, stdout);
      return 0;
    } else
      return sf_bad_option("errnos", argc, argv, before);
  }
  int only = -1;
  if (optind < argc) {
    if (optind + 1 < argc) {
      sf_opt_err("errnos", "one CALL at most, got '%s' too", argv[optind + 1]);
      return SOCKFAULT_EXIT_USAGE;
    }
    only = sf_call_lookup(argv[optind], strlen(argv[optind]));
    if (only < 0) {
      const char *near = sf_closest_call(argv[optind], strlen(argv[optind]));
      sf_opt_err("errnos", "unknown call '%s'%s%s%s", argv[optind], near ? " (did you mean '" : "",
             near ? near : "", near ? "'?)" : "");
      return SOCKFAULT_EXIT_USAGE;
    }
  }
  if (json) {
    printf("[");
    for (int id = 0, first = 1; id < SF_NCALLS; id++)
      if (only < 0 || id == only) {
        printf("%s", first ? "" : ",\n");
        sf_print_call_json(id);
        first = 0;
      }
    printf("]\n");
    return 0;
  }
  if (only >= 0) {
    const struct sf_call_info *c = &sf_calls[only];
    printf("%s %s%s\nan injected failure returns %ld with errno one of:\n", c->ret, c->name,
           c->params, c->fail);
    for (unsigned i = 0; i < c->nerrnos; i++)
      printf("  %-16s %-6s %-13s %s: %s\n", sf_errno_name(c->errnos[i].err),
             sf_src_name(c->errnos[i].src), sf_why_name(c->errnos[i].why),
             strerror(c->errnos[i].err), sf_why_text(c->errnos[i].why));
    return 0;
  }
  printf("%-12s %-5s %s\n", "CALL", "FAILS",
         "DOCUMENTED ERRNOS (source, env: a correct call can meet it / bug: only a bug causes it)");
  for (int id = 0; id < SF_NCALLS; id++) {
    const struct sf_call_info *c = &sf_calls[id];
    printf("%-12s %-5ld", c->name, c->fail);
    for (unsigned i = 0; i < c->nerrnos; i++)
      printf(" %s(%s,%s)", sf_errno_name(c->errnos[i].err), sf_src_name(c->errnos[i].src),
             sf_why_env(c->errnos[i].why) ? "env" : "bug");
    printf("\n");
  }
  return 0;
}
