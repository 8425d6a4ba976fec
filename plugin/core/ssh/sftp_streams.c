/* SPDX-License-Identifier: GPL-3.0-or-later */
/* sftp_streams.c -- one SFTP transfer over N SSH sessions, one worker
 * thread each (see sftp_streams.h for why threads and the rules they keep).
 *
 * The shell's thread opens every session itself (host key, authentication:
 * the same code as one stream, the same prompts and notices, and nothing
 * of bash's -- getenv, HOME -- is ever read from a worker), starting each
 * worker as soon as its session is up, then watches: Ctrl-C, the meter, and
 * a checkpoint of the chunks four times a second, or as soon as a stream
 * has written upg_checkpoint_bytes since the last one.  Workers claim runs of
 * chunks (a shrinking share of what is left, so that the streams finish
 * together), move them and mark each chunk as its last byte lands; a worker
 * that fails gives back what it had not finished and stops, and the others
 * take it over.
 */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "upgrade/outcome.h"
#include "upgrade/progress.h"
#include "upgrade/sftp_handle.h"
#include "upgrade/sftp_streams.h"
#include "upgrade/thread.h"
#include "upgrade/transfer_plan.h"

#define WATCH_MS 100
#define CHECKPOINT_SECONDS 0.25

typedef struct pool pool;

typedef struct worker {
  pool *p;
  upg_ssh c;
  jv doc;
  int status;
  bool started;              /* a thread runs (or ran) it */
  pthread_t thread;
  atomic_llong bytes;
  atomic_bool finished;
  long long unsealed;        /* bytes written since the last seal (p->mu) */
} worker;

struct pool {
  upg_sftp_streams *t;
  upg_settings ws;           /* the workers' settings: no host calls */
  pthread_mutex_t mu;        /* t->sg, t->pf, unsealed, checkpoint_due */
  pthread_cond_t wake;       /* a worker asks the shell's thread for a checkpoint */
  bool checkpoint_due;
  long long due;             /* a stream that wrote this much asks for one */
  atomic_int stop;           /* the signal that stops everything, or 0 */
  worker w[UPG_PARALLEL_MAX];
};

/* The workers' "interrupted?": the flag the shell's thread sets. */
static int
pool_interrupted(void *data)
{
  return atomic_load(&((pool *)data)->stop);
}

/* ------------------------------------------------------------ chunks */

/* A run of chunks still to do, or false: a share of what is left that
 * shrinks as it goes, so that no stream is left with a long tail. */
static bool
claim(pool *p, size_t *first, size_t *n)
{
  pthread_mutex_lock(&p->mu);
  size_t max = upg_segments_todo(p->t->sg) / (2 * (size_t)p->t->asked);
  bool got = upg_segments_claim(p->t->sg, max ? max : 1, first, n);
  pthread_mutex_unlock(&p->mu);
  return got;
}

/* The run [first, first+n) as byte offsets, from past the first chunk's
 * head. */
static void
run_bytes(const upg_segments *sg, size_t first, size_t n, long long *start, long long *end)
{
  *start = upg_segments_resume_at(sg, first);
  *end = upg_segments_start(sg, first + n - 1) + upg_segments_length(sg, first + n - 1);
}

/* What a worker is moving: the run, and how many of its chunks are
 * marked written. */
typedef struct run {
  worker *w;
  size_t first, n, marked;
  long long start, reported;
} run;

/* The run's bytes before AT are written: mark the chunks they complete
 * and the head of the one AT is in; past a checkpoint's worth of bytes,
 * wake the shell's thread for one. */
