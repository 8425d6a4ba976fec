/* runstate.c -- the record of an open `upgrade run` (see runstate.h). */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "upgrade/files.h"
#include "upgrade/outcome.h"
#include "upgrade/runstate.h"

static const char *const step_names[] = { "none", "created", "uploaded", "processed", "done" };

const char *
upg_run_step_name(enum upg_run_step step)
{
  return step_names[step];
}

char *
upg_runstate_path(const char *dump)
{
  char *path = NULL;
  return asprintf(&path, "%s%s", dump, UPG_RUNSTATE_SUFFIX) < 0 ? NULL : path;
}

static char *
string_field(jv record, const char *name)
{
  jv v = jv_object_get(jv_copy(record), jv_string(name));
  char *text = jv_get_kind(v) == JV_KIND_STRING ? strdup(jv_string_value(v)) : NULL;
  jv_free(v);
  return text;
}

static int
unusable(jv *doc, const char *path, const char *why)
{
  return upg_fail(doc, UPG_EXIT_USAGE, upg_failure("CLIENT:FILE", "%s: %s", path, why));
}

/* The whole record file (a few hundred bytes; refuse anything large). */
static char *
read_record(const char *path, int *err)
{
  int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) {
    *err = errno;
    return NULL;
  }
  size_t n = 0;
  char *text = upg_read_small(fd, 65536, &n);
  close(fd);
  if (!text || n == 65536) {
    free(text);
    *err = EINVAL;
    return NULL;
  }
  return text;
}

int
upg_runstate_load(upg_runstate *rs, const char *dump, jv *doc)
{
  memset(rs, 0, sizeof *rs);
  rs->path = upg_runstate_path(dump);
  int err = 0;
  char *text = rs->path ? read_record(rs->path, &err) : NULL;
  if (!text) {
    if (err == ENOENT) {
      errno = ENOENT;
      return -1;
    }
    return unusable(doc, rs->path ? rs->path : dump, "cannot read the job record");
  }
  jv record = jv_parse(text);
  free(text);
  if (jv_get_kind(record) != JV_KIND_OBJECT) {
    jv_free(record);
    return unusable(doc, rs->path, "not a job record (JSON object expected)");
  }
  rs->request = string_field(record, "request");
  rs->key = string_field(record, "key");
  rs->url = string_field(record, "url");
  rs->output = string_field(record, "output");
  rs->target = string_field(record, "target");
  rs->aim = string_field(record, "aim");
  jv sftp = jv_object_get(jv_copy(record), jv_string("sftp"));
  rs->sftp = jv_get_kind(sftp) == JV_KIND_TRUE;
  jv_free(sftp);
  char *step = string_field(record, "step");
  for (int i = 0; step && i <= UPG_STEP_DONE; i++)
    if (strcmp(step, step_names[i]) == 0)
      rs->step = (enum upg_run_step)i;
  free(step);
  jv_free(record);
  if (!rs->request || !rs->key || !rs->url || !rs->output || rs->step == UPG_STEP_NONE)
    return unusable(doc, rs->path, "the job record lacks request, key, url, output or step");
  return 0;
}

static jv
optional(const char *text)
{
  return text ? jv_string(text) : jv_null();
}

int
upg_runstate_save(const upg_runstate *rs, jv *doc)
{
  jv record = JV_OBJECT(jv_string("request"), jv_string(rs->request), jv_string("key"), jv_string(rs->key),
                        jv_string("url"), jv_string(rs->url), jv_string("output"), jv_string(rs->output),
                        jv_string("target"), optional(rs->target), jv_string("aim"), optional(rs->aim),
                        jv_string("sftp"), jv_bool(rs->sftp),
                        jv_string("step"), jv_string(upg_run_step_name(rs->step)));
  jv text = jv_dump_string(record, JV_PRINT_INDENT_FLAGS(2));
  text = jv_string_append_str(text, "\n");
  int status = 0;
  if (upg_replace_file(rs->path, jv_string_value(text), (size_t)jv_string_length_bytes(jv_copy(text))) != 0)
    status = upg_fail(doc, UPG_EXIT_USAGE,
                      upg_failure("CLIENT:FILE", "cannot write the job record %s: %s", rs->path, strerror(errno)));
  jv_free(text);
  return status;
}

void
upg_runstate_remove(const upg_runstate *rs)
{
  if (rs->path)
    unlink(rs->path);
}

void
upg_runstate_free(upg_runstate *rs)
{
  free(rs->path);
  free(rs->request);
  free(rs->key);
  free(rs->url);
  free(rs->output);
  free(rs->target);
  free(rs->aim);
  memset(rs, 0, sizeof *rs);
}
