/* ssh.c -- one SSH connection for one SFTP transfer (see ssh.h, sftp.h).
 *
 * Why it is written this way:
 *  - libssh2 1.10 in blocking mode turns an interrupted poll() into a fatal
 *    error, and bash delivers signals all the time (SIGCHLD, SIGWINCH, ...),
 *    so the session runs non-blocking and we do the waiting: poll() in
 *    slices of at most 100 ms, each slice asking the host whether the user
 *    pressed Ctrl-C, and enforcing --connect-timeout, --max-time and an
 *    inactivity guard, so a dead peer can never hang the shell.
 *  - Host keys are checked as OpenSSH's StrictHostKeyChecking=yes (or
 *    accept-new when asked) would: an unknown key is refused unless the
 *    user opted in, a changed one always is.
 *  - Nothing outlives the call: a forked subshell never inherits a live
 *    session, and every path closes what it opened.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "upgrade/files.h"
#include "upgrade/outcome.h"
#include "upgrade/ssh.h"
#include "upgrade/sshkeys.h"

#define DEFAULT_CONNECT_TIMEOUT_MS 30000L
#define MIN_IDLE_SECONDS 60.0
#define SLICE_MS 100
#define CLOSE_GRACE_SECONDS 5.0
#define PUBFILE_MAX (1024 * 1024)

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
static bool
is_network_error(int err)
{
  return err == LIBSSH2_ERROR_SOCKET_SEND || err == LIBSSH2_ERROR_SOCKET_RECV
    || err == LIBSSH2_ERROR_SOCKET_DISCONNECT || err == LIBSSH2_ERROR_SOCKET_NONE
    || err == LIBSSH2_ERROR_SOCKET_TIMEOUT;
}

/* The message libssh2 left for its last error (static, never a secret:
 * libssh2 does not quote key material or passphrases in its messages). */
