/* A program that does what real programs do to an LD_PRELOAD shim: forks, execs, spawns,
 * takes signals, closes every fd, dup2s over fds the shim cares about, runs set-gid.
 * test_reliability.py runs one mode at a time and checks the output and the log.
 *
 *   hostile spawn exec|fork|posix_spawn|vfork   socket() twice, then run `hostile leaf` so
 *                                                prints "parent:R,R" then "leaf:PID:R,R"
 *   hostile leaf                                 "leaf:PID:R,R"
 *   hostile vfork-share                          socket(); vfork child socket(); socket()
 *   hostile fork-storm N                         4 threads make socket calls while main
 *                                                forks N children that make one each
 *   hostile ctor-thread K                        with HOSTILE_CTOR_THREAD=K a constructor
 *                                                starts a thread making K socket() calls;
 *                                                main makes K more; prints the failures
 *   hostile signals MS                           socket() in a loop for MS ms while a 50 us
 *                                                timer's handler calls socket() too
 *   hostile fd-closefrom DIR | fd-closeloop DIR | fd-dup2log DIR LOG | fd-dup2std DIR |
 *   hostile fd-reuse DIR | fd-rearm DIR           fd hostility; see each function
 *   hostile secure                               "secure:AT_SECURE sock:R"
 *   hostile raw                                  socket through syscall(2): "raw:R"
 * R is "ok" or the errno name. Every wait is bounded. */
#define _GNU_SOURCE
#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

static const char *res(long r, int err)
{
  static __thread char buf[32];
  if (r >= 0)
    return "ok";
  const char *n = strerrorname_np(err);
  if (n)
    return n;
  snprintf(buf, sizeof buf, "%d", err);
  return buf;
}

/* socket() then close(): the result as a token */
static const char *sock_once(void)
{
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  int e = errno;
  if (fd >= 0)
    close(fd);
  return res(fd, e);
}

static int die(const char *what)
{
  fprintf(stderr, "hostile: %s: %s\n", what, strerror(errno));
  return 1;
}

/* waitpid with a deadline: a hung child is killed and reported, never waited on forever */
static int wait_bounded(pid_t pid, int seconds, int *status)
{
  struct timespec t0, now;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  for (;;) {
    pid_t r = waitpid(pid, status, WNOHANG);
    if (r == pid)
      return 0;
    if (r < 0 && errno != EINTR)
      return -1;
    clock_gettime(CLOCK_MONOTONIC, &now);
    if (now.tv_sec - t0.tv_sec >= seconds) {
      kill(pid, SIGKILL);
      waitpid(pid, status, 0);
      errno = ETIMEDOUT;
      return -1;
    }
    usleep(1000);
  }
}

static int self_path(char *buf, size_t len)
{
  ssize_t n = readlink("/proc/self/exe", buf, len - 1);
  if (n <= 0)
    return -1;
  buf[n] = '\0';
  return 0;
}

static int mode_leaf(void)
{
  const char *a = sock_once();
  const char *b = sock_once();
  printf("leaf:%ld:%s,%s\n", (long)getpid(), a, b);
  return 0;
}

static int mode_spawn(const char *how)
{
  char self[PATH_MAX];
  if (self_path(self, sizeof self) != 0)
    return die("readlink");
  const char *a = sock_once();
  const char *b = sock_once();
  printf("parent:%s,%s\n", a, b);
  fflush(stdout);
  char *argv[] = {self, "leaf", NULL};
  pid_t pid;
  if (strcmp(how, "exec") == 0) {
    execv(self, argv);
    return die("execv");
  } else if (strcmp(how, "fork") == 0) {
    pid = fork();
    if (pid == 0) {
      execv(self, argv);
      _exit(127);
    }
  } else if (strcmp(how, "vfork") == 0) {
    pid = vfork();
    if (pid == 0) {
      execv(self, argv);
      _exit(127);
    }
  } else if (strcmp(how, "posix_spawn") == 0) {
    int e = posix_spawn(&pid, self, NULL, NULL, argv, environ);
    if (e != 0) {
      errno = e;
      return die("posix_spawn");
    }
  } else {
    fprintf(stderr, "hostile: spawn exec|fork|posix_spawn|vfork\n");
    return 2;
  }
  if (pid < 0)
    return die("fork");
  int st;
  if (wait_bounded(pid, 20, &st) != 0)
    return die("waiting for the child");
  return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : 1;
}

