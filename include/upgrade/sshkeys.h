/* SPDX-License-Identifier: GPL-3.0-or-later */
/* sshkeys.h -- check an `ssh_keys` file before it leaves the machine.
 *
 * The API accepts "roughly an authorized_keys file": public keys, blank
 * lines and `#` comments.  Anything else -- a private key above all -- is
 * refused with the offending line number, before anything is sent.
 */
#ifndef UPGRADE_SSHKEYS_H
#define UPGRADE_SSHKEYS_H

#include <stddef.h>
#include <sys/types.h>

/* Check TEXT (LEN bytes).  Returns the number of public keys found (>= 1)
 * when the text is acceptable; otherwise 0 (no key at all) or -1, with a
 * one-line explanation (naming the line) in ERR, which never quotes key
 * material. */
int upg_sshkeys_check(const char *text, size_t len, char *err, size_t errlen);

/* Strict, padded base64 (as ssh-keygen writes it) into OUT (CAP bytes).
 * Returns the decoded length, or -1 when IN is not base64 or OUT is too
 * small.  Also used by ssh.c to read the public half of an identity. */
ssize_t upg_base64_decode(const char *in, size_t len, unsigned char *out, size_t cap);

#endif
