/* test_loop.c — the refserver event loop (server.h) driven in-process: socketpairs adopted
 * as clients, partial I/O, back-pressure, QUIT, EOF, half-close, the connection limit,
 * graceful stop, no fd left behind; and a real EMFILE (lowered RLIMIT_NOFILE) in a forked
 * server that must refuse without spinning and keep serving. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "server.h"

#include "check.h"

static int count_fds(void)
{
  int n = 0;
  DIR *d = opendir("/proc/self/fd");
  if (d == NULL)
    return -1;
  while (readdir(d) != NULL)
    n++;
  closedir(d);
  return n;
}

static struct rs_server srv;

static void open_server(unsigned max_conns)
{
  struct rs_config cfg = RS_CONFIG_DEFAULT;
  cfg.host[0] = '\0'; /* adopt only */
  cfg.max_conns = max_conns;
  cfg.quiet = true;
  if (rs_server_open(&srv, &cfg) != 0) {
    fprintf(stderr, "rs_server_open: %s\n", rs_server_error(&srv));
    exit(1);
  }
}

/* A client: the other end of an adopted socketpair (non-blocking). */
static int client(void)
{
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0) {
    perror("socketpair");
    exit(1);
  }
  if (fcntl(sv[1], F_SETFL, O_NONBLOCK) != 0) {
    perror("fcntl");
    exit(1);
  }
  CHECK(rs_server_adopt(&srv, sv[0]) == 0);
  return sv[1];
}

/* Run the loop until fd has `lines` reply lines (or EOF), at most ~2 s. Returns what
 * was read; *eof tells whether the server closed. */
static const char *read_replies(int fd, int lines, bool *eof)
{
  static char buf[1 << 20];
  size_t len = 0;
  int have = 0;
  *eof = false;
  for (int round = 0; round < 2000 && have < lines && !*eof; round++) {
    rs_server_step(&srv, 1);
    for (;;) {
      ssize_t n = recv(fd, buf + len, sizeof buf - 1 - len, 0);
      if (n > 0) {
        for (ssize_t i = 0; i < n; i++)
          have += buf[len + (size_t)i] == '\n';
        len += (size_t)n;
        continue;
      }
      if (n == 0)
        *eof = true;
      break;
    }
  }
  buf[len] = '\0';
  return buf;
}

static void send_all(int fd, const char *s)
{
  size_t n = strlen(s), off = 0;
  for (int round = 0; off < n && round < 10000; round++) {
    ssize_t k = send(fd, s + off, n - off, MSG_NOSIGNAL);
    if (k > 0)
      off += (size_t)k;
    else
      rs_server_step(&srv, 1); /* full: let the server read */
  }
  CHECK(off == n);
}

/* Step until the server has `n` connections, at most ~1 s. */
static void wait_conns(unsigned n)
{
  for (int round = 0; round < 1000 && srv.stats.conns_open != n; round++)
    rs_server_step(&srv, 1);
  CHECK(srv.stats.conns_open == n);
}

static void test_basic(void)
{
  bool eof;
  open_server(8);
  int c = client();
  send_all(c, "PING\nSET a hello\nGET a\nSTATS\n");
  CHECK_STR(read_replies(c, 4, &eof),
            "+PONG\n+OK\n+hello\n+connections=1 accepted=1 requests=4 keys=1\n");
  CHECK(!eof);

  /* byte by byte, the loop running between bytes */
  const char *req = "ECHO one byte at a time\r\n";
  for (const char *p = req; *p; p++) {
    CHECK(send(c, p, 1, MSG_NOSIGNAL) == 1);
    rs_server_step(&srv, 0);
  }
  CHECK_STR(read_replies(c, 1, &eof), "+one byte at a time\n");

  /* an overlong line keeps the connection usable */
  static char big[5000];
  memset(big, 'y', sizeof big - 2);
  big[sizeof big - 2] = '\n';
  send_all(c, big);
  send_all(c, "PING\n");
  CHECK_STR(read_replies(c, 2, &eof), "-ERR line too long\n+PONG\n");
  CHECK(!eof);

  /* QUIT: "+BYE", then the server closes; input after QUIT is dropped */
  send_all(c, "QUIT\nPING\n");
  CHECK_STR(read_replies(c, 2, &eof), "+BYE\n");
  CHECK(eof);
  wait_conns(0);
  close(c);
  rs_server_close(&srv);
}

