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
  SF_K_IN = 1 << 6,      /* sleeps until input is queued (POLLIN) */
  SF_K_OUT = 1 << 7,     /* sleeps until there is room to send (POLLOUT) */
};

/* Who can cause a documented errno (calls.def's WHY): the environment, to a correct call
 * (explore's default), or only a bug in the caller. X(name, env, text). */
#define SF_WHYS(X)                                                                          \
  X(ENV_LIMIT, 1, "a limit of the process or the system: descriptors, memory, buffers")     \
  X(ENV_PEER, 1, "the peer or the network: refused, reset, unreachable, timed out")         \
  X(ENV_POLICY, 1, "permission or policy: a privileged port, a firewall, a security module") \
  X(ENV_ADDR, 1, "the address is taken or unavailable: another process, ports exhausted")   \
  X(ENV_KERNEL, 1, "the running kernel lacks the family, protocol or option")               \
  X(ENV_SIGNAL, 1, "a signal interrupted the call while it slept")                          \
  X(ENV_NOTREADY, 1, "a non-blocking socket or a timeout: nothing ready yet")               \
  X(ENV_FS, 1, "an AF_UNIX path: the filesystem's state")                                   \
  X(BUG_FD, 0, "the descriptor is not an open socket: a wrong, stale or closed fd")         \
  X(BUG_PTR, 0, "a pointer outside the program's memory")                                   \
  X(BUG_ARG, 0, "a value, flag, size or option the call does not accept")                   \
  X(BUG_ORDER, 0, "the socket is not in the state the call needs: calls out of order")      \
  X(BUG_NOSOCK, 0, "documented for other files; a socket never returns it on Linux")

enum sf_why {
#define SF_WHY_ENUM(name, env, text) SF_WHY_##name,
  SF_WHYS(SF_WHY_ENUM)
#undef SF_WHY_ENUM
  SF_NWHY
};

struct sf_errno_doc {
  int err;
  enum sf_src src;
  enum sf_why why;
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
/* "ENV_PEER", its sentence, and whether a correct call can meet it (1) or only a bug (0). */
const char *sf_why_name(enum sf_why why);
const char *sf_why_text(enum sf_why why);
int sf_why_env(enum sf_why why);
/* Call id by name (len bytes, not NUL-terminated), or -1. */
int sf_call_lookup(const char *name, size_t len);
/* Canonical errno name, or NULL for a value with no name. */
const char *sf_errno_name(int err);
/* Errno value by name (aliases accepted), or -1. */
int sf_errno_lookup(const char *name, size_t len);
/* 1 if err is documented for the call. */
int sf_errno_documented(int call, int err);
/* 1 if the environment can cause err to a correct call, 0 if only a bug can, -1 if the
 * call does not document err. */
int sf_errno_env(int call, int err);
/* Index of err in the call's documented list, or -1. */
int sf_errno_index(int call, int err);

/* Closest name to a misspelt word among candidates, or NULL if none is close. */
const char *sf_closest(const char *word, size_t len, const char *const *cands, size_t n);
const char *sf_closest_call(const char *word, size_t len);
const char *sf_closest_errno(const char *word, size_t len);

#endif
