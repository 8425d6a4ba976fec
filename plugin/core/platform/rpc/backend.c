/* SPDX-License-Identifier: GPL-3.0-or-later */
/* backend.c -- the rpc dialect behind the platform's interface
 * (platform.h): create.c, call.c, log.c, and the transfers (rsync over
 * ssh) of transfer*.c. */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "upgrade/outcome.h"
#include "upgrade/platform.h"
#include "upgrade/response.h"
#include "upgrade/rpc_call.h"
#include "upgrade/rpc_create.h"
#include "upgrade/rpc_fields.h"
#include "upgrade/rpc_log.h"
#include "upgrade/rpc_transfer.h"

/* Everything the platform has for the request, into the directory
 * OUTPUT (rpc_transfer.h); WHAT is v1's (the parser refuses --what under
 * rpc).  rsync updates DIR in place and moves one stream: --force and
 * --parallel mean nothing here and are refused, not ignored. */
static int
rpc_download(const upg_settings *s, const char *what, const char *output, bool force, jv *doc)
{
  (void)what;
  if (force || s->parallel)
    return upg_fail(doc, UPG_EXIT_USAGE,
                    upg_failure("CLIENT:USAGE", "--%s: the rpc dialect's download takes none (rsync updates -o DIR "
                                "in place, over one connection)", force ? "force" : "parallel"));
  return upg_rpc_download(s, output, doc);
}

static char *
rpc_state(jv status_doc)
{
  return upg_request_field(status_doc, "status");
}

static bool
rpc_is_final(const char *state)
{
  return upg_rpc_state_final(state);
}

static bool
rpc_is_done(const char *state)
{
  return strcmp(state, "done") == 0;
}

static bool
rpc_is_unstarted(const char *state)
{
  return strcmp(state, "new") == 0;
}

/* The token is the request's only name, and a secret. */
static void
rpc_label(const upg_settings *s, char *buf, size_t len)
{
  (void)s;
  snprintf(buf, len, "the request");
}

static const upg_platform_var rpc_vars[] = {
  { "token", "UPGRADE_TOKEN", false, true },
  { "assigned_host_uri", "UPGRADE_HOST", false, false },
  { "identity", "UPGRADE_IDENTITY", false, false },
  { NULL, NULL, false, false },
};

const upg_platform upg_platform_rpc = {
  .dialect = UPG_DIALECT_RPC,
  .create = upg_rpc_create_request,
  .upload = upg_rpc_upload,
  .process = upg_rpc_process,
  .status = upg_rpc_status,
  .status_once = upg_rpc_status_once,
  .download = rpc_download,
  .require_request = upg_rpc_require_token,
  .log_read = upg_rpc_log_read,
  .state = rpc_state,
  .is_final = rpc_is_final,
  .is_done = rpc_is_done,
  .is_unstarted = rpc_is_unstarted,
  .label = rpc_label,
  .vars = rpc_vars,
};
