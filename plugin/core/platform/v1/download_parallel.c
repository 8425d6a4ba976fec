/* SPDX-License-Identifier: GPL-3.0-or-later */
/* download_parallel.c -- range requests at once over one multi handle
 * (download_parallel.h). */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "upgrade/checkpointer.h"
#include "upgrade/download_answer.h"
#include "upgrade/download_parallel.h"
#include "upgrade/http.h"
#include "upgrade/outcome.h"
#include "upgrade/progress.h"
#include "upgrade/provenance.h"
#include "upgrade/transfer_plan.h"

/* As download.c: fewer write calls per GiB than libcurl's 16 KiB. */
#define STREAM_BUFFER (128L * 1024)
/* A stream asks for at most this many chunks at once (64 MiB of 8 MiB
 * chunks): one round trip of idle per run is lost in the noise, and the
 * runs stay short enough to share the tail among the streams. */
#define RUN_MAX 8
/* What the streams wrote is made durable and recorded (whole chunks and
 * the heads of the ones under way) once a stream has written
 * upg_checkpoint_bytes since the last time, or after CHECKPOINT_SECONDS:
 * a kill redoes at most that much per stream plus what was in flight.
 * The checkpointer's thread does it while the streams go on (on this
 * loop's thread it cost a third of the speed: checkpointer.h). */
#define CHECKPOINT_SECONDS 1.0
/* How long the loop waits for sockets before it looks at Ctrl-C again. */
#define POLL_MS 100

struct par;

struct stream {
  struct par *p;
  int index;
  CURL *h;                /* owned; NULL once given up */
  upg_http_call call;     /* the options and the error page of the exchange */
  struct upg_answer a;
  bool running;           /* in the multi handle */
  size_t first, n;        /* the run of chunks claimed */
  size_t next_chunk;      /* the first of them not yet all written */
  long long start, end;   /* the bytes asked for: [start, end) */
  long long pos;          /* the next byte to write */
  long long unsettled;    /* bytes written since the last checkpoint */
  bool accepted;          /* the answer's body goes into the file */
  bool changed;           /* the answer is of another version */
  bool ignored;           /* a 200 of the same version: ranges are ignored */
  char bad[240];          /* why the answer was refused, or "" */
};

struct par {
  const upg_settings *s;
  const char *url;
  upg_partfile *pf;
  upg_segments *sg;       /* under cp's lock while cp runs */
  upg_checkpointer cp;
  CURLM *multi;
  struct stream st[UPG_PARALLEL_MAX];
  int count;              /* streams made */
  int running;            /* of them, in the multi handle now */
  upg_par_report *rep;
  long long unsettled;    /* bytes written by all streams, not yet durable */
  long long due;          /* a stream that wrote this much asks for a checkpoint */
  bool checkpoint_due;
  double last_checkpoint;
  bool any_accepted;      /* some 206 was accepted in this call */
  bool one_first;         /* the version is unchecked: one stream asks first */
  int fatal;              /* an exit status that ends the call, or 0 */
  jv fatal_doc;
  int result;             /* UPG_PAR_CHANGED / UPG_PAR_NO_RANGES, or 0 */
  jv changed_to;          /* the validators (and size) of the version an answer
                             told instead of ours, or null */
  jv last_error;          /* why the last stream given up was, or null */
  bool last_retryable;
  upg_meter meter;        /* libcurl's meter is one transfer's: ours sums them */
  long long written;      /* bytes the streams wrote in this call */
};

