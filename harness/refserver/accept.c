/* accept.c — taking connections off the listening socket. Every accept failure is
 * survivable: per-connection errors are skipped, resource shortages pause the listener
 * (RS_PAUSE_MS) while existing connections keep being served, and EMFILE/ENFILE use the
 * spare-fd trick. An injected failure does not take the pending connection, so a run of
 * failures pauses too: readiness that never turns into a connection must not spin. */
#define _GNU_SOURCE /* accept4, SOCK_NONBLOCK, SOCK_CLOEXEC */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "internal.h"
#include "listen.h"
#include "log.h"

#define ACCEPT_BUDGET 64    /* accepts per round, so clients can't starve each other */
#define ACCEPT_STREAK_MAX 8 /* per-connection accept failures in a row before a pause */

/* Accept one connection, non-blocking and close-on-exec. Returns its fd; -1 with errno
 * from accept; or -2 when a connection was taken but had to be dropped. */
static int accept_one(struct rs_server *srv)
{
  int fd;
  if (srv->use_accept4) {
    fd = accept4(srv->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd >= 0)
      return fd;
    if (errno == ENOSYS)
      srv->use_accept4 = false; /* ENOSYS: no accept4 in this kernel, for good */
    else if (errno != EINVAL)
      return -1;
    /* ENOSYS, EINVAL (flags refused): plain accept + fcntl; if the socket is the
     * problem, accept says so too */
  }
  fd = accept(srv->listen_fd, NULL, NULL);
  if (fd < 0)
    return -1;
  int fl = fcntl(fd, F_GETFL);
  if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) != 0 ||
      fcntl(fd, F_SETFD, FD_CLOEXEC) != 0) {
    /* EBADF, EINVAL: can't happen on a fresh fd; a blocking socket would hang the loop */
    int err = errno;
    LOG_ERRNO("fcntl on an accepted connection", err);
    rs_close_fd(fd, "connection");
    return -2;
  }
  return fd;
}

static void pause_listener(struct rs_server *srv, int64_t now, int ms)
{
  srv->listen_pause_until = now + ms;
}

/* EMFILE, ENFILE: the pending connection keeps the listener readable, so ignoring the
 * error would spin. libuv's trick: give up the spare fd and accept with it. Then, if the
 * spare can be had again, fds were not short after all (a passing or an injected error):
 * serve the connection. Otherwise refuse it and take the spare back.
 * Returns 1 when a connection was dealt with, 0 when none was pending, -1 on failure. */
static int emfile_trick(struct rs_server *srv)
{
  if (srv->spare_fd < 0)
    return -1;
  rs_close_fd(srv->spare_fd, "spare fd");
  srv->spare_fd = -1;
  int fd = accept_one(srv);
  int err = errno;
  srv->spare_fd = rs_open_spare(false);
  if (fd == -2)
    return 1;
  if (fd < 0) {
    if (srv->spare_fd < 0)
      srv->spare_fd = rs_open_spare(true);
    if (err == EAGAIN || err == EWOULDBLOCK)
      return 0; /* EAGAIN, EWOULDBLOCK: nothing pending after all */
    LOG_ERRNO("accept (with the spare fd)", err);
    return -1;
  }
  if (srv->spare_fd >= 0) {
    rs_add_conn(srv, fd, true); /* closes fd itself when it fails */
    return 1;
  }
  rs_log("out of file descriptors: refused a connection");
  rs_refuse(fd);
  srv->spare_fd = rs_open_spare(true);
  return srv->spare_fd >= 0 ? 1 : -1;
}

void rs_accept_ready(struct rs_server *srv, int64_t now)
{
  for (int i = 0; i < ACCEPT_BUDGET; i++) {
    int fd = accept_one(srv);
    if (fd >= 0 || fd == -2) {
      srv->accept_streak = srv->accept_idle = 0;
      if (fd >= 0 && rs_add_conn(srv, fd, true) != 0 && srv->listen_pause_until > now)
        return; /* out of memory: add_conn closed fd and paused the listener */
      continue;
    }
    int err = errno;
    switch (err) {
    case EAGAIN:
#if EWOULDBLOCK != EAGAIN
    case EWOULDBLOCK:
#endif
      /* EAGAIN, EWOULDBLOCK: nothing (more) pending. Readable yet nothing, in a row:
       * a stuck readiness (e.g. failures that leave the connection pending): pause */
      if (i == 0 && ++srv->accept_idle >= IDLE_WAKEUPS_MAX) {
        srv->accept_idle = 0;
        pause_listener(srv, now, RS_RETRY_PAUSE_MS);
      }
      return;
    case EINTR:
    case ECONNABORTED:
    case EPROTO:
    case EPERM:
    case ENETDOWN:
    case ENOPROTOOPT:
    case EHOSTDOWN:
#ifdef ENONET
    case ENONET:
#endif
    case EHOSTUNREACH:
    case EOPNOTSUPP:
    case ENETUNREACH:
      /* EINTR, ECONNABORTED, EPROTO, EPERM (firewall), and the network errors accept(2)
       * says to treat like EAGAIN (ENETDOWN, ENOPROTOOPT, EHOSTDOWN, ENONET, EHOSTUNREACH,
       * EOPNOTSUPP, ENETUNREACH): that connection failed, try the next. A long run of
       * them pauses the listener: an injected failure leaves the connection pending. */
      if (err != EINTR)
        LOG_ERRNO("accept", err);
      if (++srv->accept_streak >= ACCEPT_STREAK_MAX) {
        pause_listener(srv, now, RS_PAUSE_MS);
        return;
      }
      continue;
    case EMFILE:
    case ENFILE: {
      /* EMFILE, ENFILE: out of fds */
      int r = emfile_trick(srv);
      if (r == 1)
        continue;
      if (r < 0) {
        rs_log("accept: %s (%s) and no spare fd: pausing accept", strerror(err),
               rs_errname(err));
        pause_listener(srv, now, RS_PAUSE_MS);
      }
      return;
    }
    case ENOBUFS:
    case ENOMEM:
      /* ENOBUFS, ENOMEM: the kernel is short of memory: give it time; the connections
       * we have keep being served meanwhile */
      LOG_ERRNO("accept", err);
      pause_listener(srv, now, RS_PAUSE_MS);
      return;
    default:
      /* EBADF, EFAULT, EINVAL, ENOTSOCK, or undocumented: a bug if real, but a documented
       * return: log it, pause, retry later; the pending connection is served then */
      LOG_ERRNO("accept", err);
      pause_listener(srv, now, RS_PAUSE_MS);
      return;
    }
  }
}
