/* lineclient.c — see lineclient.h. Reads in small chunks, as a client that must not block
 * on more than it needs does. */
#include "lineclient.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

enum { CHUNK = 16 };

int lc_open(struct lc_conn *c, int fd)
{
  memset(c, 0, sizeof *c);
  c->fd = fd;
  c->cap = 64;
  c->buf = malloc(c->cap);
  return c->buf ? 0 : -1;
}

static int grow(struct lc_conn *c, size_t need)
{
  if (need <= c->cap)
    return 0;
  size_t cap = c->cap * 2 > need ? c->cap * 2 : need;
  char *p = realloc(c->buf, cap);
  if (p == NULL)
    return -1;
  c->buf = p;
  c->cap = cap;
  return 0;
}

int lc_read_line(struct lc_conn *c, char **line, size_t *len)
{
  /* Drop the line returned last time. */
  memmove(c->buf, c->buf + c->taken, c->len - c->taken);
  c->len -= c->taken;
  c->taken = 0;
  for (;;) {
    char *nl = memchr(c->buf, '\n', c->len);
    if (nl) {
      *nl = '\0';
      *line = c->buf;
      *len = (size_t)(nl - c->buf);
      c->taken = *len + 1;
      return 1;
    }
    if (c->len >= LC_LINE_MAX) {
      errno = EMSGSIZE;
      return -1;
    }
    if (grow(c, c->len + CHUNK + 1) != 0)
      return -1;
    ssize_t n = recv(c->fd, c->buf + c->len, CHUNK, 0);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0) {
#ifdef LINECLIENT_BUG
      /* The planted bug: an error with part of a line buffered "discards the partial line"
       * by freeing the buffer, which lc_close frees again. Only a failing recv after a
       * successful one gets here: a scheduled fault. */
      if (c->len > 0)
        free(c->buf);
#endif
      return -1;
    }
    if (n == 0)
      return 0; /* the end; a last line without '\n' is not a line */
    c->len += (size_t)n;
  }
}

void lc_close(struct lc_conn *c)
{
  if (c->fd >= 0)
    close(c->fd);
  free(c->buf);
  memset(c, 0, sizeof *c);
  c->fd = -1;
}