static const char *
last_error(upg_ssh *c, int *code)
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
  const char *msg = last_error(c, &err);

  if (is_network_error(err)) {
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

static long
connect_timeout_ms(const upg_settings *s)
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
  double idle = connect_timeout_ms(c->s) / 1000.0;
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
static int
tcp_connect(upg_ssh *c)
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

/* ---------------------------------------------------------- known hosts */

/* $HOME, or the password database's idea of it when HOME is unset. */
static const char *
home_dir(void)
{
  const char *h = getenv("HOME");
  if (h && *h)
    return h;
  struct passwd *pw = getpwuid(getuid());
  return pw ? pw->pw_dir : NULL;
}

/* Malloc'd "HOME/REL", or NULL when there is no home. */
static char *
home_path(const char *rel)
{
  const char *h = home_dir();
  char *p = NULL;
  if (h && asprintf(&p, "%s/%s", h, rel) < 0)
    p = NULL;
  return p;
}

/* The name OpenSSH files this endpoint under: "host", or "[host]:port". */
static void
host_entry_name(const upg_sftp_endpoint *ep, char *buf, size_t len)
{
  if (ep->port == 22)
    snprintf(buf, len, "%s", ep->host);
  else
    snprintf(buf, len, "[%s]:%d", ep->host, ep->port);
  for (char *p = buf; *p; p++) /* ssh lowercases names before looking them up */
    if (*p >= 'A' && *p <= 'Z')
      *p = (char)(*p - 'A' + 'a');
}

/* Feed one known_hosts line to libssh2.  Lines libssh2 cannot parse
 * (@cert-authority, sk-* keys, wildcards are merely unmatched) are skipped
 * one by one -- libssh2_knownhost_readfile would stop at the first one and
 * silently forget every host after it. */
void
upg_known_hosts_line(known_hosts *k, char *line, size_t len)
{
  while (len && (line[len - 1] == '\n' || line[len - 1] == '\r'))
    line[--len] = '\0';
  char *p = line;
  while (*p == ' ' || *p == '\t')
    p++;
  if (strncmp(p, "@revoked", 8) == 0 && (p[8] == ' ' || p[8] == '\t')) {
    p += 9;
    libssh2_knownhost_readline(k->revoked, p, strlen(p), LIBSSH2_KNOWNHOST_FILE_OPENSSH);
    return;
  }
  if (*p == '@' || *p == '\0' || *p == '#')
    return;
  libssh2_knownhost_readline(k->kh, p, strlen(p), LIBSSH2_KNOWNHOST_FILE_OPENSSH);
}

/* Read the known_hosts file; a missing one is simply empty. */
static int
known_hosts_read(upg_ssh *c, known_hosts *k)
{
  FILE *f = fopen(k->path, "re");
  if (!f) {
    if (errno == ENOENT)
      return 0;
    return upg_ssh_failf(c, UPG_EXIT_USAGE, "CLIENT:FILE", "cannot read known hosts file %s: %s",
                         k->path, strerror(errno));
  }
  char *line = NULL;
  size_t cap = 0;
  ssize_t n;
  while ((n = getline(&line, &cap, f)) >= 0)
    upg_known_hosts_line(k, line, (size_t)n);
  free(line);
  fclose(f);
  return 0;
}

static const int knownhost_key_types[] = {
  LIBSSH2_KNOWNHOST_KEY_ED25519, LIBSSH2_KNOWNHOST_KEY_ECDSA_256, LIBSSH2_KNOWNHOST_KEY_ECDSA_384,
  LIBSSH2_KNOWNHOST_KEY_ECDSA_521, LIBSSH2_KNOWNHOST_KEY_SSHRSA, LIBSSH2_KNOWNHOST_KEY_SSHDSS,
};

/* Which key types does the file hold for this endpoint?  Asking libssh2 to
 * check a dummy key per type answers it for hashed (|1|...) entries too:
 * MISMATCH means "an entry of that type exists". */
int
upg_known_types_for(known_hosts *k)
{
  int mask = 0;
  for (size_t i = 0; i < sizeof knownhost_key_types / sizeof *knownhost_key_types; i++) {
    int t = knownhost_key_types[i];
    int r = libssh2_knownhost_check(k->kh, k->name, "?", 1,
                                    LIBSSH2_KNOWNHOST_TYPE_PLAIN | LIBSSH2_KNOWNHOST_KEYENC_RAW | t, NULL);
    if (r == LIBSSH2_KNOWNHOST_CHECK_MISMATCH)
      mask |= 1 << (t >> LIBSSH2_KNOWNHOST_KEY_SHIFT);
  }
  return mask;
}

/* The host key algorithms (libssh2 1.10 names) for one known_hosts type. */
static const char *
algorithms_for(int knownhost_type)
{
  switch (knownhost_type) {
  case LIBSSH2_KNOWNHOST_KEY_ED25519: return "ssh-ed25519";
  case LIBSSH2_KNOWNHOST_KEY_ECDSA_256: return "ecdsa-sha2-nistp256";
  case LIBSSH2_KNOWNHOST_KEY_ECDSA_384: return "ecdsa-sha2-nistp384";
  case LIBSSH2_KNOWNHOST_KEY_ECDSA_521: return "ecdsa-sha2-nistp521";
  case LIBSSH2_KNOWNHOST_KEY_SSHRSA: return "ssh-rsa";
  case LIBSSH2_KNOWNHOST_KEY_SSHDSS: return "ssh-dss";
  }
  return NULL;
}

/* Set the host key preference: the types known for this host first (so the
 * server shows the key we can check: 1.10 would otherwise pick ecdsa while
 * known_hosts holds ed25519), then the rest in OpenSSH's order, DSA only
 * when already known. */
static void
set_hostkey_preference(upg_ssh *c, int known)
{
  char pref[256] = "";
  for (int pass = 0; pass < 2; pass++)
    for (size_t i = 0; i < sizeof knownhost_key_types / sizeof *knownhost_key_types; i++) {
      int t = knownhost_key_types[i];
      bool is_known = known & (1 << (t >> LIBSSH2_KNOWNHOST_KEY_SHIFT));
      if ((pass == 0) != is_known || (pass == 1 && t == LIBSSH2_KNOWNHOST_KEY_SSHDSS))
        continue;
      if (pref[0])
        strcat(pref, ",");
      strcat(pref, algorithms_for(t));
    }
  libssh2_session_method_pref(c->session, LIBSSH2_METHOD_HOSTKEY, pref);
}

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

static int
known_hosts_open(upg_ssh *c, known_hosts *k)
{
  memset(k, 0, sizeof *k);
  k->path = c->s->known_hosts ? strdup(c->s->known_hosts) : home_path(".ssh/known_hosts");
  if (!k->path)
    return upg_ssh_failf(c, UPG_EXIT_USAGE, "CLIENT:FILE",
                         "no known hosts file: HOME is not set (use --known-hosts FILE)");
  k->kh = libssh2_knownhost_init(c->session);
  k->revoked = libssh2_knownhost_init(c->session);
  if (!k->kh || !k->revoked)
    return upg_ssh_fail(c, "reading known hosts");
  host_entry_name(c->ep, k->name, sizeof k->name);
  int st = known_hosts_read(c, k);
  if (!st)
    k->known_types = upg_known_types_for(k);
  return st;
}

static void
known_hosts_close(known_hosts *k)
{
  if (k->kh)
    libssh2_knownhost_free(k->kh);
  if (k->revoked)
    libssh2_knownhost_free(k->revoked);
  free(k->path);
  memset(k, 0, sizeof *k);
}

/* "SHA256:base64" of the server's key, as `ssh` and ssh-keygen -l print it. */
static void
host_fingerprint(upg_ssh *c, char *out, size_t len)
{
  static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  const unsigned char *h = (const unsigned char *)libssh2_hostkey_hash(c->session, LIBSSH2_HOSTKEY_HASH_SHA256);
  size_t o = (size_t)snprintf(out, len, "SHA256:");
  if (!h) {
    snprintf(out, len, "(no fingerprint)");
    return;
  }
  for (int i = 0; i < 32 && o + 5 < len; i += 3) {
    uint32_t v = (uint32_t)h[i] << 16 | (i + 1 < 32 ? (uint32_t)h[i + 1] << 8 : 0) | (i + 2 < 32 ? h[i + 2] : 0);
    int chars = i + 2 < 32 ? 4 : i + 1 < 32 ? 3 : 2; /* unpadded, as OpenSSH */
    for (int j = 0; j < chars; j++)
      out[o++] = b64[(v >> (18 - 6 * j)) & 63];
  }
  out[o] = '\0';
}

/* libssh2's host key type as known_hosts type bit and as a name. */
static int
hostkey_kind(int type, const char **name)
{
  switch (type) {
  case LIBSSH2_HOSTKEY_TYPE_RSA: *name = "ssh-rsa"; return LIBSSH2_KNOWNHOST_KEY_SSHRSA;
  case LIBSSH2_HOSTKEY_TYPE_DSS: *name = "ssh-dss"; return LIBSSH2_KNOWNHOST_KEY_SSHDSS;
  case LIBSSH2_HOSTKEY_TYPE_ECDSA_256: *name = "ecdsa-sha2-nistp256"; return LIBSSH2_KNOWNHOST_KEY_ECDSA_256;
  case LIBSSH2_HOSTKEY_TYPE_ECDSA_384: *name = "ecdsa-sha2-nistp384"; return LIBSSH2_KNOWNHOST_KEY_ECDSA_384;
  case LIBSSH2_HOSTKEY_TYPE_ECDSA_521: *name = "ecdsa-sha2-nistp521"; return LIBSSH2_KNOWNHOST_KEY_ECDSA_521;
  case LIBSSH2_HOSTKEY_TYPE_ED25519: *name = "ssh-ed25519"; return LIBSSH2_KNOWNHOST_KEY_ED25519;
  }
  *name = "unknown";
  return 0;
}

/* Create ~/.ssh (0700) when the default file is about to be created. */
static void
ensure_ssh_dir(upg_ssh *c, const char *path)
{
  if (c->s->known_hosts)
    return; /* an explicit path: its directory is the user's business */
  char *dir = strdup(path);
  char *slash = dir ? strrchr(dir, '/') : NULL;
  if (slash) {
    *slash = '\0';
    mkdir(dir, 0700); /* EEXIST is fine; other errors show at open() */
  }
  free(dir);
}

/* Append LINE to the known_hosts file, after a newline if the file does
 * not end with one.  Appending (never rewriting) keeps every line libssh2
 * could not parse. */
static int
append_known_host(upg_ssh *c, const char *path, const char *line)
{
  ensure_ssh_dir(c, path);
  int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0)
    return -1;
  struct stat st;
  char last = '\n';
  if (fstat(fd, &st) == 0 && st.st_size > 0) {
    int rfd = open(path, O_RDONLY | O_CLOEXEC);
    if (rfd >= 0) {
      if (pread(rfd, &last, 1, st.st_size - 1) != 1)
        last = '\n';
      close(rfd);
    }
  }
  int r = (last != '\n' ? upg_write_all(fd, "\n", 1) : 0) | upg_write_all(fd, line, strlen(line));
  int err = errno;
  if (close(fd) != 0 && r == 0) {
    r = -1;
    err = errno;
  }
  errno = err;
  return r;
}