static bool
refuse(struct stream *st, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static bool
refuse(struct stream *st, const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(st->bad, sizeof st->bad, fmt, ap);
  va_end(ap);
  return false;
}

static void
set_fatal(struct par *p, int status, jv doc)
{
  if (p->fatal) {
    jv_free(doc);
    return;
  }
  p->fatal = status;
  p->fatal_doc = doc;
}

/* ------------------------------------------------------------ durability */

/* Ask the checkpointer to make what is written durable and record it. */
static void
checkpoint(struct par *p)
{
  p->last_checkpoint = upg_now();
  p->unsettled = 0;
  p->checkpoint_due = false;
  for (int i = 0; i < p->count; i++)
    p->st[i].unsettled = 0;
  upg_checkpointer_ask(&p->cp);
}

static void
file_failed(struct par *p, const char *what)
{
  jv doc = jv_null();
  int status = upg_fail(&doc, UPG_EXIT_USAGE, upg_failure("CLIENT:FILE", "download: cannot %s %s: %s", what,
                                                            p->pf->part_path, strerror(errno)));
  set_fatal(p, status, doc);
}

/* ------------------------------------------------------------ an answer */

/* An answer told version SEEN (consumed) of TOTAL bytes instead of ours:
 * the first such is kept, when it says enough to ask ranges of it (a
 * size, and an ETag or Last-Modified for If-Range), so that the caller
 * starts the new version without another answer whose body would cross
 * the link for nothing. */
static void
changed_to(struct par *p, jv seen, long long total)
{
  bool usable = total >= 0 && jv_get_kind(p->changed_to) == JV_KIND_NULL
                && (jv_object_has(jv_copy(seen), jv_string("etag"))
                    || jv_object_has(jv_copy(seen), jv_string("last_modified")));
  if (!usable) {
    jv_free(seen);
    return;
  }
  p->changed_to = seen;
}

/* A 206 to ST's range: exactly the bytes asked, of the recorded total and
 * version.  The first one of the call makes sure the record is version 2
 * (what is held made durable first) before any byte off the prefix. */
static bool
accept_range(struct stream *st)
{
  struct par *p = st->p;
  struct upg_answer *a = &st->a;
  if (!a->range_ok || a->start != st->start || a->last != st->end - 1
      || (a->length >= 0 && a->length != st->end - st->start))
    return refuse(st, "a 206 answer with Content-Range \"%s\" and Content-Length %lld to a request for bytes "
                  "%lld-%lld", a->has_range ? a->range : "(none)", a->length, st->start, st->end - 1);
  jv seen = upg_answer_validators(a, a->total);
  bool same = upg_provenance_same_version(p->pf->validators, seen) && a->total == p->sg->size;
  if (!same) {
    changed_to(p, seen, a->total);
    st->changed = true;
    return false;
  }
  jv_free(seen);
  if (!p->pf->holes_ok) { /* nothing written yet: the checkpointer is idle */
    upg_checkpointer_lock(&p->cp);
    jv segments = upg_segments_to_jv(p->sg);
    upg_checkpointer_unlock(&p->cp);
    if (upg_partfile_sync(p->pf) != 0 || upg_partfile_record_segments(p->pf, segments) != 0) {
      file_failed(p, "record");
      return false;
    }
  }
  p->any_accepted = true;
  return st->accepted = true;
}

/* A 200 to a range request: the whole file.  Of the same version, the
 * server ignores ranges; of another, the file changed. */
static bool
whole_answer(struct stream *st)
{
  jv seen = upg_answer_validators(&st->a, st->a.length);
  bool same = upg_provenance_same_version(st->p->pf->validators, seen);
  if (same) {
    jv_free(seen);
    st->ignored = true;
  } else {
    changed_to(st->p, seen, st->a.length);
    st->changed = true;
  }
  return false;
}

static size_t
stream_header(char *line, size_t size, size_t nmemb, void *data)
{
  struct stream *st = data;
  size_t n = size * nmemb;
  if (!upg_answer_line(&st->a, line, n))
    return n;
  if (st->a.code == 206)
    return accept_range(st) ? n : 0;
  if (st->a.code == 200)
    return whole_answer(st) ? n : 0;
  return n; /* a redirect's headers, or an error page kept for its message */
}

/* Tell the bookkeeping how far ST's run is written: the chunks it
 * completed, and the head of the one it is in. */
static void
chunks_written(struct stream *st, long long n)
{
  struct par *p = st->p;
  p->unsettled += n;
  st->unsettled += n;
  if (st->unsettled >= p->due)
    p->checkpoint_due = true;
  upg_checkpointer_lock(&p->cp);
  while (st->next_chunk < st->first + st->n) {
    long long start = upg_segments_start(p->sg, st->next_chunk);
    upg_segments_progress(p->sg, st->next_chunk, st->pos - start);
    if (st->pos < start + upg_segments_length(p->sg, st->next_chunk))
      break;
    st->next_chunk++;
  }
  upg_checkpointer_unlock(&p->cp);
}

static size_t
stream_write(char *ptr, size_t size, size_t nmemb, void *data)
{
  struct stream *st = data;
  struct par *p = st->p;
  size_t n = size * nmemb;
  if (!st->accepted)
    return upg_http_collect(ptr, size, nmemb, &st->call);
  if (st->pos + (long long)n > st->end) {
    refuse(st, "the server sends more than the %lld bytes of the range it announced", st->end - st->start);
    return 0;
  }
  if (upg_partfile_pwrite(p->pf, ptr, n, st->pos) != 0) {
    st->call.write_errno = errno;
    return 0;
  }
  st->pos += (long long)n;
  p->rep->per_stream[st->index] += (long long)n;
  p->written += (long long)n;
  chunks_written(st, (long long)n);
  return n;
}

/* ------------------------------------------------------------ the streams */

/* Claim a run of chunks for ST (a share of what is left) and set the
 * bytes it asks for; false when none is left. */
static bool
claim(struct stream *st)
{
  struct par *p = st->p;
  upg_checkpointer_lock(&p->cp);
  size_t run = upg_segments_todo(p->sg) / (size_t)p->count;
  run = run < 1 ? 1 : run > RUN_MAX ? RUN_MAX : run;
  bool got = upg_segments_claim(p->sg, run, &st->first, &st->n);
  if (got) {
    st->next_chunk = st->first;
    st->start = st->pos = upg_segments_resume_at(p->sg, st->first);
    size_t last = st->first + st->n - 1;
    st->end = upg_segments_start(p->sg, last) + upg_segments_length(p->sg, last);
  }
  upg_checkpointer_unlock(&p->cp);
  return got;
}

/* What ST claimed and did not write goes back to the others. */
static void
release(struct stream *st)
{
  upg_checkpointer_lock(&st->p->cp);
  upg_segments_release(st->p->sg, st->first, st->n);
  upg_checkpointer_unlock(&st->p->cp);
}

/* Give ST a run of chunks and start its request; false when nothing is
 * left to claim (or the request cannot be made: a fatal error). */
static bool
stream_start(struct stream *st)
{
  struct par *p = st->p;
  if (!claim(st))
    return false;
  jv doc = jv_null();
  int status = upg_http_begin_handle(&st->call, st->h, p->s, "download", p->url, &doc);
  if (status) {
    release(st);
    set_fatal(p, status, doc);
    return false;
  }
  memset(&st->a, 0, sizeof st->a);
  st->accepted = st->changed = st->ignored = false;
  st->bad[0] = '\0';
  st->call.idempotent = true;
  CURL *h = st->h;
  char range[64], if_range[300];
  snprintf(range, sizeof range, "%lld-%lld", st->start, st->end - 1);
  curl_easy_setopt(h, CURLOPT_RANGE, range);
  if (upg_answer_if_range(p->pf->validators, if_range, sizeof if_range))
    upg_http_header(&st->call, if_range);
  if (st->call.headers)
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, st->call.headers);
  curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 1L);
  curl_easy_setopt(h, CURLOPT_BUFFERSIZE, STREAM_BUFFER);
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, stream_write);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, st);
  curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, stream_header);
  curl_easy_setopt(h, CURLOPT_HEADERDATA, st);
  curl_easy_setopt(h, CURLOPT_PRIVATE, st);
  if (curl_multi_add_handle(p->multi, h) != CURLM_OK) {
    upg_http_end(&st->call);
    release(st);
    errno = ENOMEM;
    file_failed(p, "start a request for");
    return false;
  }
  st->running = true;
  p->running++;
  if (p->running > p->rep->in_flight)
    p->rep->in_flight = p->running;
  return true;
}

