/* Bounded capture of a child's output: a hash of the whole stream, its tail, and the first
 * sanitizer report seen. */
#ifndef SF_CAPTURE_H
#define SF_CAPTURE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* What a child printed: a hash of the whole stream and a bounded tail. */
#define SF_TAIL_MAX 4096
struct sf_capture {
  uint64_t hash;                 /* FNV-1a 64 over every byte */
  unsigned long long bytes;
  char tail[SF_TAIL_MAX];        /* ring buffer of the last bytes */
  size_t tail_len, tail_pos;
  char carry[64];                /* end of the previous chunk, for patterns split by reads */
  size_t carry_len;
  const char *sanitizer;         /* name of the first sanitizer report seen, or NULL */
  bool scan_sanitizer;
  int echo_fd;                   /* copy everything here as it arrives, or -1 */
};
void sf_capture_init(struct sf_capture *c, bool scan_sanitizer, int echo_fd);
/* The errno of the first echo to fd 1 that failed (replay's stdout full or closed), or 0:
 * the verb's end turns it into exit 7, as for its own writes to stdout. */
extern int sf_echo_errno;
void sf_capture_feed(struct sf_capture *c, const char *buf, size_t len);
/* The tail as a malloc'd string (NULL when out of memory). */
char *sf_capture_tail(const struct sf_capture *c);
void sf_capture_hex(const struct sf_capture *c, char out[17]);
/* Read what fd has now (non-blocking) into c: 1 at EOF or error, 0 when drained, 2 when
 * more may be waiting (reads are bounded per call so one flood cannot starve the rest). */
int sf_capture_read(struct sf_capture *c, int fd);

#endif
