/* oracle.c — the protocol of request.h, from its text (see oracle.h). Only the limits are
 * taken from request.h; framing, parsing and the store are written here again, plainly. */
#include "oracle.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_check.h"

void fz_buf_put(struct fz_buf *b, const void *data, size_t n)
{
  if (b->len + n > b->cap) {
    size_t cap = b->cap ? b->cap : 4096;
    while (cap < b->len + n)
      cap *= 2;
    char *p = realloc(b->p, cap);
    FZ_CHECK(p != NULL, "out of memory");
    b->p = p;
    b->cap = cap;
  }
  if (n > 0)
    memcpy(b->p + b->len, data, n);
  b->len += n;
}

void fz_buf_free(struct fz_buf *b)
{
  free(b->p);
  b->p = NULL;
  b->len = b->cap = 0;
}

void oracle_init(struct oracle *o, unsigned long conns_open, unsigned long conns_total)
{
  o->conns_open = conns_open;
  o->conns_total = conns_total;
  o->requests = 0;
  o->nkeys = 0;
  o->quit = false;
}

size_t oracle_keys(const struct oracle *o) { return o->nkeys; }

static struct oracle_pair *find(struct oracle *o, const char *k, size_t n)
{
  for (size_t i = 0; i < o->nkeys; i++)
    if (o->kv[i].klen == n && memcmp(o->kv[i].key, k, n) == 0)
      return &o->kv[i];
  return NULL;
}

static void ok(struct fz_buf *out, const char *t, size_t n)
{
  fz_buf_put(out, "+", 1);
  fz_buf_put(out, t, n);
  fz_buf_put(out, "\n", 1);
}

static void err(struct fz_buf *out, const char *reason)
{
  fz_buf_put(out, "-ERR ", 5);
  fz_buf_put(out, reason, strlen(reason));
  fz_buf_put(out, "\n", 1);
}

static void arity(struct fz_buf *out, const char *cmd)
{
  char t[64];
  snprintf(t, sizeof t, "wrong number of arguments for '%s'", cmd);
  err(out, t);
}

/* "name" equals the upper-case cmd, ASCII letters compared without case. */
static bool named(const char *name, size_t n, const char *cmd)
{
  if (n != strlen(cmd))
    return false;
  for (size_t i = 0; i < n; i++) {
    char c = name[i];
    if (c >= 'a' && c <= 'z')
      c = (char)(c - 32);
    if (c != cmd[i])
      return false;
  }
  return true;
}

/* A key: 1..RS_KEY_MAX bytes, no space. Replies (and returns false) when it is not. */
static bool key_ok(struct fz_buf *out, const char *cmd, const char *k, size_t n)
{
  if (n == 0 || memchr(k, ' ', n)) {
    arity(out, cmd);
    return false;
  }
  if (n > RS_KEY_MAX) {
    err(out, "key too long");
    return false;
  }
  return true;
}

