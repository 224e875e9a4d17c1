/* Processes' ends through an io_uring's completion queue (seccomp_deaths.h). */
#define _GNU_SOURCE
#include "seccomp_deaths.h"

#include <errno.h>
#include <linux/io_uring.h>
#include <poll.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

/* one poll per live process (at most 256) and those dropped but not yet gone */
#define SF_DEATHS_ENTRIES 512

void sf_deaths_init(struct sf_deaths *d)
{
  memset(d, 0, sizeof *d);
  d->fd = -1;
}

static int sf_deaths_setup(struct sf_deaths *d)
{
  /* COOP_TASKRUN (Linux 5.19): a process's end does not wake the supervisor (an extra
   * context switch per process that ends); the completion is posted when the supervisor
   * next returns from a system call, the one that brings a later notification included */
  struct io_uring_params p;
  memset(&p, 0, sizeof p);
  p.flags = IORING_SETUP_COOP_TASKRUN;
  int fd = (int)syscall(SYS_io_uring_setup, SF_DEATHS_ENTRIES, &p);
  if (fd < 0 && errno == EINVAL) {
    memset(&p, 0, sizeof p);
    fd = (int)syscall(SYS_io_uring_setup, SF_DEATHS_ENTRIES, &p);
  }
  if (fd < 0)
    return -1;
  d->fd = fd;
  d->sq_len = p.sq_off.array + p.sq_entries * sizeof(unsigned);
  d->cq_len = p.cq_off.cqes + p.cq_entries * sizeof(struct io_uring_cqe);
  d->sqes_len = p.sq_entries * sizeof(struct io_uring_sqe);
  d->sq_ring = mmap(NULL, d->sq_len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd,
                    IORING_OFF_SQ_RING);
  d->cq_ring = mmap(NULL, d->cq_len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd,
                    IORING_OFF_CQ_RING);
  d->sqes = mmap(NULL, d->sqes_len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd,
                 IORING_OFF_SQES);
  if (d->sq_ring == MAP_FAILED || d->cq_ring == MAP_FAILED || d->sqes == MAP_FAILED) {
    sf_deaths_close(d);
    return -1;
  }
  char *sq = d->sq_ring, *cq = d->cq_ring;
  d->sq_head = (unsigned *)(sq + p.sq_off.head);
  d->sq_tail = (unsigned *)(sq + p.sq_off.tail);
  d->sq_mask = (unsigned *)(sq + p.sq_off.ring_mask);
  d->sq_array = (unsigned *)(sq + p.sq_off.array);
  d->cq_head = (unsigned *)(cq + p.cq_off.head);
  d->cq_tail = (unsigned *)(cq + p.cq_off.tail);
  d->cq_mask = (unsigned *)(cq + p.cq_off.ring_mask);
  d->cqes = cq + p.cq_off.cqes;
  return 0;
}

int sf_deaths_watch(struct sf_deaths *d, int pidfd, uint64_t id)
{
  if (d->fd == -1 && sf_deaths_setup(d) != 0)
    d->fd = -2;
  if (d->fd < 0 || pidfd < 0)
    return -1;
  const unsigned tail = *d->sq_tail, idx = tail & *d->sq_mask;
  if (tail - __atomic_load_n(d->sq_head, __ATOMIC_ACQUIRE) > *d->sq_mask)
    return -1; /* full (not with one submission at a time) */
  struct io_uring_sqe *sqe = (struct io_uring_sqe *)d->sqes + idx;
  memset(sqe, 0, sizeof *sqe);
  sqe->opcode = IORING_OP_POLL_ADD;
  sqe->fd = pidfd;
  sqe->poll32_events = POLLIN;
  sqe->user_data = id;
  d->sq_array[idx] = idx;
  __atomic_store_n(d->sq_tail, tail + 1, __ATOMIC_RELEASE);
  long rc;
  do
    rc = syscall(SYS_io_uring_enter, d->fd, 1, 0, 0, NULL, 0);
  while (rc < 0 && errno == EINTR);
  return rc == 1 ? 0 : -1;
}

bool sf_deaths_pending(const struct sf_deaths *d)
{
  return d->fd >= 0 && __atomic_load_n(d->cq_tail, __ATOMIC_ACQUIRE) != *d->cq_head;
}

void sf_deaths_reap(struct sf_deaths *d, void (*fn)(void *arg, uint64_t id, int res), void *arg)
{
  if (d->fd < 0)
    return;
  unsigned head = *d->cq_head;
  const unsigned tail = __atomic_load_n(d->cq_tail, __ATOMIC_ACQUIRE);
  for (; head != tail; head++) {
    const struct io_uring_cqe *cqe = (const struct io_uring_cqe *)d->cqes + (head & *d->cq_mask);
    fn(arg, cqe->user_data, cqe->res);
  }
  __atomic_store_n(d->cq_head, head, __ATOMIC_RELEASE);
}

void sf_deaths_close(struct sf_deaths *d)
{
  if (d->sq_ring && d->sq_ring != MAP_FAILED)
    munmap(d->sq_ring, d->sq_len);
  if (d->cq_ring && d->cq_ring != MAP_FAILED)
    munmap(d->cq_ring, d->cq_len);
  if (d->sqes && d->sqes != MAP_FAILED)
    munmap(d->sqes, d->sqes_len);
  if (d->fd >= 0)
    close(d->fd);
  sf_deaths_init(d);
  d->fd = -2;
}
