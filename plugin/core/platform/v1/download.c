/* SPDX-License-Identifier: GPL-3.0-or-later */
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
#include <sys/stat.h>

#include "upgrade/api.h"
#include "upgrade/download.h"
#include "upgrade/download_answer.h"
#include "upgrade/download_kinds.h"
#include "upgrade/download_parallel.h"
#include "upgrade/files.h"
#include "upgrade/http.h"
#include "upgrade/outcome.h"
#include "upgrade/progress.h"
#include "upgrade/provenance.h"
#include "upgrade/response.h"
#include "upgrade/transfer_plan.h"

/* libcurl's default is 16 KiB; the curl tool uses 100 KiB, and so
 * (rounded) do we: fewer write() calls per GiB. */
#define DOWNLOAD_BUFFER (128L * 1024)

struct fetch {
  const upg_settings *s;
  const char *url;
  upg_partfile *pf;
  upg_http_call *call;
  struct upg_answer a;
  off_t offset;         /* the part file's size when the exchange began */
  long long total;      /* the whole file's size announced, or -1 */
  bool accepted;        /* the answer's body goes into the part file */
  bool restart;         /* it is another version: fetch it from zero */
  char bad[240];        /* why the answer was refused, or "" */
  int want;             /* streams asked (0: the default); -1: one, always */
  int streams;          /* how many the first answer decided on */
  double rtt;           /* the round trip it measured (s), or -1 */
  bool promote;         /* stopped after its headers: go parallel */
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
  struct upg_answer *a = &f->a;
  if (!a->range_ok || a->start != (long long)f->offset || (a->total >= 0 && a->last >= a->total)
      || (a->length >= 0 && a->length != a->last - a->start + 1))
    return refuse(f, "a 206 answer with Content-Range \"%s\" and Content-Length %lld to a request from byte %lld",
                  a->has_range ? a->range : "(none)", a->length, (long long)f->offset);
  int v = upg_partfile_version(f->pf, upg_answer_validators(a, a->total));
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
  struct upg_answer *a = &f->a;
  long long total = a->length;
  if (a->has_range && (!a->range_ok || a->start > 0 || (a->total >= 0 && total >= 0 && a->total != total)))
    return refuse(f, "a 200 answer with Content-Range \"%s\" and Content-Length %lld", a->range, a->length);
  if (total < 0 && a->has_range)
    total = a->total;
  if (f->offset > 0)
    upg_notice(f->s, "download: the server sends the whole file; downloading %s from zero", f->pf->path);
  if (upg_partfile_restart(f->pf, upg_answer_validators(a, total)) != 0)
    return file_failed(f);
  f->offset = 0;
  f->total = total;
  return f->accepted = true;
}

/* The round trip to the server, in seconds, as this exchange saw it: the
 * TCP handshake's time, or the wait for the first byte of the answer (a
 * kept-alive connection has no handshake; a proxy answers the handshake
 * itself), whichever is longer.  -1 when neither is known. */
static double
round_trip(CURL *h)
{
  curl_off_t connect = 0, lookup = 0, pre = 0, first = 0;
  curl_easy_getinfo(h, CURLINFO_CONNECT_TIME_T, &connect);
  curl_easy_getinfo(h, CURLINFO_NAMELOOKUP_TIME_T, &lookup);
  curl_easy_getinfo(h, CURLINFO_PRETRANSFER_TIME_T, &pre);
  curl_easy_getinfo(h, CURLINFO_STARTTRANSFER_TIME_T, &first);
  curl_off_t tcp = connect > lookup ? connect - lookup : 0, wait = first > pre ? first - pre : 0;
  curl_off_t rtt = tcp > wait ? tcp : wait;
  return rtt > 0 ? (double)rtt / 1e6 : -1;
}

/* An accepted answer, before its body: is the rest worth several streams?
 * Decided from the bytes left and the round trip; if so the exchange stops
 * here and the streams take over (f->promote). */
