/* SPDX-License-Identifier: GPL-3.0-or-later */
/* transfer_upload.c -- `upgrade upload DUMP` under rpc: what DUMP is, the
 * name it takes under /data, and the transfer (see rpc_transfer.h). */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "upgrade/fileio.h"
#include "upgrade/files.h"
#include "upgrade/outcome.h"
#include "upgrade/pg.h"
#include "upgrade/progress.h"
#include "upgrade/rpc_transfer.h"

/* A directory dump at DIR: it holds a regular toc.dat. */
static int
check_directory(const char *dir, long long *total, jv *doc)
{
  char toc[4096];
  struct stat st;
  snprintf(toc, sizeof toc, "%s/toc.dat", dir);
  if (lstat(toc, &st) != 0 || !S_ISREG(st.st_mode))
    return upg_fail(doc, UPG_EXIT_USAGE,
                    upg_failure("CLIENT:FILE", "%s is a directory without toc.dat: not a directory-format dump "
                                "(pg_dump -Fd, `upgrade dump --format directory`)", dir));
  if (upg_dir_files_size(dir, total, NULL) != 0)
    return upg_fail(doc, UPG_EXIT_USAGE, upg_failure("CLIENT:FILE", "cannot read %s: %s", dir, strerror(errno)));
  return 0;
}

/* A dump in one file: its name under /data from its first bytes. */
static int
check_file(const char *path, const char **remote, long long *total, jv *doc)
{
  static const char *const names[] = {
    [UPG_DUMP_SQL] = "origin.sql", [UPG_DUMP_CUSTOM] = "origin.dump", [UPG_DUMP_ZIP] = "origin.zip",
    [UPG_DUMP_GZIP] = "origin.sql.gz", [UPG_DUMP_DIRECTORY] = "origin.dump",
  };
  int fd;
  off_t size;
  int status = upg_input_open(path, &fd, &size, doc);
  if (status)
    return status;
  unsigned char head[4096];
  ssize_t len = pread(fd, head, sizeof head, 0);
  int err = errno;
  close(fd);
  char what[128];
  if (len < 0)
    return upg_fail(doc, UPG_EXIT_USAGE, upg_failure("CLIENT:FILE", "cannot read %s: %s", path, strerror(err)));
  if (len == 0)
    return upg_fail(doc, UPG_EXIT_USAGE, upg_failure("CLIENT:FILE", "%s is empty: nothing to upload", path));
  if (!upg_dump_plausible(head, (size_t)len, what, sizeof what))
    return upg_fail(doc, UPG_EXIT_USAGE,
                    upg_failure("CLIENT:FILE", "%s is not a database dump: it looks like %s; the platform takes a "
                                "directory-format dump (pg_dump -Fd), a custom-format dump (pg_dump -Fc), a zip, "
                                "or SQL text (plain or gzip)", path, what));
  *remote = names[upg_dump_format_of(head, (size_t)len)];
  *total = (long long)size;
  return 0;
}

int
upg_rpc_upload(const upg_settings *s, const char *path, jv *doc)
{
  upg_rpc_transfer t = { .download = false, .local = path, .remote = "origin.dump" };
  char *dir = NULL;
  struct stat st;
  int status;
  if (stat(path, &st) != 0)
    return upg_fail(doc, UPG_EXIT_USAGE, upg_failure("CLIENT:FILE", "cannot read %s: %s", path, strerror(errno)));
  /* the toc.dat of a directory dump stands for its directory, as with
   * the platform's script */
  if (S_ISREG(st.st_mode) && strcmp(upg_path_tail(path), "toc.dat") == 0) {
    dir = strdup(path);
    if (!dir)
      return upg_fail(doc, UPG_EXIT_USAGE, upg_failure("CLIENT:FILE", "out of memory"));
    char *slash = strrchr(dir, '/');
    if (!slash)
      strcpy(dir, ".");
    else
      slash[slash == dir] = '\0'; /* "/toc.dat": "/" */
    t.local = dir;
    stat(dir, &st);
  }
  t.directory = S_ISDIR(st.st_mode);
  status = t.directory ? check_directory(t.local, &t.total, doc) : check_file(t.local, &t.remote, &t.total, doc);
  if (status)
    goto out;
  char label[160];
  snprintf(label, sizeof label, "upload %s", upg_path_tail(t.local));
  t.label = label;
  if ((status = upg_rpc_transfer_run(s, &t, doc)))
    goto out;
  *doc = upg_doc_with("transfer", JV_OBJECT(jv_string("file"), jv_string(t.local),
                                            jv_string("remote"), jv_string(t.remote),
                                            jv_string("size"), jv_number((double)t.total),
                                            jv_string("bytes"), jv_number((double)t.moved.bytes),
                                            jv_string("files"), jv_number((double)t.moved.files),
                                            jv_string("seconds"), jv_number(t.moved.seconds)));
out:
  free(dir);
  return status;
}
