/* The JSON Lines records of the log, formatted into a caller's buffer: pure (no I/O, no
 * allocation), shared by the shim (log.c) and the seccomp supervisor, so both write the
 * same records. */
#ifndef SF_LOGFMT_H
#define SF_LOGFMT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "decide.h"

#define SF_LOG_RECORD_MAX 1024

struct sf_logrec {
  long pid, tid;
  const struct sf_ctx *ctx;
  uint64_t n;       /* occurrence of this call */
  bool have_ret;    /* false: the result is not known (seccomp let the call continue) */
  long ret;
  int err;          /* errno when ret signals failure */
  int rule;         /* injecting rule, -1 if none */
  long long fired;  /* a for= rule's injections so far (its records are thinned out), or -1 */
  const char *site; /* MODULE+0xOFFSET */
  const char *caller; /* the site's caller, MODULE+0xOFFSET or "?" (SOCKFAULT_LOG_CONTEXT=2),
                       * or NULL: not logged */
  const char *sym;  /* nearest symbol, or NULL */
};

/* The fired member of a record by this rule: its count if a for= rule, else -1. */
long long sf_logfmt_fired(const struct sf_rulestate *st, int rule);

/* One record, "}\n" included, in buf[SF_LOG_RECORD_MAX]; returns its length, or 0 when it
 * would not fit (it is dropped whole, never written cut). String fields are escaped as
 * sf_json_escape does, each cut at a whole character after 300 bytes. */
size_t sf_logfmt_call(const struct sf_logrec *r, char *buf);
/* {"pid":…,"tid":…,"event":EVENT[,EXTRA]}\n; extra_json is raw JSON members, or NULL. */
size_t sf_logfmt_event(long pid, long tid, const char *event, const char *extra_json, char *buf);

/* s as the inside of a JSON string, at most cap bytes, cut at a whole character: '"', '\\'
 * and control bytes escaped, valid UTF-8 copied, each byte of an invalid sequence as \udcXX
 * (Python's surrogateescape), so a line is always valid JSON and a reader gets the original
 * bytes back. Returns the bytes written. */
size_t sf_json_escape(char *dst, size_t cap, const char *s);

/* The members of a process's start record: ppid, exe, rules (canonical text) and the seed
 * of each rule. */
void sf_logfmt_start(char *extra, size_t len, long ppid, const char *exe,
                     const struct sf_rulestate *st);

#endif
