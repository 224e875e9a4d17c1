/* server.c — the event loop: connections (reading, writing, closing) and one poll(2) per
 * round; taking new connections is accept.c.
 *
 * Three rules keep it correct under any failure of any socket call:
 *  1. A failure costs at most the connection it concerns (accept's: none at all).
 *  2. Nothing is retried in a tight loop: EINTR is retried a bounded number of times,
 *     and an fd that keeps being reported ready without making progress is paused for
 *     RS_RETRY_PAUSE_MS (a failing call may leave the readiness in place, e.g. an
 *     accept that failed without taking the pending connection).
 *  3. Every fd is closed exactly once, and a close failure is never retried.
 */
#define _GNU_SOURCE /* accept4, ppoll, MSG_NOSIGNAL, SOCK_NONBLOCK */
#include "server.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"
#include "listen.h"
#include "log.h"

#define EINTR_RETRIES 3       /* EINTR retries before leaving the call to the next round */
#define SEND_ROUNDS 8         /* send/process turns per connection per round */
#define SHORT_RETRIES 20      /* ENOBUFS/ENOMEM on one connection, in a row, before closing */

enum conn_state {
  CONN_OPEN,     /* reading requests and sending replies */
  CONN_FLUSHING, /* no more requests (QUIT, EOF, stop): send the replies, then finish */
  CONN_LINGER,   /* write side shut: drop input until EOF so that close() does not reset
                    the connection while the client still reads our last replies */
};

struct rs_conn {
  int fd;                 /* -1: closed, the slot is freed at the end of the round */
  enum conn_state state;
  bool peer_eof;          /* recv returned 0: nothing more will come */
  unsigned idle_wakeups;  /* rounds in a row reported ready that made no progress */
  unsigned short_tries;   /* recv/send failed with ENOBUFS/ENOMEM, in a row */
  int64_t pause_until;    /* don't poll before this (monotonic ms) */
  int64_t deadline;       /* close at this time (0: none) */
  struct rs_session sess;
};

int64_t rs_now_ms(void)
{
  struct timespec ts;
  if (clock_gettime(CLOCK_MONOTONIC, &ts) != 0) /* EINVAL: no monotonic clock; can't be */
    return 0;
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void set_err(struct rs_server *srv, const char *what, int err)
{
  snprintf(srv->err, sizeof srv->err, "%s: %s (%s)", what, strerror(err), rs_errname(err));
}

int rs_open_spare(bool report)
{
  int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
  if (fd < 0 && report) { /* EMFILE, ENFILE, ENOMEM, ...: without it, EMFILE pauses accept */
    int err = errno;
    LOG_ERRNO("open /dev/null (spare fd)", err);
  }
  return fd;
}

/* ---- connections --------------------------------------------------------------------- */

static void conn_close(struct rs_server *srv, struct rs_conn *c)
{
  rs_close_fd(c->fd, "connection");
  c->fd = -1;
  srv->stats.conns_open--;
}

/* Best effort: tell a client we can't serve why, then close. */
void rs_refuse(int fd)
{
  static const char msg[] = "-ERR too many connections\n";
  if (send(fd, msg, sizeof msg - 1, MSG_NOSIGNAL | MSG_DONTWAIT) < 0) {
    /* any send errno (EAGAIN, EPIPE, ECONNRESET, ...): the client only misses the reason */
  }
  rs_close_fd(fd, "refused connection");
}

/* Serve fd (connected, non-blocking). Returns 0, or -1 with fd closed. */
int rs_add_conn(struct rs_server *srv, int fd, bool tcp)
{
  if (srv->nconns >= srv->cfg.max_conns) {
    rs_log("connection limit (%u) reached: refused a connection", srv->cfg.max_conns);
    snprintf(srv->err, sizeof srv->err, "too many connections");
    rs_refuse(fd);
    return -1;
  }
  struct rs_conn *c = malloc(sizeof *c);
  if (c == NULL) { /* ENOMEM: drop this one; the listener pauses to let memory come back */
    rs_log("out of memory: dropped a connection");
    snprintf(srv->err, sizeof srv->err, "out of memory");
    srv->listen_pause_until = rs_now_ms() + RS_PAUSE_MS;
    rs_close_fd(fd, "connection");
    return -1;
  }
  int one = 1;
  if (tcp && setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) != 0) {
    /* EBADF, EFAULT, EINVAL, ENOPROTOOPT, ENOTSOCK, EOPNOTSUPP: replies may go out a
     * little later (Nagle), nothing worse */
    int err = errno;
    LOG_ERRNO("setsockopt TCP_NODELAY", err);
  }
  c->fd = fd;
  c->state = CONN_OPEN;
  c->peer_eof = false;
  c->idle_wakeups = 0;
  c->pause_until = 0;
  c->short_tries = 0;
  c->deadline = 0;
  rs_session_init(&c->sess);
  srv->conns[srv->nconns++] = c;
  srv->stats.conns_open++;
  srv->stats.conns_total++;
  srv->last_activity = rs_now_ms();
  return 0;
}

