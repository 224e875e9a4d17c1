/* The seccomp backend's BPF filter: the table's calls as x86-64 system calls, and the program
 * the child installs before exec (used by seccomp.c). */
#ifndef SF_ENGINE_SECCOMP_FILTER_H
#define SF_ENGINE_SECCOMP_FILTER_H

#include <linux/filter.h>
#include <linux/types.h>
#include <stdbool.h>
#include <stdint.h>

#include "rules.h"

#define SF_BPF_MAX_INSNS 256

struct sf_bpf {
  struct sock_filter insn[SF_BPF_MAX_INSNS];
  unsigned short ninsn;
  uint64_t trapped; /* the calls whose notifications come to the supervisor */
};

/* The filter for these rules: the system calls of the calls they name (every call of the
 * table's with log_all) handed to the supervisor (SECCOMP_RET_USER_NOTIF), a rule that always
 * fires with a state-independent errno compiled in as SECCOMP_RET_ERRNO (only when nothing
 * is logged and the rules reach children), exit_group and exit trapped when logging or
 * anything is trapped (the exit record, the children left behind, the tids that end),
 * io_uring_setup trapped (said to be out of reach), everything else allowed. 0, or
 * -1 when it does not fit. */
int sf_filter_build(struct sf_bpf *f, const struct sf_ruleset *rules, bool log, bool log_all,
                    bool inherit);

/* The table's call a notification of system call nr stands for (args: its arguments; send and
 * recv are sendto and recvfrom with no address), or -1. */
int sf_sys_call(int nr, const __u64 *args);

#endif
