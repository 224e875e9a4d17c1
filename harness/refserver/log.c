/* log.c — rate-limited diagnostics on stderr. Single-threaded by design, as is the
 * server: the state below is not locked. */
#define _GNU_SOURCE /* strerrorname_np */
#include "log.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

/* One entry per call site (format string), for sites seen so far. A site past the
 * table shares the last entry: still rate-limited, only less precisely. */
struct site {
  const char *fmt;
  int64_t window_start_ms;
  unsigned printed;     /* in this window */
  unsigned long hidden; /* suppressed in this window */
};

#define SITES 64
static struct site sites[SITES];
static unsigned nsites;
static bool quiet;

void rs_log_set_quiet(bool q) { quiet = q; }

static int64_t now_ms(void)
{
  struct timespec ts;
  if (clock_gettime(CLOCK_MONOTONIC, &ts) != 0) /* EINVAL only: no monotonic clock */
    return 0;
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static struct site *site_for(const char *fmt)
{
  for (unsigned i = 0; i < nsites; i++)
    if (sites[i].fmt == fmt)
      return &sites[i];
  if (nsites < SITES) {
    sites[nsites].fmt = fmt;
    return &sites[nsites++];
  }
  return &sites[SITES - 1];
}

void rs_log(const char *fmt, ...)
{
  if (quiet)
    return;
  struct site *s = site_for(fmt);
  int64_t now = now_ms();
  if (s->printed == 0 || now - s->window_start_ms >= RS_LOG_WINDOW_MS) {
    if (s->hidden > 0)
      fprintf(stderr, "refserver: (%lu similar messages suppressed)\n", s->hidden);
    s->window_start_ms = now;
    s->printed = 0;
    s->hidden = 0;
  }
  if (s->printed >= RS_LOG_BURST) {
    s->hidden++;
    return;
  }
  s->printed++;

  va_list ap;
  va_start(ap, fmt);
  fputs("refserver: ", stderr);
  vfprintf(stderr, fmt, ap);
  if (s->printed == RS_LOG_BURST)
    fputs(" (further messages like this suppressed for a while)", stderr);
  fputc('\n', stderr);
  va_end(ap);
}

const char *rs_errname(int err)
{
#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 32))
  const char *name = strerrorname_np(err);
  if (name != NULL)
    return name;
#endif
  static char buf[32];
  snprintf(buf, sizeof buf, "errno %d", err);
  return buf;
}
