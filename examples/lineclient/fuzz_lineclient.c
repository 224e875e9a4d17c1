/* The fuzz target: the input is a fault schedule over recv and close (<sockfault/fuzz.h>),
 * then what the server sends. Every line must come back as sent. */
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <sockfault/fuzz.h>

#include "lineclient.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
  sockfault_fuzz_init(argc, argv, "recv,close");
  return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  size_t n;
  const uint8_t *sent = sockfault_fuzz_begin(data, size, &n);
  int sv[2];
  SOCKFAULT_FUZZ_CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0, "socketpair");
  n = n < 65536 ? n : 65536; /* what the socket buffer holds */
  SOCKFAULT_FUZZ_CHECK(write(sv[1], sent, n) == (ssize_t)n, "write"); /* not faulted */
  shutdown(sv[1], SHUT_WR);

  struct lc_conn c;
  SOCKFAULT_FUZZ_CHECK(lc_open(&c, sv[0]) == 0, "lc_open");
  size_t at = 0;
  char *line;
  size_t len;
  int r;
  while ((r = lc_read_line(&c, &line, &len)) == 1) {
    SOCKFAULT_FUZZ_CHECK(at + len < n && memcmp(line, sent + at, len) == 0 && sent[at + len] == '\n',
                         "the line of %zu bytes at %zu differs from what was sent", len, at);
    at += len + 1;
  }
  /* At the end of the stream (no error), no complete line is left unread. */
  SOCKFAULT_FUZZ_CHECK(r != 0 || memchr(sent + at, '\n', n - at) == NULL,
                       "a line at %zu was never returned", at);
  lc_close(&c);
  sockfault_fuzz_end();
  close(sv[1]);
  return 0;
}
