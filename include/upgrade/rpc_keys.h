/* SPDX-License-Identifier: GPL-3.0-or-later */
/* rpc_keys.h -- the SSH key pair an rpc request is bound to (keys.c).
 *
 * The platform binds a request to the public key create sends (platform-
 * rpc.md §4.1): the key is the request's for its whole life.  Without
 * --identity, create makes a pair for the request with OpenSSH's
 * `ssh-keygen -t ed25519 -N '' -q -f PATH`, run as a child (child.h), in a
 * private directory of its own (mode 0700, made by mkdtemp) under
 * ${XDG_STATE_HOME:-$HOME/.local/state}/upgrade/keys/: the private key
 * 0600, the public one beside it as PATH.pub.  The keys/ directory is made
 * 0700 when missing, and refused when another user owns it or others may
 * write in it (they could swap our directory for theirs).
 */
#ifndef UPGRADE_RPC_KEYS_H
#define UPGRADE_RPC_KEYS_H

#include <jv.h>

#include "upgrade/settings.h"

/* The largest public key file read (an RSA-16384 public key is ~2.8 KB). */
#define UPG_RPC_PUBKEY_MAX 16384

/* Make a new pair: 0 with *path the private key's absolute path
 * (malloc'd), or an exit status with *doc set (2 CLIENT:FILE for the
 * directories, CLIENT:SSH_KEYGEN when ssh-keygen is missing or fails;
 * 128+sig when interrupted).  Nothing is left behind on failure. */
int upg_rpc_key_new(const upg_settings *s, char **path, jv *doc);

/* Make a new pair at PATH (`upgrade run`'s, beside its job record):
 * whatever PATH and PATH.pub hold is removed first (a pair left by a run
 * stopped before its create was recorded: nothing is bound to it), then
 * ssh-keygen writes both, made 0600.  0, or an exit status with *doc set
 * as upg_rpc_key_new's. */
int upg_rpc_key_new_at(const upg_settings *s, const char *path, jv *doc);

/* Remove a pair made by upg_rpc_key_new (the key, its .pub and their
 * directory): create failed, so nothing is bound to it. */
void upg_rpc_key_drop(const char *path);

/* The public half of the private key IDENTITY: the text of IDENTITY.pub
 * (malloc'd into *text), which must hold one public key and nothing
 * secret (sshkeys.h); *abs is IDENTITY's absolute path (malloc'd), for
 * the job's later transfers.  0, or exit 2 CLIENT:FILE with *doc set. */
int upg_rpc_key_public(const char *identity, char **text, char **abs, jv *doc);

#endif
