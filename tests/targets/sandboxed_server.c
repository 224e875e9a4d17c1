/* A daemon whose listen the shim's log never shows, as privilege-separated daemons are: it
 * binds its port, sandboxes itself (seccomp: no file may be opened for writing from then on,
 * as after a chroot or a drop to an unprivileged user the log's path is out of reach), closes
 * every fd but its socket (the shim's log among them, now beyond reopening), and hands the
 * socket to a worker process that listens and serves PING on PORT while the parent waits for
 * SIGTERM. explore must still see it listen (/proc, harness/engine/listening.c) and explore
 * the calls its log did show (socket, setsockopt, bind). */
#include "tserver.h"

#include <fcntl.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#if defined(__x86_64__)
#define TS_ARCH AUDIT_ARCH_X86_64
#elif defined(__aarch64__)
#define TS_ARCH AUDIT_ARCH_AARCH64
#endif

#define TS_WRITE_FLAGS (O_WRONLY | O_RDWR | O_CREAT | O_TRUNC | O_APPEND)
#define TS_ARG(n) offsetof(struct seccomp_data, args[n])
/* call: EACCES when its flags argument (arg) asks for writing */
#define TS_DENY_WRITE(call, arg)                                                              \
  BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (call), 0, 3),                                          \
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, TS_ARG(arg)),                                      \
      BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K, TS_WRITE_FLAGS, 0, 1),                           \
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EACCES),                                \
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr))

/* Files may be read, never opened for writing (openat2, whose flags a filter cannot see,
 * looks absent): a read-only sandbox. */
static int sandbox(void)
{
#ifdef TS_ARCH
  struct sock_filter f[] = {
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, TS_ARCH, 1, 0),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
#ifdef SYS_openat2
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_openat2, 0, 1),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | ENOSYS),
#endif
#ifdef SYS_open
      TS_DENY_WRITE(SYS_open, 1),
#endif
      TS_DENY_WRITE(SYS_openat, 2),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
  };
  struct sock_fprog prog = {.len = sizeof f / sizeof f[0], .filter = f};
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
    return -1;
  return prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog);
#else
#error "sandboxed_server: no seccomp architecture for this machine"
#endif
}

static void serve(int s)
{
  if (listen(s, 64) != 0) {
    perror("listen");
    _exit(1);
  }
  while (!ts_stop) {
    if (ts_wait(s) <= 0)
      continue;
    int c = accept(s, NULL, NULL);
    if (c < 0)
      continue;
    ts_serve(c);
    close(c);
  }
  _exit(0);
}

int main(int argc, char **argv)
{
  int port = ts_port(argc, argv);
  ts_signals();
  int one = 1, s = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a = ts_addr(port);
  if (s < 0 || setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0 ||
      bind(s, (struct sockaddr *)&a, sizeof a) != 0) {
    perror("socket/setsockopt/bind");
    return 1;
  }
  if (sandbox() != 0) {
    perror("sandbox");
    return 1;
  }
  if (s > 3)
    close_range(3, (unsigned)s - 1, 0);
  close_range((unsigned)s + 1, ~0U, 0);
  pid_t worker = fork();
  if (worker < 0) {
    perror("fork");
    return 1;
  }
  if (worker == 0)
    serve(s);
  close(s); /* only the worker holds the listener */
  int st = 0;
  while (!ts_stop && waitpid(worker, &st, WNOHANG) == 0)
    usleep(20000);
  if (ts_stop) {
    kill(worker, SIGTERM);
    waitpid(worker, &st, 0);
  }
  return WIFEXITED(st) ? WEXITSTATUS(st) : 1;
}
