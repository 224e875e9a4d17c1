/* Loading rules and the log level (load.h). */
#define _GNU_SOURCE
#include "load.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

int sf_fifo_check(const char *path, unsigned mode, const char *label, int pipe_ok,
                  const char *instead, char *err, size_t errlen)
{
  if (!S_ISFIFO(mode))
    return 0;
  const int open_pipe = strncmp(path, "/dev/fd/", 8) == 0 ||
                        strncmp(path, "/proc/self/fd/", 14) == 0 ||
                        strcmp(path, "/dev/stdin") == 0 || strcmp(path, "/dev/stdout") == 0;
  if (pipe_ok && open_pipe)
    return 0;
  if (open_pipe)
    snprintf(err, errlen, "%s%sa pipe (refused: only the first process could read it; "
             "sockfault run -f reads it once and passes the rules on)", label ? label : "",
             label ? ": " : "");
  else
    snprintf(err, errlen, "%s%sa FIFO (refused: it would be waited on; %s)",
             label ? label : "", label ? ": " : "", instead);
  return -1;
}

/* The whole file into buf; its length, or -1 with err set. */
static long sf_read_whole(const char *path, const char *label, int pipe_ok, char *buf,
                          size_t cap, char *err, size_t errlen)
{
  /* O_NONBLOCK: opening a FIFO must not wait for a writer */
  int fd = (int)syscall(SYS_openat, AT_FDCWD, path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) {
    snprintf(err, errlen, "%s: %s", label, strerror(errno));
    return -1;
  }
  struct stat st;
  if (fstat(fd, &st) == 0 &&
      sf_fifo_check(path, st.st_mode, label, pipe_ok, "give a file, or -f <(...)", err,
                    errlen) != 0) {
    syscall(SYS_close, fd);
    return -1;
  }
  fcntl(fd, F_SETFL, 0); /* a pipe read to its end blocks for its writer */
  size_t used = 0;
  for (;;) {
    long r = syscall(SYS_read, fd, buf + used, cap - used);
    if (r < 0 && errno == EINTR)
      continue;
    if (r < 0) { /* a directory, say: an error, not an empty rule set */
      snprintf(err, errlen, "%s: %s", label, strerror(errno));
      syscall(SYS_close, fd);
      return -1;
    }
    if (r == 0)
      break;
    used += (size_t)r;
    if (used == cap) {
      syscall(SYS_close, fd);
      snprintf(err, errlen, "%s: larger than %zu bytes", label, cap - 1);
      return -1;
    }
  }
  syscall(SYS_close, fd);
  return (long)used;
}

int sf_rules_load(const char *text, const char *text_origin, const char *path,
                  const char *label, int pipe_ok, char *buf, size_t cap, size_t *len,
                  struct sf_ruleset *rs, char *err, size_t errlen)
{
  if (text && sf_rules_parse(text, strlen(text), text_origin, rs, err, errlen) != 0)
    return -1;
  if (!path)
    return 0;
  long n = sf_read_whole(path, label, pipe_ok, buf, cap, err, errlen);
  if (n < 0)
    return -1;
  if (len)
    *len = (size_t)n;
  return sf_rules_parse(buf, (size_t)n, path, rs, err, errlen);
}

int sf_log_level_parse(const char *name)
{
  if (strcmp(name, "all") == 0)
    return 1;
  if (strcmp(name, "faults") == 0)
    return 0;
  return -1;
}
