/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Unit tests: the shape of the rpc platform's values
 * (plugin/core/platform/rpc/fields.c). */
#include "config.h"

#include <stdlib.h>

#include "tap.h"
#include "upgrade/rpc_fields.h"

/* Every string of BAD (NULL-terminated) refused by CHECK. */
static void
all_refused(const char *(*check)(const char *), const char *const *bad, const char *what)
{
  for (int i = 0; bad[i]; i++)
    ok(check(bad[i]) != NULL, "refused as %s: #%d", what, i);
}

static void
hosts(void)
{
  ok(!upg_rpc_bad_host("upgrade.odoo.com"), "a host name is a host");
  ok(!upg_rpc_bad_host("upgrade-p3.odoo.com"), "a '-' inside a label is fine");
  ok(!upg_rpc_bad_host("localhost"), "one label is a host");
  ok(!upg_rpc_bad_host("127.0.0.1"), "an IPv4 literal is allowed");
  const char *bad[] = { "", "https://h.example", "h.example:443", "h.example/path", "user@h.example", "h example",
                        "h.example\n", "h\x1b]0;x\x07", "-oProxyCommand=x", "h..example", ".h", "h.", "h-.example",
                        "[::1]", "::1", "h_x.example", "h%2e.example", "\xc3\xa9.example", NULL };
  all_refused(upg_rpc_bad_host, bad, "a host");
  char longlabel[80];
  memset(longlabel, 'a', 64);
  longlabel[64] = '\0';
  ok(upg_rpc_bad_host(longlabel) != NULL, "a label of 64 characters is refused");
  char *huge = malloc(300);
  for (int i = 0; i < 299; i++)
    huge[i] = i % 10 == 9 ? '.' : 'a';
  huge[299] = '\0';
  ok(upg_rpc_bad_host(huge) != NULL, "a name beyond 253 characters is refused");
  free(huge);
}

static void
tokens(void)
{
  ok(!upg_rpc_bad_token("Aw7pItGVKFuZ_FOR3U8VFQ-abcdefghijklmnopqrstuvwxyz0123456789"), "a URL-safe token");
  const char *bad[] = { "", "a b", "a+b", "a/b", "a=b", "a%b", "a&b", "a\nb", "a\x7f", NULL };
  all_refused(upg_rpc_bad_token, bad, "a token");
  char t[UPG_RPC_TOKEN_MAX + 2];
  memset(t, 'a', sizeof t - 1);
  t[sizeof t - 1] = '\0';
  ok(upg_rpc_bad_token(t) != NULL, "a token beyond the bound is refused");
  t[UPG_RPC_TOKEN_MAX] = '\0';
  ok(!upg_rpc_bad_token(t), "a token at the bound is kept");
}

static void
ports(void)
{
  int port = 0;
  ok(!upg_rpc_port(jv_number(40022), &port) && port == 40022, "an integer port");
  port = 0;
  jv digits = jv_string("32768");
  ok(!upg_rpc_port(digits, &port) && port == 32768, "a digit string port");
  jv_free(digits);
  jv bad[] = { jv_number(0), jv_number(65536), jv_number(22.5), jv_number(-1), jv_string(""), jv_string("22 "),
               jv_string("+22"), jv_string("0x16"), jv_string("022222"), jv_string("65536"), jv_null(), jv_true() };
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    ok(upg_rpc_port(bad[i], &port) != NULL, "refused as a port: #%zu", i);
    jv_free(bad[i]);
  }
}

static void
dump_names(void)
{
  ok(!upg_rpc_bad_dump_name("upgraded.dump"), "a plain file name");
  ok(!upg_rpc_bad_dump_name("origin_17.0+e-2026=1,a@b"), "letters, digits and ._+,=@-");
  const char *bad[] = { "", ".", "..", "a/b", "/data/x", "../x", "-rf", "a b", "a\nb", "a\x1b[2J", "*", "a?",
                        "[a]", "a\\b", "a:b", "$x", "`x`", "a;b", "\xc3\xa9", NULL };
  all_refused(upg_rpc_bad_dump_name, bad, "a dump name");
  char n[UPG_RPC_NAME_MAX + 2];
  memset(n, 'a', sizeof n - 1);
  n[sizeof n - 1] = '\0';
  ok(upg_rpc_bad_dump_name(n) != NULL, "a name beyond NAME_MAX is refused");
}

