/* The benchmark's target: N sockets (argv[1], default 1), each opened and closed, so explore
 * has N occurrences of socket and of close, each with its documented errnos.
 * With a second argument STATEFILE, only the first run (the one that creates STATEFILE)
 * opens N; later runs open one: a program whose runs diverge, for explore's not-reached. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

int main(int argc, char **argv)
{
  int n = argc > 1 ? atoi(argv[1]) : 1;
  if (argc > 2) {
    int fd = open(argv[2], O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0)
      n = 1;
    else
      close(fd);
  }
  for (int i = 0; i < n && i < 1000; i++) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) {
      perror("socket");
      return 1;
    }
    close(fd);
  }
  return 0;
}
