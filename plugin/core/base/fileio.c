/* SPDX-License-Identifier: GPL-3.0-or-later */
/* fileio.c -- small reads, whole writes, atomic replacement (fileio.h). */
#include "config.h"

#include <errno.h>
#include <dirent.h>
#include <fcntl.h>
#include <ftw.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "upgrade/fileio.h"

char *
upg_read_small(int fd, size_t max, size_t *len)
{
  char *buf = malloc(max + 1);
  size_t n = 0;
  while (buf && n < max) {
    ssize_t r = read(fd, buf + n, max - n);
    if (r < 0 && errno == EINTR)
      continue;
    if (r < 0) {
      int err = errno;
      free(buf);
      errno = err;
      return NULL;
    }
    if (r == 0)
      break;
    n += (size_t)r;
  }
  if (!buf)
    return NULL;
  buf[n] = '\0';
  *len = n;
  return buf;
}

int
upg_write_counting(int fd, const void *buf, size_t len, off_t at, off_t *done)
{
  const char *p = buf;
  while (len > 0) {
    ssize_t n = at < 0 ? write(fd, p, len) : pwrite(fd, p, len, at);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0)
      return -1;
    p += n;
    len -= (size_t)n;
    *done += n;
    if (at >= 0)
      at += n;
  }
  return 0;
}

int
upg_write_all(int fd, const void *buf, size_t len)
{
  off_t done = 0;
  return upg_write_counting(fd, buf, len, -1, &done);
}

/* Make a rename in PATH's directory durable: fsync the directory. */
static void
sync_directory(const char *path)
{
  char *copy = strdup(path);
  int fd = copy ? open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC) : -1;
  if (fd >= 0) {
    (void)fsync(fd);
    close(fd);
  }
  free(copy);
}

int
upg_replace_file(const char *path, const char *text, size_t len)
{
  char *tmp = NULL;
  if (asprintf(&tmp, "%s.XXXXXX", path) < 0)
    return -1;
  int fd = mkostemp(tmp, O_CLOEXEC); /* O_EXCL, mode 0600 */
  int err = fd < 0 ? errno : 0;
  if (fd >= 0) {
    if (upg_write_all(fd, text, len) != 0 || fsync(fd) != 0)
      err = errno;
    if (close(fd) != 0 && !err)
      err = errno;
    if (!err && rename(tmp, path) != 0)
      err = errno;
    if (err)
      unlink(tmp);
    else
      sync_directory(path);
  }
  free(tmp);
  errno = err;
  return err ? -1 : 0;
}

static int
remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
  (void)st;
  (void)flag;
  (void)ftw;
  return remove(path) == 0 || errno == ENOENT ? 0 : -1;
}

int
upg_remove_tree(const char *path)
{
  struct stat st;
  if (lstat(path, &st) != 0)
    return errno == ENOENT ? 0 : -1;
  return nftw(path, remove_entry, 32, FTW_DEPTH | FTW_PHYS);
}

int
upg_dir_files_size(const char *dir, long long *bytes, long long *files)
{
  long long n = 0;
  *bytes = 0;
  DIR *d = opendir(dir);
  if (d) {
    struct dirent *e;
    struct stat st;
    while ((e = readdir(d)))
      if (fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode)) {
        *bytes += (long long)st.st_size;
        n++;
      }
    closedir(d);
  }
  if (files)
    *files = n;
  return d ? 0 : -1;
}

bool
upg_one_component(const char *name)
{
  return *name && !strchr(name, '/') && strcmp(name, ".") != 0 && strcmp(name, "..") != 0;
}
