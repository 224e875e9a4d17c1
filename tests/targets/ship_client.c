/* A client that ships one message to 127.0.0.1:PORT and tells its user it did. Three bugs
 * on the connect failure path, one per build:
 *   SF_BUG=1  exits 1 without a word
 *   SF_BUG=2  says "Connection timed out", whatever the error was
 *   SF_BUG=3  ignores connect's result and send's, and reports the message shipped
 * The twin names the real error and exits 1. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static const char message[] = "hello sockfault\n";

int main(int argc, char **argv)
{
  if (argc != 2) {
    fprintf(stderr, "usage: %s PORT\n", argv[0]);
    return 2;
  }
  int port = atoi(argv[1]);
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    fprintf(stderr, "ship: socket: %s\n", strerror(errno));
    return 1;
  }
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((unsigned short)port)};
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
#if SF_BUG == 1
    return 1;
#elif SF_BUG == 2
    fprintf(stderr, "ship: cannot reach 127.0.0.1:%d: Connection timed out\n", port);
    return 1;
#elif SF_BUG == 3
    /* the send below will tell */
#else
    fprintf(stderr, "ship: connect 127.0.0.1:%d: %s\n", port, strerror(errno));
    return 1;
#endif
  }
#if SF_BUG == 3
  (void)send(fd, message, sizeof message - 1, MSG_NOSIGNAL);
#else
  for (size_t off = 0; off < sizeof message - 1;) {
    ssize_t w = send(fd, message + off, sizeof message - 1 - off, MSG_NOSIGNAL);
    if (w < 0 && errno == EINTR)
      continue;
    if (w < 0) {
      fprintf(stderr, "ship: send: %s\n", strerror(errno));
      return 1;
    }
    off += (size_t)w;
  }
#endif
  close(fd);
  printf("shipped %zu bytes\n", sizeof message - 1);
  return 0;
}