/* A vfork child runs in its parent's memory until exec: the shim's counters are shared. */
static int mode_vfork_share(void)
{
  const char *first = sock_once();
  volatile long child_r = 0;
  volatile int child_e = 0;
  pid_t pid = vfork();
  if (pid == 0) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    child_r = fd;
    child_e = errno;
    if (fd >= 0)
      close(fd);
    _exit(0);
  }
  if (pid < 0)
    return die("vfork");
  int st;
  if (wait_bounded(pid, 20, &st) != 0)
    return die("waiting for the vfork child");
  const char *parent = sock_once();
  printf("first:%s child:%s parent:%s\n", first, res(child_r, child_e), parent);
  return 0;
}

static atomic_int storm_stop;

static void *storm_thread(void *arg)
{
  (void)arg;
  while (!atomic_load(&storm_stop))
    (void)sock_once();
  return NULL;
}

/* fork while other threads are inside the shim's slow path (logging, dladdr): the children
 * must not inherit a held lock. */
static int mode_fork_storm(int n)
{
  pthread_t t[4];
  for (int i = 0; i < 4; i++)
    if (pthread_create(&t[i], NULL, storm_thread, NULL) != 0)
      return die("pthread_create");
  int hung = 0, failed = 0;
  for (int i = 0; i < n && !hung; i++) {
    pid_t pid = fork();
    if (pid == 0) {
      int fd = socket(AF_INET, SOCK_STREAM, 0);
      _exit(fd >= 0 && close(fd) == 0 ? 0 : 3);
    }
    if (pid < 0)
      return die("fork");
    int st;
    if (wait_bounded(pid, 10, &st) != 0)
      hung++;
    else if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
      failed++;
  }
  atomic_store(&storm_stop, 1);
  for (int i = 0; i < 4; i++)
    pthread_join(t[i], NULL);
  printf("forks:%d hung:%d failed:%d\n", n, hung, failed);
  return hung || failed;
}

/* --- a thread started before main ---------------------------------------------------- */
static pthread_t ctor_tid;
static int ctor_started;
static long ctor_k;
static atomic_long ctor_fails;

static void *ctor_thread(void *arg)
{
  (void)arg;
  for (long i = 0; i < ctor_k; i++)
    if (strcmp(sock_once(), "ok") != 0)
      atomic_fetch_add(&ctor_fails, 1);
  return NULL;
}

__attribute__((constructor)) static void hostile_ctor(void)
{
  const char *k = getenv("HOSTILE_CTOR_THREAD");
  if (k && atol(k) > 0) {
    ctor_k = atol(k);
    ctor_started = pthread_create(&ctor_tid, NULL, ctor_thread, NULL) == 0;
  }
}

static int mode_ctor_thread(long k)
{
  if (!ctor_started) {
    fprintf(stderr, "hostile: set HOSTILE_CTOR_THREAD=K\n");
    return 2;
  }
  long fails = 0;
  for (long i = 0; i < k; i++)
    if (strcmp(sock_once(), "ok") != 0)
      fails++;
  pthread_join(ctor_tid, NULL);
  printf("calls:%ld fails:%ld\n", k + ctor_k, fails + atomic_load(&ctor_fails));
  return 0;
}

/* --- signals ------------------------------------------------------------------------- */
static volatile sig_atomic_t h_calls, h_fails;

static void on_alarm(int sig)
{
  (void)sig;
  int saved = errno;
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  h_calls++;
  if (fd < 0)
    h_fails++;
  else
    close(fd);
  errno = saved;
}

