/* request.c — the protocol described in request.h: line framing, parsing, the store.
 * No I/O and no allocation: every buffer is a fixed array owned by the caller. */
#include "request.h"

#include <stdio.h>
#include <string.h>

/* ---- output buffer ------------------------------------------------------------------- */

size_t rs_out_room(struct rs_out *out)
{
  if (out->head > 0) {
    memmove(out->buf, out->buf + out->head, out->len - out->head);
    out->len -= out->head;
    out->head = 0;
  }
  return sizeof out->buf - out->len;
}

const char *rs_out_pending(const struct rs_out *out, size_t *len)
{
  *len = out->len - out->head;
  return out->buf + out->head;
}

void rs_out_consume(struct rs_out *out, size_t n)
{
  size_t pending = out->len - out->head;
  out->head += n < pending ? n : pending;
  if (out->head == out->len)
    out->head = out->len = 0;
}

/* The caller made sure RS_REPLY_MAX bytes are free; pieces add up to less than that. */
static void put(struct rs_out *out, const char *data, size_t n)
{
  memcpy(out->buf + out->len, data, n);
  out->len += n;
}

static void put_str(struct rs_out *out, const char *s) { put(out, s, strlen(s)); }

static void reply_ok(struct rs_out *out, const char *text, size_t n)
{
  put(out, "+", 1);
  put(out, text, n);
  put(out, "\n", 1);
}

static void reply_err(struct rs_out *out, const char *reason)
{
  put_str(out, "-ERR ");
  put_str(out, reason);
  put(out, "\n", 1);
}

/* ---- store --------------------------------------------------------------------------- */

void rs_store_init(struct rs_store *store) { store->count = 0; }

static struct rs_entry *store_find(struct rs_store *store, const char *key, size_t len)
{
  for (size_t i = 0; i < store->count; i++) {
    struct rs_entry *e = &store->entries[i];
    if (e->key_len == len && memcmp(e->key, key, len) == 0)
      return e;
  }
  return NULL;
}

/* ---- requests ------------------------------------------------------------------------ */

/* ASCII case-insensitive comparison of a command name with an upper-case constant. */
static bool is_cmd(const char *name, size_t len, const char *upper)
{
  size_t n = strlen(upper);
  if (len != n)
    return false;
  for (size_t i = 0; i < n; i++) {
    char c = name[i];
    if (c >= 'a' && c <= 'z')
      c = (char)(c - 'a' + 'A');
    if (c != upper[i])
      return false;
  }
  return true;
}

static bool has_control_byte(const char *s, size_t n)
{
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)s[i];
    if ((c < 0x20 && c != '\t') || c == 0x7f)
      return true;
  }
  return false;
}

static void reply_arity(struct rs_out *out, const char *cmd)
{
  put_str(out, "-ERR wrong number of arguments for '");
  put_str(out, cmd);
  put_str(out, "'\n");
}

/* A command without arguments: replies and returns false if it has some. */
static bool no_arg(struct rs_out *out, const char *cmd, bool has_arg)
{
  if (has_arg)
    reply_arity(out, cmd);
  return !has_arg;
}

/* A key argument: 1..RS_KEY_MAX bytes without a space. Replies and returns false if not. */
static bool check_key(struct rs_out *out, const char *cmd, const char *key, size_t len)
{
  if (len == 0 || memchr(key, ' ', len) != NULL) {
    reply_arity(out, cmd);
    return false;
  }
  if (len > RS_KEY_MAX) {
    reply_err(out, "key too long");
    return false;
  }
  return true;
}

static void cmd_set(struct rs_store *store, const char *arg, size_t n, bool has_arg,
                    struct rs_out *out)
{
  const char *sp = has_arg ? memchr(arg, ' ', n) : NULL;
  if (sp == NULL) { /* "SET" or "SET key": the value's separator is missing */
    reply_arity(out, "SET");
    return;
  }
  size_t key_len = (size_t)(sp - arg);
  const char *value = sp + 1;
  size_t value_len = n - key_len - 1;
  if (!check_key(out, "SET", arg, key_len))
    return;
  if (value_len > RS_VALUE_MAX) {
    reply_err(out, "value too long");
    return;
  }
  struct rs_entry *e = store_find(store, arg, key_len);
  if (e == NULL) {
    if (store->count == RS_KEYS_MAX) {
      reply_err(out, "too many keys");
      return;
    }
    e = &store->entries[store->count++];
    memcpy(e->key, arg, key_len);
    e->key_len = (unsigned char)key_len;
  }
  memcpy(e->value, value, value_len);
  e->value_len = (unsigned short)value_len;
  reply_ok(out, "OK", 2);
}

static void cmd_get_del(struct rs_store *store, bool del, const char *arg, size_t n,
                        bool has_arg, struct rs_out *out)
{
  const char *cmd = del ? "DEL" : "GET";
  if (!has_arg) {
    reply_arity(out, cmd);
    return;
  }
  if (!check_key(out, cmd, arg, n))
    return;
  struct rs_entry *e = store_find(store, arg, n);
  if (e == NULL) {
    reply_err(out, "no such key");
    return;
  }
  if (!del) {
    reply_ok(out, e->value, e->value_len);
    return;
  }
  *e = store->entries[--store->count]; /* keep entries dense: move the last one here */
  reply_ok(out, "OK", 2);
}

