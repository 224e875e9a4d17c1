/* Messages on stderr: "sockfault VERB: message", warnings, and the status line.
 *
 * The status line: stderr may carry one line redrawn in place (explore's progress on a
 * terminal). Say whether one is on screen, and sf_warn erases it before its message (the
 * next redraw brings it back), so that a message never lands on the end of it. */
#ifndef SF_MSG_H
#define SF_MSG_H

#include <stdbool.h>

void sf_status_shown(bool shown);
/* "sockfault VERB: message" (or "sockfault: message" when verb is NULL). */
void sf_err(const char *verb, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void sf_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
