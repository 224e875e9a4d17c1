/* The seccomp backend's filter (seccomp_filter.h): which system calls stand for the table's
 * calls, and the BPF program that traps the ones the rules name. */
#define _GNU_SOURCE
#include "seccomp_filter.h"

#include <errno.h>
#include <linux/audit.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <sys/syscall.h>

#include "decide.h"
#include "table.h"

/* x86-64 has no send(2) nor recv(2): libc's send and recv are sendto and recvfrom with no
 * address (glibc and musl alike); calls.def's other calls are system calls of their own. */
#ifndef SYS_send
#define SYS_send -1
#endif
#ifndef SYS_recv
#define SYS_recv -1
#endif
#ifndef __X32_SYSCALL_BIT
#define __X32_SYSCALL_BIT 0x40000000
#endif

static const int sf_sys_of[SF_NCALLS] = {
#define SF_CALL(name, ...) [SF_ID_##name] = SYS_##name,
#include "calls.def"
#undef SF_CALL
};

/* A call with no system call of its own, and the one that carries it (its address, the
 * fifth argument, is then NULL). */
static const struct {
  int call, via;
} sf_carried[] = {{SF_ID_send, SF_ID_sendto}, {SF_ID_recv, SF_ID_recvfrom}};

static int sf_call_sys(int call)
{
  if (sf_sys_of[call] >= 0)
    return sf_sys_of[call];
  for (size_t i = 0; i < sizeof sf_carried / sizeof sf_carried[0]; i++)
    if (sf_carried[i].call == call)
      return sf_sys_of[sf_carried[i].via];
  return -1;
}

/* The table's call a notification stands for, or -1. */
int sf_sys_call(int nr, const __u64 *args)
{
  for (int c = 0; c < SF_NCALLS; c++) {
    if (sf_sys_of[c] != nr)
      continue;
    for (size_t i = 0; i < sizeof sf_carried / sizeof sf_carried[0]; i++)
      if (sf_carried[i].via == c && args[4] == 0)
        return sf_carried[i].call;
    return c;
  }
  return -1;
}

static int sf_emit(struct sf_bpf *s, struct sock_filter f)
{
  if (s->ninsn >= SF_BPF_MAX_INSNS)
    return -1;
  s->insn[s->ninsn++] = f;
  return 0;
}

/* if nr == k: return ret */
static int sf_emit_case(struct sf_bpf *s, int nr, uint32_t ret)
{
  return sf_emit(s, (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (uint32_t)nr, 0, 1)) ||
         sf_emit(s, (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, ret));
}

/* The errno every call of this kind gets, if the filter itself can give it: nothing logged,
 * the rules reach children, the call has its own system call and carries no other, it acts
 * on sockets only (not read/write/close), and every rule covering it fires always. */
static int sf_compiled_errno(const struct sf_ruleset *rules, bool log, bool inherit, int call)
{
  if (log || !inherit || sf_sys_of[call] < 0 ||
      sf_calls[call].ctx == SF_CTX_SOCKFD)
    return 0;
  for (size_t i = 0; i < sizeof sf_carried / sizeof sf_carried[0]; i++)
    if (sf_carried[i].via == call)
      return 0;
  int err = 0;
  for (unsigned i = 0; i < rules->n; i++) {
    const struct sf_rule *r = &rules->rule[i];
    if (!(r->calls & SF_CALL_BIT(call)))
      continue;
    int e = sf_rule_constant_errno(r, call);
    if (e == 0)
      return 0;
    if (err == 0)
      err = e; /* the first rule wins, as in sf_decide_rules */
  }
  return err;
}

int sf_filter_build(struct sf_bpf *s, const struct sf_ruleset *rules, bool log, bool log_all,
                    bool inherit)
{
  uint64_t armed = 0;
  for (unsigned i = 0; i < rules->n; i++)
    armed |= rules->rule[i].calls;
  /* every call of the table only for a log that keeps them all: none asked, none trapped */
  uint64_t want = armed | (log && log_all ? SF_ALL_CALLS : 0);
  /* an EMFILE/ENFILE for= window gives a slot back on each close (decide.c) */
  for (unsigned i = 0; i < rules->n; i++)
    if (rules->rule[i].has_for && (rules->rule[i].err == EMFILE || rules->rule[i].err == ENFILE))
      want |= sf_calls_of_kind(SF_K_CLOSEFD);
  int compiled[SF_NCALLS];
  for (int c = 0; c < SF_NCALLS; c++)
    compiled[c] = (want & SF_CALL_BIT(c)) ? sf_compiled_errno(rules, log, inherit, c) : 0;
  s->ninsn = 0;
  int rc = 0;
  /* other ABIs (i386's int 0x80, x32) are let through: documented as out of reach */
  rc |= sf_emit(s, (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
                                                offsetof(struct seccomp_data, arch)));
  rc |= sf_emit(s, (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 0));
  rc |= sf_emit(s, (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW));
  rc |= sf_emit(s, (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
                                                offsetof(struct seccomp_data, nr)));
  rc |= sf_emit(s, (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K, __X32_SYSCALL_BIT, 0, 1));
  rc |= sf_emit(s, (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW));
  uint64_t done_sys[8] = {0}; /* system call numbers already given a case (< 512) */
  for (int c = 0; c < SF_NCALLS; c++)
    if (compiled[c]) {
      int nr = sf_sys_of[c];
      rc |= sf_emit_case(s, nr, SECCOMP_RET_ERRNO | ((uint32_t)compiled[c] & SECCOMP_RET_DATA));
      done_sys[nr / 64] |= UINT64_C(1) << (nr % 64);
    }
  s->trapped = 0;
  for (int c = 0; c < SF_NCALLS; c++) {
    if (!(want & SF_CALL_BIT(c)) || compiled[c])
      continue;
    int nr = sf_call_sys(c);
    if (nr < 0 || nr >= 512)
      continue;
    s->trapped |= SF_CALL_BIT(c);
    if (done_sys[nr / 64] & (UINT64_C(1) << (nr % 64)))
      continue;
    done_sys[nr / 64] |= UINT64_C(1) << (nr % 64);
    rc |= sf_emit_case(s, nr, SECCOMP_RET_USER_NOTIF);
  }
  /* each process's exit, for the log's exit record (sockets left open) and the children it
   * leaves behind (they go on from its counts); each thread's exit, so that its tid is
   * forgotten before the number is given to another task (seccomp_procs.c) */
  if (log || s->trapped) {
    rc |= sf_emit_case(s, SYS_exit_group, SECCOMP_RET_USER_NOTIF);
    rc |= sf_emit_case(s, SYS_exit, SECCOMP_RET_USER_NOTIF);
  }
  /* io_uring submits socket operations no filter sees: said once, when it is set up */
  rc |= sf_emit_case(s, SYS_io_uring_setup, SECCOMP_RET_USER_NOTIF);
  rc |= sf_emit(s, (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW));
  return rc ? -1 : 0;
}
