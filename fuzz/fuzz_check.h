/* The fuzz targets' assertion: a broken property prints what broke and aborts, which every
 * engine (libFuzzer, AFL++, a plain replay) records as a crash. Unlike assert(), it stays on
 * under NDEBUG. It is the public SOCKFAULT_FUZZ_CHECK (a macro only: no link needed). */
#ifndef SF_FUZZ_CHECK_H
#define SF_FUZZ_CHECK_H

#include "sockfault/fuzz.h"

#define FZ_CHECK(...) SOCKFAULT_FUZZ_CHECK(__VA_ARGS__)

#endif
