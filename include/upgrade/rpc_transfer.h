/* SPDX-License-Identifier: GPL-3.0-or-later */
/* rpc_transfer.h -- `upgrade upload` and `upgrade download` under the rpc
 * dialect: the dump up to the platform, the upgraded dump and its files
 * down, by rsync over OpenSSH's ssh (platform-rpc.md §2.3, §2.4, §4.2).
 *
 * One transfer (transfer.c):
 *   1. the request's token (--token, $UPGRADE_TOKEN: URL-safe, a secret
 *      cut out of every human line) and its key (--identity,
 *      $UPGRADE_IDENTITY: the private half of the key create sent);
 *      rsync >= 3.1 on the PATH;
 *   2. the node: s->node ($UPGRADE_HOST), else status's host_uri asked of
 *      s->base_url; a bare host either way;
 *   3. transfer/start on https://NODE (transfer_type upload|download); its
 *      answer checked: ssh_port a port, known_hosts only `[NODE]:PORT`
 *      keys (rpc_fields.h), dump_name (download) one plain file name --
 *      anything else is exit 3 (CLIENT:BAD_RESPONSE) before any child
 *      runs or any file is written;
 *   4. those host keys in a private known_hosts (rpc_hostkeys.h), removed
 *      at the end whatever happens;
 *   5. rsync as a child of the shell (rpc_rsync_run.h): its progress on
 *      the meter, no secret in its argv or environment;
 *   6. transfer/stop after a successful rsync only (the platform times a
 *      broken transfer's endpoint out): a broken transfer resumes by
 *      running the same command again, rsync sending only what is missing.
 * Exit codes: 0; 1 the platform refused (a wrong state, an unknown token);
 * 2 usage or a local problem (no token or key, no rsync, a bad dump);
 * 3 a bad answer or a failed transfer; 5 ssh refused the host key;
 * 128+sig interrupted (the children stopped and reaped).
 */
#ifndef UPGRADE_RPC_TRANSFER_H
#define UPGRADE_RPC_TRANSFER_H

#include <stdbool.h>
#include <jv.h>

#include "upgrade/rpc_fields.h"
#include "upgrade/rpc_rsync_run.h"
#include "upgrade/settings.h"

/* DUMP (a directory-format dump, i.e. a directory holding toc.dat, or
 * that toc.dat itself; a custom-format dump, SQL, gzipped SQL or a zip)
 * to /data/origin.dump (a directory's contents), or, for a file, to
 * /data/origin.dump, origin.sql, origin.sql.gz or origin.zip as its first
 * bytes say (pg.h's upg_dump_format_of; the platform's script goes by
 * the name's end, which a `db.backup` would fail).  An empty file, one
 * that is no dump (upg_dump_plausible) or a directory without toc.dat is
 * refused (exit 2, CLIENT:FILE) before anything is sent.  On success *doc is {"failures": [], "transfer":
 * {"file", "remote", "size", "bytes", "files", "seconds"}}: SIZE the
 * dump's bytes, BYTES what rsync went through (what it sent, plus what
 * the platform already had: a re-run after a break finds most of it
 * there), FILES the files it sent. */
int upg_rpc_upload(const upg_settings *s, const char *path, jv *doc);

/* The upgraded dump (transfer/start's dump_name, a directory-format
 * dump), filestore/, upgrade-report.html and upgrade.log (each when the
 * platform has it) into DIR (NULL: "."), made (0700) when missing; files
 * 0600, directories 0700, no link, device, owner or set-id bit from the
 * platform; a broken file waits in DIR/.../.rsync-partial/ until a re-run
 * completes it.  Nothing is written outside DIR, nor DIR made, before the
 * platform's answer is checked.  On success *doc is
 * {"failures": [], "transfer": {"directory", "dump", "filestore",
 * "report", "log", "bytes", "files", "seconds"}}, each path DIR/NAME or
 * null when the platform sent none; no dump is exit 3. */
int upg_rpc_download(const upg_settings *s, const char *dir, jv *doc);

/* One transfer, the steps above: LOCAL and REMOTE as in rpc_rsync.h's
 * upg_rsync_spec (REMOTE NULL for a download: the answer's dump_name,
 * copied to DUMP_NAME), LABEL and TOTAL for the meter; READY (may be
 * NULL) is called once the answer is checked, before rsync: the first
 * moment anything may be written (0, or an exit status with *doc set).
 * 0 with *moved set, or an exit status with *doc set. */
typedef struct upg_rpc_transfer upg_rpc_transfer;
struct upg_rpc_transfer {
  bool download;
  const char *local;
  const char *remote;
  bool directory;
  const char *label;
  long long total;
  int (*ready)(const upg_rpc_transfer *t, jv *doc);
  char dump_name[UPG_RPC_NAME_MAX + 1];  /* out (download) */
  upg_rsync_moved moved;                 /* out */
};

int upg_rpc_transfer_run(const upg_settings *s, upg_rpc_transfer *t, jv *doc);

#endif
