/* Call sites: a caller's return address as MODULE+0xOFFSET (stable across ASLR). */
#ifndef SF_SITE_H
#define SF_SITE_H

#include <stddef.h>

/* Writes "module+0xoff" into buf; *sym gets the nearest symbol or NULL. Returns length. */
size_t sf_site_format(const void *addr, char *buf, size_t len, const char **sym)
    __attribute__((visibility("hidden")));
int sf_site_matches(const void *addr, const char *site) __attribute__((visibility("hidden")));

#endif