static bool
promote(struct fetch *f)
{
  f->streams = 1;
  if (f->want < 0)
    return false;
  f->rtt = round_trip(f->call->curl);
  long long left = f->total - (long long)f->offset;
  if (f->total < 0 || left < 2 * upg_download_chunk())
    return false;
  f->streams = upg_streams_wanted(f->want, left, f->rtt);
  return f->promote = f->streams > 1;
}

/* One header line.  At the end of a 200's or a 206's headers, before any
 * byte of its body, decide whether the body may be written; returning 0
 * aborts the exchange. */
static size_t
read_header(char *line, size_t size, size_t nmemb, void *data)
{
  struct fetch *f = data;
  size_t n = size * nmemb;
  if (!upg_answer_line(&f->a, line, n))
    return n;
  bool ok = f->a.code == 206 ? accept_partial(f) : f->a.code == 200 ? accept_whole(f) : true;
  return ok && !(f->accepted && promote(f)) ? n : 0;
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
  struct upg_answer *a = &f->a;
  int v = UPG_PART_RESTARTED;
  if (a->range_ok && a->start < 0 && a->total == (long long)f->pf->end) {
    jv seen = jv_copy(f->pf->validators); /* a 416 need not repeat every validator */
    if (jv_get_kind(seen) != JV_KIND_OBJECT) {
      jv_free(seen);
      seen = jv_object();
    }
    jv told = upg_answer_validators(a, a->total);
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
  f->accepted = f->restart = f->promote = false;
  f->bad[0] = '\0';
  call.idempotent = true;
  char label[300];
  snprintf(label, sizeof label, "downloading %s", upg_path_tail(f->pf->path));
  upg_http_meter(&call, label, (long long)f->offset);
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
    if (upg_answer_if_range(f->pf->validators, if_range, sizeof if_range))
      upg_http_header(&call, if_range);
  }

  status = upg_http_perform(&call, doc);
  bool replaced = f->bad[0] || f->restart || f->promote
                  || (status && call.http_code == 416 && f->offset > 0 && call.rc == CURLE_OK);
  if (replaced) { /* what perform made of it is not the story */
    jv_free(*doc);
    *doc = jv_null();
  }
  if (f->bad[0]) {
    status = bad_answer(f, doc);
  } else if (f->restart || f->promote) {
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

/* ------------------------------------------------------------ parallel */

/* A download that may go parallel: the one-stream exchange first (which
 * finishes a small file itself), then the streams over the chunks. */
struct job {
  struct fetch *f;
  upg_segments sg;
  bool have_sg;         /* sg holds the chunks (from the record or a first answer) */
  bool checked;         /* a first answer told the version (not the record alone) */
  int streams;
  upg_par_report rep;
};

/* The chunks of the file the first answer described, less the prefix
 * already held. */
static int
chunks_from_answer(struct job *j, jv *doc)
{
  if (upg_segments_init(&j->sg, j->f->total, upg_download_chunk()) != 0)
    return upg_fail(doc, UPG_EXIT_TRANSPORT,
                    upg_failure("CLIENT:BAD_RESPONSE", "download: cannot split a file of %lld bytes", j->f->total));
  upg_segments_done_before(&j->sg, (long long)j->f->pf->end);
  j->have_sg = true;
  j->checked = true;
  j->streams = j->f->streams;
  return 0;
}

/* The file changed, and the part file was started over (download_parallel.h):
 * when the answer that told it gave the new version's size and validators,
 * its chunks from zero, asked by one stream first as after a record (no
 * other answer whose body would cross the link for nothing); else the next
 * round asks a first answer. */
static int
chunks_from_change(struct job *j, jv *doc)
{
  jv size = upg_provenance_validator(j->f->pf->validators, "size");
  long long total = jv_get_kind(size) == JV_KIND_NUMBER ? (long long)jv_number_value(size) : -1;
  jv_free(size);
  if (total < 0)
    return 0;
  if (upg_segments_init(&j->sg, total, upg_download_chunk()) != 0)
    return upg_fail(doc, UPG_EXIT_TRANSPORT,
                    upg_failure("CLIENT:BAD_RESPONSE", "download: cannot split a file of %lld bytes", total));
  j->have_sg = true;
  j->checked = false;
  return 0;
}

static int
parallel_attempt(void *ctx, bool *retryable, jv *doc)
{
  struct job *j = ctx;
  struct fetch *f = j->f;
  for (int round = 0; round < 3; round++) {
    int status;
    if (!j->have_sg) {
      if ((status = fetch_attempt(f, retryable, doc)) || !f->promote)
        return status; /* done (or failed) on one stream */
      if ((status = chunks_from_answer(j, doc)))
        return status;
    }
    status = upg_download_parallel(f->s, f->url, f->pf, &j->sg, j->streams, j->checked, &j->rep, retryable, doc);
    j->checked = false; /* a retry of these chunks asks one first again */
    if (status != UPG_PAR_CHANGED && status != UPG_PAR_NO_RANGES)
      return status;
    jv held = upg_segments_to_jv(&j->sg);
    upg_segments_free(&j->sg);
    j->have_sg = false;
    if (status == UPG_PAR_NO_RANGES) { /* one stream from the prefix held, as --parallel 1 */
      upg_notice(f->s, "download: the server ignores ranges; one stream");
      f->want = -1;
      if (upg_partfile_unsegment(f->pf, held) != 0)
        return upg_fail(doc, UPG_EXIT_USAGE, upg_failure("CLIENT:FILE", "download: cannot write %s: %s",
                                                         f->pf->part_path, strerror(errno)));
      return fetch_attempt(f, retryable, doc);
    }
    jv_free(held);
    upg_notice(f->s, "download: the remote file changed since %s was started; downloading from zero",
               f->pf->part_path);
    if (status == UPG_PAR_CHANGED && (status = chunks_from_change(j, doc)))
      return status;
  }
  return upg_fail(doc, UPG_EXIT_TRANSPORT,
                  upg_failure("CLIENT:BAD_RESPONSE", "download: the file changes with every request"));
}

/* A .part a parallel download left: its chunks, if its record is sound
 * and of the recorded size (files.c made sure the file holds them); else
 * it starts over. */
static int
chunks_from_record(struct job *j, jv *doc)
{
  upg_partfile *pf = j->f->pf;
  jv size = upg_provenance_validator(pf->validators, "size");
  bool sound = upg_segments_from_jv(&j->sg, jv_copy(pf->segments)) == 0 && jv_get_kind(size) == JV_KIND_NUMBER
               && jv_number_value(size) == (double)j->sg.size;
  jv_free(size);
  if (sound) {
    j->have_sg = true;
    pf->resume_from = upg_segments_done_bytes(&j->sg);
    long long left = j->sg.size - pf->resume_from;
    j->streams = upg_streams_wanted(j->f->want, left, -1);
    return 0;
  }
  upg_segments_free(&j->sg);
  if (upg_partfile_restart(pf, jv_null()) != 0)
    return upg_fail(doc, UPG_EXIT_USAGE, upg_failure("CLIENT:FILE", "download: cannot write %s: %s",
                                                     pf->part_path, strerror(errno)));
  return 0;
}

/* "streams", "in_flight" and "per_stream" of the summary. */
static jv
stream_report(jv summary, const upg_par_report *rep, int want, long long one_stream_bytes)
{
  int asked = rep->asked > 0 ? rep->asked : want > 0 ? want : 1;
  long long per[UPG_PARALLEL_MAX];
  memcpy(per, rep->per_stream, sizeof per);
  per[0] += one_stream_bytes; /* the first answer's, if any */
  summary = jv_object_set(summary, jv_string("in_flight"), jv_number(rep->in_flight > 0 ? rep->in_flight : 1));
  return upg_transfer_streams(summary, asked, per, rep->given_up);
}

/* A failed download whose part file stays, with bytes in it: DOC gains
 * "part" {"file", "bytes"}, for the caller's "how to go on". */
static jv
part_kept(jv doc, const char *part, long long bytes)
{
  struct stat st;
  if (!part || bytes <= 0 || lstat(part, &st) != 0 || !S_ISREG(st.st_mode))
    return doc;
  return jv_object_set(doc, jv_string("part"), JV_OBJECT(jv_string("file"), jv_string(part), jv_string("bytes"),
                                                        jv_number((double)bytes)));
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

  /* --parallel 1: one stream, the part file appended to, as ever. */
  bool one = s->parallel == 1;
  upg_partfile pf;
  status = one ? upg_partfile_open(&pf, s, path, origin(s, what), force, doc)
               : upg_partfile_open_segmented(&pf, s, path, origin(s, what), force, doc);
  if (status)
    goto out;
  double start = upg_now();
  struct fetch f = { .s = s, .url = url, .pf = &pf, .want = one ? -1 : s->parallel, .rtt = -1 };
  struct job j = { .f = &f };
  if (jv_get_kind(pf.segments) == JV_KIND_OBJECT)
    status = chunks_from_record(&j, doc);
  long long resumed_from = pf.resume_from;
  if (resumed_from > 0) { /* as curl says "Resuming transfer from byte position" */
    char at[32];
    upg_format_bytes(at, sizeof at, (double)resumed_from);
    upg_notice(s, "resuming %s at %s", pf.part_path, at);
  }
  if (!status)
    status = one ? upg_retry(s, "download", fetch_attempt, &f, doc)
                 : upg_retry(s, "download", parallel_attempt, &j, doc);
  if (!status && j.have_sg) {
    upg_partfile_truncate(&pf, j.sg.size); /* bytes past the end, from an older file of this name */
    if ((long long)pf.end != j.sg.size) /* every chunk is done: cannot be, but never rename a short file */
      status = upg_fail(doc, UPG_EXIT_TRANSPORT, upg_failure("CLIENT:BAD_RESPONSE", "download: %s holds %lld "
                        "bytes of %lld", pf.part_path, (long long)pf.end, j.sg.size));
  }
  long long size = j.have_sg ? j.sg.size : pf.end;
  long long kept = j.have_sg ? upg_segments_done_bytes(&j.sg) : (long long)pf.end;
  if (pf.resume_from < resumed_from)
    resumed_from = pf.resume_from; /* started over */
  upg_segments_free(&j.sg);
  if (status) {
    char *part = strdup(pf.part_path);
    upg_partfile_abandon(&pf);
    *doc = part_kept(*doc, part, kept);
    free(part);
    goto out;
  }
  if ((status = upg_partfile_commit(&pf, doc)))
    goto out;
  long long bytes = size - resumed_from, streamed = 0;
  for (int i = 0; i < j.rep.asked; i++)
    streamed += j.rep.per_stream[i];
  jv summary = upg_transfer_summary(path, bytes, resumed_from, size, upg_now() - start);
  summary = jv_object_set(summary, jv_string("what"), jv_string(what));
  summary = stream_report(summary, &j.rep, s->parallel, bytes - streamed > 0 ? bytes - streamed : 0);
  if (f.rtt >= 0) /* what the default went by */
    summary = jv_object_set(summary, jv_string("round_trip_ms"), jv_number((double)(long long)(f.rtt * 10000) / 10));
  *doc = upg_doc_with("transfer", summary);
out:
  free(url);
  free(path);
  return status;
}

bool
upg_download_part_kept(jv doc, char *text, size_t len)
{
  jv part = jv_get_kind(doc) == JV_KIND_OBJECT ? jv_object_get(jv_copy(doc), jv_string("part")) : jv_null();
  jv file = jv_get_kind(part) == JV_KIND_OBJECT ? jv_object_get(jv_copy(part), jv_string("file")) : jv_null();
  jv bytes = jv_get_kind(part) == JV_KIND_OBJECT ? jv_object_get(jv_copy(part), jv_string("bytes")) : jv_null();
  bool kept = jv_get_kind(file) == JV_KIND_STRING && jv_get_kind(bytes) == JV_KIND_NUMBER;
  if (kept) {
    char size[32];
    upg_format_bytes(size, sizeof size, jv_number_value(bytes));
    snprintf(text, len, "%s keeps %s", jv_string_value(file), size);
  }
  jv_free(part);
  jv_free(file);
  jv_free(bytes);
  return kept;
}
