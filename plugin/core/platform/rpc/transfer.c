/* SPDX-License-Identifier: GPL-3.0-or-later */
/* transfer.c -- one rpc transfer: the node, transfer/start and its answer,
 * the host keys, rsync, transfer/stop (see rpc_transfer.h). */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "upgrade/outcome.h"
#include "upgrade/rpc_answer.h"
#include "upgrade/rpc_call.h"
#include "upgrade/rpc_hostkeys.h"
#include "upgrade/rpc_request.h"
#include "upgrade/rpc_rsync.h"
#include "upgrade/rpc_transfer.h"

/* The key the request was created with: a readable file. */
static int
require_identity(const upg_settings *s, jv *doc)
{
  struct stat st;
  if (!s->identity || !*s->identity)
    return upg_fail(doc, UPG_EXIT_USAGE,
                    upg_failure("CLIENT:USAGE", "no key: give --identity KEY (the private key whose public half "
                                "the request was created with) or set UPGRADE_IDENTITY"));
  if (stat(s->identity, &st) != 0 || !S_ISREG(st.st_mode) || access(s->identity, R_OK) != 0)
    return upg_fail(doc, UPG_EXIT_USAGE, upg_failure("CLIENT:FILE", "--identity %s: not a readable file",
                                                     s->identity));
  if (!upg_rsync_rsh_path_ok(s->identity))
    return upg_fail(doc, UPG_EXIT_USAGE,
                    upg_failure("CLIENT:USAGE", "--identity %s: ssh is handed the key's path through rsync, "
                                "which splits it on spaces: use a path of letters, digits and /._+,=@- only",
                                s->identity));
  return 0;
}

/* transfer/start's answer RESULT (not consumed) into SPEC: the port, the
 * host keys checked against NODE (*keys, malloc'd), the dump's name. */
static int
read_start(jv result, const char *node, upg_rpc_transfer *t, upg_rsync_spec *spec, char **keys, jv *doc)
{
  jv port = jv_object_get(jv_copy(result), jv_string("ssh_port"));
  upg_rpc_port(port, &spec->port); /* checked with the answer */
  jv_free(port);
  jv kh = jv_object_get(jv_copy(result), jv_string("known_hosts"));
  const char *why = upg_rpc_known_hosts(jv_get_kind(kh) == JV_KIND_STRING ? jv_string_value(kh) : NULL, node,
                                        spec->port, keys);
  jv_free(kh);
  if (why)
    return upg_rpc_bad_field(doc, "transfer/start", "known_hosts", NULL, why);
  if (t->download) {
    jv name = jv_object_get(jv_copy(result), jv_string("dump_name")); /* checked: a plain name */
    snprintf(t->dump_name, sizeof t->dump_name, "%s", jv_string_value(name));
    jv_free(name);
    spec->remote = t->dump_name;
  }
  return 0;
}

/* rsync with the host keys of the answer, then transfer/stop. */
static int
move(const upg_settings *s, const char *base, upg_rpc_transfer *t, upg_rsync_spec *spec, const char *keys,
     jv *doc)
{
  upg_rpc_hostkeys hk;
  char **argv = NULL;
  int status = t->ready ? t->ready(t, doc) : 0;
  if (status)
    return status;
  status = upg_rpc_hostkeys_write(&hk, keys, doc);
  if (status)
    return status;
  spec->known_hosts = hk.file;
  if ((status = upg_rsync_argv(spec, t->download, &argv, doc)))
    goto out;
  if ((status = upg_rsync_run(s, argv, t->label, t->total, &t->moved, doc)))
    goto out;
  jv stopped;
  status = upg_rpc_call(s, base, "transfer/stop", "transfer/stop", upg_rpc_token_params(s->token), true, &stopped);
  if (status)
    *doc = upg_doc_hint(stopped, "the files were transferred; run the same command again to tell the platform");
  else
    jv_free(stopped);
out:
  upg_argv_free(argv);
  upg_rpc_hostkeys_remove(&hk);
  return status;
}

int
upg_rpc_transfer_run(const upg_settings *s, upg_rpc_transfer *t, jv *doc)
{
  int status;
  if ((status = upg_rpc_require_token(s, doc)) || (status = require_identity(s, doc))
      || (status = upg_rsync_check_version(s, doc)))
    return status;
  char *base = NULL, *keys = NULL;
  jv result = jv_invalid();
  if ((status = upg_rpc_node_base(s, &base, doc)))
    goto out;
  const char *node = base + strlen("https://");
  status = upg_rpc_call(s, base, "transfer/start", t->download ? "transfer/start:download" : "transfer/start",
                        upg_rpc_transfer_params(s->token, t->download), true, &result);
  if (status) {
    *doc = result;
    result = jv_invalid();
    goto out;
  }
  upg_rsync_spec spec = { .host = node, .key = s->identity, .local = t->local, .remote = t->remote,
                          .directory = t->directory };
  if ((status = read_start(result, node, t, &spec, &keys, doc)))
    goto out;
  status = move(s, base, t, &spec, keys, doc);
out:
  jv_free(result);
  free(keys);
  free(base);
  return status;
}
