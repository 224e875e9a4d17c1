/* A server that retries a failed accept once at once, keeping the first error for the log.
 * With SF_BUG the path where the retry fails too frees that message twice: only two
 * failures in a row (explore --depth 2) reach the double free. */
#include "tserver.h"

/* Logs that the retry failed too. With SF_BUG it also releases the first message, which
 * its caller believes it still owns. */
__attribute__((noinline)) static void log_retry_failed(char *first, int err)
{
  fprintf(stderr, "accept failed twice: %s, then %s\n", first ? first : "?", strerror(err));
#ifdef SF_BUG
  free(first);
#endif
}

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
      char *first = strdup(strerror(errno));
      c = accept(lfd, NULL, NULL);
      if (c < 0)
        log_retry_failed(first, errno);
      free(first);
      if (c < 0)
        continue;
    }
    ts_serve(c);
    close(c);
  }
  close(lfd);
  return 0;
}
