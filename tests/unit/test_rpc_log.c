/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Unit tests: the rpc platform's log read by byte offsets
 * (plugin/core/platform/rpc/log.c), its text made printable
 * (upg_safe_text, plugin/core/base/human.c), and which dialect a URL
 * speaks (plugin/core/platform/dialect.c). */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "tap.h"
#include "upgrade/human.h"
#include "upgrade/platform.h"
#include "upgrade/rpc_log.h"

static void
usable(void)
{
  ok(upg_rpc_log_usable("", 0) == 0, "nothing: nothing");
  ok(upg_rpc_log_usable("abc\n", 4) == 4, "ASCII: all of it");
  ok(upg_rpc_log_usable("h\xc3\xa9", 3) == 3, "a whole 2-byte character at the end: all of it");
  ok(upg_rpc_log_usable("ab\xc3", 3) == 2, "a 2-byte character cut after its lead: left for later");
  ok(upg_rpc_log_usable("ab\xe2\x82", 4) == 2, "a 3-byte character cut after 2: left for later");
  ok(upg_rpc_log_usable("ab\xe2\x82\xac", 5) == 5, "a whole 3-byte character: all of it");
  ok(upg_rpc_log_usable("ab\xf0\x9f\x98", 5) == 2, "a 4-byte character cut after 3: left for later");
  ok(upg_rpc_log_usable("ab\xff", 3) == 3, "a byte that starts nothing: taken (escaped later)");
  ok(upg_rpc_log_usable("\x80\x80\x80\x80", 4) == 4, "stray continuation bytes: taken");
}

static void
safe(void)
{
  char *t = upg_safe_text("a\tb\nc", 5);
  is_str(t, "a\tb\nc", "tab and newline kept");
  free(t);
  t = upg_safe_text("\x1b]0;x\x07\r\xff\xc3(", 10);
  is_str(t, "\\e]0;x\\a\\r\\xff\\xc3(", "escapes, controls and bytes that are not UTF-8 written as escapes");
  free(t);
  t = upg_safe_text("a\0b", 3);
  is_str(t, "a\\x00b", "a NUL inside: escaped, the rest kept");
  free(t);
  t = upg_safe_text("h\xc3\xa9\xe2\x80\xae", 6);
  is_str(t, "h\xc3\xa9\\u202e", "UTF-8 kept, a bidirectional control escaped");
  free(t);
}

static void
dialects(void)
{
  ok(upg_dialect_choose(NULL, NULL) == UPG_DIALECT_RPC, "the default URL speaks rpc");
  ok(upg_dialect_choose(NULL, "https://upgrade.odoo.com/database/v1") == UPG_DIALECT_V1, "/database/v1 is v1");
  ok(upg_dialect_choose(NULL, "https://h:8443/x/database/v1/") == UPG_DIALECT_V1, "a trailing / too");
  ok(upg_dialect_choose(NULL, "https://h/database/v1?x=1") == UPG_DIALECT_V1, "a query is not the path");
  ok(upg_dialect_choose(NULL, "https://h/database/v12") == UPG_DIALECT_RPC, "/database/v12 is not v1");
  ok(upg_dialect_choose(NULL, "https://database/v1.example") == UPG_DIALECT_RPC, "a host is not a path");
  ok(upg_dialect_choose(NULL, "https://h/v1") == UPG_DIALECT_RPC, "/v1 alone is not v1");
  ok(upg_dialect_choose("v1", "https://h") == UPG_DIALECT_V1, "--api v1 wins over the URL");
  ok(upg_dialect_choose("rpc", "https://h/database/v1") == UPG_DIALECT_RPC, "--api rpc wins over the URL");
}

int
main(void)
{
  usable();
  safe();
  dialects();
  return tap_done();
}
