/*
 * echo-server PORT: a small TCP echo service on 127.0.0.1 that handles every socket error
 * it can meet. The example that sockfault_add_explore_test explores (see CMakeLists.txt):
 * each failure point must leave it serving, or exiting cleanly with a message when it
 * cannot start at all.
 */
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
#include <time.h>
#include <unistd.h>

#define MAX_CLIENTS 64
#define BACKOFF_MS 50

struct client {
  int fd;
  size_t len;     /* bytes read and not yet echoed */
  char out[4096];
};

static volatile sig_atomic_t stop;

static void on_stop(int sig)
{
  (void)sig;
  stop = 1;
}

static long long now_ms(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* A listening socket on 127.0.0.1:port, or -1 with "call: reason" in err. */
static int listen_on(int port, char *err, size_t errlen)
{
  const char *what = "socket";
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0)
    goto error;
  int one = 1;
  what = "setsockopt(SO_REUSEADDR)";
  if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0)
    goto error;
  struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  what = "bind";
  if (bind(fd, (struct sockaddr *)&sa, sizeof sa) != 0)
    goto error;
  what = "listen";
  if (listen(fd, 64) != 0)
    goto error;
  return fd;
error:;
  int saved = errno;
  snprintf(err, errlen, "%s: %s", what, strerror(saved));
  if (fd >= 0)
    close(fd);
  return -1;
}

/* Sends what is pending. 0 while the client is fine (EAGAIN and EINTR just wait for the
 * next poll; ENOBUFS and ENOMEM, the kernel short of memory for a moment, are tried again
 * after a short pause, a few times), -1 when it must be dropped. */
static int client_flush(struct client *c)
{
  int short_tries = 0;
  while (c->len > 0) {
    ssize_t n = send(c->fd, c->out, c->len, MSG_NOSIGNAL);
    if (n < 0 && (errno == ENOBUFS || errno == ENOMEM) && ++short_tries <= 5) {
      usleep(2000);
      continue;
    }
    if (n < 0)
      return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR ? 0 : -1;
    memmove(c->out, c->out + n, c->len - (size_t)n);
    c->len -= (size_t)n;
  }
  return 0;
}

static int client_read(struct client *c)
{
  if (c->len == sizeof c->out) /* the client does not read its echo: wait for POLLOUT */
    return 0;
  ssize_t n = read(c->fd, c->out + c->len, sizeof c->out - c->len);
  if (n < 0)
    return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR ? 0 : -1;
  if (n == 0) {
    errno = 0; /* the client closed: not an error */
    return -1;
  }
  c->len += (size_t)n;
  return client_flush(c);
}

static void client_drop(struct client *c, const char *why)
{
  if (why)
    fprintf(stderr, "echo-server: dropping client %d: %s\n", c->fd, why);
  close(c->fd); /* Linux releases the fd even when close fails: nothing to retry */
  c->fd = -1;
  c->len = 0;
}

/* Accepts what is pending. On any error but EAGAIN the listener rests for BACKOFF_MS
 * rather than spinning on a connection it cannot take now (EMFILE, ENOBUFS, ...). */
static void accept_pending(int lfd, struct client *clients, long long *resume_at)
{
  for (;;) {
    int slot = -1;
    for (int i = 0; i < MAX_CLIENTS && slot < 0; i++)
      if (clients[i].fd < 0)
        slot = i;
    if (slot < 0)
      return; /* full: the listener is not polled until a client leaves */
    int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK)
        return;
#ifdef ECHO_BUG
      /* The classic bug: any accept error ends the service. */
      perror("echo-server: accept");
      exit(1);
#endif
      fprintf(stderr, "echo-server: accept: %s (resting %d ms)\n", strerror(errno), BACKOFF_MS);
      *resume_at = now_ms() + BACKOFF_MS;
      return;
    }
    clients[slot].fd = fd;
    clients[slot].len = 0;
  }
}

int main(int argc, char **argv)
{
  char *end;
  long port = argc == 2 ? strtol(argv[1], &end, 10) : -1;
  if (argc != 2 || *end || port < 0 || port > 65535) {
    fprintf(stderr, "usage: echo-server PORT\n");
    return 2;
  }
  struct sigaction sa = {.sa_handler = on_stop}; /* no SA_RESTART: poll returns EINTR */
  sigemptyset(&sa.sa_mask);
  sigaction(SIGTERM, &sa, NULL);
  sigaction(SIGINT, &sa, NULL);
  signal(SIGPIPE, SIG_IGN);

  char err[256];
  int lfd = listen_on((int)port, err, sizeof err);
  if (lfd < 0) {
    fprintf(stderr, "echo-server: %s\n", err);
    return 1;
  }
  struct client clients[MAX_CLIENTS];
  for (int i = 0; i < MAX_CLIENTS; i++)
    clients[i].fd = -1;
  long long resume_at = 0;
  int status = 0;
  while (!stop) {
    struct pollfd pfd[MAX_CLIENTS + 1];
    int who[MAX_CLIENTS + 1];
    nfds_t n = 0;
    int timeout = 250; /* bounds the wait for a SIGTERM that lands just before poll */
    long long now = now_ms();
    if (now >= resume_at) {
      pfd[n] = (struct pollfd){.fd = lfd, .events = POLLIN};
      who[n++] = -1;
    } else if (resume_at - now < timeout) {
      timeout = (int)(resume_at - now);
    }
    for (int i = 0; i < MAX_CLIENTS; i++) {
      if (clients[i].fd < 0)
        continue;
      short ev = clients[i].len > 0 ? POLLOUT : 0;
      if (clients[i].len < sizeof clients[i].out)
        ev |= POLLIN;
      pfd[n] = (struct pollfd){.fd = clients[i].fd, .events = ev};
      who[n++] = i;
    }
    int ready = poll(pfd, n, timeout);
    if (ready < 0) {
      if (errno == EINTR)
        continue;
      fprintf(stderr, "echo-server: poll: %s\n", strerror(errno));
      status = 1;
      break;
    }
    for (nfds_t k = 0; k < n; k++) {
      if (pfd[k].revents == 0)
        continue;
      if (who[k] < 0) {
        accept_pending(lfd, clients, &resume_at);
        continue;
      }
      struct client *c = &clients[who[k]];
      int rc = 0;
      if (pfd[k].revents & (POLLIN | POLLHUP | POLLERR))
        rc = client_read(c);
      if (rc == 0 && (pfd[k].revents & POLLOUT))
        rc = client_flush(c);
      if (rc != 0)
        client_drop(c, errno ? strerror(errno) : NULL);
    }
  }
  for (int i = 0; i < MAX_CLIENTS; i++)
    if (clients[i].fd >= 0)
      client_drop(&clients[i], NULL);
  close(lfd);
  return status;
}
