/* A server that serves its first client (a readiness probe) before entering its loop, with
 * two copies of the accept code. The first handles errors; with SF_BUG the loop's copy
 * believes accept cannot fail once poll said readable, and aborts: only a failing 2nd
 * accept crashes it. */
#include "tserver.h"

int main(int argc, char **argv)
{
  int port = ts_port(argc, argv);
  ts_signals();
  int lfd = ts_listen(port);
  if (lfd < 0)
    return 1;
  int c = -1;
  while (!ts_stop && c < 0) { /* the first client */
    if (ts_wait(lfd) <= 0)
      continue;
    c = accept(lfd, NULL, NULL);
    if (c < 0)
      fprintf(stderr, "accept (first client): %s\n", strerror(errno));
  }
  if (c >= 0) {
    ts_serve(c);
    close(c);
  }
  while (!ts_stop) {
    if (ts_wait(lfd) <= 0)
      continue;
    c = accept(lfd, NULL, NULL);
    if (c < 0) {
#ifdef SF_BUG
      fprintf(stderr, "accept: %s: cannot happen after poll; aborting\n", strerror(errno));
      abort();
#else
      fprintf(stderr, "accept: %s\n", strerror(errno));
      continue;
#endif
    }
    ts_serve(c);
    close(c);
  }
  close(lfd);
  return 0;
}
