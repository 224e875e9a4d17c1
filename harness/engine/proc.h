/* Small process and file helpers for explore's runs: clocks, CPU time of a live process,
 * loopback ports, temp trees, the check command, and bounded capture of a child's output. */
#ifndef SF_PROC_H
#define SF_PROC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

long long sf_now_ms(void);
/* CPU time (user + system) of a live process, in ms, from /proc; -1 if gone. */
long long sf_proc_cpu_ms(pid_t pid);
/* Time a live process spent running or waiting to run (schedstat), in ms: a spinning
 * process wants the CPU all the time even when other processes hold it. Falls back to
 * sf_proc_cpu_ms; -1 if gone. */
long long sf_proc_busy_ms(pid_t pid);
/* A loopback TCP port free right now (bind 127.0.0.1:0), or -1. */
int sf_free_port(void);
/* rm -rf, without following symlinks. 0 or -1. */
int sf_rmtree(const char *path);
/* Empty the directory at path (rm -rf of what is in it) if it is still the one we made:
 * the device and inode given, mode 0700, ours. 0, or -1 when it is not or something in it
 * could not be removed. */
int sf_dir_empty(const char *path, dev_t dev, ino_t ino);
/* sh -c CMD in its own process group, stdio on /dev/null; pid or -1. */
pid_t sf_spawn_check(const char *cmd, const char *tmpdir);
/* SIGTERM/SIGKILL to a process group (pgid > 1 only: never everything). */
void sf_kill_group(pid_t pgid, int sig);
/* Our children (as a child subreaper, orphaned descendants too): up to max pids into out;
 * returns how many there are (may exceed max). */
size_t sf_children(pid_t *out, size_t max);
/* stderr may carry a status line redrawn in place (explore's progress on a terminal): say
 * whether one is on screen, and sf_warn erases it before its message (the next redraw
 * brings it back), so that a message never lands on the end of it. */
void sf_status_shown(bool shown);
void sf_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Whether the environment of a live process holds the entry kv ("NAME=value"). */
bool sf_proc_has_env(pid_t pid, const char *kv);

/* What a child printed: a hash of the whole stream and a bounded tail. */
#define SF_TAIL_MAX 4096
struct sf_capture {
  uint64_t hash;                 /* FNV-1a 64 over every byte */
  unsigned long long bytes;
  char tail[SF_TAIL_MAX];        /* ring buffer of the last bytes */
  size_t tail_len, tail_pos;
  char carry[64];                /* end of the previous chunk, for patterns split by reads */
  size_t carry_len;
  const char *sanitizer;         /* name of the first sanitizer report seen, or NULL */
  bool scan_sanitizer;
  int echo_fd;                   /* copy everything here as it arrives, or -1 */
};
void sf_capture_init(struct sf_capture *c, bool scan_sanitizer, int echo_fd);
/* The errno of the first echo to fd 1 that failed (replay's stdout full or closed), or 0:
 * the verb's end turns it into exit 7, as for its own writes to stdout. */
extern int sf_echo_errno;
void sf_capture_feed(struct sf_capture *c, const char *buf, size_t len);
/* The tail as a malloc'd string (NULL when out of memory). */
char *sf_capture_tail(const struct sf_capture *c);
void sf_capture_hex(const struct sf_capture *c, char out[17]);
/* Read what fd has now (non-blocking) into c: 1 at EOF or error, 0 when drained, 2 when
 * more may be waiting (reads are bounded per call so one flood cannot starve the rest). */
int sf_capture_read(struct sf_capture *c, int fd);

#endif
