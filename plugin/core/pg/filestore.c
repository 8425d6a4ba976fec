/* SPDX-License-Identifier: GPL-3.0-or-later */
/* filestore.c -- the restored database's Odoo filestore (see filestore.h). */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "upgrade/fileio.h"
#include "upgrade/files.h"
#include "upgrade/filestore.h"
#include "upgrade/outcome.h"
#include "upgrade/progress.h"

#define MARKER ".upgrade-restore"

static int
fs_error(jv *doc, const char *what, const char *path, int err)
{
  return upg_fail(doc, UPG_EXIT_USAGE, upg_failure("CLIENT:FILE", "%s %s: %s", what, path, strerror(err)));
}

static char *
join(const char *a, const char *b, const char *suffix)
{
  size_t len = strlen(a) + strlen(b) + strlen(suffix) + 2;
  char *p = malloc(len);
  if (p)
    snprintf(p, len, "%s/%s%s", a, b, suffix);
  return p;
}

char *
upg_filestore_data_dir(const char *data_dir)
{
  return data_dir ? strdup(data_dir) : upg_home_path(".local/share/Odoo");
}

/* mkdir PATH 0700 unless it is there. */
static int
ensure_dir(const char *path, jv *doc)
{
  if (mkdir(path, 0700) == 0 || errno == EEXIST)
    return 0;
  return fs_error(doc, "cannot create the directory", path, errno);
}

/* A NEW.part that is there already: ours (marked) is removed. */
static int
clear_leftover(const upg_filestore *fs, jv *doc)
{
  struct stat st;
  if (lstat(fs->part, &st) != 0)
    return 0;
  char *marker = join(fs->part, MARKER, "");
  int ours = S_ISDIR(st.st_mode) && marker && lstat(marker, &st) == 0;
  free(marker);
  if (!ours)
    return upg_fail(doc, UPG_EXIT_USAGE,
                    upg_failure("CLIENT:FILE", "%s exists and was not made by upgrade restore: "
                                "move it away first", fs->part));
  if (upg_remove_tree(fs->part) != 0)
    return fs_error(doc, "cannot remove the leftover", fs->part, errno);
  return 0;
}

int
upg_filestore_begin(upg_filestore *fs, const char *data_dir, const char *name, jv *doc)
{
  struct stat st;
  memset(fs, 0, sizeof *fs);
  char *base = join(data_dir, "filestore", "");
  fs->dir = base ? join(base, name, "") : NULL;
  fs->part = base ? join(base, name, ".part") : NULL;
  int status = !fs->dir || !fs->part ? fs_error(doc, "cannot prepare", data_dir, ENOMEM) : 0;
  if (!status)
    status = ensure_dir(data_dir, doc);
  if (!status)
    status = ensure_dir(base, doc);
  if (!status && lstat(fs->dir, &st) == 0)
    status = upg_fail(doc, UPG_EXIT_USAGE,
                      upg_failure("CLIENT:FILE", "the filestore %s exists: restore never replaces one "
                                  "(move it away, or choose another --database)", fs->dir));
  if (!status)
    status = clear_leftover(fs, doc);
  if (!status && mkdir(fs->part, 0700) != 0)
    status = fs_error(doc, "cannot create the directory", fs->part, errno);
  if (!status) {
    char *marker = join(fs->part, MARKER, "");
    int fd = marker ? open(marker, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600) : -1;
    if (fd < 0)
      status = fs_error(doc, "cannot write in", fs->part, marker ? errno : ENOMEM);
    else
      close(fd);
    free(marker);
  }
  free(base);
  return status;
}

/* ---- step 1: the source filestore, copied (or linked) ---- */

struct copy {
  upg_filestore *fs;
  const upg_settings *s;
  bool link;
  bool over;      /* step 2: replace what is there, count from_archive */
  jv *doc;
  int sig;
};

static int
copy_bytes(int in, int out)
{
  for (;;) {
    ssize_t n = copy_file_range(in, NULL, out, NULL, 1 << 30, 0);
    if (n == 0)
      return 0;
    if (n > 0)
      continue;
    if (errno == EINTR)
      continue;
    if (errno != EXDEV && errno != ENOSYS && errno != EINVAL && errno != EOPNOTSUPP)
      return -1;
    break;
  }
  char buf[65536];
  for (;;) {
    ssize_t n = read(in, buf, sizeof buf);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      return (int)n;
    if (upg_write_all(out, buf, (size_t)n) != 0)
      return -1;
  }
}

/* IN's blocks shared with OUT copy-on-write (btrfs, XFS, bcachefs...): as
 * fast as a hard link, yet a new inode.  0, or -1 with errno. */
static int
reflink(int in, int out)
{
  return ioctl(out, FICLONE, in);
}

