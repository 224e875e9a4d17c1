/* A client that talks to its own loopback listener over a few connections, each opened by
 * conn_open: socket, TCP_NODELAY, connect, and on a failed connect one retry with a fresh
 * socket (a socket whose connect failed cannot be reused). With SF_BUG, a retry whose new
 * socket cannot be created releases the write buffer, and conn_open's cleanup releases it
 * again: only a connect failure followed by a socket failure — two faults — reaches the
 * double free. Prints "done" whatever happened; the rest goes to stderr. */
#include "tserver.h"

#include <netinet/tcp.h>

/* The reply, if any, was sent by this very process before we look: a connection that was
 * shed or never served has none, and 50 ms is plenty to say so. */
static int reply_ready(int fd)
{
  struct pollfd p = {.fd = fd, .events = POLLIN};
  return poll(&p, 1, 50) > 0;
}

struct conn {
  int fd;
  char *wbuf; /* the request being written */
};

static int conn_socket(void)
{
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return -1;
  int one = 1;
  if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) != 0)
    perror("setsockopt TCP_NODELAY (ignored)");
  return fd;
}

/* The first connect failed: close that socket and try once more with a new one. */
static int conn_retry(struct conn *c, const struct sockaddr_in *a)
{
  close(c->fd);
  c->fd = conn_socket();
  if (c->fd < 0) {
    perror("socket (retry)");
#ifdef SF_BUG
    free(c->wbuf); /* the retry gives up the request, but so does conn_open's cleanup */
#endif
    return -1;
  }
  if (connect(c->fd, (const struct sockaddr *)a, sizeof *a) != 0) {
    perror("connect (retry)");
    return -1;
  }
  return 0;
}

static int conn_open(struct conn *c, const struct sockaddr_in *a, int round)
{
  c->wbuf = malloc(64);
  if (!c->wbuf)
    return -1;
  snprintf(c->wbuf, 64, "PING %d\n", round);
  c->fd = conn_socket();
  if (c->fd < 0) {
    perror("socket");
    goto fail;
  }
  if (connect(c->fd, (const struct sockaddr *)a, sizeof *a) != 0) {
    perror("connect");
    if (conn_retry(c, a) != 0)
      goto fail;
  }
  return 0;
fail:
  free(c->wbuf);
  c->wbuf = NULL;
  if (c->fd >= 0)
    close(c->fd);
  c->fd = -1;
  return -1;
}

static void conn_close(struct conn *c)
{
  free(c->wbuf);
  c->wbuf = NULL;
  close(c->fd);
  c->fd = -1;
}

/* One request over a fresh connection, served by our own listener. 0 when answered. */
static int round_trip(int lfd, const struct sockaddr_in *a, int round)
{
  struct conn c;
  if (conn_open(&c, a, round) != 0)
    return -1;
  int rc = -1;
  char buf[64];
  size_t len = strlen(c.wbuf);
  int s = accept(lfd, NULL, NULL);
  if (s < 0) {
    perror("accept");
    conn_close(&c);
    return -1;
  }
  if (send(c.fd, c.wbuf, len, MSG_NOSIGNAL) != (ssize_t)len)
    perror("send (request)");
  else if (recv(s, buf, sizeof buf, 0) <= 0)
    perror("recv (request)");
  else if (send(s, "+PONG\n", 6, MSG_NOSIGNAL) != 6)
    perror("send (reply)");
  else if (!reply_ready(c.fd) || recv(c.fd, buf, sizeof buf, 0) != 6)
    perror("recv (reply)");
  else
    rc = 0;
  close(s);
  conn_close(&c);
  return rc;
}

int main(void)
{
  struct sockaddr_in a;
  int lfd = ts_listen_local(&a);
  if (lfd < 0)
    return 1;
  int answered = 0;
  for (int round = 1; round <= 3; round++)
    answered += round_trip(lfd, &a, round) == 0;
  fprintf(stderr, "%d of 3 requests answered\n", answered);
  close(lfd);
  printf("done\n");
  return 0;
}
