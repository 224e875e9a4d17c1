/*
 * sfbench_notif_floor: the least a seccomp user-notification round trip costs on this
 * machine, for bench/seccomp_rate.sh. A child traps setsockopt with SECCOMP_RET_USER_NOTIF
 * and calls it N times in a loop; the parent does nothing but receive each notification and
 * let the call continue (two ioctls, no decision, no log), with the synchronous wake-up.
 *   sfbench_notif_floor N     prints "setsockopt <ns per call> 0", as sfbench_sys does
 * No supervisor can answer faster than this: it bounds what the seccomp backend can reach.
 */
#define _GNU_SOURCE
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef SECCOMP_IOCTL_NOTIF_SET_FLAGS
#define SECCOMP_IOCTL_NOTIF_SET_FLAGS SECCOMP_IOW(4, __u64)
#endif

/* The child's listener fd handed to the parent over a socketpair (SCM_RIGHTS). */
static int fl_send_fd(int sock, int fd)
{
  char cbuf[CMSG_SPACE(sizeof fd)], c = 'x';
  struct iovec io = {&c, 1};
  struct msghdr m = {.msg_iov = &io, .msg_iovlen = 1, .msg_control = cbuf,
                     .msg_controllen = sizeof cbuf};
  struct cmsghdr *h = CMSG_FIRSTHDR(&m);
  h->cmsg_level = SOL_SOCKET;
  h->cmsg_type = SCM_RIGHTS;
  h->cmsg_len = CMSG_LEN(sizeof fd);
  memcpy(CMSG_DATA(h), &fd, sizeof fd);
  return sendmsg(sock, &m, 0) == 1 ? 0 : -1;
}

static int fl_recv_fd(int sock)
{
  char cbuf[CMSG_SPACE(sizeof(int))], c;
  struct iovec io = {&c, 1};
  struct msghdr m = {.msg_iov = &io, .msg_iovlen = 1, .msg_control = cbuf,
                     .msg_controllen = sizeof cbuf};
  if (recvmsg(sock, &m, 0) != 1 || !CMSG_FIRSTHDR(&m))
    return -1;
  int fd;
  memcpy(&fd, CMSG_DATA(CMSG_FIRSTHDR(&m)), sizeof fd);
  return fd;
}

static int fl_child(int sock, int n)
{
  struct sock_filter f[] = {
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_setsockopt, 0, 1),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_USER_NOTIF),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
  };
  struct sock_fprog prog = {sizeof f / sizeof f[0], f};
  int s = socket(AF_INET, SOCK_STREAM, 0), one = 1;
  if (s < 0 || prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
    return 1;
  int l = (int)syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_NEW_LISTENER,
                       &prog);
  if (l < 0 || fl_send_fd(sock, l) != 0)
    return 1;
  close(l);
  struct timespec a, b;
  clock_gettime(CLOCK_MONOTONIC, &a);
  for (int i = 0; i < n; i++)
    setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  clock_gettime(CLOCK_MONOTONIC, &b);
  printf("setsockopt %.1f 0\n",
         ((double)(b.tv_sec - a.tv_sec) * 1e9 + (double)(b.tv_nsec - a.tv_nsec)) / n);
  return 0;
}

int main(int argc, char **argv)
{
  int n = argc == 2 ? atoi(argv[1]) : 0;
  int sv[2];
  if (n <= 0) {
    fprintf(stderr, "usage: sfbench_notif_floor N\n");
    return 2;
  }
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0)
    return 1;
  fflush(stdout);
  pid_t pid = fork();
  if (pid < 0)
    return 1;
  if (pid == 0) {
    int rc = fl_child(sv[1], n);
    fflush(stdout);
    _exit(rc);
  }
  int l = fl_recv_fd(sv[0]);
  if (l < 0)
    return 1;
  (void)ioctl(l, SECCOMP_IOCTL_NOTIF_SET_FLAGS, 1UL); /* SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP */
  struct seccomp_notif req;
  struct seccomp_notif_resp resp;
  for (int i = 0; i < n; i++) {
    memset(&req, 0, sizeof req);
    if (ioctl(l, SECCOMP_IOCTL_NOTIF_RECV, &req) != 0)
      break;
    memset(&resp, 0, sizeof resp);
    resp.id = req.id;
    resp.flags = SECCOMP_USER_NOTIF_FLAG_CONTINUE;
    if (ioctl(l, SECCOMP_IOCTL_NOTIF_SEND, &resp) != 0)
      break;
  }
  int st;
  waitpid(pid, &st, 0);
  return WIFEXITED(st) ? WEXITSTATUS(st) : 1;
}
