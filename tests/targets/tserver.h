/* The skeleton the test servers share: a loopback listener, SIGTERM handling, and the line
 * protocol (PING -> +PONG). Each server's own file holds its accept loop and its one bug. */
#ifndef TSERVER_H
#define TSERVER_H

#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static volatile sig_atomic_t ts_stop;

static void ts_on_term(int sig)
{
  (void)sig;
  ts_stop = 1;
}

/* SIGTERM ends the loop (no SA_RESTART: a blocked call returns EINTR); SIGPIPE ignored. */
static inline void ts_signals(void)
{
  struct sigaction sa = {.sa_handler = ts_on_term};
  sigemptyset(&sa.sa_mask);
  sigaction(SIGTERM, &sa, NULL);
  sigaction(SIGINT, &sa, NULL);
  signal(SIGPIPE, SIG_IGN);
}

static inline int ts_port(int argc, char **argv)
{
  if (argc != 2 || atoi(argv[1]) <= 0 || atoi(argv[1]) > 65535) {
    fprintf(stderr, "usage: %s PORT\n", argv[0]);
    exit(2);
  }
  return atoi(argv[1]);
}

static inline struct sockaddr_in ts_addr(int port)
{
  struct sockaddr_in a;
  memset(&a, 0, sizeof a);
  a.sin_family = AF_INET;
  a.sin_port = htons((unsigned short)port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return a;
}

/* socket, SO_REUSEADDR, bind, listen; -1 with a message, nothing left open. */
static inline int ts_listen(int port)
{
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    perror("socket");
    return -1;
  }
  int one = 1;
  struct sockaddr_in a = ts_addr(port);
  if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0) {
    perror("setsockopt SO_REUSEADDR");
    goto fail;
  }
  if (bind(fd, (struct sockaddr *)&a, sizeof a) != 0) {
    perror("bind");
    goto fail;
  }
  if (listen(fd, 64) != 0) {
    perror("listen");
    goto fail;
  }
  return fd;
fail:
  close(fd);
  return -1;
}

/* Wait until the listener is readable or 200 ms pass (so SIGTERM is seen promptly). */
static inline int ts_wait(int lfd)
{
  struct pollfd p = {.fd = lfd, .events = POLLIN};
  return poll(&p, 1, 200);
}

/* Answer one request on c: read a line, PING -> +PONG. 0, or -1 with a message. */
static inline int ts_serve(int c)
{
  char buf[256];
  size_t n = 0;
  struct timeval tv = {.tv_sec = 2};
  setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  while (n < sizeof buf - 1 && !memchr(buf, '\n', n)) {
    ssize_t r = recv(c, buf + n, sizeof buf - 1 - n, 0);
    if (r < 0 && errno == EINTR && !ts_stop)
      continue;
    if (r < 0) {
      perror("recv");
      return -1;
    }
    if (r == 0)
      return -1;
    n += (size_t)r;
  }
  static const char pong[] = "+PONG\n", err[] = "-ERR\n";
  const char *reply = strncmp(buf, "PING", 4) == 0 ? pong : err;
  size_t len = strlen(reply);
  if (send(c, reply, len, 0) != (ssize_t)len) {
    perror("send");
    return -1;
  }
  return 0;
}

#endif
