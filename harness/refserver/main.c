/* main.c — sockfault-refserver: options, signals, the run loop, the exit check.
 *
 * Exit status: 0 after SIGTERM/SIGINT, --max-requests or --idle-exit; 1 when start-up
 * fails (socket, bind, listen, ...: the message names the call and the errno); 2 for a
 * bad command line. */
#define _GNU_SOURCE /* sigaction, ppoll's sigset_t use */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "server.h"

#ifndef RS_VERSION
#define RS_VERSION "0.0.0"
#endif

static const char usage[] =
    "usage: sockfault-refserver [OPTION]...\n"
    "A small TCP key/value server that handles every documented socket error;\n"
    "the reference for sockfault's fault injection. Protocol: see request.h.\n"
    "\n"
    "  --listen ADDR:PORT   numeric address to listen on, [IPV6]:PORT for IPv6;\n"
    "                       [::]:PORT is dual-stack (default 127.0.0.1:0)\n"
    "  --port N             the port alone (0: any free port)\n"
    "  --max-conns N        connections served at once, 1..65536 (default 1024)\n"
    "  --max-requests N     exit 0 after N requests were answered\n"
    "  --idle-exit SECONDS  exit 0 after SECONDS without any I/O\n"
    "  --check-fds          at exit, abort if an fd opened since start is still open\n"
    "                       (default in builds without NDEBUG)\n"
    "  --no-check-fds       don't\n"
    "  --quiet              no diagnostics on stderr\n"
    "  --help, --version\n"
    "\n"
    "Once listening, prints \"port=N\" on stdout (one line, flushed).\n"
    "SIGTERM or SIGINT: finish pending replies, close everything, exit 0.\n";

struct options {
  struct rs_config cfg;
  unsigned long max_requests; /* 0: no limit */
  unsigned long idle_exit_s;  /* 0: never */
  bool check_fds;
};

static volatile sig_atomic_t stop_signal;

static void on_signal(int sig) { stop_signal = sig; }

/* ---- options ------------------------------------------------------------------------- */

