/* A program that floods stderr when socket() fails: argv[1] MiB of numbered lines (64 by
 * default), then one last line, exit 1. Unfaulted it prints nothing and exits 0. explore
 * must keep only the tail (its memory bounded whatever the volume) and that tail must be
 * the end of the stream, the last line included. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int main(int argc, char **argv)
{
  long mib = argc > 1 ? atol(argv[1]) : 64;
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd >= 0) {
    close(fd);
    return 0;
  }
  int e = errno;
  static char buf[1 << 16];
  unsigned long line = 0;
  for (long total = 0; total < mib << 20;) {
    size_t n = 0;
    while (n + 64 < sizeof buf)
      n += (size_t)snprintf(buf + n, sizeof buf - n, "flood line %010lu: the same words again\n",
                            ++line);
    if (write(2, buf, n) != (ssize_t)n)
      return 3;
    total += (long)n;
  }
  fprintf(stderr, "flood: %lu lines, then socket: %s\n", line, strerror(e));
  return 1;
}
