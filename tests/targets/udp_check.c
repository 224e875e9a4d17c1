/* The check for udp_echo: PING by datagram to 127.0.0.1:PORT, +PONG expected; three tries
 * of 500 ms (datagrams may be lost). Exit 0 if it came, 1 otherwise. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int main(int argc, char **argv)
{
  if (argc != 2)
    return 2;
  int fd = socket(AF_INET, SOCK_DGRAM, 0);
  struct timeval tv = {.tv_usec = 500000};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((unsigned short)atoi(argv[1]))};
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof a) != 0)
    return 1;
  for (int i = 0; i < 3; i++) {
    char buf[64] = "";
    if (send(fd, "PING\n", 5, 0) == 5 && recv(fd, buf, sizeof buf - 1, 0) > 0 &&
        strncmp(buf, "+PONG", 5) == 0)
      return 0;
  }
  return 1;
}
