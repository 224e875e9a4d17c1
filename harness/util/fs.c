/* Removing temp trees safely (fs.h). */
#define _GNU_SOURCE
#include "fs.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int sf_rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
  (void)st;
  (void)ftw;
  if (flag == FTW_DP)
    return rmdir(path) == 0 || errno == ENOENT ? 0 : -1;
  return unlink(path) == 0 || errno == ENOENT ? 0 : -1;
}

int sf_rmtree(const char *path)
{
  return nftw(path, sf_rm_one, 16, FTW_DEPTH | FTW_PHYS) == 0 ? 0 : -1;
}

int sf_dir_empty(const char *path, dev_t dev, ino_t ino)
{
  int dfd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  struct stat st;
  if (dfd < 0)
    return -1;
  if (fstat(dfd, &st) != 0 || st.st_dev != dev || st.st_ino != ino ||
      (st.st_mode & 07777) != 0700 || st.st_uid != geteuid()) {
    close(dfd);
    return -1;
  }
  char buf[4096];
  int rc = 0;
  for (int rounds = 0; rounds < 100000; rounds++) {
    ssize_t n = getdents64(dfd, buf, sizeof buf);
    if (n <= 0) {
      rc = n < 0 ? -1 : rc;
      break;
    }
    for (ssize_t off = 0; off < n;) {
      struct dirent64 *d = (struct dirent64 *)(void *)(buf + off);
      off += d->d_reclen;
      const char *nm = d->d_name;
      if (nm[0] == '.' && (nm[1] == '\0' || (nm[1] == '.' && nm[2] == '\0')))
        continue;
      if (d->d_type != DT_DIR && unlinkat(dfd, nm, 0) == 0)
        continue;
      char sub[PATH_MAX];
      if (snprintf(sub, sizeof sub, "%s/%s", path, nm) >= (int)sizeof sub || sf_rmtree(sub) != 0)
        rc = -1;
    }
  }
  close(dfd);
  return rc;
}
