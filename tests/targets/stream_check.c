/* The check for stream_server: send a request, read to EOF, expect exactly 64 KiB of 'x'.
 * Exit 0 if it all came, 1 otherwise. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

int main(int argc, char **argv)
{
  if (argc != 2)
    return 2;
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  struct timeval tv = {.tv_sec = 3};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((unsigned short)atoi(argv[1]))};
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof a) != 0 || send(fd, "GET\n", 4, 0) != 4)
    return 1;
  char buf[16384];
  long total = 0;
  for (;;) {
    ssize_t r = recv(fd, buf, sizeof buf, 0);
    if (r <= 0)
      break;
    for (ssize_t i = 0; i < r; i++)
      if (buf[i] != 'x')
        return 1;
    total += r;
  }
  close(fd);
  return total == 64 * 1024 ? 0 : 1;
}
