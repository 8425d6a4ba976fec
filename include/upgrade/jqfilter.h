/* SPDX-License-Identifier: GPL-3.0-or-later */
/* jqfilter.h -- run a user's jq program in-process with libjq.
 *
 * libjq 1.6 spends ~12 ms compiling a program (it re-parses its builtin
 * library each time) and ~2 µs re-running a compiled one, so compiled
 * programs are cached by their text for the life of the module.
 */
#ifndef UPGRADE_JQFILTER_H
#define UPGRADE_JQFILTER_H

#include <jv.h>

#include "upgrade/settings.h"

enum upg_jq_error { UPG_JQ_OK = 0, UPG_JQ_COMPILE = 1, UPG_JQ_RUNTIME = 2 };

/* Run FILTER over INPUT (consumed).  On success *outputs is an array of the
 * program's outputs.  On error *outputs is jv_invalid() and *message a
 * malloc'd text ("jq: error: …").  Builtins that talk to the outside:
 * `debug` prints ["DEBUG:",value] through upg_trace(S) (S may be NULL: not
 * printed); `input` fails with "No more inputs" and `inputs` is empty (the
 * document is the only input); `input_filename` is null; `halt` ends the
 * program keeping its outputs so far; `halt_error` is a run-time error;
 * `stderr` writes compact JSON straight to stderr (libjq 1.6 has no hook). */
int upg_jq_run(const upg_settings *s, const char *filter, jv input, jv *outputs, char **message);

/* Compile FILTER (and cache it) without running it, so that a bad filter
 * is refused before anything is sent.  0, or UPG_JQ_COMPILE with *message. */
int upg_jq_check(const char *filter, char **message);

/* Free every cached program (module unload). */
void upg_jq_cache_clear(void);

/* Might FILTER read the environment (`env`, `$ENV`)?  Such a program is
 * compiled afresh for each call (libjq binds $ENV at compile time), and
 * the host must first make its environment current (bash rebuilds environ
 * only when it runs a command).  Errs on the side of yes. */
bool upg_jq_reads_environment(const char *filter);

#endif
