/* Many threads hammering intercepted calls while rules fire and the log is on.
 *   rel_threads THREADS ITERATIONS
 * Each thread owns a socketpair; each iteration makes two intercepted calls on it,
 * getsockopt and setsockopt, and every 8th also a write (one byte) and, when the write went
 * through, a read (the costly pair, kept rarer so that 200k calls a thread stay fast). The
 * rules come from the environment (the driver sets them); the program counts, per call,
 * the calls made and the failures seen, checks every failure's errno, and prints
 *   getsockopt CALLS FAILS setsockopt CALLS FAILS write CALLS FAILS read CALLS FAILS
 * Exit 0, or 1 with a message on any unexpected result (a lost byte, a stray errno).
 *   rel_threads --churn THREADS ITERATIONS FILE
 * Threads race to create and close sockets and files, so fd numbers pass between kinds and
 * threads all the time; with the rule write:error=EIO every socket write must fail and no
 * file write may. Prints "churn SOCKWRITES SOCKFAILS FILEWRITES FILEFAILS".
 *   rel_threads --churn-ports THREADS ITERATIONS FILE
 * The same churn for the fd table's ports: threads make datagram sockets (through libc or
 * behind the shim's back), bind or connect some to port P (a socket of main's), open files,
 * and close, so fd numbers pass between sockets bound to P, unbound ones and files. Under
 * the rule setsockopt:error=ENOPROTOOPT:port=P (set through the control API once P is
 * known) a setsockopt fails exactly on a socket bound or connected to P; one more thread
 * calls setsockopt on every fd number in turn, racing the owners' closes and binds.
 * Prints "ports WANTED MATCHED STRAYS". */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "sockfault/sockfault.h"

enum { C_GET, C_SET, C_WRITE, C_READ, C_N };
static const char *const names[C_N] = {"getsockopt", "setsockopt", "write", "read"};
/* the errno each call's rule injects (see test_reliability.py) */
static const int want_errno[C_N] = {ENOPROTOOPT, EINVAL, EAGAIN, 0};

static atomic_ulong calls[C_N], fails[C_N];
static atomic_int bad;
static long iterations;

static void failed(int which, int err)
{
  atomic_fetch_add(&fails[which], 1);
  if (err != want_errno[which] && atomic_fetch_add(&bad, 1) == 0)
    fprintf(stderr, "rel_threads: %s failed with errno %d (%s)\n", names[which], err,
            strerror(err));
}

static void *worker(void *arg)
{
  (void)arg;
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0) {
    perror("rel_threads: socketpair");
    atomic_fetch_add(&bad, 1);
    return NULL;
  }
  unsigned long local[C_N] = {0};
  for (long i = 0; i < iterations && atomic_load_explicit(&bad, memory_order_relaxed) == 0; i++) {
    int v = 0;
    socklen_t l = sizeof v;
    local[C_GET]++;
    if (getsockopt(sv[0], SOL_SOCKET, SO_TYPE, &v, &l) != 0)
      failed(C_GET, errno);
    else if (v != SOCK_STREAM && atomic_fetch_add(&bad, 1) == 0)
      fprintf(stderr, "rel_threads: SO_TYPE %d\n", v);
    int on = (int)(i & 1);
    local[C_SET]++;
    if (setsockopt(sv[0], SOL_SOCKET, SO_KEEPALIVE, &on, sizeof on) != 0)
      failed(C_SET, errno);
    if (i % 8 != 0)
      continue;
    char c = (char)('a' + i % 26), got = 0;
    local[C_WRITE]++;
    if (write(sv[0], &c, 1) != 1) {
      failed(C_WRITE, errno);
      continue;
    }
    local[C_READ]++;
    if (read(sv[1], &got, 1) != 1 || got != c) {
      if (atomic_fetch_add(&bad, 1) == 0)
        fprintf(stderr, "rel_threads: read lost the byte (errno %d)\n", errno);
    }
  }
  for (int k = 0; k < C_N; k++)
    atomic_fetch_add(&calls[k], local[k]);
  close(sv[0]);
  close(sv[1]);
  return NULL;
}

static const char *churn_file;

static void *churner(void *arg)
{
  (void)arg;
  for (long i = 0; i < iterations; i++) {
    int s = socket(i % 2 ? AF_INET : AF_UNIX, SOCK_DGRAM, 0);
    if (s < 0) {
      fprintf(stderr, "rel_threads: socket: %s\n", strerror(errno));
      atomic_store(&bad, 1);
      return NULL;
    }
    atomic_fetch_add(&calls[C_WRITE], 1);
    if (write(s, "", 0) == -1 && errno == EIO)
      atomic_fetch_add(&fails[C_WRITE], 1);
    close(s);
    FILE *f = fopen(churn_file, "a"); /* the fd opened and closed inside libc */
    int fd = f ? fileno(f) : -1;
    atomic_fetch_add(&calls[C_READ], 1);
    if (fd < 0 || write(fd, "x", 1) != 1)
      atomic_fetch_add(&fails[C_READ], 1);
    if (f)
      fclose(f);
  }
  return NULL;
}

/* n threads running fn, joined: true if all n started */
static bool run_threads(int n, void *(*fn)(void *))
{
  pthread_t t[256];
  int started = 0;
  for (; started < n; started++)
    if (pthread_create(&t[started], NULL, fn, NULL) != 0)
      break;
  for (int i = 0; i < started; i++)
    pthread_join(t[i], NULL);
  return started == n;
}

static int churn(int n, const char *file)
{
  churn_file = file;
  bool all = run_threads(n, churner);
  printf("churn %lu %lu %lu %lu\n", atomic_load(&calls[C_WRITE]), atomic_load(&fails[C_WRITE]),
         atomic_load(&calls[C_READ]), atomic_load(&fails[C_READ]));
  return all && !atomic_load(&bad) ? 0 : 1;
}

