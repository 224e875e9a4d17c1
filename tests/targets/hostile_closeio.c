/* A server that closes its stdout and stderr: at start (argv[2] "start"), or when accept
 * fails (argv[2] "fault"), and then keeps serving. explore reads end-of-file on both pipes
 * long before the program ends; it must still judge the run (ok: it served) and never
 * write into the closed pipes itself. */
#include "tserver.h"

static void close_stdio(void)
{
  static int closed;
  if (closed++)
    return; /* once: fds 1 and 2 may be sockets of ours by now */
  fflush(NULL);
  close(1);
  close(2);
}

int main(int argc, char **argv)
{
  if (argc != 3 || atoi(argv[1]) <= 0 || (strcmp(argv[2], "start") && strcmp(argv[2], "fault"))) {
    fprintf(stderr, "usage: %s PORT start|fault\n", argv[0]);
    return 2;
  }
  int fault = strcmp(argv[2], "fault") == 0;
  ts_signals();
  printf("hostile_closeio: serving\n");
  if (!fault)
    close_stdio();
  int lfd = ts_listen(atoi(argv[1]));
  if (lfd < 0)
    return 1;
  while (!ts_stop) {
    if (ts_wait(lfd) <= 0)
      continue;
    int c = accept(lfd, NULL, NULL);
    if (c < 0) {
      fprintf(stderr, "accept: %s\n", strerror(errno));
      close_stdio();
      continue;
    }
    ts_serve(c);
    close(c);
  }
  close(lfd);
  return 0;
}
