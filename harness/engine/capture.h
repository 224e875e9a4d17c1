/* Bounded capture of a child's output: a hash of the whole stream, its tail, and the first
 * sanitizer report seen. */
#ifndef SF_CAPTURE_H
#define SF_CAPTURE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The distinct lines a child printed, as hashes, for "did it say anything new": digits are
 * hashed as one '0' a run, so that a pid or a time stamp does not make a line new. */
#define SF_LINES_MAX 64
struct sf_lines {
  uint64_t h[SF_LINES_MAX];
  unsigned n;
  bool over;                     /* more distinct lines than kept: not all are known */
  uint64_t cur;                  /* the line being read */
  bool open, digit;
};
void sf_lines_feed(struct sf_lines *l, const char *buf, size_t len);
/* End the line being read, if any (at EOF). */
void sf_lines_end(struct sf_lines *l);
bool sf_lines_has(const struct sf_lines *l, uint64_t h);
/* Add every line of from to into (dropping what does not fit, saying so). */
void sf_lines_merge(struct sf_lines *into, const struct sf_lines *from);
/* The hash of one line (no newline) as sf_lines_feed computes it. */
uint64_t sf_line_hash(const char *s, size_t len);

/* What a child printed: a hash of the whole stream, its lines and a bounded tail. */
#define SF_TAIL_MAX 4096
struct sf_capture {
  struct sf_lines lines;
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
