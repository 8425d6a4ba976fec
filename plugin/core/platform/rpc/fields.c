/* SPDX-License-Identifier: GPL-3.0-or-later */
/* fields.c -- the shape of the rpc platform's values (see rpc_fields.h). */
#include "config.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "upgrade/rpc_fields.h"

static bool
is_alnum(char c)
{
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

/* One label of a host name: LEN characters at P. */
static const char *
bad_label(const char *p, size_t len)
{
  if (len == 0)
    return "has an empty label";
  if (len > 63)
    return "has a label longer than 63 characters";
  if (p[0] == '-' || p[len - 1] == '-')
    return "has a label that starts or ends with '-'";
  for (size_t i = 0; i < len; i++)
    if (!is_alnum(p[i]) && p[i] != '-')
      return "is not a bare host name (only letters, digits, '-' and '.')";
  return NULL;
}

const char *
upg_rpc_bad_host(const char *host)
{
  if (!host || !*host)
    return "is empty";
  if (strlen(host) > UPG_RPC_HOST_MAX)
    return "is longer than a host name can be";
  for (const char *p = host;;) {
    size_t len = strcspn(p, ".");
    const char *why = bad_label(p, len);
    if (why)
      return why;
    if (!p[len])
      return NULL;
    p += len + 1;
  }
}

const char *
upg_rpc_bad_token(const char *token)
{
  if (!token || !*token)
    return "is empty";
  size_t len = strlen(token);
  if (len > UPG_RPC_TOKEN_MAX)
    return "is too long";
  for (size_t i = 0; i < len; i++)
    if (!is_alnum(token[i]) && token[i] != '-' && token[i] != '_')
      return "holds a character that is not URL-safe";
  return NULL;
}

const char *
upg_rpc_port(jv value, int *port)
{
  long n = -1;
  if (jv_get_kind(value) == JV_KIND_NUMBER) {
    double d = jv_number_value(value);
    if (d >= 1 && d <= 65535 && d == (long)d)
      n = (long)d;
  } else if (jv_get_kind(value) == JV_KIND_STRING) {
    const char *s = jv_string_value(value);
    size_t len = strlen(s);
    if (len >= 1 && len <= 5 && strspn(s, "0123456789") == len)
      n = strtol(s, NULL, 10);
  } else {
    return "is not a number";
  }
  if (n < 1 || n > 65535)
    return "is not a port number (1..65535)";
  *port = (int)n;
  return NULL;
}

const char *
upg_rpc_bad_dump_name(const char *name)
{
  if (!name || !*name)
    return "is empty";
  size_t len = strlen(name);
  if (len > UPG_RPC_NAME_MAX)
    return "is longer than a file name can be";
  if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
    return "is not a file name";
  if (name[0] == '-')
    return "starts with '-'";
  for (size_t i = 0; i < len; i++)
    if (!is_alnum(name[i]) && !strchr("._+,=@-", name[i]))
      return name[i] == '/' ? "is a path, not a plain file name"
                            : "holds a character outside letters, digits and ._+,=@-";
  return NULL;
}

static const char *const states[] = { "new", "pending", "progress", "done", "failed", "cancelled", NULL };

const char *
upg_rpc_bad_state(const char *state)
{
  for (int i = 0; state && states[i]; i++)
    if (strcmp(state, states[i]) == 0)
      return NULL;
  return "is not a state the platform is known to report";
}

int
upg_rpc_state_final(const char *state)
{
  return state && (!strcmp(state, "done") || !strcmp(state, "failed") || !strcmp(state, "cancelled"));
}

/* The host-key types of OpenSSH 9 (ssh -Q HostKeyAlgorithms, as they are
 * spelt in a known_hosts file). */
static const char *const key_types[] = {
  "ssh-ed25519", "ssh-rsa", "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp384", "ecdsa-sha2-nistp521",
  "sk-ssh-ed25519@openssh.com", "sk-ecdsa-sha2-nistp256@openssh.com", NULL
};

static bool
known_key_type(const char *p, size_t len)
{
  for (int i = 0; key_types[i]; i++)
    if (strlen(key_types[i]) == len && memcmp(p, key_types[i], len) == 0)
      return true;
  return false;
}

static bool
is_base64(const char *p, size_t len)
{
  size_t pad = 0;
  while (pad < len && pad < 2 && p[len - 1 - pad] == '=')
    pad++;
  if (len == 0 || len % 4)
    return false;
  for (size_t i = 0; i < len - pad; i++)
    if (!is_alnum(p[i]) && p[i] != '+' && p[i] != '/')
      return false;
  return true;
}

/* The host field a line must carry: OpenSSH looks a host on another port
 * than 22 up as [host]:port. */
static bool
host_field_fits(const char *p, size_t len, const char *host, int port)
{
  char want[UPG_RPC_HOST_MAX + 16];
  if (port == 22)
    snprintf(want, sizeof want, "%s", host);
  else
    snprintf(want, sizeof want, "[%s]:%d", host, port);
  return strlen(want) == len && memcmp(p, want, len) == 0;
}

/* One line of LEN bytes: exactly three fields separated by single spaces
 * or tabs. */
static const char *
bad_known_host_line(const char *line, size_t len, const char *host, int port)
{
  const char *field[3];
  size_t flen[3];
  const char *p = line, *end = line + len;
  for (int i = 0; i < 3; i++) {
    while (p < end && (*p == ' ' || *p == '\t'))
      p++;
    field[i] = p;
    while (p < end && *p != ' ' && *p != '\t')
      p++;
    flen[i] = (size_t)(p - field[i]);
    if (!flen[i])
      return "holds a line that is not `host keytype base64`";
  }
  while (p < end && (*p == ' ' || *p == '\t'))
    p++;
  if (p != end)
    return "holds a line with more than `host keytype base64` (a comment or options)";
  if (field[0][0] == '@')
    return "holds a marker (@cert-authority or @revoked)";
  if (!host_field_fits(field[0], flen[0], host, port))
    return "holds a key for another host or port, or a pattern";
  if (!known_key_type(field[1], flen[1]))
    return "holds a key of an unknown type";
  if (!is_base64(field[2], flen[2]))
    return "holds a key that is not base64";
  return NULL;
}

const char *
upg_rpc_known_hosts(const char *text, const char *host, int port, char **out)
{
  size_t total = text ? strlen(text) : 0;
  char *kept = malloc(total + 2); /* a last line without its newline gains one */
  size_t n = 0;
  if (!kept)
    return "cannot be checked: out of memory";
  for (const char *p = text ? text : ""; *p;) {
    size_t len = strcspn(p, "\n");
    size_t body = len > 0 && p[len - 1] == '\r' ? len - 1 : len;
    size_t lead = strspn(p, " \t");
    bool skip = lead >= body || p[lead] == '#';
    const char *why = skip ? NULL : bad_known_host_line(p, body, host, port);
    if (why) {
      free(kept);
      return why;
    }
    if (!skip) {
      memcpy(kept + n, p + lead, body - lead);
      n += body - lead;
      kept[n++] = '\n';
    }
    p += len + (p[len] == '\n');
  }
  if (!n) {
    free(kept);
    return "holds no host key";
  }
  kept[n] = '\0';
  *out = kept;
  return NULL;
}
