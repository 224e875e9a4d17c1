/* A UDP server (it never calls listen): PING -> +PONG by datagram. SF_BUG takes any
 * recvfrom failure for a dead socket and exits; the twin reports it and reads on. */
#include "tserver.h"

int main(int argc, char **argv)
{
  int port = ts_port(argc, argv);
  ts_signals();
  int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  struct sockaddr_in a = ts_addr(port);
  if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) != 0) {
    perror("udp_echo: socket/bind");
    return 1;
  }
  while (!ts_stop) {
    if (ts_wait(fd) <= 0)
      continue;
    char buf[512];
    struct sockaddr_in from;
    socklen_t flen = sizeof from;
    ssize_t r = recvfrom(fd, buf, sizeof buf, 0, (struct sockaddr *)&from, &flen);
    if (r < 0) {
      fprintf(stderr, "udp_echo: recvfrom: %s\n", strerror(errno));
#ifdef SF_BUG
      return 1;
#else
      continue;
#endif
    }
    const char *reply = r >= 4 && memcmp(buf, "PING", 4) == 0 ? "+PONG\n" : "-ERR\n";
    sendto(fd, reply, strlen(reply), 0, (struct sockaddr *)&from, flen);
  }
  close(fd);
  return 0;
}
