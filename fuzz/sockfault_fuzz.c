/*
 * sockfault_fuzz.c — <sockfault/fuzz.h>: the fault schedule at the front of a fuzz input,
 * armed through the preloaded shim's control API. Installed as libsockfault_fuzz.a
 * (SockFault::fuzz); it carries its own copy of the call table (table.c), and finds the
 * shim's functions with dlsym at run time, so the same object works with or without a
 * sanitizer runtime and refuses to run when the shim is absent.
 */
#define _GNU_SOURCE
#include "sockfault/fuzz.h"

#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "table.h"

typedef int (*sf_set_rules_fn)(const char *, char *, size_t);

/* All state in one place. */
static struct {
  bool ready;
  int calls[SF_NCALLS]; /* the call list, as table ids */
  unsigned ncalls;
  sf_set_rules_fn set_rules;
  const char *outside; /* rules given by `sockfault run` (SOCKFAULT / SOCKFAULT_FILE) */
  const char *outside_from;
  bool begun;     /* an input has started: a crash has a schedule to print */
  bool handlers;  /* signal handlers installed */
  volatile sig_atomic_t reported;
  char exe[PATH_MAX];
  struct sockfault_fuzz_schedule cur;
  char outside_buf[16384];
} g;

static const size_t sf_when_range = 16;

/* "recv,send" -> ids. NULL or "" is every call of the table. */
static int parse_calls(const char *list, int *ids, unsigned *n, char *err, size_t errlen)
{
  *n = 0;
  if (list == NULL || *list == '\0') {
    for (int id = 0; id < SF_NCALLS; id++)
      ids[(*n)++] = id;
    return 0;
  }
  for (const char *p = list;;) {
    size_t len = strcspn(p, ", ");
    if (len > 0) {
      int id = sf_call_lookup(p, len);
      if (id < 0) {
        const char *near = sf_closest_call(p, len);
        snprintf(err, errlen, "calls '%s': '%.*s' is not an intercepted call%s%s%s", list,
                 (int)len, p, near ? " (did you mean '" : "", near ? near : "", near ? "'?)" : "");
        return -1;
      }
      for (unsigned i = 0; i < *n; i++)
        if (ids[i] == id) {
          snprintf(err, errlen, "calls '%s': '%.*s' is listed twice", list, (int)len, p);
          return -1;
        }
      ids[(*n)++] = id;
    }
    if (p[len] == '\0')
      break;
    p += len + 1;
  }
  if (*n == 0) {
    snprintf(err, errlen, "calls '%s': no call named", list);
    return -1;
  }
  return 0;
}

static void decode(struct sockfault_fuzz_schedule *s, const int *ids, unsigned ncalls,
                   const uint8_t *data, size_t size)
{
  size_t at = 0, used = 0;
  uint8_t head = size > 0 ? data[at++] : 0;
  s->nfaults = head & 7u;
  s->rules[0] = '\0';
  for (unsigned i = 0; i < s->nfaults; i++) {
    uint8_t b[3] = {0, 0, 0};
    for (int k = 0; k < 3; k++)
      b[k] = at < size ? data[at++] : 0;
    const struct sf_call_info *c = &sf_calls[ids[b[0] % ncalls]];
    struct sockfault_fuzz_fault *f = &s->fault[i];
    f->call = c->name;
    f->when = 1u + (b[1] % sf_when_range);
    f->err = c->errnos[b[2] % c->nerrnos].err;
    /* Retrying EINTR or EAGAIN is correct, and under "from N on" it would never end. */
    f->onward = (b[1] & 0x80) != 0 && f->err != EINTR && f->err != EAGAIN &&
                f->err != EWOULDBLOCK;
    f->err_name = sf_errno_name(f->err);
    /* 7 faults of at most ~50 characters each: the buffer cannot overflow (fuzz.h). */
    int w = snprintf(s->rules + used, sizeof s->rules - used, "%s%s:error=%s:when=%u%s",
                     i ? ";" : "", f->call, f->err_name, f->when, f->onward ? "+" : "");
    if (w > 0 && (size_t)w < sizeof s->rules - used)
      used += (size_t)w;
  }
  s->rest = data ? data + at : data;
  s->rest_size = size - at;
}

size_t sockfault_fuzz_schedule_size(const uint8_t *data, size_t size)
{
  size_t n = size ? 1 + 3 * (size_t)(data[0] & 7u) : 0;
  return n < size ? n : size;
}

