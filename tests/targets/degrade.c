/* An accept loop (fed by its own loopback clients) that keeps a spare descriptor, as libuv
 * does for EMFILE: when accept fails it gives the spare up, accepts the waiting connection
 * and sheds it, then takes a spare again. If that socket fails too the loop runs degraded:
 * each new connection gets a short "busy" reply until a spare can be had. With SF_BUG a
 * busy reply that cannot be sent is freed twice: it takes three faults in a row (accept,
 * the spare's socket, the busy send) to reach the double free. Prints "done". */
#include "tserver.h"

/* The reply, if any, was sent by this very process before we look: a connection that was
 * shed or never served has none, and 50 ms is plenty to say so. */
static int reply_ready(int fd)
{
  struct pollfd p = {.fd = fd, .events = POLLIN};
  return poll(&p, 1, 50) > 0;
}

struct loop {
  int lfd;
  int spare;     /* the reserve descriptor, -1 while degraded */
  unsigned shed; /* connections dropped to recover */
};

static int spare_take(void) { return socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0); }

/* accept failed: free a descriptor, take and drop the connection waiting, take it back. */
static void shed_load(struct loop *lp, int err)
{
  fprintf(stderr, "accept: %s; shedding a connection\n", strerror(err));
  if (lp->spare >= 0)
    close(lp->spare);
  int s = accept(lp->lfd, NULL, NULL);
  if (s >= 0) {
    close(s);
    lp->shed++;
  }
  lp->spare = spare_take();
  if (lp->spare < 0)
    perror("socket (spare): degraded until one can be had");
}

static char *busy_message(unsigned shed)
{
  char *m = malloc(64);
  if (m)
    snprintf(m, 64, "-BUSY %u shed, try later\n", shed);
  return m;
}

/* Degraded: answer busy at once, and try to take a spare again. */
static void busy_reply(struct loop *lp, int s)
{
  char *msg = busy_message(lp->shed);
  if (!msg)
    return;
  if (send(s, msg, strlen(msg), MSG_NOSIGNAL) < 0) {
    perror("send (busy)");
#ifdef SF_BUG
    free(msg); /* dropped here, and again below */
#endif
  }
  free(msg);
  lp->spare = spare_take();
}

static void serve(int s)
{
  char buf[64];
  if (recv(s, buf, sizeof buf, 0) <= 0)
    perror("recv (request)");
  else if (send(s, "+PONG\n", 6, MSG_NOSIGNAL) != 6)
    perror("send (reply)");
}

static int client(const struct sockaddr_in *a)
{
  int c = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (c < 0) {
    perror("socket (client)");
    return -1;
  }
  if (connect(c, (const struct sockaddr *)a, sizeof *a) != 0 ||
      send(c, "PING\n", 5, MSG_NOSIGNAL) != 5) {
    perror("connect/send (client)");
    close(c);
    return -1;
  }
  return c;
}

int main(void)
{
  struct sockaddr_in a;
  struct loop lp = {.lfd = ts_listen_local(&a), .spare = spare_take()};
  if (lp.lfd < 0 || lp.spare < 0) {
    perror("setting up");
    return 1;
  }
  unsigned answered = 0;
  for (int round = 1; round <= 5; round++) {
    int c = client(&a);
    if (c < 0)
      continue;
    int s = accept(lp.lfd, NULL, NULL);
    if (s < 0) {
      shed_load(&lp, errno);
    } else {
      if (lp.spare < 0)
        busy_reply(&lp, s);
      else
        serve(s);
      close(s);
    }
    char buf[64];
    answered += reply_ready(c) && recv(c, buf, sizeof buf, 0) > 0;
    close(c);
  }
  fprintf(stderr, "%u of 5 answered, %u shed\n", answered, lp.shed);
  if (lp.spare >= 0)
    close(lp.spare);
  close(lp.lfd);
  printf("done\n");
  return 0;
}
