/* SPDX-License-Identifier: GPL-3.0-or-later */
/* http.c -- one HTTPS exchange over the process's libcurl handle (http.h). */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "upgrade/form.h"
#include "upgrade/http.h"
#include "upgrade/outcome.h"
#include "upgrade/response.h"

#define USER_AGENT PACKAGE_NAME "/" PACKAGE_VERSION

/* The handle and the pid that made it.  A handle made by another pid was
 * inherited through fork(): it is parked in `inherited` (never used, never
 * cleaned up -- that would close the parent's TLS sessions) so that leak
 * checkers still see it as reachable. */
static CURL *handle;
static pid_t handle_owner;
static CURL *volatile inherited; /* volatile: written only, yet must stay */

static CURL *
process_handle(void)
{
  if (handle && handle_owner != getpid()) {
    inherited = handle;
    handle = NULL;
  }
  if (!handle) {
    handle = curl_easy_init();
    handle_owner = getpid();
  } else {
    curl_easy_reset(handle); /* keeps live connections and the TLS session cache */
  }
  return handle;
}

void
upg_http_shutdown(void)
{
  if (handle && handle_owner == getpid())
    curl_easy_cleanup(handle);
  handle = NULL;
}

/* libcurl 7.88 does not mark its sockets close-on-exec; without this every
 * command bash runs would inherit the kept-alive connection. */
static int
set_cloexec(void *data, curl_socket_t fd, curlsocktype purpose)
{
  int flags = fcntl(fd, F_GETFD);
  if (flags >= 0)
    fcntl(fd, F_SETFD, flags | FD_CLOEXEC);
  return CURL_SOCKOPT_OK;
}

/* Called by libcurl at least once a second and whenever a signal wakes its
 * poll(): the place where Ctrl-C stops a transfer. */
static int
on_progress(void *data, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal, curl_off_t ulnow)
{
  upg_http_call *call = data;
  int sig = upg_interrupted(call->s);
  if (sig) {
    call->signal = sig;
    return 1;
  }
  if (call->metered) {
    bool up = ultotal > 0 || ulnow > 0;
    long long now = (long long)(up ? ulnow : dlnow), total = (long long)(up ? ultotal : dltotal);
    long long base = call->meter.base;
    upg_meter_update(&call->meter, base + now, total > 0 ? base + total : 0);
  }
  return 0; /* never libcurl's own meter */
}

void
upg_http_meter(upg_http_call *call, const char *label, long long base)
{
  call->metered = call->s->progress;
  upg_meter_start(&call->meter, call->s, label, base);
}

size_t
upg_http_collect(char *ptr, size_t size, size_t nmemb, void *data)
{
  upg_http_call *call = data;
  size_t n = size * nmemb;

  if (call->body_len + n > UPG_RESPONSE_MAX) {
    call->body_overflow = true;
    return 0;
  }
  if (call->body_len + n + 1 > call->body_cap) {
    size_t cap = call->body_cap ? call->body_cap : 4096;
    while (cap < call->body_len + n + 1)
      cap *= 2;
    char *grown = realloc(call->body, cap);
    if (!grown)
      return 0;
    call->body = grown;
    call->body_cap = cap;
  }
  memcpy(call->body + call->body_len, ptr, n);
  call->body_len += n;
  call->body[call->body_len] = '\0';
  return n;
}

/* --verbose: libcurl's trace, one line at a time through upg_trace, which
 * cuts out every key of the call (it travels in the upload URL's query and
 * in form bodies) and escapes what the server put in its headers. */
static int
trace(CURL *h, curl_infotype type, char *data, size_t size, void *userp)
{
  static const char prefix[] = { [CURLINFO_TEXT] = '*', [CURLINFO_HEADER_IN] = '<',
                                 [CURLINFO_HEADER_OUT] = '>' };
  upg_http_call *call = userp;

  if (type != CURLINFO_TEXT && type != CURLINFO_HEADER_IN && type != CURLINFO_HEADER_OUT)
    return 0;
  char *text = strndup(data, size);
  if (!text)
    return 0;
  char *save = NULL;
  for (char *line = strtok_r(text, "\r\n", &save); line; line = strtok_r(NULL, "\r\n", &save)) {
    char *marked;
    if (asprintf(&marked, "%c %s", prefix[type], line) >= 0) {
      upg_trace(call->s, marked);
      free(marked);
    }
  }
  free(text);
  return 0;
}

