/* SPDX-License-Identifier: GPL-3.0-or-later */
/* backend.c -- the rpc dialect behind the platform's interface
 * (platform.h): create.c, call.c, log.c; the transfers (rsync over ssh)
 * come in transfer*.c. */
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

/* The transfers are not in this tree yet: a clear refusal, nothing sent. */
static int
transfer_not_yet(const char *what, jv *doc)
{
  return upg_fail(doc, UPG_EXIT_USAGE,
                  upg_failure("CLIENT:USAGE", "`upgrade %s` does not speak the rpc dialect yet: use --api v1", what));
}

static int
rpc_upload(const upg_settings *s, const char *path, jv *doc)
{
  (void)s, (void)path;
  return transfer_not_yet("upload", doc);
}

static int
rpc_download(const upg_settings *s, const char *what, const char *output, bool force, jv *doc)
{
  (void)s, (void)what, (void)output, (void)force;
  return transfer_not_yet("download", doc);
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
  .upload = rpc_upload,
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
