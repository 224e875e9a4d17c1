/* The benchmark's target: one socket, closed. Two failure points per errno of socket. */
#include <stdio.h>
#include <sys/socket.h>
#include <unistd.h>

int main(void)
{
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) {
    perror("socket");
    return 1;
  }
  close(fd);
  return 0;
}