static int mode_signals(long ms)
{
  struct sigaction sa = {.sa_handler = on_alarm, .sa_flags = SA_RESTART};
  sigemptyset(&sa.sa_mask);
  sigaction(SIGALRM, &sa, NULL);
  struct itimerval it = {{0, 50}, {0, 50}};
  setitimer(ITIMER_REAL, &it, NULL);
  struct timespec t0, now;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  long calls = 0, fails = 0;
  for (;;) {
    clock_gettime(CLOCK_MONOTONIC, &now);
    if ((now.tv_sec - t0.tv_sec) * 1000 + (now.tv_nsec - t0.tv_nsec) / 1000000 >= ms)
      break;
    calls++;
    if (strcmp(sock_once(), "ok") != 0)
      fails++;
  }
  struct itimerval off = {{0, 0}, {0, 0}};
  setitimer(ITIMER_REAL, &off, NULL);
  signal(SIGALRM, SIG_IGN);
  printf("main:%ld:%ld handler:%ld:%ld\n", calls, fails, (long)h_calls, (long)h_fails);
  return 0;
}

/* --- hostile fd handling ------------------------------------------------------------- */
static int open_in(const char *dir, const char *name, int flags)
{
  char p[PATH_MAX];
  snprintf(p, sizeof p, "%s/%s", dir, name);
  return open(p, flags | O_CREAT, 0600);
}

/* The program closes everything above 2 behind the shim's back (close_range, no close()
 * call), then reuses the numbers for its own files. */
static int mode_fd_closefrom(const char *dir)
{
  int s = socket(AF_INET, SOCK_STREAM, 0);
  if (s < 0)
    return die("socket");
  closefrom(3);
  int f = open_in(dir, "data", O_WRONLY | O_TRUNC);
  if (f < 0)
    return die("open");
  long w = write(f, "payload\n", 8);
  int we = errno;
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0)
    return die("socketpair");
  long sw = write(sv[0], "x", 1);
  printf("sameslot:%d file:%s sock:%s\n", f == s, res(w == 8 ? 0 : -1, we), res(sw, errno));
  return 0;
}

/* The program closes fds 0..1023 with close(), the log's fd among them, then opens its own
 * files on every number up to past the log's old one. */
static int mode_fd_closeloop(const char *dir)
{
  (void)sock_once();
  for (int fd = 0; fd < 1024; fd++)
    close(fd);
  int n = 0, last = -1;
  for (; n < 700; n++) {
    last = open_in(dir, "many", O_WRONLY | O_APPEND);
    if (last < 0)
      break;
  }
  for (int fd = 0; fd <= last; fd++)
    (void)!write(fd, "x", 1);
  /* socket calls after the log is gone: they must neither fail nor write anywhere */
  int bad = 0;
  for (int i = 0; i < 20; i++) {
    int s = socket(AF_INET, SOCK_STREAM, 0);
    if (s < 0)
      bad++;
    else
      close(s);
  }
  int r = open_in(dir, "result", O_WRONLY | O_TRUNC);
  dprintf(r, "opened:%d last:%d bad:%d\n", n, last, bad);
  return 0;
}

static int find_fd_of(const char *path)
{
  DIR *d = opendir("/proc/self/fd");
  if (!d)
    return -1;
  struct dirent *e;
  int found = -1;
  while ((e = readdir(d)) != NULL) {
    char link[300], target[PATH_MAX];
    snprintf(link, sizeof link, "/proc/self/fd/%s", e->d_name);
    ssize_t n = readlink(link, target, sizeof target - 1);
    if (n > 0) {
      target[n] = '\0';
      if (strcmp(target, path) == 0)
        found = atoi(e->d_name);
    }
  }
  closedir(d);
  return found;
}

