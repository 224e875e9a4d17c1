/* SOCKFAULT_LOG_CONTEXT=2 (shim/caller.c): each call record names the call site's caller,
 * read through the calling function's frame pointer, and a frame pointer that is not one —
 * null, misaligned, below the stack pointer, too far above it, on an unmapped page just
 * above the stack — gives "?" instead of a fault. Runs with libsockfault.so preloaded and
 * SOCKFAULT_LOG (its path in argv[1]) with SOCKFAULT_LOG_CONTEXT=2; x86-64 only (the frame
 * pointer is set by hand around the call), elsewhere it exits 77 (skipped). */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "check.h"

#if defined(__x86_64__)

/* socket(AF_INET, SOCK_STREAM, 0) called with rbp = fp, as from a function whose frame
 * pointer is fp; the stack is 16-aligned at the call, rbp and rbx are restored. */
__attribute__((noinline)) static int socket_with_fp(uintptr_t fp)
{
  long r;
  __asm__ volatile("push %%rbp\n\t"
                   "push %%rbx\n\t"
                   "mov %%rsp, %%rbx\n\t"
                   "and $-16, %%rsp\n\t"
                   "mov %1, %%rbp\n\t"
                   "mov $2, %%edi\n\t"
                   "mov $1, %%esi\n\t"
                   "xor %%edx, %%edx\n\t"
                   "call socket@PLT\n\t"
                   "mov %%rbx, %%rsp\n\t"
                   "pop %%rbx\n\t"
                   "pop %%rbp\n\t"
                   : "=a"(r)
                   : "r"(fp)
                   : "rbx", "rcx", "rdx", "rsi", "rdi", "r8", "r9", "r10", "r11", "memory",
                     "cc");
  return (int)r;
}

/* A helper called from two places: one call site, two callers. None of the calls may be a
 * tail call (a jump leaves no frame: the caller named would be one further up), hence the
 * stores after them. */
static volatile int sink;
__attribute__((noinline)) static int helper(void)
{
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sink = fd;
  return fd;
}
__attribute__((noinline)) static int path_a(void)
{
  int fd = helper();
  sink = 1;
  return fd;
}
__attribute__((noinline)) static int path_b(void)
{
  int fd = helper();
  sink = 2;
  return fd;
}

/* An address in this program, for the frame record made by hand. */
__attribute__((noinline)) static void anchor(void) { __asm__ volatile(""); }

/* The end of the [stack] mapping, and whether the page after it is unmapped. */
static uintptr_t stack_end(int *free_after)
{
  FILE *f = fopen("/proc/self/maps", "r");
  char line[512];
  uintptr_t end = 0, next = 0;
  unsigned long a, b;
  while (f && fgets(line, sizeof line, f)) {
    if (sscanf(line, "%lx-%lx", &a, &b) != 2)
      continue;
    if (end && !next)
      next = a;
    if (strstr(line, "[stack]"))
      end = b;
  }
  if (f)
    fclose(f);
  *free_after = end && (next == 0 || next > end + 4096);
  return end;
}

/* The caller the log gave the socket call that returned fd: into out, "" if none. */
static void logged_caller(const char *log, int fd, char *out, size_t len)
{
  FILE *f = fopen(log, "r");
  char line[2048], want[32];
  out[0] = '\0';
  snprintf(want, sizeof want, "\"ret\":%d,", fd);
  while (f && fgets(line, sizeof line, f)) {
    const char *c = strstr(line, "\"caller\":\"");
    if (!strstr(line, "\"call\":\"socket\"") || !strstr(line, want) || !c)
      continue;
    c += strlen("\"caller\":\"");
    size_t n = strcspn(c, "\"");
    snprintf(out, len, "%.*s", (int)(n < len ? n : len - 1), c);
  }
  if (f)
    fclose(f);
}

/* "MODULE+0xOFF" of addr, as the shim names it. */
static void site_of(const void *addr, char *out, size_t len)
{
  Dl_info info;
  if (!dladdr(addr, &info) || !info.dli_fname) {
    snprintf(out, len, "?");
    return;
  }
  const char *base = strrchr(info.dli_fname, '/');
  snprintf(out, len, "%s+0x%lx", base ? base + 1 : info.dli_fname,
           (unsigned long)((uintptr_t)addr - (uintptr_t)info.dli_fbase));
}

int main(int argc, char **argv)
{
  if (argc != 2) {
    fprintf(stderr, "usage: test_caller LOG (with SOCKFAULT_LOG=LOG SOCKFAULT_LOG_CONTEXT=2)\n");
    return 2;
  }
  const char *log = argv[1];
  if (truncate(log, 0) != 0) { /* the records of an earlier run have the same fds */
    perror(log);
    return 1;
  }
  int free_after;
  uintptr_t end = stack_end(&free_after);
  uintptr_t here = (uintptr_t)__builtin_frame_address(0);
  /* a frame record of our own on the stack: {next, return address} */
  uintptr_t rec[4] __attribute__((aligned(16))) = {0, (uintptr_t)&anchor + 1, 0, 0};
  int fds[8], nfds = 0;
  struct {
    const char *what;
    int fd;
    const char *expect; /* NULL: a module address (checked apart) */
  } cases[] = {
      {"null frame", socket_with_fp(0), "?"},
      {"misaligned frame", socket_with_fp(here + 8 + 3), "?"},
      {"frame below the stack pointer", socket_with_fp((here - 4096) & ~(uintptr_t)15), "?"},
      {"frame 16 MiB above", socket_with_fp((here + (16u << 20)) & ~(uintptr_t)15), "?"},
      {"frame record of our own", socket_with_fp((uintptr_t)rec), NULL},
  };
  size_t ncases = sizeof cases / sizeof cases[0];
  int unmapped = -1;
  if (free_after && end > here && end + 4096 - here < (8u << 20))
    unmapped = socket_with_fp(end + 64); /* passes the checks; the read fails (EFAULT) */
  int a = path_a(), b = path_b();
  char got[160], want[160];
  for (size_t i = 0; i < ncases; i++) {
    CHECK(cases[i].fd >= 0);
    logged_caller(log, cases[i].fd, got, sizeof got);
    if (cases[i].expect) {
      if (strcmp(got, cases[i].expect) != 0)
        fprintf(stderr, "%s: caller \"%s\"\n", cases[i].what, got);
      CHECK_STR(got, cases[i].expect);
    }
    fds[nfds++] = cases[i].fd;
  }
  logged_caller(log, cases[ncases - 1].fd, got, sizeof got);
  site_of((const void *)rec[1], want, sizeof want);
  CHECK_STR(got, want);
  if (unmapped >= 0) {
    logged_caller(log, unmapped, got, sizeof got);
    CHECK_STR(got, "?");
  } else {
    fprintf(stderr, "note: no unmapped page within reach above the stack; that case not run\n");
  }
  /* one helper, two paths: the same site, two callers, both in this program */
  char ca[160], cb[160];
  logged_caller(log, a, ca, sizeof ca);
  logged_caller(log, b, cb, sizeof cb);
  CHECK(ca[0] && ca[0] != '?' && strstr(ca, "test_caller+0x") == ca);
  CHECK(cb[0] && cb[0] != '?' && strstr(cb, "test_caller+0x") == cb);
  CHECK(strcmp(ca, cb) != 0);
  for (int i = 0; i < nfds; i++)
    close(fds[i]);
  close(a);
  close(b);
  if (unmapped >= 0)
    close(unmapped);
  CHECK_DONE();
}

#else
int main(void)
{
  fprintf(stderr, "test_caller: x86-64 only (the frame pointer is set by hand); skipped\n");
  return 77;
}
#endif
