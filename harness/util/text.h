/* Small text helpers shared by the engine and the reports. */
#ifndef SF_TEXT_H
#define SF_TEXT_H

#include <stddef.h>

/* s with {port} and {tmp} replaced; malloc'd (NULL when out of memory). */
char *sf_subst(const char *s, int port, const char *tmp);
/* "SIGSEGV", or "signal 42". */
const char *sf_signal_name(int sig, char *buf, size_t len);

#endif
