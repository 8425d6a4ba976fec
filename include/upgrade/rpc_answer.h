/* SPDX-License-Identifier: GPL-3.0-or-later */
/* rpc_answer.h -- reading the rpc platform's JSON-RPC answers (pure,
 * unit-tested: tests/unit/test_rpc_answer.c).
 *
 * The platform answers a call with HTTP 200, `Content-Type:
 * application/json` and {"jsonrpc": "2.0", "result": {...}} (platform-
 * rpc.md §2.1).  It refuses a call in one of two ways, both the platform
 * speaking (exit 1, its text as the failure's message, kept exact):
 *   - {"result": {"error": "Invalid contract"}}: an application refusal,
 *     reason "SERVER:REFUSED";
 *   - {"error": {"code": 200, "message": "Odoo Server Error", "data":
 *     {"message": "..."}}}: an exception on the server, reason
 *     "SERVER:ERROR", as v1's platform names its own errors.
 * Two reasons, not one: v1's callers retry "SERVER:ERROR" as "try again
 * later", which a refused contract or token is not.
 * Anything else is a bad answer (exit 3): a non-2xx status (CLIENT:HTTP
 * with "code"), an HTML page (a maintenance page), another content type,
 * a body that is not JSON, a result that is not an object, an error
 * object without a message, a missing or ill-shaped field (CLIENT:
 * BAD_RESPONSE).  What the server said is quoted only through
 * upg_human_text: escaped and cut, so a message printed raw (jq -r) is
 * safe on a terminal too.
 */
#ifndef UPGRADE_RPC_ANSWER_H
#define UPGRADE_RPC_ANSWER_H

#include <stddef.h>
#include <jv.h>

/* The answer to METHOD ("create", "status", "transfer/start", ...): the
 * HTTP STATUS, CONTENT_TYPE (NULL when absent) and BODY (LEN bytes).  On
 * success returns 0 and sets *doc to the result object (one reference),
 * after upg_rpc_check_result; otherwise returns 1 or 3 with *doc set to a
 * failure document. */
int upg_rpc_answer(const char *method, long status, const char *content_type, const char *body, size_t len,
                   jv *doc);

/* The fields METHOD's RESULT must carry (RESULT is not consumed), checked
 * with rpc_fields.h: create {request_id, token, assigned_host_uri, info?},
 * status {status, host_uri, reason?, archived?}, process
 * {is_pg_version_compatible}, transfer/start {ssh_port, known_hosts,
 * dump_name (download)}, wipe {wiped, failed}; transfer/stop and any other
 * method: nothing.  known_hosts is only checked to be a string or null
 * here: upg_rpc_known_hosts checks it against the host.  0, or 3 with
 * *doc set to a CLIENT:BAD_RESPONSE document. */
int upg_rpc_check_result(const char *method, jv result, jv *doc);

/* A CLIENT:BAD_RESPONSE failure document for METHOD saying that FIELD
 * (a server value: escaped here) WHY; returns 3.  For the checks of
 * rpc_fields.h done by the caller (known_hosts against its host). */
int upg_rpc_bad_field(jv *doc, const char *method, const char *field, const char *value, const char *why);

#endif