/* NOTFOUND and --accept-new-host-key: add the key, record it, tell. */
static int
accept_new_key(upg_ssh *c, known_hosts *k, const char *key, size_t len, int kbit,
               const char *tname, const char *fp)
{
  struct libssh2_knownhost *entry = NULL;
  char line[8192];
  size_t outlen = 0;
  if (libssh2_knownhost_addc(k->kh, k->name, NULL, key, len, NULL, 0,
                             LIBSSH2_KNOWNHOST_TYPE_PLAIN | LIBSSH2_KNOWNHOST_KEYENC_RAW | kbit, &entry) != 0
      || libssh2_knownhost_writeline(k->kh, entry, line, sizeof line - 1, &outlen,
                                     LIBSSH2_KNOWNHOST_FILE_OPENSSH) != 0)
    return upg_ssh_fail(c, "recording the host key");
  line[outlen] = '\0';
  if (outlen == 0 || line[outlen - 1] != '\n')
    strcat(line, "\n");
  if (append_known_host(c, k->path, line) != 0)
    return upg_ssh_failf(c, UPG_EXIT_USAGE, "CLIENT:FILE", "cannot record the host key of %s in %s: %s",
                         k->name, k->path, strerror(errno));
  upg_notice(c->s, "added the %s host key of %s (%s) to %s", tname, k->name, fp, k->path);
  return 0;
}

