/* Removing temp trees safely. */
#ifndef SF_FS_H
#define SF_FS_H

#include <sys/types.h>

/* rm -rf, without following symlinks. 0 or -1. */
int sf_rmtree(const char *path);
/* Empty the directory at path (rm -rf of what is in it) if it is still the one we made:
 * the device and inode given, mode 0700, ours. 0, or -1 when it is not or something in it
 * could not be removed. */
int sf_dir_empty(const char *path, dev_t dev, ino_t ino);

#endif
