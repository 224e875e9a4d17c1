/* Small text helpers (text.h). */
#define _GNU_SOURCE
#include "text.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *sf_signal_name(int sig, char *buf, size_t len)
{
  const char *abbrev = sigabbrev_np(sig);
  if (abbrev)
    snprintf(buf, len, "SIG%s", abbrev);
  else
    snprintf(buf, len, "signal %d", sig);
  return buf;
}

char *sf_subst(const char *s, int port, const char *tmp)
{
  char portstr[16];
  snprintf(portstr, sizeof portstr, "%d", port);
  size_t pl = strlen(portstr), tl = strlen(tmp), n = 0;
  size_t cap = strlen(s) + 1;
  for (const char *p = s; (p = strchr(p, '{')) != NULL; p++)
    cap += pl + tl; /* generous: every brace could open a placeholder */
  char *out = malloc(cap);
  if (!out)
    return NULL;
  for (const char *p = s; *p;) {
    if (strncmp(p, "{port}", 6) == 0) {
      memcpy(out + n, portstr, pl);
      n += pl;
      p += 6;
    } else if (strncmp(p, "{tmp}", 5) == 0) {
      memcpy(out + n, tmp, tl);
      n += tl;
      p += 5;
    } else {
      out[n++] = *p++;
    }
  }
  out[n] = '\0';
  return out;
}
