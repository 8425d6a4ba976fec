/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Unit tests: the ssh_keys check (plugin/core/ssh/sshkeys.c).
 *
 * The keys below are real public keys made with ssh-keygen for this test
 * (their private halves were thrown away); the sk- one was assembled by
 * hand, as no security key was at hand.  Private-key inputs are only
 * headers around made-up text: no real private key lives in the tree.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tap.h"
#include "upgrade/sshkeys.h"

static const char K_ED[] =
  "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIL7egJhxq6qzCsC7uABwqwmk8YIe3DcRor"
  "+RHFSdJnpC alice@laptop";

static const char K_EC256[] =
  "ecdsa-sha2-nistp256 AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAA"
  "BBBNgTK5ZO7QbvGLS7eu3tQdqNPM5znUh+txl5UWY47XG7rZOQAwPx9f0d1ipI7b1KQch/"
  "Uh3b+A/oDrUrT8Z+P/U= ec256";

static const char K_EC384[] =
  "ecdsa-sha2-nistp384 AAAAE2VjZHNhLXNoYTItbmlzdHAzODQAAAAIbmlzdHAzODQAAA"
  "BhBHRpGlNrBEfDwW1GgDc1BOigvjSqYDjqJCdXpXUSgv0mvhawbPnf7TBVpgnVl9iItzVM"
  "B140JfgFdlQhlyTy0wjDk/sfoZng/syuTKxgAI6NwNQWSwwbyrip4VYu8T9tPA== ec384";

static const char K_EC521[] =
  "ecdsa-sha2-nistp521 AAAAE2VjZHNhLXNoYTItbmlzdHA1MjEAAAAIbmlzdHA1MjEAAA"
  "CFBADgvoUlKwJ0gYVufJbeNcfMdsDpjL+LXsgyFrctR9R3NzMfPrmcJt+7Mt9VBvTOWTKh"
  "zyLnrK2BldAcgMhdpliTpQGNUu03zq4WxzswknmpyTrlaaqpRKZ/wUycqAnkvwBEKth0fo"
  "YSP8jVkfTJ9Q6m+0am/ai8tkndVZQNZxt/4i3kAw== ec521";

static const char K_RSA[] =
  "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQDy5hvlmy1YtZKxASX2owLL3jTqFid0Q4"
  "ezzszTyVMRIk8JurDAfKCopcCvzIlwPxZdq2lZ8wDj2cKDN/zxrJIXbVFDUbkZ/zuSoghb"
  "iZW0yEKjpjXtnIu1SebAFG0LJvg7+MSWqHraRj53NevKmuGicBsbjtonyntf6Z0sqtY7xH"
  "1EeFpzM7GjEEC/oHXu6RycorTxMhWkrQjsSxn4ndglpg9rEdU9xpz0D+THyYcqgXksKPDR"
  "ajNT08RvCSupGDIYSgD3v1/PbVVbYPWu6oKqMEBJrglnS8BFnIJ6yIDGOYqK2IircdsFSG"
  "T0DAKdraTIu87KPWUsv+EhtVUThBEH bob@desk";

static const char K_SK[] =
  "sk-ssh-ed25519@openssh.com AAAAGnNrLXNzaC1lZDI1NTE5QG9wZW5zc2guY29tAAA"
  "AIBNU+iDUHoaXvHDh4vvCtfPM9/ELSjmG3PHcrIyzk5M9AAAABHNzaDo= yubikey";


static char err[256];

/* Check TEXT (as a C string) with a fresh error buffer. */
static int
check(const char *text)
{
  memset(err, 0, sizeof err);
  return upg_sshkeys_check(text, strlen(text), err, sizeof err);
}

/* "PREFIX" + KEY + "SUFFIX" in a static buffer. */
static const char *
wrap(const char *prefix, const char *key, const char *suffix)
{
  static char buf[4096];
  snprintf(buf, sizeof buf, "%s%s%s", prefix, key, suffix);
  return buf;
}

/* The base64 field of KEY (static). */
static const char *
b64_of(const char *key)
{
  static char buf[2048];
  const char *sp = strchr(key, ' ');
  snprintf(buf, sizeof buf, "%s", sp + 1);
  char *end = strchr(buf, ' ');
  if (end)
    *end = '\0';
  return buf;
}

