/* Loading rules and the log level from what the user gave — the text of SOCKFAULT or -e,
 * the file of SOCKFAULT_FILE or -f, SOCKFAULT_LOG_LEVEL or --log-level — once, for the shim
 * and the sockfault command alike: the same size cap, the same read errors, the same
 * messages. Files are read whole with raw system calls (no stdio, no malloc): safe in the
 * shim before main. */
#ifndef SF_LOAD_H
#define SF_LOAD_H

#include <stddef.h>

#include "rules.h"

/* A rule file is at most this many bytes less one. */
#define SF_RULES_FILE_MAX (64 * 1024)

/* Parse text (NULL: none) and then the file at path (NULL: none) into rs. The file is read
 * into buf (cap bytes, SF_RULES_FILE_MAX), its length to *len when len is not NULL;
 * messages name it as label ("SOCKFAULT_FILE=x" or the path) and the text as text_origin.
 * A named FIFO is refused, never waited on; an open pipe (-f <(...): /dev/fd/N) only when
 * pipe_ok (the command reads it once and passes the rules on; in the shim only the first
 * process could read it). 0, or -1 with the reason in err. */
int sf_rules_load(const char *text, const char *text_origin, const char *path,
                  const char *label, int pipe_ok, char *buf, size_t cap, size_t *len,
                  struct sf_ruleset *rs, char *err, size_t errlen);

/* A FIFO is refused wherever a file is expected (rule files, reports read or written), never
 * waited on; one wording everywhere. mode is the path's st_mode; an open pipe (/dev/fd/N,
 * /proc/self/fd/N, /dev/stdin, /dev/stdout: -f <(...), --json >(...)) passes when pipe_ok.
 * 0 when the path may be used, else -1 with "LABEL: a FIFO (refused: ...; INSTEAD)" (no
 * "LABEL: " when label is NULL). */
int sf_fifo_check(const char *path, unsigned mode, const char *label, int pipe_ok,
                  const char *instead, char *err, size_t errlen);

/* The log level by name: 1 for "all", 0 for "faults", -1 for anything else (say then
 * "NAME='x': " SF_LOG_LEVEL_EXPECTED). */
int sf_log_level_parse(const char *name);
#define SF_LOG_LEVEL_EXPECTED "expected 'all' or 'faults'"

#endif
