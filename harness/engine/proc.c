/* Process and file helpers for explore (proc.h). */
#define _GNU_SOURCE
#include "proc.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

long long sf_now_ms(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

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

long long sf_proc_busy_ms(pid_t pid)
{
  char path[64], buf[128];
  snprintf(path, sizeof path, "/proc/%d/schedstat", (int)pid);
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return sf_proc_cpu_ms(pid);
  ssize_t n = read(fd, buf, sizeof buf - 1);
  close(fd);
  unsigned long long run = 0, wait = 0;
  if (n <= 0)
    return sf_proc_cpu_ms(pid);
  buf[n] = '\0';
  if (sscanf(buf, "%llu %llu", &run, &wait) != 2)
    return sf_proc_cpu_ms(pid);
  return (long long)((run + wait) / 1000000);
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

static int sf_rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
  (void)st;
  (void)ftw;
  if (flag == FTW_DP)
    return rmdir(path) == 0 || errno == ENOENT ? 0 : -1;
  return unlink(path) == 0 || errno == ENOENT ? 0 : -1;
}

int sf_rmtree(const char *path)
{
  return nftw(path, sf_rm_one, 16, FTW_DEPTH | FTW_PHYS) == 0 ? 0 : -1;
}

int sf_dir_empty(const char *path, dev_t dev, ino_t ino)
{
  int dfd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  struct stat st;
  if (dfd < 0)
    return -1;
  if (fstat(dfd, &st) != 0 || st.st_dev != dev || st.st_ino != ino ||
      (st.st_mode & 07777) != 0700 || st.st_uid != geteuid()) {
    close(dfd);
    return -1;
  }
  char buf[4096];
  int rc = 0;
  for (int rounds = 0; rounds < 100000; rounds++) {
    ssize_t n = getdents64(dfd, buf, sizeof buf);
    if (n <= 0) {
      rc = n < 0 ? -1 : rc;
      break;
    }
    for (ssize_t off = 0; off < n;) {
      struct dirent64 *d = (struct dirent64 *)(void *)(buf + off);
      off += d->d_reclen;
      const char *nm = d->d_name;
      if (nm[0] == '.' && (nm[1] == '\0' || (nm[1] == '.' && nm[2] == '\0')))
        continue;
      if (d->d_type != DT_DIR && unlinkat(dfd, nm, 0) == 0)
        continue;
      char sub[PATH_MAX];
      if (snprintf(sub, sizeof sub, "%s/%s", path, nm) >= (int)sizeof sub || sf_rmtree(sub) != 0)
        rc = -1;
    }
  }
  close(dfd);
  return rc;
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

static const struct {
  const char *pattern, *name;
} sf_sanitizers[] = {
    {"ERROR: AddressSanitizer", "AddressSanitizer"},
    {"ERROR: LeakSanitizer", "LeakSanitizer"},
    {"ERROR: MemorySanitizer", "MemorySanitizer"},
    {"WARNING: ThreadSanitizer", "ThreadSanitizer"},
    {"SUMMARY: UndefinedBehaviorSanitizer", "UndefinedBehaviorSanitizer"},
    {": runtime error: ", "UndefinedBehaviorSanitizer"},
};

int sf_echo_errno;

void sf_capture_init(struct sf_capture *c, bool scan_sanitizer, int echo_fd)
{
  memset(c, 0, sizeof *c);
  c->hash = UINT64_C(0xcbf29ce484222325);
  c->scan_sanitizer = scan_sanitizer;
  c->echo_fd = echo_fd;
}

static void sf_scan(struct sf_capture *c, const char *buf, size_t len)
{
  char win[64 + 4096];
  for (size_t off = 0; off < len && !c->sanitizer;) {
    size_t take = len - off < 4096 ? len - off : 4096;
    memcpy(win, c->carry, c->carry_len);
    memcpy(win + c->carry_len, buf + off, take);
    size_t wl = c->carry_len + take;
    for (size_t i = 0; i < sizeof sf_sanitizers / sizeof sf_sanitizers[0]; i++)
      if (memmem(win, wl, sf_sanitizers[i].pattern, strlen(sf_sanitizers[i].pattern))) {
        c->sanitizer = sf_sanitizers[i].name;
        break;
      }
    size_t keep = wl < 40 ? wl : 40; /* longer than any pattern */
    memmove(c->carry, win + wl - keep, keep);
    c->carry_len = keep;
    off += take;
  }
}

void sf_capture_feed(struct sf_capture *c, const char *buf, size_t len)
{
  const unsigned char *u = (const unsigned char *)buf;
  for (size_t i = 0; i < len; i++) {
    c->hash ^= u[i];
    c->hash *= UINT64_C(0x100000001b3);
  }
  c->bytes += len;
  if (c->scan_sanitizer)
    sf_scan(c, buf, len);
  if (c->echo_fd >= 0) {
    for (size_t off = 0; off < len;) {
      ssize_t w = write(c->echo_fd, buf + off, len - off);
      if (w < 0 && errno == EINTR)
        continue;
      if (w <= 0) {
        if (c->echo_fd == 1 && !sf_echo_errno)
          sf_echo_errno = w < 0 ? errno : EIO;
        break;
      }
      off += (size_t)w;
    }
  }
  if (len >= SF_TAIL_MAX) {
    memcpy(c->tail, buf + len - SF_TAIL_MAX, SF_TAIL_MAX);
    c->tail_len = SF_TAIL_MAX;
    c->tail_pos = 0;
    return;
  }
  for (size_t i = 0; i < len; i++) {
    c->tail[c->tail_pos] = buf[i];
    c->tail_pos = (c->tail_pos + 1) % SF_TAIL_MAX;
  }
  c->tail_len = c->tail_len + len > SF_TAIL_MAX ? SF_TAIL_MAX : c->tail_len + len;
}

char *sf_capture_tail(const struct sf_capture *c)
{
  char *s = malloc(c->tail_len + 1);
  if (!s)
    return NULL;
  size_t start = (c->tail_pos + SF_TAIL_MAX - c->tail_len) % SF_TAIL_MAX;
  for (size_t i = 0; i < c->tail_len; i++)
    s[i] = c->tail[(start + i) % SF_TAIL_MAX];
  s[c->tail_len] = '\0';
  /* NULs would cut the string short in every writer: show them as '?' */
  for (size_t i = 0; i < c->tail_len; i++)
    if (s[i] == '\0')
      s[i] = '?';
  return s;
}

void sf_capture_hex(const struct sf_capture *c, char out[17])
{
  snprintf(out, 17, "%016llx", (unsigned long long)c->hash);
}

int sf_capture_read(struct sf_capture *c, int fd)
{
  char buf[16384];
  for (int rounds = 0; rounds < 64; rounds++) { /* bounded: a flood waits for the next poll */
    ssize_t n = read(fd, buf, sizeof buf);
    if (n > 0) {
      sf_capture_feed(c, buf, (size_t)n);
      continue;
    }
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0 && errno == EAGAIN)
      return 0;
    return 1;
  }
  return 2;
}

static bool sf_status_on;

void sf_status_shown(bool shown) { sf_status_on = shown; }

void sf_warn(const char *fmt, ...)
{
  if (sf_status_on)
    fputs("\r\033[K", stderr);
  sf_status_on = false;
  va_list ap;
  va_start(ap, fmt);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fflush(stderr);
}
