/* The caller of a call site (SOCKFAULT_LOG_CONTEXT=2): the return address one frame above
 * the function that made the intercepted call, read through that function's frame pointer.
 * docs/explore.md ("--context 2") says why this way and what it cannot see. */
#ifndef SF_CALLER_H
#define SF_CALLER_H

#include <stddef.h>

/*
 * The frame pointer of the function that called the wrapper, taken in sf_slow_NAME (built
 * with frame pointers, as is the whole shim): when the wrapper tail-called it (its return
 * address is the call site) sf_slow's own saved frame pointer is that function's; when the
 * wrapper called it (a call with stack arguments), the wrapper's frame holds it. Both reads
 * are of the shim's own frames on the current stack: they cannot fault. (Not
 * __builtin_frame_address(1), which gcc calls unsafe: it does not know our frames have
 * pointers.)
 */
#define SF_CALLER_FRAME(site)                                                              \
  sf_frame_up(__builtin_frame_address(0), __builtin_return_address(0) == (site) ? 1 : 2)

/* The frame pointer k records up from frame fp (a frame record: {next, return address}). */
static inline const void *sf_frame_up(const void *fp, int k)
{
  while (fp && k-- > 0)
    fp = *(const void *const *)fp;
  return fp;
}

/* The return address saved in frame (the caller's frame record: {next frame, return
 * address}) as "MODULE+0xOFF" into buf, or "?" when frame does not look like one of this
 * stack's frames, cannot be read, or the address is in no module. No allocation, no lock
 * but dladdr's (as for the site), no stdio; errno kept. Returns the length. */
size_t sf_caller_format(const void *frame, char *buf, size_t len)
    __attribute__((visibility("hidden")));

#endif
