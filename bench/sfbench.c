/*
 * sfbench: per-operation cost of the socket loops the benchmark compares, in whatever mode
 * the caller set up around it (bare, a preloaded wrapper, fiu-run, strace). It measures
 * only the loop itself, never process start-up, so every mode is timed on the same code.
 *
 *   sfbench [--ms N] [--max-ops N] [--fixed N] LOOP...   one line per loop:
 *       LOOP <median ns/op> <min ns/op> <heap allocations per op> <ops timed>
 *   sfbench --mem                                        VmRSS, RssAnon (private memory)
 *       and the preloaded tools' resident pages, after one pass over every loop:
 *       "mem <VmRSS kB> <RssAnon kB> <tool Rss kB>"
 *
 * An op is one iteration of the loop (socket+close is one op). --fixed N runs exactly N ops
 * once, between callgrind's start/stop requests (run under --instr-atstart=no: the
 * collected Ir is the loop's user-space instructions). The executable defines malloc & co.
 * over glibc's, so every allocation in the process — the preloaded tools' too — is counted.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <netinet/in.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#if defined(__has_include)
#if __has_include(<valgrind/callgrind.h>)
#include <valgrind/callgrind.h>
#endif
#endif
#ifndef CALLGRIND_START_INSTRUMENTATION
#define CALLGRIND_START_INSTRUMENTATION
#define CALLGRIND_STOP_INSTRUMENTATION
#endif

/* --- allocation counter ------------------------------------------------------------------ */

void *__libc_malloc(size_t n);
void *__libc_calloc(size_t n, size_t m);
void *__libc_realloc(void *p, size_t n);
void __libc_free(void *p);
void *malloc(size_t n);
void *calloc(size_t n, size_t m);
void *realloc(void *p, size_t n);
void free(void *p);

static _Atomic unsigned long sb_allocs;

void *malloc(size_t n)
{
  atomic_fetch_add_explicit(&sb_allocs, 1, memory_order_relaxed);
  return __libc_malloc(n);
}

void *calloc(size_t n, size_t m)
{
  atomic_fetch_add_explicit(&sb_allocs, 1, memory_order_relaxed);
  return __libc_calloc(n, m);
}

void *realloc(void *p, size_t n)
{
  atomic_fetch_add_explicit(&sb_allocs, 1, memory_order_relaxed);
  return __libc_realloc(p, n);
}

void free(void *p) { __libc_free(p); }

/* --- the loops ----------------------------------------------------------------------------- */

static void sb_die(const char *what)
{
  fprintf(stderr, "sfbench: %s: %s\n", what, strerror(errno));
  exit(1);
}

struct sb_fixture {
  int sock;             /* a TCP socket for setsockopt/getsockopt */
  int listener;         /* loopback listener for connect+accept */
  struct sockaddr_in la;
  int pair[2];          /* AF_UNIX stream pair for send/recv */
  struct sockaddr_in any; /* 127.0.0.1:0 for bind */
};

static struct sb_fixture fx;

static void sb_setup(void)
{
  fx.sock = socket(AF_INET, SOCK_STREAM, 0);
  if (fx.sock < 0)
    sb_die("socket");
  fx.any.sin_family = AF_INET;
  fx.any.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  fx.listener = socket(AF_INET, SOCK_STREAM, 0);
  if (fx.listener < 0)
    sb_die("socket");
  fx.la = fx.any;
  if (bind(fx.listener, (struct sockaddr *)&fx.la, sizeof fx.la) != 0)
    sb_die("bind listener");
  socklen_t l = sizeof fx.la;
  if (getsockname(fx.listener, (struct sockaddr *)&fx.la, &l) != 0 || listen(fx.listener, 512) != 0)
    sb_die("listen");
  if (socketpair(AF_UNIX, SOCK_STREAM, 0, fx.pair) != 0)
    sb_die("socketpair");
}

