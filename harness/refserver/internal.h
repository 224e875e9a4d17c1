/* internal.h — what server.c and accept.c share (not part of the library's API). */
#ifndef RS_INTERNAL_H
#define RS_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include "server.h"

#define IDLE_WAKEUPS_MAX 3 /* "ready" yet no progress, in a row, before a pause */

/* Serve fd (connected, non-blocking); TCP_NODELAY if tcp. Returns 0, or -1 with fd
 * closed (connection limit: the client is told; out of memory: the listener pauses). */
int rs_add_conn(struct rs_server *srv, int fd, bool tcp);
/* Best effort "-ERR too many connections" to fd, then close it. */
void rs_refuse(int fd);
/* Open the spare fd (/dev/null); -1 if that fails, logged when report. */
int rs_open_spare(bool report);
/* The listener is readable: accept what is pending (server.c calls it). */
void rs_accept_ready(struct rs_server *srv, int64_t now);

#endif
