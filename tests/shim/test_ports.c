/* The fd table's ports (shim/fdtab.c): a port= filter sees each socket's local port and its
 * peer's as the kernel gives them, through binds, connects, autobinds, accepts and fd reuse,
 * though the shim no longer asks the kernel at every call. Runs with libsockfault.so preloaded;
 * rules through the control API. The truth is asked with raw system calls, which the shim does
 * not see; so are the sockets made behind its back. Each check is a setsockopt under the rule
 * "setsockopt:error=ENOPROTOOPT:port=P": it fails exactly when P is the socket's port or its
 * peer's. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "check.h"
#include "sockfault/sockfault.h"

static void set_port_rule(int port)
{
  char rule[96], err[256];
  snprintf(rule, sizeof rule, "setsockopt:error=ENOPROTOOPT:port=%d", port);
  if (sockfault_set_rules(rule, err, sizeof err) != 0) {
    fprintf(stderr, "%s: %s\n", rule, err);
    sf_check_failures++;
  }
}

/* 1 if setsockopt on fd was failed by the port rule, 0 if it went through. */
static int matched(int fd)
{
  int one = 1;
  errno = 0;
  int r = setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof one);
  if (r != 0 && errno != ENOPROTOOPT)
    fprintf(stderr, "setsockopt(%d): %s\n", fd, strerror(errno));
  return r != 0 && errno == ENOPROTOOPT;
}

static struct sockaddr_in lo(int port)
{
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((unsigned short)port),
                          .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  return a;
}

/* The kernel's answer, asked behind the shim's back: port, or -1. */
static int raw_port(int fd, long nr)
{
  struct sockaddr_in a;
  socklen_t l = sizeof a;
  if (syscall(nr, fd, &a, &l) != 0 || a.sin_family != AF_INET)
    return -1;
  return ntohs(a.sin_port);
}
#define LOCAL(fd) raw_port(fd, SYS_getsockname)
#define PEER(fd) raw_port(fd, SYS_getpeername)

#define EXPECT(cond, what)                                                                   \
  do {                                                                                       \
    if (!(cond)) {                                                                           \
      fprintf(stderr, "%s:%d: %s\n", __FILE__, __LINE__, what);                              \
      sf_check_failures++;                                                                   \
    }                                                                                        \
  } while (0)

/* A listener on an ephemeral port (bind to port 0: the port is learned after the bind), a
 * client connected to it, the accepted end; then the peer resets the connection. */
static void tcp_connection(void)
{
  int l = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a = lo(0);
  CHECK_EQ(bind(l, (struct sockaddr *)&a, sizeof a), 0);
  CHECK_EQ(listen(l, 4), 0);
  const int lp = LOCAL(l);
  CHECK(lp > 0);
  set_port_rule(lp);
  EXPECT(matched(l), "the listener's port, bound by the kernel's choice");

  int c = socket(AF_INET, SOCK_STREAM, 0);
  EXPECT(!matched(c), "a fresh socket has no port");
  a = lo(lp);
  CHECK_EQ(connect(c, (struct sockaddr *)&a, sizeof a), 0);
  EXPECT(matched(c), "a connected socket's peer");
  int s = accept(l, NULL, NULL);
  CHECK(s >= 0);
  EXPECT(matched(s), "an accepted socket's local port");
  const int cp = LOCAL(c);
  set_port_rule(cp);
  EXPECT(matched(c), "the client's own port, bound by connect");
  EXPECT(matched(s), "the accepted socket's peer");
  EXPECT(!matched(l), "the listener has neither");

  /* The peer resets: the kernel forgets the client's peer, the shim keeps it (fdtab.c). */
  set_port_rule(lp);
  static const struct linger rst = {1, 0};
  CHECK_EQ(syscall(SYS_setsockopt, s, SOL_SOCKET, SO_LINGER, &rst, sizeof rst), 0);
  CHECK_EQ(syscall(SYS_close, s), 0);
  char b; /* up to 5 s for the reset: a loaded machine can be slow; usually the 1st look */
  for (int i = 0; i < 5000 && PEER(c) >= 0; i++)
    (void)recv(c, &b, 1, MSG_DONTWAIT), usleep(1000);
  EXPECT(PEER(c) < 0, "the reset reached the client");
  EXPECT(matched(c), "a reset connection still matches the port it was connected to");
  close(c);
  close(l);
}

