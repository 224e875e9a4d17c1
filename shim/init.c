/* Initialisation (before main, or at the first intercepted call if that comes first),
 * fork behaviour, the exit record, and the control API. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "sockfault/exit.h"
#include "load.h"
#include "sockfault/sockfault.h"
#include "logfmt.h"
#include "state.h"

/* Zero-initialised (state.h): log_fd and inherit get their values in sf_init. */
struct sf_state sf_g;

static __thread int sf_in_init __attribute__((tls_model("initial-exec")));

static const char *const sf_env_names[] = {
#define SF_ENV(name, doc) #name,
#include "envs.def"
#undef SF_ENV
};
enum { SF_NENV = sizeof sf_env_names / sizeof sf_env_names[0] };

extern char **environ;

/* A misspelt SOCKFAULT_* variable is a warning, not silence. */
static void sf_check_env_names(void)
{
  for (char **e = environ; e && *e; e++) {
    if (strncmp(*e, "SOCKFAULT", 9) != 0)
      continue;
    const char *eq = strchr(*e, '=');
    size_t len = eq ? (size_t)(eq - *e) : strlen(*e);
    int known = 0;
    for (int i = 0; i < SF_NENV; i++)
      if (strlen(sf_env_names[i]) == len && memcmp(*e, sf_env_names[i], len) == 0)
        known = 1;
    if (known)
      continue;
    char name[128];
    snprintf(name, sizeof name, "%.*s", (int)(len < 100 ? len : 100), *e);
    const char *near = sf_closest(*e, len, sf_env_names, SF_NENV);
    char msg[256];
    snprintf(msg, sizeof msg, "warning: unknown environment variable %s%s%s%s", name,
             near ? " (did you mean " : "", near ? near : "", near ? "?)" : "");
    sf_note(msg, NULL, NULL);
  }
}

static void sf_rules_die(const char *msg)
{
  char full[600];
  snprintf(full, sizeof full, "%s; the program was not run", msg);
  sf_die(SOCKFAULT_EXIT_RULE, full);
}

static char sf_file_buf[SF_RULES_FILE_MAX];

/* A relative SOCKFAULT_FILE or SOCKFAULT_LOG is made absolute in the environment, once at
 * start, so a child that changes directory before exec reads and logs the same files. */
static void sf_absolute_env(int i, const char *name, const char *path)
{
  static char buf[2][4096 + 32]; /* one per variable: putenv keeps the string */
  if (path[0] == '/')
    return;
  size_t nl = strlen(name);
  memcpy(buf[i], name, nl);
  buf[i][nl] = '=';
  if (!getcwd(buf[i] + nl + 1, sizeof buf[i] - nl - 2))
    return;
  size_t used = strlen(buf[i]);
  if (used + 1 + strlen(path) >= sizeof buf[i])
    return;
  buf[i][used] = '/';
  memcpy(buf[i] + used + 1, path, strlen(path) + 1);
  putenv(buf[i]); /* static storage: no allocation of the string itself */
}

static void sf_load_rules(struct sf_ruleset *rs)
{
  char err[512], label[300];
  const char *file = getenv("SOCKFAULT_FILE");
  snprintf(label, sizeof label, "SOCKFAULT_FILE=%.280s", file ? file : "");
  if (sf_rules_load(getenv("SOCKFAULT"), "SOCKFAULT", file, label, 0, sf_file_buf,
                    sizeof sf_file_buf, NULL, rs, err, sizeof err) != 0)
    sf_rules_die(err);
  if (file)
    sf_absolute_env(0, "SOCKFAULT_FILE", file);
}

static uint64_t sf_random_seed(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  /* the pid once per process: a fuzzer sets rules (and so seeds) several times per input */
  return ((uint64_t)ts.tv_sec << 32) ^ (uint64_t)ts.tv_nsec ^ ((uint64_t)sf_self_pid() << 16);
}