static void test_eof_and_half_close(void)
{
  bool eof;
  open_server(8);
  /* the client closes: the server closes too */
  int c = client();
  wait_conns(1);
  close(c);
  wait_conns(0);

  /* half-close after requests: they are answered, then the server closes */
  c = client();
  send_all(c, "PING\nECHO last\nPARTIAL");
  CHECK(shutdown(c, SHUT_WR) == 0);
  CHECK_STR(read_replies(c, 3, &eof), "+PONG\n+last\n");
  CHECK(eof);
  close(c);
  wait_conns(0);
  rs_server_close(&srv);
}

/* A client that writes a lot and reads nothing: the server stops reading, buffers stay
 * bounded, and every request is answered once the client reads. */
static void test_back_pressure(void)
{
  bool eof;
  open_server(8);
  int c = client();
  static char line[1100];
  memcpy(line, "ECHO ", 5);
  memset(line + 5, 'z', 1000);
  strcpy(line + 1005, "\n");
  int sent = 0;
  for (int round = 0; round < 100000 && sent < 2000; round++) {
    ssize_t k = send(c, line, strlen(line), MSG_NOSIGNAL | MSG_DONTWAIT);
    if (k == (ssize_t)strlen(line))
      sent++;
    else if (k > 0)
      send_all(c, line + k), sent++;
    else
      break; /* both socket buffers and the server's are full */
    rs_server_step(&srv, 0);
  }
  CHECK(sent > 50);
  const char *got = read_replies(c, sent, &eof);
  size_t want_len = (size_t)sent * 1002;
  CHECK(strlen(got) == want_len);
  int good = 0;
  for (int i = 0; i < sent && strlen(got) == want_len; i++)
    good += got[i * 1002] == '+' && got[i * 1002 + 1001] == '\n';
  CHECK(good == sent);
  CHECK(srv.stats.requests == (unsigned long)sent);
  close(c);
  rs_server_close(&srv);
}

static void test_conn_limit(void)
{
  bool eof;
  open_server(2);
  int a = client(), b = client();
  int sv[2];
  CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
  CHECK(rs_server_adopt(&srv, sv[0]) == -1); /* fd closed by the server */
  char buf[64] = {0};
  CHECK(recv(sv[1], buf, sizeof buf - 1, 0) > 0);
  CHECK_STR(buf, "-ERR too many connections\n");
  CHECK(recv(sv[1], buf, sizeof buf, 0) == 0);
  close(sv[1]);
  /* the others are still served */
  send_all(a, "PING\n");
  CHECK_STR(read_replies(a, 1, &eof), "+PONG\n");
  close(b);
  wait_conns(1);
  int c = client(); /* room again */
  send_all(c, "STATS\n");
  CHECK_STR(read_replies(c, 1, &eof), "+connections=2 accepted=3 requests=2 keys=0\n");
  /* a bad fd is refused cleanly */
  CHECK(rs_server_adopt(&srv, 100000) == -1);
  close(a);
  close(c);
  rs_server_close(&srv);
}

static void test_stop(void)
{
  bool eof;
  open_server(8);
  int a = client(), b = client();
  send_all(a, "PING\n");
  rs_server_step(&srv, 0); /* answered, maybe not read yet */
  rs_server_stop(&srv);
  for (int i = 0; i < 300 && !rs_server_done(&srv); i++) {
    rs_server_step(&srv, 5);
    char tmp[64];
    if (recv(b, tmp, sizeof tmp, 0) == 0) { /* b got EOF: close it as a client would */
      close(b);
      b = -1;
    }
  }
  CHECK_STR(read_replies(a, 1, &eof), "+PONG\n");
  CHECK(rs_server_done(&srv));
  CHECK(b == -1);
  close(a);
  if (b >= 0)
    close(b);
  rs_server_close(&srv);
}

/* A forked server with a real listener and RLIMIT_NOFILE just above its needs: clients
 * beyond the fd limit are refused (the spare-fd trick), the server neither spins nor
 * dies, and serves again as soon as fds free up. */
