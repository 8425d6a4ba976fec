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
#include "upgrade/files.h"
#include "upgrade/outcome.h"
#include "upgrade/response.h"
#include "upgrade/sftp.h"
#include "upgrade/sftp_job.h"
#include "upgrade/ssh.h"
#include "upgrade/ssh_auth.h"
#include "upgrade/sshkeys.h"

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
  if (!status)
    status = check_keys(path, text, len, doc);
  if (!status)
    status = upg_api_sftp_access(s, text, len, doc);
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
  ep->port = port ? atoi(port) : 0;
  free(port);
  if (!*host || !*user || !*shared || ep->port <= 0 || ep->port > 65535 || strchr(*shared, '/'))
    return upg_fail(doc, UPG_EXIT_TRANSPORT,
                    upg_failure("CLIENT:BAD_RESPONSE", "request_sftp_access: the answer lacks a usable "
                                "hostname, sftp_port, sftp_user or shared_file"));
  return 0;
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
  with_identity.identity = identity;
  with_identity.host.data = s->host.data;
  if (dir == PUT) {
    status = upg_sftp_put(&with_identity, &ep, local, shared, doc);
  } else if (asprintf(&remote, "upgraded_%s", shared) >= 0) {
    out = local ? strdup(local) : strdup(remote);
    status = upg_sftp_get(&with_identity, &ep, remote, out, force, doc);
  }
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
  return sftp_job(s, PUT, local, false, doc);
}

int
upg_sftp_download(const upg_settings *s, const char *out, bool force, jv *doc)
{
  return sftp_job(s, GET, out, force, doc);
}