int
upg_http_check_url(const upg_settings *s, const char *what, const char *url, jv *doc)
{
  switch (upg_url_scheme(url)) {
  case UPG_URL_HTTPS:
    return 0;
  case UPG_URL_PLAIN:
    if (s->insecure)
      return 0;
    return upg_fail(doc, UPG_EXIT_SECURITY,
                    upg_failure("CLIENT:TLS", "%s: refusing plain http://, which would send the request key "
                                "in clear; use https:// (or -k to insist)", what));
  case UPG_URL_OTHER:
    break;
  }
  return upg_fail(doc, UPG_EXIT_USAGE, upg_failure("CLIENT:USAGE", "%s: only https:// URLs are supported", what));
}

int
upg_http_begin(upg_http_call *call, const upg_settings *s, const char *what, const char *url, jv *doc)
{
  return upg_http_begin_handle(call, NULL, s, what, url, doc);
}

int
upg_http_begin_handle(upg_http_call *call, CURL *own, const upg_settings *s, const char *what, const char *url,
                      jv *doc)
{
  memset(call, 0, sizeof *call);
  call->s = s;
  call->what = what;
  int status = upg_http_check_url(s, what, url, doc);
  if (status)
    return status;
  if (own)
    curl_easy_reset(own);
  CURL *h = call->curl = own ? own : process_handle();
  if (!h)
    return upg_fail(doc, UPG_EXIT_TRANSPORT, upg_failure("CLIENT:NETWORK", "%s: cannot initialise libcurl", what));

  curl_easy_setopt(h, CURLOPT_URL, url);
  curl_easy_setopt(h, CURLOPT_USERAGENT, USER_AGENT);
  curl_easy_setopt(h, CURLOPT_ERRORBUFFER, call->errbuf);
#if LIBCURL_VERSION_NUM >= 0x075500 /* 7.85 */
  curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "https,http");
  curl_easy_setopt(h, CURLOPT_REDIR_PROTOCOLS_STR, s->insecure ? "https,http" : "https");
#endif
  curl_easy_setopt(h, CURLOPT_SOCKOPTFUNCTION, set_cloexec);
  curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
  curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, on_progress);
  curl_easy_setopt(h, CURLOPT_XFERINFODATA, call);
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, upg_http_collect);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, call);
  curl_easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L);
  if (s->cacert)
    curl_easy_setopt(h, CURLOPT_CAINFO, s->cacert);
  if (s->insecure) {
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 0L);
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 0L);
  }
  /* --connect-to, curl's: the URL's name (and so TLS's) kept, the TCP
   * connection made elsewhere -- the rpc dialect's node is https://HOST
   * on port 443 whatever answered create. */
  if (s->connect_to && (call->connect_to = curl_slist_append(NULL, s->connect_to)))
    curl_easy_setopt(h, CURLOPT_CONNECT_TO, call->connect_to);
  if (s->connect_timeout_ms > 0)
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, s->connect_timeout_ms);
  if (s->max_time_ms > 0)
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, s->max_time_ms);
  /* A server that stops sending for two minutes is dead, not slow. */
  curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1L);
  curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, 120L);
  if (s->verbose) {
    curl_easy_setopt(h, CURLOPT_VERBOSE, 1L);
    curl_easy_setopt(h, CURLOPT_DEBUGFUNCTION, trace);
    curl_easy_setopt(h, CURLOPT_DEBUGDATA, call);
  }
  return 0;
}

void
upg_http_header(upg_http_call *call, const char *header)
{
  struct curl_slist *list = curl_slist_append(call->headers, header);
  if (list)
    call->headers = list;
}

static const char *
curl_message(const upg_http_call *call)
{
  return call->errbuf[0] ? call->errbuf : curl_easy_strerror(call->rc);
}

