/* SPDX-License-Identifier: GPL-3.0-or-later */
/* create.c -- `upgrade create` under rpc (see rpc_create.h). */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "upgrade/child.h"
#include "upgrade/fileio.h"
#include "upgrade/human.h"
#include "upgrade/outcome.h"
#include "upgrade/rpc_call.h"
#include "upgrade/rpc_create.h"
#include "upgrade/rpc_keys.h"
#include "upgrade/rpc_request.h"

/* --env-file's text (malloc'd into *text), or exit 2 CLIENT:FILE. */
static int
read_env_file(const char *path, char **text, jv *doc)
{
  size_t len = 0;
  int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
  *text = fd >= 0 ? upg_read_small(fd, UPG_RPC_ENV_FILE_MAX, &len) : NULL;
  int err = errno;
  if (fd >= 0)
    close(fd);
  if (!*text)
    return upg_fail(doc, UPG_EXIT_USAGE, upg_failure("CLIENT:FILE", "--env-file %s: %s", path, strerror(err)));
  if (len >= UPG_RPC_ENV_FILE_MAX || strlen(*text) != len) {
    free(*text);
    *text = NULL;
    return upg_fail(doc, UPG_EXIT_USAGE, upg_failure("CLIENT:FILE", "--env-file %s: not a text file of at most "
                                                      "%d bytes", path, UPG_RPC_ENV_FILE_MAX - 1));
  }
  return 0;
}

int
upg_rpc_env_list(const upg_create_params *p, char ***list, jv *doc)
{
  char *env_text = NULL;
  jv params = jv_invalid();
  *list = NULL;
  int status = p->env_file ? read_env_file(p->env_file, &env_text, doc) : 0;
  upg_rpc_create c = { .env = p->env, .env_file = p->env_file, .env_file_text = env_text };
  if (!status)
    status = upg_rpc_create_params(&c, &params, doc);
  free(env_text);
  if (status)
    return status;
  jv vars = jv_object_get(params, jv_string("env_vars"));
  int n = jv_array_length(jv_copy(vars));
  if (n > 0 && !(*list = calloc((size_t)n + 1, sizeof **list)))
    status = upg_fail(doc, UPG_EXIT_USAGE, upg_failure("CLIENT:USAGE", "out of memory"));
  for (int i = 0; *list && i < n; i++) {
    jv var = jv_array_get(jv_copy(vars), i);
    (*list)[i] = strdup(jv_string_value(var));
    jv_free(var);
    if (!(*list)[i]) {
      upg_argv_free(*list);
      *list = NULL;
      status = upg_fail(doc, UPG_EXIT_USAGE, upg_failure("CLIENT:USAGE", "out of memory"));
    }
  }
  jv_free(vars);
  return status;
}

/* The key the request is bound to: --identity's, or a new pair (*made). */
static int
identity(const upg_settings *s, char **pub, char **path, bool *made, jv *doc)
{
  *made = false;
  if (s->identity)
    return upg_rpc_key_public(s->identity, pub, path, doc);
  int status = upg_rpc_key_new(s, path, doc);
  if (status)
    return status;
  *made = true;
  char *same = NULL; /* *path again: it is absolute already */
  status = upg_rpc_key_public(*path, pub, &same, doc);
  free(same);
  if (status == 0)
    return 0;
  upg_rpc_key_drop(*path);
  free(*path);
  *path = NULL;
  *made = false;
  return status;
}

int
upg_rpc_create_request(const upg_settings *s, const upg_create_params *p, jv *doc)
{
  char *env_text = NULL, *pub = NULL, *key = NULL;
  bool made = false;
  jv params = jv_invalid(), result = jv_invalid();
  int status = 0;

  if (!p->aim || (strcmp(p->aim, "test") != 0 && strcmp(p->aim, "production") != 0))
    return upg_fail(doc, UPG_EXIT_USAGE, upg_failure("CLIENT:USAGE", "--aim: '%s' is not test or production",
                                                      p->aim ? p->aim : ""));
  if (p->env_file && (status = read_env_file(p->env_file, &env_text, doc)))
    return status;
  upg_rpc_create c = { .contract = p->contract, .target = p->target, .aim = p->aim, .env = p->env,
                       .env_file = p->env_file, .env_file_text = env_text };
  /* the parameters are checked before a key is made for them */
  if ((status = upg_rpc_create_params(&c, &params, doc)))
    goto out;
  jv_free(params);
  params = jv_invalid();
  if ((status = identity(s, &pub, &key, &made, doc)))
    goto out;
  c.ssh_key = pub;
  if ((status = upg_rpc_create_params(&c, &params, doc)))
    goto out;
  status = upg_rpc_call(s, s->base_url, "create", "create", params, false, &result);
  params = jv_invalid();
  if (status) {
    *doc = result;
    result = jv_invalid();
    goto out;
  }
  jv token = jv_object_get(jv_copy(result), jv_string("token"));
  upg_secret_add(s, jv_string_value(token));
  jv_free(token);
  jv info = jv_object_get(jv_copy(result), jv_string("info"));
  if (jv_get_kind(info) == JV_KIND_STRING)
    upg_notice(s, "the platform says: %s", jv_string_value(info));
  jv_free(info);
  *doc = upg_doc_with("request", jv_object_set(result, jv_string("identity"), jv_string(key)));
  result = jv_invalid();
  made = false; /* the request is bound to it now */
out:
  if (made)
    upg_rpc_key_drop(key);
  jv_free(params);
  jv_free(result);
  free(key);
  free(pub);
  free(env_text);
  return status;
}
