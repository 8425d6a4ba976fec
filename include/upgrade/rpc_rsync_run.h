/* SPDX-License-Identifier: GPL-3.0-or-later */
/* rpc_rsync_run.h -- rsync (over OpenSSH's ssh) running as a child of the
 * shell for one rpc transfer: its version, its environment, its progress
 * on the builtin's meter, and what its failure means.
 *
 * The child is started through child.h: it dies with the shell (also on
 * SIGKILL), is stopped on Ctrl-C and reaped before the call returns.
 * ssh, rsync's own child, ends when rsync's pipes to it close.
 *
 * The child's environment is not the shell's: only PATH, HOME, USER,
 * LOGNAME, SHELL, TMPDIR, TZ, LANG, LANGUAGE and LC_* pass, so neither a
 * secret (UPGRADE_TOKEN, UPGRADE_KEY, PGPASSWORD, ...) nor an agent
 * (SSH_AUTH_SOCK) nor an rsync setting (RSYNC_RSH, RSYNC_PARTIAL_DIR, ...)
 * reaches rsync or ssh.  The argv (rpc_rsync.h) holds no secret either.
 *
 * rsync's stdout (its --info=progress2 records) is read on a pipe of ours
 * and drives the meter; its stderr (and ssh's) is kept for the failure.
 */
#ifndef UPGRADE_RPC_RSYNC_RUN_H
#define UPGRADE_RPC_RSYNC_RUN_H

#include <jv.h>

#include "upgrade/settings.h"

/* The oldest rsync with --info=progress2 and --ignore-missing-args. */
#define UPG_RSYNC_MIN_MAJOR 3
#define UPG_RSYNC_MIN_MINOR 1

/* What one run moved, from its last progress record. */
typedef struct upg_rsync_moved {
  long long bytes;   /* file data rsync went through (sent or found there) */
  long files;        /* files it transferred (xfr#) */
  double seconds;
} upg_rsync_moved;

/* `rsync --version` of the rsync on PATH is at least 3.1: 0, or exit 2
 * (CLIENT:USAGE) when it is missing, older or says no version. */
int upg_rsync_check_version(const upg_settings *s, jv *doc);

/* Run ARGV (rsync's, from upg_rsync_argv) with the meter labelled LABEL
 * (TOTAL bytes when known, else 0).  0 with *moved set; or
 *   2   CLIENT:USAGE  rsync or ssh is not installed;
 *   3   CLIENT:SSH_AUTH  the platform refused the key;
 *   3   CLIENT:SSH  anything else rsync or ssh failed at (the first lines
 *       of their stderr, escaped), with how to resume;
 *   5   CLIENT:HOST_KEY  ssh refused the server's host key;
 *   128+sig  CLIENT:INTERRUPTED  (rsync stopped and reaped);
 * with *doc set. */
int upg_rsync_run(const upg_settings *s, char **argv, const char *label, long long total, upg_rsync_moved *moved,
                  jv *doc);

#endif
