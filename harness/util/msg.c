/* Messages on stderr (msg.h). */
#define _GNU_SOURCE
#include "msg.h"

#include <stdarg.h>
#include <stdio.h>

static bool sf_status_on;

void sf_status_shown(bool shown) { sf_status_on = shown; }

void sf_warn(const char *fmt, ...)
{
  if (sf_status_on)
    fputs("\r\033[K", stderr);
  sf_status_on = false;
  va_list ap;
  va_start(ap, fmt);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fflush(stderr);
}

void sf_err(const char *verb, const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  fprintf(stderr, "sockfault%s%s: ", verb ? " " : "", verb ? verb : "");
  vfprintf(stderr, fmt, ap);
  fputc('\n', stderr);
  va_end(ap);
}