/* The server's host key against known_hosts: OpenSSH's rules, nothing
 * looser.  Port 22 entries are "host", others "[host]:port" -- a key
 * filed for another port of the same host does not vouch for this one. */
static int
check_host_key(upg_ssh *c, known_hosts *k)
{
  size_t len = 0;
  int type = 0;
  const char *key = libssh2_session_hostkey(c->session, &len, &type);
  if (!key)
    return upg_ssh_fail(c, "reading the server's host key");
  const char *tname;
  int kbit = hostkey_kind(type, &tname);
  char fp[64];
  host_fingerprint(c, fp, sizeof fp);
  int mask = LIBSSH2_KNOWNHOST_TYPE_PLAIN | LIBSSH2_KNOWNHOST_KEYENC_RAW | kbit;

  if (libssh2_knownhost_check(k->revoked, k->name, key, len, mask, NULL) == LIBSSH2_KNOWNHOST_CHECK_MATCH)
    return upg_ssh_failf(c, UPG_EXIT_SECURITY, "CLIENT:HOST_KEY",
                         "host key for %s (%s %s) is marked @revoked in %s: refusing to connect",
                         k->name, tname, fp, k->path);
  switch (libssh2_knownhost_check(k->kh, k->name, key, len, mask, NULL)) {
  case LIBSSH2_KNOWNHOST_CHECK_MATCH:
    return 0;
  case LIBSSH2_KNOWNHOST_CHECK_MISMATCH:
    return upg_ssh_failf(c, UPG_EXIT_SECURITY, "CLIENT:HOST_KEY",
                         "host key for %s has CHANGED (the server now shows %s %s, %s has another): "
                         "someone may be intercepting the connection; if the change is expected, remove "
                         "the old key with: ssh-keygen -R '%s' -f %s",
                         k->name, tname, fp, k->path, k->name, k->path);
  case LIBSSH2_KNOWNHOST_CHECK_NOTFOUND:
    break;
  default:
    return upg_ssh_fail(c, "checking the host key");
  }
  if (k->known_types)
    return upg_ssh_failf(c, UPG_EXIT_SECURITY, "CLIENT:HOST_KEY",
                         "host key for %s is of type %s (%s) but %s knows this host only by keys of other "
                         "types: refusing; check the fingerprint with the platform, then remove the old "
                         "entries with: ssh-keygen -R '%s' -f %s",
                         k->name, tname, fp, k->path, k->name, k->path);
  if (!c->s->accept_new_host_key)
    return upg_ssh_failf(c, UPG_EXIT_SECURITY, "CLIENT:HOST_KEY",
                         "host key for %s is not known (%s %s, not in %s): check the fingerprint, then "
                         "run again with --accept-new-host-key to record it",
                         k->name, tname, fp, k->path);
  return accept_new_key(c, k, key, len, kbit, tname, fp);
}

