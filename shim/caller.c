/* The caller of a call site (caller.h), read through the frame pointer of the function that
 * made the call.
 *
 * Not __builtin_return_address(1): it dereferences that frame pointer blindly, and in a
 * function built without frame pointers the register holds anything (SIGSEGV in the
 * program's own code, under our name). Not backtrace(3) or _Unwind_Backtrace: their first
 * use dlopens libgcc_s and allocates, and every use walks dl_iterate_phdr under the loader's
 * lock — not in a signal handler, not between fork and exec. Not libunwind: a new dependency
 * in every program, with the same dl_iterate_phdr lock unless fed a cache. One frame up is
 * all --context 2 needs, so: check the candidate frame against the stack (aligned, above the
 * current stack pointer, within 8 MiB of it) and read its return address with
 * process_vm_readv(2) on ourselves, which fails with EFAULT on an unmapped address instead
 * of faulting — a system call, async-signal-safe, no lock, no allocation.
 *
 * What it cannot see: a function built without frame pointers (most -O2 code before the
 * distributions' 2023-24 switch to -fno-omit-frame-pointer) leaves in the register what its
 * caller's caller had, or data: the logged caller is then "?" or a frame further up —
 * the same for every run of the same program, so the search still counts it consistently,
 * only less finely. A function inlined into its callers is already two call sites.
 */
#define _GNU_SOURCE
#include "caller.h"

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#include "site.h"

#define SF_STACK_REACH ((uintptr_t)8 << 20) /* a frame this far above us is not this stack's */

/* *out = the word at addr, without faulting: 0, or -1 (unmapped, or the call refused). */
static int sf_peek(const void *addr, uintptr_t *out)
{
  struct iovec local = {.iov_base = out, .iov_len = sizeof *out};
  struct iovec remote = {.iov_base = (void *)(uintptr_t)addr, .iov_len = sizeof *out};
  long n = syscall(SYS_process_vm_readv, (long)getpid(), &local, 1L, &remote, 1L, 0L);
  return n == (long)sizeof *out ? 0 : -1;
}

__attribute__((noinline)) size_t sf_caller_format(const void *frame, char *buf, size_t len)
{
  int saved = errno;
  uintptr_t here = (uintptr_t)__builtin_frame_address(0), f = (uintptr_t)frame, ret = 0;
  bool ok = f != 0 && f % (2 * sizeof(void *)) == 0 && f > here && f - here < SF_STACK_REACH &&
            sf_peek((const void *)(f + sizeof(void *)), &ret) == 0 && ret != 0;
  size_t n = 0;
  if (ok) {
    const char *sym;
    n = sf_site_format((const void *)ret, buf, len, &sym);
    ok = n > 0 && buf[0] != '?'; /* in no module: an address that differs every run */
  }
  if (!ok && len >= 2) {
    buf[0] = '?';
    buf[1] = '\0';
    n = 1;
  }
  errno = saved;
  return n;
}
