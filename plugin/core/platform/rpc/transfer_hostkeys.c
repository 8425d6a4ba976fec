/* SPDX-License-Identifier: GPL-3.0-or-later */
/* transfer_hostkeys.c -- the known_hosts file of one rpc transfer (see
 * rpc_hostkeys.h). */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
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

#define PREFIX "upgrade-rsync."

/* NAME is PREFIX PID.XXXXXX of a process that is gone: its PID, else 0. */
static pid_t
dead_owner(const char *name)
{
  if (strncmp(name, PREFIX, sizeof PREFIX - 1) != 0)
    return 0;
  char *end;
  errno = 0;
  long pid = strtol(name + sizeof PREFIX - 1, &end, 10);
  if (errno || pid <= 1 || *end != '.' || strlen(end + 1) != 6 || (pid_t)pid == getpid())
    return 0;
  return kill((pid_t)pid, 0) != 0 && errno == ESRCH ? (pid_t)pid : 0;
}

/* The leftover NAME in ROOT (open as FD): this user's directory, old
 * enough, its known_hosts removed and then itself (a directory holding
 * anything else stays). */
static void
sweep_one(int fd, const char *name)
{
  struct stat st;
  if (fstatat(fd, name, &st, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISDIR(st.st_mode) || st.st_uid != geteuid()
      || time(NULL) - st.st_mtime < UPG_RPC_HOSTKEYS_STALE)
    return;
  int dfd = openat(fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (dfd < 0)
    return;
  unlinkat(dfd, "known_hosts", 0);
  close(dfd);
  unlinkat(fd, name, AT_REMOVEDIR);
}

/* Remove what killed shells left in ROOT (rpc_hostkeys.h). */
static void
sweep(const char *root)
{
  int fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
  if (!d) {
    if (fd >= 0)
      close(fd);
    return;
  }
  struct dirent *e;
  while ((e = readdir(d)))
    if (dead_owner(e->d_name))
      sweep_one(fd, e->d_name);
  closedir(d);
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
  sweep(root);
  errno = ENAMETOOLONG;
  if ((size_t)snprintf(k->dir, sizeof k->dir, "%s/" PREFIX "%ld.XXXXXX", root, (long)getpid()) >= sizeof k->dir
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
