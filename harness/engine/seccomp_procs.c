/* The seccomp supervisor's processes and threads (seccomp_procs.h).
 *
 * A notification names the calling thread (its tid), and the counts belong to its process:
 * the tid's process is cached, since reading /proc/TID/status on every call would cost more
 * than the rest of the supervisor's work. The cache must forget a thread when it ends, or a
 * later task given the same number (pid reuse) would be counted as the dead thread's process,
 * with its counts and its pidfd. Threads end three ways, each seen:
 *   - exit(2) (a thread returning, pthread_exit): trapped, its tid forgotten at once. Chosen
 *     over checking every cached tid against /proc (a read per call) or opening a pidfd per
 *     thread (a poll per call and an fd per thread): one round trip per thread's end, where
 *     thread creation and exit cost more than that already (bench: docs/sockfault.1 BACKENDS);
 *   - exit_group: trapped, the process and all its tids forgotten;
 *   - a fatal signal, with no system call: the process's pidfd turns readable once the whole
 *     group is gone, which an io_uring poll reports (seccomp_deaths.h: read before each
 *     lookup, from shared memory); the entry and its tids are dropped. Without io_uring, the
 *     pidfd is polled on each cache hit (one system call per trapped call, about 1.5 us here,
 *     a tenth of the round trip); a call on a generic fd (read, write, close) skips that poll,
 *     as its pidfd_getfd from the entry's pidfd (done anyway) fails when the process is gone.
 * Not seen: the threads an exec by a non-main thread kills (de_thread); their tids stay mapped
 * to the process until it ends (docs/sockfault.1 BACKENDS).
 */
#define _GNU_SOURCE
#include "seccomp_procs.h"

#include "proc.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

/* The start of a /proc file, NUL-terminated: its length, or -1 (nothing read). */
static ssize_t sf_proc_read(const char *path, char *buf, size_t size)
{
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  ssize_t n = fd >= 0 ? read(fd, buf, size - 1) : -1;
  if (fd >= 0)
    close(fd);
  buf[n > 0 ? n : 0] = '\0';
  return n > 0 ? n : -1;
}

/* A task's process (Tgid), that process's parent (PPid) and its number of threads, from
 * /proc/TID/status; -1 when gone. */
static int sf_status_of(pid_t tid, pid_t *tgid, pid_t *ppid, int *threads)
{
  char path[64], buf[1536];
  snprintf(path, sizeof path, "/proc/%d/status", (int)tid);
  if (sf_proc_read(path, buf, sizeof buf) < 0)
    return -1;
  const char *tg = strstr(buf, "\nTgid:"), *pp = strstr(buf, "\nPPid:"),
             *th = strstr(buf, "\nThreads:");
  if (!tg)
    return -1;
  *tgid = (pid_t)strtol(tg + 6, NULL, 10);
  if (ppid)
    *ppid = pp ? (pid_t)strtol(pp + 6, NULL, 10) : -1;
  if (threads)
    *threads = th ? (int)strtol(th + 9, NULL, 10) : -1;
  return 0;
}

/* Still the process the entry was made for: its end not reported (after sf_deaths_check),
 * or its pidfd not readable (a pidfd polls readable once the whole thread group has ended). */
static bool sf_proc_alive(const struct sf_proc *p)
{
  struct pollfd pf = {.fd = p->pidfd, .events = POLLIN};
  return p->watched || p->pidfd < 0 || poll(&pf, 1, 0) == 0;
}

static void sf_on_death(void *arg, uint64_t id, int res)
{
  struct sf_procs *t = arg;
  for (unsigned i = 0; i < t->nprocs; i++)
    if (t->procs[i]->id == id) {
      if (res < 0)
        t->procs[i]->watched = false; /* polled from now on */
      else
        sf_procs_drop(t, t->procs[i]);
      return;
    } /* else dropped already (its exit_group) */
}

