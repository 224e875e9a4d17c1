#define _GNU_SOURCE
#include "snippets.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <stdio.h>
#include <unistd.h>

#include "sockfault/sockfault.h"

static struct sockaddr_in loopback(int port)
{
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((unsigned short)port)};
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return a;
}

static void nonblock(int fd) { fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK); }

int fixture_open(struct fixture *fx)
{
  struct sockaddr_in a = loopback(0);
  socklen_t l = sizeof a;
  fx->lfd = socket(AF_INET, SOCK_STREAM, 0);
  if (fx->lfd < 0 || bind(fx->lfd, (struct sockaddr *)&a, sizeof a) != 0 ||
      listen(fx->lfd, 128) != 0 || getsockname(fx->lfd, (struct sockaddr *)&a, &l) != 0)
    return -1;
  fx->port = ntohs(a.sin_port);
  fx->cfd = socket(AF_INET, SOCK_STREAM, 0);
  if (fx->cfd < 0 || connect(fx->cfd, (struct sockaddr *)&a, sizeof a) != 0)
    return -1;
  fx->sfd = accept(fx->lfd, NULL, NULL);
  if (fx->sfd < 0)
    return -1;
  nonblock(fx->lfd);
  nonblock(fx->cfd);
  nonblock(fx->sfd);
  return 0;
}

void fixture_drain(struct fixture *fx)
{
  char buf[4096];
  for (int i = 0; i < 1000; i++) {
    int fd = accept(fx->lfd, NULL, NULL);
    if (fd < 0)
      break;
    close(fd);
  }
  for (int i = 0; i < 1000 && recv(fx->sfd, buf, sizeof buf, MSG_DONTWAIT) > 0; i++)
    ;
  for (int i = 0; i < 1000 && recv(fx->cfd, buf, sizeof buf, MSG_DONTWAIT) > 0; i++)
    ;
}

void fixture_close(struct fixture *fx)
{
  close(fx->sfd);
  close(fx->cfd);
  close(fx->lfd);
}

static long ret_close(long r)
{
  if (r >= 0)
    close((int)r);
  return r;
}

/* A connection waiting in the listener's backlog, for accept to take. */
static void pending(struct fixture *fx)
{
  struct sockaddr_in a = loopback(fx->port);
  int c = socket(AF_INET, SOCK_STREAM, 0);
  if (c >= 0) {
    connect(c, (struct sockaddr *)&a, sizeof a);
    close(c); /* still queued: the server side exists until accepted */
  }
}

/* Bytes waiting on the server side, for the receive calls. */
static void incoming(struct fixture *fx) { (void)!send(fx->cfd, "ping", 4, 0); }

