/* The --server peer of a client run (peer.h). */
#define _GNU_SOURCE
#include "peer.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "clock.h"
#include "launch.h"
#include "proc.h"
#include "text.h"

#define SF_PEER_READY_MS 5000 /* a --server peer must listen (or bind) within this */

pid_t sf_peer_start(const char *cmd, int port, const char *dir, long long timeout_ms,
                    char *err, size_t len)
{
  char *line = sf_subst(cmd, port, dir);
  pid_t pid = line ? sf_spawn_check(line, dir) : -1;
  free(line);
  if (pid < 0) {
    snprintf(err, len, "cannot start the --server peer: %s", strerror(errno));
    return -1;
  }
  long long t0 = sf_now_ms(), limit = timeout_ms < SF_PEER_READY_MS ? timeout_ms
                                                                     : SF_PEER_READY_MS;
  while (sf_port_bound(port) != 1) {
    int st;
    if (waitpid(pid, &st, WNOHANG) == pid) {
      snprintf(err, len, "the --server peer exited (status %d) before binding port %d",
               sf_status_code(st), port);
      return -1;
    }
    if (sf_now_ms() - t0 > limit) {
      sf_kill_group(pid, SIGKILL);
      snprintf(err, len, "the --server peer did not bind port %d within %lld ms", port, limit);
      return -1;
    }
    usleep(2000);
  }
  return pid;
}
