/* SPDX-License-Identifier: GPL-3.0-or-later */
/* ssh_conn.c -- the connection under an SSH session (see ssh.h): TCP,
 * failures, waiting, closing.
 *
 * Why it is written this way:
 *  - libssh2 1.10 in blocking mode turns an interrupted poll() into a fatal
 *    error, and bash delivers signals all the time (SIGCHLD, SIGWINCH, ...),
 *    so the session runs non-blocking and we do the waiting: poll() in
 *    slices of at most 100 ms, each slice asking the host whether the user
 *    pressed Ctrl-C, and enforcing --connect-timeout, --max-time and an
 *    inactivity guard, so a dead peer can never hang the shell.
 *  - Nothing outlives the call: a forked subshell never inherits a live
 *    session, and every path closes what it opened.
 */
#include "config.h"

#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "upgrade/files.h"
#include "upgrade/outcome.h"
#include "upgrade/ssh.h"

#define DEFAULT_CONNECT_TIMEOUT_MS 30000L
#define MIN_IDLE_SECONDS 60.0
#define SLICE_MS 100
#define CLOSE_GRACE_SECONDS 5.0

static bool libssh2_initialised;

static void break_connection(upg_ssh *c);

/* Said after a failure in the middle of a transfer. */
static const char *
resume_hint(const upg_ssh *c)
{
  return c->transferring ? "; run again to resume" : "";
}

/* ---------------------------------------------------------------- init */

int
upg_ssh_global_init(void)
{
  if (!libssh2_initialised) {
    if (libssh2_init(0) != 0)
      return -1;
    libssh2_initialised = true;
  }
  return 0;
}

void
upg_ssh_global_exit(void)
{
  if (libssh2_initialised) {
    libssh2_exit();
    libssh2_initialised = false;
  }
}

/* ------------------------------------------------------------ failures */

/* Record a failure.  The first one wins: a failure while cleaning up after
 * another must not hide the cause the user needs to see. */
static int
failv(upg_ssh *c, int status, const char *reason, const char *fmt, va_list ap)
{
  if (c->status)
    return c->status;
  jv_free(*c->doc);
  c->status = upg_fail(c->doc, status, upg_failure_v(reason, fmt, ap));
  return c->status;
}

int
upg_ssh_failf(upg_ssh *c, int status, const char *reason, const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  int r = failv(c, status, reason, fmt, ap);
  va_end(ap);
  return r;
}

/* Errors that mean the TCP connection itself is gone. */
bool
upg_ssh_network_error(int err)
{
  return err == LIBSSH2_ERROR_SOCKET_SEND || err == LIBSSH2_ERROR_SOCKET_RECV
    || err == LIBSSH2_ERROR_SOCKET_DISCONNECT || err == LIBSSH2_ERROR_SOCKET_NONE
    || err == LIBSSH2_ERROR_SOCKET_TIMEOUT;
}

/* The message libssh2 left for its last error (static, never a secret:
 * libssh2 does not quote key material or passphrases in its messages). */
const char *
upg_ssh_last_error(upg_ssh *c, int *code)
{
  char *msg = NULL;
  int err = c->session ? libssh2_session_last_error(c->session, &msg, NULL, 0) : 0;
  if (code)
    *code = err;
  return msg && *msg ? msg : "unknown error";
}

int
upg_ssh_fail(upg_ssh *c, const char *what)
{
  int err;
  const char *msg = upg_ssh_last_error(c, &err);

  if (upg_ssh_network_error(err)) {
    break_connection(c); /* nothing more can be said on it */
    return upg_ssh_failf(c, UPG_EXIT_TRANSPORT, "CLIENT:NETWORK",
                         "connection to %s port %d lost while %s (%s)%s",
                         c->ep->host, c->ep->port, what, msg, resume_hint(c));
  }
  return upg_ssh_failf(c, UPG_EXIT_TRANSPORT, "CLIENT:SSH", "%s failed on %s port %d: %s (libssh2 error %d)",
                       what, c->ep->host, c->ep->port, msg, err);
}

