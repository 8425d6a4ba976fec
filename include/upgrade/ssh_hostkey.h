/* SPDX-License-Identifier: GPL-3.0-or-later */
/* ssh_hostkey.h -- internal: is this the server we mean?  known_hosts
 * read as OpenSSH reads it, the server's key checked against it, and with
 * --accept-new-host-key an unknown key recorded (ssh_hostkey.c).
 *
 * Every failure is recorded in the connection's document (upg_ssh_failf):
 * exit 5 CLIENT:HOST_KEY for a refused key, 2 CLIENT:FILE for a known_hosts
 * file that cannot be read or written.
 */
#ifndef UPGRADE_SSH_HOSTKEY_H
#define UPGRADE_SSH_HOSTKEY_H

#include <stddef.h>
#include <libssh2.h>

#include "upgrade/ssh.h"

/* known_hosts, read line by line.  Owns its path and both lists. */
typedef struct known_hosts {
  char *path;
  LIBSSH2_KNOWNHOSTS *kh;      /* usable entries */
  LIBSSH2_KNOWNHOSTS *revoked; /* @revoked entries */
  char name[300];              /* this endpoint's entry name */
  int known_types;             /* bitmask of 1 << (KNOWNHOST_KEY_* >> SHIFT) */
} known_hosts;

/* Read the known_hosts file (s->known_hosts, else ~/.ssh/known_hosts; a
 * missing file is empty) for C's endpoint into K.  0 or a failure status;
 * K must be closed either way. */
int upg_known_hosts_open(upg_ssh *c, known_hosts *k);
void upg_known_hosts_close(known_hosts *k);

/* Before the handshake: ask for the host key types K knows for this host
 * first, so that the server shows a key we can check. */
void upg_hostkey_preference(upg_ssh *c, int known_types);

/* After the handshake: the server's key against K, with OpenSSH's rules
 * (revoked or changed: refused; unknown: refused unless
 * --accept-new-host-key, then appended to the file).  0 or a status. */
int upg_hostkey_check(upg_ssh *c, known_hosts *k);

/* Feed one known_hosts line (LINE is modified) to K's lists (exposed for
 * tests/fuzz). */
void upg_known_hosts_line(known_hosts *k, char *line, size_t len);
/* The key types K holds for K->name, as a bitmask. */
int upg_known_types_for(known_hosts *k);

#endif
