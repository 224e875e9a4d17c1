/*
 * sockfault's control API, for programs that want to steer the shim from inside (fuzz
 * targets, test harnesses). The functions live in libsockfault.so; they are declared weak
 * so a program can test for the shim: `if (sockfault_set_rules) …`.
 *
 * Changing rules is not synchronised with socket calls in other threads: call these while
 * no other thread is making socket calls.
 */
#ifndef SOCKFAULT_SOCKFAULT_H
#define SOCKFAULT_SOCKFAULT_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Replaces the active rules (the rule language of sockfault-rules(7)) and zeroes every
 * counter. Returns 0, or -1 with a one-line message in err (if errlen > 0); on error the
 * previous rules stay active. */
int sockfault_set_rules(const char *rules, char *err, size_t errlen) __attribute__((weak));

/* Zeroes the rules' counters: the next matching call is occurrence 1 again. */
void sockfault_reset(void) __attribute__((weak));

/* Failures injected since the rules were set. */
unsigned long long sockfault_injected(void) __attribute__((weak));

#ifdef __cplusplus
}
#endif

#endif
