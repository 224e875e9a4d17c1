/* Exit statuses of the sockfault command and of the shim: one table, documented in the
 * README. A program run under the shim keeps its own statuses; these are only used when
 * sockfault itself refuses to go on. */
#ifndef SOCKFAULT_EXIT_H
#define SOCKFAULT_EXIT_H

enum sockfault_exit {
  SOCKFAULT_EXIT_OK = 0,
  SOCKFAULT_EXIT_FINDINGS = 1,  /* explore/merge: at least one finding */
  SOCKFAULT_EXIT_USAGE = 2,     /* bad command line: option, verb, value */
  SOCKFAULT_EXIT_RULE = 3,      /* bad rule, rules file or SOCKFAULT_* value (shim or CLI) */
  SOCKFAULT_EXIT_REPORT = 4,    /* unreadable or malformed report file (replay, merge) */
  SOCKFAULT_EXIT_TARGET = 5,    /* the target cannot be faulted: not found, static, no shim */
  SOCKFAULT_EXIT_BASELINE = 6,  /* explore: the unfaulted baseline run failed */
  SOCKFAULT_EXIT_INTERNAL = 7,  /* sockfault's own failure: fork, temp dir, out of memory */
  SOCKFAULT_EXIT_UNJUDGED = 8,  /* explore/merge: more than half the points not reached */
  SOCKFAULT_EXIT_NOTHING = 9,   /* explore/merge: fewer points than --require-points (1) */
};

#endif
