/* SPDX-License-Identifier: GPL-3.0-or-later */
/* wait.h -- `wait`: poll status until the request is final (wait.c). */
#ifndef UPGRADE_WAIT_H
#define UPGRADE_WAIT_H

#include <stdbool.h>
#include <jv.h>

#include "upgrade/platform.h"
#include "upgrade/settings.h"

/* Poll status (platform.h: whichever dialect S speaks) every INTERVAL
 * seconds until a final state, or until TIMEOUT seconds (0 = none) pass;
 * with LOG (not NULL), read the platform's log after each status as LOG
 * says (a dialect without a log refuses it: exit 2), a failure of it
 * ending the wait as a failed status would.  A transient failure of a poll (see
 * upg_api_status_once) is reported and waited through.  *doc ends as the
 * last status answer (plus a CLIENT:STATE, CLIENT:TIMEOUT or
 * CLIENT:INTERRUPTED failure when it did not succeed).  *final is set when
 * the request reached a final state, successful or not: a caller can tell
 * "the request ended" from "we stopped waiting".  Exit 0 done/delivered,
 * 1 failed/invalid/cancelled or still a draft, 3 a fault that will not
 * heal, 4 timeout, 128+sig interrupted.  v1's final states are done,
 * delivered, failed, invalid, cancel(led); rpc's done, failed, cancelled. */
int upg_wait(const upg_settings *s, double interval, double timeout, upg_log_tail *log, bool *final, jv *doc);
/* INTERVAL 0 (no --interval): v1 polls every UPG_WAIT_V1_INTERVAL seconds;
 * rpc from 1 s, doubling to UPG_WAIT_RPC_INTERVAL (wait.c says why).  A
 * positive INTERVAL is kept. */
#define UPG_WAIT_V1_INTERVAL 10.0
#define UPG_WAIT_RPC_INTERVAL 3.0

/* `log --follow`: upg_wait with the log from byte FROM, each complete line
 * on stderr as it comes; *doc is wait's document plus "log": {"from",
 * "next", "text"} (the text made safe: upg_safe_text). */
int upg_log_follow(const upg_settings *s, unsigned long long from, double interval, double timeout, jv *doc);

#endif