static void loop_setsockopt(long n)
{
  int one = 1;
  for (long i = 0; i < n; i++)
    if (setsockopt(fx.sock, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0)
      sb_die("setsockopt");
}

static void loop_getsockopt(long n)
{
  int v;
  for (long i = 0; i < n; i++) {
    socklen_t l = sizeof v;
    if (getsockopt(fx.sock, SOL_SOCKET, SO_TYPE, &v, &l) != 0)
      sb_die("getsockopt");
  }
}

static void loop_socket_close(long n)
{
  for (long i = 0; i < n; i++) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
      sb_die("socket");
    if (close(fd) != 0)
      sb_die("close");
  }
}

static void loop_bind_close(long n)
{
  for (long i = 0; i < n; i++) {
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    if (fd < 0)
      sb_die("socket");
    if (bind(fd, (struct sockaddr *)&fx.any, sizeof fx.any) != 0)
      sb_die("bind");
    if (close(fd) != 0)
      sb_die("close");
  }
}

/* The accepted end is reset (linger 0) and closed first: no TIME_WAIT, so thousands of
 * connections a second never run out of ephemeral ports. */
static void loop_connect_accept(long n)
{
  static const struct linger rst = {1, 0};
  for (long i = 0; i < n; i++) {
    int c = socket(AF_INET, SOCK_STREAM, 0);
    if (c < 0)
      sb_die("socket");
    if (connect(c, (struct sockaddr *)&fx.la, sizeof fx.la) != 0)
      sb_die("connect");
    int a = accept(fx.listener, NULL, NULL);
    if (a < 0)
      sb_die("accept");
    if (setsockopt(a, SOL_SOCKET, SO_LINGER, &rst, sizeof rst) != 0)
      sb_die("setsockopt SO_LINGER");
    if (close(a) != 0 || close(c) != 0)
      sb_die("close");
  }
}

static void loop_send_recv(long n)
{
  char buf[64] = {0};
  for (long i = 0; i < n; i++) {
    if (send(fx.pair[0], buf, sizeof buf, 0) != (ssize_t)sizeof buf)
      sb_die("send");
    if (recv(fx.pair[1], buf, sizeof buf, 0) != (ssize_t)sizeof buf)
      sb_die("recv");
  }
}

/* send() into libsfbench_null.so, which returns at once: the interposition cost alone. Only
 * the sfbench_null executable links that library ahead of libc (CMakeLists.txt). */
#ifdef SFBENCH_NULL
static void loop_null(long n)
{
  char b = 0;
  for (long i = 0; i < n; i++)
    if (send(-1, &b, 1, 0) != 1)
      sb_die("send (null)");
}
#endif

struct sb_loop {
  const char *name;
  void (*run)(long n);
};

static const struct sb_loop sb_loops[] = {
    {"setsockopt", loop_setsockopt},
    {"getsockopt", loop_getsockopt},
    {"socket_close", loop_socket_close},
    {"bind_close", loop_bind_close},
    {"connect_accept", loop_connect_accept},
    {"send_recv", loop_send_recv}, /* not in sfbench_null: its send() is the stub */
#ifdef SFBENCH_NULL
    {"null", loop_null},
#endif
};
enum { SB_NLOOPS = sizeof sb_loops / sizeof sb_loops[0] };

/* --- timing --------------------------------------------------------------------------------- */

