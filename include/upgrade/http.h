/* SPDX-License-Identifier: GPL-3.0-or-later */
/* http.h -- one HTTPS exchange over the process's libcurl handle.
 *
 * The module keeps one CURL easy handle per process, so connections and TLS
 * sessions are reused from one `upgrade` call to the next.  A forked child
 * (a `$(…)`, a pipeline, `&`) sees that the handle belongs to its parent's
 * pid and makes its own, never using or closing the parent's connections.
 */
#ifndef UPGRADE_HTTP_H
#define UPGRADE_HTTP_H

#include <stdbool.h>
#include <curl/curl.h>
#include <jv.h>

#include "upgrade/progress.h"
#include "upgrade/settings.h"

typedef struct upg_http_call {
  const upg_settings *s;
  const char *what;            /* the method, for messages ("status", "download") */
  CURL *curl;                  /* the shared handle, reset for this call */
  struct curl_slist *headers;  /* request headers the caller added */
  struct curl_slist *connect_to; /* s->connect_to as libcurl takes it */
  char errbuf[CURL_ERROR_SIZE];
  int signal;                  /* the signal that aborted the transfer, or 0 */
  bool metered;                /* draw the meter (upg_http_meter) */
  upg_meter meter;             /* ours: libcurl's is 79 columns, never ended */
  bool idempotent;             /* safe to send again after a fault */

  /* response body kept in memory (the default sink) */
  char *body;
  size_t body_len, body_cap;
  bool body_overflow;

  int write_errno;             /* a file sink's failure */
  int read_errno;              /* a file source's failure */

  /* filled by upg_http_perform */
  CURLcode rc;
  long http_code;
  bool retryable;
} upg_http_call;

/* Prepare CALL for URL: checks the scheme (https, or http only with -k:
 * exit 5 otherwise), resets the shared handle and sets the options every
 * exchange shares (TLS trust, timeouts, close-on-exec sockets, Ctrl-C).
 * The body goes to memory unless the caller sets CURLOPT_WRITEFUNCTION.
 * Returns 0, or an exit status with *doc set. */
int upg_http_begin(upg_http_call *call, const upg_settings *s, const char *what,
                   const char *url, jv *doc);

/* The same on OWN, an easy handle the caller made and owns (one of a
 * multi handle's transfers), instead of the process's handle.  The caller
 * sets CURLOPT_HTTPHEADER from call->headers itself and classifies the
 * result with upg_http_finish. */
int upg_http_begin_handle(upg_http_call *call, CURL *own, const upg_settings *s, const char *what,
                          const char *url, jv *doc);

/* The scheme check of upg_http_begin alone, for a caller that must refuse
 * a URL before it creates anything: https://, or http:// only with -k
 * (exit 5 CLIENT:TLS); anything else exit 2 CLIENT:USAGE.  0 or the exit
 * status with *doc set.  A redirect to plain http:// is refused the same
 * way, exit 5, by upg_http_perform. */
int upg_http_check_url(const upg_settings *s, const char *what, const char *url, jv *doc);

/* Draw the meter during the exchange (when settings.progress), labelled
 * LABEL ("upload db.dump"); BASE bytes were there before it (a resumed
 * download's offset): libcurl counts only this exchange's bytes.  The
 * meter is ended when upg_http_perform returns. */
void upg_http_meter(upg_http_call *call, const char *label, long long base);

/* Add a request header ("Name: value", or "Name:" to suppress one). */
void upg_http_header(upg_http_call *call, const char *header);

/* The default body sink (CURLOPT_WRITEFUNCTION with the call as its
 * data): the body in call->body, refused beyond UPG_RESPONSE_MAX.  A
 * caller with its own sink can hand it the bytes it does not want. */
size_t upg_http_collect(char *ptr, size_t size, size_t nmemb, void *call);

/* Run the exchange and classify it: 0 when the transfer completed with an
 * HTTP status below 400; otherwise an exit status with *doc set to the
 * matching CLIENT:* failure, and call->retryable set. */
int upg_http_perform(upg_http_call *call, jv *doc);

/* The classification of upg_http_perform for an exchange run elsewhere
 * (a multi handle) that ended with RC. */
int upg_http_finish(upg_http_call *call, CURLcode rc, jv *doc);

/* Free what the call owns (not the shared handle). */
void upg_http_end(upg_http_call *call);

/* One attempt of something that may be retried: returns an exit status,
 * sets *doc, and sets *retryable when a new attempt could succeed. */
typedef int (*upg_attempt_fn)(void *ctx, bool *retryable, jv *doc);

/* Run FN up to 1 + s->retry times while it fails retryably, sleeping
 * s->retry_delay_ms (doubling) between attempts, as curl --retry does. */
int upg_retry(const upg_settings *s, const char *what, upg_attempt_fn fn, void *ctx, jv *doc);

/* Release this process's handle (module unload); an inherited one is left
 * alone. */
void upg_http_shutdown(void);

/* One JSON POST and what came back, for a caller that reads the answer
 * itself (the rpc dialect's JSON-RPC calls: rpc_answer.h). */
typedef struct upg_http_reply {
  long status;          /* the HTTP status (below 400: upg_http_perform refuses the rest) */
  char *content_type;   /* malloc'd, or NULL when the server sent none */
  char *body;           /* malloc'd and NUL-terminated, or NULL when empty */
  size_t len;
} upg_http_reply;

/* POST JSON (a NUL-terminated body) to URL with `Content-Type:
 * application/json`, over the process's handle with every rule of
 * upg_http_begin (TLS trust, scheme, time limits, Ctrl-C).  When
 * IDEMPOTENT, a failure that a new attempt could cure (no connection, a
 * timeout, HTTP 5xx, 408, 429) is retried as --retry says; the answer's
 * body is never a reason to retry (the caller reads it).  Returns 0 with
 * *reply filled (free it with upg_http_reply_free), or an exit status
 * with *doc set and *reply empty. */
int upg_http_post_json(const upg_settings *s, const char *what, const char *url, const char *json, bool idempotent,
                       upg_http_reply *reply, jv *doc);

/* GET URL with one more request HEADER (or NULL), as upg_http_post_json
 * (every rule of upg_http_begin), always safe to retry as --retry says:
 * the rpc platform's log. */
int upg_http_get(const upg_settings *s, const char *what, const char *url, const char *header, upg_http_reply *reply,
                 jv *doc);

void upg_http_reply_free(upg_http_reply *reply);

#endif
