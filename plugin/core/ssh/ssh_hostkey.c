/* SPDX-License-Identifier: GPL-3.0-or-later */
/* ssh_hostkey.c -- host-key trust (see ssh_hostkey.h).
 *
 * Host keys are checked as OpenSSH's StrictHostKeyChecking=yes (or
 * accept-new when asked) would: an unknown key is refused unless the user
 * opted in, a changed one always is.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "upgrade/fileio.h"
#include "upgrade/files.h"
#include "upgrade/outcome.h"
#include "upgrade/ssh_hostkey.h"

/* ---------------------------------------------------------- known hosts */

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
void
upg_hostkey_preference(upg_ssh *c, int known)
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

int
upg_known_hosts_open(upg_ssh *c, known_hosts *k)
{
  memset(k, 0, sizeof *k);
  k->path = c->s->known_hosts ? strdup(c->s->known_hosts) : upg_home_path(".ssh/known_hosts");
  if (!k->path)
    return upg_ssh_failf(c, UPG_EXIT_USAGE, "CLIENT:FILE",
                         "no known hosts file: HOME is not set (use --known-hosts FILE)");
  k->kh = libssh2_knownhost_init(c->session);
  k->revoked = libssh2_knownhost_init(c->session);
  if (!k->kh || !k->revoked)
    return upg_ssh_fail(c, "reading known hosts");
  host_entry_name(c->ep, k->name, sizeof k->name);
  int st = known_hosts_read(c, k);
  if (st)
    return st;
  k->known_types = upg_known_types_for(k);
  return 0;
}

void
upg_known_hosts_close(known_hosts *k)
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
int
upg_hostkey_check(upg_ssh *c, known_hosts *k)
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