/* One request line (content, without "\n" or "\r\n"): exactly one reply. */
static void request(struct oracle *o, const char *line, size_t len, struct fz_buf *out)
{
  o->requests++;
  if (len > RS_LINE_MAX) {
    err(out, "line too long");
    return;
  }
  if (len == 0) {
    err(out, "empty request");
    return;
  }
  for (size_t i = 0; i < len; i++) {
    unsigned char c = (unsigned char)line[i];
    if ((c < 0x20 && c != '\t') || c == 0x7f) {
      err(out, "invalid byte in request");
      return;
    }
  }
  size_t nlen = 0;
  while (nlen < len && line[nlen] != ' ')
    nlen++;
  bool has_arg = nlen < len;
  const char *arg = has_arg ? line + nlen + 1 : "";
  size_t alen = has_arg ? len - nlen - 1 : 0;

  if (named(line, nlen, "PING") || named(line, nlen, "STATS") || named(line, nlen, "QUIT")) {
    const char *cmd = named(line, nlen, "PING") ? "PING" : named(line, nlen, "QUIT") ? "QUIT" : "STATS";
    if (has_arg) {
      arity(out, cmd);
    } else if (cmd[0] == 'P') {
      ok(out, "PONG", 4);
    } else if (cmd[0] == 'Q') {
      ok(out, "BYE", 3);
      o->quit = true;
    } else {
      char t[160];
      int k = snprintf(t, sizeof t, "connections=%lu accepted=%lu requests=%lu keys=%zu",
                       o->conns_open, o->conns_total, o->requests, o->nkeys);
      ok(out, t, (size_t)k);
    }
  } else if (named(line, nlen, "ECHO")) {
    if (has_arg)
      ok(out, arg, alen);
    else
      arity(out, "ECHO");
  } else if (named(line, nlen, "SET")) {
    const char *sp = memchr(arg, ' ', alen);
    if (!has_arg || sp == NULL) {
      arity(out, "SET");
      return;
    }
    size_t klen = (size_t)(sp - arg), vlen = alen - klen - 1;
    if (!key_ok(out, "SET", arg, klen))
      return;
    if (vlen > RS_VALUE_MAX) {
      err(out, "value too long");
      return;
    }
    struct oracle_pair *p = find(o, arg, klen);
    if (p == NULL) {
      if (o->nkeys == RS_KEYS_MAX) {
        err(out, "too many keys");
        return;
      }
      p = &o->kv[o->nkeys++];
      memcpy(p->key, arg, klen);
      p->klen = klen;
    }
    memcpy(p->value, sp + 1, vlen);
    p->vlen = vlen;
    ok(out, "OK", 2);
  } else if (named(line, nlen, "GET") || named(line, nlen, "DEL")) {
    bool del = named(line, nlen, "DEL");
    const char *cmd = del ? "DEL" : "GET";
    if (!has_arg) {
      arity(out, cmd);
      return;
    }
    if (!key_ok(out, cmd, arg, alen))
      return;
    struct oracle_pair *p = find(o, arg, alen);
    if (p == NULL) {
      err(out, "no such key");
    } else if (!del) {
      ok(out, p->value, p->vlen);
    } else {
      *p = o->kv[--o->nkeys];
      ok(out, "OK", 2);
    }
  } else {
    char t[RS_NAME_SHOWN + 32];
    int k = snprintf(t, sizeof t, "unknown command '%.*s'",
                     (int)(nlen < RS_NAME_SHOWN ? nlen : RS_NAME_SHOWN), line);
    (void)k;
    fz_buf_put(out, "-ERR ", 5);
    fz_buf_put(out, t, strlen(t));
    fz_buf_put(out, "\n", 1);
  }
}

/* Framing: a line is the bytes before "\n", one trailing "\r" dropped. More than
 * RS_LINE_MAX content bytes: "line too long". A line too long to be held at all (its raw
 * bytes alone fill the RS_IN_CAP input buffer) is answered as soon as the buffer is full,
 * even if its "\n" never comes, and the rest of it is dropped. */
size_t oracle_stream(struct oracle *o, const char *data, size_t n, struct fz_buf *out,
                     bool *quit)
{
  unsigned long before = o->requests;
  size_t i = 0;
  while (i < n && !o->quit) {
    const char *nl = memchr(data + i, '\n', n - i);
    size_t raw = nl ? (size_t)(nl - (data + i)) : n - i; /* bytes before the "\n" */
    if (raw >= RS_IN_CAP) {
      request(o, data + i, raw, out); /* more than RS_LINE_MAX: "line too long" */
    } else if (nl != NULL) {
      size_t content = raw > 0 && data[i + raw - 1] == '\r' ? raw - 1 : raw;
      request(o, data + i, content, out);
    }
    i += raw + 1;
  }
  *quit = o->quit;
  return o->requests - before;
}

bool oracle_reply_wellformed(const char *s, size_t n)
{
  if (n < 2 || n > RS_REPLY_MAX || s[n - 1] != '\n')
    return false;
  if (s[0] != '+' && (n < 6 || memcmp(s, "-ERR ", 5) != 0))
    return false;
  for (size_t i = 0; i + 1 < n; i++) {
    unsigned char c = (unsigned char)s[i];
    if ((c < 0x20 && c != '\t') || c == 0x7f)
      return false;
  }
  return true;
}
