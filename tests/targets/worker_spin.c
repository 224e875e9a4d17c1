/* A server whose accept loop runs in a worker — a thread (default) or, with SF_FORK, a
 * forked process — while the main thread only waits for it, as thread-pool and prefork
 * servers do. On a shortage (EMFILE, ENFILE, ENOBUFS, ENOMEM) it backs off for 100 ms before
 * trying accept again. With SF_BUG the back-off is a deadline checked after each poll, but the
 * listener stays in the poll set: poll is level-triggered and the pending connection is still
 * there, so it returns at once and the worker burns a core for as long as the shortage lasts
 * — without calling accept more than ten times a second (a failed-call rate no spin check
 * can see). Without SF_BUG the listener leaves the poll set for the back-off. */
#include "tserver.h"

#include <pthread.h>
#include <sys/wait.h>

static int ts_shortage(int e)
{
  return e == EMFILE || e == ENFILE || e == ENOBUFS || e == ENOMEM;
}

static void *ts_worker(void *arg)
{
  int lfd = *(int *)arg;
  long long backoff_until = 0;
  while (!ts_stop) {
#ifdef SF_BUG
    if (ts_wait(lfd) <= 0 || ts_ms() < backoff_until)
      continue;
#else
    long long left = backoff_until - ts_ms();
    if (left > 0) {
      poll(NULL, 0, (int)left); /* the listener is out of the poll set meanwhile */
      continue;
    }
    if (ts_wait(lfd) <= 0)
      continue;
#endif
    int c = accept(lfd, NULL, NULL);
    if (c < 0) {
      if (ts_shortage(errno)) {
        fprintf(stderr, "accept: %s: backing off\n", strerror(errno));
        backoff_until = ts_ms() + 100;
      }
      continue;
    }
    ts_serve(c);
    close(c);
  }
  return NULL;
}

int main(int argc, char **argv)
{
  int lfd = ts_start(argc, argv);
#ifdef SF_FORK
  pid_t pid = fork();
  if (pid < 0) {
    perror("fork");
    return 1;
  }
  if (pid == 0) {
    ts_worker(&lfd);
    _exit(0);
  }
  close(lfd);
  int st;
  while (waitpid(pid, &st, 0) < 0)
    if (errno == EINTR && ts_stop)
      kill(pid, SIGTERM); /* the worker has its own handler: pass the request on */
#else
  pthread_t t;
  int err = pthread_create(&t, NULL, ts_worker, &lfd);
  if (err) {
    fprintf(stderr, "pthread_create: %s\n", strerror(err));
    return 1;
  }
  pthread_join(t, NULL);
  close(lfd);
#endif
  return 0;
}
