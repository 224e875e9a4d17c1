/* Finding the next definition of each intercepted call, once, without recursion. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "state.h"

struct sf_real sf_real;

/* Raw write(2): never through our own wrapper, never stdio. */
void sf_write_all(int fd, const char *buf, size_t len)
{
  while (len > 0) {
    long w = syscall(SYS_write, fd, buf, len);
    if (w <= 0)
      return; /* a broken stderr or log must not take the program down */
    buf += w;
    len -= (size_t)w;
  }
}

void sf_note(const char *a, const char *b, const char *c)
{
  char msg[1024];
  size_t n = 0;
  const char *parts[] = {"sockfault: ", a, b, c, "\n"};
  for (size_t i = 0; i < sizeof parts / sizeof parts[0]; i++) {
    if (!parts[i])
      continue;
    size_t l = strlen(parts[i]);
    if (l > sizeof msg - n)
      l = sizeof msg - n;
    memcpy(msg + n, parts[i], l);
    n += l;
  }
  sf_write_all(2, msg, n);
}

void sf_die(int status, const char *msg)
{
  sf_note(msg, NULL, NULL);
  _exit(status);
}

void sf_real_resolve(void)
{
  /* dlsym may allocate; it never makes socket calls, so no guard is needed here. */
#define SF_CALL(name, ret, params, args, fail, ctx, kind, errnos)                           \
  if (sf_real.name == NULL) {                                                         \
    void *sym = dlsym(RTLD_NEXT, #name);                                              \
    memcpy(&sf_real.name, &sym, sizeof sym);                                          \
  }
#include "calls.def"
#undef SF_CALL
}

void *sf_real_lookup(const char *name) { return dlsym(RTLD_NEXT, name); }
