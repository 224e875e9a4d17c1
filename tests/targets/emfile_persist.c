/* A poll loop server whose accept fails for as long as the fd table stays full. With SF_BUG
 * it logs the error and goes back to poll with the listener still armed: poll is
 * level-triggered, the pending connection is still there, so it returns at once and the
 * server retries accept in a tight loop, burning a core until a slot frees. One EMFILE is
 * harmless (the next try succeeds): only a shortage that lasts shows it. Without SF_BUG it
 * backs off: the listener leaves the poll set for 100 ms after each failure. */
#include "tserver.h"

int main(int argc, char **argv)
{
  int port = ts_port(argc, argv);
  ts_signals();
  int lfd = ts_listen(port);
  if (lfd < 0)
    return 1;
  unsigned long failures = 0;
  while (!ts_stop) {
    if (ts_wait(lfd) <= 0)
      continue;
    int c = accept(lfd, NULL, NULL);
    if (c < 0) {
      if (failures++ % 1000 == 0)
        fprintf(stderr, "accept: %s (%lu failures)\n", strerror(errno), failures);
#ifndef SF_BUG
      if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM)
        poll(NULL, 0, 100); /* nothing can be accepted until something is released */
#endif
      continue;
    }
    ts_serve(c);
    close(c);
  }
  close(lfd);
  return 0;
}
