/* All of the shim's runtime state, in one struct (SQLite's fault simulator does the same). */
#ifndef SF_STATE_H
#define SF_STATE_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/uio.h>

#include "decide.h"
#include "rules.h"
#include "table.h"

#define SF_LIKELY(x) __builtin_expect(!!(x), 1)
#define SF_UNLIKELY(x) __builtin_expect(!!(x), 0)
#define SF_HIDDEN __attribute__((visibility("hidden")))

/* fds below SF_FD_TRACK whose being a socket the shim has proved (fdtab.c). */
#define SF_FD_TRACK 65536

enum sf_log_level { SF_LOG_OFF, SF_LOG_FAULTS, SF_LOG_ALL };
enum sf_init_state { SF_INIT_NONE, SF_INIT_RUNNING, SF_INIT_DONE };

/* The next definition of every intercepted call. */
struct sf_real {
#define SF_CALL(name, ret, params, args, fail, ctx, kind, errnos) ret(*name) params;
#include "calls.def"
#undef SF_CALL
};

struct sf_state {
  /* Bit per call id: that call may take the fast path (no rule covers it, the log does not
   * want it, fds are not being tracked). Zero until initialisation is done, so the whole
   * struct starts zeroed: it lives in .bss and only the pages it touches become resident
   * (initialised, its 540 KiB sat in .data and were read in from the file). */
  _Atomic uint64_t fast;
  _Atomic int init;
  struct sf_rulestate rs;  /* the rules and their counters (decide.h) */
  uint64_t armed;       /* calls some rule covers */
  /* Keep fdtab.c's socket table: a rule on a generic fd call, the log or a family/type filter
   * reads it; creations and closes are then on the slow path. */
  _Atomic bool track_fds;
  /* Keep the sockets' ports in that table too: a port= filter or the log reads them; the
   * calls that may change them (SF_K_ADDR) are then on the slow path. */
  _Atomic bool track_ports;
  bool inherit;         /* faults reach child processes (SOCKFAULT_INHERIT) */
  _Atomic uint64_t seen[SF_NCALLS];      /* occurrences of each call (for the log) */
  int log_fd;
  char log_path[4096];                   /* absolute: reopened when the program closed it */
  _Atomic int log_reopens;
  enum sf_log_level log_level;
  int log_context;                       /* SOCKFAULT_LOG_CONTEXT: 2 logs each site's caller */
  dev_t log_dev;
  ino_t log_ino;
  _Atomic bool log_broken;
  _Atomic uint64_t log_dropped;          /* records not written (disk full, too long) */
  _Atomic int fd_hwm;                    /* above every fd the table has touched */
  _Atomic uint64_t fdkind[SF_FD_TRACK];
};

extern struct sf_state sf_g SF_HIDDEN;
extern struct sf_real sf_real SF_HIDDEN;

/* real.c */
void sf_real_resolve(void) SF_HIDDEN;
void *sf_real_lookup(const char *name) SF_HIDDEN;
void sf_die(int status, const char *msg) SF_HIDDEN __attribute__((noreturn));
void sf_write_all(int fd, const char *buf, size_t len) SF_HIDDEN;
void sf_note(const char *a, const char *b, const char *c) SF_HIDDEN;

/* init.c */
void sf_init(void) SF_HIDDEN;
void sf_arm(void) SF_HIDDEN;

/* ctx.c: the shim's side of the decision (decide.h): a context completed from the fd table
 * and the kernel. An errno to inject (> 0) or 0; *rule says which rule. */
int sf_decide(struct sf_ctx *c, int *rule) SF_HIDDEN;
void sf_ctx_kind(struct sf_ctx *c) SF_HIDDEN;
void sf_ctx_ports(struct sf_ctx *c) SF_HIDDEN;
/* A descriptor was closed: while an EMFILE/ENFILE for= window is open, the next matching
 * call gets the freed slot (decide.c). */
void sf_slot_freed(void) SF_HIDDEN;
/* per=tree's counts zeroed (the whole tree's: every process sharing them); their shared page
 * made first if wanted (some rule has per=tree) and not made yet, or, at start, taken over
 * from the process that exec'd us (SOCKFAULT_TREE_FD), then not zeroed (ctx.c). */
void sf_tree_reset(bool wanted, bool start) SF_HIDDEN;
/* ctx.c: after an injected EPIPE from a send or write on a stream socket without MSG_NOSIGNAL:
 * SIGPIPE to the calling thread, as the kernel sends it (its disposition decides). */
void sf_fake_sigpipe(struct sf_ctx *c, int err) SF_HIDDEN;

/* fdtab.c: is this fd a socket (1) or not (0), and which kind; what the shim saw happen. */
int sf_fd_is_socket(int fd) SF_HIDDEN;
int sf_fd_kind(int fd, int *family, int *type) SF_HIDDEN;
/* The local port and the peer's (-1: none) of the calls that want them; true if the kernel
 * was asked. */
bool sf_fd_ports(int fd, bool want_port, bool want_peer, int *port, int *peer) SF_HIDDEN;
/* fresh: made by socket()/socketpair(), so unbound and unconnected */
void sf_fd_created(int fd, int family, int type, bool fresh) SF_HIDDEN;
void sf_fd_addr_event(int fd, int call, const struct sockaddr *addr, long ret) SF_HIDDEN;
void sf_fd_forget(int fd) SF_HIDDEN;
void sf_fd_forget_from(unsigned lo, unsigned hi) SF_HIDDEN;
void sf_fdtab_resolve(void) SF_HIDDEN;

/* log.c */
struct sf_record {
  struct sf_ctx *ctx;
  uint64_t n;       /* occurrence of this call */
  long ret;
  int err;          /* errno when ret signals failure */
  int rule;         /* injecting rule, -1 if none */
};
/* Open the log at path (no symbolic link in any component, a regular file of our own with
 * one link); 0, or -1 with the reason in why. */
int sf_log_open(const char *path, char *why, size_t whylen) SF_HIDDEN;
void sf_log_after_fork(void) SF_HIDDEN;
/* This process's pid, asked once (again after fork). */
int sf_self_pid(void) SF_HIDDEN;
void sf_log_call(const struct sf_record *rec) SF_HIDDEN;
void sf_log_event(const char *event, const char *extra_json) SF_HIDDEN;
int sf_count_open_sockets(void) SF_HIDDEN;

#endif
