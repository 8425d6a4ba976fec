/* SPDX-License-Identifier: GPL-3.0-or-later */
/* keys.c -- the SSH key pair of an rpc request (see rpc_keys.h). */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "upgrade/child.h"
#include "upgrade/fileio.h"
#include "upgrade/files.h"
#include "upgrade/outcome.h"
#include "upgrade/rpc_keys.h"
#include "upgrade/sshkeys.h"

#define KEY_NAME "id_ed25519"

/* ${XDG_STATE_HOME:-$HOME/.local/state}/upgrade/keys (malloc'd); an
 * XDG_STATE_HOME that is not absolute is ignored, as the spec says. */
static char *
keys_dir(void)
{
  const char *xdg = getenv("XDG_STATE_HOME");
  char *p = NULL;
  if (xdg && xdg[0] == '/')
    return asprintf(&p, "%s/upgrade/keys", xdg) < 0 ? NULL : p;
  return upg_home_path(".local/state/upgrade/keys");
}

/* mkdir -p DIR, each missing directory 0700; then DIR must be ours and
 * written by no one else. */
static int
private_dir(char *dir, jv *doc)
{
  for (char *p = dir + 1;; p++) {
    if (*p && *p != '/')
      continue;
    char c = *p;
    *p = '\0';
    int rc = mkdir(dir, 0700);
    int err = errno;
    *p = c;
    if (rc != 0 && err != EEXIST)
      return upg_fail(doc, UPG_EXIT_USAGE, upg_failure("CLIENT:FILE", "%s: cannot make it: %s", dir, strerror(err)));
    if (!c)
      break;
  }
  struct stat st;
  if (lstat(dir, &st) != 0 || !S_ISDIR(st.st_mode))
    return upg_fail(doc, UPG_EXIT_USAGE, upg_failure("CLIENT:FILE", "%s: not a directory", dir));
  if (st.st_uid != geteuid() || (st.st_mode & 022))
    return upg_fail(doc, UPG_EXIT_USAGE,
                    upg_failure("CLIENT:FILE", "%s: the keys' directory must be yours and written by no one else "
                                "(chmod 700 %s)", dir, dir));
  return 0;
}

/* ssh-keygen -t ed25519 -N '' -q -f PATH, with a comment that names the
 * key's use (never a secret). */
static int
keygen(const upg_settings *s, const char *path, jv *doc)
{
  char *argv[] = { "ssh-keygen", "-t", "ed25519", "-N", "", "-q", "-C", "upgrade-rpc-request", "-f",
                   (char *)path, NULL };
  upg_child c;
  if (upg_child_spawn(&c, argv, NULL, UPG_CHILD_NULL, UPG_CHILD_TO_ERR) != 0)
    return upg_fail(doc, UPG_EXIT_USAGE,
                    upg_failure("CLIENT:SSH_KEYGEN", "cannot run ssh-keygen: %s%s", strerror(errno),
                                errno == ENOENT ? " (install OpenSSH's client, or give --identity KEY)" : ""));
  int rc = upg_child_run(&c, s, NULL, NULL, NULL);
  if (rc > 0)
    return upg_fail(doc, rc, upg_failure("CLIENT:INTERRUPTED", "ssh-keygen: interrupted"));
  if (rc == 0 && upg_child_ok(&c))
    return 0;
  char how[64];
  upg_child_describe(&c, how, sizeof how);
  char *said = upg_child_errors(&c, 3);
  int status = upg_fail(doc, UPG_EXIT_USAGE, upg_failure("CLIENT:SSH_KEYGEN", "ssh-keygen failed (%s)%s%s", how,
                                                          said && *said ? ": " : "", said ? said : ""));
  free(said);
  return status;
}

void
upg_rpc_key_drop(const char *path)
{
  char *pub = NULL;
  if (asprintf(&pub, "%s.pub", path) >= 0)
    unlink(pub);
  free(pub);
  unlink(path);
  char *dir = strdup(path);
  char *slash = dir ? strrchr(dir, '/') : NULL;
  if (slash) {
    *slash = '\0';
    rmdir(dir);
  }
  free(dir);
}

