/* The sockfault command's verbs. Each returns the process exit status (sockfault/exit.h). */
#ifndef SF_CMD_H
#define SF_CMD_H

int sf_cmd_run(int argc, char **argv);
int sf_cmd_errnos(int argc, char **argv);
int sf_cmd_explore(int argc, char **argv);
int sf_cmd_replay(int argc, char **argv);
int sf_cmd_merge(int argc, char **argv);

#endif
