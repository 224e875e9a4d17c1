/* The shim's log, read incrementally (shimlog.h). */
#define _GNU_SOURCE
#include "shimlog.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "json.h"
#include "table.h"

#define SF_LOG_LINE_MAX (64 * 1024) /* the shim's records are far shorter */
#define SF_LOG_MAX_CALLS 2000000    /* keep_calls bound */

void sf_logscan_init(struct sf_logscan *s, int root_pid, bool keep_calls)
{
  memset(s, 0, sizeof *s);
  s->fd = -1;
  s->root_pid = root_pid;
  s->sockets = -1;
  s->keep_calls = keep_calls;
}

static void sf_keep(struct sf_logscan *s, const struct sf_logcall *c)
{
  if (s->ncalls >= SF_LOG_MAX_CALLS)
    return;
  if (s->ncalls == s->ccap) {
    size_t nc = s->ccap ? s->ccap * 2 : 256;
    struct sf_logcall *p = realloc(s->calls, nc * sizeof *p);
    if (!p)
      return;
    s->calls = p;
    s->ccap = nc;
  }
  s->calls[s->ncalls++] = *c;
}

static void sf_count_injected(struct sf_logscan *s, int pid, long long fired)
{
  if (fired < 0) {
    s->injected++;
    return;
  }
  unsigned k = 0;
  while (k < 8 && s->inj_pid[k] != 0 && s->inj_pid[k] != pid)
    k++;
  if (k == 8) /* more processes than kept: count the record alone */
    s->injected++;
  else if (s->inj_pid[k] == 0 || (unsigned long long)fired > s->inj_last[k]) {
    s->injected += (unsigned long long)fired - (s->inj_pid[k] ? s->inj_last[k] : 0);
    s->inj_pid[k] = pid;
    s->inj_last[k] = (unsigned long long)fired;
  }
}

static void sf_record(struct sf_logscan *s, const char *text, size_t len)
{
  char err[128];
  s->records++;
  struct sf_json *v = sf_json_parse(text, len, err, sizeof err);
  if (!v || v->type != SF_JOBJ) {
    s->bad++;
    sf_json_free(v);
    return;
  }
  int pid = (int)sf_json_int(v, "pid", 0);
  const char *event = sf_json_str(v, "event", NULL);
  const char *call = sf_json_str(v, "call", NULL);
  if (event) {
    if (strcmp(event, "start") == 0 && s->root_pid == 0)
      s->root_pid = pid;
    else if (strcmp(event, "exit") == 0 && pid == s->root_pid)
      s->sockets = (int)sf_json_int(v, "sockets", -1);
  } else if (call) {
    struct sf_logcall c = {.pid = pid, .rule = -1};
    c.call = sf_call_lookup(call, strlen(call));
    c.n = (unsigned long long)sf_json_int(v, "n", 0);
    long long ret = sf_json_int(v, "ret", 0);
    c.ret = ret;
    c.failed = ret == -1;
    if (c.failed) {
      const char *en = sf_json_str(v, "errno", NULL);
      c.err = en ? sf_errno_lookup(en, strlen(en)) : (int)sf_json_int(v, "errno", 0);
    }
    c.injected = sf_json_bool(v, "injected", false);
    if (c.injected) {
      c.rule = (int)sf_json_int(v, "rule", -1);
      if (c.rule >= 0 && c.rule < 64) {
        s->fired |= 1ull << c.rule;
        if (s->ready)
          s->fired_ready |= 1ull << c.rule;
        /* The hook for the shim's faithfulness (an EAGAIN on a blocking socket, say): a
         * record that says so makes a lost request after it not the program's bug. */
        if (!sf_json_bool(v, "faithful", true))
          s->unfaithful |= 1ull << c.rule;
      }
      sf_count_injected(s, pid, sf_json_int(v, "fired", -1));
    }
    const char *fam = sf_json_str(v, "family", NULL);
    c.unix_family = fam && strcmp(fam, "unix") == 0;
    const char *site = sf_json_str(v, "site", "");
    snprintf(c.site, sizeof c.site, "%s", site);
    snprintf(c.caller, sizeof c.caller, "%s", sf_json_str(v, "caller", ""));
    const char *type = sf_json_str(v, "type", "");
    if ((c.call == SF_ID_listen && ret == 0) ||
        (c.call == SF_ID_bind && ret == 0 && strcmp(type, "dgram") == 0))
      s->ready = true;
    if (c.call >= 0 && s->keep_calls)
      sf_keep(s, &c);
  } else {
    s->bad++;
  }
  sf_json_free(v);
}

int sf_logscan_poll(struct sf_logscan *s, const char *path)
{
  if (s->fd < 0) {
    s->fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (s->fd < 0)
      return errno == ENOENT ? 0 : -1;
  }
  char buf[16384];
  for (int rounds = 0; rounds < 4096; rounds++) {
    ssize_t n = read(s->fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0)
      return -1;
    if (n == 0)
      return 0;
    for (ssize_t i = 0; i < n;) {
      const char *nl = memchr(buf + i, '\n', (size_t)(n - i));
      size_t take = nl ? (size_t)(nl - (buf + i)) : (size_t)(n - i);
      if (s->len + take > SF_LOG_LINE_MAX) {
        s->len = SF_LOG_LINE_MAX + 1; /* too long: drop until the next newline */
      } else {
        if (s->len + take + 1 > s->cap) {
          size_t nc = s->len + take + 1 > 2 * s->cap ? s->len + take + 1 : 2 * s->cap;
          char *p = realloc(s->line, nc);
          if (!p)
            return -1;
          s->line = p;
          s->cap = nc;
        }
        memcpy(s->line + s->len, buf + i, take);
        s->len += take;
      }
      i += (ssize_t)take;
      if (nl) {
        if (s->len <= SF_LOG_LINE_MAX && s->len > 0)
          sf_record(s, s->line, s->len);
        else if (s->len > SF_LOG_LINE_MAX)
          s->bad++;
        s->len = 0;
        i++;
      }
    }
  }
  return 0;
}

void sf_logscan_done(struct sf_logscan *s)
{
  if (s->fd >= 0)
    close(s->fd);
  s->fd = -1;
  free(s->line);
  s->line = NULL;
  free(s->calls);
  s->calls = NULL;
  s->ncalls = s->ccap = 0;
}