/* SFTP status codes by their protocol names (draft-ietf-secsh-filexfer). */
static const char *
sftp_status_name(unsigned long code)
{
  static const char *const names[] = {
    "SSH_FX_OK", "SSH_FX_EOF", "SSH_FX_NO_SUCH_FILE", "SSH_FX_PERMISSION_DENIED",
    "SSH_FX_FAILURE", "SSH_FX_BAD_MESSAGE", "SSH_FX_NO_CONNECTION",
    "SSH_FX_CONNECTION_LOST", "SSH_FX_OP_UNSUPPORTED", "SSH_FX_INVALID_HANDLE",
    "SSH_FX_NO_SUCH_PATH", "SSH_FX_FILE_ALREADY_EXISTS", "SSH_FX_WRITE_PROTECT",
    "SSH_FX_NO_MEDIA", "SSH_FX_NO_SPACE_ON_FILESYSTEM", "SSH_FX_QUOTA_EXCEEDED",
    "SSH_FX_UNKNOWN_PRINCIPAL", "SSH_FX_LOCK_CONFLICT", "SSH_FX_DIR_NOT_EMPTY",
    "SSH_FX_NOT_A_DIRECTORY", "SSH_FX_INVALID_FILENAME", "SSH_FX_LINK_LOOP",
  };
  return code < sizeof names / sizeof *names ? names[code] : "SSH_FX_UNKNOWN";
}

int
upg_ssh_fail_sftp(upg_ssh *c, int rc, const char *what, const char *path)
{
  if (rc == LIBSSH2_ERROR_SFTP_PROTOCOL && c->sftp) {
    unsigned long code = libssh2_sftp_last_error(c->sftp);
    return upg_ssh_failf(c, UPG_EXIT_TRANSPORT, "CLIENT:SFTP", "%s %s on %s port %d: %s (status %lu)",
                         what, path, c->ep->host, c->ep->port, sftp_status_name(code), code);
  }
  char buf[512];
  snprintf(buf, sizeof buf, "%s %s", what, path);
  return upg_ssh_fail(c, buf);
}

/* -------------------------------------------------------------- waiting */

long
upg_ssh_connect_timeout_ms(const upg_settings *s)
{
  return s->connect_timeout_ms > 0 ? s->connect_timeout_ms : DEFAULT_CONNECT_TIMEOUT_MS;
}

static int limits_reached(upg_ssh *c, double now);

/* Interrupted, past a deadline or idle too long?  0 or the failure. */
static int
check_limits(upg_ssh *c, double now)
{
  int st = limits_reached(c, now);
  if (st)
    break_connection(c); /* so that closing does not wait on it either */
  return st;
}

/* (check_limits without the consequence.) */
static int
limits_reached(upg_ssh *c, double now)
{
  int sig = upg_interrupted(c->s);
  if (sig)
    return upg_ssh_failf(c, UPG_EXIT_SIGNAL_BASE + sig, "CLIENT:INTERRUPTED",
                         "interrupted by signal %d while %s%s", sig, c->phase, resume_hint(c));
  if (c->max_deadline && now >= c->max_deadline)
    return upg_ssh_failf(c, UPG_EXIT_TRANSPORT, "CLIENT:TIMEOUT", "--max-time of %g s reached while %s%s",
                         c->max_deadline - c->started, c->phase, resume_hint(c));
  if (c->deadline && now >= c->deadline)
    return upg_ssh_failf(c, UPG_EXIT_TRANSPORT, "CLIENT:TIMEOUT",
                         "timed out after %.1f s while %s (--connect-timeout)", now - c->started, c->phase);
  if (now - c->last_activity >= c->idle_limit)
    return upg_ssh_failf(c, UPG_EXIT_TRANSPORT, "CLIENT:TIMEOUT",
                         "nothing moved for %.0f s while %s: the connection looks dead%s",
                         now - c->last_activity, c->phase, resume_hint(c));
  return 0;
}

/* Milliseconds to wait in one slice: at most 100, less near a deadline. */
static int
slice_ms(const upg_ssh *c, double now)
{
  double left = SLICE_MS / 1000.0;
  if (c->deadline && c->deadline - now < left)
    left = c->deadline - now;
  if (c->max_deadline && c->max_deadline - now < left)
    left = c->max_deadline - now;
  return left > 0 ? (int)(left * 1000) + 1 : 1;
}

