/* Readiness without the log (harness/engine/listening.c): sf_tree_listening says a run's
 * process tree listens when, and only when, one of its processes holds a listening socket.
 * The tree is a child that holds nothing and a grandchild that, step by step on our cue,
 * binds a TCP socket (not yet listening), listens on it, closes it, binds a UDP socket (a UDP
 * server is ready once bound), connects it (a client's), closes it, and listens on an
 * AF_UNIX socket; meanwhile this process listens itself (outside the tree: never counted).
 * Walked from the root's children files, and through a cgroup directory that cannot be read
 * (the walk is the fallback). Twice: the grandchild in our network namespace (sock_diag
 * answers), then, as root, in one of its own (/proc/PID/net's tables are read). */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "listening.h"

static int cue[2], ack[2], own = -1; /* own: our listener, outside the tree */

/* In a network namespace of its own (root only), with its loopback up: another kernel
 * table than explore's, read from /proc/PID/net rather than asked of sock_diag. */
static bool own_netns(void)
{
  struct ifreq ifr;
  memset(&ifr, 0, sizeof ifr);
  snprintf(ifr.ifr_name, sizeof ifr.ifr_name, "lo");
  int s = unshare(CLONE_NEWNET) == 0 ? socket(AF_INET, SOCK_DGRAM, 0) : -1;
  bool up = s >= 0 && ioctl(s, SIOCGIFFLAGS, &ifr) == 0 &&
            (ifr.ifr_flags |= IFF_UP, ioctl(s, SIOCSIFFLAGS, &ifr) == 0);
  if (s >= 0)
    close(s);
  return up;
}

static void grandchild(bool netns)
{
  char ready = netns && !own_netns() ? 'n' : 'y';
  (void)!write(ack[1], &ready, 1);
  if (ready == 'n')
    _exit(0);
  int tcp = socket(AF_INET, SOCK_STREAM, 0), udp = -1, unx = -1;
  struct sockaddr_in a = {.sin_family = AF_INET};
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  char step;
  while (read(cue[0], &step, 1) == 1) {
    if (step == 'b')
      (void)!bind(tcp, (struct sockaddr *)&a, sizeof a);
    else if (step == 'l')
      (void)!listen(tcp, 1);
    else if (step == 'c')
      close(tcp);
    else if (step == 'g')
      udp = socket(AF_INET, SOCK_DGRAM, 0);
    else if (step == 'd')
      (void)!bind(udp, (struct sockaddr *)&a, sizeof a);
    else if (step == 'k') { /* connected to a peer: a client's socket, not a server's */
      struct sockaddr_in p = a;
      p.sin_port = htons(9);
      (void)!connect(udp, (struct sockaddr *)&p, sizeof p);
    } else if (step == 'e')
      close(udp);
    else if (step == 'u') {
      struct sockaddr_un u = {.sun_family = AF_UNIX};
      snprintf(u.sun_path + 1, sizeof u.sun_path - 1, "sf-test-listening-%d", (int)getpid());
      unx = socket(AF_UNIX, SOCK_STREAM, 0);
      (void)!bind(unx, (struct sockaddr *)&u, sizeof u);
      (void)!listen(unx, 1);
    }
    (void)!write(ack[1], &step, 1);
  }
  _exit(0);
}

/* Cue the grandchild, wait for it, then ask both ways (tree walk and unreadable cgroup). */
static int step(pid_t root, char what)
{
  char got = 0;
  CHECK(write(cue[1], &what, 1) == 1 && read(ack[0], &got, 1) == 1 && got == what);
  bool walk = sf_tree_listening(root, NULL);
  CHECK_EQ(sf_tree_listening(root, "/nonexistent-cgroup"), walk);
  return walk;
}

/* The steps in a fresh tree, its grandchild in our network namespace or in its own. */
static void tree(bool netns)
{
  CHECK(pipe(cue) == 0 && pipe(ack) == 0);
  pid_t root = fork();
  if (root == 0) {
    close(own);
    close(cue[1]);
    close(ack[0]);
    pid_t g = fork();
    if (g == 0)
      grandchild(netns);
    close(cue[0]);
    close(ack[1]);
    int st;
    waitpid(g, &st, 0); /* the root holds no socket; it waits */
    _exit(0);
  }
  close(cue[0]);
  close(ack[1]);
  char ready = 0;
  CHECK(read(ack[0], &ready, 1) == 1);
  if (ready == 'y') {
    CHECK(!step(root, 'x'));   /* a socket, unbound */
    CHECK(!step(root, 'b'));   /* bound, not listening */
    CHECK(step(root, 'l'));    /* listening, in the grandchild */
    CHECK(!step(root, 'c'));   /* closed again */
    CHECK(!step(root, 'g'));   /* a UDP socket, unbound */
    CHECK(step(root, 'd'));    /* bound: a UDP server is ready */
    CHECK(!step(root, 'k'));   /* connected to a peer: a client */
    CHECK(!step(root, 'e'));   /* closed */
    CHECK(step(root, 'u'));    /* AF_UNIX listening */
  } else {
    printf("note: no network namespace of its own here (not root?): /proc's tables not "
           "checked\n");
  }
  close(cue[1]);
  close(ack[0]);
  int st;
  CHECK(waitpid(root, &st, 0) == root);
  CHECK(!sf_tree_listening(root, NULL)); /* gone */
}

int main(void)
{
  /* outside the tree: must never count */
  own = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  struct sockaddr_in a = {.sin_family = AF_INET};
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  CHECK(own >= 0 && bind(own, (struct sockaddr *)&a, sizeof a) == 0 && listen(own, 1) == 0);
  tree(false); /* sock_diag */
  tree(true);  /* /proc/PID/net */
  close(own);
  printf("%d checks, %d failed\n", sf_check_count, sf_check_failures);
  return sf_check_failures != 0;
}
