/* What a slot of explore's run pool hands from one run to the next, and when it must not:
 *   sf_dir_empty  the temp dir emptied (files, read-only files, fifos, subtrees; a symlink
 *                 out of it removed, not followed), refused when it is not the dir we made
 *   sf_warn       a warning erases a status line on screen before its message
 *   cgroup slot   reused only when pids.current is 0: not while a process of the last run
 *                 lives, nor while one is a zombie not yet reaped; pids.max written again
 *                 on reuse; a group left non-empty is killed, removed, and replaced
 * The cgroup part needs a writable pids cgroup (root here); without, it says so and the
 * directory part alone is checked. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cgroup.h"
#include "check.h"
#include "fs.h"
#include "proc.h"
#include "reap.h"
#include "msg.h"

static void touch(const char *dir, const char *name, mode_t mode)
{
  char p[PATH_MAX];
  snprintf(p, sizeof p, "%s/%s", dir, name);
  int fd = open(p, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
  CHECK(fd >= 0);
  if (fd >= 0)
    close(fd);
}

static int entries(const char *dir)
{
  DIR *d = opendir(dir);
  int n = 0;
  for (struct dirent *e; d && (e = readdir(d));)
    n += strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0;
  if (d)
    closedir(d);
  return d ? n : -1;
}

static void test_dir_empty(void)
{
  char base[] = "/tmp/sf-test-slots.XXXXXX", d[64], p[128], old[64];
  CHECK(mkdtemp(base) != NULL);
  snprintf(d, sizeof d, "%s/run", base);
  CHECK_EQ(mkdir(d, 0700), 0);
  struct stat st;
  CHECK_EQ(stat(d, &st), 0);
  touch(base, "outside", 0600);
  /* what a run may leave */
  touch(d, "file", 0600);
  touch(d, "read-only", 0400);
  snprintf(p, sizeof p, "%s/fifo", d);
  CHECK_EQ(mkfifo(p, 0600), 0);
  snprintf(p, sizeof p, "%s/sub", d);
  CHECK_EQ(mkdir(p, 0700), 0);
  snprintf(p, sizeof p, "%s/sub/deeper", d);
  CHECK_EQ(mkdir(p, 0500), 0);
  snprintf(p, sizeof p, "%s/link-out", d);
  CHECK_EQ(symlink(base, p), 0);
  CHECK_EQ(sf_dir_empty(d, st.st_dev, st.st_ino), 0);
  CHECK_EQ(entries(d), 0);
  snprintf(p, sizeof p, "%s/outside", base);
  CHECK_EQ(access(p, F_OK), 0); /* the symlink was not followed */
  /* not as we made it: another mode, another directory, a symlink */
  CHECK_EQ(chmod(d, 0755), 0);
  CHECK_EQ(sf_dir_empty(d, st.st_dev, st.st_ino), -1);
  CHECK_EQ(chmod(d, 0700), 0);
  CHECK_EQ(sf_dir_empty(d, st.st_dev, st.st_ino), 0);
  snprintf(old, sizeof old, "%s/run.old", base);
  CHECK_EQ(rename(d, old), 0);
  CHECK_EQ(mkdir(d, 0700), 0);
  CHECK_EQ(sf_dir_empty(d, st.st_dev, st.st_ino), -1);
  CHECK_EQ(rmdir(d), 0);
  CHECK_EQ(symlink(old, d), 0);
  CHECK_EQ(sf_dir_empty(d, st.st_dev, st.st_ino), -1);
  CHECK_EQ(sf_rmtree(base), 0);
}

/* A child in the slot's group: it joins, then exits at once, or when the pipe (pfd, or
 * NULL) closes. */
static pid_t join(int procs_fd, const int *pfd)
{
  pid_t pid = fork();
  if (pid == 0) {
    char c;
    if (write(procs_fd, "0", 1) != 1)
      _exit(2);
    if (pfd) {
      close(pfd[1]);
      (void)!read(pfd[0], &c, 1);
    }
    _exit(0);
  }
  return pid;
}

static void read_file(const char *dir, const char *name, char *buf, size_t len)
{
  char p[PATH_MAX + 32];
  snprintf(p, sizeof p, "%s/%s", dir, name);
  int fd = open(p, O_RDONLY | O_CLOEXEC);
  ssize_t n = fd >= 0 ? read(fd, buf, len - 1) : -1;
  buf[n > 0 ? n : 0] = '\0';
  if (fd >= 0)
    close(fd);
}