/* A datagram socket is bound by its first send: the port the shim knew (0) must go. */
static void udp_autobind(void)
{
  int u = socket(AF_INET, SOCK_DGRAM, 0);
  int sink = socket(AF_INET, SOCK_DGRAM, 0);
  struct sockaddr_in a = lo(0);
  CHECK_EQ(bind(sink, (struct sockaddr *)&a, sizeof a), 0);
  const int sp = LOCAL(sink);
  set_port_rule(0);
  EXPECT(matched(u), "an unbound internet socket's port is 0, as the kernel says");
  a = lo(sp);
  CHECK_EQ(sendto(u, "x", 1, 0, (struct sockaddr *)&a, sizeof a), 1);
  const int up = LOCAL(u);
  CHECK(up > 0);
  EXPECT(!matched(u), "bound by its send: no longer port 0");
  set_port_rule(up);
  EXPECT(matched(u), "the port the send bound it to");
  set_port_rule(sp);
  EXPECT(!matched(u), "an unconnected socket has no peer");
  a = lo(sp);
  CHECK_EQ(connect(u, (struct sockaddr *)&a, sizeof a), 0);
  EXPECT(matched(u), "connected to the sink");
  close(u);
  close(sink);
}

/* fd numbers that pass from a bound socket to one the shim never saw being made: nothing of
 * the first may stick to the second, whichever way the first was closed. */
static void reuse(void)
{
  struct sockaddr_in a = lo(0);
  for (int how = 0; how < 4; how++) {
    int s = socket(AF_INET, SOCK_DGRAM, 0);
    CHECK_EQ(bind(s, (struct sockaddr *)&a, sizeof a), 0);
    const int p = LOCAL(s);
    set_port_rule(p);
    EXPECT(matched(s), "bound");
    int n = -1;
    switch (how) {
    case 0: /* close, then a socket made behind the shim's back takes the number */
      close(s);
      n = (int)syscall(SYS_socket, AF_INET, SOCK_DGRAM, 0);
      CHECK_EQ(n, s);
      break;
    case 1: /* dup2 of an unbound socket over it */
      n = (int)syscall(SYS_socket, AF_INET, SOCK_DGRAM, 0);
      CHECK_EQ(dup2(n, s), s);
      close(n);
      n = s;
      break;
    case 2: /* close_range */
      CHECK_EQ(close_range((unsigned)s, (unsigned)s, 0), 0);
      n = (int)syscall(SYS_socket, AF_INET, SOCK_DGRAM, 0);
      CHECK_EQ(n, s);
      break;
    case 3: /* a file first, then a socket, both behind the shim's back */
      close(s);
      n = (int)syscall(SYS_openat, AT_FDCWD, "/dev/null", O_WRONLY);
      CHECK_EQ(n, s);
      CHECK_EQ(write(n, "", 0), 0);
      syscall(SYS_close, n);
      n = (int)syscall(SYS_socket, AF_INET, SOCK_DGRAM, 0);
      CHECK_EQ(n, s);
      break;
    }
    EXPECT(!matched(n), "a new socket on a reused number has no port yet");
    set_port_rule(0);
    EXPECT(matched(n), "and reads as unbound");
    syscall(SYS_close, n);
  }
}

/* A raw socket's port, as the kernel gives it, is its protocol (root only: skipped else). */
static void raw_socket(void)
{
  int r = socket(AF_INET, SOCK_RAW, IPPROTO_ICMP);
  if (r < 0) {
    fprintf(stderr, "raw socket: %s (skipped)\n", strerror(errno));
    return;
  }
  CHECK_EQ(LOCAL(r), IPPROTO_ICMP);
  set_port_rule(IPPROTO_ICMP);
  EXPECT(matched(r), "a raw socket's port is its protocol, not 0");
  close(r);
}

int main(void)
{
  signal(SIGPIPE, SIG_IGN);
  if (!sockfault_set_rules) {
    fprintf(stderr, "libsockfault.so is not preloaded\n");
    return 1;
  }
  tcp_connection();
  udp_autobind();
  reuse();
  raw_socket();
  sockfault_set_rules("", NULL, 0);
  CHECK_DONE();
}
