/* A multi-call program, as busybox is, or redis-server (a symlink to redis-check-rdb): its
 * personality is the name it was started by. tests/targets/CMakeLists.txt makes two
 * symlinks to it: mc_server serves PING on PORT; mc_closefds_server does too after closing
 * every inherited fd at start-up, as dnsmasq and many daemons do (closefrom(3)). Under any
 * other name, its own included, it is a checker that prints so and exits 3. */
#include "tserver.h"

int main(int argc, char **argv)
{
  const char *base = strrchr(argv[0], '/');
  base = base ? base + 1 : argv[0];
  const int closefds = strcmp(base, "mc_closefds_server") == 0;
  if (!closefds && strcmp(base, "mc_server") != 0) {
    fprintf(stderr, "%s: checker mode, nothing to serve (start me as mc_server)\n", base);
    return 3;
  }
  if (closefds)
    closefrom(3);
  return ts_serve_forever(ts_port(argc, argv));
}
