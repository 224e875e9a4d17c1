/* A server that keeps the replies it could not send in a retry queue and, when told to stop,
 * drains it first: 1.5 s of trying before it exits. Unfaulted the queue is empty and it
 * exits at once; after a failed send it exits late (not never: no hang). */
#include "tserver.h"

int main(int argc, char **argv)
{
  int lfd = ts_start(argc, argv);
  int queued = 0;
  for (int c; (c = ts_next_client(lfd)) >= 0;) {
    char buf[256];
    ssize_t r = recv(c, buf, sizeof buf, 0);
    if (r > 0 && send(c, "+PONG\n", 6, MSG_NOSIGNAL) != 6) {
      fprintf(stderr, "send: %s: reply queued for retry\n", strerror(errno));
      queued++;
    }
    close(c);
  }
  if (queued) {
    fprintf(stderr, "draining %d queued repl%s before exit\n", queued, queued > 1 ? "ies" : "y");
    for (long long t0 = ts_ms(); ts_ms() - t0 < 1500;)
      usleep(50000);
  }
  close(lfd);
  return 0;
}
