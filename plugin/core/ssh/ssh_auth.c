/* SPDX-License-Identifier: GPL-3.0-or-later */
/* ssh_auth.c -- who we are to the SSH server (see ssh_auth.h): the
 * identity file, what can be told about it without its passphrase, and
 * authentication with it or with ssh-agent.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "upgrade/fileio.h"
#include "upgrade/files.h"
#include "upgrade/outcome.h"
#include "upgrade/ssh_auth.h"
#include "upgrade/sshkeys.h"

#define PUBFILE_MAX (1024 * 1024)

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
      char *p = upg_home_path(defaults[i]);
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
  if (upg_ssh_network_error(rc))
    return upg_ssh_fail(c, "authenticating");
  auth_note(log, "identity file %s%s: %s", priv, pubarg ? " (with its .pub)" : "", upg_ssh_last_error(c, NULL));
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
    if (upg_ssh_network_error(rc))
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
      auth_note(log, "ssh-agent: cannot list its keys (%s)", upg_ssh_last_error(c, NULL));
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
int
upg_ssh_authenticate(upg_ssh *c)
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

