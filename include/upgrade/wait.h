/* SPDX-License-Identifier: GPL-3.0-or-later */
/* wait.h -- `wait`: poll status until the request is final (wait.c). */
#ifndef UPGRADE_WAIT_H
#define UPGRADE_WAIT_H

#include <stdbool.h>
#include <jv.h>

#include "upgrade/settings.h"

/* Poll status every INTERVAL seconds until a final state, or until
 * TIMEOUT seconds (0 = none) pass.  A transient failure of a poll (see
 * upg_api_status_once) is reported and waited through.  *doc ends as the
 * last status answer (plus a CLIENT:STATE, CLIENT:TIMEOUT or
 * CLIENT:INTERRUPTED failure when it did not succeed).  *final is set when
 * the request reached a final state, successful or not: a caller can tell
 * "the request ended" from "we stopped waiting".  Exit 0 done/delivered,
 * 1 failed/invalid/cancelled or still a draft, 3 a fault that will not
 * heal, 4 timeout, 128+sig interrupted. */
int upg_wait(const upg_settings *s, double interval, double timeout, bool *final, jv *doc);

#endif
