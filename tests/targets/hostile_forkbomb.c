/* A server that fork-bombs when accept fails: it forks until fork fails (at most 800
 * children, its own safety net should explore's bound fail), each child leaving the process
 * group (setsid) and sleeping, then reports how far it got and exits 1. explore must bound
 * it (a pids cgroup per run), kill every child it left behind, and go on. The children die
 * by themselves after 30 s (alarm) so that a broken explore cannot leave them for long. */
#include "tserver.h"

#define BOMB_MAX 800

int main(int argc, char **argv)
{
  int port = ts_port(argc, argv);
  ts_signals();
  int lfd = ts_listen(port);
  if (lfd < 0)
    return 1;
  while (!ts_stop) {
    if (ts_wait(lfd) <= 0)
      continue;
    int c = accept(lfd, NULL, NULL);
    if (c >= 0) {
      ts_serve(c);
      close(c);
      continue;
    }
    int n = 0, err = 0;
    for (; n < BOMB_MAX; n++) {
      pid_t p = fork();
      if (p < 0) {
        err = errno;
        break;
      }
      if (p == 0) {
        setsid();
        alarm(30);
        for (;;)
          pause();
      }
    }
    fprintf(stderr, "forkbomb: %d children, then fork: %s\n", n,
            err ? strerror(err) : "(stopped at my own limit)");
    return 1;
  }
  close(lfd);
  return 0;
}
