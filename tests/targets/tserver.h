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
#include <sys/time.h> /* struct timeval: musl does not bring it in with sys/socket.h */
#include <time.h>
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

/* The start of every test server: PORT from argv, the signals, the listener; exits 1 with a
 * message when it cannot listen. */
static inline int ts_start(int argc, char **argv)
{
  int port = ts_port(argc, argv);
  ts_signals();
  int lfd = ts_listen(port);
  if (lfd < 0)
    exit(1);
  return lfd;
}

/* A listener on a free loopback port, its address in *a; -1 with a message. */
static inline int ts_listen_local(struct sockaddr_in *a)
{
  int fd = ts_listen(0);
  socklen_t l = sizeof *a;
  if (fd >= 0 && getsockname(fd, (struct sockaddr *)a, &l) != 0) {
    perror("getsockname");
    close(fd);
    return -1;
  }
  return fd;
}

/* Wait until the listener is readable or 200 ms pass (so SIGTERM is seen promptly). */
static inline int ts_wait(int lfd)
{
  struct pollfd p = {.fd = lfd, .events = POLLIN};
  return poll(&p, 1, 200);
}

static inline long long ts_ms(void)
{
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (long long)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

/* A failed recv or send worth trying again: interrupted, out of buffers for a moment, or
 * EAGAIN before the socket's 2 s timeout can have passed (after it, the peer is too slow). A
 * short pause, and at most a few times, so that a persistent failure still ends the request. */
static inline int ts_again(int *tries, long long t0)
{
  if (ts_stop || ++*tries > 5)
    return 0;
  if (errno == EINTR || errno == ENOBUFS || errno == ENOMEM ||
      (errno == EAGAIN && ts_ms() - t0 < 1900)) {
    usleep(10000);
    return 1;
  }
  return 0;
}

/* The next client of a poll-then-accept loop that shrugs off accept failures; -1 once
 * SIGTERM came. */
static inline int ts_next_client(int lfd)
{
  while (!ts_stop) {
    if (ts_wait(lfd) <= 0)
      continue;
    int c = accept(lfd, NULL, NULL);
    if (c >= 0)
      return c;
  }
  return -1;
}

/* Answer one request on c: read a line, PING -> +PONG. 0, or -1 with a message. */
static inline int ts_serve(int c)
{
  char buf[256];
  size_t n = 0;
  int tries = 0;
  long long t0 = ts_ms();
  struct timeval tv = {.tv_sec = 2};
  setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  while (n < sizeof buf - 1 && !memchr(buf, '\n', n)) {
    ssize_t r = recv(c, buf + n, sizeof buf - 1 - n, 0);
    if (r < 0 && ts_again(&tries, t0))
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
  ssize_t w;
  while ((w = send(c, reply, len, 0)) < 0 && ts_again(&tries, ts_ms()))
    ;
  if (w != (ssize_t)len) {
    perror("send");
    return -1;
  }
  return 0;
}

/* The whole correct server: listen on port, answer each connection once until SIGTERM. */
static inline int ts_serve_forever(int port)
{
  ts_signals();
  int lfd = ts_listen(port);
  if (lfd < 0)
    return 1;
  while (!ts_stop) {
    if (ts_wait(lfd) <= 0)
      continue;
    int c = accept(lfd, NULL, NULL);
    if (c < 0) {
      perror("accept");
      continue;
    }
    ts_serve(c);
    close(c);
  }
  close(lfd);
  return 0;
}

#endif