/* One slice of waiting for EVENTS on the socket.  Returns 0 (ready or
 * slice over: the caller retries its call) or a failure status. */
static int
wait_events(upg_ssh *c, short events)
{
  double now = upg_now();
  c->last_check = now;
  int st = check_limits(c, now);
  if (st)
    return st;
  struct pollfd p = { .fd = c->sock, .events = events };
  /* No direction (EAGAIN from the agent): just let a little time pass. */
  int r = poll(&p, 1, events ? slice_ms(c, now) : 10);
  if (r < 0 && errno != EINTR)
    return upg_ssh_failf(c, UPG_EXIT_TRANSPORT, "CLIENT:NETWORK", "waiting on the connection to %s: %s",
                         c->ep->host, strerror(errno));
  if (r > 0)
    c->last_activity = upg_now();
  return 0;
}

int
upg_ssh_wait(upg_ssh *c)
{
  int dir = libssh2_session_block_directions(c->session);
  short events = 0;
  if (dir & LIBSSH2_SESSION_BLOCK_INBOUND)
    events |= POLLIN;
  if (dir & LIBSSH2_SESSION_BLOCK_OUTBOUND)
    events |= POLLOUT;
  return wait_events(c, events);
}

int
upg_ssh_progress(upg_ssh *c)
{
  double now = upg_now();
  c->last_activity = now;
  /* A fast link may never make libssh2 say EAGAIN: look at Ctrl-C and
   * --max-time here too, ten times a second. */
  if (now - c->last_check < SLICE_MS / 1000.0)
    return 0;
  c->last_check = now;
  return check_limits(c, now);
}

void
upg_ssh_transfer_phase(upg_ssh *c, const char *what)
{
  snprintf(c->phase_buf, sizeof c->phase_buf, "%s (%s port %d)", what, c->ep->host, c->ep->port);
  c->phase = c->phase_buf;
  c->transferring = true;
  double idle = upg_ssh_connect_timeout_ms(c->s) / 1000.0;
  c->deadline = 0;
  c->idle_limit = idle > MIN_IDLE_SECONDS ? idle : MIN_IDLE_SECONDS;
  c->last_activity = upg_now();
}

/* ------------------------------------------------------------------ TCP */

/* Wait for a non-blocking connect() on FD to finish.  0 when connected;
 * -1 with errno when refused; a failure status when interrupted/late. */
static int
connect_wait(upg_ssh *c, int fd)
{
  for (;;) {
    double now = upg_now();
    int st = check_limits(c, now);
    if (st)
      return st;
    struct pollfd p = { .fd = fd, .events = POLLOUT };
    int r = poll(&p, 1, slice_ms(c, now));
    if (r < 0 && errno == EINTR)
      continue;
    if (r < 0)
      return -1;
    if (r == 0)
      continue;
    int err = 0;
    socklen_t len = sizeof err;
    if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0)
      return -1;
    errno = err;
    return err ? -1 : 0;
  }
}

/* Try one resolved address.  Sets c->sock on success; 0, -1 (try the
 * next, errno set) or a failure status (stop). */
static int
connect_one(upg_ssh *c, const struct addrinfo *ai)
{
  int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, ai->ai_protocol);
  if (fd < 0)
    return -1;
  int r = connect(fd, ai->ai_addr, ai->ai_addrlen);
  if (r != 0 && (errno == EINPROGRESS || errno == EINTR))
    r = connect_wait(c, fd);
  if (r != 0) {
    int err = errno;
    close(fd);
    errno = err;
    return r;
  }
  /* SFTP requests are small packets sent back to back: without this,
   * Nagle's algorithm holds each one until the previous is acknowledged,
   * and with delayed ACKs downloads crawl (measured: 64 KiB reads went
   * from 40 MiB/s to full speed). */
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  c->sock = fd;
  return 0;
}

/* Resolve and connect, trying every address, bounded by the connect
 * deadline.  (getaddrinfo itself cannot be interrupted: it is bounded by
 * the resolver's own timeouts.) */
