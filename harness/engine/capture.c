/* Bounded capture of a child's output (capture.h). */
#define _GNU_SOURCE
#include "capture.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const struct {
  const char *pattern, *name;
} sf_sanitizers[] = {
    {"ERROR: AddressSanitizer", "AddressSanitizer"},
    {"ERROR: LeakSanitizer", "LeakSanitizer"},
    {"ERROR: MemorySanitizer", "MemorySanitizer"},
    {"WARNING: ThreadSanitizer", "ThreadSanitizer"},
    {"SUMMARY: UndefinedBehaviorSanitizer", "UndefinedBehaviorSanitizer"},
    {": runtime error: ", "UndefinedBehaviorSanitizer"},
};

int sf_echo_errno;

void sf_capture_init(struct sf_capture *c, bool scan_sanitizer, int echo_fd)
{
  memset(c, 0, sizeof *c);
  c->hash = UINT64_C(0xcbf29ce484222325);
  c->scan_sanitizer = scan_sanitizer;
  c->echo_fd = echo_fd;
}

static void sf_scan(struct sf_capture *c, const char *buf, size_t len)
{
  char win[64 + 4096];
  for (size_t off = 0; off < len && !c->sanitizer;) {
    size_t take = len - off < 4096 ? len - off : 4096;
    memcpy(win, c->carry, c->carry_len);
    memcpy(win + c->carry_len, buf + off, take);
    size_t wl = c->carry_len + take;
    for (size_t i = 0; i < sizeof sf_sanitizers / sizeof sf_sanitizers[0]; i++)
      if (memmem(win, wl, sf_sanitizers[i].pattern, strlen(sf_sanitizers[i].pattern))) {
        c->sanitizer = sf_sanitizers[i].name;
        break;
      }
    size_t keep = wl < 40 ? wl : 40; /* longer than any pattern */
    memmove(c->carry, win + wl - keep, keep);
    c->carry_len = keep;
    off += take;
  }
}

#define SF_FNV_OFFSET UINT64_C(0xcbf29ce484222325)

static uint64_t sf_fnv_byte(uint64_t h, unsigned char b)
{
  return (h ^ b) * UINT64_C(0x100000001b3);
}

bool sf_lines_has(const struct sf_lines *l, uint64_t h)
{
  for (unsigned i = 0; i < l->n; i++)
    if (l->h[i] == h)
      return true;
  return false;
}

static void sf_lines_add(struct sf_lines *l, uint64_t h)
{
  if (sf_lines_has(l, h))
    return;
  if (l->n < SF_LINES_MAX)
    l->h[l->n++] = h;
  else
    l->over = true;
}

void sf_lines_end(struct sf_lines *l)
{
  if (l->open)
    sf_lines_add(l, l->cur);
  l->open = l->digit = false;
}

void sf_lines_feed(struct sf_lines *l, const char *buf, size_t len)
{
  for (size_t i = 0; i < len; i++) {
    unsigned char b = (unsigned char)buf[i];
    if (b == '\n') {
      sf_lines_end(l);
      continue;
    }
    if (!l->open)
      l->cur = SF_FNV_OFFSET, l->open = true, l->digit = false;
    if (b == '\r')
      continue;
    bool d = b >= '0' && b <= '9';
    if (!(d && l->digit))
      l->cur = sf_fnv_byte(l->cur, d ? '0' : b);
    l->digit = d;
  }
}

uint64_t sf_line_hash(const char *s, size_t len)
{
  struct sf_lines l = {.n = 0};
  sf_lines_feed(&l, s, len);
  return l.open ? l.cur : SF_FNV_OFFSET;
}

void sf_lines_merge(struct sf_lines *into, const struct sf_lines *from)
{
  for (unsigned i = 0; i < from->n; i++)
    sf_lines_add(into, from->h[i]);
  into->over = into->over || from->over;
}

void sf_capture_feed(struct sf_capture *c, const char *buf, size_t len)
{
  sf_lines_feed(&c->lines, buf, len);
  const unsigned char *u = (const unsigned char *)buf;
  for (size_t i = 0; i < len; i++) {
    c->hash ^= u[i];
    c->hash *= UINT64_C(0x100000001b3);
  }
  c->bytes += len;
  if (c->scan_sanitizer)
    sf_scan(c, buf, len);
  if (c->echo_fd >= 0) {
    for (size_t off = 0; off < len;) {
      ssize_t w = write(c->echo_fd, buf + off, len - off);
      if (w < 0 && errno == EINTR)
        continue;
      if (w <= 0) {
        if (c->echo_fd == 1 && !sf_echo_errno)
          sf_echo_errno = w < 0 ? errno : EIO;
        break;
      }
      off += (size_t)w;
    }
  }
  if (len >= SF_TAIL_MAX) {
    memcpy(c->tail, buf + len - SF_TAIL_MAX, SF_TAIL_MAX);
    c->tail_len = SF_TAIL_MAX;
    c->tail_pos = 0;
    return;
  }
  for (size_t i = 0; i < len; i++) {
    c->tail[c->tail_pos] = buf[i];
    c->tail_pos = (c->tail_pos + 1) % SF_TAIL_MAX;
  }
  c->tail_len = c->tail_len + len > SF_TAIL_MAX ? SF_TAIL_MAX : c->tail_len + len;
}

char *sf_capture_tail(const struct sf_capture *c)
{
  char *s = malloc(c->tail_len + 1);
  if (!s)
    return NULL;
  size_t start = (c->tail_pos + SF_TAIL_MAX - c->tail_len) % SF_TAIL_MAX;
  for (size_t i = 0; i < c->tail_len; i++)
    s[i] = c->tail[(start + i) % SF_TAIL_MAX];
  s[c->tail_len] = '\0';
  /* NULs would cut the string short in every writer: show them as '?' */
  for (size_t i = 0; i < c->tail_len; i++)
    if (s[i] == '\0')
      s[i] = '?';
  return s;
}

void sf_capture_hex(const struct sf_capture *c, char out[17])
{
  snprintf(out, 17, "%016llx", (unsigned long long)c->hash);
}

int sf_capture_read(struct sf_capture *c, int fd)
{
  char buf[16384];
  for (int rounds = 0; rounds < 64; rounds++) { /* bounded: a flood waits for the next poll */
    ssize_t n = read(fd, buf, sizeof buf);
    if (n > 0) {
      sf_capture_feed(c, buf, (size_t)n);
      continue;
    }
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0 && errno == EAGAIN)
      return 0;
    return 1;
  }
  return 2;
}
