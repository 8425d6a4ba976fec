/* SPDX-License-Identifier: GPL-3.0-or-later */
/* run_rpc.c -- the rpc dialect's ends of `upgrade run` (see run_rpc.h). */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "upgrade/fileio.h"
#include "upgrade/human.h"
#include "upgrade/outcome.h"
#include "upgrade/platform.h"
#include "upgrade/response.h"
#include "upgrade/rpc_keys.h"
#include "upgrade/run_rpc.h"

/* PATH made absolute against the current directory (malloc'd). */
static char *
absolute(const char *path)
{
  char cwd[4096], *abs = NULL;
  if (path[0] == '/')
    return strdup(path);
  if (!getcwd(cwd, sizeof cwd))
    return NULL;
  return asprintf(&abs, "%s/%s", cwd, path) < 0 ? NULL : abs;
}

/* NAME less one of the dump suffixes the platform knows (§4.3). */
static size_t
stem_length(const char *name)
{
  static const char *const suffixes[] = { ".sql.gz", ".dump", ".sql", ".zip" };
  size_t n = strlen(name);
  for (size_t i = 0; i < sizeof suffixes / sizeof suffixes[0]; i++) {
    size_t k = strlen(suffixes[i]);
    if (n > k && strcmp(name + n - k, suffixes[i]) == 0)
      return n - k;
  }
  return n;
}

char *
upg_run_rpc_output(const char *dump, const char *output, const char *restore_as)
{
  if (output)
    return absolute(output);
  char *copy = strdup(dump), *abs = NULL, *path = NULL;
  if (!copy)
    return NULL;
  size_t n = strlen(copy);
  while (n > 1 && copy[n - 1] == '/')
    copy[--n] = '\0';
  char *base = strdup(basename(copy)), *dir = strdup(dirname(copy));
  if (base && dir && ((abs = realpath(dir, NULL)) || (abs = absolute(dir)))) {
    if (restore_as ? asprintf(&path, "%s/upgraded_%s", abs, restore_as) < 0
                   : asprintf(&path, "%s/upgraded_%.*s", abs, (int)stem_length(base), base) < 0)
      path = NULL;
  }
  free(abs);
  free(dir);
  free(base);
  free(copy);
  return path;
}

