/* What a decision asks of a call the seccomp supervisor trapped (decide.h's ops), answered
 * from the target: its socket through our own copy of it, its memory, its /proc entries; and
 * the faithful fakes' actions on it. Used by seccomp.c. */
#ifndef SF_ENGINE_SECCOMP_TARGET_H
#define SF_ENGINE_SECCOMP_TARGET_H

#include <linux/seccomp.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>

#include "decide.h"

/* A thread the supervisor has seen: its process, and its per=thread counts. */
struct sf_tid {
  pid_t tid, tgid;
  uint64_t gen;                 /* the rule state's generation the counts belong to */
  uint64_t count[SF_MAX_RULES]; /* per=thread: this thread's matches of each rule */
};

/* One trapped call of a target (c->backend of its sf_ctx). */
struct sf_target {
  int listener;                     /* the notification fd */
  const struct seccomp_notif *req;  /* the call: req->pid is the calling thread */
  pid_t tgid;                       /* its process */
  int pidfd;                        /* the process's pidfd, or -1 */
  struct sf_tid *tids;              /* the threads seen, for per=thread */
  uint64_t *tree;                   /* per=tree: one count per rule for all the processes */
  unsigned ntids;
  int dup;       /* the target's fd in this process, -1 until asked; -2: could not */
  char site[160];
  bool have_site;
};

extern const struct sf_ctx_ops sf_sup_ops;
/* The target's fd c->fd, dup'd here once (pidfd_getfd; checked against pid reuse), or < 0. */
int sf_target_fd(struct sf_ctx *c);
/* MODULE+0xOFFSET of the call's instruction pointer. */
const char *sf_sup_site(struct sf_ctx *c);
/* The MSG_* flags argument of the send and receive calls, else 0. */
int sf_msg_flags(int call, const __u64 *a);
/* The address a call names, read from the target into ss (c->addr then points there). */
void sf_read_addr(struct sf_ctx *c, struct sockaddr_storage *ss);
/* The real connect of an EINPROGRESS/EINTR fake; the errno to answer. */
int sf_sup_start_connect(struct sf_ctx *c, socklen_t len, int inject);
/* SIGPIPE to the calling thread with an injected EPIPE, as the kernel sends it. */
void sf_sup_sigpipe(struct sf_ctx *c, int err);

#endif
