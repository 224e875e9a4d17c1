/* The option and message helpers the verbs share (options.h). */
#define _GNU_SOURCE
#include "options.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "load.h"
#include "sockfault/exit.h"

void sf_opt_err(const char *verb, const char *fmt, ...)
{
  const char *sp = verb ? " " : "", *v = verb ? verb : "";
  va_list ap;
  va_start(ap, fmt);
  fprintf(stderr, "sockfault%s%s: ", sp, v);
  vfprintf(stderr, fmt, ap);
  fprintf(stderr, " (see 'sockfault%s%s --help')\n", sp, v);
  va_end(ap);
}

int sf_bad_option(const char *verb, int argc, char **argv, int optind_before)
{
  const char *tok = optind_before < argc ? argv[optind_before] : "?";
  /* a long option is always stepped over, and a permuting getopt may have skipped
   * operands before it: the bad option is the argument just before optind */
  if (optind > optind_before && optind - 1 < argc && strncmp(argv[optind - 1], "--", 2) == 0)
    tok = argv[optind - 1];
  /* a long option: getopt leaves optopt 0 when unknown (or ambiguous), else its value */
  if (strncmp(tok, "--", 2) == 0 && tok[2]) {
    const char *eq = strchr(tok, '=');
    if (!optopt)
      sf_opt_err(verb, "unknown option '%s'", tok);
    else if (eq)
      sf_opt_err(verb, "option '%.*s' takes no value (got '%s')", (int)(eq - tok), tok, tok);
    else
      sf_opt_err(verb, "option '%s' needs a value", tok);
  } else if (optopt && optopt != '?') {
    sf_opt_err(verb, "option '-%c' is unknown or needs a value", optopt);
  } else {
    sf_opt_err(verb, "bad option '%s'", tok);
  }
  return SOCKFAULT_EXIT_USAGE;
}

int sf_check_output(const char *verb, const char *opt, const char *path)
{
  struct stat st;
  if (strcmp(path, "-") == 0)
    return 0;
  if (!path[0]) {
    sf_opt_err(verb, "%s '': an empty file name", opt);
    return -1;
  }
  if (stat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
    sf_opt_err(verb, "%s '%s': is a directory", opt, path);
    return -1;
  }
  if (stat(path, &st) == 0) {
    char label[PATH_MAX + 40], why[PATH_MAX + 200];
    snprintf(label, sizeof label, "%s '%s'", opt, path);
    if (sf_fifo_check(path, st.st_mode, label, 1, "give a file, or - for stdout", why,
                      sizeof why) != 0) {
      sf_opt_err(verb, "%s", why);
      return -1;
    }
    if (access(path, W_OK) != 0) {
      sf_opt_err(verb, "%s '%s': %s", opt, path, strerror(errno));
      return -1;
    }
    return 0;
  }
  char dir[PATH_MAX];
  snprintf(dir, sizeof dir, "%s", path);
  char *slash = strrchr(dir, '/');
  if (!slash)
    snprintf(dir, sizeof dir, ".");
  else if (slash == dir)
    dir[1] = '\0';
  else
    *slash = '\0';
  if (access(dir, W_OK | X_OK) != 0) {
    sf_opt_err(verb, "%s '%s': cannot create it in '%s': %s", opt, path, dir, strerror(errno));
    return -1;
  }
  return 0;
}

int sf_parse_seconds(const char *verb, const char *opt, const char *s, long long *ms)
{
  size_t digits = 0, dots = 0, i = 0;
  for (; s[i]; i++) {
    if (s[i] >= '0' && s[i] <= '9')
      digits++;
    else if (s[i] != '.' || dots++)
      break;
  }
  double v = digits && !s[i] ? strtod(s, NULL) : -1;
  if (!(v >= 0.05 && v <= 86400)) {
    sf_opt_err(verb, "%s '%s': expected seconds from 0.05 to 86400", opt, s);
    return -1;
  }
  *ms = (long long)(v * 1000 + 0.5);
  return 0;
}
