/* SPDX-License-Identifier: GPL-3.0-or-later */
/* rsync_argv.c -- the argv of an rpc transfer (see rpc_rsync.h). */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "upgrade/outcome.h"
#include "upgrade/rpc_answer.h"
#include "upgrade/rpc_fields.h"
#include "upgrade/rpc_rsync.h"

#define ARGV_MAX 24

bool
upg_rsync_rsh_path_ok(const char *path)
{
  static const char safe[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789/._+,=@-";
  return path && *path && !path[strspn(path, safe)] && path[0] != '-';
}

/* A path that may stand in --rsh: rsync splits that string on spaces and
 * ssh expands '%' and '~' in its file options. */
static int
check_rsh_path(const char *what, const char *path, jv *doc)
{
  if (!path || !*path)
    return upg_fail(doc, UPG_EXIT_USAGE, upg_failure("CLIENT:USAGE", "rsync: no %s file", what));
  if (!upg_rsync_rsh_path_ok(path))
    return upg_fail(doc, UPG_EXIT_USAGE,
                    upg_failure("CLIENT:USAGE", "rsync: the %s path %s holds a character ssh or rsync would "
                                "split or expand (only letters, digits and /._+,=@- can be passed to ssh "
                                "through rsync): use a path without it", what, path));
  return 0;
}

static int
check_spec(const upg_rsync_spec *sp, jv *doc)
{
  const char *why;
  int st;
  if ((why = upg_rpc_bad_host(sp->host)))
    return upg_rpc_bad_field(doc, "rsync", "host", sp->host, why);
  if (sp->port < 1 || sp->port > 65535)
    return upg_rpc_bad_field(doc, "rsync", "ssh_port", NULL, "is not a port number (1..65535)");
  if ((why = upg_rpc_bad_dump_name(sp->remote)))
    return upg_rpc_bad_field(doc, "rsync", "file name", sp->remote, why);
  if ((st = check_rsh_path("key", sp->key, doc)) || (st = check_rsh_path("known hosts", sp->known_hosts, doc)))
    return st;
  if (!sp->local || !*sp->local)
    return upg_fail(doc, UPG_EXIT_USAGE, upg_failure("CLIENT:USAGE", "rsync: no local path"));
  return 0;
}

/* LOCAL as rsync must see it: "./" before a relative path, "/" after a
 * directory whose contents move. */
static char *
local_arg(const char *local, int trailing_slash)
{
  size_t len = strlen(local);
  int slash = trailing_slash && local[len - 1] != '/';
  char *arg;
  if (asprintf(&arg, "%s%s%s", local[0] == '/' ? "" : "./", local, slash ? "/" : "") < 0)
    return NULL;
  return arg;
}

static char *
remote_arg(const upg_rsync_spec *sp, const char *name)
{
  char *arg;
  if (asprintf(&arg, "%s@%s:%s/%s", UPG_RPC_SSH_USER, sp->host, UPG_RPC_DATA_DIR, name) < 0)
    return NULL;
  return arg;
}

static char *
rsh_arg(const upg_rsync_spec *sp)
{
  char *arg;
  if (asprintf(&arg, "--rsh=ssh -F /dev/null -p %d -o IdentitiesOnly=yes -o StrictHostKeyChecking=yes -o BatchMode=yes "
               "-o UserKnownHostsFile=%s -o GlobalKnownHostsFile=/dev/null -i %s",
               sp->port, sp->known_hosts, sp->key) < 0)
    return NULL;
  return arg;
}

/* ARGV[*n] = S (may be NULL: out of memory, seen at the end). */
static void
push(char **argv, size_t *n, char *s)
{
  if (*n < ARGV_MAX)
    argv[(*n)++] = s;
  else
    free(s);
}

static void
fill(const upg_rsync_spec *sp, int download, char **argv, size_t *n)
{
  static const char *const up[] = { "--info=progress2", "--no-h", "--delete-after", "--recursive", "--links",
                                    "--times", "--partial", NULL };
  static const char *const down[] = { "--recursive", "--times", "--ignore-missing-args", "--info=progress2",
                                      "--no-h", "--partial-dir=" UPG_RSYNC_PARTIAL_DIR, "--chmod=D700,F600",
                                      NULL };
  static const char *const fetched[] = { "filestore", "upgrade-report.html", "upgrade.log", NULL };

  push(argv, n, strdup("rsync"));
  for (const char *const *o = download ? down : up; *o; o++)
    push(argv, n, strdup(*o));
  push(argv, n, rsh_arg(sp));
  if (!download) {
    push(argv, n, local_arg(sp->local, sp->directory));
    push(argv, n, remote_arg(sp, sp->remote));
    return;
  }
  push(argv, n, remote_arg(sp, sp->remote));
  for (const char *const *f = fetched; *f; f++)
    push(argv, n, remote_arg(sp, *f));
  push(argv, n, local_arg(sp->local, 1));
}

int
upg_rsync_argv(const upg_rsync_spec *sp, bool download, char ***out, jv *doc)
{
  int st = check_spec(sp, doc);
  if (st)
    return st;
  char **argv = calloc(ARGV_MAX + 1, sizeof *argv);
  size_t n = 0;
  if (argv)
    fill(sp, download, argv, &n);
  for (size_t i = 0; argv && i < n; i++)
    if (!argv[i]) {
      /* an allocation failed: free what was made around the hole */
      for (size_t j = 0; j < n; j++)
        free(argv[j]);
      free(argv);
      argv = NULL;
    }
  if (!argv)
    return upg_fail(doc, UPG_EXIT_USAGE, upg_failure("CLIENT:USAGE", "rsync: out of memory"));
  *out = argv;
  return 0;
}
