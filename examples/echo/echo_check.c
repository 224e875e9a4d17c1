/*
 * echo-check PORT: the health check of echo-server. Connects to 127.0.0.1:PORT, sends a
 * line and expects the same line back within two seconds. Exit 0 if it came back, 1 if not.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

int main(int argc, char **argv)
{
  char *end;
  long port = argc == 2 ? strtol(argv[1], &end, 10) : -1;
  if (argc != 2 || *end || port <= 0 || port > 65535) {
    fprintf(stderr, "usage: echo-check PORT\n");
    return 2;
  }
  const char *what = "socket";
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0)
    goto error;
  struct timeval tv = {.tv_sec = 2};
  what = "setsockopt";
  if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) != 0 ||
      setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv) != 0)
    goto error;
  struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  what = "connect";
  if (connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0)
    goto error;
  char line[64], back[64];
  int len = snprintf(line, sizeof line, "ping %ld\n", (long)getpid());
  what = "send";
  if (send(fd, line, (size_t)len, MSG_NOSIGNAL) != len)
    goto error;
  size_t got = 0;
  while (got < (size_t)len) {
    ssize_t n = recv(fd, back + got, (size_t)len - got, 0);
    if (n < 0 && errno == EINTR)
      continue;
    what = "recv";
    if (n < 0)
      goto error;
    if (n == 0) {
      fprintf(stderr, "echo-check: the server closed the connection after %zu bytes\n", got);
      close(fd);
      return 1;
    }
    got += (size_t)n;
  }
  close(fd);
  if (memcmp(line, back, (size_t)len) != 0) {
    fprintf(stderr, "echo-check: the echo differs\n");
    return 1;
  }
  return 0;
error:
  fprintf(stderr, "echo-check: %s: %s\n", what, strerror(errno));
  if (fd >= 0)
    close(fd);
  return 1;
}
