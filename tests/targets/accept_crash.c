/* A server whose accept error path logs the client it never got: with SF_BUG, a failed
 * accept dereferences the NULL client and the server dies of SIGSEGV. */
#include "tserver.h"

struct client {
  int fd;
  char peer[INET_ADDRSTRLEN];
};

static struct client *client_accept(int lfd)
{
  struct client *c = calloc(1, sizeof *c);
  if (!c)
    return NULL;
  struct sockaddr_in a;
  socklen_t l = sizeof a;
  c->fd = accept(lfd, (struct sockaddr *)&a, &l);
  if (c->fd < 0) {
    int e = errno;
    free(c);
    errno = e;
    return NULL;
  }
  inet_ntop(AF_INET, &a.sin_addr, c->peer, sizeof c->peer);
  return c;
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
    struct client *c = client_accept(lfd);
    if (!c) {
#ifdef SF_BUG
      struct client *volatile none = c;
      fprintf(stderr, "accept from %s failed: %s\n", none->peer, strerror(errno));
#else
      fprintf(stderr, "accept: %s\n", strerror(errno));
#endif
      continue;
    }
    ts_serve(c->fd);
    close(c->fd);
    free(c);
  }
  close(lfd);
  return 0;
}
