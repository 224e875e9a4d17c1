/* A server blocking in accept right after listen (no poll): its first accept runs before
 * any client came. SF_BUG exits on any accept failure — it stopped serving, whether the
 * fault came before the first client or after; the twin reports it and accepts again. */
#include "tserver.h"

int main(int argc, char **argv)
{
  int lfd = ts_start(argc, argv);
  while (!ts_stop) {
    int c = accept(lfd, NULL, NULL);
    if (c < 0 && ts_stop)
      break;
    if (c < 0) {
      fprintf(stderr, "accept: %s\n", strerror(errno));
#ifdef SF_BUG
      return 1;
#else
      usleep(10000);
      continue;
#endif
    }
    ts_serve(c);
    close(c);
  }
  close(lfd);
  return 0;
}