/* The processes whose end was reported: dropped. No system call when none was. */
static void sf_deaths_check(struct sf_procs *t)
{
  if (sf_deaths_pending(&t->deaths))
    sf_deaths_reap(&t->deaths, sf_on_death, t);
}

void sf_procs_init(struct sf_procs *t)
{
  memset(t, 0, sizeof *t);
  t->children_file = -1;
  sf_deaths_init(&t->deaths);
}

void sf_procs_free(struct sf_procs *t)
{
  while (t->nprocs > 0)
    sf_procs_drop(t, t->procs[0]);
  sf_deaths_close(&t->deaths);
}

static int sf_tid_find(const struct sf_procs *t, pid_t tid)
{
  for (unsigned i = 0; i < t->ntids; i++)
    if (t->tids[i].tid == tid)
      return (int)i;
  return -1;
}

static void sf_tid_remove(struct sf_procs *t, unsigned i)
{
  t->tids[i] = t->tids[--t->ntids];
}

/* The entry of thread tid (of process tgid), made empty if new. */
static struct sf_tid *sf_tid_add(struct sf_procs *t, pid_t tid, pid_t tgid)
{
  int k = sf_tid_find(t, tid);
  if (k >= 0)
    return &t->tids[k];
  unsigned slot = t->ntids < SF_SUP_MAX_TIDS ? t->ntids++ : t->tid_next++ % SF_SUP_MAX_TIDS;
  t->tids[slot] = (struct sf_tid){.tid = tid, .tgid = tgid};
  return &t->tids[slot];
}

static struct sf_proc *sf_proc_find(const struct sf_procs *t, pid_t tgid)
{
  for (unsigned i = 0; i < t->nprocs; i++)
    if (t->procs[i]->tgid == tgid)
      return t->procs[i];
  return NULL;
}

/* A process that ended without exit_group reaching us (killed by a signal, a crash) stays in
 * the table: its pidfd then polls readable. Drop such entries; how many were dropped. */
static unsigned sf_proc_sweep(struct sf_procs *t)
{
  const unsigned before = t->nprocs;
  sf_deaths_check(t);
  unsigned dropped = before - t->nprocs;
  for (unsigned i = 0; i < t->nprocs;) {
    if (!sf_proc_alive(t->procs[i])) {
      sf_procs_drop(t, t->procs[i]); /* moves the last entry to i */
      dropped++;
    } else {
      i++;
    }
  }
  return dropped;
}

static bool sf_listed(const struct sf_procs *t, const struct sf_proc *p)
{
  for (unsigned i = 0; i < t->nprocs; i++)
    if (t->procs[i] == p)
      return true;
  return false;
}

/* per=thread across a fork: the child's main thread goes on from the forking thread's counts,
 * as the shim's __thread counts do in the child. The supervisor does not see which thread
 * forked: when the parent has one thread (the usual fork), that one's counts are copied;
 * with more, the child's main thread starts from zero (docs/sockfault.1 BACKENDS). */
static void sf_copy_thread_counts(struct sf_procs *t, const struct sf_proc *parent,
                                  const struct sf_proc *child)
{
  pid_t tgid;
  int threads;
  if (!t->per_thread || sf_status_of(parent->tgid, &tgid, NULL, &threads) != 0 || threads != 1)
    return;
  int from = -1;
  for (unsigned i = 0; i < t->ntids; i++)
    if (t->tids[i].tgid == parent->tgid) {
      if (from >= 0)
        return; /* a thread that ended unseen (an exec's): which one forked is not known */
      from = (int)i;
    }
  const uint64_t gen = atomic_load(&parent->rs.gen) + 1;
  if (from < 0 || t->tids[from].gen != gen)
    return; /* its counts are zero, or from before a reset */
  const struct sf_tid src = t->tids[from];
  struct sf_tid *e = sf_tid_add(t, child->tgid, child->tgid);
  memcpy(e->count, src.count, sizeof e->count);
  e->gen = atomic_load(&child->rs.gen) + 1;
}

