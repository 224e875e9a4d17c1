/* Readiness without the log (listening.h). */
#define _GNU_SOURCE
#include "listening.h"

#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define SF_TREE_MAX 256    /* processes of a run looked at (pids.max of its cgroup: 512) */
#define SF_INODES_MAX 2048 /* socket inodes of those */
#define SF_ACCEPTCON 0x10000 /* /proc/net/unix's Flags: __SO_ACCEPTCON, a listening socket */

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

/* The run's processes: its cgroup's, else root and its descendants, breadth first. */
static size_t sf_tree_pids(pid_t root, const char *cgdir, pid_t *out, size_t max)
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

/* The inodes of pid's sockets (from its fds' links, "socket:[INODE]") appended to ino. */
static size_t sf_socket_inodes(pid_t pid, unsigned long *ino, size_t n, size_t max)
{
  char path[64], link[64];
  snprintf(path, sizeof path, "/proc/%d/fd", (int)pid);
  DIR *d = opendir(path);
  for (struct dirent *e; d && n < max && (e = readdir(d));) {
    ssize_t len = readlinkat(dirfd(d), e->d_name, link, sizeof link - 1);
    if (len <= 0)
      continue;
    link[len] = '\0';
    unsigned long i;
    if (sscanf(link, "socket:[%lu]", &i) == 1)
      ino[n++] = i;
  }
  if (d)
    closedir(d);
  return n;
}

static int sf_cmp_ino(const void *a, const void *b)
{
  unsigned long x = *(const unsigned long *)a, y = *(const unsigned long *)b;
  return x < y ? -1 : x > y;
}

/* Whether one of the sorted inodes is ready in pid's network namespace: a TCP socket
 * listening, a UDP socket bound to a port and connected to none (as the log counts a
 * datagram socket's bind: a UDP server never listens), an AF_UNIX socket listening. */
static bool sf_listed_listening(pid_t pid, const unsigned long *ino, size_t n)
{
  static const char *const tables[5] = {"tcp", "tcp6", "udp", "udp6", "unix"};
  for (int t = 0; t < 5; t++) {
    char path[64], line[512];
    snprintf(path, sizeof path, "/proc/%d/net/%s", (int)pid, tables[t]);
    FILE *f = fopen(path, "re");
    bool found = false;
    while (f && !found && fgets(line, sizeof line, f)) {
      unsigned long i, flags;
      unsigned st, lport, rport;
      if (t < 4)
        found = sscanf(line, " %*u: %*[0-9A-Fa-f]:%x %*[0-9A-Fa-f]:%x %x %*x:%*x %*x:%*x "
                       "%*x %*u %*u %lu", &lport, &rport, &st, &i) == 4 &&
                (t < 2 ? st == 0x0A /* TCP_LISTEN */ : lport != 0 && rport == 0);
      else
        found = sscanf(line, "%*[0-9A-Fa-f]: %*x %*x %lx %*x %*x %lu", &flags, &i) == 2 &&
                (flags & SF_ACCEPTCON);
      found = found && bsearch(&i, ino, n, sizeof *ino, sf_cmp_ino) != NULL;
    }
    if (f)
      fclose(f);
    if (found)
      return true;
  }
  return false;
}

bool sf_tree_listening(pid_t root, const char *cgdir)
{
  pid_t pids[SF_TREE_MAX];
  unsigned long ino[SF_INODES_MAX];
  size_t np = sf_tree_pids(root, cgdir, pids, SF_TREE_MAX), n = 0;
  pid_t owner = -1; /* whose network namespace the tables are read in */
  for (size_t i = 0; i < np && n < SF_INODES_MAX; i++) {
    size_t before = n;
    n = sf_socket_inodes(pids[i], ino, n, SF_INODES_MAX);
    if (n > before && owner < 0)
      owner = pids[i];
  }
  if (n == 0)
    return false;
  qsort(ino, n, sizeof *ino, sf_cmp_ino);
  return sf_listed_listening(owner, ino, n);
}
