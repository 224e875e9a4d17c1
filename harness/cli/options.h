/* The option and message helpers every verb shares: one wording for a bad option, an
 * output file checked before any work, seconds parsed one way. */
#ifndef SF_OPTIONS_H
#define SF_OPTIONS_H

#include "msg.h" /* sf_err */

/* The same for a bad option, value or argument of the command line (exit 2), ending with
 * "(see 'sockfault VERB --help')" on the same line. */
void sf_opt_err(const char *verb, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Report an unknown option or missing argument the way getopt saw it; returns USAGE. */
int sf_bad_option(const char *verb, int argc, char **argv, int optind_before);
/* The value of an output option (--json FILE): "-" or a file that can be written, checked
 * before any work is done. 0, or -1 after saying why (the caller exits with USAGE). */
int sf_check_output(const char *verb, const char *opt, const char *path);
/* SECS as plain decimal digits with at most one '.', from 0.05 to 86400 (no sign, space,
 * exponent, hex, inf or nan). 0 with *ms set, or -1 after naming the bad value. */
int sf_parse_seconds(const char *verb, const char *opt, const char *s, long long *ms);

#endif
