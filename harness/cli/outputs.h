/* The report's output formats, one table of {option, writer} that explore and merge share:
 * the same options, the same checks before any work, the same writes and the same exit
 * status when one fails. A new format is one writer (report/) and one entry here. */
#ifndef SF_OUTPUTS_H
#define SF_OUTPUTS_H

#include <stdbool.h>
#include <stdio.h>

#include "report.h"

struct sf_output_format {
  const char *option; /* the long option, without "--" */
  int (*write)(const struct sf_report *r, FILE *f);
};
enum { SF_NOUTPUTS = 3 };
extern const struct sf_output_format sf_output_formats[SF_NOUTPUTS];

struct sf_outputs {
  const char *path[SF_NOUTPUTS]; /* per format: a file, "-" for stdout, or NULL */
  bool quiet;                    /* no text table on stdout */
};

/* Index of the format whose option is name, or -1. */
int sf_output_lookup(const char *name);
/* Before any work: no two options name one file, and each file can be written. 0, or -1
 * after saying why (the caller exits with USAGE). */
int sf_outputs_check(const char *verb, const struct sf_outputs *o);
/* Every output asked for, and the text table on stdout unless quiet or a format went there.
 * 0, or -1 after saying which failed (the caller exits with INTERNAL). */
int sf_outputs_write(const char *verb, const struct sf_report *r, const struct sf_outputs *o);

#endif
