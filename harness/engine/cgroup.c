/* Per-run pids cgroups (cgroup.h). */
#define _GNU_SOURCE
#include "cgroup.h"
#include "proc.h"
#include "msg.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

/* Write a short string to DIR/FILE. 0, or -1 with errno set. */
static int sf_cg_write(const char *dir, const char *file, const char *s)
{
  char path[PATH_MAX + 32];
  snprintf(path, sizeof path, "%s/%s", dir, file);
  int fd = open(path, O_WRONLY | O_CLOEXEC);
  if (fd < 0)
    return -1;
  ssize_t n = write(fd, s, strlen(s));
  int e = errno;
  close(fd);
  errno = e;
  return n == (ssize_t)strlen(s) ? 0 : -1;
}

static bool sf_cg_has(const char *dir, const char *file)
{
  char path[PATH_MAX + 32];
  snprintf(path, sizeof path, "%s/%s", dir, file);
  return access(path, F_OK) == 0;
}

/* Whether the comma-separated list holds word. */
static bool sf_in_list(const char *list, const char *word)
{
  size_t wl = strlen(word);
  for (const char *p = list; p && *p;) {
    const char *comma = strchr(p, ',');
    size_t l = comma ? (size_t)(comma - p) : strlen(p);
    if (l == wl && strncmp(p, word, wl) == 0)
      return true;
    p = comma ? comma + 1 : NULL;
  }
  return false;
}

