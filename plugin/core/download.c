/* download.c -- `download`: fetch one of the files status links to.
 *
 * The URL comes from a fresh status and is checked before any file is
 * made.  The bytes go to FILE.part (files.h), whose record ties them to
 * this platform, request and kind of file, and to the version the server
 * described (ETag, Last-Modified, total size).  A later try asks only for
 * the rest (Range) on condition that the file is still that version
 * (If-Range), and every answer is checked before a byte of it is written:
 * a 206 must start exactly where the part file ends and describe the same
 * version; a 200 starts the file over; anything else is not written.  The
 * file is renamed only once its size is what the server announced.
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "upgrade/api.h"
#include "upgrade/download.h"
#include "upgrade/download_kinds.h"
#include "upgrade/files.h"
#include "upgrade/http.h"
#include "upgrade/outcome.h"
#include "upgrade/response.h"

/* libcurl's default is 16 KiB; the curl tool uses 100 KiB, and so
 * (rounded) do we: fewer write() calls per GiB. */
#define DOWNLOAD_BUFFER (128L * 1024)

/* The response being received, from its headers (reset at each status
 * line: a followed redirect has its own). */
struct answer {
  long code;
  bool has_range, range_ok;   /* a Content-Range, and of a form we know */
  long long start, last;      /* bytes START-LAST, or -1 for "bytes *" */
  long long total;            /* /TOTAL, or -1 for "/ *" */
  long long length;           /* Content-Length, or -1 */
  char range[80];             /* the Content-Range as sent, for messages */
  char etag[200];             /* a strong ETag, or "" */
  char last_modified[64];
};

struct fetch {
  const upg_settings *s;
  const char *url;
  upg_partfile *pf;
  upg_http_call *call;
  struct answer a;
  off_t offset;         /* the part file's size when the exchange began */
  long long total;      /* the whole file's size announced, or -1 */
  bool accepted;        /* the answer's body goes into the part file */
  bool restart;         /* it is another version: fetch it from zero */
  char bad[240];        /* why the answer was refused, or "" */
};

