/* The report model of an exploration: what was run, the baseline, and one record per
 * failure point with its outcome. explore fills it, merge and replay read it back from
 * JSON; every output format (text, JSON, JUnit, HTML) is written from it alone. */
#ifndef SF_REPORT_H
#define SF_REPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "rules.h"

#define SF_REPORT_SCHEMA 1
#define SF_SCHEMA_NAME "sockfault-explore/1" /* the JSON report's: written, required on load */
#define SF_CHECKS_MAX_OPT 32 /* --checks N: at most this (a run checks up to N+2+3 times) */

/* Outcome classes, from the least to the most severe: the matrix shows the worst. */
enum sf_class {
  SF_C_OK,              /* handled: exited 0 (same output), or a server still serves */
  SF_C_NOT_REACHED,     /* the rule never fired: the run diverged from the baseline */
  SF_C_ERROR_EXIT,      /* exited non-zero (before serving, for a server) */
  SF_C_MUTE_EXIT,       /* error-exit without a word: nothing printed the baseline did not */
  SF_C_FD_LEAK,         /* more sockets open at exit than in the baseline */
  SF_C_LATE_EXIT,       /* exited after SIGTERM, but only after the grace */
  SF_C_REQUEST_STALLED, /* the request a try-again errno hit was served, but only late */
  SF_C_REQUEST_LOST,    /* the request a try-again errno hit failed; later ones passed */
  SF_C_SILENT,          /* not a server: fault fired, exit 0, stdout differs (or the
                         * --server peer says the data did not arrive) */
  SF_C_STOPPED_SERVING, /* a server, ready, then no longer served: check fails or it exited */
  SF_C_NO_RECOVERY,     /* sustained fault: did not serve again within --timeout of its end */
  SF_C_SPIN,            /* sustained fault: burned CPU or retried without pause while it lasted */
  SF_C_HANG,            /* past --timeout (or ignored SIGTERM); spinning says how */
  SF_C_CRASH,           /* killed by a signal */
  SF_C_SANITIZER,       /* ASan/UBSan/LSan/TSan report on stderr */
  SF_NCLASSES
};

#define SF_CLASS_BIT(c) (1u << (c))
#define SF_DEFAULT_FAIL_ON                                                               \
  (SF_CLASS_BIT(SF_C_CRASH) | SF_CLASS_BIT(SF_C_SANITIZER) | SF_CLASS_BIT(SF_C_HANG) |  \
   SF_CLASS_BIT(SF_C_SILENT) | SF_CLASS_BIT(SF_C_STOPPED_SERVING) |                     \
   SF_CLASS_BIT(SF_C_NO_RECOVERY) | SF_CLASS_BIT(SF_C_SPIN) |                             \
   SF_CLASS_BIT(SF_C_MUTE_EXIT) | SF_CLASS_BIT(SF_C_REQUEST_LOST) |                      \
   SF_CLASS_BIT(SF_C_REQUEST_STALLED))

const char *sf_class_name(enum sf_class c);
char sf_class_mark(enum sf_class c);
const char *sf_class_legend(enum sf_class c);
/* Class by name (len bytes), or -1. */
int sf_class_lookup(const char *name, size_t len);
/* Parse "crash,hang,..." (or "all", "none") into a class mask; -1 naming the bad token. */
int sf_fail_on_parse(const char *list, unsigned *mask, char *err, size_t errlen);
/* "crash,sanitizer,..." in class order. */
void sf_fail_on_format(unsigned mask, char *buf, size_t len);

/* One injected failure: CALL:error=ERR:when=WHEN[:site=SITE]; a burst fails occurrences
 * WHEN..UNTIL (when=WHEN..UNTIL); a sustained fault fails every occurrence from WHEN on for
 * WINDOW_MS after the first (when=WHEN+:for=WINDOW). */
struct sf_fault {
  int call;                /* enum sf_call_id */
  int err;
  unsigned long long when; /* occurrence, counted per process over the rule's matches (over
                            * the process tree with per_tree) */
  unsigned long long until;/* a burst's last occurrence; 0 for one failure */
  long long window_ms;     /* > 0: sustained, for this long */
  char site[SF_SITE_MAX];  /* "" when the point is per occurrence, else MODULE+0xOFF */
  bool force;              /* the rule has :force (explore --errnos all) */
  bool per_tree;           /* the rule has :per=tree: when counts the calls of the whole
                            * process tree (explore: the baseline forked children that made
                            * calls) */
};

