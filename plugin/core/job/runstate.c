/* SPDX-License-Identifier: GPL-3.0-or-later */
/* runstate.c -- the record of an open `upgrade run` (see runstate.h). */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "upgrade/child.h"
#include "upgrade/fileio.h"
#include "upgrade/outcome.h"
#include "upgrade/response.h"
#include "upgrade/runstate.h"

static const char *const step_names[] = { "none", "started", "dumped", "created", "uploaded", "processed", "done",
                                          "downloaded", "restored" };

const char *
upg_run_step_name(enum upg_run_step step)
{
  return step_names[step];
}

/* DUMP, less a directory dump's trailing slashes, then SUFFIX. */
static char *
beside(const char *dump, const char *suffix)
{
  size_t n = strlen(dump);
  while (n > 1 && dump[n - 1] == '/')
    n--;
  char *path = NULL;
  return asprintf(&path, "%.*s%s", (int)n, dump, suffix) < 0 ? NULL : path;
}

char *
upg_runstate_path(const char *dump)
{
  return beside(dump, UPG_RUNSTATE_SUFFIX);
}

char *
upg_runstate_key_path(const char *dump)
{
  return beside(dump, UPG_RUNSTATE_KEY_SUFFIX);
}

/* The record's text fields, each in one group: saved always, by a job
 * from a database, until the request exists, or by an rpc job. */
enum group { ALWAYS, DATABASE, UNTIL_CREATED, RPC };
static const struct text_field {
  const char *name;
  size_t offset;
  enum group group;
} text_fields[] = {
  { "request", offsetof(upg_runstate, request), ALWAYS },
  { "key", offsetof(upg_runstate, key), ALWAYS },
  { "url", offsetof(upg_runstate, url), ALWAYS },
  { "output", offsetof(upg_runstate, output), ALWAYS },
  { "target", offsetof(upg_runstate, target), ALWAYS },
  { "aim", offsetof(upg_runstate, aim), ALWAYS },
  { "database", offsetof(upg_runstate, database), DATABASE },
  { "restore_as", offsetof(upg_runstate, restore_as), DATABASE },
  { "data_dir", offsetof(upg_runstate, data_dir), DATABASE },
  { "contract", offsetof(upg_runstate, contract), UNTIL_CREATED },
  { "email", offsetof(upg_runstate, email), UNTIL_CREATED },
  { "filename", offsetof(upg_runstate, filename), UNTIL_CREATED },
  { "timezone", offsetof(upg_runstate, timezone), UNTIL_CREATED },
  { "token", offsetof(upg_runstate, token), RPC },
  { "node", offsetof(upg_runstate, node), RPC },
  { "identity", offsetof(upg_runstate, identity), RPC },
};
#define TEXT_FIELDS (sizeof text_fields / sizeof text_fields[0])

static char **
text_of(upg_runstate *rs, size_t i)
{
  return (char **)((char *)rs + text_fields[i].offset);
}

static const char *
text_in(const upg_runstate *rs, size_t i)
{
  return *(char *const *)((const char *)rs + text_fields[i].offset);
}

static char *
string_field(jv record, const char *name)
{
  jv v = jv_object_get(jv_copy(record), jv_string(name));
  char *text = jv_get_kind(v) == JV_KIND_STRING ? strdup(jv_string_value(v)) : NULL;
  jv_free(v);
  return text;
}

/* The request id: the platform's number (a record of an older version
 * holds it as a string). */
static char *
request_field(jv record)
{
  jv v = jv_object_get(jv_copy(record), jv_string("request"));
  char *text = upg_id_text(v);
  jv_free(v);
  return text;
}

static int
unusable(jv *doc, const char *path, const char *why)
{
  return upg_fail(doc, UPG_EXIT_USAGE, upg_failure("CLIENT:FILE", "%s: %s", path, why));
}

/* 0, or exit 2 with *doc when the record open on FD cannot be believed: it
 * must be a regular file that only the user could have written. */
static int
untrusted(jv *doc, const char *path, int fd)
{
  struct stat st;
  if (fstat(fd, &st) != 0)
    return unusable(doc, path, strerror(errno));
  if (!S_ISREG(st.st_mode))
    return unusable(doc, path, "not a regular file, so not a job record `upgrade run` wrote; remove it");
  if (st.st_uid != geteuid())
    return upg_fail(doc, UPG_EXIT_USAGE,
                    upg_failure("CLIENT:FILE", "%s: owned by uid %u, not by you (uid %u): refusing a job record "
                                "someone else may have written (it says where the dump and its key are sent); "
                                "remove it and start again", path, (unsigned)st.st_uid, (unsigned)geteuid()));
  if (st.st_mode & 077)
    return upg_fail(doc, UPG_EXIT_USAGE,
                    upg_failure("CLIENT:FILE", "%s: mode %04o gives group or others access to it (it holds the "
                                "key and says where the dump is sent): refusing it; if you know it is unchanged, "
                                "`chmod 600 %s` and continue, else remove it and start again",
                                path, (unsigned)(st.st_mode & 07777), path));
  return 0;
}