/* The program dup2s its own file over the log's fd, then writes through that number. */
static int mode_fd_dup2log(const char *dir, const char *log)
{
  int lfd = find_fd_of(log);
  if (lfd < 0) {
    fprintf(stderr, "hostile: no fd for %s\n", log);
    return 1;
  }
  char flags[256] = "";
  char p[64];
  snprintf(p, sizeof p, "/proc/self/fdinfo/%d", lfd);
  FILE *fi = fopen(p, "r");
  while (fi && fgets(flags, sizeof flags, fi))
    if (strncmp(flags, "flags:", 6) == 0)
      break;
  if (fi)
    fclose(fi);
  (void)sock_once();
  int v = open_in(dir, "victim", O_WRONLY | O_TRUNC);
  if (v < 0 || dup2(v, lfd) != lfd)
    return die("dup2");
  close(v);
  for (int i = 0; i < 5; i++) {
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_DGRAM, 0, sv) == 0) {
      close(sv[0]);
      close(sv[1]);
    }
  }
  (void)!write(lfd, "mine\n", 5);
  printf("logfd:%d %s", lfd, flags);
  return 0;
}

/* The program puts its own files on 0, 1 and 2, then keeps making socket calls. */
static int mode_fd_dup2std(const char *dir)
{
  int in = open("/dev/null", O_RDONLY);
  int out = open_in(dir, "out1", O_WRONLY | O_TRUNC);
  int err = open_in(dir, "out2", O_WRONLY | O_TRUNC);
  if (in < 0 || out < 0 || err < 0)
    return die("open");
  (void)sock_once();
  dup2(in, 0);
  dup2(out, 1);
  dup2(err, 2);
  close(in);
  close(out);
  close(err);
  const char *a = sock_once();
  int sv[2];
  long sw = -1;
  int se = 0;
  if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0) {
    sw = write(sv[0], "x", 1);
    se = errno;
  }
  char buf[128];
  int n = snprintf(buf, sizeof buf, "one sock:%s sockwrite:%s\n", a, res(sw, se));
  long w1 = write(1, buf, (size_t)n);
  long w2 = write(2, "two\n", 4);
  return w1 == n && w2 == 4 ? 0 : 1;
}

/* fd numbers change kind behind the shim's back: dup2 of a file over a socket, a socket
 * closed inside libc (fclose of an fdopen'd socket), dup2 of a socket over a file. A rule
 * on write must hit sockets and only sockets. */
static int mode_fd_reuse(const char *dir)
{
  int f = open_in(dir, "reuse", O_WRONLY | O_TRUNC);
  if (f < 0)
    return die("open");
  /* a: a socket number becomes a file through dup2 */
  int s = socket(AF_INET, SOCK_STREAM, 0);
  if (s < 0 || dup2(f, s) != s)
    return die("socket/dup2");
  long a = write(s, "a", 1);
  int ae = errno;
  close(s);
  /* b: a socket closed by fclose (libc's internal close), its number reused by a file */
  int s2 = socket(AF_INET, SOCK_DGRAM, 0);
  FILE *fp = s2 >= 0 ? fdopen(s2, "w") : NULL;
  if (!fp)
    return die("fdopen");
  fclose(fp);
  int f2 = open_in(dir, "reuse", O_WRONLY | O_APPEND);
  long b = write(f2, "b", 1);
  int be = errno;
  /* c: a file number (seen by the shim as "not a socket") becomes a socket through dup2 */
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0 || dup2(sv[0], f2) != f2)
    return die("socketpair/dup2");
  long c = write(f2, "c", 1);
  int ce = errno;
  /* d: a socket closed by close_range, its number reused by a file */
  int s3 = socket(AF_INET, SOCK_STREAM, 0);
  if (s3 < 0 || write(s3, "", 0) != -1 || close_range((unsigned)s3, (unsigned)s3, 0) != 0)
    return die("socket/close_range");
  int f3 = open_in(dir, "reuse", O_WRONLY | O_APPEND);
  long d = write(f3, "d", 1);
  int de = errno;
  /* e: freopen closes an fdopen'd socket inside libc and opens a file, on the same number */
  int s4 = socket(AF_INET, SOCK_DGRAM, 0);
  FILE *fp4 = s4 >= 0 ? fdopen(s4, "w") : NULL;
  char path[PATH_MAX];
  snprintf(path, sizeof path, "%s/reuse", dir);
  if (!fp4 || write(s4, "", 0) != -1 || !(fp4 = freopen(path, "a", fp4)))
    return die("fdopen/freopen");
  long e = write(fileno(fp4), "e", 1);
  int ee = errno;
  printf("a:%s b:%s c:%s d:%s e:%s samenumber:%d,%d,%d\n", res(a, ae), res(b, be), res(c, ce),
         res(d, de), res(e, ee), f2 == s2, f3 == s3, fileno(fp4) == s4);
  return 0;
}

