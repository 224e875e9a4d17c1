/* The fuzz targets' assertion: a broken property prints what broke and aborts, which every
 * engine (libFuzzer, AFL++, a plain replay) records as a crash. Unlike assert(), it stays on
 * under NDEBUG. */
#ifndef SF_FUZZ_CHECK_H
#define SF_FUZZ_CHECK_H

#include <stdio.h>
#include <stdlib.h>

#define FZ_CHECK(cond, ...)                                                                \
  do {                                                                                     \
    if (!(cond)) {                                                                         \
      fprintf(stderr, "INVARIANT FAILED %s:%d: %s: ", __FILE__, __LINE__, #cond);          \
      fprintf(stderr, __VA_ARGS__);                                                        \
      fputc('\n', stderr);                                                                 \
      abort();                                                                             \
    }                                                                                      \
  } while (0)

#endif
