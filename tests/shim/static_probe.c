/* Statically linked: LD_PRELOAD cannot reach it. */
#include <stdio.h>
#include <sys/socket.h>
#include <unistd.h>

int main(void)
{
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  printf("%s\n", fd >= 0 ? "ok" : "failed");
  if (fd >= 0)
    close(fd);
  return 0;
}