/* The kinds of points: one failure, failures in a row, a failure that lasts, two faults
 * (--depth 2), a --search finding's minimal schedule (1 to SF_MAX_FAULTS faults). */
enum sf_kind {
  SF_KIND_ONCE, SF_KIND_BURST, SF_KIND_SUSTAINED, SF_KIND_PAIR, SF_KIND_SCHEDULE, SF_NKINDS
};
#define SF_KIND_BIT(k) (1u << (k))
#define SF_DEFAULT_KINDS (SF_KIND_BIT(SF_KIND_ONCE) | SF_KIND_BIT(SF_KIND_BURST) |          \
                          SF_KIND_BIT(SF_KIND_SUSTAINED))
const char *sf_kind_name(enum sf_kind k);
/* Parse "once,burst,sustained" (or "all") into a kind mask; -1 naming the bad token. */
int sf_kinds_parse(const char *list, unsigned *mask, char *err, size_t errlen);
/* One check of a server run, in the order they ran. */
struct sf_check {
  int status;              /* the check's exit status: 0 passed */
  long long ms;            /* how long it took */
  bool after;              /* it started after the fault had fired */
  bool hit;                /* the fault fired while it ran: its request is the one hit */
};

/* Faults in one schedule: --depth 2 pairs have 2, --search schedules up to --max-faults. */
#define SF_MAX_FAULTS 4

/* Where else a merged report's finding was found: another shard's id for the same minimal
 * schedule and class (its shard is the one holding single point index), and its run there. */
struct sf_also {
  unsigned index, sub, run;
};

struct sf_point {
  unsigned index;          /* 1-based position among the single-fault points (the id) */
  unsigned sub;            /* 0 for a single fault; k for the k-th schedule grown from index */
  unsigned nfaults;        /* 1; 2 for a --depth 2 pair; up to SF_MAX_FAULTS for --search */
  struct sf_fault fault[SF_MAX_FAULTS];
  bool search;             /* a --search finding: the minimal schedule of its faults */
  unsigned run;            /* the exploration's run that found it (singles first), 0 unknown */
  struct sf_also *also;    /* merge: the same finding from other shards (malloc'd), or NULL */
  unsigned nalso;
  int port;                /* the loopback port this run used, 0 if none */
  bool done;               /* the run happened (false: planned, not run) */
  /* the outcome */
  enum sf_class cls;
  bool finding;
  bool fired;              /* every fault of the point fired */
  int exit_status;         /* -1 when killed by a signal or never exited by itself */
  int signal;              /* the killing signal, 0 if none */
  bool spinning;           /* for hang: CPU time close to wall time */
  /* a sustained fault: while it lasted, the program's CPU share (%) and its failed calls
   * per second (-1 unknown); how long after it was lifted the server served (-1 never) */
  int window_cpu;
  long long window_rate, recover_ms;
  bool misleading;         /* its new message names another error than the injected one
                            * (shown, not a class of its own) */
  int peer_status;         /* --server: the peer's exit status, -1 killed or none */
  struct sf_check *checks; /* a server's checks (malloc'd), or NULL */
  unsigned nchecks;
  long long duration_ms, cpu_ms;
  int sockets;             /* sockets open at exit (shim's count), -1 unknown */
  char *detail;            /* one line saying what happened */
  char *stderr_tail;       /* the last bytes of stderr */
};

/* One socket call of the baseline, in the order the shim logged it: the HTML timeline. */
struct sf_tcall {
  unsigned proc;           /* 0 for the first process that logged a call, 1 the next ... */
  int call;                /* enum sf_call_id */
  unsigned long long n;    /* per-process occurrence */
  long long ret;
  int err;                 /* the errno when ret is -1, else 0 */
  char site[SF_SITE_MAX];  /* MODULE+0xOFF, "" if absent */
  char caller[SF_SITE_MAX];/* the site's caller (--context 2), "" if not logged */
};

#define SF_TIMELINE_MAX 2000 /* calls kept; a longer baseline is cut, and says so */

