/* SPDX-License-Identifier: GPL-3.0-or-later */
/* rpc_hostkeys.h -- the known_hosts file of one rpc transfer: the host
 * keys that its transfer/start returned (checked by upg_rpc_known_hosts
 * first), and nothing else.
 *
 * The file lives in a directory of its own, made by mkdtemp (mode 0700)
 * under $TMPDIR when that is an absolute path ssh can be handed through
 * rsync's --rsh (rpc_rsync.h: upg_rsync_rsh_path_ok), else under /tmp;
 * the file is created with O_EXCL and O_NOFOLLOW, mode 0600, so no other
 * user can read, replace or add to it.  ssh reads it with
 * StrictHostKeyChecking=yes and writes nothing to it.  It is removed with
 * its directory when the transfer ends, whatever the outcome.  A shell
 * killed by SIGKILL leaves its directory behind (public host keys only):
 * the directory is named upgrade-rsync.PID.XXXXXX (PID: the process that
 * made it), and the next transfer of any shell of the same user removes
 * such leftovers -- directories of that user (lstat: no symbolic link)
 * whose PID is gone (kill(PID, 0): ESRCH) and that are older than
 * UPG_RPC_HOSTKEYS_STALE seconds (ssh reads its known_hosts once, when it
 * connects: a directory that old is of no use even to a transfer still
 * running, say in another PID namespace sharing /tmp).
 */
#ifndef UPGRADE_RPC_HOSTKEYS_H
#define UPGRADE_RPC_HOSTKEYS_H

#include <limits.h>
#include <jv.h>

typedef struct upg_rpc_hostkeys {
  char dir[PATH_MAX];   /* the private directory, "" when none was made */
  char file[PATH_MAX];  /* DIR/known_hosts, "" when none was written */
} upg_rpc_hostkeys;

/* How old a leftover directory must be before it is removed. */
#define UPG_RPC_HOSTKEYS_STALE 600

/* Make the directory (after removing leftovers: see above) and write TEXT
 * (known_hosts lines) to K->file.
 * 0, or exit 2 (CLIENT:FILE) with *doc set and nothing left behind. */
int upg_rpc_hostkeys_write(upg_rpc_hostkeys *k, const char *text, jv *doc);

/* Remove the file and its directory, if made; K is emptied (idempotent). */
void upg_rpc_hostkeys_remove(upg_rpc_hostkeys *k);

#endif