static void
run_reached(run *r, long long at)
{
  pool *p = r->w->p;
  atomic_fetch_add(&r->w->bytes, at - r->reported);
  pthread_mutex_lock(&p->mu);
  r->w->unsealed += at - r->reported;
  if (r->w->unsealed >= p->due && !p->checkpoint_due) {
    p->checkpoint_due = true;
    pthread_cond_signal(&p->wake);
  }
  r->reported = at;
  while (r->marked < r->n) {
    size_t i = r->first + r->marked;
    long long start = upg_segments_start(p->t->sg, i);
    upg_segments_progress(p->t->sg, i, at - start);
    if (start + upg_segments_length(p->t->sg, i) > at)
      break;
    r->marked++;
  }
  pthread_mutex_unlock(&p->mu);
}

/* The run failed: what it had not finished goes back to the others. */
static void
run_abandon(run *r)
{
  pthread_mutex_lock(&r->w->p->mu);
  upg_segments_release(r->w->p->t->sg, r->first + r->marked, r->n - r->marked);
  pthread_mutex_unlock(&r->w->p->mu);
}

static void
put_sent(void *arg, long long sent)
{
  run *r = arg;
  run_reached(r, r->start + sent);
}

/* Upload the run: nothing is in flight before (seek) nor after (push). */
static int
put_run(run *r, LIBSSH2_SFTP_HANDLE *h)
{
  upg_sftp_streams *t = r->w->p->t;
  long long end, sent = 0;
  run_bytes(t->sg, r->first, r->n, &r->start, &end);
  r->reported = r->start;
  libssh2_sftp_seek64(h, (libssh2_uint64_t)r->start);
  return upg_sftp_push(&r->w->c, h, t->fd, r->start, t->local, t->remote, end - r->start, t->in_flight, &sent,
                       put_sent, r);
}

/* How much to ask libssh2_sftp_read for with LEFT bytes of the run to go
 * and a buffer of BUF bytes.  libssh2 1.10 keeps 4 times the length of
 * the last read asked for ahead of what it returned (sftp_read's
 * max_read_ahead), past a run's end too: those answers then cross the
 * link only to be dropped at the next seek (11 % of a 256 MiB get with 4
 * streams).  Asking for at most a quarter of what is left keeps every
 * request inside the run; the requests up to its end went out while the
 * reads were long, so the pipe only drains at the end, it does not
 * stall. */
static size_t
read_length(long long left, size_t buf)
{
  long long quarter = left >= 4 ? left / 4 : left;
  return quarter < (long long)buf ? (size_t)quarter : buf;
}

/* Download the run into the part file at its offsets.  *POS is where the
 * handle reads next (nothing is asked for past a run's end: an adjacent
 * run goes on without a seek). */
static int
get_run(run *r, LIBSSH2_SFTP_HANDLE *h, char *buf, long long *pos)
{
  pool *p = r->w->p;
  upg_sftp_streams *t = p->t;
  upg_ssh *c = &r->w->c;
  long long end;
  run_bytes(t->sg, r->first, r->n, &r->start, &end);
  r->reported = r->start;
  if (*pos != r->start)
    libssh2_sftp_seek64(h, (libssh2_uint64_t)r->start); /* drops the read-ahead */
  *pos = r->start;
  int st = 0;
  while (!st && *pos < end) {
    ssize_t rc = libssh2_sftp_read(h, buf, read_length(end - *pos, t->in_flight));
    if (rc == LIBSSH2_ERROR_EAGAIN) {
      st = upg_ssh_wait(c);
      continue;
    }
    if (rc < 0)
      return upg_ssh_fail_sftp(c, (int)rc, "reading", t->remote);
    if (rc == 0)
      return upg_ssh_failf(c, UPG_EXIT_TRANSPORT, "CLIENT:SFTP", "%s shrank during the download: run again",
                           t->remote);
    pthread_mutex_lock(&p->mu);
    int wr = upg_partfile_pwrite(t->pf, buf, (size_t)rc, (off_t)*pos);
    int err = errno;
    pthread_mutex_unlock(&p->mu);
    if (wr != 0)
      return upg_ssh_failf(c, UPG_EXIT_USAGE, "CLIENT:FILE", "cannot write %s: %s", t->pf->part_path,
                           strerror(err));
    *pos += rc;
    run_reached(r, *pos);
    st = upg_ssh_progress(c);
  }
  return st;
}

