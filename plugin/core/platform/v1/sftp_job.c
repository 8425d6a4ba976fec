/* SPDX-License-Identifier: GPL-3.0-or-later */
/* sftp_job.c -- the SFTP workflows: ask the platform for access, then move
 * the file with sftp.c.  Kept apart from sftp.c, which knows nothing of
 * the platform. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "upgrade/api.h"
#include "upgrade/fileio.h"
#include "upgrade/files.h"
#include "upgrade/outcome.h"
#include "upgrade/response.h"
#include "upgrade/sftp.h"
#include "upgrade/sftp_job.h"
#include "upgrade/ssh.h"
#include "upgrade/ssh_auth.h"
#include "upgrade/sshkeys.h"
#include "upgrade/upload.h"

#define KEYS_MAX (1024 * 1024)

/* Read a small text file whole: keys files are at most 1 MiB. */
static int
read_keys_file(const char *path, char **text, size_t *len, jv *doc)
{
  int fd;
  off_t size;
  int status = upg_input_open(path, &fd, &size, doc);
  if (status)
    return status;
  if (size > KEYS_MAX) {
    close(fd);
    return upg_fail(doc, UPG_EXIT_USAGE, upg_failure("CLIENT:FILE", "%s: larger than 1 MiB, not a keys file", path));
  }
  *text = upg_read_small(fd, (size_t)size, len);
  close(fd);
  if (!*text || *len != (size_t)size) {
    free(*text);
    *text = NULL;
    return upg_fail(doc, UPG_EXIT_USAGE, upg_failure("CLIENT:FILE", "cannot read %s", path));
  }
  return 0;
}

/* Check keys TEXT; refuse, naming the line, anything but public keys. */
static int
check_keys(const char *origin, const char *text, size_t len, jv *doc)
{
  char err[256];
  int n = upg_sshkeys_check(text, len, err, sizeof err);
  if (n > 0)
    return 0;
  return upg_fail(doc, UPG_EXIT_USAGE,
                  upg_failure("CLIENT:SSH_KEYS", "%s: %s", origin, n == 0 ? "no public key in it" : err));
}

static int
access_with_keys_file(const upg_settings *s, const char *path, jv *doc)
{
  char *text = NULL;
  size_t len = 0;
  int status = read_keys_file(path, &text, &len, doc);
  if (status || (status = check_keys(path, text, len, doc)))
    goto out;
  status = upg_api_sftp_access(s, text, len, doc);
out:
  free(text);
  return status;
}

int
upg_sftp_access_file(const upg_settings *s, const char *keys_path, jv *doc)
{
  int status = upg_require_request(s, doc);
  return status ? status : access_with_keys_file(s, keys_path, doc);
}

/* request_sftp_access for --ssh-keys, else for the identity's .pub; the
 * identity chosen is returned in *identity (malloc'd, may be NULL). */
static int
request_access(const upg_settings *s, char **identity, jv *doc)
{
  char *public_keys = NULL;
  int status = upg_require_request(s, doc);
  if (status)
    return status;
  status = upg_ssh_identity(s, identity, &public_keys, doc);
  if (status)
    return status;
  if (s->ssh_keys)
    status = access_with_keys_file(s, s->ssh_keys, doc);
  else if (!public_keys)
    status = upg_fail(doc, UPG_EXIT_USAGE,
                      upg_failure("CLIENT:SSH_KEYS", "no public key to send: %s%s has no .pub beside it; "
                                  "give --ssh-keys FILE", *identity ? *identity : "no identity found",
                                  *identity ? "" : " (~/.ssh/id_ed25519, id_ecdsa, id_rsa)"));
  else
    status = check_keys("public key", public_keys, strlen(public_keys), doc)
          ?: upg_api_sftp_access(s, public_keys, strlen(public_keys), doc);
  free(public_keys);
  return status;
}

/* Server text that becomes a connection target or a file name is checked,
 * not trusted. */

/* "sftp_port": an integral JSON number or a string of digits, 1..65535 --
 * not "2200abc", 2200.5 nor 2^32+2200.  upg_request_field prints an
 * integral number as plain digits and any other with a point or an
 * exponent, so one check of the text covers both kinds. */
static int
port_number(const char *text)
{
  size_t len = text ? strlen(text) : 0;
  if (len == 0 || len > 5 || strspn(text, "0123456789") != len)
    return 0;
  long n = strtol(text, NULL, 10);
  return n <= 65535 ? (int)n : 0;
}

/* "hostname": a DNS name or an address literal; nothing that a known_hosts
 * line (written by --accept-new-host-key) would read as more than a name:
 * no spaces, newlines, commas or patterns. */
