/* One small snippet per intercepted call (libfaketime's test/snippets idea): each performs
 * its call once on a ready fixture and returns the call's result. The table-driven tests
 * look snippets up by name, so a call added to calls.def without a snippet fails them. */
#ifndef SF_SNIPPETS_H
#define SF_SNIPPETS_H

struct fixture {
  int lfd;      /* listening TCP socket on 127.0.0.1, non-blocking */
  int cfd, sfd; /* a connected pair: client and accepted server side, non-blocking */
  int port;
};

struct snippet {
  const char *call;
  long (*run)(struct fixture *fx);
};

int fixture_open(struct fixture *fx);
void fixture_close(struct fixture *fx);
/* Pending connections, unread bytes: cleared between snippets. */
void fixture_drain(struct fixture *fx);
const struct snippet *snippet_find(const char *call);
/* sockfault_set_rules, saying why on stderr when it refuses: 0 or -1. */
int snippet_set_rules(const char *rules);

#endif
