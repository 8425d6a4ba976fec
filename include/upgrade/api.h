/* SPDX-License-Identifier: GPL-3.0-or-later */
/* api.h -- the platform's form-posted methods, one function each (api.c).
 *
 * Each returns an exit status (outcome.h) and sets *doc to the document to
 * print: the platform's answer as it came, or a CLIENT:* failure.  The
 * settings are borrowed for the call; nothing is kept after it returns.
 * The upload, the downloads, wait, the SFTP workflows and run have headers
 * of their own (upload.h, download.h, wait.h, sftp_job.h, run.h).
 */
#ifndef UPGRADE_API_H
#define UPGRADE_API_H

#include <stdbool.h>
#include <stddef.h>
#include <jv.h>

#include "upgrade/platform.h"
#include "upgrade/settings.h"

/* create: on success doc.request carries "id" and "key".  Never retried:
 * twice would make two requests. */
int upg_api_create(const upg_settings *s, const upg_create_params *p, jv *doc);

/* process, skip_test, status: methods that take only request and key.
 * status is retried as --retry says (it changes nothing); the others not. */
int upg_api_process(const upg_settings *s, jv *doc);
int upg_api_skip_test(const upg_settings *s, jv *doc);
int upg_api_status(const upg_settings *s, jv *doc);

/* One status exchange, never retried; *transient tells whether a failure
 * is worth another try later (a fault of the network or the server, or
 * the platform's SERVER:ERROR) by the same rule upg_retry applies. */
int upg_api_status_once(const upg_settings *s, bool *transient, jv *doc);

/* request_sftp_access with KEYS (the text of an ssh_keys file, already
 * checked) sent as the multipart field `ssh_keys`. */
int upg_api_sftp_access(const upg_settings *s, const char *keys, size_t len, jv *doc);

/* BASE/METHOD?request=ID&key=KEY, both URL-encoded (keys hold '+', '/',
 * '='): the URL of the methods that take request and key in the query
 * (upload, request_sftp_access).  malloc'd, NULL when out of memory. */
char *upg_request_url(const upg_settings *s, const char *method);

/* The request and key must be known before any method but create: 0, or
 * exit 2 (CLIENT:USAGE) with *doc set. */
int upg_require_request(const upg_settings *s, jv *doc);

/* Final and waiting states of the contract. */
bool upg_state_is_final(const char *state);
bool upg_state_is_success(const char *state);

#endif
