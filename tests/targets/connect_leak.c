/* A client trying each address of a service in turn (as after getaddrinfo), here two
 * addresses of its own loopback listener. With SF_BUG a failed connect moves on to the next
 * address without closing the socket: one socket leaks per failure. Prints what it got. */
#include "tserver.h"

static int connect_any(const struct sockaddr_in *addrs, int n)
{
  for (int i = 0; i < n; i++) {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
      perror("socket");
      continue;
    }
    if (connect(fd, (const struct sockaddr *)&addrs[i], sizeof addrs[i]) == 0)
      return fd;
    fprintf(stderr, "connect (address %d): %s\n", i + 1, strerror(errno));
#ifndef SF_BUG
    close(fd);
#endif
  }
  return -1;
}

int main(void)
{
  int lfd = ts_listen(0);
  if (lfd < 0)
    return 1;
  struct sockaddr_in a;
  socklen_t l = sizeof a;
  if (getsockname(lfd, (struct sockaddr *)&a, &l) != 0) {
    perror("getsockname");
    close(lfd);
    return 1;
  }
  struct sockaddr_in addrs[2] = {a, a};
  int fd = connect_any(addrs, 2);
  if (fd < 0) {
    fprintf(stderr, "no address worked\n");
    close(lfd);
    return 1;
  }
  int status = 1;
  int s = accept(lfd, NULL, NULL);
  char buf[32] = "";
  if (s < 0)
    perror("accept");
  else if (send(fd, "hello\n", 6, MSG_NOSIGNAL) != 6) /* EPIPE an error, not SIGPIPE */
    perror("send");
  else if (recv(s, buf, sizeof buf - 1, 0) != 6)
    fprintf(stderr, "recv: short or failed\n");
  else {
    printf("got: %s", buf);
    status = 0;
  }
  if (s >= 0)
    close(s);
  close(fd);
  close(lfd);
  return status;
}