int
upg_ssh_tcp_connect(upg_ssh *c)
{
  struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM }, *res = NULL;
  char port[16];
  snprintf(port, sizeof port, "%d", c->ep->port);
  int gai = getaddrinfo(c->ep->host, port, &hints, &res);
  if (gai != 0)
    return upg_ssh_failf(c, UPG_EXIT_TRANSPORT, "CLIENT:NETWORK", "cannot resolve %s: %s",
                         c->ep->host, gai == EAI_SYSTEM ? strerror(errno) : gai_strerror(gai));
  int err = ECONNREFUSED, r = -1;
  for (const struct addrinfo *ai = res; ai && r < 0; ai = ai->ai_next) {
    r = connect_one(c, ai);
    if (r < 0)
      err = errno;
  }
  freeaddrinfo(res);
  if (r < 0)
    return upg_ssh_failf(c, UPG_EXIT_TRANSPORT, "CLIENT:NETWORK", "cannot connect to %s port %d: %s",
                         c->ep->host, c->ep->port, strerror(err));
  return r;
}


/* ------------------------------------------------------------- closing */

/* Make every further libssh2 call on this connection fail fast. */
static void
break_connection(upg_ssh *c)
{
  if (c->sock >= 0 && !c->broken)
    shutdown(c->sock, SHUT_RDWR);
  c->broken = true;
}

/* EAGAIN while closing: wait a slice, but break the connection (so the
 * close can finish at once) on Ctrl-C or after a few seconds.  False when
 * the caller should give up (a libssh2 call that keeps saying EAGAIN on
 * a shut-down socket: leak rather than hang). */
static bool
close_wait(upg_ssh *c, double limit, int *spins)
{
  if (c->broken && ++*spins > 50)
    return false;
  if (!c->broken && (upg_interrupted(c->s) || upg_now() > limit))
    break_connection(c);
  int dir = c->session ? libssh2_session_block_directions(c->session) : 0;
  struct pollfd p = { .fd = c->sock,
                      .events = (short)((dir & LIBSSH2_SESSION_BLOCK_INBOUND ? POLLIN : 0)
                                        | (dir & LIBSSH2_SESSION_BLOCK_OUTBOUND ? POLLOUT : 0)) };
  poll(&p, 1, c->broken ? 1 : SLICE_MS);
  return true;
}

/* Run a closing call until it stops saying EAGAIN (bounded, see above). */
#define CLOSE_RETRY(c, rc, call, limit)                                  \
  do {                                                                   \
    int spins_ = 0;                                                      \
    while (((rc) = (call)) == LIBSSH2_ERROR_EAGAIN && close_wait((c), (limit), &spins_)) \
      ;                                                                  \
  } while (0)

int
upg_ssh_close_handle(upg_ssh *c, LIBSSH2_SFTP_HANDLE **h, bool graceful)
{
  int rc, st = 0;
  if (!*h)
    return 0;
  if (c->broken)
    graceful = false;
  if (!graceful)
    break_connection(c);
  while (graceful && (rc = libssh2_sftp_close_handle(*h)) == LIBSSH2_ERROR_EAGAIN)
    if ((st = upg_ssh_wait(c)))
      graceful = false; /* interrupted or dead: free it the quick way */
  if (graceful) {
    *h = NULL;
    return rc ? upg_ssh_fail_sftp(c, rc, "closing", "the remote file") : 0;
  }
  break_connection(c);
  CLOSE_RETRY(c, rc, libssh2_sftp_close_handle(*h), upg_now());
  *h = NULL;
  return st ? st : c->status;
}

void
upg_ssh_close(upg_ssh *c, bool graceful)
{
  double limit = upg_now() + CLOSE_GRACE_SECONDS;
  int rc;
  if (!graceful)
    break_connection(c);
  if (c->sftp)
    CLOSE_RETRY(c, rc, libssh2_sftp_shutdown(c->sftp), limit);
  c->sftp = NULL;
  if (c->session) {
    if (!c->broken)
      CLOSE_RETRY(c, rc, libssh2_session_disconnect(c->session, "done"), limit);
    CLOSE_RETRY(c, rc, libssh2_session_free(c->session), limit);
    (void)rc;
  }
  c->session = NULL;
  if (c->sock >= 0)
    close(c->sock);
  c->sock = -1;
}
