/* Sets up an io_uring (and closes it): what the seccomp backend cannot see into, and must
 * say so. Prints "uring: ok" or the errno's name (a kernel or sandbox may refuse it). */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

int main(void)
{
  unsigned char params[120]; /* struct io_uring_params: zeroed, the kernel fills it */
  memset(params, 0, sizeof params);
  long fd = syscall(SYS_io_uring_setup, 1, params);
  printf("uring: %s\n", fd >= 0 ? "ok" : strerrorname_np(errno));
  if (fd >= 0)
    close((int)fd);
  return 0;
}