static void cmd_stats(const struct rs_store *store, const struct rs_stats *stats,
                      struct rs_out *out)
{
  char text[160];
  int n = snprintf(text, sizeof text, "connections=%lu accepted=%lu requests=%lu keys=%zu",
                   stats->conns_open, stats->conns_total, stats->requests, store->count);
  if (n < 0 || (size_t)n >= sizeof text) /* cannot happen: four numbers fit in 160 bytes */
    n = 0;
  reply_ok(out, text, (size_t)n);
}

enum rs_req_result rs_request(struct rs_store *store, struct rs_stats *stats,
                              const char *line, size_t len, struct rs_out *out)
{
  if (rs_out_room(out) < RS_REPLY_MAX)
    return RS_REQ_NOROOM;
  stats->requests++;

  if (len > RS_LINE_MAX) {
    reply_err(out, "line too long");
    return RS_REQ_OK;
  }
  if (len == 0) {
    reply_err(out, "empty request");
    return RS_REQ_OK;
  }
  if (has_control_byte(line, len)) {
    reply_err(out, "invalid byte in request");
    return RS_REQ_OK;
  }

  const char *sp = memchr(line, ' ', len);
  size_t name_len = sp ? (size_t)(sp - line) : len;
  bool has_arg = sp != NULL;
  const char *arg = has_arg ? sp + 1 : line + len;
  size_t arg_len = has_arg ? len - name_len - 1 : 0;

  if (is_cmd(line, name_len, "PING")) {
    if (no_arg(out, "PING", has_arg))
      reply_ok(out, "PONG", 4);
  } else if (is_cmd(line, name_len, "STATS")) {
    if (no_arg(out, "STATS", has_arg))
      cmd_stats(store, stats, out);
  } else if (is_cmd(line, name_len, "QUIT")) {
    if (no_arg(out, "QUIT", has_arg)) {
      reply_ok(out, "BYE", 3);
      return RS_REQ_QUIT;
    }
  } else if (is_cmd(line, name_len, "ECHO")) {
    if (has_arg)
      reply_ok(out, arg, arg_len);
    else
      reply_arity(out, "ECHO");
  } else if (is_cmd(line, name_len, "SET")) {
    cmd_set(store, arg, arg_len, has_arg, out);
  } else if (is_cmd(line, name_len, "GET")) {
    cmd_get_del(store, false, arg, arg_len, has_arg, out);
  } else if (is_cmd(line, name_len, "DEL")) {
    cmd_get_del(store, true, arg, arg_len, has_arg, out);
  } else {
    put_str(out, "-ERR unknown command '");
    put(out, line, name_len < RS_NAME_SHOWN ? name_len : RS_NAME_SHOWN);
    put_str(out, "'\n");
  }
  return RS_REQ_OK;
}

/* ---- sessions: framing --------------------------------------------------------------- */

void rs_session_init(struct rs_session *s)
{
  s->in_len = 0;
  s->discarding = false;
  s->quit = false;
  s->out.head = s->out.len = 0;
}

char *rs_session_inbuf(struct rs_session *s, size_t *room)
{
  *room = s->quit ? 0 : sizeof s->in - s->in_len;
  return s->in + s->in_len;
}

void rs_session_received(struct rs_session *s, size_t n)
{
  size_t room = sizeof s->in - s->in_len;
  s->in_len += n < room ? n : room;
}

size_t rs_session_input(struct rs_session *s, const char *data, size_t n)
{
  size_t room;
  char *dst = rs_session_inbuf(s, &room);
  if (n > room)
    n = room;
  memcpy(dst, data, n);
  rs_session_received(s, n);
  return n;
}

bool rs_session_has_output(const struct rs_session *s) { return s->out.len > s->out.head; }

size_t rs_session_process(struct rs_session *s, struct rs_store *store, struct rs_stats *stats)
{
  size_t replies = 0;
  size_t off = 0; /* in[0..off) is handled */

  /* Each turn consumes input or stops, so the loop ends within in_len + 1 turns. */
  while (!s->quit && off < s->in_len) {
    char *start = s->in + off;
    size_t avail = s->in_len - off;
    char *nl = memchr(start, '\n', avail);

    if (s->discarding) { /* the rest of an overlong line, already answered */
      if (nl == NULL) {
        off = s->in_len;
        break;
      }
      off += (size_t)(nl - start) + 1;
      s->discarding = false;
      continue;
    }
    if (nl == NULL) {
      if (avail < sizeof s->in)
        break; /* an incomplete line: wait for more */
      /* The buffer is full without a "\n": the line is too long. Answer it now and
       * drop the rest of it as it arrives. */
      if (rs_request(store, stats, start, avail, &s->out) == RS_REQ_NOROOM)
        break;
      replies++;
      s->discarding = true;
      off = s->in_len;
      break;
    }
    size_t len = (size_t)(nl - start);
    size_t content = len > 0 && start[len - 1] == '\r' ? len - 1 : len;
    enum rs_req_result r = rs_request(store, stats, start, content, &s->out);
    if (r == RS_REQ_NOROOM)
      break; /* back-pressure: the client must read first */
    replies++;
    off += len + 1;
    if (r == RS_REQ_QUIT)
      s->quit = true;
  }
  if (s->quit)
    off = s->in_len; /* input after QUIT is never handled */
  memmove(s->in, s->in + off, s->in_len - off);
  s->in_len -= off;
  return replies;
}