/* Derive the fast-path mask and bookkeeping from the rules and the log. */
void sf_arm(void)
{
  uint64_t armed = 0;
  for (unsigned i = 0; i < sf_g.rs.rules.n; i++)
    armed |= sf_g.rs.rules.rule[i].calls;
  /* The calls that make or end sockets keep the table current. */
  const uint64_t creators = sf_calls_of_kind(SF_K_NEWFD | SF_K_CLOSEFD);
  sf_g.armed = armed;
  /* The socket table pays for itself when something asks whether a generic fd is a socket
   * (a rule on read/write/close) or which kind it is (the log, family=/type= filters). */
  uint64_t generic = 0;
  for (int i = 0; i < SF_NCALLS; i++)
    if (sf_calls[i].ctx == SF_CTX_SOCKFD)
      generic |= SF_CALL_BIT(i);
  bool kinds = false, ports = sf_g.log_level != SF_LOG_OFF;
  for (unsigned i = 0; i < sf_g.rs.rules.n; i++) {
    kinds |= (sf_g.rs.rules.rule[i].filters & (SF_F_FAMILY | SF_F_TYPE)) != 0;
    ports |= (sf_g.rs.rules.rule[i].filters & SF_F_PORT) != 0;
  }
  const bool track = ports || kinds || (armed & generic) != 0;
  uint64_t slow = armed;
  if (sf_g.log_level != SF_LOG_OFF)
    slow |= SF_ALL_CALLS;
  if (track)
    slow |= creators;
  /* An EMFILE/ENFILE window gives a slot back on every close, of any fd (decide.c). */
  bool slots = false;
  for (unsigned i = 0; i < sf_g.rs.rules.n; i++)
    slots |= sf_g.rs.rules.rule[i].has_for &&
             (sf_g.rs.rules.rule[i].err == EMFILE || sf_g.rs.rules.rule[i].err == ENFILE);
  sf_g.rs.slot_rules = slots;
  if (slots)
    slow |= sf_calls_of_kind(SF_K_CLOSEFD);
  if (ports) /* the calls that bind or connect keep the ports current */
    slow |= sf_calls_of_kind(SF_K_ADDR);
  const bool was = atomic_exchange_explicit(&sf_g.track_fds, track, memory_order_relaxed);
  const bool was_ports = atomic_exchange_explicit(&sf_g.track_ports, ports, memory_order_relaxed);
  atomic_store_explicit(&sf_g.fast, SF_ALL_CALLS & ~slow, memory_order_release);
  /* Closes (or binds) made while the table was not kept went unseen: start it afresh, once
   * they are on the slow path again (an entry stored meanwhile is dropped too, which is safe). */
  if ((track && !was) || (ports && !was_ports))
    sf_fd_forget_from(0, ~0U);
}

/* start: at the shim's start (per=tree's counts may go on from an exec'ing parent), else the
 * control API's new rules */
static void sf_seed_rules(bool start)
{
  sf_rulestate_seed(&sf_g.rs, sf_random_seed());
  bool tree = false;
  for (unsigned i = 0; i < sf_g.rs.rules.n; i++)
    tree |= sf_g.rs.rules.rule[i].per_tree;
  sf_tree_reset(tree, start);
}

static void sf_after_fork_child(void)
{
  sf_log_after_fork();
  if (!sf_g.inherit) {
    sf_g.rs.rules.n = 0;
    sf_arm();
  }
}

static void sf_log_start(void)
{
  char extra[900];
  char exe[256];
  long n = syscall(SYS_readlinkat, AT_FDCWD, "/proc/self/exe", exe, sizeof exe - 1);
  exe[n > 0 ? n : 0] = '\0';
  sf_logfmt_start(extra, sizeof extra, (long)getppid(), exe, &sf_g.rs);
  sf_log_event("start", extra);
}

