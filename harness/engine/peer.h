/* The --server peer of a client run: the program PROG talks to, started outside the shim
 * before PROG, whose exit status is the run's verdict on the data (silent when it fails). */
#ifndef SF_PEER_H
#define SF_PEER_H

#include <stddef.h>
#include <sys/types.h>

/* CMD ({port} and {tmp} substituted) started in its own process group, stdio on /dev/null,
 * and waited for until port is bound (it must be there before PROG connects), at most
 * timeout_ms or 5 s. Its pid, or -1 with the reason in err; one that did not bind in time
 * is SIGKILLed (and reaped later as an orphan of ours). */
pid_t sf_peer_start(const char *cmd, int port, const char *dir, long long timeout_ms,
                    char *err, size_t len);

#endif