static void test_cgroup_slot(void)
{
  struct sf_reaper rp;
  sf_reaper_open(&rp);
  if (!rp.cg.base[0]) {
    printf("note: no writable pids cgroup here; the cgroup slot is not checked\n");
    sf_reaper_close(&rp);
    return;
  }
  struct sf_cgslot s;
  sf_cg_slot_init(&s);
  int fd = sf_cg_slot_ready(&rp.cg, &s, 1, 512);
  CHECK(fd >= 0);
  char first[PATH_MAX], buf[64];
  snprintf(first, sizeof first, "%s", s.dir);
  read_file(s.dir, "pids.max", buf, sizeof buf);
  CHECK_STR(buf, "512\n");

  /* a run that ended and was reaped: the group stays the slot's */
  pid_t pid = join(fd, NULL);
  int st;
  CHECK_EQ(waitpid(pid, &st, 0), pid);
  CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
  CHECK(sf_cg_slot_empty(&s));
  CHECK(sf_reaper_run_done(&rp, &s, "unused", NULL, 0));
  CHECK_STR(s.dir, first);

  /* a zombie not yet reaped is still in the group's count */
  pid = join(fd, NULL);
  siginfo_t si;
  CHECK_EQ(waitid(P_PID, (id_t)pid, &si, WEXITED | WNOWAIT), 0);
  CHECK(!sf_cg_slot_empty(&s));
  CHECK_EQ(waitpid(pid, &st, 0), pid);
  CHECK(sf_cg_slot_empty(&s));

  /* a run (as root) raised its pids.max: the next run has 512 again, same group */
  char p[PATH_MAX + 32];
  snprintf(p, sizeof p, "%s/pids.max", s.dir);
  int m = open(p, O_WRONLY | O_CLOEXEC);
  CHECK(m >= 0 && write(m, "max", 3) == 3);
  if (m >= 0)
    close(m);
  CHECK_EQ(sf_cg_slot_ready(&rp.cg, &s, 2, 512), fd);
  CHECK_STR(s.dir, first);
  read_file(s.dir, "pids.max", buf, sizeof buf);
  CHECK_STR(buf, "512\n");

  /* a run that left a process alive: not reused; the process killed, the group removed */
  int pfd[2];
  CHECK_EQ(pipe2(pfd, O_CLOEXEC), 0);
  pid = join(fd, pfd);
  for (int i = 0; i < 2000 && sf_cg_slot_empty(&s); i++)
    usleep(1000); /* until it has joined */
  CHECK(!sf_cg_slot_empty(&s));
  CHECK(!sf_reaper_run_done(&rp, &s, "unused", NULL, 0));
  CHECK_STR(s.dir, "");
  CHECK_EQ(s.procs_fd, -1);
  close(pfd[0]);
  close(pfd[1]); /* if it was not killed, it exits now */
  CHECK_EQ(waitpid(pid, &st, 0), pid);
  CHECK(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
  for (int i = 0; i < 2000 && rp.ndying; i++) {
    sf_reaper_poll(&rp);
    usleep(1000);
  }
  CHECK_EQ(rp.ndying, 0);
  CHECK(access(first, F_OK) != 0 && errno == ENOENT);

  /* and the slot's next run gets a group of its own */
  CHECK(sf_cg_slot_ready(&rp.cg, &s, 3, 512) >= 0);
  CHECK(s.dir[0] && strcmp(s.dir, first) != 0);
  char last[PATH_MAX];
  snprintf(last, sizeof last, "%s", s.dir);
  sf_reaper_slot_close(&rp, &s);
  CHECK_STR(s.dir, "");
  CHECK(access(last, F_OK) != 0);
  char base[PATH_MAX];
  snprintf(base, sizeof base, "%s", rp.cg.base);
  sf_reaper_close(&rp);
  CHECK(access(base, F_OK) != 0);
}

/* A warning while a status line is on screen erases it first, once; otherwise it is the
 * message alone. stderr goes to a file for the while. */
static void test_warn_erases_status_line(void)
{
  char path[] = "/tmp/sf_warn_XXXXXX";
  int fd = mkstemp(path);
  CHECK(fd >= 0);
  if (fd < 0)
    return;
  fflush(stderr);
  int saved = dup(2);
  dup2(fd, 2);
  sf_warn("plain %d\n", 1);
  fputs("\r\033[Kexplore: 1/9 runs", stderr);
  sf_status_shown(true);
  sf_warn("over %s\n", "line");
  sf_warn("next\n");
  fflush(stderr);
  dup2(saved, 2);
  close(saved);
  char buf[256] = {0};
  ssize_t n = pread(fd, buf, sizeof buf - 1, 0);
  close(fd);
  unlink(path);
  CHECK(n > 0);
  CHECK_STR(buf, "plain 1\n\r\033[Kexplore: 1/9 runs\r\033[Kover line\nnext\n");
}

int main(void)
{
  test_warn_erases_status_line();
  test_dir_empty();
  test_cgroup_slot();
  CHECK_DONE();
}
