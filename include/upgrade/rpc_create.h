/* SPDX-License-Identifier: GPL-3.0-or-later */
/* rpc_create.h -- `upgrade create` under rpc (create.c).
 *
 * create sends contract, target, aim, actuator "cli", env_vars (--env,
 * then --env-file's lines), the public key (settings.identity's .pub, or a
 * pair made for the request: rpc_keys.h) and api_version (platform-rpc.md
 * §2.2) to s->base_url, the platform's front.  Never retried: twice would
 * make two requests.
 *
 * On success *doc is {"failures": [], "request": RESULT + {"identity":
 * PATH}}: the platform's request_id, token, assigned_host_uri (checked to
 * be a bare host) and info, plus the private key's absolute path.  The
 * binding then sets UPGRADE_TOKEN, UPGRADE_HOST and UPGRADE_IDENTITY
 * (platform.h's vars).  The token is a secret: cut out of every line for
 * a human from the moment it is read; the platform's info is a notice.
 * A pair made for a create that failed is removed.
 */
#ifndef UPGRADE_RPC_CREATE_H
#define UPGRADE_RPC_CREATE_H

#include <jv.h>

#include "upgrade/platform.h"
#include "upgrade/settings.h"

/* The largest --env-file read. */
#define UPG_RPC_ENV_FILE_MAX 65536

int upg_rpc_create_request(const upg_settings *s, const upg_create_params *p, jv *doc);

/* P's environment for the upgrade, as create would send it: the --env
 * values, then --env-file's lines (read now), each checked to be
 * NAME=VALUE.  *list (malloc'd, NULL-terminated, NULL when there is none:
 * free with child.h's upg_argv_free) is what run keeps in its job record, so
 * that a create made later (--continue) sends the same.  0, or exit 2
 * CLIENT:USAGE / CLIENT:FILE with *doc set. */
int upg_rpc_env_list(const upg_create_params *p, char ***list, jv *doc);

#endif