/* Errors that say "no reflink here", not "this file is broken". */
static bool
no_reflink(int err)
{
  return err == EOPNOTSUPP || err == ENOTTY || err == EXDEV || err == EINVAL || err == ENOSYS
      || err == EPERM;
}

/* A new file NAME in DFD with the bytes of NAME in SFD: a reflink where the
 * filesystem has them, else a copy.  Never the source's inode. */
static int
copy_file(struct copy *x, int sfd, int dfd, const char *name, const char *where)
{
  int in = openat(sfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (in < 0)
    return fs_error(x->doc, "cannot read", where, errno);
  int out = openat(dfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (out < 0) {
    int err = errno;
    close(in);
    return fs_error(x->doc, "cannot write", where, err);
  }
  int rc = reflink(in, out);
  if (rc == 0 && !x->over)
    x->fs->reflinked++;
  else if (no_reflink(errno))
    rc = copy_bytes(in, out);
  int err = errno;
  close(in);
  if (close(out) != 0 && !rc) {
    rc = -1;
    err = errno;
  }
  return rc ? fs_error(x->doc, "cannot copy", where, err) : 0;
}

/* A copy; with --filestore-link a hard link when the filesystem allows
 * one (the two filestores then share the file), else a copy. */
static int
link_or_copy(struct copy *x, int sfd, int dfd, const char *name, const char *where)
{
  if (x->over) {
    /* step 1's file, maybe a link to the source's: unlinked, never written through */
    x->fs->from_archive++;
    if (unlinkat(dfd, name, 0) != 0 && errno != ENOENT)
      return fs_error(x->doc, "cannot replace", where, errno);
    return copy_file(x, sfd, dfd, name, where);
  }
  x->fs->copied++;
  if (!x->link)
    return copy_file(x, sfd, dfd, name, where);
  if (linkat(sfd, name, dfd, name, 0) == 0) {
    x->fs->linked++;
    return 0;
  }
  if (errno != EXDEV && errno != EPERM && errno != EMLINK && errno != EOPNOTSUPP && errno != EACCES)
    return fs_error(x->doc, "cannot link", where, errno);
  return copy_file(x, sfd, dfd, name, where);
}

static int copy_tree(struct copy *x, int sfd, int dfd, const char *where);

static int
copy_subdir(struct copy *x, int sfd, int dfd, const char *name, const char *where)
{
  if (mkdirat(dfd, name, 0700) != 0 && errno != EEXIST)
    return fs_error(x->doc, "cannot create the directory", name, errno);
  int csfd = openat(sfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (csfd < 0)
    return fs_error(x->doc, "cannot read", where, errno);
  int cdfd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (cdfd < 0) {
    int err = errno;
    close(csfd);
    return fs_error(x->doc, "cannot open", name, err);
  }
  int status = copy_tree(x, csfd, cdfd, where);
  close(cdfd);
  return status;
}

/* Copy the directory SFD (taken over) into DFD; WHERE names it. */
static int
copy_tree(struct copy *x, int sfd, int dfd, const char *where)
{
  DIR *d = fdopendir(sfd);
  if (!d) {
    int err = errno;
    close(sfd);
    return fs_error(x->doc, "cannot read", where, err);
  }
  int status = 0;
  struct dirent *e;
  while (!status && (e = readdir(d))) {
    if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
      continue;
    if ((x->sig = upg_interrupted(x->s)) != 0) {
      status = 128 + x->sig;
      break;
    }
    char *path = join(where, e->d_name, "");
    struct stat st;
    if (!path)
      status = fs_error(x->doc, "cannot copy", where, ENOMEM);
    else if (fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0)
      status = fs_error(x->doc, "cannot read", path, errno);
    else if (S_ISDIR(st.st_mode))
      status = copy_subdir(x, dirfd(d), dfd, e->d_name, path);
    else if (S_ISREG(st.st_mode))
      status = link_or_copy(x, dirfd(d), dfd, e->d_name, path);
    /* anything else (a symlink, a socket) is no attachment of Odoo's */
    if ((x->fs->copied + x->fs->from_archive) % 256 == 0)
      upg_status_line(x->s, "filestore: %lld files", x->fs->copied + x->fs->from_archive);
    free(path);
  }
  closedir(d);
  return status;
}

/* Copy the directory SRC into NEW.part as X says. */
static int
copy_dir(struct copy *x, const char *src, int src_flags)
{
  int sfd = open(src, O_RDONLY | O_DIRECTORY | O_CLOEXEC | src_flags);
  if (sfd < 0)
    return fs_error(x->doc, "cannot read", src, errno);
  int dfd = open(x->fs->part, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (dfd < 0) {
    int err = errno;
    close(sfd);
    return fs_error(x->doc, "cannot open", x->fs->part, err);
  }
  int status = copy_tree(x, sfd, dfd, src);
  close(dfd);
  upg_status_clear(x->s);
  if (status > 128)
    *x->doc = JV_OBJECT(jv_string("failures"),
                        JV_ARRAY(upg_failure("CLIENT:INTERRUPTED", "interrupted while copying the filestore")));
  return status;
}

int
upg_filestore_copy_from(upg_filestore *fs, const upg_settings *s, const char *data_dir,
                        const char *source, bool link, jv *doc)
{
  char *base = join(data_dir, "filestore", "");
  char *src = base ? join(base, source, "") : NULL;
  free(base);
  if (!src)
    return fs_error(doc, "cannot read", data_dir, ENOMEM);
  struct stat st;
  int status = 0;
  if (stat(src, &st) != 0 && errno == ENOENT)
    upg_notice(s, "%s does not exist: the new filestore starts empty", src);
  else {
    /* The filestore itself may be a symlink to another disk: follow it. */
    struct copy x = { .fs = fs, .s = s, .link = link, .doc = doc };
    status = copy_dir(&x, src, 0);
  }
  free(src);
  return status;
}

int
upg_filestore_lay_over(upg_filestore *fs, const upg_settings *s, const char *source, jv *doc)
{
  struct copy x = { .fs = fs, .s = s, .over = true, .doc = doc };
  return copy_dir(&x, source, O_NOFOLLOW);
}

/* ---- step 2: the archive's files ---- */

/* Open (making them 0700) the directories of REL's first DEPTH
 * components under NEW.part; the directory's fd, or -1 with errno. */
static int
open_parents(const upg_filestore *fs, char *rel, char **last)
{
  int fd = open(fs->part, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  char *p = rel;
  for (char *slash; fd >= 0 && (slash = strchr(p, '/'));) {
    *slash = '\0';
    if (mkdirat(fd, p, 0700) != 0 && errno != EEXIST) {
      int err = errno;
      close(fd);
      errno = err;
      return -1;
    }
    int next = openat(fd, p, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    int err = errno;
    close(fd);
    errno = err;
    fd = next;
    *slash = '/';
    p = slash + 1;
  }
  *last = p;
  return fd;
}

int
upg_filestore_create(upg_filestore *fs, const char *rel, int *fd, jv *doc)
{
  char *copy = strdup(rel), *name = NULL;
  int dfd = copy ? open_parents(fs, copy, &name) : -1;
  int status = 0;
  if (dfd < 0)
    status = fs_error(doc, "cannot create the directory of", rel, copy ? errno : ENOMEM);
  /* A hard link to the source's file: unlink, never write through it. */
  else if (unlinkat(dfd, name, 0) != 0 && errno != ENOENT)
    status = fs_error(doc, "cannot replace", rel, errno);
  else if ((*fd = openat(dfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600)) < 0)
    status = fs_error(doc, "cannot write", rel, errno);
  else
    fs->from_archive++;
  if (dfd >= 0)
    close(dfd);
  free(copy);
  return status;
}

int
upg_filestore_mkdir(upg_filestore *fs, const char *rel, jv *doc)
{
  size_t len = strlen(rel);
  char *copy = malloc(len + 3), *name = NULL;
  if (!copy)
    return fs_error(doc, "cannot create", rel, ENOMEM);
  /* "a/b" as "a/b/." so that open_parents makes every component. */
  snprintf(copy, len + 3, "%s%s.", rel, len && rel[len - 1] == '/' ? "" : "/");
  int dfd = open_parents(fs, copy, &name);
  int status = dfd < 0 ? fs_error(doc, "cannot create the directory", rel, errno) : 0;
  if (dfd >= 0)
    close(dfd);
  free(copy);
  return status;
}

/* ---- step 3 ---- */

int
upg_filestore_commit(upg_filestore *fs, jv *doc)
{
  char *marker = join(fs->part, MARKER, "");
  if (marker)
    unlink(marker);
  free(marker);
  if (renameat2(AT_FDCWD, fs->part, AT_FDCWD, fs->dir, RENAME_NOREPLACE) == 0)
    return 0;
  return fs_error(doc, "cannot rename the filestore to", fs->dir, errno);
}

void
upg_filestore_uncommit(upg_filestore *fs)
{
  if (renameat2(AT_FDCWD, fs->dir, AT_FDCWD, fs->part, RENAME_NOREPLACE) == 0) {
    char *marker = join(fs->part, MARKER, "");
    int fd = marker ? open(marker, O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600) : -1;
    if (fd >= 0)
      close(fd);
    free(marker);
  }
}

void
upg_filestore_discard(upg_filestore *fs)
{
  if (fs->part)
    upg_remove_tree(fs->part);
}

void
upg_filestore_free(upg_filestore *fs)
{
  free(fs->dir);
  free(fs->part);
  fs->dir = fs->part = NULL;
}
