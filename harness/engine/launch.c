#define _GNU_SOURCE
#include "launch.h"

#include <elf.h>
#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "load.h"
#include "seccomp.h"
#include "rules.h"

extern char **environ;

#ifndef SF_LIBDIR_FROM_BINDIR
#define SF_LIBDIR_FROM_BINDIR "../lib"
#endif

static int sf_is_file(const char *p)
{
  struct stat st;
  return stat(p, &st) == 0 && S_ISREG(st.st_mode);
}

int sf_find_shim(char *out, size_t len, char *err, size_t errlen)
{
  const char *env = getenv("SOCKFAULT_SHIM");
  if (env && env[0]) {
    if (!sf_is_file(env)) {
      snprintf(err, errlen, "SOCKFAULT_SHIM=%s: no such file", env);
      return -1;
    }
    snprintf(out, len, "%s", env);
    return 0;
  }
  char self[PATH_MAX];
  ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
  if (n <= 0) {
    snprintf(err, errlen, "cannot find my own executable: %s", strerror(errno));
    return -1;
  }
  self[n] = '\0';
  char *slash = strrchr(self, '/');
  if (slash)
    *slash = '\0';
  const char *tries[] = {"", ("/" SF_LIBDIR_FROM_BINDIR), "/../lib"};
  for (size_t i = 0; i < sizeof tries / sizeof tries[0]; i++) {
    snprintf(out, len, "%s%s/libsockfault.so", self, tries[i]);
    if (sf_is_file(out)) {
      char *real = realpath(out, NULL);
      if (real) {
        snprintf(out, len, "%s", real);
        free(real);
      }
      return 0;
    }
  }
  snprintf(err, errlen, "libsockfault.so not found beside %s nor in %s/%s (set SOCKFAULT_SHIM)",
           self, self, SF_LIBDIR_FROM_BINDIR);
  return -1;
}

int sf_abs_path(const char *path, char *out, size_t len)
{
  if (path[0] == '/')
    return (size_t)snprintf(out, len, "%s", path) < len ? 0 : -1;
  char cwd[PATH_MAX];
  if (!getcwd(cwd, sizeof cwd))
    return -1;
  while (path[0] == '.' && path[1] == '/')
    path += 2;
  return (size_t)snprintf(out, len, "%s%s%s", cwd, strcmp(cwd, "/") ? "/" : "", path) < len
             ? 0
             : -1;
}

int sf_resolve_prog(const char *prog, char *out, size_t len, char *err, size_t errlen)
{
  if (strchr(prog, '/')) {
    if (access(prog, X_OK) != 0) {
      snprintf(err, errlen, "%s: %s", prog, strerror(errno));
      return -1;
    }
    snprintf(out, len, "%s", prog);
    return 0;
  }
  const char *path = getenv("PATH");
  if (!path)
    path = "/usr/local/bin:/usr/bin:/bin";
  for (const char *p = path; *p;) {
    const char *colon = strchr(p, ':');
    size_t dl = colon ? (size_t)(colon - p) : strlen(p);
    snprintf(out, len, "%.*s/%s", (int)dl, dl ? p : ".", prog);
    if (sf_is_file(out) && access(out, X_OK) == 0)
      return 0;
    p += dl + (colon != NULL);
  }
  snprintf(err, errlen, "%s: command not found in PATH", prog);
  return -1;
}

/* A set-user-ID or set-group-ID program that would run with other credentials than ours:
 * the kernel marks its start secure (AT_SECURE) and the loader ignores LD_PRELOAD (and the
 * shim, were it loaded, would ignore SOCKFAULT*), so no fault could be injected. Not when
 * the bits cannot act: the file is ours already, the mount is nosuid, or no_new_privs. */
static int sf_secure_exec(int fd, const char *path, char *err, size_t errlen)
{
  struct stat st;
  struct statvfs vfs;
  if (fstat(fd, &st) != 0)
    return 0;
  bool suid = (st.st_mode & S_ISUID) && st.st_uid != geteuid();
  bool sgid = (st.st_mode & S_ISGID) && (st.st_mode & S_IXGRP) && st.st_gid != getegid();
  if (!suid && !sgid)
    return 0;
  if ((fstatvfs(fd, &vfs) == 0 && (vfs.f_flag & ST_NOSUID)) ||
      prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) == 1)
    return 0;
  snprintf(err, errlen,
           "%s is set-%s-ID (%s %u): the dynamic loader ignores LD_PRELOAD in such a program, "
           "so sockfault could inject nothing (a run would look clean and prove nothing); "
           "explore a copy without the bit", path, suid ? "user" : "group",
           suid ? "owner uid" : "group gid", suid ? (unsigned)st.st_uid : (unsigned)st.st_gid);
  return -1;
}