static void
test_valid(void)
{
  ok(check(K_ED) == 1, "an ed25519 line is one key");
  ok(check(K_EC256) == 1, "an ecdsa-sha2-nistp256 line");
  ok(check(K_EC384) == 1, "an ecdsa-sha2-nistp384 line");
  ok(check(K_EC521) == 1, "an ecdsa-sha2-nistp521 line");
  ok(check(K_RSA) == 1, "an ssh-rsa line");
  ok(check(K_SK) == 1, "an sk-ssh-ed25519@openssh.com line");
  ok(check(wrap("", K_ED, "\n")) == 1, "with its newline");

  char nocomment[256];
  snprintf(nocomment, sizeof nocomment, "ssh-ed25519 %s", b64_of(K_ED));
  ok(check(nocomment) == 1, "without a comment");
  snprintf(nocomment, sizeof nocomment, "ssh-ed25519\t%s\tthe laptop key  ", b64_of(K_ED));
  ok(check(nocomment) == 1, "tabs between fields, spaces in the comment, trailing blanks");
  ok(check(wrap("   ", K_ED, "")) == 1, "leading spaces");
}

static void
test_layout(void)
{
  char text[4096];
  snprintf(text, sizeof text, "# my keys\n\n%s\n   # indented comment\n\t\n%s\n%s\n", K_ED, K_EC256, K_RSA);
  ok(check(text) == 3, "comments, blank and blank-looking lines around three keys");
  snprintf(text, sizeof text, "# keys\r\n%s\r\n\r\n%s\r\n", K_ED, K_EC521);
  ok(check(text) == 2, "CRLF line endings");
  snprintf(text, sizeof text, "%s\n%s", K_ED, K_EC384);
  ok(check(text) == 2, "no newline after the last line");

  ok(check("") == 0, "empty input: 0 keys");
  ok(strstr(err, "no public key") != NULL, "  says there is no public key: %s", err);
  ok(check("# nothing but\n#comments\n\n   \n") == 0, "only comments and blanks: 0 keys");
  ok(upg_sshkeys_check("", 0, err, sizeof err) == 0 && upg_sshkeys_check(NULL, 0, err, sizeof err) == 0,
     "zero length (even with NULL text)");
}

static void
test_private(void)
{
  static const char openssh[] = "-----BEGIN OPENSSH PRIVATE KEY-----\n"
                                "b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW\n"
                                "-----END OPENSSH PRIVATE KEY-----\n";
  ok(check(openssh) == -1, "an OpenSSH private key is refused");
  is_str(err, "line 1 is the start of a PRIVATE key (-----BEGIN OPENSSH PRIVATE KEY-----): "
         "give the .pub file, never the private key", "  with the exact message");
  ok(strstr(err, "b3BlbnNzaC1") == NULL, "  which quotes none of the key");

  char text[4096];
  snprintf(text, sizeof text, "# mine\n%s\n%s", K_ED, openssh);
  ok(check(text) == -1 && strncmp(err, "line 3 ", 7) == 0, "found after a good key, on line 3: %s", err);

  static const char *const pems[] = {
    "-----BEGIN RSA PRIVATE KEY-----\nMIIEpAIBAAKCAQEA0Z3VS5JJcds3xfn/ygWyF8PbnGy0AHB7MhgHcTz6sE2I2yPB\n",
    "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7VJTUt9Us8cKj\n",
    "-----BEGIN EC PRIVATE KEY-----\nMHcCAQEEIIrYSSNQFaA2Hwf1duRSxKtLYX5CB04fSeQ6tF1aY/PuoAoGCCqGSM49\n",
    "-----BEGIN ENCRYPTED PRIVATE KEY-----\nMIIFHDBOBgkqhkiG9w0BBQ0wQTApBgkqhkiG9w0BBQwwHAQI\n",
    "-----BEGIN DSA PRIVATE KEY-----\r\nMIIBuwIBAAKBgQD\r\n",
  };
  for (size_t i = 0; i < sizeof pems / sizeof *pems; i++) {
    int r = check(pems[i]);
    ok(r == -1 && strstr(err, "line 1 is the start of a PRIVATE key (-----BEGIN ") && strstr(err, ".pub")
       && !strstr(err, "MI"), "PEM private key %zu refused: %s", i, err);
  }
  ok(check("PuTTY-User-Key-File-3: ssh-ed25519\nEncryption: none\n") == -1 && strstr(err, "PRIVATE key"),
     "a PuTTY private key: %s", err);
}

