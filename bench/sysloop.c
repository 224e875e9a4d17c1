/*
 * sfbench_sys: one system call in a loop, timed in-process, for bench/seccomp_rate.sh.
 *   sfbench_sys setsockopt|getppid N   prints "CALL <ns per call> <calls that failed>"
 * setsockopt is the call the rules trap; getppid is a system call no filter traps (how fast
 * the others run under the seccomp backend). Failures are counted, not fatal: a rule
 * compiled into the filter fails every call.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static double sb_now(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

int main(int argc, char **argv)
{
  if (argc != 3 || (strcmp(argv[1], "setsockopt") != 0 && strcmp(argv[1], "getppid") != 0)) {
    fprintf(stderr, "usage: sfbench_sys setsockopt|getppid N\n");
    return 2;
  }
  const int sys = strcmp(argv[1], "getppid") == 0;
  const long n = atol(argv[2]);
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  int one = 1;
  long failed = 0;
  double t0 = sb_now();
  for (long i = 0; i < n; i++)
    failed += (sys ? syscall(SYS_getppid) : setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one,
                                                       sizeof one)) < 0;
  double t1 = sb_now();
  printf("%s %.1f %ld\n", argv[1], (t1 - t0) / (double)(n > 0 ? n : 1), failed);
  return 0;
}