int sockfault_fuzz_decode(struct sockfault_fuzz_schedule *s, const char *calls,
                          const uint8_t *data, size_t size, char *err, size_t errlen)
{
  int ids[SF_NCALLS];
  unsigned n;
  if (parse_calls(calls, ids, &n, err, errlen) != 0)
    return -1;
  decode(s, ids, n, data, size);
  return 0;
}

/* ---- reporting -------------------------------------------------------------------------- */

static void put(const char *s)
{
  size_t n = strlen(s);
  while (n > 0) {
    long w = syscall(SYS_write, 2, s, n); /* raw: never a faulted write, safe in a handler */
    if (w <= 0)
      return;
    s += w;
    n -= (size_t)w;
  }
}

/* Async-signal-safe: only raw writes of state set before. */
void sockfault_fuzz_report(void)
{
  if (!g.begun)
    return;
  const char *rules = g.outside ? g.outside : g.cur.rules;
  put("sockfault-fuzz: fault schedule of the input: ");
  put(*rules ? rules : "(none: no fault armed)");
  if (g.outside) {
    put(" (from ");
    put(g.outside_from);
    put(")");
  }
  put("\nsockfault-fuzz: reproduce: sockfault run ");
  if (*rules && g.outside_buf != g.outside) { /* not for a rules file: its text has lines */
    put("-e '");
    put(rules);
    put("' ");
  }
  put("-- ");
  put(g.exe[0] ? g.exe : "TARGET");
  put(" CRASH-FILE\n");
}

static void report_once(void)
{
  if (g.reported)
    return;
  g.reported = 1;
  sockfault_fuzz_report();
}

/* The sanitizers' summary line (ASan, UBSan, LSan, MSan): a weak hook of their runtime that
 * prints the line; ours prints it and then the schedule. libFuzzer's own death callback is
 * left alone: it writes the crash file. */
__attribute__((visibility("default"))) void __sanitizer_report_error_summary(const char *summary);
__attribute__((visibility("default"))) void __sanitizer_report_error_summary(const char *summary)
{
  put(summary);
  put("\n");
  report_once();
}

static const int sf_crash_signals[] = {SIGABRT, SIGSEGV, SIGBUS, SIGFPE, SIGILL};
static struct sigaction sf_prev[sizeof sf_crash_signals / sizeof sf_crash_signals[0]];

/* In front of whatever handled the signal before (libFuzzer's, a sanitizer's, the default):
 * print, then hand the signal on. */
static void on_crash(int sig, siginfo_t *info, void *ctx)
{
  int saved = errno;
  report_once();
  for (size_t i = 0; i < sizeof sf_crash_signals / sizeof sf_crash_signals[0]; i++) {
    if (sf_crash_signals[i] != sig)
      continue;
    struct sigaction *p = &sf_prev[i];
    if ((p->sa_flags & SA_SIGINFO) && p->sa_sigaction != NULL) {
      p->sa_sigaction(sig, info, ctx);
    } else if (p->sa_handler == SIG_IGN) {
      /* ignored before us: stay ignored */
    } else if (p->sa_handler != SIG_DFL) {
      p->sa_handler(sig);
    } else {
      /* The default action: pending until this handler returns (or the fault recurs). */
      sigaction(sig, p, NULL);
      raise(sig);
    }
    break;
  }
  errno = saved;
}

/* At the first input, after libFuzzer and the sanitizers have installed theirs. */
static void install_handlers(void)
{
  g.handlers = true;
  for (size_t i = 0; i < sizeof sf_crash_signals / sizeof sf_crash_signals[0]; i++) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    if (sigaction(sf_crash_signals[i], NULL, &sf_prev[i]) != 0)
      continue;
    sa.sa_sigaction = on_crash;
    sa.sa_flags = SA_SIGINFO | (sf_prev[i].sa_flags & SA_ONSTACK);
    sigemptyset(&sa.sa_mask);
    sigaction(sf_crash_signals[i], &sa, NULL);
  }
}

/* ---- the shim --------------------------------------------------------------------------- */

static void die(const char *what)
{
  fprintf(stderr, "sockfault-fuzz: %s\n", what);
  abort();
}