/* A new entry for process tgid (alive now; pidfd, if >= 0, is its pidfd), going on from
 * parent's counts if not NULL. NULL when the table is full. */
static struct sf_proc *sf_proc_new(struct sf_procs *t, pid_t tgid, int pidfd,
                                   const struct sf_proc *parent)
{
  if (t->nprocs == SF_SUP_MAX_PROCS && sf_proc_sweep(t) > 0 && parent && !sf_listed(t, parent))
    parent = NULL; /* it was one of the dead swept out */
  if (t->nprocs == SF_SUP_MAX_PROCS) {
    if (!t->warned_full)
      fprintf(stderr, "sockfault: warning: more than %d live processes under the seccomp "
                      "backend: the calls of the others are let through, not faulted nor "
                      "logged\n", SF_SUP_MAX_PROCS);
    t->warned_full = true;
    if (pidfd >= 0)
      close(pidfd);
    return NULL;
  }
  struct sf_proc *p = calloc(1, sizeof *p);
  if (!p) {
    if (pidfd >= 0)
      close(pidfd);
    return NULL;
  }
  p->tgid = tgid;
  p->pidfd = pidfd >= 0 ? pidfd : (int)syscall(SYS_pidfd_open, tgid, 0);
  p->id = ++t->next_id;
  p->watched = sf_deaths_watch(&t->deaths, p->pidfd, p->id) == 0;
  /* --no-inherit: only the root process is faulted */
  if (t->inherit || tgid == t->root)
    p->rs.rules = *t->rules;
  sf_rulestate_seed(&p->rs, t->base_seed);
  /* A forked child goes on from its parent's counts, as the shim's copy of its memory does
   * (the counts as they are when its first trapped call is seen, or when the parent exits:
   * the parent's trapped calls since the fork, if any, are counted in too; docs/sockfault.1
   * BACKENDS). */
  if (parent && p->rs.rules.n) {
    sf_rulestate_copy_counts(&p->rs, &parent->rs);
    memcpy(p->seen, parent->seen, sizeof p->seen);
    sf_copy_thread_counts(t, parent, p);
  }
  t->procs[t->nprocs++] = p;
  return p;
}

bool sf_procs_gone(struct sf_procs *t, struct sf_proc *p)
{
  sf_deaths_check(t);
  if (!sf_listed(t, p))
    return true; /* its end was just reported */
  if (sf_proc_alive(p))
    return false;
  sf_procs_drop(t, p);
  return true;
}

struct sf_proc *sf_procs_of(struct sf_procs *t, pid_t tid, bool verify)
{
  sf_deaths_check(t);
  int k = sf_tid_find(t, tid);
  if (k >= 0) {
    struct sf_proc *p = sf_proc_find(t, t->tids[k].tgid);
    if (p && (!verify || sf_proc_alive(p)))
      return p;
    /* the process the tid was cached for was killed (no exit_group came): the number is
     * another task's now, looked up afresh */
    if (p)
      sf_procs_drop(t, p);
    else
      sf_tid_remove(t, (unsigned)k);
  }
  pid_t tgid, ppid;
  if (sf_status_of(tid, &tgid, &ppid, NULL) != 0)
    return NULL;
  struct sf_proc *p = sf_proc_find(t, tgid);
  if (p && !sf_proc_alive(p)) {
    sf_procs_drop(t, p);
    p = NULL;
  }
  if (!p) {
    /* A parent that made no trapped call has no entry: its counts are its own parent's, so
     * the nearest ancestor with one is copied (a daemon's child could otherwise be seen
     * before its parent's exit_group hands it the counts, and start from zero). */
    struct sf_proc *parent = NULL;
    for (int up = 0; ppid > 1 && up < 16 && !(parent = sf_proc_find(t, ppid)); up++)
      ppid = sf_proc_ppid(ppid);
    p = sf_proc_new(t, tgid, -1, parent && sf_proc_alive(parent) ? parent : NULL);
    if (!p)
      return NULL;
    if (t->on_new)
      t->on_new(t->arg, p, tid);
  }
  sf_tid_add(t, tid, tgid);
  return p;
}

