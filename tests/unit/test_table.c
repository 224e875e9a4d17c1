/* The call table checks itself: libfiu's table shipped EBADFD for EBADF, duplicate errnos
 * and an #ifdef EACCESS that silently disabled EACCES. Ours cannot. */
#include <errno.h>
#include <string.h>

#include "check.h"
#include "table.h"

struct seed_list {
  const char *call;
  int errnos[8];
};

/* ../shared/seeds/000_7e28dcd9686b3b49.txt, typos fixed, in its order. */
static const struct seed_list seed[] = {
    {"socket", {EPROTONOSUPPORT, ENFILE, EMFILE, EACCES, ENOBUFS, ENOMEM, EINVAL}},
    {"setsockopt", {EBADF, ENOTSOCK, ENOPROTOOPT, EFAULT}},
    {"getsockopt", {EBADF, ENOTSOCK, ENOPROTOOPT, EFAULT}},
    {"bind", {EBADF, EACCES, ENOTSOCK}},
    {"listen", {EBADF, EACCES, EOPNOTSUPP}},
    {"accept", {EBADF, EFAULT, ENOTSOCK, EOPNOTSUPP, EPERM, ENOBUFS, ENOMEM}},
};

int main(void)
{
  CHECK(SF_NCALLS <= 64); /* one bit per call in a rule's set */
  const char *required[] = {"socket", "socketpair", "setsockopt", "getsockopt", "bind",
                            "listen", "accept", "accept4", "connect", "send", "sendto",
                            "sendmsg", "recv", "recvfrom", "recvmsg", "shutdown",
                            "getsockname", "getpeername", "read", "write", "readv", "writev",
                            "close"};
  for (size_t i = 0; i < sizeof required / sizeof required[0]; i++)
    CHECK(sf_call_lookup(required[i], strlen(required[i])) >= 0);

  for (int id = 0; id < SF_NCALLS; id++) {
    const struct sf_call_info *c = &sf_calls[id];
    CHECK(c->name != NULL && c->nerrnos > 0);
    CHECK_EQ(c->fail, -1);
    CHECK_EQ(sf_call_lookup(c->name, strlen(c->name)), id);
    /* The kind column agrees with how the call's arguments are read. */
    CHECK_EQ((c->ctx == SF_CTX_NEW), ((c->kind & SF_K_NEWFD) && !(c->kind & SF_K_PEER) &&
                                      c->ctx != SF_CTX_FD && c->ctx != SF_CTX_ADDR));
    CHECK_EQ((c->ctx == SF_CTX_SOCKFD), !(c->kind & SF_K_NET)); /* strace's %net: no read */
    CHECK(!((c->kind & SF_K_NEWFD) && (c->kind & SF_K_CLOSEFD)));
    for (unsigned i = 0; i < c->nerrnos; i++) {
      int e = c->errnos[i].err;
      const char *name = sf_errno_name(e);
      if (name == NULL) {
        fprintf(stderr, "%s: errno %d has no name\n", c->name, e);
        sf_check_failures++;
        continue;
      }
      CHECK_EQ(sf_errno_lookup(name, strlen(name)), e);
      /* The WHY column: a bad fd or pointer is always the caller's bug; running out of
       * descriptors or memory, a reset, a broken pipe or a timeout never is (issue 19). */
      const enum sf_why w = c->errnos[i].why;
      CHECK((unsigned)w < SF_NWHY && sf_why_text(w)[0] != '\0');
      CHECK_EQ(sf_why_env(w), strncmp(sf_why_name(w), "ENV_", 4) == 0);
      if (e == EBADF || e == ENOTSOCK || e == EFAULT)
        CHECK_EQ(sf_why_env(w), 0);
      if (e == EMFILE || e == ENFILE || e == ENOMEM || e == ENOBUFS || e == ECONNRESET ||
          e == EPIPE || e == ETIMEDOUT || e == ECONNREFUSED)
        CHECK_EQ(sf_why_env(w), 1);
      CHECK_EQ(sf_errno_env(id, e), sf_why_env(w));
      for (unsigned j = i + 1; j < c->nerrnos; j++)
        if (c->errnos[j].err == e) {
          fprintf(stderr, "%s: %s listed twice\n", c->name, name);
          sf_check_failures++;
        }
    }
  }

  /* Each kind names the calls it should, and the sets derive from the column. */
  const char *newfd[] = {"socket", "accept", "accept4", "socketpair"};
  uint64_t want = 0;
  for (size_t i = 0; i < sizeof newfd / sizeof newfd[0]; i++)
    want |= SF_CALL_BIT(sf_call_lookup(newfd[i], strlen(newfd[i])));
  CHECK_EQ(sf_calls_of_kind(SF_K_NEWFD), want);
  CHECK_EQ(sf_calls_of_kind(SF_K_CLOSEFD), SF_CALL_BIT(sf_call_lookup("close", 5)));
  CHECK_EQ(sf_calls_of_kind(SF_K_NET) & sf_calls_of_kind(SF_K_CLOSEFD), 0);
  CHECK(!(sf_calls_of_kind(SF_K_PEER) & SF_CALL_BIT(sf_call_lookup("listen", 6))));
  CHECK(!(sf_calls_of_kind(SF_K_PEER) & SF_CALL_BIT(sf_call_lookup("accept", 6))));
  CHECK(sf_calls_of_kind(SF_K_PEER) & SF_CALL_BIT(sf_call_lookup("recv", 4)));
  /* The calls after which the fd table forgets what it knew of a socket's ports: every
   * call that can bind or connect it, sends included (Linux autobinds at the first send). */
  const char *addr[] = {"bind", "listen", "connect", "send", "sendto", "sendmsg", "write",
                        "writev"};
  want = 0;
  for (size_t i = 0; i < sizeof addr / sizeof addr[0]; i++)
    want |= SF_CALL_BIT(sf_call_lookup(addr[i], strlen(addr[i])));
  CHECK_EQ(sf_calls_of_kind(SF_K_ADDR), want);

  /* The seed's lists are in the table, tagged seed, and nothing else is tagged seed. */
  for (size_t s = 0; s < sizeof seed / sizeof seed[0]; s++) {
    int id = sf_call_lookup(seed[s].call, strlen(seed[s].call));
    CHECK(id >= 0);
    if (id < 0)
      continue;
    unsigned nseed = 0;
    for (unsigned i = 0; i < sf_calls[id].nerrnos; i++)
      nseed += sf_calls[id].errnos[i].src == SF_SRC_SEED;
    unsigned expected = 0;
    for (int k = 0; k < 8 && seed[s].errnos[k]; k++, expected++) {
      int idx = sf_errno_index(id, seed[s].errnos[k]);
      CHECK(idx >= 0);
      if (idx >= 0 && sf_calls[id].errnos[idx].src != SF_SRC_SEED) {
        fprintf(stderr, "%s: %s not tagged seed\n", seed[s].call,
                sf_errno_name(seed[s].errnos[k]));
        sf_check_failures++;
      }
    }
    CHECK_EQ(nseed, expected);
  }

  /* The design's first errnos are each documented somewhere. */
  int firsts[] = {EMFILE, ENOBUFS, EACCES, EPERM};
  for (size_t f = 0; f < 4; f++) {
    int found = 0;
    for (int id = 0; id < SF_NCALLS; id++)
      found |= sf_errno_documented(id, firsts[f]);
    CHECK(found);
  }

  /* The seed's typos resolve only through suggestions, never silently. */
  CHECK_EQ(sf_errno_lookup("EACCESS", 7), -1);
  CHECK_STR(sf_closest_errno("EACCESS", 7), "EACCES");
  CHECK_STR(sf_closest_errno("ENOTSOCKET", 10), "ENOTSOCK");
  CHECK_STR(sf_closest_call("accpet", 6), "accept");
  CHECK_EQ(sf_errno_lookup("EWOULDBLOCK", 11), EAGAIN);
  CHECK_STR(sf_errno_name(EAGAIN), "EAGAIN");
  CHECK_DONE();
}
