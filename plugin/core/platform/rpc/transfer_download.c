/* SPDX-License-Identifier: GPL-3.0-or-later */
/* transfer_download.c -- `upgrade download [-o DIR]` under rpc: DIR made
 * or checked, the transfer, and what landed in DIR (see rpc_transfer.h). */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "upgrade/outcome.h"
#include "upgrade/progress.h"
#include "upgrade/rpc_transfer.h"

/* DIR is a directory, or missing (MAKE: made, 0700). */
static int
check_dir(const char *dir, bool make, jv *doc)
{
  struct stat st;
  if (stat(dir, &st) == 0)
    return S_ISDIR(st.st_mode) ? 0
      : upg_fail(doc, UPG_EXIT_USAGE, upg_failure("CLIENT:FILE", "-o %s is not a directory: under the rpc "
                                                  "dialect download fills a directory", dir));
  if (errno != ENOENT || (make && mkdir(dir, 0700) != 0))
    return upg_fail(doc, UPG_EXIT_USAGE, upg_failure("CLIENT:FILE", "-o %s: cannot make the directory: %s", dir,
                                                     strerror(errno)));
  return 0;
}

/* The platform's answer is checked: DIR may be made. */
static int
make_dir(const upg_rpc_transfer *t, jv *doc)
{
  return check_dir(t->local, true, doc);
}

/* DIR/NAME when it is there as a directory (DIRECTORY) or a regular
 * file, else null. */
static jv
landed(const char *dir, const char *name, bool directory)
{
  char path[4096];
  struct stat st;
  snprintf(path, sizeof path, "%s/%s", dir, name);
  if (lstat(path, &st) != 0 || !(directory ? S_ISDIR(st.st_mode) : S_ISREG(st.st_mode)))
    return jv_null();
  return jv_string(path);
}

int
upg_rpc_download(const upg_settings *s, const char *dir, jv *doc)
{
  char label[160];
  dir = dir ? dir : ".";
  snprintf(label, sizeof label, "download into %s", upg_path_tail(dir));
  upg_rpc_transfer t = { .download = true, .local = dir, .directory = true, .label = label, .ready = make_dir };
  int status;
  if ((status = check_dir(dir, false, doc)) || (status = upg_rpc_transfer_run(s, &t, doc)))
    return status;
  /* a directory-format dump, or (older platforms) one file */
  jv dump = landed(dir, t.dump_name, true);
  if (jv_get_kind(dump) == JV_KIND_NULL) {
    jv_free(dump);
    dump = landed(dir, t.dump_name, false);
  }
  if (jv_get_kind(dump) == JV_KIND_NULL)
    return upg_fail(doc, UPG_EXIT_TRANSPORT,
                    upg_failure("CLIENT:BAD_RESPONSE", "the platform sent no %s (transfer/start's dump_name): "
                                "is the upgrade done? (upgrade status)", t.dump_name));
  *doc = upg_doc_with("transfer", JV_OBJECT(jv_string("directory"), jv_string(dir), jv_string("dump"), dump,
                                            jv_string("filestore"), landed(dir, "filestore", true),
                                            jv_string("report"), landed(dir, "upgrade-report.html", false),
                                            jv_string("log"), landed(dir, "upgrade.log", false),
                                            jv_string("bytes"), jv_number((double)t.moved.bytes),
                                            jv_string("files"), jv_number((double)t.moved.files),
                                            jv_string("seconds"), jv_number(t.moved.seconds)));
  return 0;
}
