/* A send() that returns at once, linked into sfbench_null ahead of libc: interposers find it
 * with dlsym(RTLD_NEXT), so the null loop times the interposition itself and no kernel. */
#include <sys/socket.h>
#include <sys/types.h>

__attribute__((visibility("default"))) ssize_t send(int fd, const void *buf, size_t len, int flags)
{
  (void)fd, (void)buf, (void)flags;
  return (ssize_t)len;
}
