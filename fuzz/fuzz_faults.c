/*
 * fuzz_faults — the refserver's event loop (harness/refserver/server.c) in-process, with a
 * fault schedule applied by the real shim through the public fuzzing helper
 * (<sockfault/fuzz.h>, fuzz/sockfault_fuzz.c): libsockfault.so is preloaded (LD_PRELOAD, or
 * AFL_PRELOAD), or the helper re-executes the target with it found beside itself.
 *
 * The input: a fault schedule (fuzz.h format 1, over the calls the server makes once it
 * runs: recv, send, accept4, accept, setsockopt, shutdown, close), then one byte of this
 * target's own (bit 0: the connection is loopback TCP through the server's listener, which
 * brings accept4 and setsockopt into play, else a socketpair adopted by the server; bits 1-4:
 * the client's chunk size, chunks[]), then the client's stream (at most STREAM_MAX bytes).
 *
 * One input, one fresh server (rs_server_open, no listener or a loopback one), one client:
 *   1. the schedule is armed after start-up (start-up calls are not faulted);
 *   2. the client writes its stream chunk by chunk, the server steps (at most a bounded
 *      number of rs_server_step(…, 0) rounds, never waiting), the client reads replies;
 *   3. over a socketpair the client ends its stream (SHUT_WR) and the server finishes.
 * Then, with the faults off (sockfault_fuzz_end), a second client sends PING and must get
 * +PONG, the server is closed, and the process must hold exactly the fds it held before.
 *
 * Properties asserted:
 *  - no crash, no undefined behaviour, no leak (ASan, UBSan, LeakSanitizer);
 *  - what the client received is a prefix of the specification's replies (oracle.c), and
 *    all of them when the schedule cannot cost a reply (lossless());
 *  - after the faults, a new connection is served: PING gets PONG;
 *  - the fd count is back to its baseline once the server is closed (count_fds).
 * The client side uses raw system calls, so faults reach the server only; the server's
 * own calls go ASan interceptor -> shim -> libc. A failure prints the schedule as a
 * `sockfault run -e RULES -- fuzz_faults FILE` line (the helper's crash reporter).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "fuzz_check.h"
#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#include <sanitizer/asan_interface.h>
#endif
#endif
#ifndef ASAN_POISON_MEMORY_REGION
#define ASAN_POISON_MEMORY_REGION(a, n) ((void)(a), (void)(n))
#define ASAN_UNPOISON_MEMORY_REGION(a, n) ((void)(a), (void)(n))
#endif
#include "oracle.h"
#include "server.h"
#include "sockfault/fuzz.h"
#include "sockfault/sockfault.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* ---- the client: raw system calls, invisible to the shim and its rules -------------- */

static long raw_write(int fd, const void *p, size_t n)
{
  return syscall(SYS_sendto, fd, p, n, MSG_DONTWAIT | MSG_NOSIGNAL, NULL, 0);
}
static long raw_read(int fd, void *p, size_t n)
{
  return syscall(SYS_recvfrom, fd, p, n, MSG_DONTWAIT, NULL, NULL);
}
static void raw_close(int fd) { syscall(SYS_close, fd); }

/* A connected client fd (non-blocking), its server end served by srv; -1 if the server
 * refused it (only possible while faults are active). */