/* A Go program carries a section of its own (.go.buildinfo, .note.go.buildid). */
static int sf_elf_is_go(int fd, const Elf64_Ehdr *eh)
{
  Elf64_Shdr strs;
  if (eh->e_shoff == 0 || eh->e_shstrndx >= eh->e_shnum || eh->e_shnum > 4096 ||
      pread(fd, &strs, sizeof strs, (off_t)(eh->e_shoff + (Elf64_Off)eh->e_shstrndx * eh->e_shentsize)) !=
          (ssize_t)sizeof strs)
    return 0;
  for (unsigned i = 0; i < eh->e_shnum; i++) {
    Elf64_Shdr sh;
    char name[32] = "";
    if (pread(fd, &sh, sizeof sh, (off_t)(eh->e_shoff + (Elf64_Off)i * eh->e_shentsize)) !=
            (ssize_t)sizeof sh ||
        pread(fd, name, sizeof name - 1, (off_t)(strs.sh_offset + sh.sh_name)) <= 0)
      continue;
    if (strcmp(name, ".go.buildinfo") == 0 || strcmp(name, ".note.go.buildid") == 0)
      return 1;
  }
  return 0;
}

static int sf_check_depth(const char *path, int depth, enum sf_prog_kind *kind, char *err,
                          size_t errlen)
{
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    snprintf(err, errlen, "%s: %s", path, strerror(errno));
    return -1;
  }
  unsigned char head[256];
  ssize_t n = read(fd, head, sizeof head);
  if (n >= 2 && head[0] == '#' && head[1] == '!') {
    close(fd);
    if (depth > 2) {
      snprintf(err, errlen, "%s: interpreter chain too deep", path);
      return -1;
    }
    char line[256], interp[PATH_MAX], word[256], arg[256];
    size_t l = 0;
    for (ssize_t i = 2; i < n && head[i] != '\n' && l < sizeof line - 1; i++)
      line[l++] = (char)head[i];
    line[l] = '\0';
    arg[0] = '\0';
    if (sscanf(line, " %255s %255s", word, arg) < 1) { /* never into the buffer it reads */
      snprintf(err, errlen, "%s: empty #! line", path);
      return -1;
    }
    const char *target = word;
    if (strcmp(word, "/usr/bin/env") == 0 && arg[0]) {
      if (sf_resolve_prog(arg, interp, sizeof interp, err, errlen) != 0)
        return -1;
      target = interp;
    }
    return sf_check_depth(target, depth + 1, kind, err, errlen);
  }
  if (n < (ssize_t)sizeof(Elf64_Ehdr) || memcmp(head, ELFMAG, SELFMAG) != 0) {
    close(fd);
    snprintf(err, errlen, "%s: neither an ELF executable nor a #! script", path);
    return -1;
  }
  if (head[EI_CLASS] != ELFCLASS64) {
    close(fd);
    snprintf(err, errlen, "%s: not a 64-bit ELF file; the shim is 64-bit", path);
    return -1;
  }
  if (sf_secure_exec(fd, path, err, errlen) != 0) {
    close(fd);
    return -1;
  }
  Elf64_Ehdr eh;
  memcpy(&eh, head, sizeof eh);
  int dynamic = 0;
  for (unsigned i = 0; i < eh.e_phnum && i < 256; i++) {
    Elf64_Phdr ph;
    if (pread(fd, &ph, sizeof ph, (off_t)(eh.e_phoff + (Elf64_Off)i * eh.e_phentsize)) !=
        (ssize_t)sizeof ph)
      break;
    if (ph.p_type == PT_INTERP)
      dynamic = 1;
  }
  *kind = sf_elf_is_go(fd, &eh) ? SF_PROG_GO : dynamic ? SF_PROG_DYNAMIC : SF_PROG_STATIC;
  close(fd);
  return 0;
}

int sf_prog_kind(const char *path, enum sf_prog_kind *kind, char *err, size_t errlen)
{
  return sf_check_depth(path, 0, kind, err, errlen);
}

int sf_check_preloadable(const char *path, char *err, size_t errlen)
{
  enum sf_prog_kind kind;
  if (sf_prog_kind(path, &kind, err, errlen) != 0)
    return -1;
  if (kind == SF_PROG_STATIC) {
    snprintf(err, errlen,
             "%s is statically linked: LD_PRELOAD cannot reach its socket calls, so sockfault "
             "could inject nothing (a run would look clean and prove nothing; "
             "--backend seccomp or auto reaches it)", path);
    return -1;
  }
  return 0;
}