static int
http_status_failure(upg_http_call *call, jv *doc)
{
  long code = call->http_code;
  char excerpt[120] = "";
  if (call->body_len)
    upg_excerpt(call->body, call->body_len, excerpt, sizeof excerpt);
  call->retryable = call->idempotent && (code >= 500 || code == 408 || code == 429);
  jv f = upg_failure("CLIENT:HTTP", "%s: the server answered HTTP %ld%s%s", call->what, code,
                     excerpt[0] ? ": " : "", excerpt);
  f = jv_object_set(f, jv_string("code"), jv_number((double)code));
  return upg_fail(doc, UPG_EXIT_TRANSPORT, f);
}

/* Did the exchange follow a Location before it failed? */
static bool
call_redirected(upg_http_call *call)
{
  long count = 0;
  char *next = NULL;
  curl_easy_getinfo(call->curl, CURLINFO_REDIRECT_COUNT, &count);
  curl_easy_getinfo(call->curl, CURLINFO_REDIRECT_URL, &next);
  return count > 0 || next;
}

/* The server sent us to a scheme we refused to follow (CURLOPT_REDIR_
 * PROTOCOLS_STR): to plain http:// it is the same security refusal as an
 * http:// URL; anywhere else (file://, ...) a server fault. */
static int
redirect_refused(upg_http_call *call, jv *doc)
{
  char *url = NULL;
  curl_easy_getinfo(call->curl, CURLINFO_EFFECTIVE_URL, &url);
  if (url && upg_url_scheme(url) == UPG_URL_PLAIN)
    return upg_fail(doc, UPG_EXIT_SECURITY,
                    upg_failure("CLIENT:TLS", "%s: refusing a redirect to plain http://, which would send the "
                                "request in clear (-k to insist)", call->what));
  return upg_fail(doc, UPG_EXIT_TRANSPORT,
                  upg_failure("CLIENT:BAD_RESPONSE", "%s: refusing a redirect to a URL that is not https://",
                              call->what));
}

/* Map a libcurl result to the contract's reasons and exit codes. */
static int
transfer_failure(upg_http_call *call, jv *doc)
{
  const char *what = call->what;

  switch (call->rc) {
  case CURLE_ABORTED_BY_CALLBACK:
    return upg_fail(doc, UPG_EXIT_SIGNAL_BASE + call->signal,
                    upg_failure("CLIENT:INTERRUPTED", "%s: interrupted by signal %d", what, call->signal));
  case CURLE_WRITE_ERROR:
    if (call->body_overflow)
      return upg_fail(doc, UPG_EXIT_TRANSPORT,
                      upg_failure("CLIENT:BAD_RESPONSE", "%s: response larger than %zu MiB, refused",
                                  what, UPG_RESPONSE_MAX >> 20));
    if (call->write_errno)
      return upg_fail(doc, UPG_EXIT_USAGE,
                      upg_failure("CLIENT:FILE", "%s: cannot write: %s", what, strerror(call->write_errno)));
    break;
  case CURLE_READ_ERROR:
    return upg_fail(doc, UPG_EXIT_USAGE,
                    upg_failure("CLIENT:FILE", "%s: cannot read: %s", what,
                                call->read_errno ? strerror(call->read_errno) : curl_message(call)));
  case CURLE_OPERATION_TIMEDOUT:
    call->retryable = call->idempotent;
    return upg_fail(doc, UPG_EXIT_TRANSPORT, upg_failure("CLIENT:TIMEOUT", "%s: %s", what, curl_message(call)));
  case CURLE_PEER_FAILED_VERIFICATION:
#if LIBCURL_VERSION_NUM < 0x073e00
  case CURLE_SSL_CACERT:
#endif
  case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
    return upg_fail(doc, UPG_EXIT_SECURITY,
                    upg_failure("CLIENT:TLS", "%s: TLS verification failed: %s (a server whose certificate is "
                                "signed by a CA of your own: give it with --cacert FILE; -k skips the check, "
                                "and the key's protection with it)", what, curl_message(call)));
  case CURLE_SSL_CACERT_BADFILE:
    return upg_fail(doc, UPG_EXIT_USAGE,
                    upg_failure("CLIENT:FILE", "%s: cannot use the CA file: %s", what, curl_message(call)));
  case CURLE_SSL_CONNECT_ERROR:
    call->retryable = call->idempotent;
    return upg_fail(doc, UPG_EXIT_TRANSPORT,
                    upg_failure("CLIENT:TLS", "%s: TLS handshake failed: %s", what, curl_message(call)));
  case CURLE_HTTP_RETURNED_ERROR: /* CURLOPT_FAILONERROR */
    return http_status_failure(call, doc);
  case CURLE_UNSUPPORTED_PROTOCOL:
    if (call_redirected(call))
      return redirect_refused(call, doc);
    /* fall through */
  case CURLE_URL_MALFORMAT:
    return upg_fail(doc, UPG_EXIT_USAGE, upg_failure("CLIENT:USAGE", "%s: bad URL: %s", what, curl_message(call)));
  case CURLE_COULDNT_RESOLVE_HOST:
  case CURLE_COULDNT_RESOLVE_PROXY:
  case CURLE_COULDNT_CONNECT:
    call->retryable = true; /* nothing was sent: always safe */
    break;
  default:
    call->retryable = call->idempotent;
    break;
  }
  return upg_fail(doc, UPG_EXIT_TRANSPORT, upg_failure("CLIENT:NETWORK", "%s: %s", what, curl_message(call)));
}

