/* Call sites through dladdr. dladdr takes the loader's lock and walks its maps: it is only used
 * when the log is on or a rule filters by site, never on the pass-through path, and once per
 * call site: what it found is kept, as text, in a small table keyed by the return address (at
 * level all the log asked it for every record, a fifth of the record's user time). */
#define _GNU_SOURCE
#include "site.h"

#include <dlfcn.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

/*
 * Open addressing, write-once: a slot's key goes from 0 (free) to 1 (being filled by one
 * thread) to the address (filled, never changed again), so a reader that sees the address
 * reads finished text without a lock. A program with more sites than fit (or a name longer
 * than a slot) asks dladdr for those, as before. A library unloaded by dlclose and another
 * mapped at the same address would be named by the first one's site: the cost of not asking.
 */
#define SF_SITE_SLOTS 256
#define SF_SITE_PROBES 8
#define SF_SITE_BUSY ((uintptr_t)1)

struct sf_site_slot {
  _Atomic uintptr_t key;
  bool has_sym;
  char site[64];
  char sym[119];
};

static struct sf_site_slot sf_sites[SF_SITE_SLOTS];

static const char *sf_basename(const char *path)
{
  const char *slash = strrchr(path, '/');
  return slash ? slash + 1 : path;
}

/* "module+0xoff" into buf (truncated to len); *sym the nearest symbol or NULL. */
static size_t sf_site_lookup(const void *addr, char *buf, size_t len, const char **sym)
{
  Dl_info info;
  const char *mod = "?";
  uintptr_t off = (uintptr_t)addr;
  *sym = NULL;
  if (addr != NULL && dladdr(addr, &info) != 0) {
    if (info.dli_fname != NULL && info.dli_fname[0] != '\0')
      mod = sf_basename(info.dli_fname);
    off = (uintptr_t)addr - (uintptr_t)info.dli_fbase;
    *sym = info.dli_sname;
  }
  /* module, "+0x", hex offset */
  size_t n = 0;
  for (const char *p = mod; *p && n + 1 < len; p++)
    buf[n++] = *p;
  for (const char *p = "+0x"; *p && n + 1 < len; p++)
    buf[n++] = *p;
  char hex[2 * sizeof off];
  int h = 0;
  do {
    hex[h++] = "0123456789abcdef"[off & 0xf];
    off >>= 4;
  } while (off != 0 && h < (int)sizeof hex);
  while (h > 0 && n + 1 < len)
    buf[n++] = hex[--h];
  if (len > 0)
    buf[n < len ? n : len - 1] = '\0';
  return n;
}

/* Fill a claimed slot; false (and the slot freed again) if the text does not fit. */
static bool sf_site_fill(struct sf_site_slot *s, const void *addr)
{
  const char *sym;
  size_t n = sf_site_lookup(addr, s->site, sizeof s->site, &sym);
  bool fits = n + 1 < sizeof s->site && (sym == NULL || strlen(sym) < sizeof s->sym);
  if (fits) {
    s->has_sym = sym != NULL;
    if (sym)
      memcpy(s->sym, sym, strlen(sym) + 1);
  }
  atomic_store_explicit(&s->key, fits ? (uintptr_t)addr : 0, memory_order_release);
  return fits;
}

static const struct sf_site_slot *sf_site_find(const void *addr)
{
  const uintptr_t a = (uintptr_t)addr;
  if (a <= SF_SITE_BUSY)
    return NULL;
  const size_t h = (size_t)((a * UINT64_C(0x9e3779b97f4a7c15)) >> 56);
  for (size_t i = 0; i < SF_SITE_PROBES; i++) {
    struct sf_site_slot *s = &sf_sites[(h + i) % SF_SITE_SLOTS];
    uintptr_t k = atomic_load_explicit(&s->key, memory_order_acquire);
    if (k == a)
      return s;
    if (k != 0)
      continue; /* another site's, or being filled (never waited for: a signal handler
                   may have interrupted the filling thread) */
    if (!atomic_compare_exchange_strong_explicit(&s->key, &k, SF_SITE_BUSY,
                                                 memory_order_acquire, memory_order_acquire))
      continue;
    return sf_site_fill(s, addr) ? s : NULL;
  }
  return NULL;
}

size_t sf_site_format(const void *addr, char *buf, size_t len, const char **sym)
{
  const struct sf_site_slot *s = sf_site_find(addr);
  if (s == NULL)
    return sf_site_lookup(addr, buf, len, sym);
  size_t n = strlen(s->site);
  if (len == 0)
    return n;
  size_t k = n < len ? n : len - 1;
  memcpy(buf, s->site, k);
  buf[k] = '\0';
  *sym = s->has_sym ? s->sym : NULL;
  return n;
}

int sf_site_matches(const void *addr, const char *site)
{
  char buf[128];
  const char *sym;
  sf_site_format(addr, buf, sizeof buf, &sym);
  return strcmp(buf, site) == 0;
}