static bool
refuse(struct fetch *f, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static bool
refuse(struct fetch *f, const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(f->bad, sizeof f->bad, fmt, ap);
  va_end(ap);
  return false;
}

/* ---------------------------------------------------------- the headers */

/* Digits at *P (no sign), advancing *P.  False when there are none or
 * they overflow. */
static bool
number(const char **p, long long *out)
{
  long long v = 0;
  if (!isdigit((unsigned char)**p))
    return false;
  for (; isdigit((unsigned char)**p); (*p)++) {
    if (v > (__LONG_LONG_MAX__ - 9) / 10)
      return false;
    v = v * 10 + (**p - '0');
  }
  *out = v;
  return true;
}

/* "bytes START-LAST/TOTAL", "bytes START-LAST/ *" or "bytes * /TOTAL". */
static bool
parse_range(struct answer *a, const char *p)
{
  a->start = a->last = a->total = -1;
  if (strncasecmp(p, "bytes", 5) != 0)
    return false;
  for (p += 5; *p == ' '; p++)
    ;
  if (*p == '*')
    p++;
  else if (!number(&p, &a->start) || *p++ != '-' || !number(&p, &a->last) || a->last < a->start)
    return false;
  if (*p++ != '/')
    return false;
  if (*p == '*')
    p++;
  else if (!number(&p, &a->total))
    return false;
  return *p == '\0' && (a->start >= 0 || a->total >= 0);
}

/* VALUE into OUT when it is printable text that fits (it may be sent back
 * in a header), else "". */
static void
keep_text(char *out, size_t max, const char *value)
{
  size_t n = strlen(value);
  out[0] = '\0';
  for (size_t i = 0; i < n; i++)
    if ((unsigned char)value[i] < 0x20 || (unsigned char)value[i] >= 0x7f)
      return;
  if (n < max)
    memcpy(out, value, n + 1);
}

static void
read_field(struct answer *a, const char *name, const char *value)
{
  if (strcasecmp(name, "Content-Range") == 0) {
    a->has_range = true;
    upg_excerpt(value, strlen(value), a->range, sizeof a->range);
    a->range_ok = parse_range(a, value);
  } else if (strcasecmp(name, "Content-Length") == 0) {
    const char *p = value;
    if (!number(&p, &a->length) || *p)
      a->length = -1;
  } else if (strcasecmp(name, "ETag") == 0 && strncmp(value, "W/", 2) != 0) {
    keep_text(a->etag, sizeof a->etag, value); /* a weak one cannot validate a range */
  } else if (strcasecmp(name, "Last-Modified") == 0) {
    keep_text(a->last_modified, sizeof a->last_modified, value);
  }
}

/* What the answer says about the remote file, as provenance validators. */
static jv
validators(const struct answer *a, long long total)
{
  jv v = jv_object();
  if (a->etag[0])
    v = jv_object_set(v, jv_string("etag"), jv_string(a->etag));
  if (a->last_modified[0])
    v = jv_object_set(v, jv_string("last_modified"), jv_string(a->last_modified));
  if (total >= 0)
    v = jv_object_set(v, jv_string("size"), jv_number((double)total));
  return v;
}

static bool
file_failed(struct fetch *f)
{
  f->call->write_errno = errno;
  return false;
}

/* A 206: the rest of the very version we hold, from exactly our offset. */
static bool
accept_partial(struct fetch *f)
{
  struct answer *a = &f->a;
  if (!a->range_ok || a->start != (long long)f->offset || (a->total >= 0 && a->last >= a->total)
      || (a->length >= 0 && a->length != a->last - a->start + 1))
    return refuse(f, "a 206 answer with Content-Range \"%s\" and Content-Length %lld to a request from byte %lld",
                  a->has_range ? a->range : "(none)", a->length, (long long)f->offset);
  int v = upg_partfile_version(f->pf, validators(a, a->total));
  if (v < 0)
    return file_failed(f);
  if (v == UPG_PART_RESTARTED) {
    f->restart = true;
    return false;
  }
  f->total = a->total;
  return f->accepted = true;
}

/* A 200: the whole file, which starts the part file over. */
static bool
accept_whole(struct fetch *f)
{
  struct answer *a = &f->a;
  long long total = a->length;
  if (a->has_range && (!a->range_ok || a->start > 0 || (a->total >= 0 && total >= 0 && a->total != total)))
    return refuse(f, "a 200 answer with Content-Range \"%s\" and Content-Length %lld", a->range, a->length);
  if (total < 0 && a->has_range)
    total = a->total;
  if (f->offset > 0)
    upg_notice(f->s, "download: the server sends the whole file; downloading %s from zero", f->pf->path);
  if (upg_partfile_restart(f->pf, validators(a, total)) != 0)
    return file_failed(f);
  f->offset = 0;
  f->total = total;
  return f->accepted = true;
}

/* One header line.  At the end of a 200's or a 206's headers, before any
 * byte of its body, decide whether the body may be written; returning 0
 * aborts the exchange. */
static size_t
read_header(char *line, size_t size, size_t nmemb, void *data)
{
  struct fetch *f = data;
  size_t n = size * nmemb, len = n;
  while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
    len--;
  if (len == 0) /* the end of a header block */
    return f->a.code == 206 ? (accept_partial(f) ? n : 0) : f->a.code == 200 ? (accept_whole(f) ? n : 0) : n;
  char text[512];
  if (len >= sizeof text)
    return n; /* no header we read is that long */
  memcpy(text, line, len);
  text[len] = '\0';
  if (strncmp(text, "HTTP/", 5) == 0) {
    memset(&f->a, 0, sizeof f->a);
    f->a.length = -1;
    const char *sp = strchr(text, ' ');
    f->a.code = sp ? strtol(sp + 1, NULL, 10) : 0;
    return n;
  }
  char *colon = strchr(text, ':');
  if (colon) {
    *colon = '\0';
    char *value = colon + 1;
    while (*value == ' ' || *value == '\t')
      value++;
    for (char *e = value + strlen(value); e > value && (e[-1] == ' ' || e[-1] == '\t');)
      *--e = '\0';
    read_field(&f->a, text, value);
  }
  return n;
}

static size_t
write_to_part(char *ptr, size_t size, size_t nmemb, void *data)
{
  struct fetch *f = data;
  size_t n = size * nmemb;
  if (!f->accepted) /* an error page: kept in memory for the message */
    return upg_http_collect(ptr, size, nmemb, f->call);
  if (f->total >= 0 && (long long)f->pf->end + (long long)n > f->total) {
    refuse(f, "the server sends more than the %lld bytes it announced", f->total);
    return 0;
  }
  if (upg_partfile_write(f->pf, ptr, n) != 0) {
    f->call->write_errno = errno;
    return 0;
  }
  return n;
}

/* ------------------------------------------------------------ the checks */

static int
bad_answer(struct fetch *f, jv *doc)
{
  /* What this answer added is not trusted; what was there before is. */
  upg_partfile_truncate(f->pf, f->offset);
  return upg_fail(doc, UPG_EXIT_TRANSPORT, upg_failure("CLIENT:BAD_RESPONSE", "download: %s", f->bad));
}

/* A 416 to our range: nothing after byte OFFSET.  The part file is
 * complete if the server's total is its size, of the recorded version;
 * otherwise it is fetched again from zero. */
static int
after_416(struct fetch *f, jv *doc)
{
  struct answer *a = &f->a;
  int v = UPG_PART_RESTARTED;
  if (a->range_ok && a->start < 0 && a->total == (long long)f->pf->end) {
    jv seen = jv_copy(f->pf->validators); /* a 416 need not repeat every validator */
    if (jv_get_kind(seen) != JV_KIND_OBJECT) {
      jv_free(seen);
      seen = jv_object();
    }
    jv told = validators(a, a->total);
    jv_object_foreach(told, k, val) seen = jv_object_set(seen, k, val);
    jv_free(told);
    v = upg_partfile_version(f->pf, seen);
  } else {
    upg_notice(f->s, "download: the server has no byte after the %lld of %s, which is not the whole file; "
               "downloading from zero", (long long)f->offset, f->pf->part_path);
    v = upg_partfile_restart(f->pf, jv_null()) == 0 ? UPG_PART_RESTARTED : -1;
  }
  if (v < 0)
    return upg_fail(doc, UPG_EXIT_USAGE,
                    upg_failure("CLIENT:FILE", "download: cannot write %s: %s", f->pf->part_path, strerror(errno)));
  f->restart = v == UPG_PART_RESTARTED;
  return 0;
}

/* A completed 200 or 206: the part file must now be the whole file. */
static int
check_size(struct fetch *f, jv *doc)
{
  long long have = (long long)f->pf->end;
  long long want = f->total >= 0 ? f->total : f->a.length >= 0 ? (long long)f->offset + f->a.length : -1;
  if (want < 0 || have == want)
    return 0;
  refuse(f, "the server announced %lld bytes and the file has %lld", want, have);
  if (have < want)
    f->offset = f->pf->end; /* what came is of the right version, from the right place: keep it */
  return bad_answer(f, doc);
}

/* One exchange from the part file's end. */
static int
exchange(struct fetch *f, bool *retryable, jv *doc)
{
  upg_http_call call;
  int status = upg_http_begin(&call, f->s, "download", f->url, doc);
  if (status)
    return status;
  memset(&f->a, 0, sizeof f->a);
  f->call = &call;
  f->offset = f->pf->end;
  f->total = -1;
  f->accepted = f->restart = false;
  f->bad[0] = '\0';
  call.idempotent = true;
  call.meter = f->s->progress;
  CURL *h = call.curl;
  curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 1L);
  curl_easy_setopt(h, CURLOPT_BUFFERSIZE, DOWNLOAD_BUFFER);
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, write_to_part);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, f);
  curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, read_header);
  curl_easy_setopt(h, CURLOPT_HEADERDATA, f);
  char range[40], if_range[300];
  if (f->offset > 0) {
    /* CURLOPT_RANGE, not RESUME_FROM: libcurl would quietly drop the
     * offset on a "Content-Range: bytes * /N"; we check the answer. */
    snprintf(range, sizeof range, "%lld-", (long long)f->offset);
    curl_easy_setopt(h, CURLOPT_RANGE, range);
    jv etag = jv_object_get(jv_copy(f->pf->validators), jv_string("etag"));
    jv lm = jv_object_get(jv_copy(f->pf->validators), jv_string("last_modified"));
    jv by = jv_get_kind(etag) == JV_KIND_STRING ? etag : lm;
    if (jv_get_kind(by) == JV_KIND_STRING) {
      snprintf(if_range, sizeof if_range, "If-Range: %s", jv_string_value(by));
      upg_http_header(&call, if_range);
    }
    jv_free(etag);
    jv_free(lm);
  }

  status = upg_http_perform(&call, doc);
  bool replaced = f->bad[0] || f->restart || (status && call.http_code == 416 && f->offset > 0 && call.rc == CURLE_OK);
  if (replaced) { /* what perform made of it is not the story */
    jv_free(*doc);
    *doc = jv_null();
  }
  if (f->bad[0]) {
    status = bad_answer(f, doc);
  } else if (f->restart) {
    status = 0;
  } else if (replaced) {
    status = after_416(f, doc);
  } else if (status) {
    *retryable = call.retryable;
  } else if (!f->accepted) { /* a 2xx or 3xx that is neither 200 nor 206 */
    status = upg_fail(doc, UPG_EXIT_TRANSPORT,
                      upg_failure("CLIENT:BAD_RESPONSE", "download: unexpected HTTP %ld answer", call.http_code));
  } else {
    status = check_size(f, doc);
  }
  upg_http_end(&call);
  f->call = NULL;
  return status;
}