/* libsockfault.so named by SOCKFAULT_SHIM, beside the executable or in its ../lib. */
static int find_shim(char *path, size_t len)
{
  const char *env = getenv("SOCKFAULT_SHIM");
  if (env && *env && access(env, R_OK) == 0) {
    snprintf(path, len, "%s", env);
    return 0;
  }
  char dir[PATH_MAX];
  snprintf(dir, sizeof dir, "%s", g.exe);
  char *slash = strrchr(dir, '/');
  if (slash == NULL)
    return -1;
  *slash = '\0';
  const char *rel[] = {"/libsockfault.so", "/../lib/libsockfault.so", "/../lib64/libsockfault.so"};
  for (size_t i = 0; i < sizeof rel / sizeof rel[0]; i++) {
    int n = snprintf(path, len, "%s%s", dir, rel[i]);
    if (n > 0 && (size_t)n < len && access(path, R_OK) == 0)
      return 0;
  }
  return -1;
}

/* Re-executes with the shim preloaded (once; SF_FUZZ_REEXEC marks the second start). */
static void reexec(char **argv)
{
  char shim[PATH_MAX];
  if (argv == NULL || getenv("SF_FUZZ_REEXEC") != NULL || find_shim(shim, sizeof shim) != 0)
    return;
  const char *old = getenv("LD_PRELOAD");
  char pre[2 * PATH_MAX + 2];
  snprintf(pre, sizeof pre, "%s%s%s", shim, old && *old ? ":" : "", old && *old ? old : "");
  fprintf(stderr, "sockfault-fuzz: libsockfault.so is not preloaded; re-executing with "
                  "LD_PRELOAD=%s\n", pre);
  setenv("LD_PRELOAD", pre, 1);
  setenv("SF_FUZZ_REEXEC", "1", 1);
  execv("/proc/self/exe", argv);
  fprintf(stderr, "sockfault-fuzz: execv /proc/self/exe: %s\n", strerror(errno));
}

/* Rules given from outside (sockfault run -e / -f): they replace the decoded schedule. */
static void read_outside(void)
{
  const char *env = getenv("SOCKFAULT");
  if (env && *env) {
    g.outside = env;
    g.outside_from = "SOCKFAULT";
    return;
  }
  const char *file = getenv("SOCKFAULT_FILE");
  if (file == NULL || *file == '\0')
    return;
  FILE *f = fopen(file, "r");
  if (f == NULL) {
    fprintf(stderr, "sockfault-fuzz: SOCKFAULT_FILE=%s: %s\n", file, strerror(errno));
    abort();
  }
  size_t n = fread(g.outside_buf, 1, sizeof g.outside_buf - 1, f);
  int big = fgetc(f) != EOF;
  fclose(f);
  if (big)
    die("SOCKFAULT_FILE: more than 16 KB of rules");
  g.outside_buf[n] = '\0';
  g.outside = g.outside_buf;
  g.outside_from = "SOCKFAULT_FILE";
}

void sockfault_fuzz_init(int *argc, char ***argv, const char *calls)
{
  (void)argc;
  char err[512];
  if (parse_calls(calls, g.calls, &g.ncalls, err, sizeof err) != 0)
    die(err);
  ssize_t n = readlink("/proc/self/exe", g.exe, sizeof g.exe - 1);
  g.exe[n > 0 ? n : 0] = '\0';
  g.set_rules = (sf_set_rules_fn)(uintptr_t)dlsym(RTLD_DEFAULT, "sockfault_set_rules");
  if (g.set_rules == NULL) {
    reexec(argv ? *argv : NULL);
    die("libsockfault.so is not preloaded, so no fault would be injected. Run the target "
        "with LD_PRELOAD=<prefix>/lib/libsockfault.so (AFL++: AFL_PRELOAD=...), or under "
        "`sockfault run`.");
  }
  read_outside();
  g.ready = true;
}

static void arm(const char *rules)
{
  char err[512];
  if (g.set_rules(rules, err, sizeof err) != 0) {
    fprintf(stderr, "sockfault-fuzz: the shim refused the rules '%s': %s\n", rules, err);
    abort();
  }
}

const uint8_t *sockfault_fuzz_begin(const uint8_t *data, size_t size, size_t *rest_size)
{
  if (!g.ready)
    sockfault_fuzz_init(NULL, NULL, NULL);
  if (!g.handlers)
    install_handlers();
  decode(&g.cur, g.calls, g.ncalls, data, size);
  g.begun = true;
  arm(g.outside ? g.outside : g.cur.rules);
  if (rest_size)
    *rest_size = g.cur.rest_size;
  return g.cur.rest;
}

void sockfault_fuzz_end(void)
{
  if (g.ready)
    arm("");
}

const struct sockfault_fuzz_schedule *sockfault_fuzz_schedule(void) { return &g.cur; }

const char *sockfault_fuzz_rules(void)
{
  if (!g.begun)
    return "";
  return g.outside ? g.outside : g.cur.rules;
}
