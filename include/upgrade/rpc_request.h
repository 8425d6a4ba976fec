/* SPDX-License-Identifier: GPL-3.0-or-later */
/* rpc_request.h -- what the builtin sends the rpc platform: JSON-RPC
 * bodies built with libjq's jv, the endpoints' URLs and the log's range
 * request (pure, unit-tested: tests/unit/test_rpc_request.c).
 *
 * Every body is {"jsonrpc": "2.0", "method": "call", "params": {...},
 * "id": N}; the platform reads only "params" (platform-rpc.md §2.1).
 * Functions returning jv hand the caller one reference; those returning
 * char * return malloc'd strings (NULL when out of memory).
 */
#ifndef UPGRADE_RPC_REQUEST_H
#define UPGRADE_RPC_REQUEST_H

#include <stdbool.h>
#include <jv.h>

/* Sent as create's api_version: the only value any client has sent. */
#define UPG_RPC_API_VERSION "0.2"

typedef struct upg_rpc_create {
  const char *contract, *target, *aim;  /* aim: "test" or "production" */
  const char *const *env;               /* --env NAME=VALUE..., NULL-terminated (or NULL) */
  const char *env_file;                 /* --env-file's name, for messages (or NULL) */
  const char *env_file_text;            /* its contents (or NULL) */
  const char *ssh_key;                  /* the public key's text, sent as is */
} upg_rpc_create;

/* create's params: contract, target, aim, actuator "cli", env_vars (the
 * --env values, then the env file's lines), ssh_key, api_version.  Each
 * variable must match ^\w+= with \w ASCII ([A-Za-z0-9_]), as the
 * platform's script checks; the file's lines are stripped of surrounding
 * blanks, and blank lines and lines starting with '#' are skipped (the
 * script fails on a blank line: a trailing one is common and harmless).
 * Returns 0 with *params set, or 2 (CLIENT:USAGE) with *doc set. */
int upg_rpc_create_params(const upg_rpc_create *c, jv *params, jv *doc);

/* {"token": TOKEN}: process, status and transfer/stop. */
jv upg_rpc_token_params(const char *token);

/* transfer/start's {"token", "transfer_type": "upload"|"download"}. */
jv upg_rpc_transfer_params(const char *token, bool download);

/* wipe's {"contract", "token"}. */
jv upg_rpc_wipe_params(const char *contract, const char *token);

/* The JSON text of the envelope around PARAMS (consumed) with ID. */
char *upg_rpc_body(jv params, int id);

/* The node's base URL, "https://" HOST (HOST checked by upg_rpc_bad_host
 * first). */
char *upg_rpc_node_url(const char *host);

/* BASE "/upgrade/request/" METHOD. */
char *upg_rpc_url(const char *base, const char *method);

/* The log's URL, BASE "/upgrade/request/logs?token=" TOKEN percent-
 * encoded (tokens are URL-safe, but the URL must not depend on it), and
 * the header "Range: bytes=FROM-".  Both malloc'd; 0, or -1 when out of
 * memory (nothing set). */
int upg_rpc_log_request(const char *base, const char *token, unsigned long long from, char **url, char **range);

#endif
