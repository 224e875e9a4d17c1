/* The check for the test servers: connect to 127.0.0.1:PORT, send PING, expect +PONG
 * within a second. Exit 0 if it came, 1 otherwise. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h> /* struct timeval: musl does not bring it in with sys/socket.h */
#include <unistd.h>

int main(int argc, char **argv)
{
  if (argc != 2)
    return 2;
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0)
    return 1;
  /* generous: an ASan-built server on a loaded CI machine may take a while to answer */
  struct timeval tv = {.tv_sec = 3};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((unsigned short)atoi(argv[1]))};
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  char buf[64] = "";
  int ok = connect(fd, (struct sockaddr *)&a, sizeof a) == 0 && send(fd, "PING\n", 5, 0) == 5 &&
           recv(fd, buf, sizeof buf - 1, 0) > 0 && strncmp(buf, "+PONG", 5) == 0;
  close(fd);
  return ok ? 0 : 1;
}