/* Our own group in the pids hierarchy: v1's pids mount, else the v2 mount. 0 or -1. */
static int sf_cg_own(char *out, size_t len, bool *v2)
{
  char v1mnt[PATH_MAX] = "", v2mnt[PATH_MAX] = "", line[4096];
  FILE *f = fopen("/proc/self/mounts", "re");
  if (!f)
    return -1;
  while (fgets(line, sizeof line, f)) {
    char dev[256], mnt[PATH_MAX], type[64], opts[1024];
    if (sscanf(line, "%255s %4095s %63s %1023s", dev, mnt, type, opts) != 4)
      continue;
    if (strcmp(type, "cgroup2") == 0 && !v2mnt[0])
      snprintf(v2mnt, sizeof v2mnt, "%s", mnt);
    else if (strcmp(type, "cgroup") == 0 && sf_in_list(opts, "pids") && !v1mnt[0])
      snprintf(v1mnt, sizeof v1mnt, "%s", mnt);
  }
  fclose(f);
  if (!v1mnt[0] && !v2mnt[0])
    return -1;
  if (!(f = fopen("/proc/self/cgroup", "re")))
    return -1;
  int rc = -1;
  while (rc != 0 && fgets(line, sizeof line, f)) {
    line[strcspn(line, "\n")] = '\0';
    char *c1 = strchr(line, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
    if (!c2)
      continue;
    *c1 = *c2 = '\0';
    const char *ctrls = c1 + 1, *path = c2 + 1;
    if (v1mnt[0] && sf_in_list(ctrls, "pids")) {
      snprintf(out, len, "%s%s", v1mnt, strcmp(path, "/") == 0 ? "" : path);
      *v2 = false;
      rc = 0;
    } else if (!v1mnt[0] && strncmp(line, "0", 2) == 0 && !*ctrls) {
      snprintf(out, len, "%s%s", v2mnt, strcmp(path, "/") == 0 ? "" : path);
      *v2 = true;
      rc = 0;
    }
  }
  fclose(f);
  return rc;
}

/* A sub-group with pids.max that a forked child can join: what every run needs. */
static int sf_cg_probe(const struct sf_cgroup *cg, char *why, size_t len)
{
  struct sf_cgslot s;
  sf_cg_slot_init(&s);
  int fd = sf_cg_slot_ready(cg, &s, 0, 8);
  if (fd < 0) {
    snprintf(why, len, "cannot create a group with pids.max in %s: %s", cg->base,
             strerror(errno));
    return -1;
  }
  pid_t pid = fork();
  if (pid == 0)
    _exit(write(fd, "0", 1) == 1 ? 0 : 1);
  int st = 0;
  while (pid > 0 && waitpid(pid, &st, 0) < 0 && errno == EINTR) {
  }
  int rc = pid > 0 && WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : -1;
  if (rc != 0)
    snprintf(why, len, "a child cannot join a group in %s", cg->base);
  for (int i = 0; i < 100 && sf_cg_reap(s.dir) != 0; i++)
    usleep(1000);
  sf_cg_slot_forget(&s);
  return rc;
}

int sf_cg_open(struct sf_cgroup *cg, char *why, size_t len)
{
  static unsigned opened;
  static char proven[PATH_MAX]; /* our group, once a probe under it passed */
  char own[PATH_MAX];
  cg->base[0] = '\0';
  if (sf_cg_own(own, sizeof own, &cg->v2) != 0) {
    snprintf(why, len, "no pids cgroup hierarchy is mounted");
    return -1;
  }
  char base[PATH_MAX];
  if (snprintf(base, sizeof base, "%s/sockfault-%d-%u", own, (int)getpid(), opened++) >=
      (int)sizeof base) {
    snprintf(why, len, "the cgroup path is too long");
    return -1;
  }
  if (mkdir(base, 0755) != 0) {
    snprintf(why, len, "mkdir %s: %s", base, strerror(errno));
    return -1;
  }
  snprintf(cg->base, sizeof cg->base, "%s", base);
  /* v2: pids must be enabled from our group down to the run groups (our own group may
   * refuse: it holds processes; then there is no bound) */
  if (cg->v2 && !sf_cg_has(base, "pids.max"))
    (void)sf_cg_write(own, "cgroup.subtree_control", "+pids");
  if (cg->v2 && (!sf_cg_has(base, "pids.max") ||
                 sf_cg_write(base, "cgroup.subtree_control", "+pids") != 0)) {
    snprintf(why, len, "the pids controller is not enabled for %s", own);
    sf_cg_close(cg);
    return -1;
  }
  if (strcmp(proven, own) != 0) {
    if (sf_cg_probe(cg, why, len) != 0) {
      sf_cg_close(cg);
      return -1;
    }
    snprintf(proven, sizeof proven, "%s", own);
  }
  return 0;
}

void sf_cg_slot_init(struct sf_cgslot *s)
{
  s->dir[0] = '\0';
  s->procs_fd = s->max_fd = s->current_fd = -1;
}

static int sf_cg_open_in(const char *dir, const char *file, int flags)
{
  char path[PATH_MAX + 32];
  snprintf(path, sizeof path, "%s/%s", dir, file);
  return open(path, flags | O_CLOEXEC);
}

int sf_cg_slot_ready(const struct sf_cgroup *cg, struct sf_cgslot *s, unsigned seq, long max)
{
  char num[32];
  int nl = snprintf(num, sizeof num, "%ld", max);
  if (s->dir[0]) {
    if (pwrite(s->max_fd, num, (size_t)nl, 0) == nl)
      return s->procs_fd;
    int e = errno; /* no longer ours to reuse: a fresh group */
    (void)sf_cg_reap(s->dir);
    sf_cg_slot_forget(s);
    errno = e;
  }
  if (!cg->base[0]) {
    errno = ENOENT;
    return -1;
  }
  if (snprintf(s->dir, sizeof s->dir, "%s/run-%u", cg->base, seq) >= (int)sizeof s->dir) {
    s->dir[0] = '\0';
    errno = ENAMETOOLONG;
    return -1;
  }
  if (mkdir(s->dir, 0755) != 0) {
    s->dir[0] = '\0';
    return -1;
  }
  if ((s->max_fd = sf_cg_open_in(s->dir, "pids.max", O_WRONLY)) < 0 ||
      pwrite(s->max_fd, num, (size_t)nl, 0) != nl ||
      (s->current_fd = sf_cg_open_in(s->dir, "pids.current", O_RDONLY)) < 0 ||
      (s->procs_fd = sf_cg_open_in(s->dir, "cgroup.procs", O_WRONLY)) < 0) {
    int e = errno;
    rmdir(s->dir);
    sf_cg_slot_forget(s);
    errno = e;
    return -1;
  }
  return s->procs_fd;
}

bool sf_cg_slot_empty(const struct sf_cgslot *s)
{
  char buf[32];
  ssize_t n = s->dir[0] ? pread(s->current_fd, buf, sizeof buf - 1, 0) : -1;
  return n >= 1 && buf[0] == '0' && (n == 1 || buf[1] == '\n');
}

void sf_cg_slot_forget(struct sf_cgslot *s)
{
  int *fds[3] = {&s->procs_fd, &s->max_fd, &s->current_fd};
  for (int i = 0; i < 3; i++)
    if (*fds[i] >= 0) {
      close(*fds[i]);
      *fds[i] = -1;
    }
  s->dir[0] = '\0';
}

int sf_cg_reap(const char *dir)
{
  if (rmdir(dir) == 0 || errno == ENOENT)
    return 0;
  /* v2 kills the whole group in the kernel (no race with forks); else pid by pid, and a
   * child forked meanwhile is killed by the next call (pids.max bounds how many) */
  if (sf_cg_write(dir, "cgroup.kill", "1") != 0) {
    char path[PATH_MAX + 32], buf[64];
    snprintf(path, sizeof path, "%s/cgroup.procs", dir);
    FILE *f = fopen(path, "re");
    while (f && fgets(buf, sizeof buf, f)) {
      long pid = strtol(buf, NULL, 10);
      if (pid > 1 && pid != getpid())
        kill((pid_t)pid, SIGKILL);
    }
    if (f)
      fclose(f);
  }
  return rmdir(dir) == 0 || errno == ENOENT ? 0 : -1;
}

void sf_cg_close(struct sf_cgroup *cg)
{
  if (cg->base[0] && rmdir(cg->base) != 0 && errno != ENOENT)
    sf_warn("sockfault: warning: could not remove cgroup %s: %s\n", cg->base,
            strerror(errno));
  cg->base[0] = '\0';
}
