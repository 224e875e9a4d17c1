/* control present|absent: the control API is there exactly when the shim is preloaded, and
 * steers it: with a rule set, socket() fails with the errno asked for.
 * control socket: one socket opened and closed, for sockfault explore. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <sockfault/exit.h>
#include <sockfault/sockfault.h>

int main(int argc, char **argv)
{
  if (argc == 2 && strcmp(argv[1], "socket") == 0) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) {
      fprintf(stderr, "control: socket: %s\n", strerror(errno));
      return 1;
    }
    close(fd);
    return 0;
  }
  int want = argc == 2 && strcmp(argv[1], "present") == 0;
  if (!sockfault_set_rules != !want) {
    fprintf(stderr, "control: the shim is %s, expected %s\n",
            sockfault_set_rules ? "present" : "absent", want ? "present" : "absent");
    return 1;
  }
  if (!want)
    return SOCKFAULT_EXIT_OK;
  char err[256];
  if (sockfault_set_rules("socket:error=EMFILE:when=1", err, sizeof err) != 0) {
    fprintf(stderr, "control: %s\n", err);
    return 1;
  }
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd >= 0 || errno != EMFILE || sockfault_injected() != 1) {
    fprintf(stderr, "control: socket() gave %d (%s), injected %llu\n", fd, strerror(errno),
            sockfault_injected());
    return 1;
  }
  fd = socket(AF_INET, SOCK_STREAM, 0); /* when=1: the second goes through */
  if (fd < 0) {
    fprintf(stderr, "control: second socket(): %s\n", strerror(errno));
    return 1;
  }
  close(fd);
  return 0;
}
