/*
 * schedule — how fuzz_faults reads its input: a fault schedule, then a client byte stream.
 *
 *   byte 0          bits 0-2  number of faults (at most SCHED_MAX_FAULTS)
 *                   bit  3    connection: 0 socketpair adopted by the server, 1 loopback TCP
 *                             through the server's listener (accept4 and setsockopt in play)
 *                   bits 4-7  size of the chunks the client writes (sched_chunks[])
 *   3 bytes a fault call       index into sched_calls[] (modulo)
 *                   occurrence bits 0-3: N = 1..16; bit 7: from the Nth on ("N+"), else once
 *                   errno      index into the call's documented errnos (calls.def, modulo)
 *   the rest        the client's byte stream (at most SCHED_STREAM_MAX bytes are used)
 *
 * Every input is a valid schedule, and only documented errnos are ever injected. The rule
 * text is the shim's own language, e.g. "recv:error=ECONNRESET:when=3;accept4:error=EMFILE:when=1".
 */
#ifndef SF_FUZZ_SCHEDULE_H
#define SF_FUZZ_SCHEDULE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SCHED_MAX_FAULTS 7
#define SCHED_STREAM_MAX 16384

struct sched_fault {
  int call;      /* sf_calls[] id */
  int err;       /* a documented errno of that call */
  unsigned when; /* 1-based occurrence */
  bool onward;   /* every occurrence from `when` on */
};

struct schedule {
  unsigned nfaults;
  struct sched_fault fault[SCHED_MAX_FAULTS];
  bool loopback;
  size_t chunk;
  const char *stream;
  size_t stream_len;
  char rules[SCHED_MAX_FAULTS * 64 + 1]; /* the faults as rule text */
};

/* The calls the server makes once it runs (start-up calls are not faulted). */
extern const char *const sched_calls[];
extern const unsigned sched_ncalls;

/* Decode an input; never fails (missing bytes read as zero). */
void sched_decode(struct schedule *s, const uint8_t *data, size_t size);

/* True if no fault of the schedule may cost the client a reply: each hits once and is
 * one the server must ride out without losing data (at most two transient recv/send
 * errnos, EINTR or EAGAIN; any accept, shutdown or close failure). */
bool sched_lossless(const struct schedule *s);

#endif
