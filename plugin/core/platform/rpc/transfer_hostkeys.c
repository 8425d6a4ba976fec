/* SPDX-License-Identifier: GPL-3.0-or-later */
/* transfer_hostkeys.c -- the known_hosts file of one rpc transfer (see
 * rpc_hostkeys.h). */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "upgrade/fileio.h"
#include "upgrade/outcome.h"
#include "upgrade/rpc_hostkeys.h"
#include "upgrade/rpc_rsync.h"

/* The directory the private one is made in: $TMPDIR when ssh can take a
 * path under it, else /tmp. */
static const char *
temp_root(void)
{
  const char *t = getenv("TMPDIR");
  return t && t[0] == '/' && upg_rsync_rsh_path_ok(t) ? t : "/tmp";
}

void
upg_rpc_hostkeys_remove(upg_rpc_hostkeys *k)
{
  if (k->file[0])
    unlink(k->file);
  if (k->dir[0])
    rmdir(k->dir);
  k->file[0] = k->dir[0] = '\0';
}

int
upg_rpc_hostkeys_write(upg_rpc_hostkeys *k, const char *text, jv *doc)
{
  k->dir[0] = k->file[0] = '\0';
  const char *root = temp_root();
  errno = ENAMETOOLONG;
  if ((size_t)snprintf(k->dir, sizeof k->dir, "%s/upgrade-rsync.XXXXXX", root) >= sizeof k->dir
      || !mkdtemp(k->dir)) {
    int err = errno;
    k->dir[0] = '\0';
    return upg_fail(doc, UPG_EXIT_USAGE, upg_failure("CLIENT:FILE", "cannot make a private directory in %s for "
                                                     "the transfer's host keys: %s", root, strerror(err)));
  }
  int fd = -1;
  errno = ENAMETOOLONG;
  if ((size_t)snprintf(k->file, sizeof k->file, "%s/known_hosts", k->dir) < sizeof k->file)
    fd = open(k->file, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  int err = fd < 0 ? errno : 0;
  if (fd >= 0) {
    if (upg_write_all(fd, text, strlen(text)) != 0)
      err = errno;
    if (close(fd) != 0 && !err)
      err = errno;
  }
  if (err) {
    char dir[PATH_MAX];
    snprintf(dir, sizeof dir, "%s", k->dir);
    upg_rpc_hostkeys_remove(k);
    return upg_fail(doc, UPG_EXIT_USAGE, upg_failure("CLIENT:FILE", "cannot write the transfer's host keys in "
                                                     "%s: %s", dir, strerror(err)));
  }
  return 0;
}
