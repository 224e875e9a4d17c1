/* A load generator that opens as many connections as its fd limit allows (run as under
 * `ulimit -n 64`: it sets that limit itself), says how many, sends each a byte, and closes
 * them all. With SF_BUG a failed send ends it at once, exit 0 and nothing said, without
 * closing anything: it exits with its fd table full of sockets, the worst leak, which
 * explore must still count (fd-leak; the shim's exit record cannot list /proc/self/fd then). */
#include "tserver.h"

#include <sys/resource.h>

#define POOL_MAX 1024

int main(void)
{
  struct rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || (rl.rlim_cur = 64, setrlimit(RLIMIT_NOFILE, &rl)))
    perror("setrlimit");
  struct sockaddr_in a;
  int lfd = ts_listen_local(&a);
  if (lfd < 0)
    return 1;
  static int pool[POOL_MAX];
  int n = 0;
  while (n < POOL_MAX) { /* until socket fails: EMFILE, the table is full */
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
      break;
    if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
      close(fd);
      break;
    }
    pool[n++] = fd;
  }
  printf("pool: %d connections\n", n);
  fflush(stdout);
  for (int i = 0; i < n; i++)
    if (send(pool[i], "x", 1, MSG_NOSIGNAL) != 1) {
#ifdef SF_BUG
      return 0;
#else
      break;
#endif
    }
  for (int i = 0; i < n; i++)
    close(pool[i]);
  close(lfd);
  return 0;
}
