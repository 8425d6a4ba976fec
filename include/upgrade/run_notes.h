/* SPDX-License-Identifier: GPL-3.0-or-later */
/* run_notes.h -- the platform's upgrade notes, fetched by `run` beside the
 * upgraded dump (run_notes.c). */
#ifndef UPGRADE_RUN_NOTES_H
#define UPGRADE_RUN_NOTES_H

#include <jv.h>

#include "upgrade/runstate.h"
#include "upgrade/settings.h"

/* Download the notes of RS's request (`download --what notes`: the
 * status's notes_url) to upgrade_notes_<request>.html in the directory of
 * RS's output, replacing an earlier copy (the name is the request's own).
 * The notes are an extra: a failure is a notice on S, never the job's.
 * Returns the file's path as a jv string, or jv_null() when they could not
 * be fetched. */
jv upg_run_notes_fetch(const upg_settings *s, const upg_runstate *rs);

#endif
