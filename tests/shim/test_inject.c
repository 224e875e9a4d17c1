/* Table-driven: every documented errno of every intercepted call is injected and observed
 * by the caller (return value and errno), and the call works again once the rule is gone.
 * Runs with libsockfault.so preloaded; rules are set through the control API. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "snippets.h"
#include "sockfault/sockfault.h"
#include "table.h"

static void set_rules(const char *rules)
{
  if (snippet_set_rules(rules) != 0)
    sf_check_failures++;
}

int main(void)
{
  signal(SIGPIPE, SIG_IGN);
  if (!sockfault_set_rules) {
    fprintf(stderr, "libsockfault.so is not preloaded\n");
    return 1;
  }
  struct fixture fx;
  if (fixture_open(&fx) != 0) {
    perror("fixture");
    return 1;
  }
  unsigned injected = 0;
  for (int id = 0; id < SF_NCALLS; id++) {
    const struct sf_call_info *c = &sf_calls[id];
    const struct snippet *s = snippet_find(c->name);
    if (!s) {
      fprintf(stderr, "no test snippet for %s: add one to tests/shim/snippets.c\n", c->name);
      sf_check_failures++;
      continue;
    }
    for (unsigned i = 0; i < c->nerrnos; i++) {
      char rule[128];
      int want = c->errnos[i].err;
      /* :force: the fixture's sockets are non-blocking and ready, where the kernel could not
       * return EINTR or EAGAIN (test_faithful checks those decisions) */
      snprintf(rule, sizeof rule, "%s:error=%s:when=1:force", c->name, sf_errno_name(want));
      set_rules(rule);
      errno = 0;
      long r = s->run(&fx);
      int got = errno;
      set_rules("");
      if (r != c->fail || got != want) {
        fprintf(stderr, "%s: returned %ld errno %s, expected %ld errno %s\n", rule, r,
                sf_errno_name(got) ? sf_errno_name(got) : "0", c->fail, sf_errno_name(want));
        sf_check_failures++;
      }
      injected++;
      fixture_drain(&fx);
    }
    /* error=any draws only from the documented list */
    char rule[128];
    snprintf(rule, sizeof rule, "%s:error=any:when=1:seed=%d", c->name, id);
    set_rules(rule);
    errno = 0;
    long r = s->run(&fx);
    int got = errno;
    CHECK_EQ(sockfault_injected(), 1);
    set_rules("");
    CHECK(r == c->fail && sf_errno_documented(id, got));
    fixture_drain(&fx);
    /* with no rule the call is untouched */
    errno = 0;
    r = s->run(&fx);
    if (r < 0) {
      fprintf(stderr, "%s failed with no rule: %s\n", c->name, strerror(errno));
      sf_check_failures++;
    }
    fixture_drain(&fx);
  }

  /* generic fd calls are faulted on sockets only */
  set_rules("read,write,close:error=EIO");
  int p[2];
  CHECK_EQ(pipe(p), 0);
  CHECK_EQ(write(p[1], "ab", 2), 2);
  char b[2];
  CHECK_EQ(read(p[0], b, 2), 2);
  CHECK_EQ(close(p[0]), 0);
  CHECK_EQ(close(p[1]), 0);
  CHECK_EQ(sockfault_injected(), 0);
  set_rules("");

  fixture_close(&fx);
  printf("%u errnos injected and observed across %d calls\n", injected, SF_NCALLS);
  CHECK(injected > 200);
  CHECK_DONE();
}
