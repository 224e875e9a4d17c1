/* A minimal assertion kit for the C tests: every failure names file, line and values. */
#ifndef SF_CHECK_H
#define SF_CHECK_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int sf_check_failures;
static int sf_check_count;

#define CHECK(cond)                                                                       \
  do {                                                                                    \
    sf_check_count++;                                                                     \
    if (!(cond)) {                                                                        \
      fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond);            \
      sf_check_failures++;                                                                \
    }                                                                                     \
  } while (0)

#define CHECK_EQ(a, b)                                                                    \
  do {                                                                                    \
    sf_check_count++;                                                                     \
    long long a_ = (long long)(a), b_ = (long long)(b);                                   \
    if (a_ != b_) {                                                                       \
      fprintf(stderr, "%s:%d: CHECK_EQ failed: %s == %lld, %s == %lld\n", __FILE__,       \
              __LINE__, #a, a_, #b, b_);                                                  \
      sf_check_failures++;                                                                \
    }                                                                                     \
  } while (0)

#define CHECK_STR(a, b)                                                                   \
  do {                                                                                    \
    sf_check_count++;                                                                     \
    const char *a_ = (a), *b_ = (b);                                                      \
    if (a_ == NULL || b_ == NULL || strcmp(a_, b_) != 0) {                                \
      fprintf(stderr, "%s:%d: CHECK_STR failed: %s == \"%s\", expected \"%s\"\n",         \
              __FILE__, __LINE__, #a, a_ ? a_ : "(null)", b_ ? b_ : "(null)");            \
      sf_check_failures++;                                                                \
    }                                                                                     \
  } while (0)

#define CHECK_CONTAINS(hay, needle)                                                       \
  do {                                                                                    \
    sf_check_count++;                                                                     \
    const char *h_ = (hay), *n_ = (needle);                                               \
    if (h_ == NULL || strstr(h_, n_) == NULL) {                                           \
      fprintf(stderr, "%s:%d: CHECK_CONTAINS failed: \"%s\" lacks \"%s\"\n", __FILE__,    \
              __LINE__, h_ ? h_ : "(null)", n_);                                          \
      sf_check_failures++;                                                                \
    }                                                                                     \
  } while (0)

#define CHECK_DONE()                                                                      \
  do {                                                                                    \
    if (sf_check_failures) {                                                              \
      fprintf(stderr, "%d check(s) failed\n", sf_check_failures);                         \
      return 1;                                                                           \
    }                                                                                     \
    printf("all %d checks passed\n", sf_check_count);                                     \
    return 0;                                                                             \
  } while (0)

#endif