/* ST's exchange is over (or is being stopped): out of the multi handle,
 * what it claimed and did not write back to the others. */
static void
stream_stop(struct stream *st)
{
  struct par *p = st->p;
  if (!st->running)
    return;
  curl_multi_remove_handle(p->multi, st->h);
  upg_http_end(&st->call);
  release(st);
  st->running = false;
  p->running--;
}

/* Streams that found nothing to claim are idle; a stream given up just
 * gave its chunks back: the idle ones take them (called only then, not on
 * every turn of the loop). */
static void
restart_idle(struct par *p)
{
  upg_checkpointer_lock(&p->cp);
  size_t todo = upg_segments_todo(p->sg);
  upg_checkpointer_unlock(&p->cp);
  if (p->fatal || p->result || todo == 0)
    return;
  for (int i = 0; i < p->count; i++) {
    if (p->one_first && !p->any_accepted && p->running > 0)
      return; /* the first answer is awaited (run_loop) */
    if (p->st[i].h && !p->st[i].running && !stream_start(&p->st[i]))
      break;
  }
}

/* Give ST up: its handle (and connection) closed, WHY kept for the end. */
static void
stream_give_up(struct stream *st, jv why, bool retryable)
{
  struct par *p = st->p;
  stream_stop(st);
  curl_easy_cleanup(st->h);
  st->h = NULL;
  if (jv_is_valid(why) && jv_get_kind(why) != JV_KIND_NULL) {
    p->rep->given_up++;
    if (p->running > 0 || p->any_accepted)
      upg_notice(p->s, "download: stream %d given up, the others go on", st->index + 1);
    jv_free(p->last_error);
    p->last_error = why;
    p->last_retryable = retryable;
  } else {
    jv_free(why);
  }
  restart_idle(p);
}

