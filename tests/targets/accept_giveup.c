/* A server that tolerates a failing accept, but only so far: with SF_BUG, two failures in a
 * row make it decide the listener is broken; it closes it and keeps running, serving nothing
 * (and never says so again). One failure is survived, so only faults in a row show the bug.
 * Without SF_BUG it counts the failures for its log and keeps accepting, pausing a little
 * after each. */
#include "tserver.h"

int main(int argc, char **argv)
{
  int port = ts_port(argc, argv);
  ts_signals();
  int lfd = ts_listen(port);
  if (lfd < 0)
    return 1;
  int in_a_row = 0;
  while (!ts_stop) {
    if (lfd < 0) {
      poll(NULL, 0, 200); /* "degraded mode": alive, not listening */
      continue;
    }
    if (ts_wait(lfd) <= 0)
      continue;
    int c = accept(lfd, NULL, NULL);
    if (c < 0) {
      fprintf(stderr, "accept: %s\n", strerror(errno));
      in_a_row++;
#ifdef SF_BUG
      if (in_a_row >= 2) {
        fprintf(stderr, "accept keeps failing: listener disabled\n");
        close(lfd);
        lfd = -1;
      }
#else
      poll(NULL, 0, in_a_row < 10 ? 10 * in_a_row : 100);
#endif
      continue;
    }
    in_a_row = 0;
    ts_serve(c);
    close(c);
  }
  if (lfd >= 0)
    close(lfd);
  return 0;
}
