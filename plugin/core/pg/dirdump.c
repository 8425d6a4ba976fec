/* SPDX-License-Identifier: GPL-3.0-or-later */
/* dirdump.c -- a directory dump, or a download directory holding one, as
 * restore reads it (see dirdump.h). */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "upgrade/dirdump.h"
#include "upgrade/outcome.h"

#define TOC "toc.dat"
#define FILESTORE "filestore"
#define REPORT "upgrade-report.html"
#define LOG "upgrade.log"
/* The platform's download is three levels deep (filestore/ab/sha1): far
 * more is no download, and would only cost descriptors. */
#define MAX_DEPTH 16

struct scan {
  const char *root;        /* DIR as given */
  jv *doc;
  int found;               /* directories holding a toc.dat */
  char *first, *second;    /* the first two (relative; "" for DIR) */
  long long fs_files;      /* regular files under DIR/filestore */
};

static int
refuse(struct scan *sc, const char *rel, const char *why)
{
  return upg_fail(sc->doc, UPG_EXIT_USAGE,
                  upg_failure("CLIENT:FILE", "%s/%s %s: refusing %s (a download holds only directories and "
                              "regular files, all inside it)", sc->root, rel, why, sc->root));
}

static char *
join(const char *a, const char *b)
{
  char *p = NULL;
  if (!*a)
    return strdup(b);
  return asprintf(&p, "%s/%s", a, b) < 0 ? NULL : p;
}

/* A toc.dat in DIR (REL "") or in a directory directly inside it. */
static void
candidate(struct scan *sc, const char *rel)
{
  char **slot = sc->found == 0 ? &sc->first : sc->found == 1 ? &sc->second : NULL;
  sc->found++;
  if (slot)
    *slot = strdup(rel);
}

static int walk(struct scan *sc, int fd, const char *rel, int depth, bool in_filestore);

/* NAME in the directory DFD, PARENT under DIR; REL is PARENT/NAME. */
static int
walk_entry(struct scan *sc, int dfd, const char *name, const char *parent, const char *rel, int depth,
           bool in_filestore)
{
  struct stat st;
  if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) != 0)
    return upg_fail(sc->doc, UPG_EXIT_USAGE, upg_failure("CLIENT:FILE", "cannot read %s/%s: %s", sc->root,
                                                         rel, strerror(errno)));
  if (S_ISLNK(st.st_mode))
    return refuse(sc, rel, "is a symbolic link");
  if (S_ISREG(st.st_mode)) {
    sc->fs_files += in_filestore;
    if (depth <= 1 && strcmp(name, TOC) == 0)
      candidate(sc, parent);
    return 0;
  }
  if (!S_ISDIR(st.st_mode))
    return refuse(sc, rel, "is neither a directory nor a regular file");
  if (depth >= MAX_DEPTH)
    return refuse(sc, rel, "is too deep");
  int fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0)
    return upg_fail(sc->doc, UPG_EXIT_USAGE, upg_failure("CLIENT:FILE", "cannot read %s/%s: %s", sc->root,
                                                         rel, strerror(errno)));
  return walk(sc, fd, rel, depth + 1, in_filestore || (depth == 0 && strcmp(name, FILESTORE) == 0));
}

/* Every entry of the directory FD (taken over), REL under DIR, at DEPTH. */
static int
walk(struct scan *sc, int fd, const char *rel, int depth, bool in_filestore)
{
  DIR *d = fdopendir(fd);
  if (!d) {
    int err = errno;
    close(fd);
    return upg_fail(sc->doc, UPG_EXIT_USAGE, upg_failure("CLIENT:FILE", "cannot read %s/%s: %s", sc->root,
                                                         rel, strerror(err)));
  }
  int status = 0;
  struct dirent *e;
  while (!status && (e = readdir(d))) {
    if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
      continue;
    char *path = join(rel, e->d_name);
    status = path ? walk_entry(sc, dirfd(d), e->d_name, rel, path, depth, in_filestore)
                  : upg_fail(sc->doc, UPG_EXIT_USAGE, upg_failure("CLIENT:FILE", "%s: %s", sc->root,
                                                                  strerror(ENOMEM)));
    free(path);
  }
  closedir(d);
  return status;
}

/* PATH when it is a regular file (not followed), else NULL; malloc'd. */
static char *
regular_file(const char *dir, const char *name)
{
  char *p = join(dir, name);
  struct stat st;
  if (p && (lstat(p, &st) != 0 || !S_ISREG(st.st_mode))) {
    free(p);
    p = NULL;
  }
  return p;
}

/* What the download holds beside the dump it was found to hold. */
static int
beside(const struct scan *sc, upg_dirdump *d)
{
  char *fs = join(sc->root, FILESTORE);
  struct stat st;
  if (!fs)
    return -1;
  if (lstat(fs, &st) == 0 && S_ISDIR(st.st_mode)) {
    d->filestore = fs;
    d->filestore_files = sc->fs_files;
  } else {
    free(fs);
  }
  d->report = regular_file(sc->root, REPORT);
  d->log = regular_file(sc->root, LOG);
  return 0;
}

int
upg_dirdump_read(const char *dir, upg_dirdump *d, jv *doc)
{
  memset(d, 0, sizeof *d);
  struct scan sc = { .root = dir, .doc = doc };
  int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0)
    return upg_fail(doc, UPG_EXIT_USAGE, upg_failure("CLIENT:FILE", "cannot read %s: %s", dir, strerror(errno)));
  int status = walk(&sc, fd, "", 0, false);
  if (status)
    goto out;
  if (sc.found == 0)
    status = upg_fail(doc, UPG_EXIT_USAGE,
                      upg_failure("CLIENT:FILE", "%s holds no directory-format dump (no " TOC " in it, nor in "
                                  "a directory directly inside it)", dir));
  else if (sc.found > 1)
    status = upg_fail(doc, UPG_EXIT_USAGE,
                      upg_failure("CLIENT:FILE", "%s holds %d directory-format dumps (%s/%s, %s/%s%s): refusing "
                                  "it (only one can be what the platform meant); give the one to restore",
                                  dir, sc.found, dir, sc.first ? sc.first : "?", dir, sc.second ? sc.second : "?",
                                  sc.found > 2 ? ", ..." : ""));
  else if (strcmp(sc.first, FILESTORE) == 0)
    status = upg_fail(doc, UPG_EXIT_USAGE,
                      upg_failure("CLIENT:FILE", "%s/" FILESTORE " holds a " TOC ": refusing %s (its dump and its "
                                  "filestore cannot be one directory)", dir, dir));
  if (status)
    goto out;
  d->dump = *sc.first ? join(dir, sc.first) : strdup(dir);
  d->toc = d->dump ? join(d->dump, TOC) : NULL;
  if (!d->toc || (*sc.first && beside(&sc, d) != 0))
    status = upg_fail(doc, UPG_EXIT_USAGE, upg_failure("CLIENT:FILE", "%s: %s", dir, strerror(ENOMEM)));
out:
  free(sc.first);
  free(sc.second);
  return status;
}

void
upg_dirdump_free(upg_dirdump *d)
{
  free(d->dump);
  free(d->toc);
  free(d->filestore);
  free(d->report);
  free(d->log);
  memset(d, 0, sizeof *d);
}
