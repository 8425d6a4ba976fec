/* SPDX-License-Identifier: GPL-3.0-or-later */
/* rpc_rsync.h -- rsync for the rpc platform's transfers: its argv and
 * its progress (pure, unit-tested: tests/unit/test_rpc_rsync.c).
 *
 * rsync runs over OpenSSH's ssh, as the platform's own script does
 * (platform-rpc.md §4.2), with the script's options so that a forced-
 * command gate on the platform's side sees nothing it does not know
 * (§8.6), plus `--no-h` (plain byte counts to parse; a client-side
 * option) and what resuming and the user's disk need:
 *   - upload: `--partial`, the one option the platform's side sees that
 *     its script does not send (rrsync-like gates take it): a broken
 *     upload resumes by running again, rsync skipping the complete files
 *     and sending only the missing end of the one it was in (a custom
 *     dump is one file of gigabytes);
 *   - download: client-side options only (rsync does not pass them to
 *     the sender): `--partial-dir=.rsync-partial` (a broken file waits
 *     there and is resumed; a name in DIR is always a whole file),
 *     `--chmod=D700,F600` (a company's data, never the platform's modes),
 *     and `--recursive --times` instead of the script's `-a`: no `-l`, so
 *     no symbolic link is made (none can lead a later write, or a
 *     reader, out of DIR), no `-p`/`-o`/`-g` (no set-id bit or owner
 *     chosen by the platform: we may run as root), no `-D` (no device
 *     node in DIR).
 * The ssh command (`--rsh`) is one argument that rsync splits on
 * spaces, and ssh expands '%' and '~' in its file options: so the key
 * and known_hosts paths must be made of [A-Za-z0-9/._+,=@-] alone, and
 * are refused otherwise (they are the job's own paths, or the user's
 * --identity).  No token or other secret is ever in the argv.
 */
#ifndef UPGRADE_RPC_RSYNC_H
#define UPGRADE_RPC_RSYNC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <jv.h>

#include "upgrade/child.h"

/* The platform's account and directory (§4.2: fixed since M26). */
#define UPG_RPC_SSH_USER "odoo"
#define UPG_RPC_DATA_DIR "/data"

typedef struct upg_rsync_spec {
  const char *host;         /* checked with upg_rpc_bad_host */
  int port;                 /* transfer/start's ssh_port */
  const char *key;          /* the private key (ssh -i) */
  const char *known_hosts;  /* the file holding this transfer's host keys */
  const char *local;        /* upload: the dump (a directory's contents are
                               sent); download: the directory to fill */
  const char *remote;       /* upload: the name under /data ("origin.dump");
                               download: dump_name; both plain file names */
  bool directory;           /* upload: LOCAL is a directory */
} upg_rsync_spec;

/* Where a download keeps a broken file (relative: in each directory). */
#define UPG_RSYNC_PARTIAL_DIR ".rsync-partial"

/* The argv (NULL-terminated, malloc'd with its strings: child.h's upg_argv_free) of
 *   rsync --info=progress2 --no-h --delete-after --recursive --links --times
 *         --partial --rsh=SSH LOCAL[/] odoo@HOST:/data/REMOTE
 * for an upload, or of
 *   rsync --recursive --times --ignore-missing-args --info=progress2 --no-h
 *         --partial-dir=.rsync-partial --chmod=D700,F600 --rsh=SSH
 *         odoo@HOST:/data/REMOTE odoo@HOST:/data/filestore
 *         odoo@HOST:/data/upgrade-report.html odoo@HOST:/data/upgrade.log LOCAL/
 * for a download, with SSH = `ssh -F /dev/null -p PORT -o IdentitiesOnly=yes -o
 * StrictHostKeyChecking=yes -o BatchMode=yes -o UserKnownHostsFile=FILE
 * -o GlobalKnownHostsFile=/dev/null -i KEY` (the system's known hosts are
 * not this transfer's either).  A relative LOCAL is given as "./LOCAL",
 * so that neither a leading '-' nor a ':' makes rsync read it as an option
 * or a remote path.  Returns 0 with *argv set, or 2 (CLIENT:USAGE) / 3
 * (CLIENT:BAD_RESPONSE, a host or name from the platform) with *doc set. */
int upg_rsync_argv(const upg_rsync_spec *spec, bool download, char ***argv, jv *doc);

/* Whether PATH may stand in SSH as a file option: [A-Za-z0-9/._+,=@-]
 * alone, not starting with '-'. */
bool upg_rsync_rsh_path_ok(const char *path);

/* rsync's --info=progress2 --no-h output, fed in pieces of any size:
 *   "  31457280 100%  998.96MB/s    0:00:00 (xfr#1, to-chk=0/2)"
 * Records end in '\r' or '\n'.  Memory is bounded: a record longer than
 * the buffer is cut; the other lines (rsync's and ssh's messages) are
 * kept, last ones first to go, for an error message. */
#define UPG_RSYNC_LINE_MAX 512
#define UPG_RSYNC_OTHER_MAX 1024

typedef struct upg_rsync_progress {
  uint64_t bytes;        /* bytes transferred so far */
  int percent;           /* rsync's estimate, 0..100, or -1 before any */
  long files_done;       /* xfr#N */
  long files_left;       /* to-chk=LEFT/TOTAL (or ir-chk while rsync is still listing) */
  long files_total;
  bool listing;          /* the last count was ir-chk: the total is not final */
  bool seen;             /* at least one progress record was read */

  char line[UPG_RSYNC_LINE_MAX];
  size_t line_len;
  bool line_cut;
  char other[UPG_RSYNC_OTHER_MAX]; /* the other lines, '\n'-separated, NUL-terminated */
  size_t other_len;
} upg_rsync_progress;

void upg_rsync_progress_init(upg_rsync_progress *p);

/* Feed LEN bytes of rsync's output; returns true when a progress record
 * was read (the meter may be redrawn). */
bool upg_rsync_progress_feed(upg_rsync_progress *p, const char *data, size_t len);

/* One record (without its terminator): true when it is a progress
 * record, read into P; otherwise P is unchanged.  Exposed for the unit
 * tests. */
bool upg_rsync_progress_parse(upg_rsync_progress *p, const char *rec, size_t len);

#endif
