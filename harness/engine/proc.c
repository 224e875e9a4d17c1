/* Process helpers for explore's runs (proc.h). */
#define _GNU_SOURCE
#include "proc.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* /proc/PID/stat read into buf: its fields after comm (which may hold spaces and
 * parentheses, so they restart after the last ')'), or NULL if the process is gone. */
static const char *sf_stat_fields(const char *pid, char *buf, size_t len)
{
  char path[300];
  snprintf(path, sizeof path, "/proc/%s/stat", pid);
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return NULL;
  ssize_t n = read(fd, buf, len - 1);
  close(fd);
  if (n <= 0)
    return NULL;
  buf[n] = '\0';
  const char *p = strrchr(buf, ')');
  return p ? p + 1 : NULL;
}

pid_t sf_proc_ppid(pid_t pid)
{
  char id[24], buf[1024];
  snprintf(id, sizeof id, "%d", (int)pid);
  const char *p = sf_stat_fields(id, buf, sizeof buf);
  long ppid;
  return p && sscanf(p, " %*c %ld", &ppid) == 1 ? (pid_t)ppid : -1;
}

long long sf_proc_cpu_ms(pid_t pid)
{
  char id[24], buf[1024];
  snprintf(id, sizeof id, "%d", (int)pid);
  const char *p = sf_stat_fields(id, buf, sizeof buf);
  if (!p)
    return -1;
  unsigned long long utime = 0, stime = 0;
  /* after ')': state(3) ... utime is field 14, stime 15 */
  if (sscanf(p, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &utime,
             &stime) != 2)
    return -1;
  long hz = sysconf(_SC_CLK_TCK);
  if (hz <= 0)
    hz = 100;
  return (long long)((utime + stime) * 1000 / (unsigned long long)hz);
}

/* A task's time running or waiting to run, in ns, from its schedstat; -1 if unreadable. */
static long long sf_task_busy_ns(int dfd, const char *tid)
{
  char path[300], buf[128];
  snprintf(path, sizeof path, "%s/schedstat", tid);
  int fd = openat(dfd, path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return -1;
  ssize_t n = read(fd, buf, sizeof buf - 1);
  close(fd);
  unsigned long long run = 0, wait = 0;
  if (n <= 0)
    return -1;
  buf[n] = '\0';
  if (sscanf(buf, "%llu %llu", &run, &wait) != 2)
    return -1;
  return (long long)(run + wait);
}

long long sf_proc_busy_ms(pid_t pid)
{
  char path[64];
  snprintf(path, sizeof path, "/proc/%d/task", (int)pid);
  DIR *tasks = opendir(path);
  if (!tasks)
    return -1;
  long long ns = 0;
  bool all = true;
  for (struct dirent *t; (t = readdir(tasks));)
    if (t->d_name[0] != '.') {
      long long b = sf_task_busy_ns(dirfd(tasks), t->d_name);
      all = all && b >= 0;
      ns += b > 0 ? b : 0;
    }
  closedir(tasks);
  /* no schedstat (a kernel without it): CPU time alone, of every thread, dead ones too */
  return all ? ns / 1000000 : sf_proc_cpu_ms(pid);
}

/* The pids listed in a file (cgroup.procs, a task's children) appended to out. */
static size_t sf_read_pids(const char *path, pid_t *out, size_t n, size_t max)
{
  FILE *f = fopen(path, "re");
  for (int pid; f && n < max && fscanf(f, "%d", &pid) == 1;)
    out[n++] = pid;
  if (f)
    fclose(f);
  return n;
}

size_t sf_tree_pids(pid_t root, const char *cgdir, pid_t *out, size_t max)
{
  size_t n = 0;
  char path[PATH_MAX + 32];
  if (cgdir && cgdir[0]) {
    snprintf(path, sizeof path, "%s/cgroup.procs", cgdir);
    if ((n = sf_read_pids(path, out, 0, max)) > 0)
      return n;
  }
  out[n++] = root;
  for (size_t i = 0; i < n && n < max; i++) {
    snprintf(path, sizeof path, "/proc/%d/task", (int)out[i]);
    DIR *tasks = opendir(path);
    for (struct dirent *t; tasks && n < max && (t = readdir(tasks));)
      if (t->d_name[0] != '.') {
        snprintf(path, sizeof path, "/proc/%d/task/%s/children", (int)out[i], t->d_name);
        n = sf_read_pids(path, out, n, max);
      }
    if (tasks)
      closedir(tasks);
  }
  return n;
}

long long sf_tree_busy_ms(pid_t root, const char *cgdir)
{
  pid_t pids[SF_TREE_MAX];
  size_t n = sf_tree_pids(root, cgdir, pids, SF_TREE_MAX);
  long long ms = 0;
  bool any = false;
  for (size_t i = 0; i < n; i++) {
    long long b = sf_proc_busy_ms(pids[i]);
    if (b >= 0)
      ms += b, any = true;
  }
  return any ? ms : -1;
}

int sf_free_port(void)
{
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return -1;
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = 0};
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t l = sizeof a;
  int port = -1;
  if (bind(fd, (struct sockaddr *)&a, sizeof a) == 0 &&
      getsockname(fd, (struct sockaddr *)&a, &l) == 0)
    port = ntohs(a.sin_port);
  close(fd);
  return port;
}

