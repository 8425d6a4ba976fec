/* SPDX-License-Identifier: GPL-3.0-or-later */
/* response.h -- reading the platform's answers (pure, unit-tested).
 *
 * The platform answers every method with {"failures": [...], "request": …}.
 * Anything else -- HTML from a proxy, a truncated body, `failures` that is
 * not a list -- is a fault of the server, reported as CLIENT:BAD_RESPONSE
 * rather than passed on for scripts to trip over.
 */
#ifndef UPGRADE_RESPONSE_H
#define UPGRADE_RESPONSE_H

#include <stddef.h>
#include <jv.h>

/* Bodies larger than this are refused: a hostile or broken server must not
 * fill the user's shell with memory. */
#define UPG_RESPONSE_MAX ((size_t)16 * 1024 * 1024)

/* Parse BODY (LEN bytes, NUL-terminated at BODY[LEN]) from METHOD.  On a
 * well-formed answer sets *doc to it and returns 0 (no failures) or 1
 * (failures listed); otherwise sets *doc to a CLIENT:BAD_RESPONSE document
 * and returns 3. */
int upg_response_parse(const char *method, const char *body, size_t len, jv *doc);

/* A short printable excerpt of BODY for error messages: at most MAX bytes
 * of the first line, control characters replaced. */
void upg_excerpt(const char *body, size_t len, char *out, size_t max);

/* The "request" object of DOC (a new reference; DOC is not consumed), or
 * jv_null(). */
jv upg_doc_request(jv doc);

/* DOC.request.FIELD as text: strings as they are, integral numbers printed
 * without exponent.  malloc'd, or NULL when absent or of another kind. */
char *upg_request_field(jv doc, const char *field);

/* VALUE (not consumed) as upg_request_field gives a field: malloc'd, or
 * NULL when it is neither a string nor a number. */
char *upg_id_text(jv value);

/* A request id ID as the platform gives it: a number (10534) when ID is
 * one (digits, at most 15), else the string.  So every document and record
 * that names a request holds the same JSON type as create and status. */
jv upg_request_id(const char *id);

/* True when DOC lists failures and every one has REASON (e.g.
 * "SERVER:ERROR", the platform's "try again later"). */
int upg_doc_only_reason(jv doc, const char *reason);

/* The "reason" of DOC's first failure into REASON (LEN bytes, cut if
 * longer), or "" when there is none.  DOC is not consumed. */
void upg_doc_first_reason(jv doc, char *reason, size_t len);

#endif
