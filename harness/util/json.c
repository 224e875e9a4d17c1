/* JSON reader and string escaper (json.h). */
#define _GNU_SOURCE
#include "json.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define SF_JSON_MAX_DEPTH 64

struct sf_jp {
  const char *s, *end, *start;
  char *err;
  size_t errlen;
  int failed;
};

static void sf_jp_fail(struct sf_jp *p, const char *what)
{
  if (p->failed)
    return;
  p->failed = 1;
  long line = 1, col = 1;
  for (const char *q = p->start; q < p->s && q < p->end; q++) {
    if (*q == '\n') {
      line++;
      col = 1;
    } else {
      col++;
    }
  }
  snprintf(p->err, p->errlen, "line %ld, column %ld: %s", line, col, what);
}

static void sf_jp_ws(struct sf_jp *p)
{
  while (p->s < p->end && (*p->s == ' ' || *p->s == '\t' || *p->s == '\n' || *p->s == '\r'))
    p->s++;
}

static void sf_json_clear(struct sf_json *v)
{
  if (v->type == SF_JSTR) {
    free(v->str);
  } else if (v->type == SF_JARR || v->type == SF_JOBJ) {
    for (size_t i = 0; i < v->n; i++) {
      sf_json_clear(&v->items[i]);
      if (v->keys)
        free(v->keys[i]);
    }
    free(v->items);
    free(v->keys);
  }
  memset(v, 0, sizeof *v);
}

void sf_json_free(struct sf_json *v)
{
  if (!v)
    return;
  sf_json_clear(v);
  free(v);
}

static int sf_hex4(struct sf_jp *p, unsigned *out)
{
  if (p->end - p->s < 4) {
    sf_jp_fail(p, "truncated \\u escape");
    return -1;
  }
  unsigned v = 0;
  for (int i = 0; i < 4; i++) {
    char c = p->s[i];
    v <<= 4;
    if (c >= '0' && c <= '9')
      v |= (unsigned)(c - '0');
    else if (c >= 'a' && c <= 'f')
      v |= (unsigned)(c - 'a' + 10);
    else if (c >= 'A' && c <= 'F')
      v |= (unsigned)(c - 'A' + 10);
    else {
      sf_jp_fail(p, "bad hex digit in \\u escape");
      return -1;
    }
  }
  p->s += 4;
  *out = v;
  return 0;
}