static long s_socket(struct fixture *fx) { (void)fx; return ret_close(socket(AF_INET, SOCK_STREAM, 0)); }
static long s_socketpair(struct fixture *fx)
{
  (void)fx;
  int sv[2];
  int r = socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
  if (r == 0) {
    close(sv[0]);
    close(sv[1]);
  }
  return r;
}
static long s_setsockopt(struct fixture *fx)
{
  int one = 1;
  return setsockopt(fx->cfd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof one);
}
static long s_getsockopt(struct fixture *fx)
{
  int v;
  socklen_t l = sizeof v;
  return getsockopt(fx->cfd, SOL_SOCKET, SO_TYPE, &v, &l);
}
static long s_bind(struct fixture *fx)
{
  (void)fx;
  struct sockaddr_in a = loopback(0);
  int s = socket(AF_INET, SOCK_STREAM, 0);
  long r = bind(s, (struct sockaddr *)&a, sizeof a);
  close(s);
  return r;
}
static long s_listen(struct fixture *fx)
{
  (void)fx;
  struct sockaddr_in a = loopback(0);
  int s = socket(AF_INET, SOCK_STREAM, 0);
  bind(s, (struct sockaddr *)&a, sizeof a);
  long r = listen(s, 4);
  close(s);
  return r;
}
static long s_accept(struct fixture *fx)
{
  pending(fx);
  return ret_close(accept(fx->lfd, NULL, NULL));
}
static long s_accept4(struct fixture *fx)
{
  pending(fx);
  return ret_close(accept4(fx->lfd, NULL, NULL, SOCK_CLOEXEC));
}
static long s_connect(struct fixture *fx)
{
  struct sockaddr_in a = loopback(fx->port);
  int s = socket(AF_INET, SOCK_STREAM, 0);
  long r = connect(s, (struct sockaddr *)&a, sizeof a);
  close(s);
  return r;
}
static long s_send(struct fixture *fx) { return send(fx->cfd, "x", 1, 0); }
static long s_sendto(struct fixture *fx) { return sendto(fx->cfd, "x", 1, 0, NULL, 0); }
static long s_sendmsg(struct fixture *fx)
{
  struct iovec iov = {.iov_base = "x", .iov_len = 1};
  struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1};
  return sendmsg(fx->cfd, &m, 0);
}
static long s_recv(struct fixture *fx)
{
  char b[8];
  incoming(fx);
  return recv(fx->sfd, b, sizeof b, 0);
}
static long s_recvfrom(struct fixture *fx)
{
  char b[8];
  incoming(fx);
  return recvfrom(fx->sfd, b, sizeof b, 0, NULL, NULL);
}
static long s_recvmsg(struct fixture *fx)
{
  char b[8];
  struct iovec iov = {.iov_base = b, .iov_len = sizeof b};
  struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1};
  incoming(fx);
  return recvmsg(fx->sfd, &m, 0);
}
static long s_shutdown(struct fixture *fx)
{
  (void)fx;
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0)
    return -2;
  long r = shutdown(sv[0], SHUT_RDWR);
  close(sv[0]);
  close(sv[1]);
  return r;
}
static long s_getsockname(struct fixture *fx)
{
  struct sockaddr_storage ss;
  socklen_t l = sizeof ss;
  return getsockname(fx->cfd, (struct sockaddr *)&ss, &l);
}
static long s_getpeername(struct fixture *fx)
{
  struct sockaddr_storage ss;
  socklen_t l = sizeof ss;
  return getpeername(fx->cfd, (struct sockaddr *)&ss, &l);
}
static long s_read(struct fixture *fx)
{
  char b[8];
  incoming(fx);
  return read(fx->sfd, b, sizeof b);
}
static long s_write(struct fixture *fx) { return write(fx->cfd, "x", 1); }
static long s_readv(struct fixture *fx)
{
  char b[8];
  struct iovec iov = {.iov_base = b, .iov_len = sizeof b};
  incoming(fx);
  return readv(fx->sfd, &iov, 1);
}
static long s_writev(struct fixture *fx)
{
  struct iovec iov = {.iov_base = "x", .iov_len = 1};
  return writev(fx->cfd, &iov, 1);
}
static long s_close(struct fixture *fx)
{
  (void)fx;
  int s = socket(AF_INET, SOCK_STREAM, 0);
  return close(s);
}

static const struct snippet snippets[] = {
    {"socket", s_socket},       {"socketpair", s_socketpair}, {"setsockopt", s_setsockopt},
    {"getsockopt", s_getsockopt}, {"bind", s_bind},           {"listen", s_listen},
    {"accept", s_accept},       {"accept4", s_accept4},       {"connect", s_connect},
    {"send", s_send},           {"sendto", s_sendto},         {"sendmsg", s_sendmsg},
    {"recv", s_recv},           {"recvfrom", s_recvfrom},     {"recvmsg", s_recvmsg},
    {"shutdown", s_shutdown},   {"getsockname", s_getsockname},
    {"getpeername", s_getpeername}, {"read", s_read},         {"write", s_write},
    {"readv", s_readv},         {"writev", s_writev},         {"close", s_close},
};

const struct snippet *snippet_find(const char *call)
{
  for (size_t i = 0; i < sizeof snippets / sizeof snippets[0]; i++)
    if (strcmp(snippets[i].call, call) == 0)
      return &snippets[i];
  return NULL;
}

int snippet_set_rules(const char *rules)
{
  char err[512];
  if (sockfault_set_rules(rules, err, sizeof err) == 0)
    return 0;
  fprintf(stderr, "set_rules(%s): %s\n", rules, err);
  return -1;
}
