/* schedule.c — fuzz_faults' input format (schedule.h). */
#include "schedule.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "fuzz_check.h"
#include "table.h"

const char *const sched_calls[] = {"recv", "send", "accept4", "accept", "setsockopt",
                                   "shutdown", "close"};
const unsigned sched_ncalls = sizeof sched_calls / sizeof sched_calls[0];

static const size_t sched_chunks[16] = {1, 2, 3, 5, 8, 13, 16, 32,
                                        64, 100, 200, 512, 1024, 1500, 4096, SCHED_STREAM_MAX};

void sched_decode(struct schedule *s, const uint8_t *data, size_t size)
{
  size_t at = 0;
  uint8_t head = size > 0 ? data[at++] : 0;
  memset(s, 0, sizeof *s);
  s->nfaults = head & 7;
  s->loopback = (head >> 3) & 1;
  s->chunk = sched_chunks[head >> 4];
  size_t used = 0;
  for (unsigned i = 0; i < s->nfaults; i++) {
    uint8_t b[3] = {0, 0, 0};
    for (int k = 0; k < 3; k++)
      b[k] = at < size ? data[at++] : 0;
    struct sched_fault *f = &s->fault[i];
    f->call = sf_call_lookup(sched_calls[b[0] % sched_ncalls], strlen(sched_calls[b[0] % sched_ncalls]));
    FZ_CHECK(f->call >= 0, "call '%s' is not in calls.def", sched_calls[b[0] % sched_ncalls]);
    f->when = 1u + (b[1] & 15u);
    f->onward = (b[1] & 0x80) != 0;
    f->err = sf_calls[f->call].errnos[b[2] % sf_calls[f->call].nerrnos].err;
    int w = snprintf(s->rules + used, sizeof s->rules - used, "%s%s:error=%s:when=%u%s",
                     i ? ";" : "", sf_calls[f->call].name, sf_errno_name(f->err), f->when,
                     f->onward ? "+" : "");
    FZ_CHECK(w > 0 && (size_t)w < sizeof s->rules - used, "rule text too long");
    used += (size_t)w;
  }
  s->stream = (const char *)data + at;
  s->stream_len = size - at;
  if (s->stream_len > SCHED_STREAM_MAX)
    s->stream_len = SCHED_STREAM_MAX;
}

bool sched_lossless(const struct schedule *s)
{
  unsigned transient = 0;
  for (unsigned i = 0; i < s->nfaults; i++) {
    const struct sched_fault *f = &s->fault[i];
    /* A failed TCP_NODELAY brings Nagle back: replies wait for ACKs, in wall-clock time. */
    if (f->onward || f->call == SF_ID_setsockopt)
      return false;
    if (f->call == SF_ID_recv || f->call == SF_ID_send) {
      if (f->err != EINTR && f->err != EAGAIN)
        return false;
      transient++;
    }
  }
  /* Three fruitless rounds in a row pause a connection for RS_RETRY_PAUSE_MS of wall-clock
   * time, which a bounded run does not wait for: that is a delay, not a loss. */
  return transient < 3;
}
