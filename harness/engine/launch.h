/* Starting a program under the shim: finding the shim and the program, refusing programs
 * the shim cannot reach, building the environment, waiting for the status. */
#ifndef SF_LAUNCH_H
#define SF_LAUNCH_H

#include <stddef.h>
#include <sys/types.h>

struct sf_sup;

struct sf_launch {
  const char *shim;       /* libsockfault.so; NULL under the seccomp backend (no preload) */
  struct sf_sup *seccomp; /* the seccomp backend's supervisor: the child installs its filter
                           * (fork, not vfork) and the listener is attached to it */
  char *const *argv;      /* program and its arguments: argv[0] as the user gave it */
  const char *path;       /* the program's resolved path, executed; NULL: argv[0] */
  const char *rules;      /* SOCKFAULT, or NULL to leave the environment's */
  const char *rules_file; /* SOCKFAULT_FILE, or NULL to leave the environment's ("": unset) */
  const char *log;        /* SOCKFAULT_LOG, or NULL */
  const char *log_level;  /* SOCKFAULT_LOG_LEVEL, or NULL */
  const char *log_context;/* SOCKFAULT_LOG_CONTEXT, or NULL */
  int inherit;            /* SOCKFAULT_INHERIT: -1 leave, 0 or 1 */
  int fd_in, fd_out, fd_err; /* dup'd onto 0, 1, 2 in the child; -1 to inherit */
  int new_pgrp;           /* put the child in its own process group */
  const char *chdir;      /* working directory for the child, or NULL */
  const char *tmpdir;     /* TMPDIR for the child, or NULL to leave the environment's */
  const struct rlimit *nproc; /* RLIMIT_NPROC for the child, or NULL */
  int cgroup_fd;          /* >= 0: a cgroup.procs the child joins before exec (-1: none;
                           * 0 is never such an fd, so a zeroed struct means none too) */
  int die_with_parent;    /* PR_SET_PDEATHSIG SIGKILL: explore killed, its run dies too */
};

/* libsockfault.so: $SOCKFAULT_SHIM, else beside the sockfault executable (build tree),
 * else in the install tree's library directory. 0, or -1 with a message. */
int sf_find_shim(char *out, size_t len, char *err, size_t errlen);

/* PROG as execvp would find it. 0, or -1 with a message. */
int sf_resolve_prog(const char *prog, char *out, size_t len, char *err, size_t errlen);
/* path made absolute against the working directory, symlinks kept: a multi-call binary
 * (busybox) or a symlinked daemon (/usr/bin/redis-server -> redis-check-rdb) chooses its
 * personality from the name it was started by. 0, or -1 when it does not fit. */
int sf_abs_path(const char *path, char *out, size_t len);

/* What runs when PATH is executed (a script: its interpreter). */
enum sf_prog_kind {
  SF_PROG_DYNAMIC, /* a dynamically linked ELF: LD_PRELOAD reaches its libc calls */
  SF_PROG_STATIC,  /* statically linked: no dynamic loader, nothing to preload into */
  SF_PROG_GO,      /* a Go program: its runtime makes socket system calls itself */
};

/* The kind of program, 0; or -1 with the reason it cannot be run at all (not executable,
 * not ELF, 32-bit …). */
int sf_prog_kind(const char *path, enum sf_prog_kind *kind, char *err, size_t errlen);

/* 0 if the shim can reach the program (dynamically linked ELF, or a script whose interpreter
 * is), -1 with the reason (statically linked, not executable …). */
int sf_check_preloadable(const char *path, char *err, size_t errlen);

/* --backend: preload, seccomp or auto (the default). */
enum sf_backend { SF_BACKEND_AUTO, SF_BACKEND_PRELOAD, SF_BACKEND_SECCOMP };
/* "preload" / "seccomp" / "auto" to the enum; -1 for anything else. */
int sf_backend_parse(const char *s);
const char *sf_backend_name(enum sf_backend b);
/* The backend a program gets: auto chooses seccomp for a static or Go program, preload
 * otherwise, and says why in why (empty when preload). preload on a static program is -1
 * with the reason. */
int sf_backend_choose(enum sf_backend want, const char *prog, enum sf_backend *got, char *why,
                      size_t whylen, char *err, size_t errlen);

/* vfork+exec (fork+filter+exec under seccomp) with the environment set; returns the pid, or -1 with a message (a failure
 * before or at exec included). */
pid_t sf_spawn(const struct sf_launch *l, char *err, size_t errlen);

/* Shell convention: exit status, or 128 + signal. */
int sf_status_code(int wstatus);

/* The rules that would be in effect (arguments, else the environment's SOCKFAULT and
 * SOCKFAULT_FILE), validated and joined into one text, malloc'd: the file read once, here,
 * so a pipe (-f <(...)) is not read again and found empty by the program, and a relative
 * path does not move with the program's chdir. A named FIFO is refused. NULL with the
 * message in err. out, if not NULL, gets the parsed rules (the seccomp backend's). */
struct sf_ruleset;
char *sf_gather_rules(const char *rules, const char *rules_file, char *err, size_t errlen,
                      struct sf_ruleset *out);

#endif
