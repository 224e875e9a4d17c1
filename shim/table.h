/* The call table and errno names, as data: generated from calls.def and errnos.def. */
#ifndef SF_TABLE_H
#define SF_TABLE_H

#include <stddef.h>
#include <stdint.h>

enum sf_call_id {
#define SF_CALL(name, ...) SF_ID_##name,
#include "calls.def"
#undef SF_CALL
  SF_NCALLS
};

/* Where a documented errno comes from (see calls.def). */
enum sf_src { SF_SRC_SEED, SF_SRC_MAN, SF_SRC_POSIX };

/* How a call's arguments are seen by filters. */
enum sf_ctx_kind {
  SF_CTX_NEW,    /* creates a socket: family and type come from the arguments */
  SF_CTX_ADDR,   /* names an address: family and port from it, else from the fd */
  SF_CTX_FD,     /* acts on a socket fd */
  SF_CTX_SOCKFD, /* generic fd call (read, write, close …): only sockets are intercepted */
};

/* What a call is (calls.def's kind column), as strace's syscallent.h flags say it. */
enum sf_call_kind {
  SF_K_NET = 1 << 0,     /* the socket API proper: strace's %net class */
  SF_K_NEWFD = 1 << 1,   /* creates an fd (a socket) when it succeeds */
  SF_K_CLOSEFD = 1 << 2, /* releases its fd, even when it fails */
  SF_K_PEER = 1 << 3,    /* acts on a socket that may be connected: has a peer to name */
  SF_K_BLOCK = 1 << 4,   /* can sleep on a blocking socket */
  SF_K_ADDR = 1 << 5,    /* may give its socket a local port or a peer (bind, listen,
                          * connect, and sends: Linux binds a datagram socket at its first) */
};

struct sf_errno_doc {
  int err;
  enum sf_src src;
};

struct sf_call_info {
  const char *name;
  const char *ret;    /* return type, as text */
  const char *params; /* parameter list, as text */
  long fail;          /* value an injected failure returns */
  enum sf_ctx_kind ctx;
  unsigned kind;      /* enum sf_call_kind bits */
  const struct sf_errno_doc *errnos;
  unsigned nerrnos;
};

extern const struct sf_call_info sf_calls[SF_NCALLS];

#define SF_CALL_BIT(id) (UINT64_C(1) << (id))
#define SF_ALL_CALLS ((UINT64_C(1) << SF_NCALLS) - 1)

/* The set of calls whose kind has any of the bits in kind. */
uint64_t sf_calls_of_kind(unsigned kind);

const char *sf_src_name(enum sf_src src);
/* Call id by name (len bytes, not NUL-terminated), or -1. */
int sf_call_lookup(const char *name, size_t len);
/* Canonical errno name, or NULL for a value with no name. */
const char *sf_errno_name(int err);
/* Errno value by name (aliases accepted), or -1. */
int sf_errno_lookup(const char *name, size_t len);
/* 1 if err is documented for the call. */
int sf_errno_documented(int call, int err);
/* Index of err in the call's documented list, or -1. */
int sf_errno_index(int call, int err);

/* Closest name to a misspelt word among candidates, or NULL if none is close. */
const char *sf_closest(const char *word, size_t len, const char *const *cands, size_t n);
const char *sf_closest_call(const char *word, size_t len);
const char *sf_closest_errno(const char *word, size_t len);

#endif