void sf_procs_thread_exit(struct sf_procs *t, pid_t tid, struct sf_proc **last)
{
  *last = NULL;
  int k = sf_tid_find(t, tid);
  if (k < 0)
    return; /* a thread that made no trapped call: nothing to forget */
  const pid_t tgid = t->tids[k].tgid;
  sf_tid_remove(t, (unsigned)k);
  /* the main thread's exit(2) ends the process when it is the only thread (a program that
   * ends with the exit system call, not exit_group); a last thread other than the main one
   * is not checked (a read of /proc per thread's end): its process's pidfd says it later */
  pid_t g;
  int threads;
  if (tid == tgid && sf_status_of(tid, &g, NULL, &threads) == 0 && threads <= 1)
    *last = sf_proc_find(t, tgid);
}

/* Something to copy: a count, an occurrence or a per=thread count that is not zero (else the
 * child's own fresh entry is the same). */
static bool sf_proc_counted(const struct sf_procs *t, const struct sf_proc *p)
{
  for (unsigned i = 0; i < p->rs.rules.n; i++)
    if (atomic_load(&p->rs.count[i]) || atomic_load(&p->rs.fired[i]))
      return true;
  for (unsigned c = 0; c < SF_NCALLS; c++)
    if (p->seen[c])
      return true;
  for (unsigned i = 0; i < t->ntids && t->per_thread; i++)
    if (t->tids[i].tgid == p->tgid)
      return true;
  return false;
}

/* Up to max live children of process tgid: each thread's /proc/TGID/task/TID/children, or,
 * on a kernel without those files (no CONFIG_PROC_CHILDREN), the parent of each process made
 * after it (/proc/PID/stat): slower, a read per such process at each exit of a process with
 * counts. */
static unsigned sf_live_children(struct sf_procs *t, pid_t tgid, pid_t *out, unsigned max)
{
  char path[320], buf[4096];
  unsigned n = 0;
  if (t->children_file != 0) {
    snprintf(path, sizeof path, "/proc/%d/task", (int)tgid);
    DIR *d = opendir(path);
    struct dirent *de;
    while (d && (de = readdir(d)) != NULL && n < max) {
      if (de->d_name[0] < '0' || de->d_name[0] > '9')
        continue;
      snprintf(path, sizeof path, "/proc/%d/task/%s/children", (int)tgid, de->d_name);
      int fd = open(path, O_RDONLY | O_CLOEXEC);
      if (fd < 0 && errno == ENOENT && t->children_file < 0) {
        t->children_file = 0; /* the kernel has none: the scan below */
        break;
      }
      t->children_file = 1;
      ssize_t k = fd >= 0 ? read(fd, buf, sizeof buf - 1) : -1;
      if (fd >= 0)
        close(fd);
      buf[k > 0 ? k : 0] = '\0';
      for (char *s = buf, *end; n < max; s = end) {
        long pid = strtol(s, &end, 10);
        if (end == s)
          break;
        out[n++] = (pid_t)pid;
      }
    }
    if (d)
      closedir(d);
    if (t->children_file != 0)
      return n;
  }
  /* A child's number was given after its parent's: above it, or, once the numbers have
   * wrapped around (the last given is below the parent's), up to the last given. Only those
   * are read (at a fork-and-exit loop's exits, the few processes made since; a child is
   * missed only when the numbers went a whole round and past the parent's again while it
   * lived). */
  long last = LONG_MAX;
  if (sf_proc_read("/proc/sys/kernel/ns_last_pid", buf, 32) > 0)
    last = strtol(buf, NULL, 10);
  /* few numbers given since the parent's (its children's exits in a fork loop): each one
   * tried, a missing /proc entry one failed open; else the processes listed */
  const bool probe = last >= tgid && last - tgid <= 64;
  DIR *d = probe ? NULL : opendir("/proc");
  struct dirent *de = NULL;
  for (long next = tgid + 1; n < max;) {
    long pid;
    if (probe) {
      if (next > last)
        break;
      pid = next++;
    } else {
      if (!d || (de = readdir(d)) == NULL)
        break;
      if (de->d_name[0] < '0' || de->d_name[0] > '9')
        continue;
      pid = strtol(de->d_name, NULL, 10);
    }
    if (pid <= tgid && !(last < tgid && pid <= last))
      continue;
    if (sf_proc_ppid((pid_t)pid) == tgid)
      out[n++] = (pid_t)pid;
  }
  if (d)
    closedir(d);
  return n;
}