static const char *const sf_backend_names[] = {"auto", "preload", "seccomp"};

int sf_backend_parse(const char *s)
{
  for (int i = 0; i < 3; i++)
    if (strcmp(s, sf_backend_names[i]) == 0)
      return i;
  return -1;
}

const char *sf_backend_name(enum sf_backend b) { return sf_backend_names[b]; }

int sf_backend_choose(enum sf_backend want, const char *prog, enum sf_backend *got, char *why,
                      size_t whylen, char *err, size_t errlen)
{
  enum sf_prog_kind kind;
  why[0] = '\0';
  if (sf_prog_kind(prog, &kind, err, errlen) != 0)
    return -1;
  if (want == SF_BACKEND_PRELOAD && kind == SF_PROG_STATIC)
    return sf_check_preloadable(prog, err, errlen);
  if (want == SF_BACKEND_AUTO && kind != SF_PROG_DYNAMIC) {
    snprintf(why, whylen, "%s is %s: --backend auto chose seccomp", prog,
             kind == SF_PROG_GO ? "a Go program" : "statically linked");
    *got = SF_BACKEND_SECCOMP;
    return 0;
  }
  *got = want == SF_BACKEND_AUTO ? SF_BACKEND_PRELOAD : want;
  return 0;
}

char *sf_gather_rules(const char *rules, const char *rules_file, char *err, size_t errlen,
                       struct sf_ruleset *out)
{
  static struct sf_ruleset rs;
  static char buf[SF_RULES_FILE_MAX];
  memset(&rs, 0, sizeof rs);
  if (!rules)
    rules = getenv("SOCKFAULT");
  if (!rules_file)
    rules_file = getenv("SOCKFAULT_FILE");
  size_t n = 0;
  if (sf_rules_load(rules, "-e", rules_file, rules_file, 1, buf, sizeof buf, &n, &rs, err,
                    errlen) != 0)
    return NULL;
  if (memchr(buf, '\0', n)) {
    snprintf(err, errlen, "%s: holds a NUL byte: not a rules file", rules_file);
    return NULL;
  }
  size_t rl = rules ? strlen(rules) : 0;
  char *all = malloc(rl + n + 2);
  if (!all) {
    snprintf(err, errlen, "out of memory");
    return NULL;
  }
  memcpy(all, rules ? rules : "", rl);
  all[rl] = '\0';
  if (rules_file) { /* the file's rules after the others, on a line of their own */
    all[rl] = '\n';
    memcpy(all + rl + 1, buf, n);
    all[rl + 1 + n] = '\0';
  }
  if (out)
    *out = rs;
  return all;
}

/* environ with LD_PRELOAD prepended and the SOCKFAULT_* settings replaced; what we
 * allocated is listed in owned[] for sf_free_env. */
struct sf_env {
  char **env;
  char *owned[16]; /* LD_PRELOAD, TMPDIR and the SOCKFAULT_* variables set */
  int nowned;
};

static void sf_env_add(struct sf_env *e, size_t *k, const char *name, const char *value)
{
  char *s = NULL;
  if (asprintf(&s, "%s=%s", name, value) < 0)
    return;
  e->owned[e->nowned++] = s;
  e->env[(*k)++] = s;
}

/* The shim's SOCKFAULT_* variables, named once in shim/envs.def. */
enum sf_env_id {
#define SF_ENV(name, doc) SF_E_##name,
#include "envs.def"
#undef SF_ENV
  SF_NENVS
};
static const char *const sf_env_names[SF_NENVS] = {
#define SF_ENV(name, doc) #name,
#include "envs.def"
#undef SF_ENV
};

_Static_assert(SF_NENVS + 2 <= 16, "struct sf_env's owned[] holds every variable we set");

/* Whether the environment entry v ("NAME=value") sets name. */
static bool sf_env_is(const char *v, const char *name)
{
  size_t l = strlen(name);
  return strncmp(v, name, l) == 0 && v[l] == '=';
}

