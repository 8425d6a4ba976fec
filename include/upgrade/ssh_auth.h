/* SPDX-License-Identifier: GPL-3.0-or-later */
/* ssh_auth.h -- internal: who we are to the SSH server (ssh_auth.c).
 *
 * The identity is --identity, else the first of ~/.ssh/id_ed25519,
 * id_ecdsa, id_rsa that exists; ssh-agent (SSH_AUTH_SOCK) is tried after
 * it.  Key material is read only to tell RSA and passphrase-protected keys
 * apart, and wiped from memory afterwards.
 */
#ifndef UPGRADE_SSH_AUTH_H
#define UPGRADE_SSH_AUTH_H

#include <jv.h>

#include "upgrade/settings.h"
#include "upgrade/ssh.h"

/* The identity to authenticate with.  *private_path is malloc'd (or NULL
 * when none exists: agent only).  *public_keys is the text of PRIVATE.pub,
 * malloc'd, or NULL when there is no .pub.  Returns 0, or exit 2
 * (CLIENT:FILE) with *doc set: an --identity that is unreadable, not a
 * regular file, or a public key. */
int upg_ssh_identity(const upg_settings *s, char **private_path,
                     char **public_keys, jv *doc);

/* Authenticate C's session as c->ep->user: the identity file, then the
 * agent.  0, or a failure status recorded in C's document (3
 * CLIENT:SSH_AUTH with an account of every key tried). */
int upg_ssh_authenticate(upg_ssh *c);

#endif
