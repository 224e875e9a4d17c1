/* A small JSON reader (for shim logs, replay and merge) and the string escaper every JSON
 * writer of the command uses. The reader builds a tree; depth and size are bounded. */
#ifndef SF_JSON_H
#define SF_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

enum sf_jtype { SF_JNULL, SF_JBOOL, SF_JNUM, SF_JSTR, SF_JARR, SF_JOBJ };

struct sf_json {
  enum sf_jtype type;
  bool b;
  double num;
  char *str;             /* SF_JSTR: NUL-terminated (embedded NULs are kept in len) */
  size_t len;
  struct sf_json *items; /* SF_JARR, SF_JOBJ: n values */
  char **keys;           /* SF_JOBJ: n keys */
  size_t n;
};

/* Parse one JSON text; NULL with "line L, column C: what" in err. Trailing whitespace only. */
struct sf_json *sf_json_parse(const char *text, size_t len, char *err, size_t errlen);
void sf_json_free(struct sf_json *v);

/* Member of an object by key, or NULL (also when obj is not an object). */
const struct sf_json *sf_json_get(const struct sf_json *obj, const char *key);
/* Typed member access: def when absent or of another type. */
const char *sf_json_str(const struct sf_json *obj, const char *key, const char *def);
long long sf_json_int(const struct sf_json *obj, const char *key, long long def);
bool sf_json_bool(const struct sf_json *obj, const char *key, bool def);

/* Write s (len bytes) as a JSON string literal: quotes, backslashes and control characters
 * escaped, invalid UTF-8 replaced by U+FFFD, so any bytes make valid JSON. NULL writes null. */
void sf_json_write_str(FILE *f, const char *s, size_t len);
/* The same for a name that must come back byte for byte (a path, an argument, a call
 * site): a byte of bad UTF-8 as \udcXX, which sf_json_parse reads back as that byte. Text
 * for people (stderr tails, details) goes through sf_json_write_str: U+FFFD there. */
void sf_json_write_bytes(FILE *f, const char *s);
static inline void sf_json_write_cstr(FILE *f, const char *s)
{
  sf_json_write_str(f, s, s ? __builtin_strlen(s) : 0);
}

/* Length of the valid UTF-8 sequence at s (1..4), or 0 if invalid. */
size_t sf_utf8_seq(const unsigned char *s, size_t len);
/* Write the valid UTF-8 sequence at s, or U+FFFD for an invalid byte; the bytes consumed. */
size_t sf_utf8_put(FILE *f, const unsigned char *s, size_t len);

#endif
