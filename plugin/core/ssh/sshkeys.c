/* SPDX-License-Identifier: GPL-3.0-or-later */
/* sshkeys.c -- check an `ssh_keys` file before it is sent (see sshkeys.h).
 *
 * The platform installs the file as an authorized_keys file, so a mistake
 * here either locks the user out (a typo) or, far worse, publishes a
 * private key.  Each line must be blank, a `#` comment, or
 * `TYPE BASE64 [comment]` where BASE64 decodes to a key blob whose own
 * type string is TYPE -- the same test OpenSSH applies.  Messages name the
 * line and what is wrong with it, never the key material.
 */
#include "config.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "upgrade/sshkeys.h"


/* The key types OpenSSH accepts in authorized_keys (certificates aside). */
static const char *const key_types[] = {
  "ssh-ed25519",
  "ssh-rsa",
  "ssh-dss",
  "ecdsa-sha2-nistp256",
  "ecdsa-sha2-nistp384",
  "ecdsa-sha2-nistp521",
  "sk-ssh-ed25519@openssh.com",
  "sk-ecdsa-sha2-nistp256@openssh.com",
};

/* Value of one base64 digit, or -1: a table-free decoder keeps it obvious. */
static int
b64_value(unsigned char c)
{
  if (c >= 'A' && c <= 'Z')
    return c - 'A';
  if (c >= 'a' && c <= 'z')
    return c - 'a' + 26;
  if (c >= '0' && c <= '9')
    return c - '0' + 52;
  if (c == '+')
    return 62;
  if (c == '/')
    return 63;
  return -1;
}

/* Strict base64 (RFC 4648, padded, no whitespace), as ssh-keygen writes it.
 * Returns the decoded length, or -1 when IN is not base64 or OUT (CAP
 * bytes) is too small.  Shared with ssh.c, which reads key blobs too. */
ssize_t
upg_base64_decode(const char *in, size_t len, unsigned char *out, size_t cap)
{
  size_t n = 0;

  if (len == 0 || len % 4 != 0)
    return -1;
  for (size_t i = 0; i < len; i += 4) {
    int v[4], pad = 0;
    for (int j = 0; j < 4; j++) {
      unsigned char c = (unsigned char)in[i + j];
      if (c == '=' && i + 4 == len && j >= 2) {
        v[j] = 0;
        pad++;
        continue;
      }
      if (pad || (v[j] = b64_value(c)) < 0)
        return -1; /* '=' before the end, or a foreign byte */
    }
    uint32_t q = (uint32_t)v[0] << 18 | (uint32_t)v[1] << 12 | (uint32_t)v[2] << 6 | (uint32_t)v[3];
    if (n + 3 - (size_t)pad > cap)
      return -1;
    out[n++] = (unsigned char)(q >> 16);
    if (pad < 2)
      out[n++] = (unsigned char)(q >> 8);
    if (pad < 1)
      out[n++] = (unsigned char)q;
  }
  return (ssize_t)n;
}

/* Is [S, S+LEN) one of the accepted key type names? */
static bool
known_type(const char *s, size_t len)
{
  for (size_t i = 0; i < sizeof key_types / sizeof *key_types; i++)
    if (strlen(key_types[i]) == len && memcmp(key_types[i], s, len) == 0)
      return true;
  return false;
}

/* Does the base64 field decode to a blob whose first string is the type?
 * A mismatch means a damaged or hand-edited line that sshd would ignore,
 * silently locking the user out. */
static bool
blob_matches_type(const char *b64, size_t b64len, const char *type, size_t typelen)
{
  unsigned char *blob = malloc(b64len / 4 * 3 + 3);
  bool ok = false;

  if (!blob)
    return false;
  ssize_t n = upg_base64_decode(b64, b64len, blob, b64len / 4 * 3 + 3);
  if (n >= 4) {
    uint32_t l = (uint32_t)blob[0] << 24 | (uint32_t)blob[1] << 16 | (uint32_t)blob[2] << 8 | blob[3];
    /* the type, and then the key itself: a bare type is damaged too */
    ok = l == typelen && (size_t)n - 4 > l && memcmp(blob + 4, type, typelen) == 0;
  }
  free(blob);
  return ok;
}

