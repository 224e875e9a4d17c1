/* Which of the supervisor's processes have ended, known without a system call per trapped
 * call (used by seccomp_procs.c): a poll of each process's pidfd is queued on an io_uring,
 * and its completion queue, shared memory, is read on each lookup. A process killed by a
 * signal makes no system call the filter could trap; polling its pidfd on every call cost a
 * tenth of the round trip (bench/seccomp_rate.sh). Where io_uring is refused (a container's
 * seccomp profile, kernel.io_uring_disabled), the caller polls each pidfd itself. */
#ifndef SF_ENGINE_SECCOMP_DEATHS_H
#define SF_ENGINE_SECCOMP_DEATHS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct sf_deaths {
  int fd;                 /* the io_uring; -1 before the first watch, -2 refused */
  void *sq_ring, *cq_ring, *sqes;
  size_t sq_len, cq_len, sqes_len;
  unsigned *sq_head, *sq_tail, *sq_mask, *sq_array;
  unsigned *cq_head, *cq_tail, *cq_mask;
  void *cqes;
};

/* fd -1: nothing set up yet (done at the first watch, in the supervising process). */
void sf_deaths_init(struct sf_deaths *d);

/* Watch pidfd: id is reported once its process has ended. 0, or -1 (the caller polls the
 * pidfd itself). */
int sf_deaths_watch(struct sf_deaths *d, int pidfd, uint64_t id);

/* Whether a report waits: a read of shared memory, no system call. A process's end is
 * queued by the kernel before its number can be given again, and is in the queue by the
 * time the supervisor's next system call returns (the io_uring's task work), so a lookup
 * after the notification that names the number sees it. */
bool sf_deaths_pending(const struct sf_deaths *d);

/* The ids of the processes that have ended since the last call, each once, to fn, with
 * res >= 0; res < 0: that watch failed (the process's end is not known from here). */
void sf_deaths_reap(struct sf_deaths *d, void (*fn)(void *arg, uint64_t id, int res), void *arg);

void sf_deaths_close(struct sf_deaths *d);

#endif