/* ----------------------------------------------------------- workers */

/* Claim runs and move them until none is left or something fails. */
static int
work(worker *w, LIBSSH2_SFTP_HANDLE *h)
{
  upg_sftp_streams *t = w->p->t;
  char *buf = t->put ? NULL : malloc(t->in_flight);
  long long pos = -1;
  int st = 0;
  if (!t->put && !buf)
    return upg_ssh_failf(&w->c, UPG_EXIT_USAGE, "CLIENT:FILE", "out of memory for the download buffer");
  run r = { .w = w };
  while (!st && claim(w->p, &r.first, &r.n)) {
    r.marked = 0;
    st = t->put ? put_run(&r, h) : get_run(&r, h, buf, &pos);
    if (st)
      run_abandon(&r);
  }
  free(buf);
  return st;
}

static void *
worker_main(void *arg)
{
  worker *w = arg;
  upg_sftp_streams *t = w->p->t;
  LIBSSH2_SFTP_HANDLE *h = NULL;
  int st = upg_sftp_open_remote(&w->c, t->remote, t->put ? LIBSSH2_FXF_WRITE : LIBSSH2_FXF_READ, &h);
  if (!st)
    st = work(w, h);
  if (h) {
    int cst = upg_ssh_close_handle(&w->c, &h, st == 0); /* a put is sent once acknowledged */
    st = st ? st : cst;
  }
  upg_ssh_close(&w->c, st == 0);
  w->status = st;
  atomic_store(&w->finished, true);
  return NULL;
}

/* Hand the open session C (moved: *C is left closed) to worker I and
 * start its thread with every signal blocked. */
static int
start_worker(pool *p, int i, upg_ssh *c)
{
  worker *w = &p->w[i];
  w->c = *c;
  memset(c, 0, sizeof *c);
  c->sock = -1;
  w->c.s = &p->ws;
  w->c.doc = &w->doc;
  upg_ssh_transfer_phase(&w->c, p->t->put ? "uploading" : "downloading");
  int rc = upg_thread_start(&w->thread, worker_main, w);
  if (rc != 0) {
    *c = w->c; /* the caller closes it */
    return -1;
  }
  w->started = true;
  p->t->used++;
  return 0;
}

/* ---------------------------------------------------- shell's thread */

static bool
all_finished(pool *p)
{
  for (int i = 0; i < p->t->asked; i++)
    if (p->w[i].started && !atomic_load(&p->w[i].finished))
      return false;
  return true;
}

static long long
bytes_moved(pool *p)
{
  long long sum = 0;
  for (int i = 0; i < p->t->asked; i++)
    sum += atomic_load(&p->w[i].bytes);
  return sum;
}

/* Checkpoint: the chunks written so far are sealed, made durable and
 * recorded, the lock held only to seal and settle them: a sync and a
 * record take milliseconds to tens of them, and the workers write
 * meanwhile.  0, or -1 with errno (not durable, or no record). */
static int
checkpoint(pool *p)
{
  upg_sftp_streams *t = p->t;
  pthread_mutex_lock(&p->mu);
  size_t sealed = upg_segments_seal(t->sg);
  p->checkpoint_due = false;
  for (int i = 0; i < t->asked; i++)
    p->w[i].unsealed = 0;
  pthread_mutex_unlock(&p->mu);
  if (!sealed)
    return 0;
  if (t->durable && t->durable(t->checkpoint_arg) != 0)
    return -1; /* they stay sealed: the next sync covers them */
  pthread_mutex_lock(&p->mu);
  upg_segments_settle_sealed(t->sg);
  jv segments = upg_segments_to_jv(t->sg);
  pthread_mutex_unlock(&p->mu);
  return t->record(t->checkpoint_arg, segments);
}

