/* The shim must not change the program, and what it fakes must be what the kernel could do
 * (issue 19). One program, one part per argument:
 *   errno    a successful call leaves errno as it was, with the log on (run it with
 *            SOCKFAULT_LOG set) and with a port filter that makes the shim look ports up
 *   sigpipe  an injected EPIPE on a send or write of a stream socket raises SIGPIPE as the
 *            kernel does: fatal by default, not with MSG_NOSIGNAL, ignored, blocked (pending)
 *            or handled per its disposition, errno EPIPE after the handler
 *   state    errnos the kernel returns only in some socket states are injected only there
 *            (docs/faithful.md): EINPROGRESS starts the real connect, EINTR only where the
 *            call sleeps and a signal can interrupt it, EAGAIN only when nothing is ready
 *            and the socket does not block forever, path errnos only on AF_UNIX; :force
 *            injects anything
 *   closefds a program that closes every inherited fd (closefrom, close_range, a loop, as
 *            daemons do) keeps its log: the shim reopens it by path
 *   perthread per=thread counts when= per thread, as strace does; without it, per process
 *   fdlimit  a program that exits with its fd table full still gets its sockets counted in
 *            the log's exit record (explore's fd-leak judges from it)
 * Runs with libsockfault.so preloaded; rules are set through the control API. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "snippets.h"
#include "sockfault/sockfault.h"
#include "table.h"

#define set_rules(r) CHECK(snippet_set_rules(r) == 0)

/* Every snippet's calls succeed; errno, set to EDOM first, must still be EDOM after. */
static void errno_kept(struct fixture *fx, const char *how)
{
  for (int id = 0; id < SF_NCALLS; id++) {
    const struct snippet *s = snippet_find(sf_calls[id].name);
    if (!s)
      continue;
    errno = EDOM;
    long r = s->run(fx);
    int got = errno;
    if (r < 0)
      fprintf(stderr, "%s (%s): failed: %s\n", sf_calls[id].name, how, strerror(got));
    else if (got != EDOM)
      fprintf(stderr, "%s (%s): succeeded but errno is now %s\n", sf_calls[id].name, how,
              sf_errno_name(got) ? sf_errno_name(got) : "?");
    CHECK(r >= 0 && got == EDOM);
    fixture_drain(fx);
  }
}

static void part_errno(struct fixture *fx)
{
  CHECK(getenv("SOCKFAULT_LOG") != NULL); /* the log must be on for the first half */
  set_rules("");
  errno_kept(fx, "log on");
  /* port=1 never matches: every call's ports are looked up, none fails */
  set_rules("all:error=EIO:force:port=1");
  errno_kept(fx, "port filter");
  set_rules("");
}

/* --- sigpipe ------------------------------------------------------------------------- */

static volatile sig_atomic_t handled;
static void on_signal(int sig)
{
  (void)sig;
  handled++;
  errno = EDOM; /* a handler that clobbers errno: the kernel sets errno after it ran */
}

enum pipe_mode { P_DEFAULT, P_NOSIGNAL, P_IGNORED, P_BLOCKED, P_HANDLED, P_WRITE, P_DGRAM };

/* In a child: one injected EPIPE; exit 0 when what followed is what the kernel does. */
static int sigpipe_child(struct fixture *fx, enum pipe_mode m)
{
  struct sigaction sa = {.sa_handler = m == P_IGNORED ? SIG_IGN : m == P_HANDLED ? on_signal : SIG_DFL};
  sigaction(SIGPIPE, &sa, NULL);
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGPIPE);
  if (m == P_BLOCKED)
    sigprocmask(SIG_BLOCK, &set, NULL);
  int fd = fx->cfd;
  if (m == P_DGRAM)
    fd = socket(AF_INET, SOCK_DGRAM, 0);
  set_rules(m == P_DGRAM ? "send:error=EPIPE:force" : "send,write:error=EPIPE:when=1");
  long r = m == P_WRITE ? write(fd, "x", 1) : send(fd, "x", 1, m == P_NOSIGNAL ? MSG_NOSIGNAL : 0);
  int e = errno;
  CHECK_EQ(r, -1);
  CHECK_EQ(e, EPIPE);
  CHECK_EQ(sockfault_injected(), 1);
  if (m == P_HANDLED)
    CHECK_EQ(handled, 1);
  sigset_t pend;
  sigpending(&pend);
  CHECK_EQ(sigismember(&pend, SIGPIPE), m == P_BLOCKED);
  return sf_check_failures != 0;
}

