/* The shim must not change the program, and what it fakes must be what the kernel could do
 * (issue 19). One program, one part per argument:
 *   errno    a successful call leaves errno as it was, with the log on (run it with
 *            SOCKFAULT_LOG set) and with a port filter that makes the shim look ports up
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

#define set_rules(r) CHECK(snippet_set_rules(r) == 0)

/* Every snippet's calls succeed; errno, set to EDOM first, must still be EDOM after. */
static void errno_kept(struct fixture *fx, const char *how)
{
  for (int id = 0; id < SF_NCALLS; id++) {
    const struct snippet *s = snippet_find(sf_calls[id].name);
    if (!s)
      continue;
    errno = EDOM;
    long r = s->run(fx);
    int got = errno;
    if (r < 0)
      fprintf(stderr, "%s (%s): failed: %s\n", sf_calls[id].name, how, strerror(got));
    else if (got != EDOM)
      fprintf(stderr, "%s (%s): succeeded but errno is now %s\n", sf_calls[id].name, how,
              sf_errno_name(got) ? sf_errno_name(got) : "?");
    CHECK(r >= 0 && got == EDOM);
    fixture_drain(fx);
  }
}

static void part_errno(struct fixture *fx)
{
  CHECK(getenv("SOCKFAULT_LOG") != NULL); /* the log must be on for the first half */
  set_rules("");
  errno_kept(fx, "log on");
  /* port=1 never matches: every call's ports are looked up, none fails */
  set_rules("all:error=EIO:force:port=1");
  errno_kept(fx, "port filter");
  set_rules("");
}

int main(int argc, char **argv)
{
  signal(SIGPIPE, SIG_IGN);
  if (!sockfault_set_rules) {
    fprintf(stderr, "libsockfault.so is not preloaded\n");
    return 1;
  }
  if (argc != 2) {
    fprintf(stderr, "usage: test_faithful errno\n");
    return 2;
  }
  struct fixture fx;
  if (fixture_open(&fx) != 0) {
    perror("fixture");
    return 1;
  }
  if (strcmp(argv[1], "errno") == 0) {
    part_errno(&fx);
  } else {
    fprintf(stderr, "test_faithful: unknown part '%s'\n", argv[1]);
    return 2;
  }
  fixture_close(&fx);
  printf("%d checks, %d failed\n", sf_check_count, sf_check_failures);
  return sf_check_failures != 0;
}
