/* log.h — the refserver's diagnostics: one line each on stderr, rate-limited per call
 * site so that a fault storm cannot flood the terminal or a test log. */
#ifndef RS_LOG_H
#define RS_LOG_H

#include <stdbool.h>

/* Print "refserver: <message>\n" on stderr. At most RS_LOG_BURST lines per call site
 * (the format string) per RS_LOG_WINDOW_MS; the rest are counted and reported once. */
void rs_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Silence rs_log entirely (fuzz targets, unit tests). */
void rs_log_set_quiet(bool quiet);

/* "EADDRINUSE" for EADDRINUSE; "errno 1234" for a value without a name. The result
 * stays valid until the next call for an unnamed value. */
const char *rs_errname(int err);

/* Log a failed call with its errno name: "recv: Connection reset by peer (ECONNRESET)".
 * what must be a string literal; each use is its own rate-limited site. Needs <string.h>. */
#define LOG_ERRNO(what, err) rs_log(what ": %s (%s)", strerror(err), rs_errname(err))

#define RS_LOG_BURST 5
#define RS_LOG_WINDOW_MS 10000

#endif
