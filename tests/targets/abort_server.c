/* A server that takes ECONNABORTED — the client gave up before accept — for its own
 * shutdown (SF_BUG): it stops serving, exiting 0. Without the bug, it just goes on. */
#include "tserver.h"

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
    if (c < 0) {
      switch (errno) {
      case EINTR:
      case EAGAIN:
        continue;
      case ECONNABORTED:
#ifdef SF_BUG
        fprintf(stderr, "accept: connection aborted: shutting down\n");
        goto done;
#else
        continue;
#endif
      default:
        fprintf(stderr, "accept: %s\n", strerror(errno));
        usleep(10000);
        continue;
      }
    }
    ts_serve(c);
    close(c);
  }
#ifdef SF_BUG
done:
#endif
  close(lfd);
  return 0;
}
