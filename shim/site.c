/* Call sites through dladdr. dladdr takes the loader's lock: it is only used when the log
 * is on or a rule filters by site, never on the pass-through path. */
#define _GNU_SOURCE
#include "site.h"

#include <dlfcn.h>
#include <stdint.h>
#include <string.h>

static const char *sf_basename(const char *path)
{
  const char *slash = strrchr(path, '/');
  return slash ? slash + 1 : path;
}

size_t sf_site_format(const void *addr, char *buf, size_t len, const char **sym)
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

int sf_site_matches(const void *addr, const char *site)
{
  char buf[128];
  const char *sym;
  sf_site_format(addr, buf, sizeof buf, &sym);
  return strcmp(buf, site) == 0;
}
