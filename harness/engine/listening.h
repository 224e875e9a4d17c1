/* Readiness without the log: whether a process of a run's tree holds a listening socket,
 * from /proc alone. The shim's log says when a server listens; a program that closed the
 * log's fd where the shim could not reopen it (a sandbox, a privilege drop, a chroot), or
 * whose listening process runs without the shim (its environment scrubbed), says nothing,
 * yet it listens: the kernel's socket tables (/proc/PID/net/tcp, tcp6: state 0A, LISTEN;
 * udp, udp6: a port and no peer; unix: __SO_ACCEPTCON) matched against the socket inodes in /proc/PID/fd of each process
 * of the run (its cgroup's processes, else the root and its descendants) still say so. */
#ifndef SF_LISTENING_H
#define SF_LISTENING_H

#include <stdbool.h>
#include <sys/types.h>

/* Whether a process of the tree holds a listening TCP (v4 or v6) or AF_UNIX socket, or a UDP
 * socket bound to a port and connected to none (a UDP server never listens; an unconnected
 * client socket that has sent is bound too: a check is for servers).
 * cgdir: the run's cgroup directory (every process of the run, wherever it went), or NULL /
 * "" to walk root's descendants (/proc/PID/task/TID/children). */
bool sf_tree_listening(pid_t root, const char *cgdir);

#endif