static void
test_garbage(void)
{
  ok(check("hello world\n") == -1, "garbage is refused");
  is_str(err, "line 1 is not a public key", "  naming the line");

  char text[4096];
  snprintf(text, sizeof text, "%s\n\n# c\nnot a key at all\n", K_ED);
  ok(check(text) == -1, "garbage after a good key");
  is_str(err, "line 4 is not a public key", "  on the right line");

  ok(check("ssh-ed25519\n") == -1, "a type without data");
  ok(check("ssh-ed25519 AAAA$$$$ c\n") == -1 && !strstr(err, "AAAA"), "data that is not base64: %s", err);
  ok(check("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIL7egJhxq6qzCsC7uABwqwmk8YIe3DcRor+RHFSdJnp\n") == -1,
     "truncated base64 (length not a multiple of 4)");
  ok(check("ssh-foo AAAAB3NzaC1yc2EAAAADAQABAAABAQDy\n") == -1, "an unknown key type");
  ok(check(wrap("from=\"10.0.0.1\" ", K_ED, "")) == -1, "an options prefix is not accepted");
  ok(check("ssh-ed25519-cert-v01@openssh.com AAAAIHNzaC1lZDI1NTE5LWNlcnQtdjAxQG9wZW5zc2guY29t\n") == -1,
     "a certificate is not a plain public key");
  ok(check("---- BEGIN SSH2 PUBLIC KEY ----\nComment: x\nAAAAC3NzaC1lZDI1NTE5AAAAIL7e\n---- END SSH2 PUBLIC KEY ----\n")
       == -1 && strstr(err, "ssh-keygen -i"), "RFC 4716 format gets a conversion hint: %s", err);

  static const char withnul[] = "ssh-ed25519 AAAA\0BBBB\n";
  ok(upg_sshkeys_check(withnul, sizeof withnul - 1, err, sizeof err) == -1, "a NUL byte is refused");
}

static void
test_mismatch(void)
{
  char line[2048];
  snprintf(line, sizeof line, "ssh-rsa %s renamed", b64_of(K_ED));
  ok(check(line) == -1, "ed25519 data labelled ssh-rsa is refused");
  ok(strstr(err, "line 1") && !strstr(err, "AAAAC3NzaC1"), "  naming the line, quoting no data: %s", err);
  snprintf(line, sizeof line, "ecdsa-sha2-nistp384 %s", b64_of(K_EC256));
  ok(check(line) == -1, "nistp256 data labelled nistp384 is refused");
  ok(check("ssh-ed25519 AAAA\n") == -1, "a blob too short to hold its type");
  ok(check("ssh-ed25519 AAAAC3NzaC1lZDI1\n") == -1, "a blob whose type length runs past its end");
  ok(check("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5\n") == -1, "a blob holding its type and nothing else");
}

static void
test_long_line(void)
{
  char *line = malloc(5000 + 16);
  memset(line, 'x', 5000);
  line[5000] = '\0';
  ok(check(line) == -1, "a 5000-character garbage line is refused");
  ok(strlen(err) < 100 && !strstr(err, "xxxx"), "  with a short message quoting none of it: %s", err);

  memcpy(line, "ssh-ed25519 ", 12);
  memset(line + 12, 'A', 4988);
  line[5000] = '\0';
  ok(check(line) == -1, "a 5000-character ssh-ed25519 line of zeros is refused (damaged)");
  ok(strlen(err) < 120 && !strstr(err, "AAAA"), "  quoting none of it: %s", err);
  free(line);

  char small[16];
  ok(upg_sshkeys_check("junk", 4, small, sizeof small) == -1 && strlen(small) == sizeof small - 1,
     "a short error buffer is truncated, not overrun");
}


static void
test_base64(void)
{
  unsigned char out[16];
  ok(upg_base64_decode("TWFu", 4, out, sizeof out) == 3 && memcmp(out, "Man", 3) == 0, "base64: TWFu");
  ok(upg_base64_decode("TWE=", 4, out, sizeof out) == 2 && memcmp(out, "Ma", 2) == 0, "base64: one pad");
  ok(upg_base64_decode("TQ==", 4, out, sizeof out) == 1 && out[0] == 'M', "base64: two pads");
  ok(upg_base64_decode("T===", 4, out, sizeof out) == -1, "base64: three pads refused");
  ok(upg_base64_decode("TQ==TWFu", 8, out, sizeof out) == -1, "base64: padding in the middle refused");
  ok(upg_base64_decode("TWF", 3, out, sizeof out) == -1, "base64: unpadded tail refused");
  ok(upg_base64_decode("TW-u", 4, out, sizeof out) == -1, "base64: url-safe alphabet refused");
  ok(upg_base64_decode("TWFuTWFu", 8, out, 4) == -1, "base64: output too small refused");
}

int
main(void)
{
  test_valid();
  test_layout();
  test_private();
  test_garbage();
  test_mismatch();
  test_long_line();
  test_base64();
  return tap_done();
}
