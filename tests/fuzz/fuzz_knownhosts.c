/* SPDX-License-Identifier: GPL-3.0-or-later */
/* libFuzzer harness: known_hosts handling (plugin/core/ssh/ssh.c).  Any file
 * content, fed line by line as the builtin reads it, then looked up for a
 * host and port, must neither crash nor leak. */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "upgrade/ssh_hostkey.h"

static LIBSSH2_SESSION *session;

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  if (!session) {
    libssh2_init(0);
    session = libssh2_session_init();
  }
  known_hosts k;
  memset(&k, 0, sizeof k);
  k.kh = libssh2_knownhost_init(session);
  k.revoked = libssh2_knownhost_init(session);
  strcpy(k.name, "[127.0.0.1]:2222");

  char *copy = malloc(size + 1);
  memcpy(copy, data, size);
  copy[size] = '\0';
  for (char *line = copy, *next; line < copy + size; line = next) {
    char *nl = memchr(line, '\n', (size_t)(copy + size - line));
    next = nl ? nl + 1 : copy + size;
    if (nl)
      *nl = '\0';
    upg_known_hosts_line(&k, line, strlen(line));
  }
  upg_known_types_for(&k);
  static const char key[] = "AAAAC3NzaC1lZDI1NTE5AAAAIJdHcfExVD5A4bbWlOgWGsSmS3OWkERHrx0FtjDbsNzN";
  libssh2_knownhost_checkp(k.kh, "127.0.0.1", 2222, key, sizeof key - 1,
                           LIBSSH2_KNOWNHOST_TYPE_PLAIN | LIBSSH2_KNOWNHOST_KEYENC_BASE64, NULL);
  libssh2_knownhost_free(k.kh);
  libssh2_knownhost_free(k.revoked);
  free(copy);
  return 0;
}