/* Free the slots of closed connections, keeping the others in order. */
static void compact(struct rs_server *srv)
{
  unsigned kept = 0;
  for (unsigned i = 0; i < srv->nconns; i++) {
    if (srv->conns[i]->fd >= 0)
      srv->conns[kept++] = srv->conns[i];
    else
      free(srv->conns[i]);
  }
  srv->nconns = kept;
}

/* One recv. Returns true if it made progress (bytes or EOF) or closed the connection. */
/* ENOBUFS, ENOMEM on recv or send: the kernel is short of memory for a moment and the
 * request is still good: pause this connection (poll would report it ready at once) and try
 * again, a bounded number of times. Returns false when it is time to give up instead. */
static bool conn_short(struct rs_conn *c, int err)
{
  if ((err != ENOBUFS && err != ENOMEM) || ++c->short_tries > SHORT_RETRIES)
    return false;
  c->pause_until = rs_now_ms() + RS_RETRY_PAUSE_MS;
  return true;
}

static bool conn_recv(struct rs_server *srv, struct rs_conn *c)
{
  char drain[512];
  size_t room = sizeof drain;
  char *buf = drain;
  if (c->state != CONN_LINGER) {
    buf = rs_session_inbuf(&c->sess, &room);
    if (room == 0 || c->state != CONN_OPEN)
      return false; /* back-pressure: replies must go out first */
  }

  ssize_t n;
  int tries = 0;
  do {
    n = recv(c->fd, buf, room, 0);
  } while (n < 0 && errno == EINTR && ++tries < EINTR_RETRIES); /* EINTR: just retry */

  if (n > 0) {
    c->short_tries = 0;
    if (c->state != CONN_LINGER)
      rs_session_received(&c->sess, (size_t)n);
    srv->last_activity = rs_now_ms();
    return true;
  }
  if (n == 0) { /* EOF: answer the complete lines we have, then close */
    c->peer_eof = true;
    if (c->state == CONN_LINGER)
      conn_close(srv, c);
    else
      c->state = CONN_FLUSHING;
    return true;
  }
  int err = errno;
  if (err == EAGAIN || err == EWOULDBLOCK || err == EINTR)
    return false; /* EAGAIN, EWOULDBLOCK: nothing yet; EINTR: too often; both: next round */
  if (conn_short(c, err))
    return false; /* ENOBUFS, ENOMEM: again after a pause */
  /* ECONNRESET, ETIMEDOUT, ECONNREFUSED, ENOTCONN, EIO, ENOMEM (20 in a row), EBADF, EFAULT,
   * EINVAL, ENOTSOCK: this connection can't be read: close it, and only it */
  LOG_ERRNO("recv", err);
#ifdef RS_PLANTED_BUG
  /* PLANTED BUG, compiled only into fuzz/'s sf_fuzz_refserver_planted, never shipped: the
   * fuzz pipeline's own test (tests/fuzz) must find it. A recv failure in the middle of a
   * request drops the connection without closing its fd; not on ECONNRESET, which a real
   * peer's reset gives: only an injected fault reaches it. */
  if (c->sess.in_len > 0 && err != ECONNRESET) {
    c->fd = -1;
    srv->stats.conns_open--;
    return true;
  }
#endif
  conn_close(srv, c);
  return true;
}

