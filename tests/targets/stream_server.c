/* A server streaming a 64 KiB reply from a non-blocking socket. When the socket buffer is
 * full, send(2) fails with EAGAIN; the twin waits for POLLOUT and goes on, while SF_BUG
 * takes EAGAIN for the end of the stream: it logs the reply complete and drops the rest. */
#include "tserver.h"

#include <fcntl.h>

#define REPLY_BYTES (64 * 1024)
#define CHUNK 8192

static int stream_reply(int c)
{
  static char chunk[CHUNK];
  memset(chunk, 'x', sizeof chunk);
  size_t sent = 0;
  while (sent < REPLY_BYTES) {
    size_t want = REPLY_BYTES - sent < CHUNK ? REPLY_BYTES - sent : CHUNK;
    ssize_t w = send(c, chunk, want, MSG_NOSIGNAL);
    if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
#ifdef SF_BUG
      break; /* "nothing more to send" */
#else
      struct pollfd p = {.fd = c, .events = POLLOUT};
      if (poll(&p, 1, 2000) <= 0)
        return -1;
      continue;
#endif
    }
    if (w < 0 && errno == EINTR && !ts_stop)
      continue;
    if (w < 0) {
      fprintf(stderr, "send: %s\n", strerror(errno));
      return -1;
    }
    sent += (size_t)w;
  }
  fprintf(stderr, "reply complete: %zu bytes\n", sent);
  return 0;
}

int main(int argc, char **argv)
{
  int lfd = ts_start(argc, argv);
  for (int c; (c = ts_next_client(lfd)) >= 0;) {
    char req[64];
    struct pollfd p = {.fd = c, .events = POLLIN};
    if (poll(&p, 1, 2000) == 1 && recv(c, req, sizeof req, 0) > 0) {
      fcntl(c, F_SETFL, fcntl(c, F_GETFL) | O_NONBLOCK);
      stream_reply(c);
    }
    close(c);
  }
  close(lfd);
  return 0;
}
