/* Readiness without the log (listening.h). */
#define _GNU_SOURCE
#include "listening.h"

#include "proc.h"

#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <linux/unix_diag.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#define SF_INODES_MAX 2048 /* socket inodes of those */
#define SF_ACCEPTCON 0x10000 /* /proc/net/unix's Flags: __SO_ACCEPTCON, a listening socket */
#define SF_TCP_LISTEN 10     /* the kernel's TCP_LISTEN state (unix sockets use it too) */
#define SF_TCP_CLOSE 7       /* ... TCP_CLOSE: an unconnected UDP socket */

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

/* One sock_diag dump of the sockets in the given states: whether one is among the sorted
 * inodes (a UDP one only when bound to a port); -1 when the kernel would not answer. Only
 * the sockets asked for come back: the listening ones are a short list however many
 * connections the machine has in TIME_WAIT, which /proc/net/tcp lists line by line. */
static int sf_diag(int family, int protocol, unsigned states, const unsigned long *ino,
                   size_t n)
{
  int nl = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
  if (nl < 0)
    return -1;
  struct {
    struct nlmsghdr h;
    union {
      struct inet_diag_req_v2 in;
      struct unix_diag_req un;
    } r;
  } req;
  memset(&req, 0, sizeof req);
  req.h.nlmsg_len = sizeof req;
  req.h.nlmsg_type = SOCK_DIAG_BY_FAMILY;
  req.h.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
  if (family == AF_UNIX) {
    req.r.un.sdiag_family = AF_UNIX;
    req.r.un.udiag_states = states;
  } else {
    req.r.in.sdiag_family = (__u8)family;
    req.r.in.sdiag_protocol = (__u8)protocol;
    req.r.in.idiag_states = states;
  }
  int found = send(nl, &req, sizeof req, 0) == (ssize_t)sizeof req ? 0 : -1;
  long buf[2048]; /* aligned for struct nlmsghdr */
  for (int rounds = 0; found == 0 && rounds < 10000; rounds++) {
    ssize_t len = recv(nl, buf, sizeof buf, 0);
    if (len <= 0) {
      found = -1;
      break;
    }
    bool done = false;
    for (struct nlmsghdr *h = (struct nlmsghdr *)buf; !done && NLMSG_OK(h, (size_t)len);
         h = NLMSG_NEXT(h, len)) {
      unsigned long i = 0;
      if (h->nlmsg_type == NLMSG_DONE || h->nlmsg_type == NLMSG_ERROR) {
        found = h->nlmsg_type == NLMSG_ERROR ? -1 : found;
        done = true;
        continue;
      }
      if (family == AF_UNIX && h->nlmsg_len >= NLMSG_LENGTH(sizeof(struct unix_diag_msg))) {
        i = ((const struct unix_diag_msg *)NLMSG_DATA(h))->udiag_ino;
      } else if (h->nlmsg_len >= NLMSG_LENGTH(sizeof(struct inet_diag_msg))) {
        const struct inet_diag_msg *m = NLMSG_DATA(h);
        if (protocol == IPPROTO_TCP || (m->id.idiag_sport != 0 && m->id.idiag_dport == 0))
          i = m->idiag_inode;
      }
      if (i && bsearch(&i, ino, n, sizeof *ino, sf_cmp_ino)) {
        found = 1;
        done = true;
      }
    }
    if (done)
      break;
  }
  close(nl);
  return found;
}

/* sf_listed_listening by sock_diag, when pid shares our network namespace (the kernel
 * answers for ours): 1 or 0, or -1 to read /proc's tables instead. */
static int sf_diag_listening(pid_t pid, const unsigned long *ino, size_t n)
{
  char path[64];
  struct stat ours, theirs;
  snprintf(path, sizeof path, "/proc/%d/ns/net", (int)pid);
  if (stat("/proc/self/ns/net", &ours) != 0 || stat(path, &theirs) != 0 ||
      ours.st_ino != theirs.st_ino || ours.st_dev != theirs.st_dev)
    return -1;
  static const struct {
    int family, protocol;
    unsigned states;
  } asks[5] = {{AF_INET, IPPROTO_TCP, 1u << SF_TCP_LISTEN},
               {AF_INET6, IPPROTO_TCP, 1u << SF_TCP_LISTEN},
               {AF_INET, IPPROTO_UDP, 1u << SF_TCP_CLOSE},
               {AF_INET6, IPPROTO_UDP, 1u << SF_TCP_CLOSE},
               {AF_UNIX, 0, 1u << SF_TCP_LISTEN}};
  for (int k = 0; k < 5; k++) {
    int r = sf_diag(asks[k].family, asks[k].protocol, asks[k].states, ino, n);
    if (r != 0)
      return r;
  }
  return 0;
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
  int r = sf_diag_listening(owner, ino, n);
  return r >= 0 ? r == 1 : sf_listed_listening(owner, ino, n);
}
