/* SPDX-License-Identifier: GPL-3.0-or-later */
/* sftp_handle.h -- what one SFTP handle does on one connection: open a
 * remote file, and push a local file's bytes to it with a window in
 * flight.
 *
 * Below both sftp.h (the one-stream transfers, which build the workflows)
 * and sftp_streams.h (the same transfer over N sessions in N threads): a
 * worker thread calls these on the connection it owns, exactly as the
 * one-stream code does on the shell's thread, so they touch nothing but
 * the connection C, the handle and the descriptor they are given (no host
 * callback, no global).  A failure is recorded in C (upg_ssh_failf: the
 * first one wins) and its status returned; the caller owns and closes
 * the handle and the descriptor.
 */
#ifndef UPGRADE_SFTP_HANDLE_H
#define UPGRADE_SFTP_HANDLE_H

#include <stddef.h>

#include "upgrade/ssh.h"

/* Bytes of the transfer acknowledged so far (a push's running total). */
typedef void (*upg_sftp_on_sent)(void *arg, long long sent);

/* Open REMOTE with FLAGS (0600 when created) into *H (the caller closes
 * it).  0 or a failure status. */
int upg_sftp_open_remote(upg_ssh *c, const char *remote, unsigned long flags, LIBSSH2_SFTP_HANDLE **h);

/* Send TOTAL bytes of FD from offset FROM to H (positioned), keeping
 * about SIZE bytes in flight; *SENT counts the bytes acknowledged, and
 * ON_SENT(ARG, *SENT) is told after each step.  FD is read with pread
 * (streams share it).  When it returns 0 nothing is in flight. */
int upg_sftp_push(upg_ssh *c, LIBSSH2_SFTP_HANDLE *h, int fd, long long from, const char *local,
                  const char *remote, long long total, size_t size, long long *sent,
                  upg_sftp_on_sent on_sent, void *arg);

#endif
