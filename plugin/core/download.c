/* download.c -- `download`: fetch one of the files status links to.
 *
 * The URL comes from a fresh status.  The bytes go to FILE.part (files.h),
 * resumed with a range request when a previous try left a prefix, and the
 * file is renamed only once its size matches what the server announced.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

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

struct fetch;
static int fetch_once(struct fetch *f, bool *retryable, jv *doc);

struct fetch {
  const upg_settings *s;
  const char *url;
  upg_partfile *pf;
  upg_http_call *call;
  long long total;     /* the size a 416 answer gives in its Content-Range */
};

static size_t
write_to_part(char *ptr, size_t size, size_t nmemb, void *data)
{
  struct fetch *f = data;
  if (upg_partfile_write(f->pf, ptr, size * nmemb) != 0) {
    f->call->write_errno = errno;
    return 0;
  }
  return size * nmemb;
}

static size_t
read_header(char *line, size_t size, size_t nmemb, void *data)
{
  struct fetch *f = data;
  long long total;
  if (strncasecmp(line, "Content-Range: bytes */", 23) == 0 && sscanf(line + 23, "%lld", &total) == 1)
    f->total = total;
  return size * nmemb;
}

static off_t
part_size(const upg_partfile *pf)
{
  struct stat st;
  return fstat(pf->fd, &st) == 0 ? st.st_size : -1;
}

/* The server cannot continue from our partial file: drop it and fetch the
 * whole file again, once, whatever --retry says. */
static int
restart_from_zero(struct fetch *f, bool *retryable, jv *doc, const char *why)
{
  jv_free(*doc);
  if (upg_partfile_truncate(f->pf) != 0)
    return upg_fail(doc, UPG_EXIT_USAGE,
                    upg_failure("CLIENT:FILE", "cannot truncate %s: %s", f->pf->part_path, strerror(errno)));
  upg_notice(f->s, "download: %s; starting over", why);
  return fetch_once(f, retryable, doc);
}

/* After the exchange: is FILE.part now the whole file?  Sets *restart when
 * the partial file cannot be continued. */
static int
check_complete(struct fetch *f, off_t offset, bool *retryable, const char **restart, jv *doc)
{
  curl_off_t remaining = -1;
  off_t have = part_size(f->pf);

  if (f->call->http_code == 416) { /* nothing left to send from OFFSET */
    if (f->total >= 0 && f->total == have)
      return 0;
    *restart = "the local partial file is larger than the remote one";
    return upg_fail(doc, UPG_EXIT_TRANSPORT, upg_failure("CLIENT:BAD_RESPONSE", "download: %s", *restart));
  }
  curl_easy_getinfo(f->call->curl, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &remaining);
  if (remaining >= 0 && have != offset + remaining) {
    *retryable = true;
    return upg_fail(doc, UPG_EXIT_TRANSPORT,
                    upg_failure("CLIENT:NETWORK", "download: got %lld bytes of %lld",
                                (long long)have, (long long)(offset + remaining)));
  }
  return 0;
}

static int
fetch_once(struct fetch *f, bool *retryable, jv *doc)
{
  upg_http_call call;
  const char *restart = NULL;
  off_t offset = part_size(f->pf);
  int status = upg_http_begin(&call, f->s, "download", f->url, doc);
  if (status)
    return status;
  f->call = &call;
  f->total = -1;
  call.idempotent = true;
  call.meter = f->s->progress;
  CURL *h = call.curl;
  curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 1L);
  curl_easy_setopt(h, CURLOPT_FAILONERROR, 1L); /* never write an error page into a dump */
  curl_easy_setopt(h, CURLOPT_BUFFERSIZE, DOWNLOAD_BUFFER);
  curl_easy_setopt(h, CURLOPT_RESUME_FROM_LARGE, (curl_off_t)offset);
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, write_to_part);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, f);
  curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, read_header);
  curl_easy_setopt(h, CURLOPT_HEADERDATA, f);

  status = upg_http_perform(&call, doc);
  if (status && call.rc == CURLE_RANGE_ERROR) {
    restart = "the server cannot resume";
  } else if (status && call.http_code == 416 && offset > 0) {
    jv_free(*doc); /* "nothing from OFFSET on": complete, or too long */
    status = check_complete(f, offset, retryable, &restart, doc);
  } else if (status) {
    *retryable = call.retryable;
  } else {
    status = check_complete(f, offset, retryable, &restart, doc);
  }
  upg_http_end(&call);
  f->call = NULL;
  if (restart && offset > 0)
    return restart_from_zero(f, retryable, doc, restart);
  return status;
}

static int
fetch_attempt(void *ctx, bool *retryable, jv *doc)
{
  return fetch_once(ctx, retryable, doc);
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
  if (status)
    goto out;

  upg_partfile pf;
  status = upg_partfile_open(&pf, path, force, doc);
  if (status)
    goto out;
  long long resumed_from = pf.resume_from;
  double start = upg_now();
  struct fetch f = { s, url, &pf, NULL, -1 };
  status = upg_retry(s, "download", fetch_attempt, &f, doc);
  long long size = part_size(&pf);
  if (status) {
    upg_partfile_abandon(&pf);
    goto out;
  }
  status = upg_partfile_commit(&pf, doc);
  if (!status) {
    jv summary = upg_transfer_summary(path, size - resumed_from, resumed_from, size, upg_now() - start);
    summary = jv_object_set(summary, jv_string("what"), jv_string(what));
    *doc = upg_doc_with("transfer", summary);
  }
out:
  free(url);
  free(path);
  return status;
}
