/* A program whose malloc makes socket calls, with no recursion guard of its own: if the
 * shim allocated on its interception path or while initialising (dlsym, dladdr, getenv,
 * pthread_atfork), it would recurse into itself. malloc is a bump allocator over a static
 * arena, so the program needs nothing from libc's allocator.
 *   rel_malloc N     N rounds of strdup/free and socket(); prints
 *                    "before-main:MALLOCS work:OK inner:CALLS:FAILS" */
#define _GNU_SOURCE
#include <errno.h>
#include <malloc.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static _Alignas(64) unsigned char arena[32 << 20];
static atomic_size_t used;
static atomic_long mallocs, inner_calls, inner_fails;
static long before_main;

struct head {
  size_t size;
  size_t pad;
};

static void *bump(size_t size, size_t align)
{
  if (align < 16)
    align = 16;
  for (;;) {
    size_t old = atomic_load(&used);
    size_t start = (old + sizeof(struct head) + align - 1) & ~(align - 1);
    size_t end = start + size;
    if (end > sizeof arena)
      return NULL;
    if (atomic_compare_exchange_weak(&used, &old, end)) {
      ((struct head *)(void *)(arena + start))[-1].size = size;
      return arena + start;
    }
  }
}

/* the hostile part: every allocation makes an intercepted socket call */
static void *hostile_alloc(size_t size, size_t align)
{
  atomic_fetch_add(&mallocs, 1);
  int fd = socket(AF_UNIX, SOCK_DGRAM, 0);
  atomic_fetch_add(&inner_calls, 1);
  if (fd >= 0)
    close(fd);
  else
    atomic_fetch_add(&inner_fails, 1);
  void *p = bump(size, align);
  if (!p)
    errno = ENOMEM;
  return p;
}

void *malloc(size_t size) { return hostile_alloc(size, 16); }
void free(void *p) { (void)p; }
void *calloc(size_t n, size_t size)
{
  if (size && n > SIZE_MAX / size)
    return NULL;
  return hostile_alloc(n * size, 16); /* the arena is zeroed and never reused */
}
void *realloc(void *p, size_t size)
{
  void *q = hostile_alloc(size, 16);
  if (p && q) {
    size_t old = ((struct head *)p)[-1].size;
    memcpy(q, p, old < size ? old : size);
  }
  return q;
}
void *aligned_alloc(size_t align, size_t size) { return hostile_alloc(size, align); }
void *memalign(size_t align, size_t size) { return hostile_alloc(size, align); }
int posix_memalign(void **out, size_t align, size_t size)
{
  void *p = hostile_alloc(size, align);
  if (!p)
    return ENOMEM;
  *out = p;
  return 0;
}
void *valloc(size_t size) { return hostile_alloc(size, 4096); }
void *pvalloc(size_t size) { return hostile_alloc((size + 4095) & ~(size_t)4095, 4096); }
size_t malloc_usable_size(void *p) { return p ? ((struct head *)p)[-1].size : 0; }

__attribute__((constructor(101))) static void first(void) { before_main = atomic_load(&mallocs); }

int main(int argc, char **argv)
{
  long n = argc > 1 ? atol(argv[1]) : 100;
  long before = before_main;
  int ok = 1;
  for (long i = 0; i < n; i++) {
    /* through a volatile pointer, or the compiler elides the allocation */
    void *(*volatile alloc)(size_t) = malloc;
    char *s = alloc(32);
    if (!s)
      ok = 0;
    else
      snprintf(s, 32, "%ld", i);
    free(s);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd >= 0)
      close(fd);
  }
  printf("before-main:%ld work:%s inner:%ld:%ld\n", before, ok ? "ok" : "bad",
         atomic_load(&inner_calls), atomic_load(&inner_fails));
  return ok ? 0 : 1;
}
