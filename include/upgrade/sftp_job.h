/* SPDX-License-Identifier: GPL-3.0-or-later */
/* sftp_job.h -- the SFTP workflows built on request_sftp_access
 * (sftp_job.c): ask for access, then transfer with sftp.h.
 *
 * Exit codes as sftp.h's, plus 2 (CLIENT:SSH_KEYS) for a keys file that
 * holds anything but public keys: nothing is sent then.
 */
#ifndef UPGRADE_SFTP_JOB_H
#define UPGRADE_SFTP_JOB_H

#include <stdbool.h>
#include <jv.h>

#include "upgrade/settings.h"

/* sftp-access with a keys file: checked, then sent. */
int upg_sftp_access_file(const upg_settings *s, const char *keys_path, jv *doc);
/* sftp-put: access for the identity's public key (or s->ssh_keys), then
 * upload LOCAL to the shared file, resuming. */
int upg_sftp_upload(const upg_settings *s, const char *local, jv *doc);
/* sftp-get: access, then download upgraded_<shared file> to OUT (default
 * that same name), resuming. */
int upg_sftp_download(const upg_settings *s, const char *out, bool force, jv *doc);

#endif
