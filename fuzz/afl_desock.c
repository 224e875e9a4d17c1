/*
 * afl_desock.so — runs the real sockfault-refserver binary under AFL++ on a request stream
 * read from stdin (AFL_PRELOAD=…/libsf_afl_desock.so; scripts/fuzz.sh refserver).
 *
 * When the server's listen(2) succeeds, this library reads stdin, connects a client to the
 * listening address and, in a thread, sends the stream followed by "\nQUIT\n", reads every
 * reply until the server closes, closes with a reset, and sends the process SIGTERM: the
 * server then stops gracefully and its --check-fds aborts on any fd left open. A server that
 * never closes the connection is an AFL++ hang.
 *
 * "\nQUIT\n" makes the server close first, so the client never enters TIME_WAIT: a long
 * campaign would otherwise run out of ports. (It also completes a last line without "\n".)
 * Everything here happens once per process: AFL++ forks the server for each input.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <dlfcn.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define DESOCK_INPUT_MAX (1 << 20)

int listen(int fd, int backlog) __attribute__((visibility("default")));

static char *input;
static size_t input_len;
static int client = -1;

static void desock_die(const char *what)
{
  fprintf(stderr, "afl_desock: %s: %s\n", what, strerror(errno));
  _exit(1);
}

static void send_all(const char *p, size_t n)
{
  while (n > 0) {
    ssize_t w = send(client, p, n, MSG_NOSIGNAL);
    if (w < 0 && errno == EINTR)
      continue;
    if (w <= 0)
      return; /* the server closed (QUIT in the stream, or an error): read what it sent */
    p += w;
    n -= (size_t)w;
  }
}

static void *client_main(void *arg)
{
  (void)arg;
  send_all(input, input_len);
  send_all("\nQUIT\n", 6);
  char buf[65536];
  for (;;) {
    ssize_t r = recv(client, buf, sizeof buf, 0);
    if (r < 0 && errno == EINTR)
      continue;
    if (r <= 0)
      break;
    if (getenv("SF_DESOCK_ECHO") && write(1, buf, (size_t)r) < 0) {
      /* stdout gone: the replies are only shown for debugging */
    }
  }
  struct linger lg = {1, 0};
  setsockopt(client, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
  close(client);
  kill(getpid(), SIGTERM);
  return NULL;
}

static void start_client(int lfd)
{
  input = malloc(DESOCK_INPUT_MAX);
  if (input == NULL)
    desock_die("malloc");
  for (;;) {
    ssize_t r = read(0, input + input_len, DESOCK_INPUT_MAX - input_len);
    if (r < 0 && errno == EINTR)
      continue;
    if (r <= 0 || (input_len += (size_t)r) == DESOCK_INPUT_MAX)
      break;
  }
  struct sockaddr_storage ss;
  socklen_t len = sizeof ss;
  if (getsockname(lfd, (struct sockaddr *)&ss, &len) != 0)
    desock_die("getsockname");
  if (ss.ss_family == AF_INET) {
    struct sockaddr_in *a = (struct sockaddr_in *)&ss;
    if (a->sin_addr.s_addr == htonl(INADDR_ANY))
      a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  } else if (ss.ss_family == AF_INET6) {
    struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
    if (IN6_IS_ADDR_UNSPECIFIED(&a->sin6_addr))
      a->sin6_addr = in6addr_loopback;
  }
  client = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (client < 0)
    desock_die("socket");
  if (connect(client, (struct sockaddr *)&ss, len) != 0) /* the backlog takes it at once */
    desock_die("connect");
  pthread_t t;
  if (pthread_create(&t, NULL, client_main, NULL) != 0)
    desock_die("pthread_create");
  pthread_detach(t);
}

int listen(int fd, int backlog)
{
  static int (*real_listen)(int, int);
  static int started;
  if (real_listen == NULL) {
    void *sym = dlsym(RTLD_NEXT, "listen");
    memcpy(&real_listen, &sym, sizeof sym);
    if (real_listen == NULL)
      desock_die("dlsym listen");
  }
  int rc = real_listen(fd, backlog);
  if (rc == 0 && !started) {
    started = 1;
    start_client(fd);
  }
  return rc;
}
