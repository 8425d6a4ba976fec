/* SPDX-License-Identifier: GPL-3.0-or-later */
/* rpc_call.h -- one JSON-RPC call to the rpc platform (rpc_request.h's
 * body, http.h's upg_http_post_json, rpc_answer.h's reading), the node
 * that takes a request's calls, and the subcommands that are one call:
 * status, process, wipe.
 *
 * The dialect is chosen by platform.h (--api, $UPGRADE_API, the URL); the
 * rpc backend (platform/rpc/backend.c) hands these to the job layer.
 * Every function here cuts the token out of the lines for a human
 * (upg_secret_add) before anything is sent.
 */
#ifndef UPGRADE_RPC_CALL_H
#define UPGRADE_RPC_CALL_H

#include <stdbool.h>
#include <jv.h>

#include "upgrade/settings.h"

/* METHOD ("status", ...) at BASE with PARAMS (consumed), its result
 * checked as CHECK_AS says (rpc_answer.h; usually METHOD itself).  Only
 * an IDEMPOTENT call is retried, and only for what the exchange itself
 * says a new attempt could cure.  0 with *doc the result object, or an
 * exit status with *doc a failure document. */
int upg_rpc_call(const upg_settings *s, const char *base, const char *method, const char *check_as, jv params,
                 bool idempotent, jv *doc);

/* The token the call names is given and fit to travel (URL-safe): 0, or
 * exit 2 CLIENT:USAGE (the token never quoted). */
int upg_rpc_require_token(const upg_settings *s, jv *doc);

/* The base URL of the request's node, "https://NODE" (malloc'd into
 * *base): settings.node (the shell's $UPGRADE_HOST, set by create; a value
 * that is not a bare host is refused, exit 2), else the host_uri that
 * status at s->base_url names (platform-rpc.md §2.6: the front answers
 * status for any token).  0, or an exit status with *doc set. */
int upg_rpc_node_base(const upg_settings *s, char **base, jv *doc);

/* `upgrade status` under rpc: status of s->token, asked of the node when
 * settings.node names it, else of s->base_url.  *doc is {"failures": [],
 * "request": RESULT}, as v1's status; exit 0 whatever the state.  The
 * token is checked first (upg_rpc_require_token). */
int upg_rpc_status(const upg_settings *s, jv *doc);

/* The same, one exchange never retried; *transient tells a failure that a
 * later poll may not meet (no connection, a time-out, HTTP 5xx/408/429,
 * the platform's SERVER:ERROR) from one it will (a refusal, a bad
 * answer). */
int upg_rpc_status_once(const upg_settings *s, bool *transient, jv *doc);

/* `upgrade process` under rpc: process on the node.  *doc is {"failures":
 * [], "request": {"is_pg_version_compatible": BOOL}}; when false, a notice
 * says that the upgraded database will need a newer PostgreSQL than the
 * original's (exit 0: the platform goes on).  A repeat is harmless to the
 * platform (§2.5), so --retry applies. */
int upg_rpc_process(const upg_settings *s, jv *doc);

/* `upgrade wipe --contract C --yes`: wipe every dump of CONTRACT, original
 * and upgraded, on the platform's front (§2.8, §8.2: no status first).
 * Without YES nothing is sent: exit 2 CLIENT:USAGE.  *doc is {"failures":
 * [], "wipe": {"wiped": [...], "failed": [...]}}; a non-empty "failed" is
 * the platform not doing it all: exit 1, SERVER:WIPE.  Never retried. */
int upg_rpc_wipe(const upg_settings *s, const char *contract, bool yes, jv *doc);

#endif
