/* The report's output formats (outputs.h). */
#define _GNU_SOURCE
#include "outputs.h"

#include <errno.h>
#include <string.h>

#include "options.h"

const struct sf_output_format sf_output_formats[SF_NOUTPUTS] = {
    {"json", sf_report_write_json},
    {"junit", sf_report_write_junit},
    {"html", sf_report_write_html},
};

int sf_output_lookup(const char *name)
{
  for (int i = 0; i < SF_NOUTPUTS; i++)
    if (strcmp(sf_output_formats[i].option, name) == 0)
      return i;
  return -1;
}

int sf_outputs_check(const char *verb, const struct sf_outputs *o)
{
  for (int i = 0; i < SF_NOUTPUTS; i++) {
    const char *p = o->path[i];
    if (!p)
      continue;
    for (int j = i + 1; j < SF_NOUTPUTS; j++)
      if (o->path[j] && strcmp(p, o->path[j]) == 0 && strcmp(p, "-") != 0) {
        sf_opt_err(verb, "--%s and --%s both name '%s'", sf_output_formats[i].option,
                   sf_output_formats[j].option, p);
        return -1;
      }
    char opt[32];
    snprintf(opt, sizeof opt, "--%s", sf_output_formats[i].option);
    if (sf_check_output(verb, opt, p) != 0)
      return -1;
  }
  return 0;
}

int sf_outputs_write(const char *verb, const struct sf_report *r, const struct sf_outputs *o)
{
  char err[600];
  int rc = 0;
  bool to_stdout = false;
  for (int i = 0; i < SF_NOUTPUTS; i++) {
    if (!o->path[i])
      continue;
    to_stdout |= strcmp(o->path[i], "-") == 0;
    if (sf_report_save(r, o->path[i], sf_output_formats[i].write, err, sizeof err) != 0) {
      sf_err(verb, "--%s %s", sf_output_formats[i].option, err);
      rc = -1;
    }
  }
  if (!o->quiet && !to_stdout &&
      (sf_report_write_text(r, stdout) != 0 || fflush(stdout) != 0 || ferror(stdout))) {
    sf_err(verb, "stdout: %s", strerror(errno ? errno : EIO));
    rc = -1;
  }
  return rc;
}
