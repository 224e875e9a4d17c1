/* A server whose listener owns its name string. With SF_BUG, the bind failure path frees
 * the name and the common cleanup frees it again: a double free (SIGABRT from glibc, or an
 * AddressSanitizer report when built with it). */
#include "tserver.h"

struct listener {
  int fd;
  char *name;
};

static void listener_close(struct listener *l)
{
  if (l->fd >= 0)
    close(l->fd);
  free(l->name);
  l->fd = -1;
  l->name = NULL;
}

static int listener_open(struct listener *l, int port)
{
  l->name = malloc(32);
  if (!l->name)
    return -1;
  snprintf(l->name, 32, "127.0.0.1:%d", port);
  l->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (l->fd < 0) {
    fprintf(stderr, "socket %s: %s\n", l->name, strerror(errno));
    return -1;
  }
  struct sockaddr_in a = ts_addr(port);
  int one = 1;
  setsockopt(l->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (bind(l->fd, (struct sockaddr *)&a, sizeof a) != 0) {
    fprintf(stderr, "bind %s: %s\n", l->name, strerror(errno));
#ifdef SF_BUG
    free(l->name);
#endif
    return -1;
  }
  if (listen(l->fd, 64) != 0) {
    fprintf(stderr, "listen %s: %s\n", l->name, strerror(errno));
    return -1;
  }
  return 0;
}

int main(int argc, char **argv)
{
  int port = ts_port(argc, argv);
  ts_signals();
  struct listener l = {.fd = -1};
  if (listener_open(&l, port) != 0) {
    listener_close(&l);
    return 1;
  }
  while (!ts_stop) {
    if (ts_wait(l.fd) <= 0)
      continue;
    int c = accept(l.fd, NULL, NULL);
    if (c < 0) {
      fprintf(stderr, "accept: %s\n", strerror(errno));
      continue;
    }
    ts_serve(c);
    close(c);
  }
  listener_close(&l);
  return 0;
}
