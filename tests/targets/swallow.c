/* Sends a message through a socket pair and prints what arrives. With SF_BUG a failed recv
 * is taken for end of input: nothing is printed and the program exits 0 — the error is
 * swallowed (explore's 'silent'). Without, it reports the error and exits 1. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int main(void)
{
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) {
    perror("socketpair");
    return 1;
  }
  static const char msg[] = "hello through a socket pair\n";
  /* MSG_NOSIGNAL: an EPIPE is an error to report, not a SIGPIPE death */
  if (send(sv[0], msg, sizeof msg - 1, MSG_NOSIGNAL) != (ssize_t)(sizeof msg - 1)) {
    perror("send");
    return 1;
  }
  if (shutdown(sv[0], SHUT_WR) != 0) { /* else the reader would wait for more forever */
    perror("shutdown");
    return 1;
  }
  char buf[128];
  size_t got = 0;
  for (;;) {
    ssize_t n = recv(sv[1], buf + got, sizeof buf - 1 - got, 0);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0) {
#ifdef SF_BUG
      break; /* treated as the end of the message */
#else
      perror("recv");
      return 1;
#endif
    }
    if (n == 0 || got + (size_t)n >= sizeof buf - 1)
      break;
    got += (size_t)n;
  }
  buf[got] = '\0';
  fputs(buf, stdout);
  close(sv[0]);
  close(sv[1]);
  return 0;
}
