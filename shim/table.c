/* The call table and errno names: data generated from calls.def and errnos.def. */
#include "table.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/uio.h>

#define CTX_NEW(d, t) SF_CTX_NEW
#define CTX_PAIR(d, t, sv) SF_CTX_NEW
#define CTX_ADDR(f, a) SF_CTX_ADDR
#define CTX_FD(f) SF_CTX_FD
#define CTX_FDF(f, fl) SF_CTX_FD
#define CTX_ADDRF(f, a, fl) SF_CTX_ADDR
#define CTX_SOCKFD(f) SF_CTX_SOCKFD

#define E(err, src, why) {err, SF_SRC_##src, SF_WHY_##why},
#define SF_CALL(name, ret, params, args, fail, ctx, kind, errnos) \
  static const struct sf_errno_doc sf_errnos_##name[] = {errnos};
#include "calls.def"
#undef SF_CALL
#undef E

const struct sf_call_info sf_calls[SF_NCALLS] = {
#define SF_CALL(name, ret, params, args, fail, ctx, kind, errnos)                   \
  [SF_ID_##name] = {#name,                                                          \
                    #ret,                                                           \
                    #params,                                                        \
                    fail,                                                           \
                    ctx,                                                            \
                    kind,                                                           \
                    sf_errnos_##name,                                               \
                    sizeof sf_errnos_##name / sizeof sf_errnos_##name[0]},
#include "calls.def"
#undef SF_CALL
};

struct sf_errno_name {
  const char *name;
  int value;
  int canonical;
};

static const struct sf_errno_name sf_errno_names[] = {
#define SF_ERRNO(n) {#n, n, 1},
#define SF_ERRNO_ALIAS(n, c) {#n, n, 0},
#include "errnos.def"
#undef SF_ERRNO
#undef SF_ERRNO_ALIAS
};
#define SF_NERRNO_NAMES (sizeof sf_errno_names / sizeof sf_errno_names[0])

uint64_t sf_calls_of_kind(unsigned kind)
{
  uint64_t set = 0;
  for (int i = 0; i < SF_NCALLS; i++)
    if (sf_calls[i].kind & kind)
      set |= SF_CALL_BIT(i);
  return set;
}

const char *sf_src_name(enum sf_src src)
{
  switch (src) {
  case SF_SRC_SEED: return "seed";
  case SF_SRC_MAN: return "man";
  case SF_SRC_POSIX: return "posix";
  }
  return "?";
}

static const struct {
  const char *name, *text;
  int env;
} sf_whys[] = {
#define SF_WHY_ROW(name, env, text) {#name, text, env},
    SF_WHYS(SF_WHY_ROW)
#undef SF_WHY_ROW
};

const char *sf_why_name(enum sf_why why) { return sf_whys[why].name; }
const char *sf_why_text(enum sf_why why) { return sf_whys[why].text; }
int sf_why_env(enum sf_why why) { return sf_whys[why].env; }

static int sf_word_eq(const char *word, size_t len, const char *name)
{
  return strlen(name) == len && memcmp(word, name, len) == 0;
}

int sf_call_lookup(const char *name, size_t len)
{
  for (int i = 0; i < SF_NCALLS; i++)
    if (sf_word_eq(name, len, sf_calls[i].name))
      return i;
  return -1;
}

const char *sf_errno_name(int err)
{
  for (size_t i = 0; i < SF_NERRNO_NAMES; i++)
    if (sf_errno_names[i].canonical && sf_errno_names[i].value == err)
      return sf_errno_names[i].name;
  return NULL;
}

int sf_errno_lookup(const char *name, size_t len)
{
  for (size_t i = 0; i < SF_NERRNO_NAMES; i++)
    if (sf_word_eq(name, len, sf_errno_names[i].name))
      return sf_errno_names[i].value;
  return -1;
}

int sf_errno_index(int call, int err)
{
  if (call < 0 || call >= SF_NCALLS)
    return -1;
  for (unsigned i = 0; i < sf_calls[call].nerrnos; i++)
    if (sf_calls[call].errnos[i].err == err)
      return (int)i;
  return -1;
}

int sf_errno_documented(int call, int err) { return sf_errno_index(call, err) >= 0; }

int sf_errno_env(int call, int err)
{
  int i = sf_errno_index(call, err);
  return i < 0 ? -1 : sf_why_env(sf_calls[call].errnos[i].why);
}

/* Optimal string alignment distance, case-insensitive; words are short (< 32). */
static unsigned sf_distance(const char *a, size_t la, const char *b, size_t lb)
{
  enum { MAXW = 32 };
  unsigned d[MAXW + 1][MAXW + 1];
  if (la > MAXW || lb > MAXW)
    return MAXW;
  for (size_t i = 0; i <= la; i++)
    d[i][0] = (unsigned)i;
  for (size_t j = 0; j <= lb; j++)
    d[0][j] = (unsigned)j;
  for (size_t i = 1; i <= la; i++) {
    for (size_t j = 1; j <= lb; j++) {
      char ca = a[i - 1], cb = b[j - 1];
      if (ca >= 'a' && ca <= 'z') ca = (char)(ca - 'a' + 'A');
      if (cb >= 'a' && cb <= 'z') cb = (char)(cb - 'a' + 'A');
      unsigned best = d[i - 1][j - 1] + (ca != cb);
      if (d[i - 1][j] + 1 < best) best = d[i - 1][j] + 1;
      if (d[i][j - 1] + 1 < best) best = d[i][j - 1] + 1;
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] &&
          d[i - 2][j - 2] + 1 < best)
        best = d[i - 2][j - 2] + 1;
      d[i][j] = best;
    }
  }
  return d[la][lb];
}

const char *sf_closest(const char *word, size_t len, const char *const *cands, size_t n)
{
  const char *best = NULL;
  unsigned bestd = (unsigned)(len / 3 + 1); /* allow about one typo in three letters */
  for (size_t i = 0; i < n; i++) {
    unsigned d = sf_distance(word, len, cands[i], strlen(cands[i]));
    if (d <= bestd && (best == NULL || d < bestd)) {
      best = cands[i];
      bestd = d;
    }
  }
  return best;
}

const char *sf_closest_call(const char *word, size_t len)
{
  const char *names[SF_NCALLS];
  for (int i = 0; i < SF_NCALLS; i++)
    names[i] = sf_calls[i].name;
  return sf_closest(word, len, names, SF_NCALLS);
}

const char *sf_closest_errno(const char *word, size_t len)
{
  const char *names[SF_NERRNO_NAMES];
  for (size_t i = 0; i < SF_NERRNO_NAMES; i++)
    names[i] = sf_errno_names[i].name;
  return sf_closest(word, len, names, SF_NERRNO_NAMES);
}
