/* SPDX-License-Identifier: GPL-3.0-or-later */
/* human.h -- what a person reads: every line the core or its host prints on
 * stderr (notices, failure lines, the status line, --verbose's trace, jq's
 * `debug`) goes through upg_human_text first, in this one place.
 *
 * Two rules meet here.  The request's key is a secret: the call keeps the
 * list of every key it has used or learnt (upg_secret_add), and each one is
 * cut out, raw or percent-encoded with either case of hex digits.  Server
 * text is untrusted: control characters (C0, DEL, C1, Unicode's line and
 * bidirectional controls) and bytes that are not UTF-8 are written as
 * escapes, so a server can neither move the cursor, set the title nor forge
 * a line; and a long text is cut with a note of how much was left out.
 * stdout (the JSON document) is never touched: it stays exact.
 */
#ifndef UPGRADE_HUMAN_H
#define UPGRADE_HUMAN_H

#include <stddef.h>

#include "upgrade/settings.h"

/* How much of a text (in bytes, after redaction) reaches the terminal. */
#define UPG_HUMAN_MAX 1024

/* Remember SECRET (copied) as one to cut out of every human line of the
 * call that owns S's list.  NULL or empty: nothing.  Safe on a const
 * settings: the list belongs to the call, not to the settings. */
void upg_secret_add(const upg_settings *s, const char *secret);
/* Free a call's list (the host, at the end of the call). */
void upg_secrets_free(upg_secrets *list);

/* TEXT redacted, made printable and cut (malloc'd; NULL when out of
 * memory).  S may be NULL, or have no list: nothing to redact. */
char *upg_human_text(const upg_settings *s, const char *text);

/* LEN bytes of server text (NULs and all) made printable but not cut:
 * every control but '\n' and '\t', and every byte that is not UTF-8,
 * written as human.c's escapes ("\e", "\xff"); valid UTF-8 whatever
 * came (malloc'd; NULL when out of memory).  For texts kept whole in a
 * document and printed raw by `jq -r`: the platform's log. */
char *upg_safe_text(const char *bytes, size_t len);

/* Redaction alone, for one SECRET ("***" for each occurrence, each
 * character raw or as %XX in either case).  Exposed for the unit tests. */
char *upg_redact(const char *text, const char *secret);

#endif