/* Descriptors open now, as a bitmap (those above FD_BITS are not seen). */
#define FD_BITS 4096
static void
open_fds(unsigned char *map)
{
  memset(map, 0, FD_BITS / 8);
  DIR *dir = opendir("/proc/self/fd");
  if (!dir)
    return;
  for (struct dirent *e; (e = readdir(dir));) {
    int fd = atoi(e->d_name);
    if (e->d_name[0] != '.' && fd != dirfd(dir) && fd < FD_BITS)
      map[fd / 8] |= (unsigned char)(1u << (fd % 8));
  }
  closedir(dir);
}

/* libcurl 7.88 makes a few descriptors that CURLOPT_SOCKOPTFUNCTION never
 * sees -- the socketpair that wakes its internal multi handle, the
 * threaded resolver's -- without close-on-exec: mark every descriptor the
 * exchange added, so that no command bash runs inherits one. */
static void
cloexec_new_fds(const unsigned char *before)
{
  unsigned char after[FD_BITS / 8];
  open_fds(after);
  for (int fd = 3; fd < FD_BITS; fd++) {
    unsigned char bit = (unsigned char)(1u << (fd % 8));
    if ((after[fd / 8] & bit) && !(before[fd / 8] & bit)) {
      int flags = fcntl(fd, F_GETFD);
      if (flags >= 0 && !(flags & FD_CLOEXEC))
        fcntl(fd, F_SETFD, flags | FD_CLOEXEC);
    }
  }
}

int
upg_http_perform(upg_http_call *call, jv *doc)
{
  unsigned char fds_before[FD_BITS / 8];
  if (call->headers)
    curl_easy_setopt(call->curl, CURLOPT_HTTPHEADER, call->headers);
  open_fds(fds_before);
  CURLcode rc = curl_easy_perform(call->curl);
  cloexec_new_fds(fds_before);
  if (call->metered)
    upg_meter_end(&call->meter);
  return upg_http_finish(call, rc, doc);
}

int
upg_http_finish(upg_http_call *call, CURLcode rc, jv *doc)
{
  call->rc = rc;
  curl_easy_getinfo(call->curl, CURLINFO_RESPONSE_CODE, &call->http_code);
  call->retryable = false;
  if (call->rc != CURLE_OK)
    return transfer_failure(call, doc);
  if (call->http_code >= 400)
    return http_status_failure(call, doc);
  return 0;
}

void
upg_http_end(upg_http_call *call)
{
  /* The handle's options point into CALL, which is going away; a reset
   * drops them and keeps the live connections and TLS sessions. */
  if (call->curl)
    curl_easy_reset(call->curl);
  curl_slist_free_all(call->headers);
  curl_slist_free_all(call->connect_to);
  free(call->body);
  call->headers = NULL;
  call->connect_to = NULL;
  call->body = NULL;
}

