/* The peer of ship_client (explore --server): accept one connection on 127.0.0.1:PORT, read
 * to EOF, exit 0 if exactly "hello sockfault\n" arrived, 1 if not (or nobody came within
 * 5 s). */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int main(int argc, char **argv)
{
  if (argc != 2)
    return 2;
  int lfd = socket(AF_INET, SOCK_STREAM, 0), one = 1;
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((unsigned short)atoi(argv[1]))};
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (bind(lfd, (struct sockaddr *)&a, sizeof a) != 0 || listen(lfd, 4) != 0)
    return 3;
  struct pollfd p = {.fd = lfd, .events = POLLIN};
  if (poll(&p, 1, 5000) != 1)
    return 1;
  int c = accept(lfd, NULL, NULL);
  if (c < 0)
    return 1;
  struct timeval tv = {.tv_sec = 3};
  setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  char buf[256];
  size_t n = 0;
  for (ssize_t r; n < sizeof buf && (r = recv(c, buf + n, sizeof buf - n, 0)) > 0;)
    n += (size_t)r;
  return n == 16 && memcmp(buf, "hello sockfault\n", 16) == 0 ? 0 : 1;
}