/* The exchange of ST ended with RC. */
static void
stream_done(struct stream *st, CURLcode rc)
{
  struct par *p = st->p;
  if (st->bad[0]) {
    jv doc = jv_null();
    int status = upg_fail(&doc, UPG_EXIT_TRANSPORT, upg_failure("CLIENT:BAD_RESPONSE", "download: %s", st->bad));
    set_fatal(p, status, doc);
    stream_stop(st);
    return;
  }
  if (st->changed || st->ignored) {
    if (st->changed)
      p->result = UPG_PAR_CHANGED;
    else if (!p->any_accepted && !p->result)
      p->result = UPG_PAR_NO_RANGES;
    stream_give_up(st, jv_null(), false);
    return;
  }
  if (rc == CURLE_OK && st->accepted && st->pos == st->end) { /* its run is written: the next one */
    stream_stop(st);
    stream_start(st);
    return;
  }
  jv doc = jv_null();
  int status = upg_http_finish(&st->call, rc, &doc);
  if (status == 0) { /* an answer that is neither 206 nor an error, or one that ended short */
    status = upg_fail(&doc, UPG_EXIT_TRANSPORT,
                      upg_failure("CLIENT:BAD_RESPONSE", "download: an HTTP %ld answer of %lld bytes to a request "
                                  "for bytes %lld-%lld", st->call.http_code, st->pos - st->start, st->start,
                                  st->end - 1));
    st->call.retryable = true;
  }
  if (status == UPG_EXIT_SECURITY || status == UPG_EXIT_USAGE || status > UPG_EXIT_SIGNAL_BASE) {
    set_fatal(p, status, doc);
    stream_stop(st);
    return;
  }
  stream_give_up(st, doc, st->call.retryable);
}

/* ------------------------------------------------------------ the loop */

static void
read_messages(struct par *p)
{
  CURLMsg *m;
  int left;
  while ((m = curl_multi_info_read(p->multi, &left))) {
    if (m->msg != CURLMSG_DONE)
      continue;
    struct stream *st = NULL;
    curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&st);
    CURLcode rc = m->data.result;
    if (st)
      stream_done(st, rc); /* may re-add the handle: m is not used after */
  }
}

/* Resumed from a record, no answer has told the version yet: the streams
 * would all ask their ranges of what may be another file now, and each
 * answer's body in flight would cross the link for nothing before its
 * headers said so.  One stream asks first; the others start once a 206
 * of the recorded version came (or the file changed after one answer).
 * After a first answer (download.c) every stream starts at once. */
