/* SPDX-License-Identifier: GPL-3.0-or-later */
/* upload.c -- the `upload` method: the dump streamed as the request body.
 *
 * The file is never read whole: libcurl pulls it through read_chunk() with
 * a known Content-Length, so memory stays flat for a 4 GiB dump (the API
 * doc's `curl --data-binary @file` recipe loads it all, and fails at 1 GiB
 * on small machines).
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "upgrade/api.h"
#include "upgrade/files.h"
#include "upgrade/http.h"
#include "upgrade/outcome.h"
#include "upgrade/pg.h"
#include "upgrade/response.h"
#include "upgrade/upload.h"

/* Above libcurl's 64 KiB default, fewer syscalls; measured (bench/): no
 * faster beyond this, only more memory. */
#define UPLOAD_BUFFER (256L * 1024)

struct upload {
  const upg_settings *s;
  const char *path;
  int fd;
  off_t size;
  upg_http_call *call;
};

static size_t
read_chunk(char *buf, size_t size, size_t nmemb, void *data)
{
  struct upload *up = data;
  for (;;) {
    ssize_t n = read(up->fd, buf, size * nmemb);
    if (n >= 0)
      return (size_t)n;
    if (errno != EINTR) {
      up->call->read_errno = errno;
      return CURL_READFUNC_ABORT;
    }
  }
}

/* libcurl rewinds the body when it must send it again (a redirect, a
 * retried connection): without this it would fail instead. */
static int
seek_body(void *data, curl_off_t offset, int origin)
{
  struct upload *up = data;
  return lseek(up->fd, (off_t)offset, origin) < 0 ? CURL_SEEKFUNC_FAIL : CURL_SEEKFUNC_OK;
}

static int
upload_once(void *ctx, bool *retryable, jv *doc)
{
  struct upload *up = ctx;
  upg_http_call call;
  double start = upg_now();
  char *url = upg_request_url(up->s, "upload");
  int status;

  if (!url)
    return upg_fail(doc, UPG_EXIT_TRANSPORT, upg_failure("CLIENT:NETWORK", "upload: out of memory"));
  if (lseek(up->fd, 0, SEEK_SET) != 0) {
    free(url);
    return upg_fail(doc, UPG_EXIT_USAGE, upg_failure("CLIENT:FILE", "cannot read %s", up->path));
  }
  status = upg_http_begin(&call, up->s, "upload", url, doc);
  free(url);
  if (status)
    return status;
  up->call = &call;
  call.idempotent = true; /* a second upload replaces the first */
  char label[300];
  snprintf(label, sizeof label, "uploading %s", upg_path_tail(up->path));
  upg_http_meter(&call, label, 0);
  CURL *h = call.curl;
  curl_easy_setopt(h, CURLOPT_POST, 1L);
  curl_easy_setopt(h, CURLOPT_READFUNCTION, read_chunk);
  curl_easy_setopt(h, CURLOPT_READDATA, up);
  curl_easy_setopt(h, CURLOPT_SEEKFUNCTION, seek_body);
  curl_easy_setopt(h, CURLOPT_SEEKDATA, up);
  curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)up->size);
  curl_easy_setopt(h, CURLOPT_UPLOAD_BUFFERSIZE, UPLOAD_BUFFER);
  upg_http_header(&call, "Content-Type: application/octet-stream");
  upg_http_header(&call, "Expect:"); /* no 100-continue round trip */

  status = upg_http_perform(&call, doc);
  if (status) {
    *retryable = call.retryable;
  } else {
    status = upg_response_parse("upload", call.body ? call.body : "", call.body_len, doc);
    if (status == UPG_EXIT_TRANSPORT)
      *retryable = true;
    jv summary = upg_transfer_summary(up->path, (long long)up->size, 0, (long long)up->size,
                                      upg_now() - start);
    if (status != UPG_EXIT_TRANSPORT)
      *doc = jv_object_set(*doc, jv_string("transfer"), summary);
    else
      jv_free(summary);
  }
  upg_http_end(&call);
  up->call = NULL;
  return status;
}

int
upg_upload_check_fd(int fd, const char *path, jv *doc)
{
  unsigned char head[4096];
  ssize_t len = pread(fd, head, sizeof head, 0);
  int err = errno;
  if (len < 0)
    return upg_fail(doc, UPG_EXIT_USAGE, upg_failure("CLIENT:FILE", "cannot read %s: %s", path, strerror(err)));
  char what[128];
  if (len == 0 || upg_dump_plausible(head, (size_t)len, what, sizeof what))
    return 0; /* an empty file is the caller's to refuse, in its words */
  return upg_fail(doc, UPG_EXIT_USAGE,
                  upg_failure("CLIENT:FILE", "%s is not a database dump: it looks like %s; the platform takes a "
                              "custom-format dump (pg_dump -Fc, `upgrade dump`), a zip, or SQL text (plain or "
                              "gzip)", path, what));
}

int
upg_upload_check_input(const char *path, jv *doc)
{
  int fd;
  off_t size;
  int status = upg_input_open(path, &fd, &size, doc);
  if (status)
    return status;
  status = upg_upload_check_fd(fd, path, doc);
  close(fd);
  return status;
}

int
upg_api_upload(const upg_settings *s, const char *path, jv *doc)
{
  int status = upg_require_request(s, doc);
  if (status)
    return status;
  struct upload up = { s, path, -1, 0, NULL };
  status = upg_input_open(path, &up.fd, &up.size, doc);
  if (status)
    return status;
  if ((status = upg_upload_check_fd(up.fd, path, doc)))
    goto out;
  if (up.size == 0) {
    status = upg_fail(doc, UPG_EXIT_USAGE, upg_failure("CLIENT:FILE", "%s is empty: nothing to upload", path));
    goto out;
  }
  status = upg_retry(s, "upload", upload_once, &up, doc);
out:
  close(up.fd);
  return status;
}
