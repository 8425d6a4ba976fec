/* SPDX-License-Identifier: GPL-3.0-or-later */
/* ssh.c -- open one SSH session for one SFTP transfer (see ssh.h): the
 * connection (ssh_conn.c), the handshake with modern ciphers, the host key
 * (ssh_hostkey.c), authentication (ssh_auth.c) and the SFTP subsystem.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "upgrade/files.h"
#include "upgrade/outcome.h"
#include "upgrade/ssh.h"
#include "upgrade/ssh_auth.h"
#include "upgrade/ssh_hostkey.h"

/* Only modern ciphers and MACs (1.10 would also offer arcfour, CBC, MD5). */
static void
set_cipher_preference(upg_ssh *c)
{
  static const char ciphers[] = "aes128-ctr,aes256-ctr,aes192-ctr";
  static const char macs[] = "hmac-sha2-256,hmac-sha2-512,hmac-sha1";
  libssh2_session_method_pref(c->session, LIBSSH2_METHOD_CRYPT_CS, ciphers);
  libssh2_session_method_pref(c->session, LIBSSH2_METHOD_CRYPT_SC, ciphers);
  libssh2_session_method_pref(c->session, LIBSSH2_METHOD_MAC_CS, macs);
  libssh2_session_method_pref(c->session, LIBSSH2_METHOD_MAC_SC, macs);
}

/* The handshake, asking first for the host key types known_hosts holds,
 * then the server's key checked against them. */
static int
handshake(upg_ssh *c)
{
  known_hosts k;
  int rc, st = upg_known_hosts_open(c, &k);
  if (st)
    goto out;
  upg_hostkey_preference(c, k.known_types);
  set_cipher_preference(c);
  while ((rc = libssh2_session_handshake(c->session, c->sock)) == LIBSSH2_ERROR_EAGAIN)
    if ((st = upg_ssh_wait(c)))
      goto out;
  st = rc ? upg_ssh_fail(c, "the SSH handshake") : upg_hostkey_check(c, &k);
out:
  upg_known_hosts_close(&k);
  return st;
}

/* Handshake, host key, authentication and the SFTP subsystem. */
static int
ssh_setup(upg_ssh *c)
{
  int st = handshake(c);
  if (st)
    return st;
  if ((st = upg_ssh_authenticate(c)))
    return st;
  while (!(c->sftp = libssh2_sftp_init(c->session))
         && libssh2_session_last_errno(c->session) == LIBSSH2_ERROR_EAGAIN)
    if ((st = upg_ssh_wait(c)))
      return st;
  return c->sftp ? 0 : upg_ssh_fail(c, "starting SFTP");
}

int
upg_ssh_open(upg_ssh *c, const upg_settings *s, const upg_sftp_endpoint *ep, jv *doc)
{
  memset(c, 0, sizeof *c);
  c->s = s;
  c->ep = ep;
  c->doc = doc;
  *doc = jv_null();
  c->sock = -1;
  c->started = c->last_activity = upg_now();
  c->deadline = c->started + upg_ssh_connect_timeout_ms(s) / 1000.0;
  c->max_deadline = s->max_time_ms > 0 ? c->started + s->max_time_ms / 1000.0 : 0;
  c->idle_limit = upg_ssh_connect_timeout_ms(s) / 1000.0;
  c->phase = "connecting";
  if (!ep->host || !*ep->host || !ep->user || !*ep->user || ep->port <= 0 || ep->port > 65535)
    return upg_ssh_failf(c, UPG_EXIT_USAGE, "CLIENT:SSH", "incomplete SFTP endpoint (host, port, user)");
  snprintf(c->phase_buf, sizeof c->phase_buf, "connecting to %s port %d", ep->host, ep->port);
  c->phase = c->phase_buf;
  if (upg_ssh_global_init() != 0)
    return upg_ssh_failf(c, UPG_EXIT_TRANSPORT, "CLIENT:SSH", "libssh2_init failed");
  int st = upg_ssh_tcp_connect(c);
  if (st)
    goto out;
  c->session = libssh2_session_init_ex(NULL, NULL, NULL, c);
  if (!c->session) {
    st = upg_ssh_failf(c, UPG_EXIT_TRANSPORT, "CLIENT:SSH", "cannot create an SSH session");
    goto out;
  }
  libssh2_session_set_blocking(c->session, 0);
  st = ssh_setup(c);
out:
  if (st)
    upg_ssh_close(c, false);
  return st;
}

