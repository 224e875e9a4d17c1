/*
 * The physical limit of interposition: every call of shim/calls.def wrapped the simplest
 * way, the next definition found once by dlsym(RTLD_NEXT) in a constructor and tail-called.
 * The benchmark preloads it as the "minimal" mode. Same headers and no _GNU_SOURCE, as in
 * shim/wrappers.c, so the prototypes are the plain POSIX ones.
 */
#undef _FORTIFY_SOURCE
#define _DEFAULT_SOURCE
#include <dlfcn.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <unistd.h>

int accept4(int fd, struct sockaddr *restrict addr, socklen_t *restrict len, int flags);

#define SF_CALL(name, ret, params, args, fail, ctx, kind, errnos)                                \
  static ret(*real_##name) params;                                                         \
  __attribute__((visibility("default"))) ret name params { return real_##name args; }
#include "calls.def"
#undef SF_CALL

__attribute__((constructor)) static void sb_min_resolve(void)
{
#define SF_CALL(name, ret, params, args, fail, ctx, kind, errnos)                                \
  {                                                                                        \
    void *sym = dlsym(RTLD_NEXT, #name);                                                   \
    memcpy(&real_##name, &sym, sizeof sym);                                                \
  }
#include "calls.def"
#undef SF_CALL
}