/* Send pending replies until done or the socket is full. Returns true on progress. */
static bool conn_send(struct rs_server *srv, struct rs_conn *c)
{
  bool progress = false;
  int tries = 0;
  for (;;) {
    size_t len;
    const char *data = rs_out_pending(&c->sess.out, &len);
    if (len == 0)
      return progress;
    ssize_t n = send(c->fd, data, len, MSG_NOSIGNAL);
    if (n > 0) {
      c->short_tries = 0;
      rs_out_consume(&c->sess.out, (size_t)n);
      srv->last_activity = rs_now_ms();
      progress = true;
      continue; /* ends: each turn sends bytes, or the next one fails with EAGAIN */
    }
    int err = n == 0 ? EAGAIN : errno; /* 0 for a non-empty buffer: treat as "full" */
    if (err == EINTR && ++tries < EINTR_RETRIES)
      continue; /* EINTR: nothing was sent; retry */
    if (err == EAGAIN || err == EWOULDBLOCK || err == EINTR)
      return progress; /* EAGAIN, EWOULDBLOCK: socket buffer full: wait for POLLOUT */
    if (conn_short(c, err))
      return progress; /* ENOBUFS, ENOMEM: again after a pause */
    /* EPIPE, ECONNRESET (peer gone), EACCES, EBADF, EDESTADDRREQ, EFAULT, EINVAL, EISCONN,
     * EMSGSIZE, ENOBUFS/ENOMEM (20 in a row), ENOTCONN, ENOTSOCK, EOPNOTSUPP: close this
     * one only */
    LOG_ERRNO("send", err);
    conn_close(srv, c);
    return true;
  }
}

/* Replies sent and no more requests: end the connection. */
static void conn_finish(struct rs_server *srv, struct rs_conn *c, int64_t now)
{
  if (c->peer_eof) { /* the peer is done too: nothing unread can cause a reset */
    conn_close(srv, c);
    return;
  }
  if (shutdown(c->fd, SHUT_WR) != 0) {
    /* ENOTCONN (peer already gone), EBADF, EINVAL, ENOTSOCK: no orderly end: just close */
    int err = errno;
    if (err != ENOTCONN)
      LOG_ERRNO("shutdown", err);
    conn_close(srv, c);
    return;
  }
  c->state = CONN_LINGER;
  c->deadline = now + RS_LINGER_MS;
}

/* Answer what fits, send, repeat while that frees room. Returns true on progress. */
static bool conn_pump(struct rs_server *srv, struct rs_conn *c, int64_t now)
{
  bool progress = false;
  for (int round = 0; round < SEND_ROUNDS && c->fd >= 0 && c->state != CONN_LINGER; round++) {
    if (rs_session_process(&c->sess, srv->store, &srv->stats) > 0)
      progress = true;
    if (c->sess.quit && c->state == CONN_OPEN)
      c->state = CONN_FLUSHING;
    if (!rs_session_has_output(&c->sess)) {
      if (c->state == CONN_FLUSHING)
        conn_finish(srv, c, now);
      break;
    }
    bool sent = conn_send(srv, c);
    progress = progress || sent;
    if (!sent || c->fd < 0 || rs_session_has_output(&c->sess))
      break; /* socket full (wait for POLLOUT), closed, or a partial send */
  }
  return progress;
}

static void conn_ready(struct rs_server *srv, struct rs_conn *c, short revents, int64_t now)
{
  if (revents & POLLNVAL) { /* POLLNVAL: not an open fd: a bug. Forget it; close nothing */
    rs_log("poll: fd %d is not open (POLLNVAL); dropping that connection", c->fd);
    c->fd = -1;
    srv->stats.conns_open--;
    return;
  }
  bool progress = false;
  /* POLLHUP and POLLERR: the next recv or send says what happened */
  if (revents & (POLLIN | POLLHUP | POLLERR))
    progress = conn_recv(srv, c);
  if (c->fd >= 0 && conn_pump(srv, c, now))
    progress = true;
  if (c->fd < 0 || progress) {
    c->idle_wakeups = 0;
  } else if (++c->idle_wakeups >= IDLE_WAKEUPS_MAX) {
    /* reported ready, yet each call failed without effect (e.g. a persistent EAGAIN or
     * EINTR): stop polling this fd for a moment, or poll would return at once forever */
    c->idle_wakeups = 0;
    c->pause_until = now + RS_RETRY_PAUSE_MS;
  }
}

