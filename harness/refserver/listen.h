/* listen.h — opening the refserver's listening socket (internal to sf_refserver_core). */
#ifndef RS_LISTEN_H
#define RS_LISTEN_H

#include <stddef.h>
#include <stdint.h>

/* Create a non-blocking, close-on-exec TCP socket listening on host:port (numeric
 * address; "::" is dual-stack, falling back to IPv4 when the kernel has no IPv6).
 * Returns the fd and stores the bound port; or -1 with a message naming the failed call,
 * the address and the errno in err: "bind 127.0.0.1:80: Permission denied (EACCES)". */
int rs_listen_open(const char *host, uint16_t port, uint16_t *bound_port, char *err,
                   size_t errlen);

/* close(2) that reports a failure and never retries: Linux releases the fd even when
 * close fails (EINTR, EIO), so a retry could close someone else's new fd. */
void rs_close_fd(int fd, const char *what);

#endif