struct sf_baseline {
  int exit_status, signal;
  long long duration_ms, cpu_ms;
  int sockets;             /* -1 unknown */
  bool stdout_stable;      /* two unfaulted runs printed the same: silent is judged */
  long long check_ms;      /* a server: the slowest of its checks */
  unsigned nlines;         /* the distinct lines it printed (hashes): "nothing new" is */
  uint64_t lines[64];      /* judged against them */
  bool lines_over;         /* it printed more distinct lines than kept */
  char stdout_hash[17];    /* FNV-1a 64, hex */
  int port;
  struct sf_tcall *timeline; /* the first SF_TIMELINE_MAX calls (malloc'd), or NULL */
  size_t ntimeline;
  size_t timeline_total;   /* calls logged in all: more than ntimeline when cut */
};

struct sf_report {
  char *prog;              /* PROG as resolved */
  char **args;             /* ARGS, {port} and {tmp} kept as written */
  size_t nargs;
  char *check;             /* --check command, or NULL */
  char *peer;              /* --server command, or NULL */
  /* options, echoed so merge can check that shards belong together */
  unsigned max_per_call, depth, budget, shard_i, shard_n, jobs;
  unsigned char *shards;   /* a merged report: shards[s] != 0 for each shard s (1..shard_n)
                              it holds (malloc'd); NULL: the one shard shard_i */
  unsigned kinds;          /* SF_KIND_BIT of once, burst, sustained (--kinds) */
  unsigned search, max_faults; /* --search N (0: none) and --max-faults K */
  unsigned long long seed;     /* --seed */
  unsigned context;            /* --context: 1 a call site is its return address, 2 that and
                                * its caller's */
  long long timeout_ms;
  long long window_ms;     /* how long a sustained fault lasts (--window) */
  long long term_grace_ms; /* --term-grace */
  unsigned checks;         /* --checks: the baseline's checks of a server */
  bool by_site;
  bool force;              /* --force, or --errnos all: every rule :force */
  char *errnos;            /* --errnos as given, or NULL (documented) */
  char *calls;             /* --calls as given, or NULL (all seen) */
  unsigned fail_on;
  int expect_status;
  struct sf_baseline baseline;
  unsigned total_points;   /* single-fault points over all shards */
  struct sf_search_stats {  /* what --search did (all zero without it) */
    unsigned runs, kept, signatures, minimise_runs, findings;
  } searched;
  struct sf_point *points;
  size_t npoints, cap;
};

void sf_report_init(struct sf_report *r);
/* Whether the report holds the points of shard s (1..shard_n); how many shards it holds. */
bool sf_report_has_shard(const struct sf_report *r, unsigned s);
unsigned sf_report_nshards(const struct sf_report *r);
/* The shards held as "I/N", runs joined for a merged report: "2/4", "1-2,4/4", "1-4/4". */
int sf_report_shard_print(const struct sf_report *r, FILE *f);
/* " (shard 2/4 of T)", " (shards 1-2,4/4 of T; 1 missing)": the heading's note. */
void sf_shard_note(const struct sf_report *r, FILE *f);
/* Parse that into shard_i (the first held), shard_n and shards; 0, or -1 (malformed). */
int sf_report_shard_parse(struct sf_report *r, const char *s);
void sf_report_free(struct sf_report *r);
/* Free what a point owns (detail, stderr_tail, checks, also) and set those to NULL. */
void sf_point_free(struct sf_point *p);
/* A new zeroed point at the end (sockets -1, exit_status -1), or NULL when out of memory. */
struct sf_point *sf_report_add(struct sf_report *r);
/* Points in id order: index, then sub. */
void sf_report_sort(struct sf_report *r);
size_t sf_report_findings(const struct sf_report *r);
/* The verdict as an exit status (sockfault/exit.h): FINDINGS when a point is a finding;
 * else NOTHING when the exploration has fewer than require points over all its shards
 * (a program that made none of the selected calls tested nothing); else UNJUDGED when
 * more than half of the points run here were not reached (the runs diverged from the
 * baseline: nothing was judged there); else OK. why says which, for a message ("" for
 * OK and FINDINGS). */
int sf_report_verdict(const struct sf_report *r, unsigned require, char *why, size_t len);
/* Recompute each point's finding flag from the report's fail_on. */
void sf_report_mark_findings(struct sf_report *r);

/* The call x errno matrix of the single-fault points: the calls explored in table order,
 * the errnos explored in the order the table lists them for these calls. */
