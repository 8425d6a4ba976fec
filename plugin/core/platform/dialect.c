/* SPDX-License-Identifier: GPL-3.0-or-later */
/* dialect.c -- which dialect the platform speaks: --api, $UPGRADE_API or
 * the base URL (see platform.h).  Pure: the command line's parser uses it
 * too. */
#include "config.h"

#include <stdbool.h>
#include <string.h>

#include "upgrade/platform.h"

/* The path of BASE_URL ends in "/database/v1" (a trailing '/' aside). */
static bool
url_is_v1(const char *url)
{
  static const char tail[] = "/database/v1";
  const char *scheme = strstr(url, "://");
  const char *path = scheme ? strchr(scheme + 3, '/') : NULL;
  if (!path)
    return false;
  size_t len = strcspn(path, "?#");
  while (len > 1 && path[len - 1] == '/')
    len--;
  return len >= sizeof tail - 1 && strncmp(path + len - (sizeof tail - 1), tail, sizeof tail - 1) == 0;
}

enum upg_dialect
upg_dialect_choose(const char *api, const char *base_url)
{
  if (api && strcmp(api, "v1") == 0)
    return UPG_DIALECT_V1;
  if (api && strcmp(api, "rpc") == 0)
    return UPG_DIALECT_RPC;
  return url_is_v1(base_url ? base_url : UPG_DEFAULT_URL) ? UPG_DIALECT_V1 : UPG_DIALECT_RPC;
}

const char *
upg_dialect_name(enum upg_dialect d)
{
  return d == UPG_DIALECT_V1 ? "v1" : "rpc";
}
