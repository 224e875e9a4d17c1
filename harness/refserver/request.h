/*
 * request.h — the refserver protocol: framing and request handling, pure (no I/O).
 * Fuzz targets and unit tests call these functions directly.
 *
 * PROTOCOL
 *
 * A client sends request lines. A line ends with "\n"; one "\r" just before the "\n" is
 * dropped, so "\r\n" works too. The server answers EVERY request line with exactly one
 * reply line, in request order, ending with "\n":
 *
 *     reply   = ok / error
 *     ok      = "+" text "\n"                  success
 *     error   = "-ERR " reason "\n"            failure; the connection stays usable
 *
 * A request is a command name (ASCII, case-insensitive) followed by its arguments, each
 * preceded by exactly ONE space. key is 1..RS_KEY_MAX bytes without a space; text and
 * value are the whole rest of the line (spaces included, possibly empty).
 *
 *     PING                  +PONG
 *     ECHO <text>           +<text>
 *     SET <key> <value>     +OK
 *     GET <key>             +<value>        or  -ERR no such key
 *     DEL <key>             +OK             or  -ERR no such key
 *     STATS                 +connections=<open> accepted=<total> requests=<n> keys=<n>
 *     QUIT                  +BYE, then the server closes the connection (later input
 *                           on that connection is not read)
 *
 * Errors (reason texts are stable; tests match them):
 *     -ERR empty request                       the line is empty
 *     -ERR unknown command '<name>'            name cut to RS_NAME_SHOWN bytes
 *     -ERR wrong number of arguments for '<CMD>'
 *     -ERR invalid byte in request             a control byte (0x00-0x1f or 0x7f, tab allowed)
 *     -ERR line too long                       more than RS_LINE_MAX bytes before the
 *                                              "\n" (or "\r\n"): the line is discarded up to
 *                                              its "\n", with this one reply
 *     -ERR key too long                        more than RS_KEY_MAX bytes
 *     -ERR value too long                      more than RS_VALUE_MAX bytes
 *     -ERR too many keys                       SET of a new key with RS_KEYS_MAX stored
 *     -ERR too many connections                sent by the server, unasked, to a
 *                                              connection over --max-conns, then closed
 *
 * "requests" in STATS counts every reply to a request line, errors included. A final
 * line without "\n" when the client closes is not a request and gets no reply.
 *
 * All storage is fixed-size: a session holds one line of input and a bounded output
 * buffer; when the output buffer cannot take a reply of the largest size, the session
 * stops taking input until the client reads (back-pressure), so nothing grows.
 */
#ifndef RS_REQUEST_H
#define RS_REQUEST_H

#include <stdbool.h>
#include <stddef.h>

#define RS_LINE_MAX 1024   /* bytes of a request line, without "\n" or "\r\n" */
#define RS_KEY_MAX 64      /* bytes of a key */
#define RS_VALUE_MAX 512   /* bytes of a value */
#define RS_KEYS_MAX 1024   /* keys stored at once */
#define RS_NAME_SHOWN 32   /* bytes of an unknown command name echoed in the error */

/* The longest reply line: "+" + an ECHO text (shorter than RS_LINE_MAX) + "\n". */
#define RS_REPLY_MAX (RS_LINE_MAX + 64)
/* Input buffer: a whole line of RS_LINE_MAX bytes plus "\r\n". */
#define RS_IN_CAP (RS_LINE_MAX + 2)
/* Output buffer: a few replies, so pipelined requests are not answered one by one. */
#define RS_OUT_CAP (4 * RS_REPLY_MAX)

/* The key/value store: fixed arrays, linear search (RS_KEYS_MAX is small). */
struct rs_entry {
  unsigned char key_len;
  unsigned short value_len;
  char key[RS_KEY_MAX];
  char value[RS_VALUE_MAX];
};
struct rs_store {
  size_t count;                     /* entries[0..count) are in use */
  struct rs_entry entries[RS_KEYS_MAX];
};

/* Counters shown by STATS. The server keeps the connection counts; rs_request counts
 * requests. */
struct rs_stats {
  unsigned long conns_open;
  unsigned long conns_total;
  unsigned long requests;
};

/* Pending output: bytes buf[head..len) are still to be sent. */
struct rs_out {
  size_t head;
  size_t len;
  char buf[RS_OUT_CAP];
};

/* One connection's protocol state. */
struct rs_session {
  size_t in_len;      /* bytes of in[] received and not yet handled */
  bool discarding;    /* inside an overlong line: drop input up to its "\n" */
  bool quit;          /* QUIT handled: no more input is taken */
  char in[RS_IN_CAP];
  struct rs_out out;
};

enum rs_req_result {
  RS_REQ_NOROOM = -1, /* out has less than RS_REPLY_MAX bytes free: nothing was done */
  RS_REQ_OK = 0,      /* one reply appended */
  RS_REQ_QUIT = 1,    /* "+BYE" appended: close the connection once it is sent */
};

void rs_store_init(struct rs_store *store);

/* Handle one request line (without its "\n"; a trailing "\r" is NOT stripped here) and
 * append exactly one reply line to out. line may hold any bytes, len any size. */
enum rs_req_result rs_request(struct rs_store *store, struct rs_stats *stats,
                              const char *line, size_t len, struct rs_out *out);

/* Bytes free at the end of out (compacting it first). */
size_t rs_out_room(struct rs_out *out);
/* Pending bytes and their count; mark n of them as sent. */
const char *rs_out_pending(const struct rs_out *out, size_t *len);
void rs_out_consume(struct rs_out *out, size_t n);

void rs_session_init(struct rs_session *s);
/* Where to put received bytes and how many fit (0: none wanted now, because of QUIT or
 * back-pressure). After writing n bytes there, call rs_session_received(s, n). */
char *rs_session_inbuf(struct rs_session *s, size_t *room);
void rs_session_received(struct rs_session *s, size_t n);
/* Copy up to n bytes of data into the input buffer; returns how many were taken. */
size_t rs_session_input(struct rs_session *s, const char *data, size_t n);
/* Handle every complete line in the input buffer for which the output has room, and an
 * overlong line; returns the number of replies appended. Call again after output was
 * sent: lines held back by back-pressure are handled then. */
size_t rs_session_process(struct rs_session *s, struct rs_store *store, struct rs_stats *stats);
/* True while replies are waiting to be sent. */
bool rs_session_has_output(const struct rs_session *s);

#endif
