/* A client that fetches a few items from its own loopback listener, each over a connection
 * opened by one helper, dial() (socket, then connect), called from two paths: the normal
 * fetch of every item, and later the fallback fetch of the items whose normal fetch failed.
 * With SF_BUG, the fallback gives up an item's buffer when its own dial fails, and the
 * caller releases it again: only a failure of dial() on the second path — after a first
 * failure sent an item there — reaches the double free; the same failure of the same call
 * site on the first path is handled. With one call site for both paths, a search cannot
 * tell the two apart (explore --context 2 can). Prints "done" whatever happened. */
#include "tserver.h"

#define ITEMS 6

struct item {
  int id;
  char *buf; /* the request, until the item is fetched or given up */
  int failed;
};

/* The one helper both paths use: a connected socket, or -1. Never inlined (two copies would
 * be two call sites), built with frame pointers (its caller is found through its frame). */
__attribute__((noinline)) static int dial(const struct sockaddr_in *a)
{
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    perror("socket");
    return -1;
  }
  if (connect(fd, (const struct sockaddr *)a, sizeof *a) != 0) {
    perror("connect");
    close(fd);
    return -1;
  }
  return fd;
}

/* One request and its reply over fd, served by our own listener. 0 when answered. */
static int exchange(int lfd, int fd, const struct item *it)
{
  int s = accept(lfd, NULL, NULL);
  if (s < 0) {
    perror("accept");
    return -1;
  }
  char buf[64];
  size_t len = strlen(it->buf);
  int rc = -1;
  if (send(fd, it->buf, len, MSG_NOSIGNAL) != (ssize_t)len)
    perror("send (request)");
  else if (recv(s, buf, sizeof buf, 0) <= 0)
    perror("recv (request)");
  else if (send(s, "+OK\n", 4, MSG_NOSIGNAL) != 4)
    perror("send (reply)");
  else if (recv(fd, buf, sizeof buf, 0) != 4)
    perror("recv (reply)");
  else
    rc = 0;
  close(s);
  return rc;
}

/* The normal path: a failed dial marks the item for the fallback. */
static int fetch(int lfd, const struct sockaddr_in *a, struct item *it)
{
  int fd = dial(a);
  if (fd < 0) {
    it->failed = 1;
    return -1;
  }
  int rc = exchange(lfd, fd, it);
  close(fd);
  it->failed = rc != 0;
  return rc;
}

/* The fallback path: one more try; the item's buffer is released by the caller. */
static int fetch_again(int lfd, const struct sockaddr_in *a, struct item *it)
{
  int fd = dial(a);
  if (fd >= 0) {
    int rc = exchange(lfd, fd, it);
    close(fd);
    return rc;
  }
#ifdef SF_BUG
  free(it->buf); /* gives the item up, but main releases every buffer too */
#endif
  return -1;
}

int main(void)
{
  struct item items[ITEMS];
  for (int i = 0; i < ITEMS; i++) {
    items[i] = (struct item){.id = i + 1, .buf = malloc(32)};
    if (!items[i].buf)
      return 1;
    snprintf(items[i].buf, 32, "GET %d\n", i + 1);
  }
  struct sockaddr_in a;
  int lfd = ts_listen_local(&a);
  if (lfd < 0)
    return 1;
  int fetched = 0;
  for (int i = 0; i < ITEMS; i++)
    fetched += fetch(lfd, &a, &items[i]) == 0;
  for (int i = 0; i < ITEMS; i++)
    if (items[i].failed && fetch_again(lfd, &a, &items[i]) == 0)
      fetched++;
  for (int i = 0; i < ITEMS; i++)
    free(items[i].buf);
  fprintf(stderr, "%d of %d items fetched\n", fetched, ITEMS);
  close(lfd);
  printf("done\n");
  return 0;
}
