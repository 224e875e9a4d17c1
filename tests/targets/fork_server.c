/* A server that forks a child per connection, as inetd-style servers and busybox httpd do.
 * The child serves the one request and exits (a failed recv or send ends that connection
 * only); the parent goes back to accept at once and never reads. Correct: one failing call
 * costs one request. Explored per process, recv's 1st occurrence would be the 1st recv of
 * every child, so every request would fail and the server would look stopped; explore
 * counts over the process tree instead (per=tree). */
#include "tserver.h"

int main(int argc, char **argv)
{
  int lfd = ts_start(argc, argv);
  signal(SIGCHLD, SIG_IGN); /* children reaped by the kernel */
  for (int c; (c = ts_next_client(lfd)) >= 0;) {
    pid_t pid = fork();
    if (pid == 0) {
      close(lfd);
      int rc = ts_serve(c);
      close(c);
      _exit(rc == 0 ? 0 : 1);
    }
    if (pid < 0)
      perror("fork");
    close(c);
  }
  close(lfd);
  return 0;
}