static void
states(void)
{
  const char *good[] = { "new", "pending", "progress", "done", "failed", "cancelled", NULL };
  for (int i = 0; good[i]; i++)
    ok(!upg_rpc_bad_state(good[i]), "state %s", good[i]);
  ok(upg_rpc_bad_state("DONE") && upg_rpc_bad_state("") && upg_rpc_bad_state("done\n") && upg_rpc_bad_state(NULL),
     "other states are refused");
  ok(upg_rpc_state_final("done") && upg_rpc_state_final("failed") && upg_rpc_state_final("cancelled") &&
     !upg_rpc_state_final("progress") && !upg_rpc_state_final("new"), "final states");
}

static void
check_kh(const char *text, const char *want, const char *what)
{
  char *out = NULL;
  const char *why = upg_rpc_known_hosts(text, "node.example", 40022, &out);
  if (want)
    is_str(why ? why : out, want, "known_hosts kept: %s", what);
  else
    ok(why != NULL && out == NULL, "known_hosts refused: %s", what);
  free(out);
}

#define KEY "AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl"

static void
known_hosts(void)
{
  check_kh("[node.example]:40022 ssh-ed25519 " KEY "\n", "[node.example]:40022 ssh-ed25519 " KEY "\n", "one line");
  check_kh("# a comment\n\n[node.example]:40022 ssh-ed25519 " KEY "\r\n[node.example]:40022 ssh-rsa AAAA",
           "[node.example]:40022 ssh-ed25519 " KEY "\n[node.example]:40022 ssh-rsa AAAA\n",
           "comments and blank lines dropped, CRLF and a last line without newline");
  check_kh("", NULL, "empty");
  check_kh("# only a comment\n", NULL, "no key line");
  check_kh("@cert-authority [node.example]:40022 ssh-ed25519 " KEY "\n", NULL, "@cert-authority");
  check_kh("@revoked [node.example]:40022 ssh-ed25519 " KEY "\n", NULL, "@revoked");
  check_kh("[node.example]:40022 ssh-ed25519 " KEY "\n* ssh-ed25519 " KEY "\n", NULL, "a wildcard after a good line");
  check_kh("[other.example]:40022 ssh-ed25519 " KEY "\n", NULL, "another host");
  check_kh("[node.example]:22 ssh-ed25519 " KEY "\n", NULL, "another port");
  check_kh("node.example ssh-ed25519 " KEY "\n", NULL, "the bare host when the port is not 22");
  check_kh("[node.example]:40022,github.com ssh-ed25519 " KEY "\n", NULL, "a list of hosts");
  check_kh("|1|abc=|def= ssh-ed25519 " KEY "\n", NULL, "a hashed name");
  check_kh("[node.example]:40022 ssh-ed25519 " KEY " comment\n", NULL, "a trailing comment");
  check_kh("[node.example]:40022 ssh-dss " KEY "\n", NULL, "an unknown key type");
  check_kh("[node.example]:40022 ssh-ed25519 AAA$\n", NULL, "a key that is not base64");
  check_kh("[node.example]:40022 ssh-ed25519\n", NULL, "no key");
  char *out = NULL;
  is_str(upg_rpc_known_hosts("node.example ssh-ed25519 " KEY "\n", "node.example", 22, &out) ? NULL : out,
         "node.example ssh-ed25519 " KEY "\n", "port 22: the bare host");
  free(out);
}

int
main(void)
{
  hosts();
  tokens();
  ports();
  dump_names();
  states();
  known_hosts();
  return tap_done();
}
