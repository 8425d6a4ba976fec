/* SPDX-License-Identifier: GPL-3.0-or-later */
/* rpc_call.h -- one JSON-RPC call to the rpc platform (rpc_request.h's
 * body, http.h's upg_http_post_json, rpc_answer.h's reading), and the
 * subcommands built on it so far: status.
 *
 * The dialect is chosen by --api rpc or $UPGRADE_API=rpc; the choice by
 * the base URL (interface.md) comes with the seam between the dialects,
 * so that every v1 call keeps its behaviour until then.
 */
#ifndef UPGRADE_RPC_CALL_H
#define UPGRADE_RPC_CALL_H

#include <stdbool.h>
#include <jv.h>

#include "upgrade/settings.h"

/* Does S speak the rpc dialect?  Only when s->api is "rpc". */
bool upg_rpc_selected(const upg_settings *s);

/* METHOD ("status", ...) at BASE with PARAMS (consumed), its result
 * checked as CHECK_AS says (rpc_answer.h; usually METHOD itself).  Only
 * an IDEMPOTENT call is retried, and only for what the exchange itself
 * says a new attempt could cure.  0 with *doc the result object, or an
 * exit status with *doc a failure document. */
int upg_rpc_call(const upg_settings *s, const char *base, const char *method, const char *check_as, jv params,
                 bool idempotent, jv *doc);

/* `upgrade status` under rpc: status of s->token, asked of s->base_url
 * (the platform's front answers status for any token: platform-rpc.md
 * §2.6).  *doc is {"failures": [], "request": RESULT}, as v1's status;
 * exit 0 whatever the state.  No token (exit 2, CLIENT:USAGE) or a token
 * that is not URL-safe (exit 2) is refused before anything is sent; the
 * token is cut out of every line for a human. */
int upg_rpc_status(const upg_settings *s, jv *doc);

#endif
