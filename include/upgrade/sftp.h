/* SPDX-License-Identifier: GPL-3.0-or-later */
/* sftp.h -- SFTP transfers with libssh2, driven non-blocking.
 *
 * libssh2 1.10 turns an interrupted poll() into an error in blocking mode,
 * so the session runs non-blocking under our own wait loop, which is also
 * where the host's interrupt check and the deadlines are applied.
 */
#ifndef UPGRADE_SFTP_H
#define UPGRADE_SFTP_H

#include <stdbool.h>
#include <jv.h>
#include "upgrade/settings.h"

/* Where the SFTP server is: defined by the SSH layer (ssh.h). */
typedef struct upg_sftp_endpoint upg_sftp_endpoint;

/* Upload LOCAL to REMOTE (a path relative to the SFTP root), continuing
 * after the prefix the remote file already holds -- or, after a parallel
 * upload, after the chunks LOCAL.sftp-put.meta records.  s->parallel
 * streams (1: exactly the one-stream upload; 0: chosen from the size and
 * the round trip; see sftp_streams.h).  On success *doc is
 * {"failures": [], "transfer": {file, remote, bytes, resumed_from, size,
 * seconds, in_flight, streams: {asked, used[, given_up]}, per_stream}}.
 * Exit codes: 2 local file, 3 SSH/SFTP/network, 5 host key, 128+sig
 * interrupted. */
int upg_sftp_put(const upg_settings *s, const upg_sftp_endpoint *ep,
                 const char *local, const char *remote, jv *doc);

/* Download REMOTE to LOCAL (via LOCAL.part, resumed, mode 0600, renamed
 * when complete; an existing LOCAL is refused unless FORCE), over
 * s->parallel streams as the upload; the same summary. */
int upg_sftp_get(const upg_settings *s, const upg_sftp_endpoint *ep,
                 const char *remote, const char *local, bool force, jv *doc);

/* Free the SSH state this process keeps (nothing inherited from a parent
 * process is touched).  Called when the module is unloaded. */
void upg_sftp_shutdown(void);

#endif
