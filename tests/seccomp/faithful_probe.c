/* What the seccomp backend fakes must be what the kernel could do, as under the shim
 * (docs/faithful.md). Built static (seccomp) and dynamic (preload); run under
 * `sockfault run -e RULE -- faithful_probe PART`, it prints one line of what it saw and exits
 * 0, or 1 when a call failed where it should not have:
 *   connect_nb  a non-blocking connect to our own listener: "EINPROGRESS connected" when the
 *               fake started the real connect (the listener then accepts), "0 connected"
 *               when nothing was injected
 *   connect_bl  a blocking connect: EINPROGRESS is impossible there ("0" expected)
 *   recv_nb     recv on a non-blocking socket with nothing queued: "EAGAIN" (real or
 *               injected; EINTR is impossible: the call cannot sleep)
 *   threads     two threads make two sockets each: how many socket() calls failed */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static int listener(struct sockaddr_in *a)
{
  int l = socket(AF_INET, SOCK_STREAM, 0);
  socklen_t al = sizeof *a;
  memset(a, 0, sizeof *a);
  a->sin_family = AF_INET;
  a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (l < 0 || bind(l, (struct sockaddr *)a, sizeof *a) != 0 || listen(l, 4) != 0 ||
      getsockname(l, (struct sockaddr *)a, &al) != 0)
    return -1;
  return l;
}

static const char *ename(int rc, int e)
{
  return rc == 0 ? "0" : e == EINPROGRESS ? "EINPROGRESS" : e == EAGAIN ? "EAGAIN"
                     : e == EINTR ? "EINTR" : strerror(e);
}

static int connect_part(int nonblocking)
{
  struct sockaddr_in a;
  int l = listener(&a), c = socket(AF_INET, SOCK_STREAM | (nonblocking ? SOCK_NONBLOCK : 0), 0);
  if (l < 0 || c < 0)
    return 1;
  int rc = connect(c, (struct sockaddr *)&a, sizeof a), e = errno;
  printf("%s", ename(rc, e));
  if (rc != 0 && e != EINPROGRESS)
    return printf("\n"), 1;
  struct pollfd p = {.fd = c, .events = POLLOUT};
  int soerr = -1;
  socklen_t sl = sizeof soerr;
  if (poll(&p, 1, 2000) != 1 || getsockopt(c, SOL_SOCKET, SO_ERROR, &soerr, &sl) != 0 || soerr)
    return printf(" never connected\n"), 1;
  struct pollfd q = {.fd = l, .events = POLLIN};
  int ok = poll(&q, 1, 2000) == 1 && accept(l, NULL, NULL) >= 0;
  printf(ok ? " connected\n" : " not accepted\n");
  return !ok;
}

static int recv_part(void)
{
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv) != 0)
    return 1;
  char b[8];
  long rc = recv(sv[0], b, sizeof b, 0);
  printf("%s\n", ename(rc == 0 ? 0 : -1, errno));
  return !(rc < 0 && errno == EAGAIN);
}

static int failed;
static void *two_sockets(void *arg)
{
  (void)arg;
  for (int i = 0; i < 2; i++) {
    int s = socket(AF_INET, SOCK_STREAM, 0);
    if (s < 0)
      __atomic_add_fetch(&failed, 1, __ATOMIC_RELAXED);
    else
      close(s);
  }
  return NULL;
}

static int threads_part(void)
{
  pthread_t t[2];
  for (int i = 0; i < 2; i++) { /* one after the other: the counts do not depend on timing */
    if (pthread_create(&t[i], NULL, two_sockets, NULL) != 0)
      return 1;
    pthread_join(t[i], NULL);
  }
  printf("%d\n", failed);
  return 0;
}

int main(int argc, char **argv)
{
  setvbuf(stdout, NULL, _IONBF, 0);
  if (argc == 2 && strcmp(argv[1], "connect_nb") == 0)
    return connect_part(1);
  if (argc == 2 && strcmp(argv[1], "connect_bl") == 0)
    return connect_part(0);
  if (argc == 2 && strcmp(argv[1], "recv_nb") == 0)
    return recv_part();
  if (argc == 2 && strcmp(argv[1], "threads") == 0)
    return threads_part();
  fprintf(stderr, "usage: faithful_probe connect_nb|connect_bl|recv_nb|threads\n");
  return 2;
}