static bool
host_name_ok(const char *text)
{
  size_t len = strlen(text);
  return len > 0 && len <= 253 && text[0] != '-' && text[0] != '.'
      && strspn(text, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-_:") == len;
}

/* No control characters (they would reach the terminal in messages); with
 * NO_SPACE, no spaces either. */
static bool
printable(const char *text, bool no_space)
{
  size_t len = strlen(text);
  for (const unsigned char *c = (const unsigned char *)text; *c; c++)
    if (*c < 0x20 || *c == 0x7f || (no_space && *c == ' '))
      return false;
  return len > 0 && len <= 255;
}

/* "shared_file": one file name in the SFTP root, used as the remote path
 * and, for sftp-get, in the local default name: no directory, not . nor .. */
static bool
file_name_ok(const char *text)
{
  return printable(text, false) && upg_one_component(text);
}

/* FIELD's VALUE is refused: the message shows it JSON-quoted (control
 * characters escaped, not sent to the terminal) and cut short. */
static int
bad_field(jv *doc, const char *field, const char *value, const char *rule)
{
  if (!value)
    return upg_fail(doc, UPG_EXIT_TRANSPORT,
                    upg_failure("CLIENT:BAD_RESPONSE", "request_sftp_access: the answer has no %s: refusing to connect",
                                field));
  size_t len = strlen(value);
  jv quoted = jv_dump_string(jv_string_sized(value, len > 60 ? 60 : (int)len), 0);
  int status = upg_fail(doc, UPG_EXIT_TRANSPORT,
                        upg_failure("CLIENT:BAD_RESPONSE", "request_sftp_access: %s %s%s is not %s: refusing to "
                                    "connect", field, jv_string_value(quoted), len > 60 ? "..." : "", rule));
  jv_free(quoted);
  return status;
}

/* Host, port, user and shared file from request_sftp_access's answer. */
static int
endpoint_of(jv access, upg_sftp_endpoint *ep, char **host, char **user, char **shared, jv *doc)
{
  char *port = upg_request_field(access, "sftp_port");
  *host = upg_request_field(access, "hostname");
  *user = upg_request_field(access, "sftp_user");
  *shared = upg_request_field(access, "shared_file");
  ep->host = *host;
  ep->user = *user;
  ep->port = port_number(port);
  int status = 0;
  if (!*host || !host_name_ok(*host))
    status = bad_field(doc, "hostname", *host, "a host name or address");
  else if (!ep->port)
    status = bad_field(doc, "sftp_port", port, "a port number (an integer 1..65535)");
  else if (!*user || !printable(*user, true))
    status = bad_field(doc, "sftp_user", *user, "a user name (printable, no spaces)");
  else if (!*shared || !file_name_ok(*shared))
    status = bad_field(doc, "shared_file", *shared, "a plain file name (no /, not . or ..)");
  free(port);
  return status;
}

enum direction { PUT, GET };

static int
sftp_job(const upg_settings *s, enum direction dir, const char *local, bool force, jv *doc)
{
  upg_settings with_identity = *s;
  char *identity = NULL, *host = NULL, *user = NULL, *shared = NULL, *remote = NULL, *out = NULL;
  upg_sftp_endpoint ep;
  jv access;

  int status = request_access(s, &identity, &access);
  if (status) {
    *doc = access;
    goto done;
  }
  status = endpoint_of(access, &ep, &host, &user, &shared, doc);
  jv_free(access);
  if (status)
    goto done;
  /* The same settings (and host callbacks) with the identity chosen. */
  with_identity.identity = identity;
  if (dir == PUT) {
    status = upg_sftp_put(&with_identity, &ep, local, shared, doc);
    goto done;
  }
  if (asprintf(&remote, "upgraded_%s", shared) < 0)
    remote = NULL; /* its contents are undefined after a failure */
  if (!remote || !(out = strdup(local ? local : remote))) {
    status = upg_fail(doc, UPG_EXIT_USAGE, upg_failure("CLIENT:FILE", "sftp-get: out of memory"));
    goto done;
  }
  status = upg_sftp_get(&with_identity, &ep, remote, out, force, doc);
done:
  free(identity);
  free(host);
  free(user);
  free(shared);
  free(remote);
  free(out);
  return status;
}

int
upg_sftp_upload(const upg_settings *s, const char *local, jv *doc)
{
  int status = upg_upload_check_input(local, doc);
  return status ? status : sftp_job(s, PUT, local, false, doc);
}

int
upg_sftp_download(const upg_settings *s, const char *out, bool force, jv *doc)
{
  return sftp_job(s, GET, out, force, doc);
}
