/* files.c -- local files of a transfer (see files.h). */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "upgrade/files.h"
#include "upgrade/outcome.h"

static int
file_error(jv *doc, const char *what, const char *path, int err)
{
  return upg_fail(doc, UPG_EXIT_USAGE,
                  upg_failure("CLIENT:FILE", "%s %s: %s", what, path, strerror(err)));
}

int
upg_partfile_open(upg_partfile *pf, const char *path, bool force, jv *doc)
{
  struct stat st;

  memset(pf, 0, sizeof *pf);
  pf->fd = -1;
  if (lstat(path, &st) == 0) {
    if (!force)
      return upg_fail(doc, UPG_EXIT_USAGE,
                      upg_failure("CLIENT:FILE", "%s already exists (use --force to replace it)", path));
    if (S_ISDIR(st.st_mode))
      return upg_fail(doc, UPG_EXIT_USAGE,
                      upg_failure("CLIENT:FILE", "%s is a directory", path));
  }
  size_t len = strlen(path);
  pf->part_path = malloc(len + sizeof ".part");
  pf->path = strdup(path);
  if (!pf->part_path || !pf->path) {
    upg_partfile_abandon(pf);
    return file_error(doc, "cannot open", path, ENOMEM);
  }
  memcpy(pf->part_path, path, len);
  memcpy(pf->part_path + len, ".part", sizeof ".part");

  /* O_NOFOLLOW: a symlink planted at FILE.part must not redirect a dump. */
  pf->fd = open(pf->part_path, O_WRONLY | O_CREAT | O_APPEND | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (pf->fd < 0) {
    int err = errno;
    int status = err == ELOOP
      ? upg_fail(doc, UPG_EXIT_USAGE,
                 upg_failure("CLIENT:FILE", "%s is a symbolic link: refusing to write through it",
                             pf->part_path))
      : file_error(doc, "cannot write", pf->part_path, err);
    upg_partfile_abandon(pf);
    return status;
  }
  if (fstat(pf->fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    int status = upg_fail(doc, UPG_EXIT_USAGE,
                          upg_failure("CLIENT:FILE", "%s is not a regular file", pf->part_path));
    upg_partfile_abandon(pf);
    return status;
  }
  pf->resume_from = pf->end = pf->flushed = st.st_size;
  return 0;
}

int
upg_partfile_truncate(upg_partfile *pf)
{
  if (ftruncate(pf->fd, 0) != 0)
    return -1;
  pf->resume_from = pf->end = pf->flushed = 0;
  return 0;
}

/* Dirty bytes allowed to pile up before their writeback is started. */
#define WRITE_BEHIND (8L * 1024 * 1024)

int
upg_partfile_write(upg_partfile *pf, const void *buf, size_t len)
{
  if (upg_write_all(pf->fd, buf, len) != 0)
    return -1;
  pf->end += (off_t)len;
#ifdef SYNC_FILE_RANGE_WRITE
  /* The commit must fsync (a renamed dump has to be complete even after a
   * crash).  Left alone, the kernel writes back late and that fsync waits
   * for hundreds of MiB at the end; starting it as we go overlaps the disk
   * with the network.  Only a hint: a failure here changes nothing. */
  if (pf->end - pf->flushed >= WRITE_BEHIND) {
    (void)sync_file_range(pf->fd, pf->flushed, pf->end - pf->flushed, SYNC_FILE_RANGE_WRITE);
    pf->flushed = pf->end;
  }
#endif
  return 0;
}

int
upg_partfile_commit(upg_partfile *pf, jv *doc)
{
  int status = 0;

  if (fsync(pf->fd) != 0 && errno != EINVAL)
    status = file_error(doc, "cannot write", pf->part_path, errno);
  if (close(pf->fd) != 0 && !status)
    status = file_error(doc, "cannot write", pf->part_path, errno);
  pf->fd = -1;
  if (!status && rename(pf->part_path, pf->path) != 0)
    status = file_error(doc, "cannot rename to", pf->path, errno);
  upg_partfile_abandon(pf);
  return status;
}

void
upg_partfile_abandon(upg_partfile *pf)
{
  if (pf->fd >= 0)
    close(pf->fd);
  pf->fd = -1;
  free(pf->path);
  free(pf->part_path);
  pf->path = pf->part_path = NULL;
}

int
upg_input_open(const char *path, int *fd, off_t *size, jv *doc)
{
  struct stat st;

  /* O_NONBLOCK: opening a FIFO would otherwise wait for a writer. */
  *fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (*fd < 0)
    return file_error(doc, "cannot read", path, errno);
  fcntl(*fd, F_SETFL, fcntl(*fd, F_GETFL) & ~O_NONBLOCK);
  if (fstat(*fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    close(*fd);
    *fd = -1;
    return upg_fail(doc, UPG_EXIT_USAGE,
                    upg_failure("CLIENT:FILE", "%s is not a regular file", path));
  }
  *size = st.st_size;
  return 0;
}

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
upg_write_all(int fd, const void *buf, size_t len)
{
  const char *p = buf;

  while (len > 0) {
    ssize_t n = write(fd, p, len);
    if (n < 0) {
      if (errno == EINTR)
        continue;
      return -1;
    }
    p += n;
    len -= (size_t)n;
  }
  return 0;
}

jv
upg_transfer_summary(const char *file, long long bytes, long long resumed_from,
                     long long size, double seconds)
{
  return JV_OBJECT(jv_string("file"), jv_string(file),
                   jv_string("bytes"), jv_number((double)bytes),
                   jv_string("resumed_from"), jv_number((double)resumed_from),
                   jv_string("size"), jv_number((double)size),
                   jv_string("seconds"), jv_number((double)(long long)(seconds * 1000) / 1000.0));
}

/* $HOME, or the password database's idea of it when HOME is unset. */
static const char *
home_dir(void)
{
  const char *h = getenv("HOME");
  if (h && *h)
    return h;
  struct passwd *pw = getpwuid(getuid());
  return pw ? pw->pw_dir : NULL;
}

/* Malloc'd "HOME/REL", or NULL when there is no home. */
char *
upg_home_path(const char *rel)
{
  const char *h = home_dir();
  char *p = NULL;
  if (h && asprintf(&p, "%s/%s", h, rel) < 0)
    p = NULL;
  return p;
}
