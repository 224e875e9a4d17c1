/*
 * sockfault_fuzz_main.c — a main() for fuzz targets built without a fuzzing engine (gcc, or
 * clang without libFuzzer): runs LLVMFuzzerTestOneInput once on each file named, and on each
 * file of each directory named, as `target -runs=1 FILE...` does under libFuzzer. Options
 * (arguments starting with '-') are accepted and ignored, so the same ctest command line
 * serves both builds. Installed as libsockfault_fuzz_main.a (SockFault::fuzz_main).
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv) __attribute__((weak));

static int run_file(const char *path)
{
  FILE *f = fopen(path, "rb");
  if (f == NULL) {
    fprintf(stderr, "%s: %s\n", path, strerror(errno));
    return -1;
  }
  uint8_t *buf = NULL;
  size_t len = 0, cap = 0;
  for (;;) {
    if (len == cap) {
      cap = cap ? 2 * cap : 4096;
      uint8_t *p = realloc(buf, cap);
      if (p == NULL) {
        fprintf(stderr, "%s: out of memory\n", path);
        free(buf);
        fclose(f);
        return -1;
      }
      buf = p;
    }
    size_t n = fread(buf + len, 1, cap - len, f);
    if (n == 0)
      break;
    len += n;
  }
  int bad = ferror(f);
  fclose(f);
  if (bad) {
    fprintf(stderr, "%s: read error\n", path);
    free(buf);
    return -1;
  }
  fprintf(stderr, "Running: %s\n", path);
  /* An exact-size copy, so ASan sees a read past the input's end. */
  uint8_t *copy = malloc(len ? len : 1);
  if (copy == NULL) {
    free(buf);
    return -1;
  }
  memcpy(copy, buf, len);
  free(buf);
  LLVMFuzzerTestOneInput(copy, len);
  free(copy);
  return 0;
}

static int compare(const void *a, const void *b)
{
  return strcmp(*(char *const *)a, *(char *const *)b);
}

static int run_dir(const char *path)
{
  DIR *d = opendir(path);
  if (d == NULL) {
    fprintf(stderr, "%s: %s\n", path, strerror(errno));
    return -1;
  }
  char **names = NULL;
  size_t n = 0;
  struct dirent *e;
  int rc = 0;
  while ((e = readdir(d)) != NULL) {
    if (e->d_name[0] == '.')
      continue;
    char **p = realloc(names, (n + 1) * sizeof *names);
    if (p == NULL || asprintf(&p[n], "%s/%s", path, e->d_name) < 0) {
      names = p ? p : names;
      rc = -1;
      break;
    }
    names = p;
    n++;
  }
  closedir(d);
  qsort(names, n, sizeof *names, compare);
  for (size_t i = 0; i < n; i++) {
    struct stat st;
    if (rc == 0 && stat(names[i], &st) == 0 && S_ISREG(st.st_mode) && run_file(names[i]) != 0)
      rc = -1;
    free(names[i]);
  }
  free(names);
  return rc;
}

int main(int argc, char **argv)
{
  if (LLVMFuzzerInitialize)
    LLVMFuzzerInitialize(&argc, &argv);
  int runs = 0, rc = 0;
  for (int i = 1; i < argc; i++) {
    if (argv[i][0] == '-')
      continue;
    struct stat st;
    if (stat(argv[i], &st) != 0) {
      fprintf(stderr, "%s: %s\n", argv[i], strerror(errno));
      rc = 1;
      continue;
    }
    if ((S_ISDIR(st.st_mode) ? run_dir(argv[i]) : run_file(argv[i])) != 0)
      rc = 1;
    runs++;
  }
  if (runs == 0) {
    fprintf(stderr, "usage: %s FILE|DIR... (built without a fuzzing engine: runs each input "
                    "once)\n", argv[0]);
    return 2;
  }
  return rc;
}