int
upg_retry(const upg_settings *s, const char *what, upg_attempt_fn fn, void *ctx, jv *doc)
{
  long delay = s->retry_delay_ms > 0 ? s->retry_delay_ms : 1000;

  for (int attempt = 0;; attempt++) {
    bool retryable = false;
    int status = fn(ctx, &retryable, doc);
    if (status == 0 || !retryable || attempt >= s->retry)
      return status;
    upg_notice(s, "%s failed (attempt %d of %d), retrying in %.1f s", what, attempt + 1, s->retry + 1,
               delay / 1000.0);
    int sig = upg_sleep_ms(s, delay);
    if (sig) {
      jv_free(*doc);
      return upg_fail(doc, UPG_EXIT_SIGNAL_BASE + sig,
                      upg_failure("CLIENT:INTERRUPTED", "%s: interrupted by signal %d", what, sig));
    }
    jv_free(*doc);
    if (delay < 600000)
      delay *= 2;
  }
}

/* One exchange whose answer the caller reads: a JSON POST, or a GET
 * (JSON NULL) with one more HEADER (or NULL). */
struct json_post {
  const upg_settings *s;
  const char *what, *url, *json, *header;
  bool idempotent;
  upg_http_reply *reply;
};

/* The completed exchange's status, content type and body into REPLY
 * (the body moves out of CALL). */
static int
keep_reply(upg_http_call *call, upg_http_reply *reply, jv *doc)
{
  char *type = NULL;
  curl_easy_getinfo(call->curl, CURLINFO_CONTENT_TYPE, &type);
  reply->status = call->http_code;
  reply->content_type = type ? strdup(type) : NULL;
  if (type && !reply->content_type)
    return upg_fail(doc, UPG_EXIT_TRANSPORT, upg_failure("CLIENT:NETWORK", "%s: out of memory", call->what));
  reply->body = call->body;
  reply->len = call->body_len;
  call->body = NULL;
  return 0;
}

static int
json_post_once(void *ctx, bool *retryable, jv *doc)
{
  struct json_post *jp = ctx;
  upg_http_call call;
  int status = upg_http_begin(&call, jp->s, jp->what, jp->url, doc);
  if (status)
    goto out;
  call.idempotent = jp->idempotent;
  if (jp->header)
    upg_http_header(&call, jp->header);
  if (jp->json) {
    upg_http_header(&call, "Content-Type: application/json");
    upg_http_header(&call, "Expect:"); /* no 100-continue round trip for a large create */
    curl_easy_setopt(call.curl, CURLOPT_POSTFIELDS, jp->json);
  }
  status = upg_http_perform(&call, doc);
  *retryable = status && call.retryable;
  if (!status)
    status = keep_reply(&call, jp->reply, doc);
out:
  upg_http_end(&call);
  return status;
}

/* JP's exchange, retried as --retry says, its answer kept in JP->reply. */
static int
exchange_kept(struct json_post *jp, jv *doc)
{
  memset(jp->reply, 0, sizeof *jp->reply);
  int status = upg_retry(jp->s, jp->what, json_post_once, jp, doc);
  if (status)
    upg_http_reply_free(jp->reply);
  return status;
}

int
upg_http_post_json(const upg_settings *s, const char *what, const char *url, const char *json, bool idempotent,
                   upg_http_reply *reply, jv *doc)
{
  struct json_post jp = { s, what, url, json, NULL, idempotent, reply };
  return exchange_kept(&jp, doc);
}

int
upg_http_get(const upg_settings *s, const char *what, const char *url, const char *header, upg_http_reply *reply,
             jv *doc)
{
  struct json_post jp = { s, what, url, NULL, header, true, reply };
  return exchange_kept(&jp, doc);
}

void
upg_http_reply_free(upg_http_reply *reply)
{
  free(reply->content_type);
  free(reply->body);
  memset(reply, 0, sizeof *reply);
}
