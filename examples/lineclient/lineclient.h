/* lineclient: reads '\n'-terminated lines from a connected socket, a small client library
 * of the kind every project has. An example of fault-schedule fuzzing (see CMakeLists.txt). */
#ifndef LINECLIENT_H
#define LINECLIENT_H

#include <stddef.h>

struct lc_conn {
  int fd;
  char *buf; /* received bytes not yet returned as lines */
  size_t len, cap;
  size_t taken; /* the last line returned: removed from buf at the next read */
};

/* Takes fd over; 0, or -1 (out of memory). */
int lc_open(struct lc_conn *c, int fd);
/* The next line without its '\n' in *line (NUL-terminated, valid until the next call) and
 * *len: 1; 0 at the end of the stream; -1 on an error (errno set). A line is at most
 * LC_LINE_MAX bytes (EMSGSIZE beyond). */
int lc_read_line(struct lc_conn *c, char **line, size_t *len);
/* Closes the socket and frees everything. */
void lc_close(struct lc_conn *c);

#define LC_LINE_MAX 4096

#endif
