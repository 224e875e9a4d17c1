/* A target using <sockfault/fuzz.h> the way a fuzz target does, for test_fuzz_api.py:
 *   fuzz_probe MODE CALLS FILE
 * reads FILE as a fuzz input, sockfault_fuzz_begin()s it, calls socket() twice and prints
 * "1:RESULT 2:RESULT" (ok or the errno name), sockfault_fuzz_end()s, calls socket() once
 * more ("end:RESULT") and prints the rest of the input ("rest:TEXT"). MODE:
 *   init      sockfault_fuzz_init(argc, argv, CALLS) first (re-executes to preload the shim)
 *   noinit    no sockfault_fuzz_init (CALLS unused): begin() must find the shim itself
 *   crash     as init, then abort() after the second socket()
 *   segv      as init, then a write through a null pointer
 *   overflow  as init, then a heap buffer overflow (an ASan report, in an ASan build) */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "sockfault/fuzz.h"

static void sock(const char *tag)
{
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  printf("%s:%s ", tag, fd >= 0 ? "ok" : strerrorname_np(errno));
  if (fd >= 0)
    close(fd);
}

int main(int argc, char **argv)
{
  if (argc != 4) {
    fprintf(stderr, "usage: fuzz_probe init|noinit|crash|segv|overflow CALLS FILE\n");
    return 2;
  }
  const char *mode = argv[1];
  if (strcmp(mode, "noinit") != 0)
    sockfault_fuzz_init(&argc, &argv, argv[2]);
  static uint8_t data[4096];
  FILE *f = fopen(argv[3], "rb");
  if (f == NULL) {
    perror(argv[3]);
    return 2;
  }
  size_t size = fread(data, 1, sizeof data, f);
  fclose(f);
  size_t n;
  const uint8_t *rest = sockfault_fuzz_begin(data, size, &n);
  sock("1");
  sock("2");
  fflush(stdout);
  if (strcmp(mode, "crash") == 0)
    abort();
  if (strcmp(mode, "segv") == 0)
    *(volatile int *)(uintptr_t)(n & 0) = 1;
  if (strcmp(mode, "overflow") == 0) {
    char *volatile p = malloc(8);
    p[8 + (n & 0)] = 1;
    free(p);
  }
  sockfault_fuzz_end();
  sock("end");
  printf("rest:%.*s\n", (int)n, (const char *)rest);
  return 0;
}
