/* SPDX-License-Identifier: GPL-3.0-or-later */
/* jobs.h -- `upgrade jobs [DIR]`: the job records of `run` in DIR, open
 * and closed, as JSON (jobs.c). */
#ifndef UPGRADE_JOBS_H
#define UPGRADE_JOBS_H

#include <jv.h>

#include "upgrade/settings.h"

/* The records DIR*.upgrade.json (runstate.h) in DIR (NULL: "."), by
 * name: {"failures": [], "jobs": [{"record", "dump", "request",
 * "platform", "dialect", "step", "state", "when", "output", "database",
 * "restore_as"},
 * ...]}, "when" the record's last change (its mtime, UTC, ISO 8601).
 * Never the key nor the token.  A record that cannot be trusted or read (runstate.h's
 * rules) is listed with "error" and nothing from its content.  0, or 2
 * with *doc set (CLIENT:FILE) when DIR cannot be read. */
int upg_jobs_list(const upg_settings *s, const char *dir, jv *doc);

#endif
