/*
 * <sockfault/fuzz.h> — fault-schedule fuzzing of your own code: the front of each fuzz input
 * is a fault schedule that arms the preloaded shim (libsockfault.so), the rest is yours.
 * Coverage then guides both the faults and your input. Link SockFault::fuzz (CMake:
 * sockfault_add_fuzz_target) and run the target with the shim preloaded:
 *
 *   int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
 *   {
 *     size_t n;
 *     const uint8_t *rest = sockfault_fuzz_begin(data, size, &n); // faults armed
 *     my_code_under_test(rest, n);
 *     sockfault_fuzz_end();                                        // faults off
 *     SOCKFAULT_FUZZ_CHECK(my_invariants_hold(), "state after %zu bytes", n);
 *     return 0;
 *   }
 *
 * THE SCHEDULE, format 1 (SOCKFAULT_FUZZ_FORMAT). Every input decodes to a valid schedule
 * (missing bytes read as zero) and only errnos documented for a call (sockfault errnos CALL)
 * are ever injected:
 *
 *   byte 0        bits 0-2  n, the number of faults (0-7); bits 3-7 are not used by format 1
 *   n x 3 bytes   call      index into the target's call list (modulo its length)
 *                 when      bits 0-3: N = 1 + value (1..16); bit 7: every occurrence from
 *                           the Nth on ("when=N+"), else the Nth only; bits 4-6 not used.
 *                           EINTR and EAGAIN are always the Nth only: retrying them is
 *                           correct, and "from N on" would retry for ever
 *                 errno     index into the call's documented errnos, in `sockfault errnos`
 *                           order (modulo their count)
 *   the rest      the target's own input (returned by sockfault_fuzz_begin)
 *
 * The call list is the one given to sockfault_fuzz_init ("recv,send,accept4"), or every
 * call of the shim's table in its order. A corpus therefore keeps its meaning while the
 * target keeps its list; across sockfault versions it stays valid input, and the rule text
 * printed for a crash is the stable reproducer. Occurrences count from sockfault_fuzz_begin.
 *
 * THE REPRODUCER. When the process dies of a signal (abort, SIGSEGV, SIGBUS, SIGFPE,
 * SIGILL) or a sanitizer report after a sockfault_fuzz_begin, it prints to stderr
 *
 *   sockfault-fuzz: fault schedule of the input: recv:error=EIO:when=2
 *   sockfault-fuzz: reproduce: sockfault run -e 'recv:error=EIO:when=2' -- ./target CRASH-FILE
 *
 * Under `sockfault run -e RULES` (rules in SOCKFAULT or SOCKFAULT_FILE) those rules win: the
 * schedule bytes are skipped but still consumed, and RULES are re-armed at each
 * sockfault_fuzz_begin, so the printed line replays the crash from its rule text alone, and
 * edited rules (one fault removed) show which fault matters.
 *
 * THE SHIM. libsockfault.so must be preloaded (LD_PRELOAD, or AFL_PRELOAD under afl-fuzz);
 * a target that would fuzz without faults aborts with a message instead. sockfault_fuzz_init
 * with argv first re-executes the target once with the shim preloaded when it finds one
 * (SOCKFAULT_SHIM, or libsockfault.so beside the executable or in ../lib), as runners that
 * cannot set LD_PRELOAD (OSS-Fuzz) need. Sanitizer builds: clang links the ASan runtime into
 * the executable, which comes first on its own; with gcc's shared libasan, preload it first:
 * LD_PRELOAD=$(gcc -print-file-name=libasan.so):libsockfault.so.
 *
 * Threads: call these while no other thread of the target makes socket calls.
 * Built with -DSOCKFAULT_FUZZ_OFF, begin/end/init/rules become pass-through inlines.
 */
