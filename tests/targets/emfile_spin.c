/* A poll loop server out of file descriptors. With SF_BUG, EMFILE/ENFILE pauses accepting
 * "until a connection closes" while the listener stays in the poll set: the pending
 * connection is never drained, poll returns at once, and the server spins at 100% CPU
 * without serving. Without, libuv's trick: close a reserved fd, accept and drop the
 * connection, reopen the reserve. */
#include "tserver.h"

#include <fcntl.h>

int main(int argc, char **argv)
{
  int port = ts_port(argc, argv);
  ts_signals();
  int reserve = open("/dev/null", O_RDONLY | O_CLOEXEC);
  int lfd = ts_listen(port);
  if (lfd < 0)
    return 1;
  int paused = 0, open_conns = 0;
  while (!ts_stop) {
    if (ts_wait(lfd) <= 0)
      continue;
    if (paused && open_conns > 0)
      continue; /* a slot frees when a connection closes */
    int c = accept(lfd, NULL, NULL);
    if (c < 0) {
      if (errno == EMFILE || errno == ENFILE) {
#ifdef SF_BUG
        paused = 1;
        (void)reserve;
        fprintf(stderr, "accept: %s: pausing until a connection closes\n", strerror(errno));
        open_conns = 1; /* believes the busy connections will free a slot */
#else
        close(reserve);
        int drop = accept(lfd, NULL, NULL);
        if (drop >= 0)
          close(drop);
        reserve = open("/dev/null", O_RDONLY | O_CLOEXEC);
        fprintf(stderr, "accept: %s: dropped a pending connection\n", strerror(errno));
#endif
      } else {
        fprintf(stderr, "accept: %s\n", strerror(errno));
        if (errno == ENOBUFS || errno == ENOMEM)
          poll(NULL, 0, 100); /* memory comes back by itself: wait for it */
      }
      continue;
    }
    ts_serve(c);
    close(c);
    paused = 0;
  }
  close(lfd);
  if (reserve >= 0)
    close(reserve);
  return 0;
}
