/* A small program for end-to-end tests: performs intercepted calls and prints, per call,
 * "ok" or the errno name, so a test can read exactly which calls failed and how.
 *   probe CALL COUNT          the call's snippet COUNT times
 *   probe nsocket COUNT       socket() COUNT times, nothing else
 *   probe socket-family       socket() for inet stream, inet dgram, inet6 stream, unix stream
 *   probe sites               socket() from two different call sites, alternately, 3 times
 *   probe threads N K         N threads × K socket() calls; prints the number that failed
 *   probe fork                socket() once, fork, then socket() in parent and child
 *   probe port P              connect to 127.0.0.1:P twice and to another port twice
 * With PROBE_CTOR=1 a constructor calls socket() before main and prints "ctor:RESULT". */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "snippets.h"
#include "table.h"

static void report(long r, int err)
{
  if (r >= 0)
    printf("ok ");
  else
    printf("%s ", sf_errno_name(err) ? sf_errno_name(err) : "?");
}

/* always inlined, so each caller's socket() is a call site of its own */
static inline __attribute__((always_inline)) long sock(int domain, int type)
{
  int fd = socket(domain, type, 0);
  int e = errno;
  if (fd >= 0)
    close(fd);
  errno = e;
  return fd;
}

__attribute__((constructor)) static void probe_ctor(void)
{
  const char *c = getenv("PROBE_CTOR");
  if (c && strcmp(c, "1") == 0) {
    long r = sock(AF_INET, SOCK_STREAM);
    printf("ctor:");
    report(r, errno);
    printf("\n");
    fflush(stdout);
  }
}

static atomic_int failures;
static int per_thread;

static void *thread_main(void *arg)
{
  (void)arg;
  for (int i = 0; i < per_thread; i++)
    if (sock(AF_INET, SOCK_STREAM) < 0)
      atomic_fetch_add(&failures, 1);
  return NULL;
}

__attribute__((noinline)) static long site_a(void) { return sock(AF_INET, SOCK_STREAM); }
/* not identical to site_a, or the compiler folds the two into one function */
__attribute__((noinline)) static long site_b(void) { return sock(AF_INET, SOCK_STREAM | SOCK_CLOEXEC); }

static long connect_port(int port)
{
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((unsigned short)port)};
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  int s = socket(AF_INET, SOCK_STREAM, 0);
  long r = connect(s, (struct sockaddr *)&a, sizeof a);
  int e = errno;
  close(s);
  errno = e;
  return r;
}

int main(int argc, char **argv)
{
  signal(SIGPIPE, SIG_IGN);
  setvbuf(stdout, NULL, _IOLBF, 0);
  if (argc < 2) {
    fprintf(stderr, "usage: probe CALL COUNT | socket-family | sites | threads N K | fork | port P\n");
    return 2;
  }
  if (strcmp(argv[1], "nsocket") == 0 && argc == 3) {
    for (int i = 0; i < atoi(argv[2]); i++) {
      long r = sock(AF_INET, SOCK_STREAM);
      report(r, errno);
    }
  } else if (strcmp(argv[1], "socket-family") == 0) {
    long r;
    r = sock(AF_INET, SOCK_STREAM); report(r, errno);
    r = sock(AF_INET, SOCK_DGRAM); report(r, errno);
    r = sock(AF_INET6, SOCK_STREAM); report(r, errno);
    r = sock(AF_UNIX, SOCK_STREAM); report(r, errno);
  } else if (strcmp(argv[1], "sites") == 0) {
    for (int i = 0; i < 3; i++) {
      long r = site_a(); report(r, errno);
      r = site_b(); report(r, errno);
    }
  } else if (strcmp(argv[1], "threads") == 0 && argc == 4) {
    int n = atoi(argv[2]);
    per_thread = atoi(argv[3]);
    pthread_t t[64];
    if (n < 1 || n > 64)
      return 2;
    for (int i = 0; i < n; i++)
      pthread_create(&t[i], NULL, thread_main, NULL);
    for (int i = 0; i < n; i++)
      pthread_join(t[i], NULL);
    printf("%d", atomic_load(&failures));
  } else if (strcmp(argv[1], "fork") == 0) {
    long r = sock(AF_INET, SOCK_STREAM);
    printf("before:"); report(r, errno); fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
      r = sock(AF_INET, SOCK_STREAM);
      printf("child:"); report(r, errno); fflush(stdout);
      _exit(0);
    }
    int st;
    waitpid(pid, &st, 0);
    r = sock(AF_INET, SOCK_STREAM);
    printf("parent:"); report(r, errno);
  } else if (strcmp(argv[1], "exit") == 0 && argc == 3) {
    return atoi(argv[2]);
  } else if (strcmp(argv[1], "kill") == 0 && argc == 3) {
    raise(atoi(argv[2]));
  } else if (strcmp(argv[1], "port") == 0 && argc == 3) {
    int p = atoi(argv[2]);
    long r;
    r = connect_port(p); report(r, errno);
    r = connect_port(p == 1 ? 2 : 1); report(r, errno);
    r = connect_port(p); report(r, errno);
    r = connect_port(p == 1 ? 2 : 1); report(r, errno);
  } else if (argc == 3) {
    const struct snippet *s = snippet_find(argv[1]);
    if (!s) {
      fprintf(stderr, "probe: no snippet for '%s'\n", argv[1]);
      return 2;
    }
    struct fixture fx;
    if (fixture_open(&fx) != 0) {
      perror("probe: fixture");
      return 1;
    }
    for (int i = 0; i < atoi(argv[2]); i++) {
      long r = s->run(&fx);
      report(r, errno);
      fixture_drain(&fx);
    }
    fixture_close(&fx);
  } else {
    fprintf(stderr, "probe: bad arguments\n");
    return 2;
  }
  printf("\n");
  return 0;
}