static int client_connect(struct rs_server *srv, bool loopback)
{
  if (!loopback) {
    int sv[2];
    FZ_CHECK(syscall(SYS_socketpair, AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0,
             "socketpair: %s", strerror(errno));
    if (rs_server_adopt(srv, sv[0]) != 0) {
      raw_close(sv[1]);
      return -1;
    }
    return sv[1];
  }
  int fd = (int)syscall(SYS_socket, AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  FZ_CHECK(fd >= 0, "socket: %s", strerror(errno));
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(rs_server_port(srv)),
                          .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  long rc = syscall(SYS_connect, fd, &a, sizeof a);
  if (rc != 0 && errno == EINTR) {
    /* A signal (libFuzzer's once-a-second timer) came during a connect that took long (a
     * SYN that met an old connection's TIME_WAIT is sent again after 1 s): the connection
     * goes on in the background; wait for it and take its result. */
    struct pollfd p = {.fd = fd, .events = POLLOUT};
    while (poll(&p, 1, 5000) < 0 && errno == EINTR)
      ;
    int err = ETIMEDOUT;
    socklen_t len = sizeof err;
    if (p.revents && syscall(SYS_getsockopt, fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0)
      err = errno;
    rc = err == 0 ? 0 : -1;
    errno = err;
  }
  FZ_CHECK(rc == 0, "connect: %s", strerror(errno));
  /* Close with a reset: no TIME_WAIT piles up over millions of inputs. No Nagle: each
   * chunk leaves at once, not after a delayed ACK (wall-clock time). */
  struct linger lg = {1, 0};
  int one = 1;
  syscall(SYS_setsockopt, fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
  syscall(SYS_setsockopt, fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  return fd;
}

/* One server round without waiting. A paused listener is resumed: in a fuzz run, time
 * passes between rounds (connections' own pauses are left alone; see lossless()). */
static void step(struct rs_server *srv)
{
  srv->listen_pause_until = 0;
  FZ_CHECK(rs_server_step(srv, 0) == 0, "rs_server_step: %s", rs_server_error(srv));
}

/* Read what is there; returns bytes read, 0 when none, -1 at end of stream or error. */
static long client_drain(int fd, struct fz_buf *got)
{
  char buf[16384];
  long total = 0;
  for (;;) {
    long n = raw_read(fd, buf, sizeof buf);
    if (n > 0) {
      fz_buf_put(got, buf, (size_t)n);
      total += n;
      continue;
    }
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
      return total;
    return total > 0 ? total : -1; /* EOF, ECONNRESET: the server closed */
  }
}

/* Open fds, counted from /proc/self/fd through a directory fd kept open (raw getdents64:
 * opendir's 32 KB buffer per call would cost more than the rest of an input). */
static int count_fds_proc(void)
{
  static int dir = -1;
  if (dir < 0) {
    dir = open("/proc/self/fd", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    FZ_CHECK(dir >= 0, "/proc/self/fd: %s", strerror(errno));
  }
  FZ_CHECK(lseek(dir, 0, SEEK_SET) == 0, "lseek /proc/self/fd: %s", strerror(errno));
  int n = 0;
  char buf[4096] __attribute__((aligned(8)));
  for (;;) {
    long got = syscall(SYS_getdents64, dir, buf, sizeof buf);
    FZ_CHECK(got >= 0, "getdents64 /proc/self/fd: %s", strerror(errno));
    if (got == 0)
      return n - 1; /* not the directory's own fd */
    for (long off = 0; off < got;) {
      unsigned short reclen;
      memcpy(&reclen, buf + off + 16, sizeof reclen); /* struct linux_dirent64's d_reclen */
      n += buf[off + 19] != '.'; /* d_name: not "." or ".." */
      off += reclen;
    }
  }
}

/* Open fds, process-wide. Every fd an input opens takes the lowest free number (POSIX), so
 * while fewer than FD_WINDOW fds are open at once, all of them lie below FD_WINDOW: one
 * poll() over [0, FD_WINDOW) sees each (POLLNVAL marks a free number), where reading
 * /proc/self/fd took an lseek, two getdents64 and the kernel's walk of the table. The first
 * call checks with /proc/self/fd that the process holds few enough fds for that (an input
 * adds a dozen at most: the listener, four connections, the clients' ends); if not, every
 * call reads /proc/self/fd. */
#define FD_WINDOW 128
static int count_fds(void)
{
  static int use_proc = -1;
  if (use_proc < 0)
    use_proc = count_fds_proc() + 32 >= FD_WINDOW;
  if (use_proc)
    return count_fds_proc();
  struct pollfd p[FD_WINDOW];
  for (int i = 0; i < FD_WINDOW; i++)
    p[i] = (struct pollfd){.fd = i};
  FZ_CHECK(poll(p, FD_WINDOW, 0) >= 0, "poll: %s", strerror(errno));
  int n = 0;
  for (int i = 0; i < FD_WINDOW; i++)
    n += !(p[i].revents & POLLNVAL);
  return n;
}

/* The server's store is ~600 KB, so rs_server_open's malloc of it is an mmap plus fresh
 * shadow pages under ASan: most of an input's time. The link wraps malloc/free
 * (-Wl,--wrap, fuzz/CMakeLists.txt) to hand out one static block for that size instead,
 * poisoned while free so ASan still reports a use after free; a second live store or one
 * not given back by rs_server_close is an error of its own. */
void *__real_malloc(size_t size);
void __real_free(void *p);
void *__wrap_malloc(size_t size);
void __wrap_free(void *p);
static struct rs_store store_block;
static bool store_busy;

void *__wrap_malloc(size_t size)
{
  if (size != sizeof store_block || store_busy)
    return __real_malloc(size);
  store_busy = true;
  ASAN_UNPOISON_MEMORY_REGION(&store_block, sizeof store_block);
  return &store_block;
}

void __wrap_free(void *p)
{
  if (p != &store_block) {
    __real_free(p);
    return;
  }
  FZ_CHECK(store_busy, "the store is freed twice");
  store_busy = false;
  ASAN_POISON_MEMORY_REGION(&store_block, sizeof store_block);
}

/* ---- the schedule --------------------------------------------------------------------- */

#define STREAM_MAX 16384
static const size_t chunks[16] = {1, 2, 3, 5, 8, 13, 16, 32, 64, 100, 200, 512, 1024, 1500, 4096,
                                  STREAM_MAX};

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
  sockfault_fuzz_init(argc, argv, "recv,send,accept4,accept,setsockopt,shutdown,close");
  return 0;
}

/* True if no fault of the schedule may cost the client a reply: each hits once and is
 * one the server must ride out without losing data (at most two transient recv/send
 * errnos, EINTR or EAGAIN; any accept, shutdown or close failure). */
static bool lossless(const struct sockfault_fuzz_schedule *s)
{
  unsigned transient = 0;
  for (unsigned i = 0; i < s->nfaults; i++) {
    const struct sockfault_fuzz_fault *f = &s->fault[i];
    /* A failed TCP_NODELAY brings Nagle back: replies wait for ACKs, in wall-clock time. */
    if (f->onward || strcmp(f->call, "setsockopt") == 0)
      return false;
    if (strcmp(f->call, "recv") == 0 || strcmp(f->call, "send") == 0) {
      if (f->err != EINTR && f->err != EAGAIN)
        return false;
      transient++;
    }
  }
  /* Three fruitless rounds in a row pause a connection for RS_RETRY_PAUSE_MS of wall-clock
   * time, which a bounded run does not wait for: that is a delay, not a loss. */
  return transient < 3;
}

static struct oracle model;

/* ---- one input ----------------------------------------------------------------------- */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  const int fds_before = count_fds();
  struct rs_server srv;
  struct rs_config cfg = RS_CONFIG_DEFAULT;
  cfg.max_conns = 4;
  cfg.quiet = getenv("SF_FUZZ_VERBOSE") == NULL; /* the server's log, when reproducing */
  /* The server is opened before the faults are armed, so this target's own byte is read
   * from behind the schedule first. */
  const size_t at = sockfault_fuzz_schedule_size(data, size);
  const uint8_t conf = at < size ? data[at] : 0;
  struct {
    bool loopback;
    size_t chunk;
    const char *stream;
    size_t stream_len;
  } s = {.loopback = conf & 1, .chunk = chunks[(conf >> 1) & 15]};
  if (!s.loopback)
    cfg.host[0] = '\0';
  sockfault_fuzz_end(); /* start-up is not faulted */
  FZ_CHECK(rs_server_open(&srv, &cfg) == 0, "rs_server_open: %s", rs_server_error(&srv));
  size_t rest_len;
  const uint8_t *rest = sockfault_fuzz_begin(data, size, &rest_len);
  const char *rules = sockfault_fuzz_rules();
  s.stream = rest_len > 0 ? (const char *)rest + 1 : "";
  s.stream_len = rest_len > 0 ? rest_len - 1 : 0;
  if (s.stream_len > STREAM_MAX)
    s.stream_len = STREAM_MAX;

  /* The replies a correct server gives this stream. */
  struct oracle *o = &model;
  oracle_init(o, 1, 1);
  struct fz_buf want = {0}, got = {0};
  bool quit;
  oracle_stream(o, s.stream, s.stream_len, &want, &quit);

  int fd = client_connect(&srv, s.loopback);
  FZ_CHECK(fd >= 0, "a new connection was refused: %s", rs_server_error(&srv));
  size_t nchunks = s.stream_len / s.chunk + 1;
  const size_t budget = 64 + 4 * nchunks + want.len / 256;
  size_t rounds = 0, pos = 0;
  bool closed = false;

  /* The stream, a chunk at a time; two rounds per chunk, so each recv sees one chunk. */
  while (pos < s.stream_len && !closed && rounds < budget) {
    size_t n = s.stream_len - pos < s.chunk ? s.stream_len - pos : s.chunk;
    long w = raw_write(fd, s.stream + pos, n);
    if (w > 0)
      pos += (size_t)w;
    else if (w < 0 && errno != EAGAIN && errno != EWOULDBLOCK)
      break; /* EPIPE, ECONNRESET: the server closed the connection */
    for (int k = 0; k < 2; k++, rounds++) {
      step(&srv);
      if (client_drain(fd, &got) < 0)
        closed = true;
    }
  }
  /* End of stream: over a socketpair the client half-closes, and the server answers what
   * it has and closes. Over TCP the client stays (a half-close would leave it in TIME_WAIT
   * once the server closes, and a long campaign would run out of ports); it closes with a
   * reset later. Either way, rounds stop when nothing arrives any more: a connection that
   * paused itself (wall-clock time) would not move within this run anyway. */
  if (!s.loopback)
    syscall(SYS_shutdown, fd, SHUT_WR);
  for (int idle = 0; !closed && idle < 4 && rounds < budget; rounds++) {
    if (s.loopback && got.len >= want.len)
      break;
    step(&srv);
    long r = client_drain(fd, &got);
    closed = r < 0;
    idle = r > 0 ? 0 : idle + 1;
  }

  FZ_CHECK(got.len <= want.len && (got.len == 0 || memcmp(got.p, want.p, got.len) == 0),
           "under '%s' the client got replies the specification does not give:\n  got  "
           "'%.*s'\n  want '%.*s'", rules, (int)(got.len < 200 ? got.len : 200), got.p,
           (int)(want.len < 200 ? want.len : 200), want.p ? want.p : "");
  if (lossless(sockfault_fuzz_schedule()))
    FZ_CHECK(got.len == want.len && (closed || s.loopback),
             "under '%s' (%llu injected, none that may cost a reply) the client got %zu of %zu "
             "bytes%s", rules, sockfault_injected(), got.len, want.len,
             closed ? "" : " and the connection stayed open");

  /* After the faults: a new client is served. */
  raw_close(fd);
  sockfault_fuzz_end();
  fd = client_connect(&srv, s.loopback);
  FZ_CHECK(fd >= 0, "after '%s' a new connection was refused: %s", rules,
           rs_server_error(&srv));
  FZ_CHECK(raw_write(fd, "PING\n", 5) == 5, "client write: %s", strerror(errno));
  struct fz_buf pong = {0};
  for (int k = 0; k < 16 && pong.len < 6; k++) {
    step(&srv);
    client_drain(fd, &pong);
  }
  FZ_CHECK(pong.len == 6 && memcmp(pong.p, "+PONG\n", 6) == 0,
           "after '%s' PING got '%.*s' instead of +PONG", rules, (int)pong.len,
           pong.p ? pong.p : "");
  raw_close(fd);
  rs_server_close(&srv);
  FZ_CHECK(!store_busy, "rs_server_close did not free the store");

  const int fds_after = count_fds();
  FZ_CHECK(fds_after == fds_before, "after '%s' the process holds %d fds, %d before", rules,
           fds_after, fds_before);
  fz_buf_free(&want);
  fz_buf_free(&got);
  fz_buf_free(&pong);
  return 0;
}