void sf_procs_adopt_children(struct sf_procs *t, struct sf_proc *p)
{
  if (!p->rs.rules.n || !sf_proc_counted(t, p))
    return;
  pid_t kids[64]; /* bounded: a parent with more children copies its counts to the first 64 */
  unsigned n = sf_live_children(t, p->tgid, kids, sizeof kids / sizeof kids[0]);
  for (unsigned i = 0; i < n; i++) {
    if (sf_proc_find(t, kids[i]))
      continue; /* it has counts of its own already */
    int pidfd = (int)syscall(SYS_pidfd_open, kids[i], 0);
    pid_t tgid, ppid;
    /* the pidfd is of the child, not of a process given its number since it was listed */
    if (pidfd < 0 || sf_status_of(kids[i], &tgid, &ppid, NULL) != 0 || ppid != p->tgid ||
        tgid != kids[i]) {
      if (pidfd >= 0)
        close(pidfd);
      continue;
    }
    struct sf_proc *c = sf_proc_new(t, kids[i], pidfd, p);
    if (!c)
      return;
    sf_tid_add(t, c->tgid, c->tgid);
    if (t->on_new)
      t->on_new(t->arg, c, c->tgid);
  }
}

struct sf_proc *sf_procs_at_exit(struct sf_procs *t, pid_t tid, bool need_entry)
{
  sf_deaths_check(t);
  const int k = sf_tid_find(t, tid);
  if (need_entry || k >= 0)
    return sf_procs_of(t, tid, true);
  /* a process that made no trapped call: its counts are its parent's; an entry (a /proc
   * read, a pidfd, its watch: a third of a fork-and-exit loop's cost here) only when it
   * leaves children to hand them to */
  /* /proc/TID/task is its process's threads, whichever thread TID is; the scan of parents
   * (no children files) needs the process's number */
  pid_t tgid = tid, ppid;
  if (t->children_file == 0 && sf_status_of(tid, &tgid, &ppid, NULL) != 0)
    return NULL;
  pid_t kids[64];
  unsigned n = sf_live_children(t, tgid, kids, sizeof kids / sizeof kids[0]), orphans = 0;
  for (unsigned i = 0; i < n; i++)
    orphans += sf_proc_find(t, kids[i]) == NULL;
  if (!orphans || sf_status_of(tid, &tgid, &ppid, NULL) != 0)
    return NULL;
  struct sf_proc *p = sf_proc_find(t, tgid), *parent = ppid > 0 ? sf_proc_find(t, ppid) : NULL;
  if (!p && (!parent || !parent->rs.rules.n || !sf_proc_counted(t, parent)))
    return NULL; /* its children would start from zero all the same */
  return sf_procs_of(t, tid, true);
}

void sf_procs_drop(struct sf_procs *t, struct sf_proc *p)
{
  for (unsigned i = 0; i < t->ntids;)
    if (t->tids[i].tgid == p->tgid)
      sf_tid_remove(t, i);
    else
      i++;
  for (unsigned i = 0; i < t->nprocs; i++)
    if (t->procs[i] == p) {
      t->procs[i] = t->procs[--t->nprocs];
      break;
    }
  if (p->pidfd >= 0)
    close(p->pidfd);
  free(p);
}
