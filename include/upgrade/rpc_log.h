/* SPDX-License-Identifier: GPL-3.0-or-later */
/* rpc_log.h -- the rpc platform's log, read by byte ranges (log.c).
 *
 * GET https://NODE/upgrade/request/logs?token=T with `Range: bytes=N-`
 * (platform-rpc.md §2.7): any 2xx body is the log from byte N (206, or
 * 200 with the slice; an empty 200 at or past the end).  Offsets count
 * bytes, never characters (the platform's script counts characters and
 * drifts on non-ASCII lines): a UTF-8 sequence cut by the end of a body is
 * left for the next read.  The bytes are the server's: in a document they
 * are made printable and valid UTF-8 (upg_safe_text), on stderr each line
 * goes through upg_human_text.  An HTML page (a maintenance page) or a
 * non-2xx status is a bad answer, exit 3.
 */
#ifndef UPGRADE_RPC_LOG_H
#define UPGRADE_RPC_LOG_H

#include <stdbool.h>
#include <stddef.h>
#include <jv.h>

#include "upgrade/platform.h"
#include "upgrade/settings.h"

/* How many of LEN bytes a reader takes now: all but a UTF-8 sequence that
 * the end cuts short (at most 3 bytes), which the next read starts with.
 * Pure. */
size_t upg_rpc_log_usable(const char *bytes, size_t len);

/* The rpc backend's log_read (platform.h). */
int upg_rpc_log_read(const upg_settings *s, upg_log_tail *t, bool last, jv *doc);

#endif