/* One attempt: an exchange, and a second from zero when the first found
 * the part file to be of another version. */
static int
fetch_attempt(void *ctx, bool *retryable, jv *doc)
{
  struct fetch *f = ctx;
  int status = exchange(f, retryable, doc);
  if (status || !f->restart)
    return status;
  jv_free(*doc);
  if ((status = exchange(f, retryable, doc)) || !f->restart)
    return status;
  return upg_fail(doc, UPG_EXIT_TRANSPORT,
                  upg_failure("CLIENT:BAD_RESPONSE", "download: the file changes with every request"));
}

/* What status says about WHAT: its URL and the output name, or a failure
 * (not ready yet, or a status that lacks the field). */
static int
locate(const upg_settings *s, const struct upg_download_kind *k, const char *out, jv status_doc,
       char **url, char **path, jv *doc)
{
  char *state = upg_request_field(status_doc, "state");
  int status = 0;

  *url = upg_request_field(status_doc, k->field);
  if (k->needs_done && (!state || !upg_state_is_success(state))) {
    status = upg_fail(doc, UPG_EXIT_FAILED,
                      upg_failure("CLIENT:NOT_READY", "no %s yet: the request is in state %s", k->what,
                                  state ? state : "(unknown)"));
  } else if (!*url || !**url) {
    status = upg_fail(doc, UPG_EXIT_FAILED,
                      upg_failure("CLIENT:NOT_READY", "status gives no URL for %s (%s)", k->what, k->field));
  } else {
    char *filename = upg_request_field(status_doc, "filename");
    *path = out ? strdup(out) : upg_download_default_name(k, filename, s->request);
    free(filename);
    if (!*path)
      status = upg_fail(doc, UPG_EXIT_USAGE,
                        upg_failure("CLIENT:USAGE", "cannot derive a file name for %s: give -o FILE", k->what));
  }
  free(state);
  return status;
}

