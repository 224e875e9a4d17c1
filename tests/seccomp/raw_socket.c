/* Three sockets through libc and one through syscall(SYS_socket), each reported on stdout
 * ("socket 1: ok" / "socket 4: EMFILE"); the last one is left open. LD_PRELOAD sees only
 * the libc ones, and none at all when the program is linked statically. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

static void report(int i, long fd)
{
  printf("socket %d: %s\n", i, fd >= 0 ? "ok" : strerrorname_np(errno));
  fflush(stdout);
}

int main(void)
{
  for (int i = 1; i <= 3; i++) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    report(i, fd);
    if (fd >= 0)
      close(fd);
  }
  report(4, syscall(SYS_socket, AF_INET, SOCK_DGRAM, 0));
  return 0;
}