static bool
is_space(char c)
{
  return c == ' ' || c == '\t';
}

/* Length of the token starting at S (up to END): the run of non-blanks. */
static size_t
token_len(const char *s, const char *end)
{
  const char *p = s;
  while (p < end && !is_space(*p))
    p++;
  return (size_t)(p - s);
}

/* Does the line hold a private key marker?  If it is a well-formed PEM
 * header (no key material in it), copy it to HDR so the message can show
 * which kind of file was given. */
static bool
private_key_marker(const char *s, size_t len, char *hdr, size_t hdrlen)
{
  static const char begin[] = "-----BEGIN ", tail[] = " PRIVATE KEY-----";
  const size_t blen = sizeof begin - 1, tlen = sizeof tail - 1;

  hdr[0] = '\0';
  if (len >= 22 && memcmp(s, "PuTTY-User-Key-File-", 20) == 0)
    return true;
  if (len < blen + tlen - 1 || memcmp(s, begin, blen) != 0 || !memmem(s, len, "PRIVATE KEY", 11))
    return false;
  bool clean = len < hdrlen && memcmp(s + len - tlen, tail, tlen) == 0;
  for (size_t i = blen; clean && i < len - tlen; i++)
    clean = (s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= '0' && s[i] <= '9') || s[i] == ' ';
  if (clean) {
    memcpy(hdr, s, len);
    hdr[len] = '\0';
  }
  return true;
}

/* Classify one line (without its newline).  Returns 1 for a public key,
 * 0 for a blank or comment line, -1 with ERR filled otherwise. */
static int
check_line(const char *s, size_t len, unsigned lineno, char *err, size_t errlen)
{
  const char *end = s + len;
  char hdr[64];

  while (s < end && is_space(*s))
    s++;
  while (end > s && (is_space(end[-1]) || end[-1] == '\r'))
    end--;
  if (s == end || *s == '#')
    return 0;
  len = (size_t)(end - s);
  if (memchr(s, '\0', len)) {
    snprintf(err, errlen, "line %u is not a public key (binary data)", lineno);
    return -1;
  }
  if (private_key_marker(s, len, hdr, sizeof hdr)) {
    snprintf(err, errlen,
             "line %u is the start of a PRIVATE key%s%s%s: give the .pub file, never the private key",
             lineno, hdr[0] ? " (" : "", hdr, hdr[0] ? ")" : "");
    return -1;
  }
  if (len > 10 && memcmp(s, "---- BEGIN", 10) == 0) {
    snprintf(err, errlen,
             "line %u starts a key in RFC 4716 (SSH2) format: convert it with `ssh-keygen -i -f FILE`",
             lineno);
    return -1;
  }
  size_t tlen = token_len(s, end);
  const char *b64 = s + tlen;
  while (b64 < end && is_space(*b64))
    b64++;
  size_t blen = token_len(b64, end);
  if (!known_type(s, tlen) || blen == 0) {
    snprintf(err, errlen, "line %u is not a public key", lineno);
    return -1;
  }
  if (!blob_matches_type(b64, blen, s, tlen)) {
    snprintf(err, errlen, "line %u is not a public key (damaged: its data is not of type %.*s)",
             lineno, (int)tlen, s);
    return -1;
  }
  return 1;
}

int
upg_sshkeys_check(const char *text, size_t len, char *err, size_t errlen)
{
  const char *p = text, *end = text + len;
  unsigned lineno = 0;
  int keys = 0;

  while (p < end) {
    const char *nl = memchr(p, '\n', (size_t)(end - p));
    const char *eol = nl ? nl : end;
    int r = check_line(p, (size_t)(eol - p), ++lineno, err, errlen);
    if (r < 0)
      return -1;
    keys += r;
    p = nl ? nl + 1 : end;
  }
  if (keys == 0)
    snprintf(err, errlen, "no public key found");
  return keys;
}
