/* SPDX-License-Identifier: GPL-3.0-or-later */
/* libFuzzer harness: the platform's answers (plugin/core/platform/response.c).
 * Whatever a hostile server sends must give 0, 1 or 3 and a document with
 * a failures list -- never a crash, an abort inside libjq, or a leak. */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "upgrade/outcome.h"
#include "upgrade/response.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  char *body = malloc(size + 1);
  if (!body)
    return 0;
  memcpy(body, data, size);
  body[size] = '\0';
  jv doc;
  int status = upg_response_parse("status", body, size, &doc);
  if (status != 0 && status != 1 && status != 3)
    abort();
  if (status == 3 && !upg_doc_has_failures(doc))
    abort();
  static const char *const fields[] = { "id", "key", "state", "filename", "sftp_port", "upgraded_dump_url" };
  for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++)
    free(upg_request_field(doc, fields[i]));
  upg_doc_only_reason(doc, "SERVER:ERROR");
  char reason[64];
  upg_doc_first_reason(doc, reason, sizeof reason);
  jv_free(doc);
  free(body);
  return 0;
}
