/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Unit tests: JSON-RPC bodies and URLs for the rpc platform
 * (plugin/core/platform/rpc/request.c). */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "tap.h"
#include "upgrade/rpc_request.h"

/* BODY parsed and re-dumped with sorted keys, for comparison. */
static char *
canon(char *body)
{
  jv v = jv_parse(body ? body : "null");
  free(body);
  jv text = jv_dump_string(v, JV_PRINT_SORTED);
  char *out = strdup(jv_string_value(text));
  jv_free(text);
  return out;
}

static void
check_body(jv params, const char *want, const char *what)
{
  char *got = canon(upg_rpc_body(params, 1));
  char *w = canon(strdup(want));
  is_str(got, w, "%s", what);
  free(got);
  free(w);
}

static void
bodies(void)
{
  check_body(upg_rpc_token_params("T0k-en_"),
             "{\"jsonrpc\":\"2.0\",\"method\":\"call\",\"params\":{\"token\":\"T0k-en_\"},\"id\":1}",
             "process/status/transfer-stop envelope");
  check_body(upg_rpc_transfer_params("T", true),
             "{\"jsonrpc\":\"2.0\",\"method\":\"call\",\"params\":{\"token\":\"T\",\"transfer_type\":\"download\"},"
             "\"id\":1}", "transfer/start download");
  check_body(upg_rpc_transfer_params("T", false),
             "{\"jsonrpc\":\"2.0\",\"method\":\"call\",\"params\":{\"token\":\"T\",\"transfer_type\":\"upload\"},"
             "\"id\":1}", "transfer/start upload");
  check_body(upg_rpc_wipe_params("C\"1", "T"),
             "{\"jsonrpc\":\"2.0\",\"method\":\"call\",\"params\":{\"token\":\"T\",\"contract\":\"C\\\"1\"},\"id\":1}",
             "wipe, a quote in the contract escaped by jv");
}

static void
create(void)
{
  const char *env[] = { "UPG_AUTOINSTALL=none", "A_1=x=y z", NULL };
  upg_rpc_create c = { .contract = "M123", .target = "17.0", .aim = "test", .env = env, .env_file = "vars.env",
                       .env_file_text = "# comment\n  MAX_WORKER=2  \n\nB=\r\n", .ssh_key = "ssh-ed25519 AAAA u@h\n" };
  jv params, doc = jv_invalid();
  int st = upg_rpc_create_params(&c, &params, &doc);
  ok(st == 0, "create params built");
  if (st == 0)
    check_body(params,
               "{\"jsonrpc\":\"2.0\",\"method\":\"call\",\"id\":1,\"params\":{\"contract\":\"M123\",\"target\":\"17.0\","
               "\"aim\":\"test\",\"actuator\":\"cli\",\"env_vars\":[\"UPG_AUTOINSTALL=none\",\"A_1=x=y z\","
               "\"MAX_WORKER=2\",\"B=\"],\"ssh_key\":\"ssh-ed25519 AAAA u@h\\n\",\"api_version\":\"0.2\"}}",
               "create: every param, env from --env then the file, the key with its newline");
  jv_free(doc);

  upg_rpc_create none = { .contract = "M", .target = "17.0", .aim = "production", .ssh_key = "k" };
  st = upg_rpc_create_params(&none, &params, &doc);
  if (st == 0) {
    jv vars = jv_object_get(params, jv_string("env_vars"));
    ok(jv_get_kind(vars) == JV_KIND_ARRAY && jv_array_length(jv_copy(vars)) == 0, "no variables: []");
    jv_free(vars);
  } else {
    ok(0, "no variables: []");
  }

  const char *bad_env[][2] = { { "=x", NULL }, { "NAME", NULL }, { "A-B=1", NULL }, { " A=1", NULL },
                               { "\xc3\xa9=1", NULL } };
  for (size_t i = 0; i < sizeof bad_env / sizeof *bad_env; i++) {
    upg_rpc_create b = none;
    b.env = bad_env[i];
    doc = jv_invalid();
    st = upg_rpc_create_params(&b, &params, &doc);
    ok(st == 2, "--env \"%s\" refused with exit 2", bad_env[i][0]);
    if (st == 0)
      jv_free(params);
    jv_free(doc);
  }
  upg_rpc_create f = none;
  f.env_file = "vars.env";
  f.env_file_text = "A=1\nnot a variable\n";
  doc = jv_invalid();
  st = upg_rpc_create_params(&f, &params, &doc);
  jv m = jv_object_get(jv_array_get(jv_object_get(jv_copy(doc), jv_string("failures")), 0), jv_string("message"));
  ok(st == 2 && jv_get_kind(m) == JV_KIND_STRING && strstr(jv_string_value(m), "vars.env:2"),
     "a bad env-file line is refused with its file and line");
  jv_free(m);
  jv_free(doc);
}

static void
urls(void)
{
  char *u = upg_rpc_node_url("n1.example");
  is_str(u, "https://n1.example", "the node's base URL");
  char *m = upg_rpc_url(u, "transfer/start");
  is_str(m, "https://n1.example/upgrade/request/transfer/start", "a method's URL");
  free(m);
  m = upg_rpc_url("https://upgrade.odoo.com/", "status");
  is_str(m, "https://upgrade.odoo.com/upgrade/request/status", "one slash after a base ending in /");
  free(m);
  char *url, *range;
  ok(upg_rpc_log_request(u, "a+b c", 12345678901ULL, &url, &range) == 0, "log request");
  is_str(url, "https://n1.example/upgrade/request/logs?token=a%2Bb%20c", "the log URL, the token percent-encoded");
  is_str(range, "Range: bytes=12345678901-", "the Range header from a byte offset");
  free(url);
  free(range);
  ok(upg_rpc_log_request(u, "Tok_en-9", 0, &url, &range) == 0, "log request from 0");
  is_str(url, "https://n1.example/upgrade/request/logs?token=Tok_en-9", "a URL-safe token unchanged");
  is_str(range, "Range: bytes=0-", "Range from 0");
  free(url);
  free(range);
  free(u);
}

int
main(void)
{
  bodies();
  create();
  urls();
  return tap_done();
}
