/*
 * oracle — the refserver protocol written again from its specification (the comment at the
 * top of harness/refserver/request.h), independently of request.c: the replies a correct
 * server sends for a byte stream. fuzz_request compares the real session with it byte for
 * byte; fuzz_faults requires what a client received under faults to be a prefix of it.
 */
#ifndef SF_FUZZ_ORACLE_H
#define SF_FUZZ_ORACLE_H

#include <stdbool.h>
#include <stddef.h>

#include "request.h"

/* Growing byte buffer for the expected replies. */
struct fz_buf {
  char *p;
  size_t len, cap;
};
void fz_buf_put(struct fz_buf *b, const void *data, size_t n);
void fz_buf_free(struct fz_buf *b);

/* The model's state; about 600 KB, so callers keep one in static storage. */
struct oracle_pair {
  size_t klen, vlen;
  char key[RS_KEY_MAX];
  char value[RS_VALUE_MAX];
};
struct oracle {
  unsigned long conns_open, conns_total, requests;
  size_t nkeys;
  bool quit;
  struct oracle_pair kv[RS_KEYS_MAX];
};

/* A fresh model: an empty store, STATS showing conns_open/conns_total connections. */
void oracle_init(struct oracle *o, unsigned long conns_open, unsigned long conns_total);

/* The replies to a whole client stream (then end of stream), appended to out. Returns the
 * number of replies; *quit tells whether the stream ended the session with QUIT. */
size_t oracle_stream(struct oracle *o, const char *data, size_t n, struct fz_buf *out,
                     bool *quit);

/* Keys stored in the model. */
size_t oracle_keys(const struct oracle *o);

/* 1 if s[0..n) is one well-formed reply line: "+text\n" or "-ERR reason\n", no control
 * byte but tab inside, at most RS_REPLY_MAX bytes. */
bool oracle_reply_wellformed(const char *s, size_t n);

#endif
