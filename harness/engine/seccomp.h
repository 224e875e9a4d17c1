/*
 * The seccomp backend: faults for programs LD_PRELOAD cannot reach (static binaries, Go,
 * raw syscall(2)). The child installs, before exec, a BPF filter that hands only the socket
 * system calls the rules (or the log) name to this process through a user-notification fd
 * (SECCOMP_RET_USER_NOTIF); every other system call runs at full speed. The supervisor here
 * decides each one with the shim's own rule engine (shim/decide.c), answers with the errno
 * or lets the call continue (SECCOMP_USER_NOTIF_FLAG_CONTINUE), and writes the shim's log
 * records (shim/logfmt.c). A rule that fires on every call of a kind, with no count, draw or
 * filter, is compiled into the filter as SECCOMP_RET_ERRNO when nothing is logged.
 */
#ifndef SF_ENGINE_SECCOMP_H
#define SF_ENGINE_SECCOMP_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "rules.h"

struct sf_sup;

struct sf_sup_conf {
  const struct sf_ruleset *rules;
  const char *log;   /* JSON Lines log path, or NULL */
  bool log_all;      /* every trapped call is logged, not only the injected ones */
  bool inherit;      /* the rules reach the root's child processes too */
};

/* A supervisor for one program: its filter is built here, before the child forks. NULL with
 * a message when the rules or the log cannot be had. */
struct sf_sup *sf_sup_new(const struct sf_sup_conf *conf, char *err, size_t errlen);

/* In the child, before exec (after fork: no allocation, no locks): no_new_privs and the
 * filter. The listener fd, or -1 with errno set. */
int sf_sup_install(const struct sf_sup *s);

/* The program runs: pid is the root, listener the fd sf_sup_install returned, already
 * fetched into this process. */
void sf_sup_attach(struct sf_sup *s, pid_t pid, int listener);

/* The listener to poll (POLLIN: a notification waits; POLLHUP: no process has the filter
 * any more), or -1 once it is closed. */
int sf_sup_fd(const struct sf_sup *s);

/* Answer one waiting notification. 0, or -1 when the listener failed. */
int sf_sup_handle(struct sf_sup *s);

/* Answer every call waiting now. Before a signal is sent to the program: a trapped call not
 * yet read when a signal comes is interrupted (EINTR to a handler without SA_RESTART, even
 * for a close, which really cannot be); one read is not (SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV). */
void sf_sup_drain(struct sf_sup *s);

/* Close the listener (no process has the filter any more, or it failed): a trapped call
 * still waiting, if any, fails with ENOSYS. */
void sf_sup_close(struct sf_sup *s);

/* Serve the program until the root (pid) and every process left behind have ended (the
 * caller is their subreaper); *status gets the root's wait status. 0, or -1 on a failure
 * of the supervisor itself. While serving, SIGCHLD and SIGALRM (a 200 ms interval timer) are
 * caught without SA_RESTART: they interrupt the wait for the next call. */
int sf_sup_serve(struct sf_sup *s, pid_t pid, int *status);

/* Failures injected so far, all processes. */
unsigned long long sf_sup_injected(const struct sf_sup *s);

/* Closes the listener (any trapped call still waiting fails with ENOSYS), the log, all. */
void sf_sup_free(struct sf_sup *s);

#endif
