/* The sockfault command's verbs. Each returns the process exit status (sockfault/exit.h). */
#ifndef SF_CMD_H
#define SF_CMD_H

int sf_cmd_run(int argc, char **argv);
int sf_cmd_errnos(int argc, char **argv);
int sf_cmd_explore(int argc, char **argv);
int sf_cmd_replay(int argc, char **argv);
int sf_cmd_merge(int argc, char **argv);

/* Shared by the verbs: "sockfault VERB: message" on stderr. */
void sf_err(const char *verb, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Report an unknown option or missing argument the way getopt saw it; returns USAGE. */
int sf_bad_option(const char *verb, int argc, char **argv, int optind_before);

#endif
