/* Process helpers for explore's runs: CPU time of a live process, loopback ports, the
 * check command, process groups, our children and their environments. */
#ifndef SF_PROC_H
#define SF_PROC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* A live process's parent (PPid, from /proc/PID/stat); -1 if gone. */
pid_t sf_proc_ppid(pid_t pid);
/* CPU time (user + system) of a live process, in ms, from /proc; -1 if gone. */
long long sf_proc_cpu_ms(pid_t pid);
/* Time a live process's threads spent running or waiting to run (their schedstat), in ms: a
 * spinning thread wants the CPU all the time even when other processes hold it. Falls back to
 * sf_proc_cpu_ms; -1 if gone. A thread that ended takes its share with it. */
long long sf_proc_busy_ms(pid_t pid);
/* Processes of a run looked at (pids.max of its cgroup: 512). */
#define SF_TREE_MAX 256
/* A run's processes: its cgroup's (cgdir, every process of the run wherever it went), else,
 * cgdir NULL or "", root and its descendants breadth first (/proc/PID/task/TID/children).
 * Up to max pids into out; how many. */
size_t sf_tree_pids(pid_t root, const char *cgdir, pid_t *out, size_t max);
/* sf_proc_busy_ms summed over the run's processes: a spin in a worker thread or a forked
 * worker counts, not only the main thread's. -1 when none could be read. */
long long sf_tree_busy_ms(pid_t root, const char *cgdir);
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
