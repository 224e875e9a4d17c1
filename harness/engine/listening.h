/* Readiness without the log: whether a process of a run's tree holds a listening socket,
 * from the kernel alone. The shim's log says when a server listens; a program that closed
 * the log's fd where the shim could not reopen it (a sandbox, a privilege drop, a chroot),
 * or whose listening process runs without the shim (its environment scrubbed), says
 * nothing, yet it listens: the socket inodes in /proc/PID/fd of each process of the run (its
 * cgroup's processes, else the root and its descendants), matched against the kernel's
 * listening sockets, still say so. Those are asked of sock_diag, as ss -l does (only the
 * listening ones come back: ~0.14 ms however many connections sit in TIME_WAIT), or read
 * from /proc/PID/net/tcp, tcp6 (state 0A), udp, udp6 (a port, no peer), unix
 * (__SO_ACCEPTCON) — every socket of the namespace, ~7 ms with 4,300 of them — when the
 * program has a network namespace of its own or sock_diag is refused. */
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
