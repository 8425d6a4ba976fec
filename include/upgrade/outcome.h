/* SPDX-License-Identifier: GPL-3.0-or-later */
/* outcome.h -- what a call ends with: an exit status and a JSON document.
 *
 * Every core function that talks to the platform, or to the disk on its
 * behalf, returns an exit status (the contract's table) and fills a `jv`
 * document that is always an object with a "failures" array.  Client-side
 * failures look like the platform's own: {"reason": "CLIENT:…", "message": …}.
 */
#ifndef UPGRADE_OUTCOME_H
#define UPGRADE_OUTCOME_H

#include <stdarg.h>
#include <jv.h>

enum upg_exit {
  UPG_EXIT_OK = 0,         /* success */
  UPG_EXIT_FAILED = 1,     /* the platform reported failures / request failed */
  UPG_EXIT_USAGE = 2,      /* usage error or bad local input */
  UPG_EXIT_TRANSPORT = 3,  /* network, timeout, HTTP status, bad response, SSH */
  UPG_EXIT_TIMEOUT = 4,    /* wait --timeout ran out */
  UPG_EXIT_SECURITY = 5,   /* TLS verification, SSH host key, plain http */
  UPG_EXIT_SIGNAL_BASE = 128 /* + signal number when interrupted */
};

/* {"reason": REASON, "message": printf(FMT, …)}. */
jv upg_failure(const char *reason, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
jv upg_failure_v(const char *reason, const char *fmt, va_list ap);

/* Set *doc to {"failures": [failure]} and return STATUS: the usual tail of
 * an error path, `return upg_fail(doc, UPG_EXIT_USAGE, upg_failure(…));`. */
int upg_fail(jv *doc, int status, jv failure);

/* Append FAILURE to DOC's "failures" (creating it if needed); consumes both. */
jv upg_doc_add_failure(jv doc, jv failure);

/* DOC with "; " and printf(FMT, …) added to its last failure's message:
 * how to go on ("to go on: upgrade run --continue db.dump").  DOC is
 * consumed and returned; one without a failure is returned as it is. */
jv upg_doc_hint(jv doc, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* A document with an empty failures list and KEY set to VALUE (consumed). */
jv upg_doc_with(const char *key, jv value);

/* True when DOC is an object whose "failures" is a non-empty array. */
int upg_doc_has_failures(jv doc);

#endif
