/* What a slot of explore's run pool keeps from one run to the next: its temp dir, emptied
 * after each run, and its cgroup, both given up (and made anew) when a run leaves anything
 * behind. A mkdir+rmdir per run costs ~0.25 ms on a disk with online discard: 8 % of a short
 * run. */
#ifndef SF_SLOT_H
#define SF_SLOT_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "cgroup.h"

struct sf_slot {
  char dir[PATH_MAX];     /* "" when the slot has none */
  dev_t dev;
  ino_t ino;
  struct sf_cgslot cg;
};

/* The slot's dir for its next run: TMPBASE/run-SEQ made (0700) when it has none. 0, or -1
 * with the reason in err and the slot without a dir. */
int sf_slot_dir(struct sf_slot *sl, const char *tmpbase, unsigned seq, char *err, size_t len);

/* The slot after a run: its dir emptied for the next one, or removed when the run left
 * something alive (that may still write there) or the dir is no longer as we made it. */
void sf_slot_after(struct sf_slot *sl, bool clean);

#endif
