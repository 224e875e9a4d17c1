/* listen.c — address parsing and the listening socket. Every failure here happens at
 * start-up: it is reported (call, address, errno) and the caller exits. */
#define _GNU_SOURCE /* SOCK_NONBLOCK, SOCK_CLOEXEC */
#include "listen.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "log.h"
#include "server.h"

void rs_close_fd(int fd, const char *what)
{
  if (close(fd) != 0) { /* EBADF, EINTR, EIO: the fd is gone all the same; don't retry */
    int err = errno;
    rs_log("close %s: %s (%s)", what, strerror(err), rs_errname(err));
  }
}

int rs_parse_listen(const char *spec, char host[RS_HOST_MAX], uint16_t *port, char *err,
                    size_t errlen)
{
  const char *h = spec, *colon;
  size_t hlen;
  if (spec[0] == '[') { /* [IPV6]:PORT */
    const char *close_br = strchr(spec, ']');
    if (close_br == NULL || close_br[1] != ':') {
      snprintf(err, errlen, "'%s': expected [IPV6]:PORT", spec);
      return -1;
    }
    h = spec + 1;
    hlen = (size_t)(close_br - h);
    colon = close_br + 1;
  } else {
    colon = strrchr(spec, ':');
    if (colon == NULL || memchr(spec, ':', (size_t)(colon - spec)) != NULL) {
      snprintf(err, errlen, "'%s': expected ADDR:PORT or [IPV6]:PORT", spec);
      return -1;
    }
    hlen = (size_t)(colon - spec);
  }
  if (hlen == 0 || hlen >= RS_HOST_MAX) {
    snprintf(err, errlen, "'%s': bad address length", spec);
    return -1;
  }
  memcpy(host, h, hlen);
  host[hlen] = '\0';

  unsigned char probe[sizeof(struct in6_addr)];
  bool bracketed = spec[0] == '[';
  if (bracketed ? inet_pton(AF_INET6, host, probe) != 1 : inet_pton(AF_INET, host, probe) != 1) {
    snprintf(err, errlen, "'%s': not a numeric %s address", host, bracketed ? "IPv6" : "IPv4");
    return -1;
  }

  const char *p = colon + 1;
  char *end;
  errno = 0;
  unsigned long v = strtoul(p, &end, 10);
  if (*p < '0' || *p > '9' || *end != '\0' || errno != 0 || v > 65535) {
    snprintf(err, errlen, "'%s': bad port '%s'", spec, p);
    return -1;
  }
  *port = (uint16_t)v;
  return 0;
}

union addr {
  struct sockaddr sa;
  struct sockaddr_in in4;
  struct sockaddr_in6 in6;
};

/* "127.0.0.1:8080" or "[::1]:8080", for messages. */
static void addr_text(char *buf, size_t n, int family, const char *host, uint16_t port)
{
  snprintf(buf, n, family == AF_INET6 ? "[%s]:%u" : "%s:%u", host, (unsigned)port);
}

#define FAIL(call)                                                                        \
  do {                                                                                    \
    int e_ = errno;                                                                       \
    snprintf(err, errlen, "%s %s: %s (%s)", call, where, strerror(e_), rs_errname(e_));    \
    goto fail;                                                                            \
  } while (0)

int rs_listen_open(const char *host, uint16_t port, uint16_t *bound_port, char *err,
                   size_t errlen)
{
  union addr a;
  socklen_t alen;
  char where[RS_HOST_MAX + 16];
  int fd = -1;

  memset(&a, 0, sizeof a);
  if (inet_pton(AF_INET, host, &a.in4.sin_addr) == 1) {
    a.in4.sin_family = AF_INET;
    a.in4.sin_port = htons(port);
    alen = sizeof a.in4;
  } else if (inet_pton(AF_INET6, host, &a.in6.sin6_addr) == 1) {
    a.in6.sin6_family = AF_INET6;
    a.in6.sin6_port = htons(port);
    alen = sizeof a.in6;
  } else {
    snprintf(err, errlen, "'%s': not a numeric IPv4 or IPv6 address", host);
    return -1;
  }
  bool any6 = a.sa.sa_family == AF_INET6 && IN6_IS_ADDR_UNSPECIFIED(&a.in6.sin6_addr);
  addr_text(where, sizeof where, a.sa.sa_family, host, port);

  fd = socket(a.sa.sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0 && errno == EAFNOSUPPORT && any6) {
    /* EAFNOSUPPORT: a kernel without IPv6. "::" means every address: IPv4's will do. */
    rs_log("warning: socket %s: %s (EAFNOSUPPORT); listening on IPv4 only", where,
           strerror(EAFNOSUPPORT));
    memset(&a, 0, sizeof a);
    a.in4.sin_family = AF_INET;
    a.in4.sin_port = htons(port);
    a.in4.sin_addr.s_addr = htonl(INADDR_ANY);
    alen = sizeof a.in4;
    any6 = false;
    addr_text(where, sizeof where, AF_INET, "0.0.0.0", port);
    fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  }
  if (fd < 0) /* EACCES, EAFNOSUPPORT, EINVAL, EMFILE, ENFILE, ENOBUFS, ENOMEM, EPROTONOSUPPORT */
    FAIL("socket");

  int one = 1, zero = 0;
  if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0) {
    /* EBADF, EFAULT, EINVAL, ENOPROTOOPT, ENOTSOCK: only a quick restart would suffer */
    int e = errno;
    rs_log("warning: setsockopt SO_REUSEADDR %s: %s (%s); going on", where, strerror(e),
           rs_errname(e));
  }
  if (any6 && setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof zero) != 0) {
    /* EBADF, EFAULT, EINVAL, ENOPROTOOPT, ENOTSOCK: IPv4 clients may not get through */
    int e = errno;
    rs_log("warning: setsockopt IPV6_V6ONLY=0 %s: %s (%s); IPv4 may not be served", where,
           strerror(e), rs_errname(e));
  }
  if (bind(fd, &a.sa, alen) != 0) /* EADDRINUSE, EACCES, EADDRNOTAVAIL, EINVAL, ... all fatal */
    FAIL("bind");
  if (listen(fd, SOMAXCONN) != 0) /* EADDRINUSE, EACCES, EBADF, ENOTSOCK, EOPNOTSUPP */
    FAIL("listen");

  *bound_port = port;
  if (port == 0) { /* the kernel chose: ask which, since nobody could connect otherwise */
    union addr got;
    socklen_t glen = sizeof got;
    if (getsockname(fd, &got.sa, &glen) != 0) /* EBADF, EFAULT, EINVAL, ENOBUFS, ENOTSOCK */
      FAIL("getsockname");
    *bound_port = ntohs(got.sa.sa_family == AF_INET6 ? got.in6.sin6_port : got.in4.sin_port);
  }
  return fd;

fail:
  if (fd >= 0)
    rs_close_fd(fd, "listening socket");
  return -1;
}