/* --- the ports churn ------------------------------------------------------------------ */

static int churn_port;
static atomic_ulong port_wanted, port_matched, port_strays;

static int port_rule_fails(int fd)
{
  int one = 1;
  errno = 0;
  return setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0 && errno == ENOPROTOOPT;
}

static void port_check(int fd, bool want)
{
  bool got = port_rule_fails(fd);
  if (want)
    atomic_fetch_add(&port_wanted, 1);
  if (got && want)
    atomic_fetch_add(&port_matched, 1);
  if (got != want && atomic_fetch_add(&port_strays, 1) < 3)
    fprintf(stderr, "rel_threads: fd %d: setsockopt %s (wanted %s)\n", fd,
            got ? "failed" : "passed", want ? "a failure" : "none");
}

static void *port_churner(void *arg)
{
  (void)arg;
  struct sockaddr_in p = {.sin_family = AF_INET, .sin_port = htons((unsigned short)churn_port),
                          .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  for (long i = 0; i < iterations && atomic_load(&port_strays) < 3; i++) {
    int how = (int)(i % 4);
    int s = how == 2 ? (int)syscall(SYS_socket, AF_INET, SOCK_DGRAM, 0)
                     : socket(AF_INET, SOCK_DGRAM, 0);
    if (s < 0) {
      fprintf(stderr, "rel_threads: socket: %s\n", strerror(errno));
      atomic_store(&bad, 1);
      return NULL;
    }
    port_check(s, false); /* unbound, unconnected: also sets SO_REUSEADDR for the bind */
    int r = how == 1 ? connect(s, (struct sockaddr *)&p, sizeof p)
                     : bind(s, (struct sockaddr *)&p, sizeof p);
    if (r != 0) {
      fprintf(stderr, "rel_threads: %s: %s\n", how == 1 ? "connect" : "bind", strerror(errno));
      atomic_store(&bad, 1);
      close(s);
      return NULL;
    }
    port_check(s, true);
    close(s);
    if (how == 3) { /* a file takes the number for a while */
      FILE *f = fopen(churn_file, "a");
      if (f) {
        fputc('x', f);
        fclose(f);
      }
    }
  }
  return NULL;
}

/* Asks about every fd number in turn, whoever owns it: its lookups race the owners' closes
 * and binds, and a stale answer stored would make an owner's check fail. */
static atomic_bool probing;

static void *port_prober(void *arg)
{
  (void)arg;
  int one = 1;
  while (atomic_load(&probing))
    for (int fd = 3; fd < 24; fd++)
      (void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  return NULL;
}

static int churn_ports(int n, const char *file)
{
  churn_file = file;
  int sink = socket(AF_INET, SOCK_DGRAM, 0);
  int one = 1;
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  socklen_t l = sizeof a;
  if (sink < 0 || setsockopt(sink, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0 ||
      bind(sink, (struct sockaddr *)&a, sizeof a) != 0 ||
      getsockname(sink, (struct sockaddr *)&a, &l) != 0) {
    perror("rel_threads: sink");
    return 1;
  }
  churn_port = ntohs(a.sin_port);
  char rule[96], err[256];
  snprintf(rule, sizeof rule, "setsockopt:error=ENOPROTOOPT:port=%d", churn_port);
  if (sockfault_set_rules == NULL || sockfault_set_rules(rule, err, sizeof err) != 0) {
    fprintf(stderr, "rel_threads: %s: %s\n", rule, sockfault_set_rules ? err : "no shim");
    return 1;
  }
  pthread_t prober;
  atomic_store(&probing, true);
  if (pthread_create(&prober, NULL, port_prober, NULL) != 0)
    return 1;
  bool all = run_threads(n, port_churner);
  atomic_store(&probing, false);
  pthread_join(prober, NULL);
  printf("ports %lu %lu %lu\n", atomic_load(&port_wanted), atomic_load(&port_matched),
         atomic_load(&port_strays));
  return all && !atomic_load(&bad) ? 0 : 1;
}

int main(int argc, char **argv)
{
  if (argc == 5 && (strcmp(argv[1], "--churn") == 0 || strcmp(argv[1], "--churn-ports") == 0)) {
    iterations = atol(argv[3]);
    int n = atoi(argv[2]);
    if (n < 1 || n > 256 || iterations < 1) {
      fprintf(stderr, "rel_threads: THREADS 1..256, ITERATIONS > 0\n");
      return 2;
    }
    return strcmp(argv[1], "--churn") == 0 ? churn(n, argv[4]) : churn_ports(n, argv[4]);
  }
  if (argc != 3) {
    fprintf(stderr, "usage: rel_threads THREADS ITERATIONS\n");
    return 2;
  }
  int n = atoi(argv[1]);
  iterations = atol(argv[2]);
  if (n < 1 || n > 256 || iterations < 1) {
    fprintf(stderr, "rel_threads: THREADS 1..256, ITERATIONS > 0\n");
    return 2;
  }
  pthread_t t[256];
  for (int i = 0; i < n; i++) {
    int e = pthread_create(&t[i], NULL, worker, NULL);
    if (e != 0) {
      fprintf(stderr, "rel_threads: pthread_create: %s\n", strerror(e));
      return 1;
    }
  }
  for (int i = 0; i < n; i++)
    pthread_join(t[i], NULL);
  for (int k = 0; k < C_N; k++)
    printf("%s%s %lu %lu", k ? " " : "", names[k], atomic_load(&calls[k]),
           atomic_load(&fails[k]));
  printf("\n");
  return atomic_load(&bad) ? 1 : 0;
}
