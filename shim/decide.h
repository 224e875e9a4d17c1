/*
 * The per-call decision, shared by the preloaded shim and the seccomp supervisor
 * (harness/engine/seccomp.c): which rules match a call, their counters, when/prob, the
 * errno. Pure: the caller fills what it knows of the call and supplies how to learn the rest
 * (the shim asks its fd table and the kernel, the supervisor reads the target through
 * pidfd_getfd), so both backends fault the same calls the same way.
 */
#ifndef SF_DECIDE_H
#define SF_DECIDE_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include "rules.h"
#include "table.h"

/* What a backend knows about one call, filled lazily. */
struct sf_ctx {
  int call;
  int fd;                     /* -1 when the call has none */
  int family, type;           /* -1 unknown */
  const struct sockaddr *addr;
  int port, peer;             /* -1 unknown */
  bool have_kind, have_ports;
  const void *site;           /* return address in the caller (shim), or the
                               * instruction pointer (seccomp) */
  const void *frame;          /* the calling function's frame pointer (shim; caller.h), or
                               * NULL */
  const int *sv;              /* socketpair's fds */
  void *backend;              /* the backend's own context (the supervisor's target) */
  int flags;                  /* MSG_* flags of the send and receive calls, else 0 */
  bool quiet;                 /* an injection of a for= rule the log skips */
  bool start_real;            /* set by the decision: perform the real call non-blocking (a
                               * connect the kernel would have started), then inject */
};

struct sf_rulestate;

/* How a backend learns about the socket behind c->fd; asked only when a filter or the log
 * needs it. Each returns 1 when it knew the answer, 0 when not. */
struct sf_ctx_ops {
  int (*fd_kind)(struct sf_ctx *c, int *family, int *type);
  /* the local port (want_port) and the peer's (want_peer), -1 when none */
  void (*fd_ports)(struct sf_ctx *c, bool want_port, bool want_peer, int *port, int *peer);
  int (*site_matches)(struct sf_ctx *c, const char *site);
  /* The socket's state, asked only once a rule has chosen an errno whose possibility depends
   * on it (docs/faithful.md), so paid per injection, never per call: */
  int (*fd_flags)(struct sf_ctx *c);               /* F_GETFL, or -1 */
  bool (*fd_timeout)(struct sf_ctx *c, int opt);   /* SO_RCVTIMEO/SO_SNDTIMEO is set */
  bool (*fd_ready)(struct sf_ctx *c, short events); /* poll(2) with no wait: events or an error */
  /* a signal could end a sleeping call with EINTR: a handler without SA_RESTART (the
   * synchronous signals' handlers do not count) */
  bool (*interruptible)(struct sf_ctx *c);
  /* per=thread: this thread's count of rule i's matches, incremented; st->gen tells when the
   * rules changed (the counts start afresh) */
  uint64_t (*thread_count)(struct sf_ctx *c, const struct sf_rulestate *st, unsigned i);
  /* per=tree: the count of rule i's matches in the process and every process forked from
   * it (one count for the tree), incremented */
  uint64_t (*tree_count)(struct sf_ctx *c, unsigned i);
};

/* Family and type, from the call's arguments, else its address, else the fd. */
void sf_ctx_fill_kind(struct sf_ctx *c, const struct sf_ctx_ops *ops);
/* Local and peer ports: from the address the call names, else from the socket. */
void sf_ctx_fill_ports(struct sf_ctx *c, const struct sf_ctx_ops *ops);

/* A rule set with its counters: one per process (the shim's, or the supervisor's per traced
 * process). Counters are atomic: threads decide concurrently in the shim. */
struct sf_rulestate {
  struct sf_ruleset rules;
  _Atomic uint64_t count[SF_MAX_RULES]; /* calls each rule matched */
  _Atomic uint64_t fired[SF_MAX_RULES]; /* failures each rule injected */
  uint64_t seed[SF_MAX_RULES];          /* the seed each rule draws with */
  _Atomic uint64_t injected;            /* failures injected, all rules */
  /* for= rules: when each first injected (CLOCK_MONOTONIC ns, 0 not yet) and when one of
   * its injections was last logged; slots a close freed while an EMFILE/ENFILE window is
   * open */
  _Atomic int64_t win_start[SF_MAX_RULES];
  _Atomic int64_t win_logged[SF_MAX_RULES];
  _Atomic long free_slots;
  bool slot_rules;                      /* some for= rule injects EMFILE or ENFILE */
  _Atomic uint64_t gen;                 /* bumped when the counters are reset (per=thread's) */
};

/* An errno to inject (> 0) or 0; *rule is the injecting rule, or -1. Without :force, only an
 * errno the kernel could return in the call's state (docs/faithful.md); c->start_real says
 * the fake must start the real call first. */
int sf_decide_rules(struct sf_rulestate *st, struct sf_ctx *c, const struct sf_ctx_ops *ops,
                    int *rule);

/* The faithful fakes' actions, the same under both backends (docs/faithful.md). When
 * c->start_real: sf_start_begin before the real call on fd (its flags returned, the fd made
 * non-blocking for the moment), sf_start_end after it: the errno to answer (the fake's, or
 * the real one when the call failed at once). */
int sf_start_begin(int fd);
int sf_start_end(int fd, int fl, long ret, int err, int inject);
/* An injected err is an EPIPE the kernel would send SIGPIPE with: from a send or write on a
 * stream or seqpacket socket without MSG_NOSIGNAL. The backend then sends it to the calling
 * thread. */
bool sf_fake_sigpipe_due(struct sf_ctx *c, const struct sf_ctx_ops *ops, int err);

/* Seeds (a rule's own seed=, else base + its index), counters and windows zeroed, and
 * slot_rules set. */
void sf_rulestate_seed(struct sf_rulestate *st, uint64_t base);
/* dst's counters, windows and injections set to src's: what a forked child's copy of the
 * shim starts with (the seccomp supervisor does the same for a child it first sees). */
void sf_rulestate_copy_counts(struct sf_rulestate *dst, const struct sf_rulestate *src);
/* Counters and windows zeroed, the per=thread counts too (the control API's reset). */
void sf_rulestate_reset(struct sf_rulestate *st);

/* A descriptor was closed: while an EMFILE/ENFILE for= window is open, the next matching
 * call gets the freed slot (a full table's behaviour). */
void sf_rulestate_slot_freed(struct sf_rulestate *st);

/* The errno a rule injects on every call it covers, whatever the count, the draw, the
 * arguments and the socket's state, on this call (no when, prob, filter or error=any; an
 * errno that is always faithful, or :force), or 0. Such a rule can be compiled into a
 * seccomp filter (SECCOMP_RET_ERRNO). */
int sf_rule_constant_errno(const struct sf_rule *r, int call);

/* Port of an AF_INET/AF_INET6 address, or -1. */
int sf_sockaddr_port(const struct sockaddr *sa) __attribute__((visibility("hidden")));

#endif