/* The table of known sockets must start afresh when rules are set at run time: a socket it
 * knew, closed while no rule asked (the close then went unseen), its number reused by a
 * file. Uses the control API if the shim is loaded. */
static int mode_fd_rearm(const char *dir)
{
  int (*set)(const char *, char *, size_t);
  void *sym = dlsym(RTLD_DEFAULT, "sockfault_set_rules");
  memcpy(&set, &sym, sizeof set);
  char err[256];
  if (!set)
    return die("sockfault_set_rules not found (run under the shim)");
  int s = socket(AF_INET, SOCK_STREAM, 0); /* known: the rule on write keeps the table */
  long a = write(s, "", 0);
  int ae = errno;
  if (set("socket:error=EMFILE:when=1000000", err, sizeof err) != 0)
    return die(err);
  close(s); /* no rule on a generic call: close takes the fast path, unseen */
  int f = open_in(dir, "rearm", O_WRONLY | O_TRUNC);
  if (set("write:error=EIO", err, sizeof err) != 0)
    return die(err);
  long b = write(f, "b", 1);
  int be = errno;
  printf("sock:%s file:%s samenumber:%d\n", res(a, ae), res(b, be), f == s);
  return 0;
}

int main(int argc, char **argv)
{
  setvbuf(stdout, NULL, _IOLBF, 0);
  const char *m = argc > 1 ? argv[1] : "";
  if (strcmp(m, "leaf") == 0)
    return mode_leaf();
  if (strcmp(m, "spawn") == 0 && argc == 3)
    return mode_spawn(argv[2]);
  if (strcmp(m, "vfork-share") == 0)
    return mode_vfork_share();
  if (strcmp(m, "fork-storm") == 0 && argc == 3)
    return mode_fork_storm(atoi(argv[2]));
  if (strcmp(m, "ctor-thread") == 0 && argc == 3)
    return mode_ctor_thread(atol(argv[2]));
  if (strcmp(m, "signals") == 0 && argc == 3)
    return mode_signals(atol(argv[2]));
  if (strcmp(m, "fd-closefrom") == 0 && argc == 3)
    return mode_fd_closefrom(argv[2]);
  if (strcmp(m, "fd-closeloop") == 0 && argc == 3)
    return mode_fd_closeloop(argv[2]);
  if (strcmp(m, "fd-dup2log") == 0 && argc == 4)
    return mode_fd_dup2log(argv[2], argv[3]);
  if (strcmp(m, "fd-rearm") == 0 && argc == 3)
    return mode_fd_rearm(argv[2]);
  if (strcmp(m, "fd-dup2std") == 0 && argc == 3)
    return mode_fd_dup2std(argv[2]);
  if (strcmp(m, "fd-reuse") == 0 && argc == 3)
    return mode_fd_reuse(argv[2]);
  if (strcmp(m, "secure") == 0) {
    printf("secure:%lu sock:%s\n", getauxval(AT_SECURE), sock_once());
    return 0;
  }
  if (strcmp(m, "raw") == 0) {
    long fd = syscall(SYS_socket, AF_INET, SOCK_STREAM, 0);
    printf("raw:%s\n", res(fd, errno));
    return 0;
  }
  fprintf(stderr, "hostile: bad arguments (see the comment at the top of hostile.c)\n");
  return 2;
}