static void test_real_emfile(void)
{
  int ready[2];
  CHECK(pipe(ready) == 0);
  pid_t pid = fork();
  if (pid < 0) {
    perror("fork");
    exit(1);
  }
  if (pid == 0) {
    close(ready[0]);
    struct rs_config cfg = RS_CONFIG_DEFAULT; /* 127.0.0.1, any port */
    cfg.quiet = true;
    if (rs_server_open(&srv, &cfg) != 0)
      _exit(3);
    /* fds now: 0-2, ready[1], spare, listener (and nothing above). Allow 2 more. */
    int top = srv.listen_fd > srv.spare_fd ? srv.listen_fd : srv.spare_fd;
    top = top > ready[1] ? top : ready[1];
    struct rlimit rl = {(rlim_t)top + 3, (rlim_t)top + 3};
    getrlimit(RLIMIT_NOFILE, &rl);
    rl.rlim_cur = (rlim_t)top + 3;
    if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
      _exit(4);
    uint16_t port = rs_server_port(&srv);
    if (write(ready[1], &port, sizeof port) != sizeof port)
      _exit(5);
    /* ready[1] stays open: closing it would free an fd below the limit */
    int64_t end = rs_now_ms() + 5000; /* bounded; the parent stops it sooner */
    while (rs_now_ms() < end && srv.stats.requests < 3) /* 2 PINGs, then STATS */
      rs_server_step(&srv, 50);
    for (int i = 0; i < 50 && srv.nconns > 0; i++) /* let the last reply go out */
      rs_server_step(&srv, 10);
    rs_server_close(&srv);
    _exit(0);
  }
  close(ready[1]);
  uint16_t port = 0;
  CHECK(read(ready[0], &port, sizeof port) == sizeof port);
  close(ready[0]);

  struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(port),
                           .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  int c[4];
  char buf[256];
  for (int i = 0; i < 4; i++) {
    c[i] = socket(AF_INET, SOCK_STREAM, 0);
    struct timeval tv = {2, 0};
    setsockopt(c[i], SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    CHECK(connect(c[i], (struct sockaddr *)&sa, sizeof sa) == 0);
  }
  /* two are served, two are refused (an error line, or just EOF) */
  int served = 0, refused = 0;
  for (int i = 0; i < 4; i++) {
    send(c[i], "PING\n", 5, MSG_NOSIGNAL);
    ssize_t n = recv(c[i], buf, sizeof buf - 1, 0);
    buf[n > 0 ? n : 0] = '\0';
    if (strcmp(buf, "+PONG\n") == 0)
      served++;
    else if (n <= 0 || strcmp(buf, "-ERR too many connections\n") == 0)
      refused++;
  }
  CHECK(served == 2);
  CHECK(refused == 2);
  /* free them: a new client is served once the server has seen the closes. Asked again
   * while it is still refused (a loaded machine can take longer than any fixed sleep to
   * get there), within a bound; a server that never frees its fds fails it. */
  for (int i = 0; i < 4; i++)
    close(c[i]);
  int64_t until = rs_now_ms() + 3000;
  do {
    int d = socket(AF_INET, SOCK_STREAM, 0);
    struct timeval tv = {2, 0};
    setsockopt(d, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    CHECK(connect(d, (struct sockaddr *)&sa, sizeof sa) == 0);
    send(d, "STATS\n", 6, MSG_NOSIGNAL);
    ssize_t n = recv(d, buf, sizeof buf - 1, 0);
    buf[n > 0 ? n : 0] = '\0';
    close(d);
    if (strncmp(buf, "+connections=", 13) == 0)
      break; /* served (a refusal is the error line, or EOF) */
    usleep(10 * 1000);
  } while (rs_now_ms() < until);
  CHECK(strncmp(buf, "+connections=1 ", 15) == 0);

  int status = 0;
  struct rusage ru;
  pid_t w = -1;
  for (int i = 0; i < 100 && (w = wait4(pid, &status, WNOHANG, &ru)) == 0; i++)
    usleep(50 * 1000);
  if (w == 0) {
    kill(pid, SIGKILL);
    w = wait4(pid, &status, 0, &ru);
  }
  CHECK(w == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0);
  double cpu = (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
               (double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
  CHECK(cpu < 0.5); /* no busy loop */
}

int main(void)
{
  signal(SIGPIPE, SIG_IGN);
  int fds_before = count_fds();
  test_basic();
  test_eof_and_half_close();
  test_back_pressure();
  test_conn_limit();
  test_stop();
  CHECK(count_fds() == fds_before); /* every fd the server had is closed */
  test_real_emfile();
  CHECK(count_fds() == fds_before);
  CHECK_DONE();
}
