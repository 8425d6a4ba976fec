/* SPDX-License-Identifier: GPL-3.0-or-later */
/* rpc_fields.h -- the shape of each value the rpc platform hands us that
 * the builtin later uses as a host, a port, a file name, a token or a
 * state (pure, unit-tested: tests/unit/test_rpc_fields.c).
 *
 * Each check returns NULL when the value is fit, or a static sentence
 * saying why not, for a CLIENT:BAD_RESPONSE message.  The rules are
 * narrow on purpose: these values end up in a URL, in ssh's and rsync's
 * argv, in a known_hosts file and in a path under the user's directory.
 */
#ifndef UPGRADE_RPC_FIELDS_H
#define UPGRADE_RPC_FIELDS_H

#include <stddef.h>
#include <jv.h>

#define UPG_RPC_HOST_MAX 253   /* a DNS name's limit */
#define UPG_RPC_TOKEN_MAX 256  /* the one real token seen has 58 characters */
#define UPG_RPC_NAME_MAX 255   /* a file name's limit (NAME_MAX) */

/* A bare host name (create's assigned_host_uri, status's host_uri): dot-
 * separated labels of letters, digits and '-', none empty, none longer
 * than 63, none starting or ending with '-'.  So no scheme, user, port,
 * path, space or control.  An IPv4 literal passes (it is made of the same
 * characters); an IPv6 literal does not: it needs brackets in a URL and
 * in ssh's host argument, and the platform hands out names. */
const char *upg_rpc_bad_host(const char *host);

/* A token: 1..UPG_RPC_TOKEN_MAX characters of [A-Za-z0-9_-] (URL-safe:
 * the platform's own script puts it in a query string unencoded). */
const char *upg_rpc_bad_token(const char *token);

/* transfer/start's ssh_port: a JSON integer or a string of at most five
 * digits, 1..65535.  Sets *port when fit; VALUE is not consumed. */
const char *upg_rpc_port(jv value, int *port);

/* transfer/start's dump_name: one plain file name of 1..UPG_RPC_NAME_MAX
 * bytes from [A-Za-z0-9._+,=@-], not "." or "..", not starting with '-'
 * (no '/', no space, no glob or shell character: the name is a remote
 * rsync path and a local file under the chosen directory). */
const char *upg_rpc_bad_dump_name(const char *name);

/* A state the platform may report: new, pending, progress, done, failed,
 * cancelled. */
const char *upg_rpc_bad_state(const char *state);

/* True for the states that end a request: done, failed, cancelled. */
int upg_rpc_state_final(const char *state);

/* transfer/start's known_hosts TEXT, checked against the HOST and PORT
 * the same answer named.  Every line must be `[HOST]:PORT TYPE BASE64`
 * (or `HOST TYPE BASE64` when PORT is 22), TYPE a host-key type OpenSSH
 * knows, BASE64 plain base64; blank lines and `#` comments are dropped.
 * Anything else -- a marker (@cert-authority, @revoked), a pattern or a
 * list of hosts, another host or port, a hashed name, a trailing comment
 * -- refuses the whole text: the platform has no reason to send it, and
 * a key for another name is trust we never asked for.  On success sets
 * *out to the kept lines, each ending in '\n' (malloc'd), and returns
 * NULL; a text with no key line is refused too (ssh would then fail
 * later with a less clear message). */
const char *upg_rpc_known_hosts(const char *text, const char *host, int port, char **out);

#endif
