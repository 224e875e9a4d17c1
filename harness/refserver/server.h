/*
 * server.h — the refserver's event loop: one thread, poll(2), non-blocking sockets.
 *
 * The loop is a library so that a fuzz target or a test can drive it in-process:
 *
 *     struct rs_server srv;
 *     struct rs_config cfg = RS_CONFIG_DEFAULT;
 *     if (rs_server_open(&srv, &cfg) != 0) { puts(rs_server_error(&srv)); ... }
 *     rs_server_adopt(&srv, fd);             // e.g. one end of a socketpair
 *     while (...) rs_server_step(&srv, 0);   // one poll(2) round each
 *     rs_server_close(&srv);
 *
 * Error handling is the point of this code: every failure of a socket call after start-up
 * costs at most the one connection it concerns, never the server, and never makes the
 * loop spin. Start-up failures (socket, bind, listen) are reported by rs_server_open.
 */
#ifndef RS_SERVER_H
#define RS_SERVER_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>

#include "request.h"

#define RS_HOST_MAX 64          /* bytes of a numeric address, with its NUL */
#define RS_MAX_CONNS_DEFAULT 1024
#define RS_MAX_CONNS_LIMIT 65536

struct rs_config {
  /* Numeric IPv4 or IPv6 address to listen on ("127.0.0.1", "::1", "::"); an empty
   * string: no listening socket, connections come only from rs_server_adopt. */
  char host[RS_HOST_MAX];
  uint16_t port;                 /* 0: let the kernel choose; see rs_server_port */
  unsigned max_conns;            /* 1..RS_MAX_CONNS_LIMIT */
  bool quiet;                    /* no log lines on stderr (fuzz targets) */
  /* Signal mask to wait with (ppoll), or NULL for plain poll. A caller that blocks its
   * shutdown signals and passes a mask without them gets a race-free wake-up. */
  const sigset_t *wait_sigmask;
};

#define RS_CONFIG_DEFAULT \
  { .host = "127.0.0.1", .port = 0, .max_conns = RS_MAX_CONNS_DEFAULT, .quiet = false, \
    .wait_sigmask = NULL }

struct rs_conn;   /* one client connection: server.c */
struct pollfd;

struct rs_server {
  struct rs_config cfg;
  int listen_fd;                 /* -1: none, or closed by rs_server_stop */
  int spare_fd;                  /* /dev/null, given up to accept when out of fds */
  uint16_t port;                 /* the port actually bound */
  bool use_accept4;              /* false once accept4 said ENOSYS */
  bool stopping;                 /* rs_server_stop was called */
  unsigned nconns;               /* conns[0..nconns) are open */
  struct rs_conn **conns;        /* cfg.max_conns slots */
  struct pollfd *pfds;           /* cfg.max_conns + 1: one per conn, and the listener */
  struct rs_store *store;
  struct rs_stats stats;
  unsigned accept_streak;        /* accept failures in a row (not counting EAGAIN) */
  unsigned accept_idle;          /* "readable" listener, yet EAGAIN, in a row */
  int64_t listen_pause_until;    /* monotonic ms: don't poll the listener before */
  int64_t last_activity;         /* monotonic ms of the last accept, recv or send */
  char err[256];                 /* why rs_server_open or rs_server_step failed */
};

/* Parse "ADDR:PORT" or "[IPV6]:PORT" into host and port. Returns 0, or -1 with a
 * message in err. */
int rs_parse_listen(const char *spec, char host[RS_HOST_MAX], uint16_t *port, char *err,
                    size_t errlen);

/* Open the listener (unless cfg->host is empty) and the spare fd, allocate the
 * connection table and the store. Returns 0, or -1 with everything released and the
 * reason in rs_server_error, e.g. "bind 127.0.0.1:80: Permission denied (EACCES)". */
int rs_server_open(struct rs_server *srv, const struct rs_config *cfg);

/* One round: wait up to timeout_ms (-1: no limit; 0: don't wait) for I/O or a timer,
 * then serve what is ready. Returns 0; -1 only if poll itself is unusable (EFAULT,
 * EINVAL: a bug), with the reason in rs_server_error. An interrupting signal just ends
 * the round early. */
int rs_server_step(struct rs_server *srv, int timeout_ms);

/* Serve an already-connected stream socket (e.g. one end of a socketpair) as a client.
 * The server owns fd from this call on, even when it fails: on failure (too many
 * connections, out of memory, fcntl failed) fd is closed and -1 is returned. */
int rs_server_adopt(struct rs_server *srv, int fd);

/* Begin a graceful stop: close the listener, answer what was already received, send
 * pending replies, then close each connection. Keep calling rs_server_step until
 * rs_server_done (connections that stall are closed after RS_LINGER_MS). */
void rs_server_stop(struct rs_server *srv);
bool rs_server_done(const struct rs_server *srv);

/* Close every connection, the listener and the spare fd; free everything. */
void rs_server_close(struct rs_server *srv);

uint16_t rs_server_port(const struct rs_server *srv);
const char *rs_server_error(const struct rs_server *srv);
/* Monotonic milliseconds, the clock of last_activity. */
int64_t rs_now_ms(void);

#define RS_LINGER_MS 1000        /* how long a closing connection may take to drain */
#define RS_PAUSE_MS 100          /* listener pause after ENOBUFS, ENOMEM or an odd error */
#define RS_RETRY_PAUSE_MS 20     /* pause of an fd whose readiness keeps failing */

#endif