/* WATCH_MS, or less when a worker asks for a checkpoint. */
static void
wait_for_work(pool *p)
{
  struct timespec until;
  clock_gettime(CLOCK_MONOTONIC, &until);
  until.tv_nsec += WATCH_MS * 1000000L;
  until.tv_sec += until.tv_nsec / 1000000000L;
  until.tv_nsec %= 1000000000L;
  pthread_mutex_lock(&p->mu);
  while (!p->checkpoint_due && pthread_cond_timedwait(&p->wake, &p->mu, &until) == 0)
    ;
  pthread_mutex_unlock(&p->mu);
}

/* One look from the shell's thread: Ctrl-C, meter, checkpoint. */
static void
watch(pool *p, const upg_settings *s, upg_meter *m, long long base, double *last_cp)
{
  int sig = upg_interrupted(s);
  if (sig)
    atomic_store(&p->stop, sig);
  upg_meter_update(m, base + bytes_moved(p), p->t->sg->size);
  double now = upg_now();
  pthread_mutex_lock(&p->mu);
  bool due = p->checkpoint_due;
  pthread_mutex_unlock(&p->mu);
  if (due || now - *last_cp >= CHECKPOINT_SECONDS) {
    *last_cp = now;
    if (checkpoint(p) != 0 && !atomic_load(&p->stop))
      upg_notice(s, "cannot record the progress of %s: %s", p->t->remote, strerror(errno));
  }
}

/* Chunks nobody has claimed yet: none, and another stream is no use. */
static bool
chunks_unclaimed(pool *p)
{
  pthread_mutex_lock(&p->mu);
  bool left = upg_segments_todo(p->t->sg) > 0;
  pthread_mutex_unlock(&p->mu);
  return left;
}

/* Start worker I on the open session C (moved); a session that cannot
 * get a thread is closed and its stream counted lost. */
static void
start_or_lose(pool *p, int i, upg_ssh *c)
{
  if (atomic_load(&p->stop) || start_worker(p, i, c) != 0) {
    upg_ssh_close(c, false);
    p->w[i].status = upg_fail(&p->w[i].doc, UPG_EXIT_TRANSPORT,
                              upg_failure("CLIENT:SSH", "stream %d: no thread could be started for it", i + 1));
    p->t->lost++;
  }
}

/* Open the sessions after the first, one after the other on this thread
 * (host key and authentication may ask the user), each worker starting
 * as soon as its session is up: on a long link a session takes several
 * round trips to open, and the first streams move data meanwhile.  A
 * refusal is noted (its worker's status and document) and the others go
 * on; Ctrl-C stops the opening, and so does a transfer with nothing left
 * to hand out.  Between two openings the shell's thread does its usual
 * look (meter, checkpoint). */
static void
open_more(pool *p, const upg_settings *s, const upg_sftp_endpoint *ep, upg_meter *m, long long base,
          double *last_cp)
{
  for (int i = 1; i < p->t->asked && !atomic_load(&p->stop) && chunks_unclaimed(p); i++) {
    upg_ssh c;
    jv doc = jv_null();
    int st = upg_ssh_open(&c, s, ep, &doc);
    if (st >= UPG_EXIT_SIGNAL_BASE)
      atomic_store(&p->stop, st - UPG_EXIT_SIGNAL_BASE);
    if (st) {
      p->w[i].doc = doc;
      p->w[i].status = st;
      p->t->lost++;
    } else {
      jv_free(doc);
      start_or_lose(p, i, &c);
    }
    watch(p, s, m, base, last_cp);
  }
}

/* The first stream's failure (none failed: 0). */
static int
first_failure(pool *p, jv *doc)
{
  for (int i = 0; i < p->t->asked; i++)
    if (p->w[i].status) {
      jv_free(*doc);
      *doc = jv_copy(p->w[i].doc);
      return p->w[i].status;
    }
  return 0;
}

/* Tell the user which streams were refused or lost, when the rest did
 * the work. */