static int bad_usage(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int bad_usage(const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  fputs("refserver: ", stderr);
  vfprintf(stderr, fmt, ap);
  fputs("\ntry 'sockfault-refserver --help'\n", stderr);
  va_end(ap);
  return 2;
}

static bool parse_ulong(const char *s, unsigned long lo, unsigned long hi, unsigned long *out)
{
  char *end;
  errno = 0;
  unsigned long v = strtoul(s, &end, 10);
  if (*s < '0' || *s > '9' || *end != '\0' || errno != 0 || v < lo || v > hi)
    return false;
  *out = v;
  return true;
}

/* Returns -1 to go on, or an exit status (0 after --help/--version, 2 on error). */
static int parse_options(int argc, char **argv, struct options *o)
{
  for (int i = 1; i < argc; i++) {
    const char *arg = argv[i];
    if (strcmp(arg, "--help") == 0) {
      fputs(usage, stdout);
      return 0;
    }
    if (strcmp(arg, "--version") == 0) {
      puts("sockfault-refserver " RS_VERSION);
      return 0;
    }
    if (strcmp(arg, "--check-fds") == 0 || strcmp(arg, "--no-check-fds") == 0) {
      o->check_fds = arg[2] == 'c';
      continue;
    }
    if (strcmp(arg, "--quiet") == 0) {
      o->cfg.quiet = true;
      continue;
    }

    /* Options with a value: "--opt VALUE" or "--opt=VALUE". */
    static const char *const valued[] = {"--listen", "--port", "--max-conns", "--max-requests",
                                         "--idle-exit"};
    const char *name = NULL, *val = NULL;
    char namebuf[32];
    for (size_t k = 0; k < sizeof valued / sizeof valued[0]; k++) {
      size_t n = strlen(valued[k]);
      if (strncmp(arg, valued[k], n) == 0 && (arg[n] == '\0' || arg[n] == '=')) {
        name = valued[k];
        val = arg[n] == '=' ? arg + n + 1 : NULL;
        break;
      }
    }
    if (name == NULL)
      return bad_usage("unknown option '%s'", arg);
    if (val == NULL) {
      if (i + 1 >= argc)
        return bad_usage("option '%s' needs a value", name);
      val = argv[++i];
    }
    snprintf(namebuf, sizeof namebuf, "%s", name);

    unsigned long v;
    char err[200];
    if (strcmp(name, "--listen") == 0) {
      if (rs_parse_listen(val, o->cfg.host, &o->cfg.port, err, sizeof err) != 0)
        return bad_usage("--listen %s", err);
    } else if (strcmp(name, "--port") == 0) {
      if (!parse_ulong(val, 0, 65535, &v))
        return bad_usage("invalid value '%s' for %s (0..65535)", val, namebuf);
      o->cfg.port = (uint16_t)v;
    } else if (strcmp(name, "--max-conns") == 0) {
      if (!parse_ulong(val, 1, RS_MAX_CONNS_LIMIT, &v))
        return bad_usage("invalid value '%s' for %s (1..65536)", val, namebuf);
      o->cfg.max_conns = (unsigned)v;
    } else if (strcmp(name, "--max-requests") == 0) {
      if (!parse_ulong(val, 1, ULONG_MAX, &v))
        return bad_usage("invalid value '%s' for %s (1 or more)", val, namebuf);
      o->max_requests = v;
    } else {
      if (!parse_ulong(val, 1, INT_MAX / 1000, &v))
        return bad_usage("invalid value '%s' for %s (seconds, 1 or more)", val, namebuf);
      o->idle_exit_s = v;
    }
  }
  return -1;
}

/* ---- the fd check: nothing opened since start may be left open at exit --------------- */

#define FDS_KNOWN_MAX 64

struct fd_set_small {
  int n; /* -1: /proc/self/fd unreadable or too many fds: no check */
  int fd[FDS_KNOWN_MAX];
};

/* Calls fn for each open fd >= 3 (other than the directory's own). */
static int each_fd(void (*fn)(int fd, void *arg), void *arg)
{
  DIR *d = opendir("/proc/self/fd");
  if (d == NULL) /* ENOENT (no /proc), EMFILE, ENOMEM, ...: the check is skipped */
    return -1;
  struct dirent *e;
  while ((e = readdir(d)) != NULL) {
    char *end;
    long fd = strtol(e->d_name, &end, 10);
    if (*end != '\0' || e->d_name[0] == '.' || fd < 3 || fd == dirfd(d))
      continue;
    fn((int)fd, arg);
  }
  closedir(d);
  return 0;
}

static void remember_fd(int fd, void *arg)
{
  struct fd_set_small *s = arg;
  if (s->n >= 0 && s->n < FDS_KNOWN_MAX)
    s->fd[s->n++] = fd;
  else
    s->n = -1;
}

static void check_fd(int fd, void *arg)
{
  const struct fd_set_small *s = arg;
  for (int i = 0; i < s->n; i++)
    if (s->fd[i] == fd)
      return;
  char path[64], target[256];
  snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
  ssize_t n = readlink(path, target, sizeof target - 1);
  target[n > 0 ? n : 0] = '\0';
  fprintf(stderr, "refserver: BUG: fd %d (%s) left open at exit\n", fd, target);
  abort();
}

/* ---- main ---------------------------------------------------------------------------- */

static int install_signals(sigset_t *wait_mask)
{
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sigemptyset(&sa.sa_mask);
  sa.sa_handler = SIG_IGN; /* EPIPE instead of death; send uses MSG_NOSIGNAL as well */
  if (sigaction(SIGPIPE, &sa, NULL) != 0)
    return -1;
  sa.sa_handler = on_signal; /* no SA_RESTART: poll must return EINTR */
  if (sigaction(SIGTERM, &sa, NULL) != 0 || sigaction(SIGINT, &sa, NULL) != 0)
    return -1;
  /* Blocked except inside ppoll: a signal can't slip in between the flag check and the
   * wait (the pselect pattern). */
  sigset_t block;
  sigemptyset(&block);
  sigaddset(&block, SIGTERM);
  sigaddset(&block, SIGINT);
  if (sigprocmask(SIG_BLOCK, &block, wait_mask) != 0)
    return -1;
  sigdelset(wait_mask, SIGTERM);
  sigdelset(wait_mask, SIGINT);
  return 0;
}

int main(int argc, char **argv)
{
  struct options o = {.cfg = RS_CONFIG_DEFAULT};
#ifndef NDEBUG
  o.check_fds = true;
#endif
  int status = parse_options(argc, argv, &o);
  if (status >= 0)
    return status;

  struct fd_set_small inherited = {0};
  if (o.check_fds && each_fd(remember_fd, &inherited) != 0)
    inherited.n = -1;

  sigset_t wait_mask;
  if (install_signals(&wait_mask) != 0) { /* EINVAL: can't be with these signals */
    int err = errno;
    fprintf(stderr, "refserver: sigaction: %s (%s)\n", strerror(err), rs_errname(err));
    return 1;
  }
  o.cfg.wait_sigmask = &wait_mask;

  struct rs_server srv;
  if (rs_server_open(&srv, &o.cfg) != 0) {
    fprintf(stderr, "refserver: %s\n", rs_server_error(&srv));
    return 1;
  }
  if (printf("port=%u\n", (unsigned)rs_server_port(&srv)) < 0 || fflush(stdout) != 0) {
    /* EPIPE, EBADF, ENOSPC, ...: nobody learns the port, but the server can still serve */
    int err = errno;
    rs_log("stdout: %s (%s)", strerror(err), rs_errname(err));
  }

  status = 0;
  while (!stop_signal) {
    int timeout = -1;
    if (o.idle_exit_s > 0) {
      int64_t left = srv.last_activity + (int64_t)o.idle_exit_s * 1000 - rs_now_ms();
      if (left <= 0)
        break;
      timeout = (int)left;
    }
    if (rs_server_step(&srv, timeout) != 0) {
      fprintf(stderr, "refserver: %s\n", rs_server_error(&srv));
      status = 1;
      break;
    }
    if (o.max_requests > 0 && srv.stats.requests >= o.max_requests)
      break;
  }

  /* Graceful stop, bounded in time: replies already made are sent, then all is closed. */
  rs_server_stop(&srv);
  int64_t deadline = rs_now_ms() + 2 * RS_LINGER_MS;
  for (int64_t now = rs_now_ms(); !rs_server_done(&srv) && now < deadline; now = rs_now_ms()) {
    if (rs_server_step(&srv, (int)(deadline - now)) != 0)
      break;
  }
  rs_server_close(&srv);

  if (o.check_fds && inherited.n >= 0)
    each_fd(check_fd, &inherited);
  return status;
}
