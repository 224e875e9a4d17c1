/* libsf_early.so: preloaded *after* the shim (LD_PRELOAD=shim:early), so its constructor
 * runs before the shim's and its socket calls meet a shim that is not initialised yet.
 * SF_EARLY selects what the constructor does:
 *   ctor     one socket() call; prints "early:R"
 *   threads  starts 8 threads of SF_EARLY_K socket() calls each, racing the shim's
 *            initialisation; the destructor joins them and prints "early:CALLS:FAILS"
 *   signals  a thread sends SIGUSR1 to the main thread in a loop, through the shim's
 *            initialisation and until the destructor; the handler calls socket() and
 *            close(). This library's getenv() also raises SIGUSR1 when the shim asks for
 *            SOCKFAULT, so one handler surely runs inside the shim's initialisation. The
 *            destructor prints "early-signals:SENT:HANDLED:INSIDE-INIT"
 * R is "ok" or the errno name. */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sched.h>
#include <unistd.h>

enum { NTHREADS = 8 };
static pthread_t threads[NTHREADS];
static int nthreads;
static long per_thread;
static atomic_long fails, sent, handled;
static atomic_int stop;
static pid_t main_tid;
static atomic_long inside_init;
static int hook_getenv;
extern char **environ;

/* The shim reads SOCKFAULT through getenv() while it initialises: interposed here (this
 * library comes after the shim in LD_PRELOAD, before libc), it delivers a signal right
 * there. Reads environ itself: no call back into anything that could recurse. Exported
 * explicitly: the build hides symbols by default. */
__attribute__((visibility("default"))) char *getenv(const char *name)
{
  size_t l = strlen(name);
  char *found = NULL;
  for (char **e = environ; e && *e && !found; e++)
    if (strncmp(*e, name, l) == 0 && (*e)[l] == '=')
      found = *e + l + 1;
  if (hook_getenv && strcmp(name, "SOCKFAULT") == 0) {
    hook_getenv = 0;
    raise(SIGUSR1); /* delivered before raise returns */
    atomic_fetch_add(&inside_init, 1);
  }
  return found;
}

static int sock_ok(void)
{
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0)
    return 0;
  close(fd);
  return 1;
}

static void *caller(void *arg)
{
  (void)arg;
  for (long i = 0; i < per_thread; i++)
    if (!sock_ok())
      atomic_fetch_add(&fails, 1);
  return NULL;
}

static void on_usr1(int sig)
{
  (void)sig;
  int saved = errno;
  (void)sock_ok();
  atomic_fetch_add(&handled, 1);
  errno = saved;
}

static void *signaller(void *arg)
{
  (void)arg;
  /* bounded: a few seconds of signals at most, even if the destructor never comes */
  for (long i = 0; i < 2000000 && !atomic_load(&stop); i++) {
    syscall(SYS_tgkill, getpid(), main_tid, SIGUSR1);
    atomic_fetch_add(&sent, 1);
    sched_yield();
  }
  return NULL;
}

__attribute__((constructor)) static void early_ctor(void)
{
  const char *m = getenv("SF_EARLY");
  if (!m)
    return;
  if (strcmp(m, "ctor") == 0) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    int e = errno;
    printf("early:%s\n", fd >= 0 ? "ok" : strerrorname_np(e));
    fflush(stdout);
    if (fd >= 0)
      close(fd);
  } else if (strcmp(m, "threads") == 0) {
    const char *k = getenv("SF_EARLY_K");
    per_thread = k ? atol(k) : 1000;
    for (; nthreads < NTHREADS; nthreads++)
      if (pthread_create(&threads[nthreads], NULL, caller, NULL) != 0)
        break;
  } else if (strcmp(m, "signals") == 0) {
    struct sigaction sa = {.sa_handler = on_usr1, .sa_flags = SA_RESTART};
    sigemptyset(&sa.sa_mask);
    sigaction(SIGUSR1, &sa, NULL);
    hook_getenv = 1;
    main_tid = (pid_t)syscall(SYS_gettid);
    if (pthread_create(&threads[0], NULL, signaller, NULL) == 0)
      nthreads = 1;
    /* let the storm start before the shim's constructor runs */
    while (atomic_load(&sent) < 200)
      sched_yield();
  }
}

__attribute__((destructor)) static void early_dtor(void)
{
  const char *m = getenv("SF_EARLY");
  if (!m || nthreads == 0)
    return;
  atomic_store(&stop, 1);
  for (int i = 0; i < nthreads; i++)
    pthread_join(threads[i], NULL);
  if (strcmp(m, "threads") == 0)
    printf("early:%ld:%ld\n", nthreads * per_thread, atomic_load(&fails));
  else
    printf("early-signals:%ld:%ld:%ld\n", atomic_load(&sent), atomic_load(&handled),
           atomic_load(&inside_init));
  fflush(stdout);
}
