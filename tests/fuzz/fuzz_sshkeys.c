/* SPDX-License-Identifier: GPL-3.0-or-later */
/* libFuzzer harness: the ssh_keys check (plugin/core/ssh/sshkeys.c).  It must
 * accept or refuse any bytes without crashing, and its message must never
 * quote the input's base64 material. */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "upgrade/sshkeys.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  char err[256];
  memset(err, 0, sizeof err);
  int n = upg_sshkeys_check((const char *)data, size, err, sizeof err);
  if (n < -1)
    abort();
  if (n < 0 && (err[0] == '\0' || strlen(err) >= sizeof err))
    abort();
  return 0;
}