static int sf_build_env(const struct sf_launch *l, struct sf_env *e)
{
  /* what this launch sets, replacing what the environment had */
  const char *set[SF_NENVS] = {0};
  set[SF_E_SOCKFAULT] = l->rules;
  set[SF_E_SOCKFAULT_FILE] = l->rules_file;
  set[SF_E_SOCKFAULT_LOG] = l->log;
  set[SF_E_SOCKFAULT_LOG_LEVEL] = l->log_level;
  set[SF_E_SOCKFAULT_LOG_CONTEXT] = l->log_context;
  set[SF_E_SOCKFAULT_INHERIT] = l->inherit < 0 ? NULL : l->inherit ? "1" : "0";
  size_t n = 0;
  while (environ[n])
    n++;
  e->nowned = 0;
  e->env = calloc(n + 16 + 1, sizeof *e->env);
  if (!e->env)
    return -1;
  size_t k = 0;
  const char *old_preload = NULL;
  for (size_t i = 0; i < n; i++) {
    const char *v = environ[i];
    if (strncmp(v, "LD_PRELOAD=", 11) == 0) {
      old_preload = v + 11;
      continue;
    }
    bool replaced = l->tmpdir && sf_env_is(v, "TMPDIR");
    for (int id = 0; id < SF_NENVS && !replaced; id++)
      replaced = set[id] && sf_env_is(v, sf_env_names[id]);
    if (replaced)
      continue;
    e->env[k++] = (char *)v;
  }
  if (!l->shim) { /* seccomp: the environment is the program's own, but for TMPDIR */
    if (old_preload)
      e->env[k++] = (char *)old_preload - 11;
    if (l->tmpdir)
      sf_env_add(e, &k, "TMPDIR", l->tmpdir);
    e->env[k] = NULL;
    return 0;
  }
  char preload[8192];
  if (old_preload && old_preload[0])
    snprintf(preload, sizeof preload, "%s:%s", l->shim, old_preload);
  else
    snprintf(preload, sizeof preload, "%s", l->shim);
  sf_env_add(e, &k, "LD_PRELOAD", preload);
  for (int id = 0; id < SF_NENVS; id++) /* "": unset it (no rules, no rules file) */
    if (set[id] && (set[id][0] || (id != SF_E_SOCKFAULT_FILE && id != SF_E_SOCKFAULT)))
      sf_env_add(e, &k, sf_env_names[id], set[id]);
  if (l->tmpdir)
    sf_env_add(e, &k, "TMPDIR", l->tmpdir);
  e->env[k] = NULL;
  return 0;
}

static void sf_free_env(struct sf_env *e)
{
  for (int i = 0; i < e->nowned; i++)
    free(e->owned[i]);
  free(e->env);
}

/* Other signals sockfault's commands catch (run, the run pool): in the child a handler goes
 * back to the default before the mask is lifted, as exec would reset it; SIG_IGN stays. */
static const int sf_caught[] = {SIGHUP, SIGQUIT, SIGCHLD};

/* Under seccomp the child installs the filter, stops, and the parent takes the listener
 * from it (pidfd_getfd) before it goes on to exec: a listener passed over a socket would
 * need sendmsg, which the filter may trap with nobody yet to answer. */
static int sf_take_listener(pid_t pid, volatile int *fdp, struct sf_sup *sup)
{
  int st;
  while (waitpid(pid, &st, WUNTRACED) < 0)
    if (errno != EINTR)
      return -1;
  if (!WIFSTOPPED(st)) {
    errno = ECHILD; /* it ended before the filter was in: fail[] says why */
    return -2;
  }
  int pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
  int lfd = pidfd >= 0 ? (int)syscall(SYS_pidfd_getfd, pidfd, *fdp, 0) : -1;
  int e = errno;
  if (pidfd >= 0)
    close(pidfd);
  if (lfd < 0) {
    kill(pid, SIGKILL);
    kill(pid, SIGCONT);
    errno = e;
    return -1;
  }
  sf_sup_attach(sup, pid, lfd);
  kill(pid, SIGCONT);
  return 0;
}