static void part_sigpipe(struct fixture *fx)
{
  static const char *const names[] = {"default", "MSG_NOSIGNAL", "ignored", "blocked",
                                      "handled", "write", "datagram"};
  for (int m = P_DEFAULT; m <= P_DGRAM; m++) {
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0)
      _exit(sigpipe_child(fx, (enum pipe_mode)m));
    int st = 0;
    CHECK(pid > 0 && waitpid(pid, &st, 0) == pid);
    const int dies = m == P_DEFAULT || m == P_WRITE;
    const int ok = dies ? WIFSIGNALED(st) && WTERMSIG(st) == SIGPIPE
                        : WIFEXITED(st) && WEXITSTATUS(st) == 0;
    if (!ok)
      fprintf(stderr, "sigpipe %s: wait status %#x, expected %s\n", names[m], (unsigned)st,
              dies ? "death by SIGPIPE" : "exit 0");
    CHECK(ok);
  }
}

/* --- state ----------------------------------------------------------------------------- */

static void set_blocking(int fd, int on)
{
  int fl = fcntl(fd, F_GETFL);
  fcntl(fd, F_SETFL, on ? fl & ~O_NONBLOCK : fl | O_NONBLOCK);
}

static struct sockaddr_in fx_addr(const struct fixture *fx)
{
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((unsigned short)fx->port)};
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return a;
}

/* The pending connection a started connect made: accepted within 5 s. */
static int accepted_within(struct fixture *fx)
{
  struct pollfd p = {.fd = fx->lfd, .events = POLLIN};
  if (poll(&p, 1, 5000) != 1)
    return 0;
  int s = accept(fx->lfd, NULL, NULL);
  if (s < 0)
    return 0;
  close(s);
  return 1;
}

static int connected_within(int s)
{
  struct pollfd p = {.fd = s, .events = POLLOUT};
  int soerr = -1;
  socklen_t l = sizeof soerr;
  struct sockaddr_storage ss;
  socklen_t sl = sizeof ss;
  return poll(&p, 1, 5000) == 1 && getsockopt(s, SOL_SOCKET, SO_ERROR, &soerr, &l) == 0 &&
         soerr == 0 && getpeername(s, (struct sockaddr *)&ss, &sl) == 0;
}

/* One call under one rule: returns the call's result, *err its errno, *inj the count. */
#define UNDER(rule, call, err, inj)                                                         \
  ({                                                                                         \
    set_rules(rule);                                                                         \
    errno = 0;                                                                               \
    long r_ = (call);                                                                        \
    *(err) = errno;                                                                          \
    *(inj) = sockfault_injected();                                                           \
    set_rules("");                                                                           \
    r_;                                                                                      \
  })

/* Sends to fd once thread tid sleeps in recv (its /proc syscall entry names recvfrom), so
 * that recv met an empty queue however late this thread ran: a fixed head start let the
 * bytes arrive first on a loaded machine, and the case passed for the queued-data reason.
 * Where that entry cannot be read, a 100 ms head start as before (said on stderr). */
struct later {
  int fd;
  pid_t tid;
  bool seen; /* recv was seen asleep before the send */
};

static void *send_later(void *arg)
{
  struct later *l = arg;
  char path[64], buf[128];
  snprintf(path, sizeof path, "/proc/self/task/%d/syscall", (int)l->tid);
  l->seen = false;
  for (int i = 0; i < 5000 && !l->seen; i++) { /* 5 s bound */
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
      fprintf(stderr, "send_later: %s: %s: a 100 ms head start instead\n", path, strerror(errno));
      nanosleep(&(struct timespec){0, 100 * 1000 * 1000}, NULL);
      l->seen = true;
      break;
    }
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n > 0 && (buf[n] = '\0', strtol(buf, NULL, 10) == SYS_recvfrom))
      l->seen = true;
    else
      nanosleep(&(struct timespec){0, 1000 * 1000}, NULL);
  }
  (void)!send(l->fd, "late", 4, 0);
  return NULL;
}