static void
run_loop(struct par *p)
{
  restart_idle(p);
  bool others = !p->one_first;
  while (p->running > 0 && !p->fatal && !p->result) {
    int still = 0;
    if (curl_multi_perform(p->multi, &still) != CURLM_OK) {
      errno = EIO;
      file_failed(p, "run the transfers of");
      break;
    }
    read_messages(p);
    if (!others && p->any_accepted) {
      others = true;
      restart_idle(p);
    }
    upg_meter_update(&p->meter, p->meter.base + p->written, p->sg->size);
    int sig = upg_interrupted(p->s);
    if (sig) {
      jv doc = jv_null();
      int status = upg_fail(&doc, UPG_EXIT_SIGNAL_BASE + sig,
                            upg_failure("CLIENT:INTERRUPTED", "download: interrupted by signal %d", sig));
      set_fatal(p, status, doc);
      break;
    }
    if (p->checkpoint_due || (p->unsettled > 0 && upg_now() - p->last_checkpoint >= CHECKPOINT_SECONDS))
      checkpoint(p);
    if ((errno = upg_checkpointer_error(&p->cp)) != 0)
      file_failed(p, "record");
    if (p->running > 0 && !p->fatal && !p->result)
      curl_multi_poll(p->multi, NULL, 0, POLL_MS, NULL);
  }
}

static int
setup(struct par *p, int streams)
{
  p->multi = curl_multi_init();
  if (!p->multi)
    return -1;
  /* One TCP connection per stream: several windows are the point. */
  curl_multi_setopt(p->multi, CURLMOPT_PIPELINING, (long)CURLPIPE_NOTHING);
  for (int i = 0; i < streams; i++) {
    struct stream *st = &p->st[i];
    st->p = p;
    st->index = i;
    st->h = curl_easy_init();
    if (!st->h)
      return -1;
    p->count++;
  }
  return 0;
}

static void
teardown(struct par *p)
{
  for (int i = 0; i < p->count; i++) {
    stream_stop(&p->st[i]);
    if (p->st[i].h)
      curl_easy_cleanup(p->st[i].h);
  }
  if (p->multi)
    curl_multi_cleanup(p->multi);
}

int
upg_download_parallel(const upg_settings *s, const char *url, upg_partfile *pf, upg_segments *sg, int streams,
                      bool checked, upg_par_report *rep, bool *retryable, jv *doc)
{
  struct par p = { .s = s, .url = url, .pf = pf, .sg = sg, .rep = rep, .fatal_doc = jv_null(), .one_first = !checked,
                   .changed_to = jv_null(),
                   .last_error = jv_null(), .last_checkpoint = upg_now(),
                   .due = upg_checkpoint_bytes(sg->chunk) };
  streams = streams < 1 ? 1 : streams > UPG_PARALLEL_MAX ? UPG_PARALLEL_MAX : streams;
  if (streams > rep->asked)
    rep->asked = streams;
  int status = 0;
  char label[300];
  snprintf(label, sizeof label, "downloading %s", upg_path_tail(pf->path));
  upg_meter_start(&p.meter, s, label, upg_segments_done_bytes(sg));
  upg_checkpointer_start(&p.cp, sg, pf);
  if (setup(&p, streams) != 0) {
    errno = ENOMEM;
    file_failed(&p, "start the transfers of");
  } else {
    run_loop(&p);
  }
  teardown(&p);
  upg_meter_end(&p.meter);
  /* Whatever happened, what was written is made durable and recorded. */
  if (upg_checkpointer_stop(&p.cp) != 0)
    file_failed(&p, "record");
  *retryable = false;
  if (p.fatal) {
    status = p.fatal;
    *doc = p.fatal_doc;
    p.fatal_doc = jv_null();
  } else if (p.result) {
    status = p.result;
    /* the streams are stopped and the checkpointer too: start over with
     * the version the answer told, or none (the caller asks again) */
    if (status == UPG_PAR_CHANGED) {
      jv to = p.changed_to;
      p.changed_to = jv_null();
      if (upg_partfile_restart(pf, to) != 0)
        status = upg_fail(doc, UPG_EXIT_USAGE, upg_failure("CLIENT:FILE", "download: cannot write %s: %s",
                                                           pf->part_path, strerror(errno)));
    }
  } else if (upg_segments_complete(sg)) {
    status = 0;
  } else if (jv_get_kind(p.last_error) != JV_KIND_NULL) {
    status = UPG_EXIT_TRANSPORT;
    *doc = p.last_error;
    p.last_error = jv_null();
    *retryable = p.last_retryable;
  } else {
    status = upg_fail(doc, UPG_EXIT_TRANSPORT,
                      upg_failure("CLIENT:NETWORK", "download: every stream ended before the file was complete"));
    *retryable = true;
  }
  jv_free(p.fatal_doc);
  jv_free(p.last_error);
  jv_free(p.changed_to);
  return status;
}
