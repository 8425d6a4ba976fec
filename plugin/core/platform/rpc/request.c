/* SPDX-License-Identifier: GPL-3.0-or-later */
/* request.c -- JSON-RPC bodies and URLs for the rpc platform (see
 * rpc_request.h). */
#include "config.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "upgrade/form.h"
#include "upgrade/outcome.h"
#include "upgrade/rpc_request.h"

/* ^\w+= with ASCII \w. */
static bool
env_fits(const char *var, size_t len)
{
  size_t name = 0;
  while (name < len && (var[name] == '_' || (var[name] >= 'a' && var[name] <= 'z') ||
                        (var[name] >= 'A' && var[name] <= 'Z') || (var[name] >= '0' && var[name] <= '9')))
    name++;
  return name > 0 && name < len && var[name] == '=';
}

static int
bad_env(jv *doc, const char *where, int line, const char *var, size_t len)
{
  jv shown = jv_string_sized(var, (int)(len > 60 ? 60 : len)); /* the user's own text; output.c escapes it */
  int st = upg_fail(doc, UPG_EXIT_USAGE,
                    line ? upg_failure("CLIENT:USAGE", "%s:%d: not NAME=VALUE: %s", where, line,
                                       jv_string_value(shown))
                         : upg_failure("CLIENT:USAGE", "--env: not NAME=VALUE: %s", jv_string_value(shown)));
  jv_free(shown);
  return st;
}

/* Append the env file's lines to *vars. */
static int
env_file_lines(const upg_rpc_create *c, jv *vars, jv *doc)
{
  const char *p = c->env_file_text;
  for (int line = 1; p && *p; line++) {
    size_t len = strcspn(p, "\n");
    const char *next = p + len + (p[len] == '\n');
    while (len && strchr(" \t\r\f\v", *p))
      p++, len--;
    while (len && strchr(" \t\r\f\v", p[len - 1]))
      len--;
    if (len && *p != '#') {
      if (!env_fits(p, len))
        return bad_env(doc, c->env_file ? c->env_file : "--env-file", line, p, len);
      *vars = jv_array_append(*vars, jv_string_sized(p, (int)len));
    }
    p = next;
  }
  return 0;
}

static jv
env_vars(const upg_rpc_create *c, jv *doc, int *st)
{
  jv vars = jv_array();
  for (size_t i = 0; c->env && c->env[i]; i++) {
    if (!env_fits(c->env[i], strlen(c->env[i]))) {
      *st = bad_env(doc, NULL, 0, c->env[i], strlen(c->env[i]));
      jv_free(vars);
      return jv_invalid();
    }
    vars = jv_array_append(vars, jv_string(c->env[i]));
  }
  if ((*st = env_file_lines(c, &vars, doc))) {
    jv_free(vars);
    return jv_invalid();
  }
  return vars;
}

static jv
str_or_empty(const char *s)
{
  return jv_string(s ? s : "");
}

int
upg_rpc_create_params(const upg_rpc_create *c, jv *params, jv *doc)
{
  int st = 0;
  jv vars = env_vars(c, doc, &st);
  if (st)
    return st;
  jv p = jv_object();
  p = jv_object_set(p, jv_string("contract"), str_or_empty(c->contract));
  p = jv_object_set(p, jv_string("target"), str_or_empty(c->target));
  p = jv_object_set(p, jv_string("aim"), str_or_empty(c->aim));
  p = jv_object_set(p, jv_string("actuator"), jv_string("cli"));
  p = jv_object_set(p, jv_string("env_vars"), vars);
  p = jv_object_set(p, jv_string("ssh_key"), str_or_empty(c->ssh_key));
  p = jv_object_set(p, jv_string("api_version"), jv_string(UPG_RPC_API_VERSION));
  *params = p;
  return 0;
}

jv
upg_rpc_token_params(const char *token)
{
  return jv_object_set(jv_object(), jv_string("token"), str_or_empty(token));
}

jv
upg_rpc_transfer_params(const char *token, bool download)
{
  return jv_object_set(upg_rpc_token_params(token), jv_string("transfer_type"),
                       jv_string(download ? "download" : "upload"));
}

jv
upg_rpc_wipe_params(const char *contract, const char *token)
{
  return jv_object_set(upg_rpc_token_params(token), jv_string("contract"), str_or_empty(contract));
}

char *
upg_rpc_body(jv params, int id)
{
  jv env = jv_object();
  env = jv_object_set(env, jv_string("jsonrpc"), jv_string("2.0"));
  env = jv_object_set(env, jv_string("method"), jv_string("call"));
  env = jv_object_set(env, jv_string("params"), params);
  env = jv_object_set(env, jv_string("id"), jv_number(id));
  jv text = jv_dump_string(env, 0);
  char *body = strdup(jv_string_value(text));
  jv_free(text);
  return body;
}

char *
upg_rpc_node_url(const char *host)
{
  char *url;
  return asprintf(&url, "https://%s", host) < 0 ? NULL : url;
}

char *
upg_rpc_url(const char *base, const char *method)
{
  char *path;
  if (asprintf(&path, "upgrade/request/%s", method) < 0)
    return NULL;
  char *url = upg_url_join(base, path, NULL);
  free(path);
  return url;
}

int
upg_rpc_log_request(const char *base, const char *token, unsigned long long from, char **url, char **range)
{
  char *enc = upg_percent_encode(token);
  char *query = NULL, *u = NULL, *r = NULL;
  if (enc && asprintf(&query, "token=%s", enc) >= 0)
    u = upg_url_join(base, "upgrade/request/logs", query);
  if (asprintf(&r, "Range: bytes=%llu-", from) < 0)
    r = NULL;
  free(enc);
  free(query);
  if (!u || !r) {
    free(u);
    free(r);
    return -1;
  }
  *url = u;
  *range = r;
  return 0;
}