static double sb_now(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static int sb_cmp(const void *a, const void *b)
{
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

enum { SB_BATCHES = 7 };

/* Warm up for a tenth of the budget, size batches from the last warm-up round, then time
 * SB_BATCHES batches. max_ops bounds every op run (strace counts up to when=65535 only). */
static void sb_measure(const struct sb_loop *l, double budget_ns, long max_ops)
{
  long warm = 1, done = 0;
  double start = sb_now(), last = 0;
  for (;;) {
    double s = sb_now();
    l->run(warm);
    last = (sb_now() - s) / (double)warm;
    done += warm;
    if (sb_now() - start >= budget_ns / 10 || done + warm * 2 > max_ops / 4)
      break;
    warm *= 2;
  }
  long batch = (long)(budget_ns * 0.9 / SB_BATCHES / (last > 1 ? last : 1));
  long room = (max_ops - done) / SB_BATCHES;
  if (batch > room)
    batch = room;
  if (batch < 1)
    batch = 1;
  double ns[SB_BATCHES];
  unsigned long a0 = atomic_load(&sb_allocs);
  for (int b = 0; b < SB_BATCHES; b++) {
    double s = sb_now();
    l->run(batch);
    ns[b] = (sb_now() - s) / (double)batch;
  }
  unsigned long allocs = atomic_load(&sb_allocs) - a0;
  qsort(ns, SB_BATCHES, sizeof ns[0], sb_cmp);
  printf("%s %.2f %.2f %.4f %ld\n", l->name, ns[SB_BATCHES / 2], ns[0],
         (double)allocs / (double)(batch * SB_BATCHES), batch * SB_BATCHES);
  fflush(stdout);
}

/* Resident kB of VmRSS and of the mappings of preloaded tools (sockfault, libfiu, the
 * benchmark's minimal wrapper). Read after the loops, so pages they touch are counted. */
static void sb_mem(void)
{
  for (int i = 0; i < SB_NLOOPS; i++)
    sb_loops[i].run(100);
  char line[512];
  long rss = -1, anon = -1, tool = 0;
  FILE *f = fopen("/proc/self/status", "r");
  while (f && fgets(line, sizeof line, f))
    if (strncmp(line, "VmRSS:", 6) == 0)
      rss = strtol(line + 6, NULL, 10);
    else if (strncmp(line, "RssAnon:", 8) == 0)
      anon = strtol(line + 8, NULL, 10);
  if (f)
    fclose(f);
  f = fopen("/proc/self/smaps", "r");
  int ours = 0;
  while (f && fgets(line, sizeof line, f)) {
    unsigned long lo, hi;
    if (sscanf(line, "%lx-%lx ", &lo, &hi) == 2)
      ours = strstr(line, "libsockfault") || strstr(line, "fiu") || strstr(line, "sfbench_min");
    else if (ours && strncmp(line, "Rss:", 4) == 0)
      tool += strtol(line + 4, NULL, 10);
  }
  if (f)
    fclose(f);
  printf("mem %ld %ld %ld\n", rss, anon, tool);
}

static const struct sb_loop *sb_find(const char *name)
{
  for (int i = 0; i < SB_NLOOPS; i++)
    if (strcmp(sb_loops[i].name, name) == 0)
      return &sb_loops[i];
  return NULL;
}

int main(int argc, char **argv)
{
  double ms = 100;
  long max_ops = 1L << 40, fixed = 0;
  int i = 1;
  for (; i < argc && argv[i][0] == '-'; i++) {
    if (strcmp(argv[i], "--ms") == 0 && i + 1 < argc)
      ms = atof(argv[++i]);
    else if (strcmp(argv[i], "--max-ops") == 0 && i + 1 < argc)
      max_ops = atol(argv[++i]);
    else if (strcmp(argv[i], "--fixed") == 0 && i + 1 < argc)
      fixed = atol(argv[++i]);
    else if (strcmp(argv[i], "--mem") == 0) {
      sb_setup();
      sb_mem();
      return 0;
    } else {
      fprintf(stderr, "usage: sfbench [--ms N] [--max-ops N] [--fixed N] LOOP... | --mem\n");
      return 2;
    }
  }
  sb_setup();
  for (; i < argc; i++) {
    const struct sb_loop *l = sb_find(argv[i]);
    if (!l) {
      fprintf(stderr, "sfbench: unknown loop '%s'\n", argv[i]);
      return 2;
    }
    if (fixed > 0) {
      l->run(fixed / 10 + 1); /* first calls: lazy binding, page faults */
      CALLGRIND_START_INSTRUMENTATION;
      l->run(fixed);
      CALLGRIND_STOP_INSTRUMENTATION;
      printf("%s fixed %ld\n", l->name, fixed);
    } else {
      sb_measure(l, ms * 1e6, max_ops);
    }
  }
  return 0;
}