int
upg_run_rpc_open_directory(const char *dump, int *fd, jv *doc)
{
  *fd = open(dump, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (*fd < 0)
    return upg_fail(doc, UPG_EXIT_USAGE, upg_failure("CLIENT:FILE", "%s: %s", dump, strerror(errno)));
  struct stat st;
  if (fstatat(*fd, "toc.dat", &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode) && st.st_size > 0)
    return 0;
  close(*fd);
  *fd = -1;
  return upg_fail(doc, UPG_EXIT_USAGE,
                  upg_failure("CLIENT:FILE", "%s: a directory without a toc.dat, so not a directory-format dump "
                              "(pg_dump --format=directory, or `upgrade dump --format directory`)", dump));
}

long long
upg_run_rpc_dump_size(const char *dump)
{
  struct stat st;
  if (stat(dump, &st) != 0)
    return -1;
  if (!S_ISDIR(st.st_mode))
    return (long long)st.st_size;
  long long total;
  return upg_dir_files_size(dump, &total, NULL) == 0 ? total : -1;
}

void
upg_run_rpc_name(upg_settings *s, const upg_runstate *rs)
{
  upg_secret_add(s, rs->token);
  s->api = "rpc";
  s->token = rs->token;
  s->node = rs->node;
  s->identity = rs->identity;
}

/* The request's fields out of create's document into RS. */
static int
take_request(upg_runstate *rs, jv created, jv *doc)
{
  rs->request = upg_request_field(created, "request_id");
  rs->token = upg_request_field(created, "token");
  rs->node = upg_request_field(created, "assigned_host_uri");
  char *identity = upg_request_field(created, "identity");
  if (identity) {
    free(rs->identity);
    rs->identity = identity;
  }
  if (rs->token && rs->node && rs->identity)
    return 0;
  return upg_fail(doc, UPG_EXIT_TRANSPORT,
                  upg_failure("CLIENT:BAD_RESPONSE", "create: the answer lacks the token or the node"));
}

int
upg_run_rpc_create(upg_settings *s, upg_runstate *rs, const char *dump, jv *doc)
{
  char *made = NULL;
  int status;
  if (!s->identity) {
    if (!(made = upg_runstate_key_path(dump)))
      return upg_fail(doc, UPG_EXIT_USAGE, upg_failure("CLIENT:FILE", "out of memory"));
    if ((status = upg_rpc_key_new_at(s, made, doc))) {
      free(made);
      return status;
    }
    s->identity = made;
  }
  upg_create_params create = { .contract = rs->contract, .target = rs->target, .aim = rs->aim,
                                .env = (const char *const *)rs->env };
  jv created;
  status = upg_platform_rpc.create(s, &create, &created);
  if (status) {
    *doc = created;
  } else {
    status = take_request(rs, created, doc);
    jv_free(created);
  }
  if (status && made) { /* nothing is bound to it */
    char *pub = NULL;
    if (asprintf(&pub, "%s.pub", made) >= 0)
      unlink(pub);
    free(pub);
    unlink(made);
  }
  if (made)
    s->identity = NULL;
  free(made);
  if (!status)
    upg_run_rpc_name(s, rs);
  return status;
}

int
upg_run_rpc_archived(jv status_doc, jv *doc)
{
  jv archived = jv_getpath(jv_copy(status_doc), JV_ARRAY(jv_string("request"), jv_string("archived")));
  bool yes = jv_get_kind(archived) == JV_KIND_TRUE;
  jv_free(archived);
  if (!yes)
    return 0;
  return upg_fail(doc, UPG_EXIT_FAILED,
                  upg_failure("SERVER:ARCHIVED", "the platform reports the request archived (closed, its data "
                              "gone): it cannot be continued; a new `upgrade run` starts another request"));
}

bool
upg_run_rpc_incompatible(jv process_doc)
{
  jv fits = jv_getpath(jv_copy(process_doc), JV_ARRAY(jv_string("request"), jv_string("is_pg_version_compatible")));
  bool no = jv_get_kind(fits) == JV_KIND_FALSE;
  jv_free(fits);
  return no;
}

/* PATH removed (a tree), said on stderr. */
static void
remove_said(const upg_settings *s, const char *path)
{
  if (upg_remove_tree(path) == 0)
    upg_notice(s, "removed %s (--remove-dumps)", path);
  else
    upg_notice(s, "could not remove %s: %s", path, strerror(errno));
}

void
upg_run_rpc_remove_dumps(const upg_settings *s, const char *dump, const char *output)
{
  remove_said(s, dump);
  DIR *d = opendir(output);
  if (!d)
    return;
  struct dirent *e;
  while ((e = readdir(d))) {
    const char *n = e->d_name;
    if (strcmp(n, ".") == 0 || strcmp(n, "..") == 0 || strcmp(n, "upgrade-report.html") == 0 ||
        strcmp(n, "upgrade.log") == 0)
      continue;
    char *path = NULL;
    if (asprintf(&path, "%s/%s", output, n) >= 0)
      remove_said(s, path);
    free(path);
  }
  closedir(d);
}

/* DIR/NAME when it is a regular file there, else null. */
static jv
file_in(const char *dir, const char *name)
{
  char *path = NULL;
  struct stat st;
  if (asprintf(&path, "%s/%s", dir, name) < 0)
    return jv_null();
  jv v = lstat(path, &st) == 0 && S_ISREG(st.st_mode) ? jv_string(path) : jv_null();
  free(path);
  return v;
}

jv
upg_run_rpc_files(const char *output)
{
  return JV_OBJECT(jv_string("directory"), jv_string(output), jv_string("report"),
                   file_in(output, "upgrade-report.html"), jv_string("log"), file_in(output, "upgrade.log"));
}
