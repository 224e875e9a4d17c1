/* The seccomp supervisor's processes and threads (used by seccomp.c): which process a
 * notification's thread belongs to, each process's counts, and the copies a fork makes under
 * the shim (a child goes on from its parent's counts, its main thread from the forking
 * thread's per=thread counts), kept exact across pid reuse. */
#ifndef SF_ENGINE_SECCOMP_PROCS_H
#define SF_ENGINE_SECCOMP_PROCS_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "decide.h"
#include "seccomp_deaths.h"
#include "seccomp_target.h"
#include "table.h"

#define SF_SUP_MAX_PROCS 256
#define SF_SUP_MAX_TIDS 1024

/* A process the supervisor has seen: its counters (the rules count per process, as the
 * shim's do), its occurrences per call for the log, a pidfd to read its fds and to know it
 * is still the process of that number. */
struct sf_proc {
  pid_t tgid;
  int pidfd;
  uint64_t id;  /* its end's report (seccomp_deaths.h) */
  bool watched; /* its end is reported; else its pidfd is polled */
  struct sf_rulestate rs;
  uint64_t seen[SF_NCALLS];
};

struct sf_procs {
  const struct sf_ruleset *rules;
  pid_t root;          /* --no-inherit: only its rules are armed */
  bool inherit;
  bool per_thread;     /* some rule counts per=thread: a fork copies a thread's counts */
  uint64_t base_seed;
  /* a new process (its first trapped call, or a child adopted at its parent's exit): for
   * the log's start record */
  void (*on_new)(void *arg, struct sf_proc *p, pid_t tid);
  void *arg;
  struct sf_proc *procs[SF_SUP_MAX_PROCS];
  unsigned nprocs;
  struct sf_tid tids[SF_SUP_MAX_TIDS]; /* each thread seen, its process, its per=thread counts */
  unsigned ntids, tid_next;
  int children_file;   /* /proc/PID/task/TID/children: 1 there, 0 not (a kernel without
                        * CONFIG_PROC_CHILDREN), -1 not yet known */
  bool warned_full;
  struct sf_deaths deaths; /* the ends of processes killed by a signal */
  uint64_t next_id;
};

/* An empty table (its fields set by the caller). */
void sf_procs_init(struct sf_procs *t);

/* The process of thread tid (a notification's req->pid: alive while its call waits), made
 * on its first call; NULL when it is gone or the table is full. verify: a cached entry's
 * process is checked to be alive (its end reported on the io_uring, else a poll of its
 * pidfd); without, the caller checks it by other means (a pidfd_getfd that succeeds) or
 * calls sf_procs_gone. */
struct sf_proc *sf_procs_of(struct sf_procs *t, pid_t tid, bool verify);

/* Whether p's process has ended; if so, p is dropped. */
bool sf_procs_gone(struct sf_procs *t, struct sf_proc *p);

/* Thread tid calls exit(2): forgotten, and if it is its process's last thread, *last gets
 * the process (to be ended by the caller as at exit_group), else NULL. */
void sf_procs_thread_exit(struct sf_procs *t, pid_t tid, struct sf_proc **last);

/* The entry of the process whose thread tid calls exit_group: its own, or, if it made no
 * trapped call, one made now when need_entry (the log's records) or when it leaves
 * children without an entry to hand its counts to; else NULL (nothing to do). */
struct sf_proc *sf_procs_at_exit(struct sf_procs *t, pid_t tid, bool need_entry);

/* Process p calls exit_group (still alive): its live children that have no entry yet get one
 * now, with p's counts, as the shim's copy gave them at the fork (a daemon's double fork:
 * the child's first call comes after its parent is gone and it is reparented). */
void sf_procs_adopt_children(struct sf_procs *t, struct sf_proc *p);

/* Forget p and its threads. */
void sf_procs_drop(struct sf_procs *t, struct sf_proc *p);

/* Forget all, and the io_uring. */
void sf_procs_free(struct sf_procs *t);

#endif