#ifndef SOCKFAULT_FUZZ_H
#define SOCKFAULT_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#ifdef __cplusplus
extern "C" {
#endif

#define SOCKFAULT_FUZZ_FORMAT 1
#define SOCKFAULT_FUZZ_MAX_FAULTS 7
#define SOCKFAULT_FUZZ_RULES_MAX 512

struct sockfault_fuzz_fault {
  const char *call;     /* the call's name, as in sockfault-rules(7) */
  int err;              /* errno value, documented for the call */
  const char *err_name; /* its name: "ECONNRESET" */
  unsigned when;        /* 1-based occurrence, 1..16 */
  int onward;           /* 1: every occurrence from `when` on */
};

struct sockfault_fuzz_schedule {
  unsigned nfaults;
  struct sockfault_fuzz_fault fault[SOCKFAULT_FUZZ_MAX_FAULTS];
  char rules[SOCKFAULT_FUZZ_RULES_MAX]; /* the faults as rule text; "" for none */
  const uint8_t *rest;                  /* the input after the schedule */
  size_t rest_size;
};

#ifndef SOCKFAULT_FUZZ_OFF
/* Optional, from LLVMFuzzerInitialize (argc/argv may be NULL): the calls a schedule picks
 * from ("recv,send,accept4"; NULL: every call of the table), the shim check (re-executing
 * with it preloaded when argv is given and a shim is found) and the crash reporter. Aborts
 * with a message naming the bad token, or saying the shim is missing. */
void sockfault_fuzz_init(int *argc, char ***argv, const char *calls);

/* Decodes the schedule at the front of data, arms the shim with it (occurrences counted
 * from here) and returns the rest of the input, its size in *rest_size. Calls
 * sockfault_fuzz_init(NULL, NULL, NULL) first if it was not called. */
const uint8_t *sockfault_fuzz_begin(const uint8_t *data, size_t size, size_t *rest_size);

/* No more faults: for the target's own checks and clean-up after the code under test. The
 * schedule stays the one a crash prints until the next sockfault_fuzz_begin. */
void sockfault_fuzz_end(void);

/* The current input's schedule, and the rules armed for it (the schedule's rule text, or
 * those given by `sockfault run`); "" before the first input. */
const struct sockfault_fuzz_schedule *sockfault_fuzz_schedule(void);
const char *sockfault_fuzz_rules(void);

/* Decodes without arming anything (no shim needed): for tools and tests. calls as for
 * sockfault_fuzz_init. Returns 0, or -1 with a one-line message in err for a bad list. */
int sockfault_fuzz_decode(struct sockfault_fuzz_schedule *s, const char *calls,
                          const uint8_t *data, size_t size, char *err, size_t errlen);

/* How many bytes at the front of data the schedule takes (1 + 3n, at most size): for a
 * target that reads its own bytes before sockfault_fuzz_begin, e.g. to set up unfaulted. */
size_t sockfault_fuzz_schedule_size(const uint8_t *data, size_t size);

/* Prints the rule text and how to reproduce to stderr (what a crash prints). */
void sockfault_fuzz_report(void);

#else
/* -DSOCKFAULT_FUZZ_OFF: the same target without faults or shim (the whole input is the
 * target's), to measure what the schedule costs (bench/fuzz_own.sh) or to fuzz plainly. */
static inline void sockfault_fuzz_init(int *argc, char ***argv, const char *calls)
{
  (void)argc, (void)argv, (void)calls;
}
static inline const uint8_t *sockfault_fuzz_begin(const uint8_t *data, size_t size,
                                                  size_t *rest_size)
{
  if (rest_size)
    *rest_size = size;
  return data;
}
static inline void sockfault_fuzz_end(void) {}
static inline const char *sockfault_fuzz_rules(void) { return ""; }
#endif

/* A target's own assertion: prints what broke, then aborts (the crash reporter adds the
 * schedule). Stays on under NDEBUG. */
#define SOCKFAULT_FUZZ_CHECK(cond, ...)                                                    \
  do {                                                                                     \
    if (!(cond)) {                                                                         \
      fprintf(stderr, "INVARIANT FAILED %s:%d: %s: ", __FILE__, __LINE__, #cond);          \
      fprintf(stderr, __VA_ARGS__);                                                        \
      fputc('\n', stderr);                                                                 \
      abort();                                                                             \
    }                                                                                      \
  } while (0)

#ifdef __cplusplus
}
#endif

#endif
