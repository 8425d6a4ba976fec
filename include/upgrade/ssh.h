/* SPDX-License-Identifier: GPL-3.0-or-later */
/* ssh.h -- internal: one SSH connection driven non-blocking, used by the
 * SFTP transfers (sftp.c).  Not part of the core's public surface.
 *
 * The SSH layer is four files: ssh_conn.c (TCP, failures, waiting,
 * closing: declared here), ssh_hostkey.c (host-key trust, ssh_hostkey.h),
 * ssh_auth.c (identity and authentication, ssh_auth.h) and ssh.c, which
 * opens a session with the three (upg_ssh_open, here).
 *
 * A connection lives for one call: nothing is cached across calls, so a
 * forked subshell never inherits a session its parent still uses.  Every
 * libssh2 call runs in a loop `while (rc == EAGAIN) upg_ssh_wait(c)`; the
 * wait is where Ctrl-C, --max-time and the inactivity guard are applied.
 */
#ifndef UPGRADE_SSH_H
#define UPGRADE_SSH_H

#include <stdbool.h>
#include <libssh2.h>
#include <libssh2_sftp.h>
#include <jv.h>

#include "upgrade/settings.h"

/* Where the platform's SFTP server is (request_sftp_access's answer).
 * The strings are the caller's, borrowed for the call. */
typedef struct upg_sftp_endpoint {
  const char *host;   /* "hostname" */
  int port;           /* "sftp_port" */
  const char *user;   /* "sftp_user" */
} upg_sftp_endpoint;

typedef struct upg_ssh {
  const upg_settings *s;
  const upg_sftp_endpoint *ep;
  jv *doc;                   /* where a failure is written */
  int sock;                  /* -1 when closed */
  LIBSSH2_SESSION *session;
  LIBSSH2_SFTP *sftp;
  double started;            /* upg_now() when the call began */
  double deadline;           /* absolute: phase limit and --max-time; 0 = none */
  double max_deadline;       /* --max-time alone; 0 = none */
  double idle_limit;         /* seconds without progress before CLIENT:TIMEOUT */
  double last_activity;
  double last_check;         /* of the interrupt/deadline, in progress() */
  bool transferring;         /* failures now leave something to resume */
  const char *phase;         /* "connecting to …", "uploading …": for messages */
  char phase_buf[300];
  int status;                /* the first failure recorded, 0 = none */
  bool broken;               /* socket shut down: closing must not wait */
} upg_ssh;

/* libssh2_init once per process (lazily), libssh2_exit if we did it. */
int upg_ssh_global_init(void);
void upg_ssh_global_exit(void);

/* Connect, check the host key, authenticate and start SFTP.  0, or an exit
 * status with *doc set; the connection is closed again on failure. */
int upg_ssh_open(upg_ssh *c, const upg_settings *s, const upg_sftp_endpoint *ep, jv *doc);

/* Leave the connect phase: from now on only --max-time and the inactivity
 * guard (the connect timeout, at least 60 s) bound the call.  WHAT names
 * the transfer in messages ("uploading dump.sql"). */
void upg_ssh_transfer_phase(upg_ssh *c, const char *what);

/* libssh2 said EAGAIN: wait until the socket can move in the direction it
 * needs, in slices of at most 100 ms.  0 to retry, or an exit status with
 * *c->doc set (interrupted, timed out). */
int upg_ssh_wait(upg_ssh *c);

/* Note that data moved: resets the inactivity guard, and checks Ctrl-C and
 * --max-time at most every 100 ms (a fast link may never say EAGAIN).
 * 0, or an exit status with *c->doc set. */
int upg_ssh_progress(upg_ssh *c);

/* Record a failure (the first one wins; later ones only return its
 * status) in *c->doc; returns the status. */
int upg_ssh_failf(upg_ssh *c, int status, const char *reason, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Fail with libssh2's last session error: CLIENT:NETWORK for a lost
 * connection, CLIENT:SSH otherwise.  WHAT says what was being done. */
int upg_ssh_fail(upg_ssh *c, const char *what);

/* Fail after an SFTP call returned RC: names the SFTP status when the
 * server sent one (CLIENT:SFTP), else as upg_ssh_fail. */
int upg_ssh_fail_sftp(upg_ssh *c, int rc, const char *what, const char *path);

/* Close an SFTP file handle, waiting for the server's acknowledgements
 * (of the close and of every write still in flight).  Returns 0 or an
 * exit status (with *doc set).  Not GRACEFUL, or on a connection already
 * broken (Ctrl-C, timeout, lost), it only frees the handle, as quickly as
 * the dead connection allows.  *H is NULL afterwards. */
int upg_ssh_close_handle(upg_ssh *c, LIBSSH2_SFTP_HANDLE **h, bool graceful);

/* Close everything: SFTP, session (DISCONNECT when GRACEFUL) and socket.
 * Never blocks for long, even on a dead peer or after Ctrl-C. */
void upg_ssh_close(upg_ssh *c, bool graceful);

/* Between the files of the SSH layer (ssh_conn.c provides them). */

/* --connect-timeout, or the default of 30 s, in milliseconds. */
long upg_ssh_connect_timeout_ms(const upg_settings *s);
/* Resolve c->ep->host and connect to the first address that answers,
 * within the connect deadline; sets c->sock.  0 or a failure status. */
int upg_ssh_tcp_connect(upg_ssh *c);
/* Is a libssh2 error code a lost connection (rather than a refusal)? */
bool upg_ssh_network_error(int err);
/* libssh2's last error message on C's session (never NULL; points into
 * the session); *CODE gets its code when CODE is not NULL. */
const char *upg_ssh_last_error(upg_ssh *c, int *code);

#endif
