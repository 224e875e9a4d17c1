/* A correct server (no bug variant) answering EMFILE/ENFILE from accept with the spare
 * descriptor trick (libuv's uv__emfile_trick): close the spare fd, accept the pending
 * connection and close it at once, reopen the spare. It loses that one connection and
 * serves the next, with no busy loop. Its accept blocks, right after listen: a fault in the
 * first accept fires before any client came, and the connection shed is the next one. */
#include "tserver.h"

#include <fcntl.h>

int main(int argc, char **argv)
{
  int lfd = ts_start(argc, argv);
  int spare = open("/dev/null", O_RDONLY | O_CLOEXEC);
  if (spare < 0)
    return 1;
  while (!ts_stop) {
    int c = accept(lfd, NULL, NULL);
    if (c < 0 && (errno == EMFILE || errno == ENFILE)) {
      fprintf(stderr, "accept: %s: shedding one connection\n", strerror(errno));
      close(spare);
      c = accept(lfd, NULL, NULL);
      if (c >= 0)
        close(c);
      spare = open("/dev/null", O_RDONLY | O_CLOEXEC);
      continue;
    }
    if (c < 0) {
      if (errno != EINTR && errno != EAGAIN && errno != ECONNABORTED)
        fprintf(stderr, "accept: %s\n", strerror(errno));
      continue;
    }
    ts_serve(c);
    close(c);
  }
  close(lfd);
  return 0;
}