void sf_init(void)
{
  int expect = SF_INIT_NONE;
  if (!atomic_compare_exchange_strong(&sf_g.init, &expect, SF_INIT_RUNNING)) {
    /* Another thread is initialising: wait for it, boundedly; a nested call from this
     * thread (sf_in_init) returns at once and passes through. */
    for (long spins = 0; !sf_in_init && spins < 10000000 &&
                         atomic_load_explicit(&sf_g.init, memory_order_acquire) == SF_INIT_RUNNING;
         spins++)
      sched_yield();
    return;
  }
  sf_in_init = 1;
  sf_g.log_fd = -1;
  sf_g.inherit = true;
  sf_real_resolve();
  sf_fdtab_resolve();
  if (getauxval(AT_SECURE)) {
    /* set-uid/set-gid: the environment is the attacker's; faults and log are ignored. */
    if (getenv("SOCKFAULT") || getenv("SOCKFAULT_FILE") || getenv("SOCKFAULT_LOG"))
      sf_note("set-uid/set-gid program: SOCKFAULT* variables ignored", NULL, NULL);
    sf_g.rs.rules.n = 0;
    sf_arm();
    atomic_store_explicit(&sf_g.init, SF_INIT_DONE, memory_order_release);
    sf_in_init = 0;
    return;
  }
  sf_check_env_names();
  sf_load_rules(&sf_g.rs.rules);
  sf_seed_rules(true);

  const char *inherit = getenv("SOCKFAULT_INHERIT");
  if (inherit && strcmp(inherit, "0") != 0 && strcmp(inherit, "1") != 0) {
    char msg[200];
    snprintf(msg, sizeof msg, "SOCKFAULT_INHERIT=%.100s: expected 0 or 1", inherit);
    sf_rules_die(msg);
  }
  sf_g.inherit = !(inherit && strcmp(inherit, "0") == 0);
  if (!sf_g.inherit) {
    /* exec'd children find no rules; forked ones drop them in sf_after_fork_child */
    unsetenv("SOCKFAULT");
    unsetenv("SOCKFAULT_FILE");
  }

  const char *level = getenv("SOCKFAULT_LOG_LEVEL");
  const char *context = getenv("SOCKFAULT_LOG_CONTEXT");
  const char *log = getenv("SOCKFAULT_LOG");
  if (context && strcmp(context, "1") != 0 && strcmp(context, "2") != 0) {
    char msg[200];
    snprintf(msg, sizeof msg, "SOCKFAULT_LOG_CONTEXT=%.100s: expected 1 or 2", context);
    sf_rules_die(msg);
  }
  enum sf_log_level lv = SF_LOG_ALL;
  const int all = level ? sf_log_level_parse(level) : 1;
  if (all < 0) {
    char msg[200];
    snprintf(msg, sizeof msg, "SOCKFAULT_LOG_LEVEL=%.100s: " SF_LOG_LEVEL_EXPECTED, level);
    sf_rules_die(msg);
  }
  if (!all)
    lv = SF_LOG_FAULTS;
  if (log && !log[0])
    sf_rules_die("SOCKFAULT_LOG is set but empty: give a file path, or unset it");
  if (log) {
    char why[200];
    if (sf_log_open(log, why, sizeof why) != 0) {
      char msg[700];
      snprintf(msg, sizeof msg, "SOCKFAULT_LOG=%.400s: %s", log, why);
      sf_rules_die(msg);
    }
    sf_g.log_level = lv;
    sf_g.log_context = context && strcmp(context, "2") == 0 ? 2 : 1;
    sf_absolute_env(1, "SOCKFAULT_LOG", log);
  } else {
    if (level)
      sf_note("warning: SOCKFAULT_LOG_LEVEL has no effect without SOCKFAULT_LOG", NULL, NULL);
    if (context)
      sf_note("warning: SOCKFAULT_LOG_CONTEXT has no effect without SOCKFAULT_LOG", NULL, NULL);
  }
  pthread_atfork(NULL, NULL, sf_after_fork_child);
  sf_arm();
  atomic_store_explicit(&sf_g.init, SF_INIT_DONE, memory_order_release);
  sf_in_init = 0;
  if (sf_g.log_level != SF_LOG_OFF)
    sf_log_start();
}

__attribute__((constructor(101))) static void sf_constructor(void)
{
  if (atomic_load_explicit(&sf_g.init, memory_order_acquire) == SF_INIT_NONE)
    sf_init();
}

/* The exit record: how many sockets are still open, for explore's fd-leak class. */
__attribute__((destructor(101))) static void sf_destructor(void)
{
  if (atomic_load_explicit(&sf_g.init, memory_order_acquire) != SF_INIT_DONE ||
      sf_g.log_level == SF_LOG_OFF)
    return;
  char extra[200];
  snprintf(extra, sizeof extra, "\"sockets\":%d,\"injected\":%llu,\"dropped\":%llu",
           sf_count_open_sockets(), (unsigned long long)atomic_load(&sf_g.rs.injected),
           (unsigned long long)atomic_load(&sf_g.log_dropped));
  sf_log_event("exit", extra);
}

/* --- control API ------------------------------------------------------------------------ */

__attribute__((visibility("default"))) int sockfault_set_rules(const char *rules, char *err,
                                                               size_t errlen)
{
  static struct sf_ruleset fresh;
  if (atomic_load_explicit(&sf_g.init, memory_order_acquire) != SF_INIT_DONE)
    sf_init();
  memset(&fresh, 0, sizeof fresh);
  if (rules && sf_rules_parse(rules, strlen(rules), "sockfault_set_rules", &fresh, err, errlen) != 0)
    return -1;
  sf_g.rs.rules = fresh;
  sf_seed_rules(false);
  sf_arm();
  return 0;
}

__attribute__((visibility("default"))) void sockfault_reset(void)
{
  sf_rulestate_reset(&sf_g.rs);
  sf_tree_reset(false, false);
}

__attribute__((visibility("default"))) unsigned long long sockfault_injected(void)
{
  return atomic_load_explicit(&sf_g.rs.injected, memory_order_relaxed);
}