pid_t sf_spawn(const struct sf_launch *l, char *err, size_t errlen)
{
  struct sf_env env;
  if (sf_build_env(l, &env) != 0) {
    snprintf(err, errlen, "out of memory");
    return -1;
  }
  /* vfork: no page tables copied and torn down again at exec (on a VM where fork is a
   * millisecond, a third of the cost of a run). The child shares our memory until exec:
   * it only makes system calls, and reports a failure before exec in fail[] (we resume
   * only once it has exec'd or exited). Every signal is blocked around it so that none of
   * our handlers runs on our memory in the child. Under seccomp the parent must act while
   * the child waits (take its listener), so it is a fork, fail[] a shared page, and a
   * close-on-exec pipe tells the parent when the exec happened. */
  volatile int local_fail[3] = {0, 0, -1}; /* {stage, errno, listener} */
  volatile int *fail = local_fail;
  int execp[2] = {-1, -1};
  if (l->seccomp) {
    void *page = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (page == MAP_FAILED || pipe2(execp, O_CLOEXEC) != 0) {
      snprintf(err, errlen, "cannot set up the seccomp child: %s", strerror(errno));
      if (page != MAP_FAILED)
        munmap(page, 4096);
      sf_free_env(&env);
      return -1;
    }
    fail = page;
    fail[2] = -1;
  }
  sigset_t all, old;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &old);
  pid_t parent = getpid();
  pid_t pid;
  if (l->seccomp)
    pid = fork();
  else
    pid = vfork();
  if (pid == 0) {
    if (l->new_pgrp)
      setpgid(0, 0);
    /* into the run's cgroup before anything can fork: every descendant is counted there */
    if (l->cgroup_fd > 0 && write(l->cgroup_fd, "0", 1) != 1) {
      fail[0] = 1;
      goto failed;
    }
    if (l->die_with_parent &&
        (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || getppid() != parent))
      _exit(127); /* the parent is already gone: nobody to run for */
    struct sigaction dfl = {.sa_handler = SIG_DFL}, cur;
    sigaction(SIGPIPE, &dfl, NULL);
    sigaction(SIGINT, &dfl, NULL);
    sigaction(SIGTERM, &dfl, NULL);
    for (size_t i = 0; i < sizeof sf_caught / sizeof sf_caught[0]; i++)
      if (sigaction(sf_caught[i], NULL, &cur) == 0 && cur.sa_handler != SIG_IGN &&
          cur.sa_handler != SIG_DFL)
        sigaction(sf_caught[i], &dfl, NULL);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    if (l->fd_in >= 0)
      dup2(l->fd_in, 0);
    if (l->fd_out >= 0)
      dup2(l->fd_out, 1);
    if (l->fd_err >= 0)
      dup2(l->fd_err, 2);
    if (l->nproc)
      setrlimit(RLIMIT_NPROC, l->nproc);
    if (l->chdir && chdir(l->chdir) != 0) {
      fail[0] = 2;
      goto failed;
    }
    if (l->seccomp) {
      close(execp[0]);
      /* the last thing before exec: from here on the rules' calls go to the parent */
      int lfd = sf_sup_install(l->seccomp);
      if (lfd < 0) {
        fail[0] = 3;
        goto failed;
      }
      fail[2] = lfd;
      raise(SIGSTOP);
    }
    execve(l->path ? l->path : l->argv[0], l->argv, env.env);
  failed:
    fail[1] = errno;
    /* exit, not exit_group: the filter may trap exit_group, and nobody answers yet */
    if (l->seccomp)
      syscall(SYS_exit, 127);
    _exit(127);
  }
  int fork_errno = errno;
  pthread_sigmask(SIG_SETMASK, &old, NULL);
  sf_free_env(&env);
  int reaped = 0;
  if (pid > 0 && l->seccomp) {
    close(execp[1]);
    int rc = sf_take_listener(pid, &fail[2], l->seccomp);
    if (rc == -1 && fail[1] == 0) {
      fail[0] = 4;
      fail[1] = errno;
    }
    reaped = rc == -2;
    char c;
    while (read(execp[0], &c, 1) < 0 && errno == EINTR) {
    } /* EOF: exec'd, or gone */
    close(execp[0]);
  }
  if (pid < 0) {
    if (l->seccomp) {
      close(execp[0]);
      close(execp[1]);
    }
    snprintf(err, errlen, "%s: %s", l->seccomp ? "fork" : "vfork", strerror(fork_errno));
  } else if (fail[1] != 0) {
    if (!reaped)
      waitpid(pid, NULL, 0);
    static const char *const stage[] = {"", "joining its cgroup: ", "chdir: ",
                                        "installing the seccomp filter: ",
                                        "taking the seccomp listener: "};
    int st = fail[0];
    snprintf(err, errlen, "%s: %s%s", l->argv[0], stage[st >= 0 && st < 5 ? st : 0],
             strerror(fail[1]));
    pid = -1;
  }
  if (l->seccomp)
    munmap((void *)fail, 4096);
  return pid;
}

int sf_status_code(int wstatus)
{
  if (WIFEXITED(wstatus))
    return WEXITSTATUS(wstatus);
  if (WIFSIGNALED(wstatus))
    return 128 + WTERMSIG(wstatus);
  return 255;
}
