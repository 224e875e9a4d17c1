/* Process helpers for explore's runs: CPU time of a live process, loopback ports, the
 * check command, process groups, our children and their environments. */
#ifndef SF_PROC_H
#define SF_PROC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* CPU time (user + system) of a live process, in ms, from /proc; -1 if gone. */
long long sf_proc_cpu_ms(pid_t pid);
/* Time a live process spent running or waiting to run (schedstat), in ms: a spinning
 * process wants the CPU all the time even when other processes hold it. Falls back to
 * sf_proc_cpu_ms; -1 if gone. */
long long sf_proc_busy_ms(pid_t pid);
/* A loopback TCP port free right now (bind 127.0.0.1:0), or -1. */
int sf_free_port(void);
/* 1 when a loopback socket of ours is bound to port: TCP listening or UDP bound (from
 * /proc/net/{tcp,tcp6,udp,udp6}); 0 when none is, -1 when none could be read. */
int sf_port_bound(int port);
/* sh -c CMD in its own process group, stdio on /dev/null; pid or -1. */
pid_t sf_spawn_check(const char *cmd, const char *tmpdir);
/* SIGTERM/SIGKILL to a process group (pgid > 1 only: never everything). */
void sf_kill_group(pid_t pgid, int sig);
/* Our children (as a child subreaper, orphaned descendants too): up to max pids into out;
 * returns how many there are (may exceed max). */
size_t sf_children(pid_t *out, size_t max);
/* Whether the environment of a live process holds the entry kv ("NAME=value"). */
bool sf_proc_has_env(pid_t pid, const char *kv);

#endif