static size_t sf_put_utf8(char *o, unsigned cp)
{
  if (cp < 0x80) {
    o[0] = (char)cp;
    return 1;
  }
  if (cp < 0x800) {
    o[0] = (char)(0xc0 | (cp >> 6));
    o[1] = (char)(0x80 | (cp & 0x3f));
    return 2;
  }
  if (cp < 0x10000) {
    o[0] = (char)(0xe0 | (cp >> 12));
    o[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
    o[2] = (char)(0x80 | (cp & 0x3f));
    return 3;
  }
  o[0] = (char)(0xf0 | (cp >> 18));
  o[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
  o[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
  o[3] = (char)(0x80 | (cp & 0x3f));
  return 4;
}

/* At the opening quote; the decoded string is never longer than its source. */
static char *sf_jp_string(struct sf_jp *p, size_t *lenp)
{
  p->s++;
  const char *q = p->s;
  while (q < p->end && *q != '"') {
    if (*q == '\\')
      q++;
    q++;
  }
  if (q >= p->end) {
    sf_jp_fail(p, "unterminated string");
    return NULL;
  }
  char *out = malloc((size_t)(q - p->s) + 1);
  if (!out) {
    sf_jp_fail(p, "out of memory");
    return NULL;
  }
  size_t n = 0;
  while (p->s < p->end && *p->s != '"') {
    unsigned char c = (unsigned char)*p->s;
    if (c < 0x20) {
      sf_jp_fail(p, "control character in string");
      free(out);
      return NULL;
    }
    if (c != '\\') {
      out[n++] = (char)c;
      p->s++;
      continue;
    }
    p->s++;
    char e = *p->s++;
    switch (e) {
    case '"': out[n++] = '"'; break;
    case '\\': out[n++] = '\\'; break;
    case '/': out[n++] = '/'; break;
    case 'b': out[n++] = '\b'; break;
    case 'f': out[n++] = '\f'; break;
    case 'n': out[n++] = '\n'; break;
    case 'r': out[n++] = '\r'; break;
    case 't': out[n++] = '\t'; break;
    case 'u': {
      unsigned cp;
      if (sf_hex4(p, &cp) != 0) {
        free(out);
        return NULL;
      }
      if (cp >= 0xd800 && cp < 0xdc00 && p->end - p->s >= 6 && p->s[0] == '\\' &&
          p->s[1] == 'u') {
        const char *save = p->s;
        unsigned lo;
        p->s += 2;
        if (sf_hex4(p, &lo) == 0 && lo >= 0xdc00 && lo < 0xe000)
          cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
        else if (p->failed) {
          free(out);
          return NULL;
        } else
          p->s = save;
      }
      if (cp >= 0xdc80 && cp < 0xdd00) { /* a byte of bad UTF-8, as the shim escapes it */
        out[n++] = (char)(cp - 0xdc00);
        break;
      }
      if (cp >= 0xd800 && cp < 0xe000)
        cp = 0xfffd; /* lone surrogate */
      n += sf_put_utf8(out + n, cp); /* \uXXXX is 6 bytes, its UTF-8 at most 4 */
      break;
    }
    default:
      sf_jp_fail(p, "bad escape in string");
      free(out);
      return NULL;
    }
  }
  p->s++; /* closing quote */
  out[n] = '\0';
  *lenp = n;
  return out;
}

static int sf_jp_value(struct sf_jp *p, struct sf_json *v, int depth);

static int sf_jp_push(struct sf_jp *p, struct sf_json *v, size_t *cap, int with_keys)
{
  if (v->n < *cap)
    return 0;
  size_t nc = *cap ? *cap * 2 : 8;
  struct sf_json *items = realloc(v->items, nc * sizeof *items);
  if (!items) {
    sf_jp_fail(p, "out of memory");
    return -1;
  }
  v->items = items;
  if (with_keys) {
    char **keys = realloc(v->keys, nc * sizeof *keys);
    if (!keys) {
      sf_jp_fail(p, "out of memory");
      return -1;
    }
    v->keys = keys;
  }
  *cap = nc;
  return 0;
}

static int sf_jp_container(struct sf_jp *p, struct sf_json *v, int depth)
{
  int obj = *p->s == '{';
  char close = obj ? '}' : ']';
  v->type = obj ? SF_JOBJ : SF_JARR;
  size_t cap = 0;
  p->s++;
  sf_jp_ws(p);
  if (p->s < p->end && *p->s == close) {
    p->s++;
    return 0;
  }
  for (;;) {
    if (sf_jp_push(p, v, &cap, obj) != 0)
      return -1;
    struct sf_json *item = &v->items[v->n];
    memset(item, 0, sizeof *item);
    if (obj) {
      sf_jp_ws(p);
      if (p->s >= p->end || *p->s != '"') {
        sf_jp_fail(p, "expected a string key");
        return -1;
      }
      size_t kl;
      char *key = sf_jp_string(p, &kl);
      if (!key)
        return -1;
      v->keys[v->n] = key;
      sf_jp_ws(p);
      if (p->s >= p->end || *p->s != ':') {
        v->n++;
        sf_jp_fail(p, "expected ':' after key");
        return -1;
      }
      p->s++;
    }
    v->n++;
    if (sf_jp_value(p, item, depth + 1) != 0)
      return -1;
    sf_jp_ws(p);
    if (p->s < p->end && *p->s == ',') {
      p->s++;
      continue;
    }
    if (p->s < p->end && *p->s == close) {
      p->s++;
      return 0;
    }
    sf_jp_fail(p, obj ? "expected ',' or '}'" : "expected ',' or ']'");
    return -1;
  }
}

static int sf_jp_number(struct sf_jp *p, struct sf_json *v)
{
  const char *q = p->s;
  if (q < p->end && *q == '-')
    q++;
  if (q >= p->end || *q < '0' || *q > '9') {
    sf_jp_fail(p, "bad number");
    return -1;
  }
  while (q < p->end && ((*q >= '0' && *q <= '9') || *q == '.' || *q == 'e' || *q == 'E' ||
                        *q == '+' || *q == '-'))
    q++;
  char buf[64];
  size_t l = (size_t)(q - p->s);
  if (l >= sizeof buf) {
    sf_jp_fail(p, "number too long");
    return -1;
  }
  memcpy(buf, p->s, l);
  buf[l] = '\0';
  char *endp;
  double d = strtod(buf, &endp);
  if (*endp != '\0' || !isfinite(d)) {
    sf_jp_fail(p, "bad number");
    return -1;
  }
  v->type = SF_JNUM;
  v->num = d;
  p->s = q;
  return 0;
}

static int sf_jp_lit(struct sf_jp *p, const char *lit)
{
  size_t l = strlen(lit);
  if ((size_t)(p->end - p->s) < l || memcmp(p->s, lit, l) != 0) {
    sf_jp_fail(p, "unexpected token");
    return -1;
  }
  p->s += l;
  return 0;
}

static int sf_jp_value(struct sf_jp *p, struct sf_json *v, int depth)
{
  if (depth > SF_JSON_MAX_DEPTH) {
    sf_jp_fail(p, "nested too deeply");
    return -1;
  }
  sf_jp_ws(p);
  if (p->s >= p->end) {
    sf_jp_fail(p, "unexpected end of input");
    return -1;
  }
  switch (*p->s) {
  case '{':
  case '[':
    return sf_jp_container(p, v, depth);
  case '"':
    v->str = sf_jp_string(p, &v->len);
    if (!v->str)
      return -1;
    v->type = SF_JSTR;
    return 0;
  case 't':
    v->type = SF_JBOOL;
    v->b = true;
    return sf_jp_lit(p, "true");
  case 'f':
    v->type = SF_JBOOL;
    return sf_jp_lit(p, "false");
  case 'n':
    v->type = SF_JNULL;
    return sf_jp_lit(p, "null");
  default:
    return sf_jp_number(p, v);
  }
}

struct sf_json *sf_json_parse(const char *text, size_t len, char *err, size_t errlen)
{
  struct sf_jp p = {text, text + len, text, err, errlen, 0};
  struct sf_json *v = calloc(1, sizeof *v);
  if (!v) {
    snprintf(err, errlen, "out of memory");
    return NULL;
  }
  if (sf_jp_value(&p, v, 0) == 0) {
    sf_jp_ws(&p);
    if (p.s == p.end)
      return v;
    sf_jp_fail(&p, "trailing characters after the value");
  }
  sf_json_free(v);
  return NULL;
}

const struct sf_json *sf_json_get(const struct sf_json *obj, const char *key)
{
  if (!obj || obj->type != SF_JOBJ)
    return NULL;
  for (size_t i = 0; i < obj->n; i++)
    if (strcmp(obj->keys[i], key) == 0)
      return &obj->items[i];
  return NULL;
}

const char *sf_json_str(const struct sf_json *obj, const char *key, const char *def)
{
  const struct sf_json *v = sf_json_get(obj, key);
  return v && v->type == SF_JSTR ? v->str : def;
}

long long sf_json_int(const struct sf_json *obj, const char *key, long long def)
{
  const struct sf_json *v = sf_json_get(obj, key);
  if (!v || v->type != SF_JNUM || v->num < -9.0e18 || v->num > 9.0e18)
    return def;
  return (long long)v->num;
}

bool sf_json_bool(const struct sf_json *obj, const char *key, bool def)
{
  const struct sf_json *v = sf_json_get(obj, key);
  return v && v->type == SF_JBOOL ? v->b : def;
}

size_t sf_utf8_put(FILE *f, const unsigned char *s, size_t len)
{
  size_t k = sf_utf8_seq(s, len);
  if (k == 0) {
    fputs("\xef\xbf\xbd", f); /* U+FFFD */
    return 1;
  }
  fwrite(s, 1, k, f);
  return k;
}

size_t sf_utf8_seq(const unsigned char *s, size_t len)
{
  unsigned char c = s[0];
  size_t need;
  uint32_t cp;
  if (c < 0x80)
    return 1;
  if (c >= 0xc2 && c <= 0xdf) {
    need = 2;
    cp = c & 0x1f;
  } else if (c >= 0xe0 && c <= 0xef) {
    need = 3;
    cp = c & 0x0f;
  } else if (c >= 0xf0 && c <= 0xf4) {
    need = 4;
    cp = c & 0x07;
  } else {
    return 0;
  }
  if (len < need)
    return 0;
  for (size_t i = 1; i < need; i++) {
    if ((s[i] & 0xc0) != 0x80)
      return 0;
    cp = (cp << 6) | (s[i] & 0x3f);
  }
  if ((need == 3 && (cp < 0x800 || (cp >= 0xd800 && cp < 0xe000))) ||
      (need == 4 && (cp < 0x10000 || cp > 0x10ffff)))
    return 0;
  return need;
}

static void sf_json_write_any(FILE *f, const char *s, size_t len, bool exact);

void sf_json_write_str(FILE *f, const char *s, size_t len) { sf_json_write_any(f, s, len, false); }

void sf_json_write_bytes(FILE *f, const char *s)
{
  sf_json_write_any(f, s, s ? strlen(s) : 0, true);
}

static void sf_json_write_any(FILE *f, const char *s, size_t len, bool exact)
{
  if (!s) {
    fputs("null", f);
    return;
  }
  const unsigned char *u = (const unsigned char *)s;
  fputc('"', f);
  for (size_t i = 0; i < len;) {
    unsigned char c = u[i];
    if (c == '"' || c == '\\') {
      fputc('\\', f);
      fputc(c, f);
      i++;
    } else if (c == '\n') {
      fputs("\\n", f);
      i++;
    } else if (c == '\t') {
      fputs("\\t", f);
      i++;
    } else if (c < 0x20 || c == 0x7f) {
      fprintf(f, "\\u%04x", c);
      i++;
    } else {
      size_t k = sf_utf8_seq(u + i, len - i);
      if (k == 0) {
        if (exact)
          fprintf(f, "\\u%04x", 0xdc00 + c); /* read back as the byte itself */
        else
          fputs("\\ufffd", f);
        i++;
      } else {
        fwrite(u + i, 1, k, f);
        i += k;
      }
    }
  }
  fputc('"', f);
}
