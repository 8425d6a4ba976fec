/* jqfilter.h -- run a user's jq program in-process with libjq.
 *
 * libjq 1.6 spends ~12 ms compiling a program (it re-parses its builtin
 * library each time) and ~2 µs re-running a compiled one, so compiled
 * programs are cached by their text for the life of the module.
 */
#ifndef UPGRADE_JQFILTER_H
#define UPGRADE_JQFILTER_H

#include <jv.h>

enum upg_jq_error { UPG_JQ_OK = 0, UPG_JQ_COMPILE = 1, UPG_JQ_RUNTIME = 2 };

/* Run FILTER over INPUT (consumed).  On success *outputs is an array of the
 * program's outputs.  On error *outputs is jv_invalid() and *message a
 * malloc'd text ("jq: error: …"). */
int upg_jq_run(const char *filter, jv input, jv *outputs, char **message);

/* Compile FILTER (and cache it) without running it, so that a bad filter
 * is refused before anything is sent.  0, or UPG_JQ_COMPILE with *message. */
int upg_jq_check(const char *filter, char **message);

/* Free every cached program (module unload). */
void upg_jq_cache_clear(void);

#endif