#define SF_MATRIX_ROWS 256
struct sf_matrix {
  int cols[64], ncols;
  int rows[SF_MATRIX_ROWS], nrows;
};
void sf_report_matrix(const struct sf_report *r, struct sf_matrix *m);
/* The worst class over the single-fault points of (call, err); -1 none, -2 none run. */
int sf_report_cell(const struct sf_report *r, int call, int err);

/* How the baseline ended, for people: "exit 0 in 89 ms, 0 socket(s) open at exit". */
void sf_baseline_describe(const struct sf_report *r, char *buf, size_t len);
/* "17" or "17.2". */
/* What --search did, for people: "--search 500 (up to 3 faults, seed 0): 120 runs ...". */
void sf_search_describe(const struct sf_report *r, char *buf, size_t len);
void sf_point_id(const struct sf_point *p, char *buf, size_t len);
enum sf_kind sf_point_kind(const struct sf_point *p);
/* A point grown from a single one (id N.K: a --depth 2 pair, a --search schedule): the
 * matrix, which shows single faults, leaves it out; the reports list it on its own. */
bool sf_point_grown(const struct sf_point *p);
/* The shard (1..shard_n) whose exploration ran single point index, hence its N.K too. */
unsigned sf_point_shard(const struct sf_report *r, unsigned index);
/* How a grown point came to be, for people: "2 faults, minimal schedule from --search (run
 * 22), shard 1/2; also found as #6.2 shard 2/2" (the shard only when sharded). */
#define SF_HOW_MAX 512
void sf_point_provenance(const struct sf_report *r, const struct sf_point *p, char *buf,
                         size_t len);
/* The grown finding after point after (NULL: the first) in report order, its id into id (32
 * bytes) and its provenance into how (SF_HOW_MAX bytes); NULL when there is none. */
const struct sf_point *sf_next_grown_finding(const struct sf_report *r,
                                             const struct sf_point *after, char *id, char *how);
/* A grown point run and judged a finding; how many the report holds; and whether two
 * points have the same faults (in any order). */
bool sf_point_grown_finding(const struct sf_point *p);
size_t sf_report_grown_findings(const struct sf_report *r);
bool sf_point_same_faults(const struct sf_point *a, const struct sf_point *b);
/* The failures in a row a burst fault injects (2 or 3), else 0. */
unsigned sf_fault_burst(const struct sf_fault *f);
/* The point fails a call with an errno only a bug causes (calls.def's BUG_ column, or not
 * documented): its findings are reported apart, a correct program never meets them. */
bool sf_point_bug_only(const struct sf_point *p);
/* Parse "17" / "17.2"; 0 or -1. */
int sf_point_id_parse(const char *s, unsigned *index, unsigned *sub);
/* The shim rules of the point: "accept:error=EMFILE:when=2[;...]", into a buffer of
 * SF_POINT_RULES_MAX bytes (enough for any point's faults). */
#define SF_POINT_RULES_MAX 1024 /* SF_MAX_FAULTS rules with sites */
void sf_point_rules(const struct sf_point *p, char *buf, size_t len);
void sf_fault_rule(const struct sf_fault *f, char *buf, size_t len);
/* A shell command line reproducing the point with `sockfault run`, ports filled in, into a
 * buffer of SF_REPRO_MAX bytes (enough for any the writers print). */
#define SF_REPRO_MAX 16384
void sf_point_reproducer(const struct sf_report *r, const struct sf_point *p, char *buf,
                         size_t len);

/* Writers (report_text.c, report_json.c, report_junit.c, report_html.c). 0, or -1 on a
 * write error. */
int sf_report_write_text(const struct sf_report *r, FILE *out);
int sf_report_write_json(const struct sf_report *r, FILE *out);
int sf_report_write_junit(const struct sf_report *r, FILE *out);
int sf_report_write_html(const struct sf_report *r, FILE *out);
/* Write to a path ("-" is stdout) through the given writer; -1 with a message. */
int sf_report_save(const struct sf_report *r, const char *path,
                   int (*writer)(const struct sf_report *, FILE *), char *err, size_t errlen);
/* Read a JSON report (report_json_load.c); -1 with a message naming what is wrong (the caller
 * names the file). */
int sf_report_load(const char *path, struct sf_report *r, char *err, size_t errlen);

#endif