/* ------------------------------------------------------------- identity */

/* Read a small file whole, NUL-terminated; NULL when absent/unreadable. */
static char *
read_small(const char *path, size_t max, size_t *lenp)
{
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return NULL;
  size_t n = 0;
  char *buf = upg_read_small(fd, max, &n);
  close(fd);
  if (lenp)
    *lenp = n;
  return buf;
}

/* Does TEXT begin like a public key line ("ssh-ed25519 AAAA...")? */
static bool
looks_public(const char *text)
{
  return strncmp(text, "ssh-", 4) == 0 || strncmp(text, "ecdsa-", 6) == 0 || strncmp(text, "sk-", 3) == 0;
}

/* An explicit --identity must be a readable private key file. */
static int
identity_explicit(const upg_settings *s, char **priv, jv *doc)
{
  char head[64] = "";
  int fd = open(s->identity, O_RDONLY | O_CLOEXEC);
  struct stat st;
  if (fd < 0)
    return upg_fail(doc, UPG_EXIT_USAGE, upg_failure("CLIENT:FILE", "cannot read identity %s: %s",
                                                     s->identity, strerror(errno)));
  bool regular = fstat(fd, &st) == 0 && S_ISREG(st.st_mode);
  ssize_t n = regular ? read(fd, head, sizeof head - 1) : 0;
  close(fd);
  if (!regular)
    return upg_fail(doc, UPG_EXIT_USAGE,
                    upg_failure("CLIENT:FILE", "identity %s is not a regular file", s->identity));
  head[n > 0 ? n : 0] = '\0';
  if (looks_public(head))
    return upg_fail(doc, UPG_EXIT_USAGE,
                    upg_failure("CLIENT:FILE", "identity %s is a public key: --identity takes the "
                                "private key file (its .pub is read from beside it)", s->identity));
  *priv = strdup(s->identity);
  return 0;
}

int
upg_ssh_identity(const upg_settings *s, char **private_path, char **public_keys, jv *doc)
{
  static const char *const defaults[] = { ".ssh/id_ed25519", ".ssh/id_ecdsa", ".ssh/id_rsa" };
  *private_path = *public_keys = NULL;

  if (s->identity) {
    int st = identity_explicit(s, private_path, doc);
    if (st)
      return st;
  } else {
    for (size_t i = 0; i < sizeof defaults / sizeof *defaults && !*private_path; i++) {
      char *p = home_path(defaults[i]);
      if (p && access(p, F_OK) == 0)
        *private_path = p;
      else
        free(p);
    }
  }
  if (*private_path) {
    char *pub = NULL;
    if (asprintf(&pub, "%s.pub", *private_path) >= 0) {
      *public_keys = read_small(pub, PUBFILE_MAX, NULL);
      free(pub);
    }
  }
  return 0;
}