static short conn_events(struct rs_conn *c)
{
  short ev = 0;
  if (c->state == CONN_LINGER)
    return POLLIN;
  size_t room;
  rs_session_inbuf(&c->sess, &room);
  if (c->state == CONN_OPEN && room > 0)
    ev |= POLLIN;
  if (rs_session_has_output(&c->sess))
    ev |= POLLOUT;
  return ev;
}

/* ---- the server ---------------------------------------------------------------------- */

int rs_server_open(struct rs_server *srv, const struct rs_config *cfg)
{
  memset(srv, 0, sizeof *srv);
  srv->cfg = *cfg;
  srv->listen_fd = srv->spare_fd = -1;
  srv->use_accept4 = true;
  rs_log_set_quiet(cfg->quiet);

  if (cfg->max_conns < 1 || cfg->max_conns > RS_MAX_CONNS_LIMIT) {
    snprintf(srv->err, sizeof srv->err, "max_conns %u: not in 1..%u", cfg->max_conns,
             RS_MAX_CONNS_LIMIT);
    return -1;
  }
  srv->conns = calloc(cfg->max_conns, sizeof *srv->conns);
  srv->pfds = calloc(cfg->max_conns + 1, sizeof *srv->pfds);
  srv->store = malloc(sizeof *srv->store);
  if (srv->conns == NULL || srv->pfds == NULL || srv->store == NULL) { /* ENOMEM */
    set_err(srv, "allocating the connection table", ENOMEM);
    goto fail;
  }
  rs_store_init(srv->store);

  /* The spare is what EMFILE handling gives up; without one it pauses accept instead. */
  srv->spare_fd = rs_open_spare(true);

  if (cfg->host[0] != '\0') {
    srv->listen_fd = rs_listen_open(cfg->host, cfg->port, &srv->port, srv->err, sizeof srv->err);
    if (srv->listen_fd < 0)
      goto fail;
  }
  srv->last_activity = rs_now_ms();
  return 0;

fail:
  rs_server_close(srv); /* leaves srv->err alone */
  return -1;
}

int rs_server_adopt(struct rs_server *srv, int fd)
{
  int fl = fcntl(fd, F_GETFL);
  if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) != 0) {
    /* EBADF: not an open fd (nothing to close); EINVAL: can't be. We can't serve it */
    int err = errno;
    set_err(srv, "fcntl O_NONBLOCK", err);
    if (err != EBADF)
      rs_close_fd(fd, "adopted fd");
    return -1;
  }
  return rs_add_conn(srv, fd, false);
}

static int wait_fds(struct rs_server *srv, nfds_t n, int timeout_ms)
{
  if (srv->cfg.wait_sigmask == NULL)
    return poll(srv->pfds, n, timeout_ms);
  struct timespec ts = {timeout_ms / 1000, (long)(timeout_ms % 1000) * 1000000L};
  return ppoll(srv->pfds, n, timeout_ms < 0 ? NULL : &ts, srv->cfg.wait_sigmask);
}

static int64_t min64(int64_t a, int64_t b) { return a < b ? a : b; }

