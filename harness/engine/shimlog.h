/* Reading the shim's JSON Lines log while the program runs (and after): is the server
 * listening yet, which rules fired, how many sockets were open at exit, and — for the
 * baseline and for choosing pairs — the calls themselves. */
#ifndef SF_SHIMLOG_H
#define SF_SHIMLOG_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "rules.h"

struct sf_logcall {
  int pid;
  int call;                /* enum sf_call_id */
  unsigned long long n;    /* per-process occurrence of this call */
  long long ret;
  int err;                 /* the logged errno when ret was -1, else 0 */
  bool failed;             /* ret was -1 */
  bool injected;
  int rule;                /* injecting rule, -1 */
  bool unix_family;        /* the socket was AF_UNIX (the log's "family") */
  char site[SF_SITE_MAX];  /* MODULE+0xOFF, "" if absent */
  char caller[SF_SITE_MAX];/* the site's caller, MODULE+0xOFF or "?" (SOCKFAULT_LOG_CONTEXT=2),
                            * "" if not logged */
};

struct sf_logscan {
  int fd;
  int root_pid;            /* whose exit record counts; 0: the first process that starts */
  char *line;              /* partial line carried between reads */
  size_t len, cap;
  bool ready;              /* some process listens, or bound a datagram socket (a UDP
                            * server never calls listen) */
  unsigned long long fired;/* bit per rule index that injected at least once */
  /* failures injected, every process: counted from the records, or from the "fired" count
   * a for= rule's thinned-out records carry (per process, the last seen) */
  unsigned long long injected;
  int inj_pid[8];
  unsigned long long inj_last[8];
  unsigned long long fired_ready; /* ... of them, after the program was ready */
  unsigned long long unfaithful; /* injections logged "faithful":false (no kernel would
                            * fail that call so in that socket state) */
  int sockets;             /* root's exit record: sockets open, -1 if none yet */
  size_t records, bad;     /* lines read, lines not understood */
  bool keep_calls;
  struct sf_logcall *calls;
  size_t ncalls, ccap;
};

void sf_logscan_init(struct sf_logscan *s, int root_pid, bool keep_calls);
/* Read whatever was appended since the last call (opening the file the first time it
 * exists). 0, or -1 on a read error. */
int sf_logscan_poll(struct sf_logscan *s, const char *path);
/* Free everything but the calls array, which the caller may take (set calls NULL). */
void sf_logscan_done(struct sf_logscan *s);

#endif