/* Read a big-endian length-prefixed string at *P (within END). */
static bool
blob_string(const unsigned char **p, const unsigned char *end, const unsigned char **s, uint32_t *len)
{
  if (end - *p < 4)
    return false;
  uint32_t l = (uint32_t)(*p)[0] << 24 | (uint32_t)(*p)[1] << 16 | (uint32_t)(*p)[2] << 8 | (*p)[3];
  if ((uint32_t)(end - *p - 4) < l)
    return false;
  *s = *p + 4;
  *len = l;
  *p += 4 + l;
  return true;
}

/* What we can tell about a private key file without its passphrase. */
typedef struct identity_info {
  bool rsa;        /* libssh2 1.10 cannot use it against OpenSSH >= 8.8 */
  bool encrypted;  /* needs a passphrase: only ssh-agent can use it */
} identity_info;

/* The public half and cipher of an "openssh-key-v1" private key (the
 * public half is never encrypted).  False when unreadable. */
static bool
openssh_private_info(const char *text, identity_info *info)
{
  const char *b = strstr(text, "-----BEGIN OPENSSH PRIVATE KEY-----");
  const char *e = b ? strstr(b, "-----END OPENSSH PRIVATE KEY-----") : NULL;
  if (!e)
    return false;
  b += 35;
  size_t cap = (size_t)(e - b), n = 0;
  char *joined = malloc(cap + 1);
  unsigned char *blob = malloc(cap + 1);
  for (const char *p = b; joined && p < e; p++)
    if (*p != '\n' && *p != '\r' && *p != ' ')
      joined[n++] = *p;
  ssize_t bl = joined && blob ? upg_base64_decode(joined, n, blob, cap) : -1;
  const unsigned char *p = blob, *end = blob + (bl > 0 ? bl : 0), *cipher = NULL, *pk = NULL, *t = NULL;
  uint32_t clen = 0, pklen = 0, tlen = 0, skip;
  bool ok = bl > 15 && memcmp(blob, "openssh-key-v1", 15) == 0;
  if (ok) {
    p += 15; /* cipher, kdf, kdf options, key count, first public key */
    ok = blob_string(&p, end, &cipher, &clen) && blob_string(&p, end, &t, &skip)
      && blob_string(&p, end, &t, &skip) && end - p >= 4 && (p += 4, blob_string(&p, end, &pk, &pklen))
      && blob_string(&pk, pk + pklen, &t, &tlen);
  }
  if (ok) {
    info->encrypted = !(clen == 4 && memcmp(cipher, "none", 4) == 0);
    info->rsa = tlen == 7 && memcmp(t, "ssh-rsa", 7) == 0;
  }
  if (joined)
    explicit_bzero(joined, n);
  if (blob)
    explicit_bzero(blob, cap);
  free(joined);
  free(blob);
  return ok;
}

/* RSA?  Passphrase-protected?  From the .pub and the file's headers. */
static identity_info
inspect_identity(const char *priv, const char *pub)
{
  identity_info info = { false, false };
  char *text = read_small(priv, 64 * 1024, NULL);
  if (text && !openssh_private_info(text, &info)) {
    info.rsa = strstr(text, "-----BEGIN RSA PRIVATE KEY-----") != NULL;
    info.encrypted = strstr(text, "ENCRYPTED") != NULL; /* PEM: Proc-Type 4,ENCRYPTED or PKCS#8 */
  }
  if (pub)
    info.rsa = strncmp(pub, "ssh-rsa ", 8) == 0;
  if (text) {
    explicit_bzero(text, strlen(text));
    free(text);
  }
  return info;
}

/* ----------------------------------------------------------------- auth */

typedef struct auth_log {
  char text[900];
  bool rsa;
} auth_log;

static void
auth_note(auth_log *log, const char *fmt, ...)
{
  size_t used = strlen(log->text);
  if (used + 3 >= sizeof log->text)
    return;
  if (used)
    strcat(log->text, "; ");
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(log->text + strlen(log->text), sizeof log->text - strlen(log->text), fmt, ap);
  va_end(ap);
}

/* Try the identity file.  0 authenticated, 1 refused (logged), or a
 * failure status when the connection broke. */
