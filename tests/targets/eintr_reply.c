/* A server whose reply path gives up on an interrupted send (SF_BUG): a signal landing in
 * send(2) — EINTR, nothing was sent — drops the reply and closes the connection, so that
 * one client never gets its answer while the server "keeps serving". SF_BUG=2 (eintr_stall)
 * resends, but only after sleeping 1.8 s: the client gets its answer, late (request-stalled).
 * The twin sends again at once. */
#include "tserver.h"

/* Read one request line into buf (NUL-terminated); 0, or -1 when the client went away. */
static int read_request(int c, char *buf, size_t len)
{
  size_t n = 0;
  while (n < len - 1 && !memchr(buf, '\n', n)) {
    ssize_t r = recv(c, buf + n, len - 1 - n, 0);
    if (r < 0 && errno == EINTR && !ts_stop)
      continue;
    if (r <= 0)
      return -1;
    n += (size_t)r;
    buf[n] = '\0';
  }
  return 0;
}

static void reply(int c, const char *text)
{
  size_t len = strlen(text), off = 0;
  while (off < len) {
    ssize_t w = send(c, text + off, len - off, MSG_NOSIGNAL);
    if (w < 0) {
#if defined(SF_BUG) && SF_BUG == 2
      if (errno == EINTR && !ts_stop) {
        usleep(1800 * 1000); /* a "back-off" the one client waiting pays in full */
        continue;
      }
#elif !defined(SF_BUG)
      if (errno == EINTR && !ts_stop)
        continue;
      fprintf(stderr, "send: %s\n", strerror(errno));
#endif
      return; /* SF_BUG: every failure, EINTR too, silently ends the reply */
    }
    off += (size_t)w;
  }
}

int main(int argc, char **argv)
{
  int lfd = ts_start(argc, argv);
  for (int c; (c = ts_next_client(lfd)) >= 0;) {
    char req[256] = "";
    if (read_request(c, req, sizeof req) == 0)
      reply(c, strncmp(req, "PING", 4) == 0 ? "+PONG\n" : "-ERR\n");
    close(c);
  }
  close(lfd);
  return 0;
}
