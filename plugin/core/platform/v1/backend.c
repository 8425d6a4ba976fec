/* SPDX-License-Identifier: GPL-3.0-or-later */
/* backend.c -- the v1 dialect behind the platform's interface (platform.h):
 * an adapter over api.c, upload.c and download.c, which keep their own
 * headers for what only v1 has (skip_test, request_sftp_access, SFTP). */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "upgrade/api.h"
#include "upgrade/download.h"
#include "upgrade/platform.h"
#include "upgrade/response.h"
#include "upgrade/upload.h"

static int
v1_download(const upg_settings *s, const char *what, const char *output, bool force, jv *doc)
{
  return upg_download(s, what ? what : "upgraded-dump", output, force, doc);
}

static char *
v1_state(jv status_doc)
{
  return upg_request_field(status_doc, "state");
}

static bool
v1_is_unstarted(const char *state)
{
  return strcmp(state, "draft") == 0;
}

static void
v1_label(const upg_settings *s, char *buf, size_t len)
{
  snprintf(buf, len, "request %s", s->request ? s->request : "?");
}

static const upg_platform_var v1_vars[] = {
  { "id", "UPGRADE_REQUEST", false, false },
  { "key", "UPGRADE_KEY", false, false },
  /* so that a later upload can tell a file that is not this request's */
  { "filename", "UPGRADE_FILENAME", true, false },
  { NULL, NULL, false, false },
};

const upg_platform upg_platform_v1 = {
  .dialect = UPG_DIALECT_V1,
  .create = upg_api_create,
  .upload = upg_api_upload,
  .process = upg_api_process,
  .status = upg_api_status,
  .status_once = upg_api_status_once,
  .download = v1_download,
  .require_request = upg_require_request,
  .log_read = NULL,
  .state = v1_state,
  .is_final = upg_state_is_final,
  .is_done = upg_state_is_success,
  .is_unstarted = v1_is_unstarted,
  .label = v1_label,
  .vars = v1_vars,
};