int sf_port_bound(int port)
{
  static const char *const files[4] = {"/proc/net/tcp", "/proc/net/tcp6", "/proc/net/udp",
                                       "/proc/net/udp6"};
  int readable = 0;
  for (int i = 0; i < 4; i++) {
    FILE *f = fopen(files[i], "re");
    if (!f)
      continue;
    readable = 1;
    char line[512];
    unsigned lport, st;
    int found = 0;
    while (!found && fgets(line, sizeof line, f))
      if (sscanf(line, " %*u: %*[0-9A-Fa-f]:%x %*[0-9A-Fa-f]:%*x %x", &lport, &st) == 2)
        found = (int)lport == port && (i >= 2 || st == 0x0A); /* 0A: TCP_LISTEN */
    fclose(f);
    if (found)
      return 1;
  }
  return readable ? 0 : -1;
}

pid_t sf_spawn_check(const char *cmd, const char *tmpdir)
{
  pid_t pid = fork();
  if (pid != 0)
    return pid;
  setpgid(0, 0);
  int null = open("/dev/null", O_RDWR);
  if (null >= 0) {
    dup2(null, 0);
    dup2(null, 1);
    dup2(null, 2);
  }
  signal(SIGPIPE, SIG_DFL);
  signal(SIGINT, SIG_DFL);
  signal(SIGTERM, SIG_DFL);
  signal(SIGCHLD, SIG_DFL);
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, NULL);
  if (tmpdir)
    setenv("TMPDIR", tmpdir, 1);
  /* A plain "PROG ARG..." needs no shell: one exec less per check. */
  if (!strpbrk(cmd, "$`\"'\\|&;<>()*?[]~{}#=\n")) {
    char copy[4096], *argv[64];
    int n = 0;
    snprintf(copy, sizeof copy, "%s", cmd);
    for (char *save = NULL, *w = strtok_r(copy, " \t", &save); w && n < 63;
         w = strtok_r(NULL, " \t", &save))
      argv[n++] = w;
    argv[n] = NULL;
    if (n > 0 && n < 63 && strlen(cmd) < sizeof copy)
      execvp(argv[0], argv);
  }
  execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
  _exit(127);
}

void sf_kill_group(pid_t pgid, int sig)
{
  if (pgid > 1)
    kill(-pgid, sig);
}

/* /proc/PID/stat's ppid, or -1. */
static pid_t sf_ppid_of(const char *pid)
{
  char buf[512];
  const char *p = sf_stat_fields(pid, buf, sizeof buf);
  int ppid;
  return p && sscanf(p, " %*c %d", &ppid) == 1 ? (pid_t)ppid : -1;
}

size_t sf_children(pid_t *out, size_t max)
{
  size_t n = 0;
  bool listed = false;
  /* /proc/self/task/TID/children (CONFIG_PROC_CHILDREN): orphans are adopted by one of
   * our threads, so every thread's list */
  DIR *tasks = opendir("/proc/self/task");
  for (struct dirent *t; tasks && (t = readdir(tasks));) {
    if (t->d_name[0] == '.')
      continue;
    char path[300];
    snprintf(path, sizeof path, "/proc/self/task/%s/children", t->d_name);
    FILE *f = fopen(path, "re");
    if (!f)
      continue;
    listed = true;
    int pid;
    while (fscanf(f, "%d", &pid) == 1) {
      if (n < max)
        out[n] = pid;
      n++;
    }
    fclose(f);
  }
  if (tasks)
    closedir(tasks);
  if (listed)
    return n;
  DIR *proc = opendir("/proc"); /* no children files: every process's parent */
  pid_t self = getpid();
  for (struct dirent *d; proc && (d = readdir(proc));) {
    if (d->d_name[0] < '1' || d->d_name[0] > '9' || sf_ppid_of(d->d_name) != self)
      continue;
    if (n < max)
      out[n] = (pid_t)atoi(d->d_name);
    n++;
  }
  if (proc)
    closedir(proc);
  return n;
}

bool sf_proc_has_env(pid_t pid, const char *kv)
{
  char path[64], buf[8192];
  snprintf(path, sizeof path, "/proc/%d/environ", (int)pid);
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return false;
  size_t kl = strlen(kv), have = 0;
  bool found = false, at_start = true;
  /* entries are NUL-terminated; one may straddle two reads: keep the unfinished one */
  for (;;) {
    ssize_t r = read(fd, buf + have, sizeof buf - have);
    if (r <= 0)
      break;
    have += (size_t)r;
    size_t start = 0;
    for (size_t i = 0; i < have && !found; i++)
      if (buf[i] == '\0') {
        found = at_start && i - start == kl && memcmp(buf + start, kv, kl) == 0;
        start = i + 1;
        at_start = true;
      }
    if (found)
      break;
    if (start == 0 && have == sizeof buf) { /* one entry longer than buf: not ours */
      have = 0;
      at_start = false;
      continue;
    }
    memmove(buf, buf + start, have - start);
    have -= start;
  }
  close(fd);
  return found;
}