/* The whole record file (a few hundred bytes; refuse anything large) in
 * *text.  0; -1 when there is none; 2 with *doc set.  O_NONBLOCK: a FIFO
 * planted there must be refused, not waited on. */
static int
read_record(const char *path, char **text, jv *doc)
{
  *text = NULL;
  int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
  if (fd < 0) {
    if (errno == ENOENT)
      return UPG_RUNSTATE_NONE;
    return unusable(doc, path, errno == ELOOP ? "a symbolic link, not a job record; remove it" : strerror(errno));
  }
  int status = untrusted(doc, path, fd);
  size_t n = 0;
  if (status)
    goto out;
  *text = upg_read_small(fd, 65536, &n);
  if (!*text || n == 65536) { /* a record is a few hundred bytes */
    free(*text);
    *text = NULL;
    status = unusable(doc, path, "cannot read the job record");
  }
out:
  close(fd);
  return status;
}

/* Whether RECORD's FIELD is true (absent: false, as before it existed). */
static bool
true_field(jv record, const char *field)
{
  jv value = jv_object_get(jv_copy(record), jv_string(field));
  bool yes = jv_get_kind(value) == JV_KIND_TRUE;
  jv_free(value);
  return yes;
}

/* RECORD's "env" (absent: none) into *env; false when it is not an array
 * of strings. */
static bool
env_field(jv record, char ***env)
{
  jv list = jv_object_get(jv_copy(record), jv_string("env"));
  bool ok = jv_get_kind(list) == JV_KIND_INVALID || jv_get_kind(list) == JV_KIND_NULL;
  if (jv_get_kind(list) == JV_KIND_ARRAY) {
    int n = jv_array_length(jv_copy(list));
    ok = (*env = calloc((size_t)n + 1, sizeof **env)) != NULL;
    for (int i = 0; ok && i < n; i++) {
      jv var = jv_array_get(jv_copy(list), i);
      ok = jv_get_kind(var) == JV_KIND_STRING && ((*env)[i] = strdup(jv_string_value(var))) != NULL;
      jv_free(var);
    }
  }
  jv_free(list);
  return ok;
}

int
upg_runstate_load(upg_runstate *rs, const char *dump, jv *doc)
{
  memset(rs, 0, sizeof *rs);
  rs->path = upg_runstate_path(dump);
  if (!rs->path)
    return unusable(doc, dump, "cannot name the job record");
  char *text = NULL;
  int status = read_record(rs->path, &text, doc);
  if (status == UPG_RUNSTATE_NONE)
    errno = ENOENT;
  if (status)
    return status;
  jv record = jv_parse(text);
  free(text);
  if (jv_get_kind(record) != JV_KIND_OBJECT) {
    jv_free(record);
    return unusable(doc, rs->path, "not a job record (JSON object expected)");
  }
  for (size_t i = 0; i < TEXT_FIELDS; i++)
    *text_of(rs, i) = string_field(record, text_fields[i].name);
  free(rs->request);
  rs->request = request_field(record);
  if (!env_field(record, &rs->env)) {
    jv_free(record);
    return unusable(doc, rs->path, "the job record's env is not a list of NAME=VALUE texts");
  }
  rs->sftp = true_field(record, "sftp");
  rs->force = true_field(record, "force");
  rs->no_filestore = true_field(record, "no_filestore");
  char *dialect = string_field(record, "dialect"); /* none: v1's, as every record before rpc */
  rs->rpc = dialect && strcmp(dialect, "rpc") == 0;
  bool known = !dialect || rs->rpc || strcmp(dialect, "v1") == 0;
  free(dialect);
  jv compatible = jv_object_get(jv_copy(record), jv_string("pg_version_compatible"));
  rs->pg_incompatible = jv_get_kind(compatible) == JV_KIND_FALSE;
  jv_free(compatible);
  char *state = string_field(record, "state"); /* none: a record from before closing existed, open */
  rs->closed = state && strcmp(state, "closed") == 0;
  free(state);
  char *step = string_field(record, "step");
  for (int i = 0; step && i <= UPG_STEP_RESTORED; i++)
    if (strcmp(step, step_names[i]) == 0)
      rs->step = (enum upg_run_step)i;
  free(step);
  jv_free(record);
  if (!known)
    return unusable(doc, rs->path, "the job record names a dialect other than v1 and rpc");
  if (!rs->url || !rs->output || rs->step == UPG_STEP_NONE)
    return unusable(doc, rs->path, "the job record lacks url, output or step");
  if (rs->step < UPG_STEP_CREATED ? !rs->database || !rs->contract || (!rs->rpc && !rs->email) || !rs->target ||
                                        !rs->aim
                                   : rs->rpc ? !rs->token || !rs->node || !rs->identity : !rs->request || !rs->key)
    return unusable(doc, rs->path, rs->step < UPG_STEP_CREATED
                    ? "the job record lacks the database or what create sends"
                    : rs->rpc ? "the job record lacks the request's token, node or key path"
                              : "the job record lacks the request or its key");
  if (rs->step > UPG_STEP_DONE && !rs->database)
    return unusable(doc, rs->path, "the job record names a restore step but no database");
  if (rs->output[0] != '/')
    return unusable(doc, rs->path, "the job record's output is not an absolute path, so run did not write it; remove it");
  return 0;
}