static int
auth_with_file(upg_ssh *c, const char *priv, auth_log *log)
{
  char *pub = NULL;
  if (asprintf(&pub, "%s.pub", priv) < 0)
    return upg_ssh_failf(c, UPG_EXIT_TRANSPORT, "CLIENT:SSH", "out of memory");
  const char *pubarg = access(pub, R_OK) == 0 ? pub : NULL;
  const char *user = c->ep->user;
  int rc;
  while ((rc = libssh2_userauth_publickey_fromfile_ex(c->session, user, (unsigned)strlen(user), pubarg,
                                                      priv, NULL)) == LIBSSH2_ERROR_EAGAIN) {
    int st = upg_ssh_wait(c);
    if (st) {
      free(pub);
      return st;
    }
  }
  free(pub);
  if (rc == 0)
    return 0;
  if (is_network_error(rc))
    return upg_ssh_fail(c, "authenticating");
  auth_note(log, "identity file %s%s: %s", priv, pubarg ? " (with its .pub)" : "", last_error(c, NULL));
  return 1;
}

/* Try every key the agent holds.  Same returns as auth_with_file. */
static int
agent_try_keys(upg_ssh *c, LIBSSH2_AGENT *agent, auth_log *log)
{
  struct libssh2_agent_publickey *id = NULL;
  int tried = 0, rc;
  while (libssh2_agent_get_identity(agent, &id, id) == 0) {
    tried++;
    if (id->blob_len > 11 && memcmp(id->blob, "\0\0\0\7ssh-rsa", 11) == 0)
      log->rsa = true;
    while ((rc = libssh2_agent_userauth(agent, c->ep->user, id)) == LIBSSH2_ERROR_EAGAIN) {
      int st = upg_ssh_wait(c);
      if (st)
        return st;
    }
    if (rc == 0)
      return 0;
    if (is_network_error(rc))
      return upg_ssh_fail(c, "authenticating with ssh-agent");
  }
  auth_note(log, "ssh-agent: %d key%s refused", tried, tried == 1 ? "" : "s");
  return 1;
}

/* Connect to ssh-agent (SSH_AUTH_SOCK) and try its keys. */
static int
auth_with_agent(upg_ssh *c, auth_log *log)
{
  const char *sock = getenv("SSH_AUTH_SOCK");
  if (!sock || !*sock) {
    auth_note(log, "ssh-agent: not used (SSH_AUTH_SOCK is not set)");
    return 1;
  }
  LIBSSH2_AGENT *agent = libssh2_agent_init(c->session);
  int st = 1, rc = -1;
  if (agent) {
    libssh2_agent_set_identity_path(agent, sock);
    rc = libssh2_agent_connect(agent);
  }
  if (rc == 0) {
    int wst = 0;
    while ((rc = libssh2_agent_list_identities(agent)) == LIBSSH2_ERROR_EAGAIN && !(wst = upg_ssh_wait(c)))
      ;
    if (wst)
      st = wst;
    else if (rc == 0)
      st = agent_try_keys(c, agent, log);
    else
      auth_note(log, "ssh-agent: cannot list its keys (%s)", last_error(c, NULL));
    libssh2_agent_disconnect(agent);
  } else {
    auth_note(log, "ssh-agent: cannot connect to %s", sock);
  }
  if (agent)
    libssh2_agent_free(agent);
  return st;
}

/* Does the server take public keys at all?  1 yes, 0 already in (the
 * "none" method succeeded), or a failure status. */
static int
auth_methods(upg_ssh *c)
{
  const char *user = c->ep->user;
  char *list;
  while (!(list = libssh2_userauth_list(c->session, user, (unsigned)strlen(user)))
         && libssh2_session_last_errno(c->session) == LIBSSH2_ERROR_EAGAIN) {
    int st = upg_ssh_wait(c);
    if (st)
      return st;
  }
  if (!list)
    return libssh2_userauth_authenticated(c->session) ? 0 : upg_ssh_fail(c, "asking for authentication methods");
  if (!strstr(list, "publickey"))
    return upg_ssh_failf(c, UPG_EXIT_TRANSPORT, "CLIENT:SSH_AUTH",
                         "%s port %d does not accept public keys for %s (it offers: %s)",
                         c->ep->host, c->ep->port, user, list);
  return 1;
}