int
upg_rpc_key_new(const upg_settings *s, char **path, jv *doc)
{
  *path = NULL;
  char *dir = keys_dir(), *own = NULL;
  int status;
  if (!dir) {
    status = upg_fail(doc, UPG_EXIT_USAGE,
                      upg_failure("CLIENT:FILE", "no home directory for the request's key: give --identity KEY"));
    goto out;
  }
  if ((status = private_dir(dir, doc)))
    goto out;
  char stamp[32];
  time_t now = time(NULL);
  strftime(stamp, sizeof stamp, "%Y%m%d-%H%M%S", gmtime(&now));
  if (asprintf(&own, "%s/%s-XXXXXX", dir, stamp) < 0) {
    own = NULL;
    status = upg_fail(doc, UPG_EXIT_USAGE, upg_failure("CLIENT:FILE", "out of memory"));
    goto out;
  }
  if (!mkdtemp(own)) { /* 0700 */
    status = upg_fail(doc, UPG_EXIT_USAGE, upg_failure("CLIENT:FILE", "%s: cannot make the key's directory: %s",
                                                        dir, strerror(errno)));
    goto out;
  }
  if (asprintf(path, "%s/" KEY_NAME, own) < 0) {
    *path = NULL;
    rmdir(own);
    status = upg_fail(doc, UPG_EXIT_USAGE, upg_failure("CLIENT:FILE", "out of memory"));
    goto out;
  }
  if ((status = keygen(s, *path, doc))) {
    upg_rpc_key_drop(*path);
    free(*path);
    *path = NULL;
  }
out:
  free(own);
  free(dir);
  return status;
}

/* PATH and PATH.pub removed. */
static void
unlink_pair(const char *path, const char *pub)
{
  unlink(path);
  unlink(pub);
}

int
upg_rpc_key_new_at(const upg_settings *s, const char *path, jv *doc)
{
  char *pub = NULL;
  if (asprintf(&pub, "%s.pub", path) < 0)
    return upg_fail(doc, UPG_EXIT_USAGE, upg_failure("CLIENT:FILE", "out of memory"));
  unlink_pair(path, pub);
  int status = keygen(s, path, doc);
  if (!status && (chmod(path, 0600) != 0 || chmod(pub, 0600) != 0))
    status = upg_fail(doc, UPG_EXIT_USAGE, upg_failure("CLIENT:FILE", "%s: %s", path, strerror(errno)));
  if (status)
    unlink_pair(path, pub);
  free(pub);
  return status;
}

int
upg_rpc_key_public(const char *identity, char **text, char **abs, jv *doc)
{
  *text = *abs = NULL;
  char *pub = NULL;
  size_t len = 0;
  int status = 0, fd = -1;
  if (asprintf(&pub, "%s.pub", identity) < 0) {
    pub = NULL;
    status = upg_fail(doc, UPG_EXIT_USAGE, upg_failure("CLIENT:FILE", "out of memory"));
    goto out;
  }
  if (!(*abs = realpath(identity, NULL))) {
    status = upg_fail(doc, UPG_EXIT_USAGE,
                      upg_failure("CLIENT:FILE", "--identity %s: %s", identity, strerror(errno)));
    goto out;
  }
  fd = open(pub, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
  if (fd < 0 || !(*text = upg_read_small(fd, UPG_RPC_PUBKEY_MAX, &len))) {
    status = upg_fail(doc, UPG_EXIT_USAGE,
                      upg_failure("CLIENT:FILE", "%s: cannot read the identity's public key (%s): the platform "
                                  "binds the request to it", pub, fd < 0 ? strerror(errno) : "not a small file"));
    goto out;
  }
  char err[256];
  int keys = upg_sshkeys_check(*text, len, err, sizeof err);
  if (keys != 1)
    status = upg_fail(doc, UPG_EXIT_USAGE,
                      upg_failure("CLIENT:FILE", "%s: %s", pub, keys > 1 ? "holds more than one key: the request "
                                  "is bound to one" : err));
out:
  if (fd >= 0)
    close(fd);
  if (status) {
    free(*text);
    free(*abs);
    *text = *abs = NULL;
  }
  free(pub);
  return status;
}