static void
note_lost(pool *p, const upg_settings *s)
{
  for (int i = 0; i < p->t->asked; i++) {
    if (!p->w[i].status)
      continue;
    p->t->lost += p->w[i].started; /* refusals were counted when opening */
    jv msg = jv_getpath(jv_copy(p->w[i].doc), JV_ARRAY(jv_string("failures"), jv_number(0), jv_string("message")));
    upg_notice(s, "stream %d of %d %s, the others went on: %s", i + 1, p->t->asked,
               p->w[i].started ? "failed" : "could not connect",
               jv_get_kind(msg) == JV_KIND_STRING ? jv_string_value(msg) : "unknown error");
    jv_free(msg);
  }
}

int
upg_sftp_streams_run(upg_ssh *c0, const upg_settings *s, const upg_sftp_endpoint *ep,
                     upg_sftp_streams *t, jv *doc)
{
  pool *p = calloc(1, sizeof *p);
  if (!p) {
    upg_ssh_close(c0, true);
    return upg_fail(doc, UPG_EXIT_USAGE, upg_failure("CLIENT:FILE", "out of memory"));
  }
  p->t = t;
  t->used = t->lost = 0;
  p->ws = *s;
  p->ws.host = (upg_host){ .interrupted = pool_interrupted, .data = p };
  p->ws.silent = true;
  p->ws.progress = false;
  pthread_mutex_init(&p->mu, NULL);
  pthread_condattr_t ca;
  pthread_condattr_init(&ca);
  pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
  pthread_cond_init(&p->wake, &ca);
  pthread_condattr_destroy(&ca);
  p->due = upg_checkpoint_bytes(t->sg->chunk);
  for (int i = 0; i < t->asked; i++) {
    p->w[i].p = p;
    p->w[i].doc = jv_null();
  }

  char what[300];
  snprintf(what, sizeof what, "%s %s", t->put ? "uploading" : "downloading", t->put ? t->local : t->remote);
  char label[300];
  snprintf(label, sizeof label, "%s %s", t->put ? "uploading" : "downloading",
           upg_path_tail(t->put ? t->local : t->remote));
  upg_meter meter;
  long long base = upg_segments_done_bytes(t->sg);
  upg_meter_start(&meter, s, label, base);
  double last_cp = upg_now();
  start_or_lose(p, 0, c0); /* handed over: *c0 is left closed */
  open_more(p, s, ep, &meter, base, &last_cp);
  int st = 0;
  while (!all_finished(p)) {
    wait_for_work(p);
    watch(p, s, &meter, base, &last_cp);
  }
  for (int i = 0; i < t->asked; i++) {
    if (p->w[i].started)
      pthread_join(p->w[i].thread, NULL);
    t->per_stream[i] = atomic_load(&p->w[i].bytes);
  }
  upg_meter_end(&meter);
  if (!st && checkpoint(p) != 0)
    st = upg_fail(doc, UPG_EXIT_USAGE,
                  upg_failure("CLIENT:FILE", "cannot record the progress of %s: %s", t->remote, strerror(errno)));
  int sig = atomic_load(&p->stop);
  if (!st && !upg_segments_complete(t->sg) && sig) {
    st = upg_fail(doc, UPG_EXIT_SIGNAL_BASE + sig,
                  upg_failure("CLIENT:INTERRUPTED", "interrupted by signal %d while %s; run again to resume", sig,
                              what));
  } else if (!st && !upg_segments_complete(t->sg)) {
    st = first_failure(p, doc);
    if (!st) /* no stream failed and yet chunks are left: never expected */
      st = upg_fail(doc, UPG_EXIT_TRANSPORT, upg_failure("CLIENT:SFTP", "%s: chunks left undone; run again",
                                                         t->remote));
  } else if (!st) {
    note_lost(p, s);
  }
  for (int i = 0; i < t->asked; i++)
    jv_free(p->w[i].doc);
  pthread_cond_destroy(&p->wake);
  pthread_mutex_destroy(&p->mu);
  free(p);
  return st;
}