int rs_server_step(struct rs_server *srv, int timeout_ms)
{
  int64_t now = rs_now_ms();
  int64_t wake = timeout_ms < 0 ? INT64_MAX : now + timeout_ms;
  unsigned polled = srv->nconns;

  for (unsigned i = 0; i < polled; i++) {
    struct rs_conn *c = srv->conns[i];
    struct pollfd *p = &srv->pfds[i];
    p->fd = c->fd;
    p->events = conn_events(c);
    p->revents = 0;
    if (c->pause_until > now) {
      p->fd = -1; /* poll ignores negative fds */
      wake = min64(wake, c->pause_until);
    }
    if (c->deadline != 0)
      wake = min64(wake, c->deadline);
  }
  struct pollfd *lp = &srv->pfds[polled];
  lp->fd = srv->listen_fd;
  lp->events = POLLIN;
  lp->revents = 0;
  if (srv->listen_fd >= 0 && srv->listen_pause_until > now) {
    lp->fd = -1;
    wake = min64(wake, srv->listen_pause_until);
  }

  int wait_ms = wake == INT64_MAX ? -1 : (int)min64(wake > now ? wake - now : 0, INT_MAX);
  if (wait_fds(srv, polled + 1, wait_ms) < 0) {
    int err = errno;
    if (err == EINTR)
      return 0; /* EINTR: a signal; the caller looks at its flags */
    if (err == ENOMEM || err == EAGAIN) {
      /* ENOMEM (EAGAIN elsewhere): no memory for poll's table: wait, then try again */
      LOG_ERRNO("poll", err);
      struct timespec ts = {0, RS_RETRY_PAUSE_MS * 1000000L};
      nanosleep(&ts, NULL);
      return 0;
    }
    set_err(srv, "poll", err); /* EFAULT, EINVAL: a bug in this loop */
    return -1;
  }

  now = rs_now_ms();
  for (unsigned i = 0; i < polled; i++) {
    struct rs_conn *c = srv->conns[i];
    if (srv->pfds[i].revents != 0 && c->fd >= 0)
      conn_ready(srv, c, srv->pfds[i].revents, now);
  }
  compact(srv);

  if (lp->fd >= 0 && lp->revents != 0) {
    if (lp->revents & POLLNVAL) { /* POLLNVAL: the listener is not open: a bug */
      rs_log("poll: listening fd %d is not open (POLLNVAL)", lp->fd);
      srv->listen_pause_until = now + RS_PAUSE_MS;
    } else {
      rs_accept_ready(srv, now); /* POLLIN, or POLLERR: accept tells */
    }
  }

  for (unsigned i = 0; i < srv->nconns; i++) {
    struct rs_conn *c = srv->conns[i];
    if (c->fd >= 0 && c->deadline != 0 && now >= c->deadline)
      conn_close(srv, c); /* a closing connection that took too long */
  }
  compact(srv);
  return 0;
}

void rs_server_stop(struct rs_server *srv)
{
  if (srv->stopping)
    return;
  srv->stopping = true;
  if (srv->listen_fd >= 0) {
    rs_close_fd(srv->listen_fd, "listening socket");
    srv->listen_fd = -1;
  }
  int64_t now = rs_now_ms();
  for (unsigned i = 0; i < srv->nconns; i++) {
    struct rs_conn *c = srv->conns[i];
    if (c->fd < 0 || c->state == CONN_LINGER)
      continue;
    c->sess.quit = true; /* no more requests: send what is answered, then close */
    c->state = CONN_FLUSHING;
    c->deadline = now + RS_LINGER_MS;
    conn_pump(srv, c, now);
  }
  compact(srv);
}

bool rs_server_done(const struct rs_server *srv) { return srv->stopping && srv->nconns == 0; }

void rs_server_close(struct rs_server *srv)
{
  for (unsigned i = 0; i < srv->nconns; i++) {
    if (srv->conns[i]->fd >= 0)
      conn_close(srv, srv->conns[i]);
    free(srv->conns[i]);
  }
  srv->nconns = 0;
  if (srv->listen_fd >= 0)
    rs_close_fd(srv->listen_fd, "listening socket");
  if (srv->spare_fd >= 0)
    rs_close_fd(srv->spare_fd, "spare fd");
  srv->listen_fd = srv->spare_fd = -1;
  free(srv->conns);
  free(srv->pfds);
  free(srv->store);
  srv->conns = NULL;
  srv->pfds = NULL;
  srv->store = NULL;
}

uint16_t rs_server_port(const struct rs_server *srv) { return srv->port; }

const char *rs_server_error(const struct rs_server *srv) { return srv->err; }
