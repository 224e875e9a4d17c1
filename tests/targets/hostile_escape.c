/* A program whose grandchild escapes: it forks a child that leaves the process group and
 * the session (setsid) and forks again, so the grandchild is a daemon nobody waits for,
 * holding the program's stdout and stderr. The program makes its socket calls and exits at
 * once. explore must kill the daemon (it left the process group: the run's cgroup, or as
 * subreaper the orphan) before the next run. The daemon dies by itself after 30 s (alarm)
 * so that a broken explore cannot leave it for long. */
#define _GNU_SOURCE
#include <stdio.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

int main(void)
{
  pid_t p = fork();
  if (p == 0) {
    setsid();
    if (fork() == 0) {
      alarm(30);
      for (;;)
        pause();
    }
    _exit(0);
  }
  if (p > 0)
    waitpid(p, NULL, 0);
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    perror("socket");
    return 1;
  }
  close(fd);
  return 0;
}