static jv
optional(const char *text)
{
  return text ? jv_string(text) : jv_null();
}

static int
write_failed(jv *doc, const upg_runstate *rs, int err)
{
  return upg_fail(doc, UPG_EXIT_USAGE,
                  upg_failure("CLIENT:FILE", "cannot write the job record %s: %s", rs->path, strerror(err)));
}

int
upg_runstate_save(const upg_runstate *rs, jv *doc)
{
  jv record = JV_OBJECT(jv_string("sftp"), jv_bool(rs->sftp), jv_string("step"),
                        jv_string(upg_run_step_name(rs->step)), jv_string("state"),
                        jv_string(rs->closed ? "closed" : "open"), jv_string("force"), jv_bool(rs->force),
                        jv_string("no_filestore"), jv_bool(rs->no_filestore));
  /* a job from a database: what the later steps need; no request yet:
   * what create will send */
  bool group[] = { [ALWAYS] = true, [DATABASE] = rs->database, [UNTIL_CREATED] = rs->step < UPG_STEP_CREATED,
                   [RPC] = rs->rpc };
  for (size_t i = 0; i < TEXT_FIELDS; i++)
    if (group[text_fields[i].group])
      record = jv_object_set(record, jv_string(text_fields[i].name), optional(text_in(rs, i)));
  if (rs->env && group[UNTIL_CREATED]) {
    jv list = jv_array();
    for (size_t i = 0; rs->env[i]; i++)
      list = jv_array_append(list, jv_string(rs->env[i]));
    record = jv_object_set(record, jv_string("env"), list);
  }
  if (rs->request) /* as create and status give it */
    record = jv_object_set(record, jv_string("request"), upg_request_id(rs->request));
  if (rs->rpc) { /* v1's records are as they were */
    record = jv_object_set(record, jv_string("dialect"), jv_string("rpc"));
    if (rs->pg_incompatible)
      record = jv_object_set(record, jv_string("pg_version_compatible"), jv_false());
  }
  jv text = jv_dump_string(record, JV_PRINT_INDENT_FLAGS(2));
  text = jv_string_append_str(text, "\n");
  int status = 0;
  if (upg_replace_file(rs->path, jv_string_value(text), (size_t)jv_string_length_bytes(jv_copy(text))) != 0)
    status = write_failed(doc, rs, errno);
  jv_free(text);
  return status;
}

int
upg_runstate_check_writable(const upg_runstate *rs, jv *doc)
{
  /* The same kind of temporary upg_replace_file makes, made and removed. */
  char *tmp = NULL;
  if (asprintf(&tmp, "%s.XXXXXX", rs->path) < 0)
    return write_failed(doc, rs, ENOMEM);
  int fd = mkostemp(tmp, O_CLOEXEC);
  if (fd < 0) {
    int err = errno;
    free(tmp);
    errno = err;
    return upg_fail(doc, UPG_EXIT_USAGE,
                    upg_failure("CLIENT:FILE", "cannot write the job record %s: %s; run keeps it beside the "
                                "dump, so the dump's directory must be writable (nothing was created)",
                                rs->path, strerror(errno)));
  }
  close(fd);
  unlink(tmp);
  free(tmp);
  return 0;
}

void
upg_runstate_remove(const upg_runstate *rs)
{
  if (rs->path)
    unlink(rs->path);
}

int
upg_runstate_close(upg_runstate *rs, jv *doc)
{
  rs->closed = true;
  return upg_runstate_save(rs, doc);
}

void
upg_runstate_free(upg_runstate *rs)
{
  free(rs->path);
  for (size_t i = 0; i < TEXT_FIELDS; i++)
    free(*text_of(rs, i));
  upg_argv_free(rs->env);
  memset(rs, 0, sizeof *rs);
}