static void part_state(struct fixture *fx)
{
  int e;
  unsigned long long n;
  struct sockaddr_in a = fx_addr(fx);
  char b[8];
  struct sigaction plain = {.sa_handler = on_signal}, restart = {.sa_handler = on_signal,
                                                                 .sa_flags = SA_RESTART};

  /* EINPROGRESS on a non-blocking connect: the connection is really under way */
  int s = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
  long r = UNDER("connect:error=EINPROGRESS:when=1", connect(s, (struct sockaddr *)&a, sizeof a),
                 &e, &n);
  CHECK(r == -1 && e == EINPROGRESS && n == 1);
  CHECK(connected_within(s));
  CHECK(accepted_within(fx));
  close(s);
  /* ... never on a blocking one */
  s = socket(AF_INET, SOCK_STREAM, 0);
  r = UNDER("connect:error=EINPROGRESS:when=1", connect(s, (struct sockaddr *)&a, sizeof a), &e,
            &n);
  CHECK(r == 0 && n == 0);
  CHECK(accepted_within(fx));
  close(s);

  /* EINTR on a blocking connect: only with a handler that does not restart; the connect
   * goes on, as the kernel's does */
  sigaction(SIGUSR1, &restart, NULL);
  s = socket(AF_INET, SOCK_STREAM, 0);
  r = UNDER("connect:error=EINTR:when=1", connect(s, (struct sockaddr *)&a, sizeof a), &e, &n);
  CHECK(r == 0 && n == 0);
  CHECK(accepted_within(fx));
  close(s);
  sigaction(SIGUSR1, &plain, NULL);
  s = socket(AF_INET, SOCK_STREAM, 0);
  r = UNDER("connect:error=EINTR:when=1", connect(s, (struct sockaddr *)&a, sizeof a), &e, &n);
  CHECK(r == -1 && e == EINTR && n == 1);
  CHECK(connected_within(s));
  CHECK(accepted_within(fx));
  close(s);

  /* EINTR: never on a non-blocking socket, nor on a blocking one with data queued (the
   * call does not sleep); on a blocking one with nothing queued, yes */
  r = UNDER("recv:error=EINTR:when=1", recv(fx->sfd, b, sizeof b, 0), &e, &n);
  CHECK(r == -1 && e == EAGAIN && n == 0);
  set_blocking(fx->sfd, 1);
  (void)!send(fx->cfd, "ping", 4, 0);
  r = UNDER("recv:error=EINTR:when=1", recv(fx->sfd, b, sizeof b, 0), &e, &n);
  CHECK(r == 4 && n == 0);
  r = UNDER("recv:error=EINTR:when=1", recv(fx->sfd, b, sizeof b, 0), &e, &n);
  CHECK(r == -1 && e == EINTR && n == 1);
  /* ... nor when no handler could interrupt it (all restart, no timeout) */
  sigaction(SIGUSR1, &restart, NULL);
  pthread_t t;
  struct later later = {fx->cfd, (pid_t)syscall(SYS_gettid), false};
  CHECK(pthread_create(&t, NULL, send_later, &later) == 0);
  r = UNDER("recv:error=EINTR:when=1", recv(fx->sfd, b, sizeof b, 0), &e, &n);
  CHECK(r == 4 && n == 0);
  pthread_join(t, NULL);
  CHECK(later.seen);

  /* EAGAIN on a blocking socket without a timeout: never (it waits for the data) */
  CHECK(pthread_create(&t, NULL, send_later, &later) == 0);
  r = UNDER("recv:error=EAGAIN:when=1", recv(fx->sfd, b, sizeof b, 0), &e, &n);
  CHECK(r == 4 && n == 0);
  pthread_join(t, NULL);
  CHECK(later.seen);
  /* ... with SO_RCVTIMEO and nothing queued, it is the timeout expiring */
  struct timeval tv = {5, 0};
  setsockopt(fx->sfd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  r = UNDER("recv:error=EAGAIN:when=1", recv(fx->sfd, b, sizeof b, 0), &e, &n);
  CHECK(r == -1 && e == EAGAIN && n == 1);
  tv.tv_sec = 0;
  setsockopt(fx->sfd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  set_blocking(fx->sfd, 0);

  /* EAGAIN on a non-blocking socket: only when nothing is queued (an edge-triggered
   * program would wait forever for the edge of data it was told is not there) */
  (void)!send(fx->cfd, "ping", 4, 0);
  r = UNDER("recv:error=EAGAIN:when=1", recv(fx->sfd, b, sizeof b, 0), &e, &n);
  CHECK(r == 4 && n == 0);
  r = UNDER("recv:error=EAGAIN:when=1", recv(fx->sfd, b, sizeof b, 0), &e, &n);
  CHECK(r == -1 && e == EAGAIN && n == 1);
  s = socket(AF_INET, SOCK_STREAM, 0);
  CHECK(connect(s, (struct sockaddr *)&a, sizeof a) == 0);
  struct pollfd p = {.fd = fx->lfd, .events = POLLIN};
  CHECK(poll(&p, 1, 5000) == 1);
  r = UNDER("accept:error=EAGAIN:when=1", accept(fx->lfd, NULL, NULL), &e, &n);
  CHECK(r >= 0 && n == 0);
  if (r >= 0)
    close((int)r);
  close(s);
  r = UNDER("accept:error=EAGAIN:when=1", accept(fx->lfd, NULL, NULL), &e, &n);
  CHECK(r == -1 && e == EAGAIN && n == 1);

  /* error=any never draws what the state rules out; :force injects anything */
  for (int seed = 1; seed <= 40; seed++) {
    char rule[64];
    snprintf(rule, sizeof rule, "recv:error=any:when=1:seed=%d", seed);
    (void)!send(fx->cfd, "ping", 4, 0);
    r = UNDER(rule, recv(fx->sfd, b, sizeof b, 0), &e, &n);
    CHECK(r == -1 && n == 1 && e != EINTR && e != EAGAIN);
    fixture_drain(fx);
  }
  (void)!send(fx->cfd, "ping", 4, 0);
  r = UNDER("recv:error=EINTR:when=1:force", recv(fx->sfd, b, sizeof b, 0), &e, &n);
  CHECK(r == -1 && e == EINTR && n == 1);
  fixture_drain(fx);

  /* a path's errnos on AF_UNIX only */
  s = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in any = {.sin_family = AF_INET};
  any.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  r = UNDER("bind:error=ENOENT:when=1", bind(s, (struct sockaddr *)&any, sizeof any), &e, &n);
  CHECK(r == 0 && n == 0);
  close(s);
  s = socket(AF_UNIX, SOCK_STREAM, 0);
  struct sockaddr_un un = {.sun_family = AF_UNIX, .sun_path = "/nonexistent-dir/sock"};
  r = UNDER("bind:error=ENOENT:when=1", bind(s, (struct sockaddr *)&un, sizeof un), &e, &n);
  CHECK(r == -1 && e == ENOENT && n == 1);
  close(s);
  signal(SIGUSR1, SIG_DFL);
}

/* --- perthread ------------------------------------------------------------------------ */

static void *two_sockets(void *arg)
{
  int *got = arg;
  for (int i = 0; i < 2; i++) {
    int s = socket(AF_INET, SOCK_STREAM, 0);
    got[i] = s < 0 ? errno : 0;
    if (s >= 0)
      close(s);
  }
  return NULL;
}

static void part_perthread(void)
{
  for (int per_thread = 0; per_thread < 2; per_thread++) {
    set_rules(per_thread ? "socket:error=EMFILE:when=2:per=thread" : "socket:error=EMFILE:when=2");
    int mine[2], theirs[2] = {-1, -1};
    two_sockets(mine);
    pthread_t t;
    CHECK(pthread_create(&t, NULL, two_sockets, theirs) == 0);
    pthread_join(t, NULL);
    CHECK(mine[0] == 0 && mine[1] == EMFILE);
    /* per thread: the other thread's second call is its own when=2; per process, its 3rd */
    CHECK_EQ(theirs[0], 0);
    CHECK_EQ(theirs[1], per_thread ? EMFILE : 0);
    set_rules("");
  }
}

/* --- closefds, fdlimit: what a child wrote to the log -------------------------------------- */

/* The log's lines of process pid holding needle; -1 when the log cannot be read. */
static int log_lines(pid_t pid, const char *needle, char *last, size_t lastlen)
{
  FILE *f = fopen(getenv("SOCKFAULT_LOG"), "r");
  if (!f)
    return -1;
  char line[2048], head[64];
  snprintf(head, sizeof head, "{\"pid\":%d,", (int)pid);
  int n = 0;
  while (fgets(line, sizeof line, f))
    if (strncmp(line, head, strlen(head)) == 0 && strstr(line, needle)) {
      n++;
      snprintf(last, lastlen, "%s", line);
    }
  fclose(f);
  return n;
}

static pid_t child_done(pid_t pid)
{
  int st = 0;
  CHECK(pid > 0 && waitpid(pid, &st, 0) == pid);
  CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
  return pid;
}

static void part_closefds(void)
{
  static const char *const how[] = {"closefrom", "close_range", "loop"};
  for (int m = 0; m < 3; m++) {
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
      if (m == 0)
        closefrom(3);
      else if (m == 1)
        close_range(3, ~0U, 0);
      else
        for (int fd = 3; fd < 4096; fd++)
          close(fd);
      int s = socket(AF_INET, SOCK_DGRAM, 0);
      close(s);
      exit(0);
    }
    child_done(pid);
    char last[2048] = "";
    int sockets = log_lines(pid, "\"call\":\"socket\"", last, sizeof last);
    int exits = log_lines(pid, "\"event\":\"exit\"", last, sizeof last);
    if (sockets != 1 || exits != 1)
      fprintf(stderr, "closefds %s: %d socket and %d exit records in the log\n", how[m], sockets,
              exits);
    CHECK(sockets == 1 && exits == 1);
  }
}

static void part_fdlimit(struct fixture *fx)
{
  (void)fx; /* its three sockets are inherited: counted too */
  fflush(NULL);
  int pfd[2];
  CHECK(pipe(pfd) == 0);
  pid_t pid = fork();
  if (pid == 0) {
    struct rlimit rl = {64, 64};
    setrlimit(RLIMIT_NOFILE, &rl);
    int n = 0;
    while (socket(AF_INET, SOCK_STREAM, 0) >= 0 && n < 1000)
      n++;
    (void)!write(pfd[1], &n, sizeof n);
    exit(0); /* with the table full: the exit record must still count them */
  }
  child_done(pid);
  int n = -1;
  CHECK(read(pfd[0], &n, sizeof n) == sizeof n);
  close(pfd[0]);
  close(pfd[1]);
  char last[2048] = "", want[64];
  CHECK_EQ(log_lines(pid, "\"event\":\"exit\"", last, sizeof last), 1);
  snprintf(want, sizeof want, "\"sockets\":%d,", n + 3);
  if (!strstr(last, want))
    fprintf(stderr, "fdlimit: %d sockets opened, exit record: %s", n, last);
  CHECK(n > 10 && strstr(last, want) != NULL);
}

int main(int argc, char **argv)
{
  if (!sockfault_set_rules) {
    fprintf(stderr, "libsockfault.so is not preloaded\n");
    return 1;
  }
  if (argc != 2) {
    fprintf(stderr, "usage: test_faithful errno|sigpipe|state|perthread|closefds|fdlimit\n");
    return 2;
  }
  struct fixture fx;
  if (fixture_open(&fx) != 0) {
    perror("fixture");
    return 1;
  }
  if (strcmp(argv[1], "errno") == 0) {
    signal(SIGPIPE, SIG_IGN);
    part_errno(&fx);
  } else if (strcmp(argv[1], "sigpipe") == 0) {
    part_sigpipe(&fx);
  } else if (strcmp(argv[1], "perthread") == 0) {
    part_perthread();
  } else if (strcmp(argv[1], "closefds") == 0) {
    part_closefds();
  } else if (strcmp(argv[1], "fdlimit") == 0) {
    part_fdlimit(&fx);
  } else if (strcmp(argv[1], "state") == 0) {
    signal(SIGPIPE, SIG_IGN);
    part_state(&fx);
  } else {
    fprintf(stderr, "test_faithful: unknown part '%s'\n", argv[1]);
    return 2;
  }
  fixture_close(&fx);
  printf("%d checks, %d failed\n", sf_check_count, sf_check_failures);
  return sf_check_failures != 0;
}