/* What the part file's bytes belong to: this platform, request and kind. */
static jv
origin(const upg_settings *s, const char *what)
{
  return JV_OBJECT(jv_string("platform"), jv_string(s->base_url ? s->base_url : ""),
                   jv_string("request"), jv_string(s->request ? s->request : ""),
                   jv_string("what"), jv_string(what));
}

int
upg_download(const upg_settings *s, const char *what, const char *out, bool force, jv *doc)
{
  const struct upg_download_kind *k = upg_download_kind(what);
  if (!k)
    return upg_fail(doc, UPG_EXIT_USAGE, upg_failure("CLIENT:USAGE", "unknown --what %s", what));

  jv status_doc;
  int status = upg_api_status(s, &status_doc);
  if (status) {
    *doc = status_doc;
    return status;
  }
  char *url = NULL, *path = NULL;
  status = locate(s, k, out, status_doc, &url, &path, doc);
  jv_free(status_doc);
  /* A URL we will not fetch must not leave a file behind: check it first. */
  if (status || (status = upg_http_check_url(s, "download", url, doc)))
    goto out;

  upg_partfile pf;
  status = upg_partfile_open(&pf, s, path, origin(s, what), force, doc);
  if (status)
    goto out;
  double start = upg_now();
  struct fetch f = { .s = s, .url = url, .pf = &pf };
  status = upg_retry(s, "download", fetch_attempt, &f, doc);
  long long size = pf.end, resumed_from = pf.resume_from;
  if (status) {
    upg_partfile_abandon(&pf);
    goto out;
  }
  if ((status = upg_partfile_commit(&pf, doc)))
    goto out;
  jv summary = upg_transfer_summary(path, size - resumed_from, resumed_from, size, upg_now() - start);
  summary = jv_object_set(summary, jv_string("what"), jv_string(what));
  *doc = upg_doc_with("transfer", summary);
out:
  free(url);
  free(path);
  return status;
}
