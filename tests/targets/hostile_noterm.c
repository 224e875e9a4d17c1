/* A server that ignores SIGTERM: from the start (argv[2] "always"), or once accept has
 * failed (argv[2] "fault"). explore must escalate to SIGKILL after its grace period: the
 * baseline of "always" cannot be judged (exit 6); a point of "fault" is a hang ("did not
 * exit after SIGTERM"). It also ignores SIGINT and SIGHUP. */
#include "tserver.h"

static void ignore_term(void)
{
  signal(SIGTERM, SIG_IGN);
  signal(SIGINT, SIG_IGN);
  signal(SIGHUP, SIG_IGN);
}

int main(int argc, char **argv)
{
  if (argc != 3 || atoi(argv[1]) <= 0 || (strcmp(argv[2], "always") && strcmp(argv[2], "fault"))) {
    fprintf(stderr, "usage: %s PORT always|fault\n", argv[0]);
    return 2;
  }
  ts_signals();
  if (strcmp(argv[2], "always") == 0)
    ignore_term();
  int lfd = ts_listen(atoi(argv[1]));
  if (lfd < 0)
    return 1;
  while (!ts_stop) {
    if (ts_wait(lfd) <= 0)
      continue;
    int c = accept(lfd, NULL, NULL);
    if (c < 0) {
      fprintf(stderr, "accept: %s; SIGTERM is ignored from now on\n", strerror(errno));
      ignore_term();
      continue;
    }
    ts_serve(c);
    close(c);
  }
  close(lfd);
  return 0;
}