static const char rsa_hint[] =
  "libssh2 1.10 signs with RSA only as ssh-rsa (SHA-1), which OpenSSH 8.8 and later refuse: "
  "use an ed25519 key (ssh-keygen -t ed25519)";

/* Identity file first, then the agent; a clear account of what failed. */
static int
authenticate(upg_ssh *c)
{
  char *priv = NULL, *pub = NULL;
  auth_log log = { "", false };
  int st = upg_ssh_identity(c->s, &priv, &pub, c->doc);
  if (st) {
    c->status = st;
    return st;
  }
  st = auth_methods(c);
  if (st == 1 && priv) {
    identity_info info = inspect_identity(priv, pub);
    log.rsa = info.rsa;
    if (info.rsa)
      upg_notice(c->s, "warning: %s is an RSA key; %s", priv, rsa_hint);
    if (info.encrypted)
      auth_note(&log, "identity file %s: protected by a passphrase, which only ssh-agent can use here "
                "(ssh-add %s)", priv, priv);
    else
      st = auth_with_file(c, priv, &log);
  } else if (st == 1) {
    auth_note(&log, "no identity file (none of ~/.ssh/id_ed25519, id_ecdsa, id_rsa exists)");
  }
  if (st == 1)
    st = auth_with_agent(c, &log);
  if (st == 1)
    st = upg_ssh_failf(c, UPG_EXIT_TRANSPORT, "CLIENT:SSH_AUTH",
                       "%s port %d refused every key for user %s; tried: %s%s%s", c->ep->host, c->ep->port,
                       c->ep->user, log.text, log.rsa ? ". " : "", log.rsa ? rsa_hint : "");
  free(priv);
  free(pub);
  return st;
}

/* ------------------------------------------------------------- session */

/* Handshake, host key, authentication and the SFTP subsystem. */
static int
ssh_setup(upg_ssh *c)
{
  known_hosts k;
  int rc, st = known_hosts_open(c, &k);
  if (!st) {
    set_hostkey_preference(c, k.known_types);
    set_cipher_preference(c);
    while ((rc = libssh2_session_handshake(c->session, c->sock)) == LIBSSH2_ERROR_EAGAIN
           && !(st = upg_ssh_wait(c)))
      ;
    if (!st && rc)
      st = upg_ssh_fail(c, "the SSH handshake");
  }
  if (!st)
    st = check_host_key(c, &k);
  known_hosts_close(&k);
  if (!st)
    st = authenticate(c);
  if (st)
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
  c->deadline = c->started + connect_timeout_ms(s) / 1000.0;
  c->max_deadline = s->max_time_ms > 0 ? c->started + s->max_time_ms / 1000.0 : 0;
  c->idle_limit = connect_timeout_ms(s) / 1000.0;
  c->phase = "connecting";
  if (!ep->host || !*ep->host || !ep->user || !*ep->user || ep->port <= 0 || ep->port > 65535)
    return upg_ssh_failf(c, UPG_EXIT_USAGE, "CLIENT:SSH", "incomplete SFTP endpoint (host, port, user)");
  snprintf(c->phase_buf, sizeof c->phase_buf, "connecting to %s port %d", ep->host, ep->port);
  c->phase = c->phase_buf;
  if (upg_ssh_global_init() != 0)
    return upg_ssh_failf(c, UPG_EXIT_TRANSPORT, "CLIENT:SSH", "libssh2_init failed");
  int st = tcp_connect(c);
  if (!st) {
    c->session = libssh2_session_init_ex(NULL, NULL, NULL, c);
    if (!c->session)
      st = upg_ssh_failf(c, UPG_EXIT_TRANSPORT, "CLIENT:SSH", "cannot create an SSH session");
  }
  if (!st) {
    libssh2_session_set_blocking(c->session, 0);
    st = ssh_setup(c);
  }
  if (st)
    upg_ssh_close(c, false);
  return st;
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
