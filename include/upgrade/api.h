/* api.h -- the platform's methods, one function each, plus the workflow
 * helpers built on them (wait, download).
 *
 * Each returns an exit status (outcome.h) and sets *doc to the document to
 * print: the platform's answer as it came, or a transfer summary, or a
 * CLIENT:* failure.
 */
#ifndef UPGRADE_API_H
#define UPGRADE_API_H

#include <stdbool.h>
#include <stddef.h>
#include <jv.h>

#include "upgrade/settings.h"

typedef struct upg_create_params {
  const char *contract, *email, *target, *aim, *filename, *timezone;
} upg_create_params;

/* create: on success doc.request carries "id" and "key". */
int upg_api_create(const upg_settings *s, const upg_create_params *p, jv *doc);

/* process, skip_test, status: methods that take only request and key. */
int upg_api_process(const upg_settings *s, jv *doc);
int upg_api_skip_test(const upg_settings *s, jv *doc);
int upg_api_status(const upg_settings *s, jv *doc);

/* request_sftp_access with KEYS (the text of an ssh_keys file, already
 * checked) sent as the multipart field `ssh_keys`. */
int upg_api_sftp_access(const upg_settings *s, const char *keys, size_t len, jv *doc);

/* upload: stream PATH as application/octet-stream (upload.c). */
int upg_api_upload(const upg_settings *s, const char *path, jv *doc);

/* The kinds of file `download --what` knows, and the status field holding
 * each one's URL; NULL when WHAT is not one of them. */
const char *upg_download_field(const char *what);
/* The default output name for WHAT given the request's filename and id
 * (malloc'd), e.g. upgraded-dump -> "upgraded_<filename>". */
char *upg_download_default_name(const char *what, const char *filename, const char *id);

/* download: status, then GET the URL of WHAT into OUT (or the default
 * name), resuming OUT.part (download.c). */
int upg_download(const upg_settings *s, const char *what, const char *out, bool force, jv *doc);

/* wait: poll status every INTERVAL seconds until a final state or TIMEOUT
 * seconds (0 = none) pass (wait.c). */
int upg_wait(const upg_settings *s, double interval, double timeout, jv *doc);

/* Final and waiting states of the contract. */
bool upg_state_is_final(const char *state);
bool upg_state_is_success(const char *state);

/* sftp_job.c: the SFTP workflows built on request_sftp_access.
 * sftp-access with a keys file: checked (nothing sent if it holds anything
 * but public keys), then sent. */
int upg_sftp_access_file(const upg_settings *s, const char *keys_path, jv *doc);
/* sftp-put: access for the identity's public key (or s->ssh_keys), then
 * upload LOCAL to the shared file, resuming. */
int upg_sftp_upload(const upg_settings *s, const char *local, jv *doc);
/* sftp-get: access, then download upgraded_<shared file> to OUT (default
 * that same name), resuming. */
int upg_sftp_download(const upg_settings *s, const char *out, bool force, jv *doc);

/* run.c: the whole job. */
typedef struct upg_run_params {
  upg_create_params create;  /* filename defaults to DUMP's base name */
  const char *dump;
  const char *output;        /* default upgraded_<base name of DUMP> */
  bool sftp, force;
  bool resume;               /* --continue: go on from DUMP.upgrade.json */
  bool new_request;          /* --new: a new request even if a job is open */
  bool url_given;            /* --url was given (not $UPGRADE_URL): with
                                --continue it must match the record's */
  double interval, timeout;
} upg_run_params;
/* create, upload, process, wait, download, recording each step in
 * DUMP.upgrade.json (runstate.h).  *doc ends with the last status's
 * "request" and the download's "transfer"; a failed step adds "step": its
 * name, and "request" (id and key) so that a caller can name it.  Holds an
 * exclusive lock on DUMP while it runs: a second run on it is refused at
 * once (exit 2).  With --continue, a --url, -o or --sftp that disagrees with
 * the record is refused (exit 2, CLIENT:USAGE). */
int upg_run(upg_settings *s, const upg_run_params *p, jv *doc);

/* The request and key must be known before any method but create. */
int upg_require_request(const upg_settings *s, jv *doc);

#endif
