/* A slot of the run pool between runs (slot.h). */
#define _GNU_SOURCE
#include "slot.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "fs.h"

int sf_slot_dir(struct sf_slot *sl, const char *tmpbase, unsigned seq, char *err, size_t len)
{
  struct stat st;
  if (sl->dir[0])
    return 0;
  snprintf(sl->dir, sizeof sl->dir, "%s/run-%u", tmpbase, seq);
  if (mkdir(sl->dir, 0700) != 0 || stat(sl->dir, &st) != 0) {
    snprintf(err, len, "mkdir %.300s: %s", sl->dir, strerror(errno));
    sl->dir[0] = '\0';
    return -1;
  }
  sl->dev = st.st_dev;
  sl->ino = st.st_ino;
  return 0;
}

void sf_slot_after(struct sf_slot *sl, bool clean)
{
  if (sl->dir[0] && (!clean || sf_dir_empty(sl->dir, sl->dev, sl->ino) != 0)) {
    sf_rmtree(sl->dir);
    sl->dir[0] = '\0';
  }
}
