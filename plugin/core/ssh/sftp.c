/* SPDX-License-Identifier: GPL-3.0-or-later */
/* sftp.c -- resumable SFTP upload and download (see sftp.h).
 *
 * Both directions resume the way `sftp -a` / `reget` do: by size, but
 * only after checking that what is there belongs.  An upload opens the
 * remote file without truncating it and continues after the bytes it
 * already holds once their head and tail match the local file (else it
 * starts the remote file over); a download appends to LOCAL.part when its
 * record (files.h) says it holds the start of this very remote file, of
 * the same size and modification time.  Speed with libssh2 comes only
 * from keeping many requests in flight, so the
 * upload hands libssh2_sftp_write a sliding window of several MiB (it
 * pipelines 30000-byte packets and returns as the first ones are acked)
 * and the download reads with a large buffer (libssh2 reads ahead 4x it).
 * Nothing is ever read whole into memory.
 */
#include "config.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/stat.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "upgrade/files.h"
#include "upgrade/outcome.h"
#include "upgrade/progress.h"
#include "upgrade/provenance.h"
#include "upgrade/sftp.h"
#include "upgrade/sftp_handle.h"
#include "upgrade/ssh.h"
#include "upgrade/sftp_streams.h"
#include "upgrade/transfer_plan.h"

/* How much to keep in flight depends on the round trip: a link's
 * bandwidth-delay product must be in flight to fill it, but on loopback or
 * a LAN big buffers only cost cache misses and memory (measured on
 * loopback, 1 GiB: a 2 MiB read buffer took 1.4x as long as 128 KiB; with
 * 30 ms RTT 128 KiB was 7x slower than 2 MiB).  So the round trip of the
 * fstat before the transfer sizes them: enough in flight for IN_FLIGHT_RATE
 * over that RTT, between the bounds below. */
#define IN_FLIGHT_RATE (1024.0 * 1024 * 1024) /* bytes per second */
/* Upload window: bytes handed to one libssh2_sftp_write call, between the
 * window and the window plus a read (READ_SLACK).  The server's channel window (2 MiB for OpenSSH)
 * caps what is in flight, so more than 2 MiB buys nothing. */
#define PUT_WINDOW_MIN (256L * 1024)
#define PUT_WINDOW_MAX (2L * 1024 * 1024)
/* Read buffer.  libssh2 1.10 keeps 4x this in flight as read-ahead (capped
 * at 8 MiB, which 2 MiB reaches). */
#define GET_BUFFER_MIN (128L * 1024)
#define GET_BUFFER_MAX (2L * 1024 * 1024)

/* IN_FLIGHT_RATE x RTT seconds, divided by SHARE, within [LO, HI]. */
static size_t
sized_for_rtt(double rtt, int share, size_t lo, size_t hi)
{
  double want = IN_FLIGHT_RATE * rtt / share;
  return want <= (double)lo ? lo : want >= (double)hi ? hi : (size_t)want;
}

/* The SFTP fields of a transfer summary: the remote name, and the bytes
 * kept in flight (which the round trip decided, see sized_for_rtt). */
static jv
sftp_summary(jv sum, const char *remote, size_t in_flight)
{
  sum = jv_object_set(sum, jv_string("remote"), jv_string(remote));
  return jv_object_set(sum, jv_string("in_flight"), jv_number((double)in_flight));
}

/* The size of an open remote file (the server must report one), its
 * modification time (-1 when not reported), and the seconds its round trip
 * took in *rtt. */
static int
remote_fstat(upg_ssh *c, LIBSSH2_SFTP_HANDLE *h, const char *remote, long long *size, long long *mtime,
             double *rtt)
{
  LIBSSH2_SFTP_ATTRIBUTES a;
  int rc, st;
  double t0 = upg_now();
  while ((rc = libssh2_sftp_fstat_ex(h, &a, 0)) == LIBSSH2_ERROR_EAGAIN)
    if ((st = upg_ssh_wait(c)))
      return st;
  if (rc)
    return upg_ssh_fail_sftp(c, rc, "reading the size of", remote);
  if (!(a.flags & LIBSSH2_SFTP_ATTR_SIZE))
    return upg_ssh_failf(c, UPG_EXIT_TRANSPORT, "CLIENT:SFTP", "the server does not report the size of %s",
                         remote);
  *size = (long long)a.filesize;
  *mtime = (a.flags & LIBSSH2_SFTP_ATTR_ACMODTIME) ? (long long)a.mtime : -1;
  *rtt = upg_now() - t0;
  return 0;
}

/* The size of REMOTE by name (after its handle is closed). */
static int
remote_size(upg_ssh *c, const char *remote, long long *size)
{
  LIBSSH2_SFTP_ATTRIBUTES a;
  int rc, st;
  while ((rc = libssh2_sftp_stat_ex(c->sftp, remote, (unsigned)strlen(remote), LIBSSH2_SFTP_STAT, &a))
         == LIBSSH2_ERROR_EAGAIN)
    if ((st = upg_ssh_wait(c)))
      return st;
  if (rc)
    return upg_ssh_fail_sftp(c, rc, "checking", remote);
  *size = (a.flags & LIBSSH2_SFTP_ATTR_SIZE) ? (long long)a.filesize : -1;
  return 0;
}

/* The meter of a one-stream upload, told by upg_sftp_push. */
typedef struct meter_ctx {
  upg_meter *meter;
  long long base, size;
} meter_ctx;

static void
meter_sent(void *arg, long long sent)
{
  meter_ctx *m = arg;
  upg_meter_update(m->meter, m->base + sent, m->size);
}

/* How much of the remote file's head and tail a resumed upload compares
 * with the local file before trusting the remote prefix. */
#define VERIFY_BYTES (64L * 1024)

/* Read LEN bytes of REMOTE at OFF into BUF, through a handle of its own (a
 * fresh handle has no read-ahead in flight to mix up with later writes). */
static int
remote_read_at(upg_ssh *c, const char *remote, long long off, char *buf, size_t len)
{
  LIBSSH2_SFTP_HANDLE *h = NULL;
  int st = upg_sftp_open_remote(c, remote, LIBSSH2_FXF_READ, &h);
  if (st)
    return st;
  libssh2_sftp_seek64(h, (libssh2_uint64_t)off);
  size_t got = 0;
  while (!st && got < len) {
    ssize_t rc = libssh2_sftp_read(h, buf + got, len - got);
    if (rc == LIBSSH2_ERROR_EAGAIN)
      st = upg_ssh_wait(c);
    else if (rc < 0)
      st = upg_ssh_fail_sftp(c, (int)rc, "reading back", remote);
    else if (rc == 0)
      st = upg_ssh_failf(c, UPG_EXIT_TRANSPORT, "CLIENT:SFTP", "%s shrank while it was read back", remote);
    else
      got += (size_t)rc;
  }
  int cst = upg_ssh_close_handle(c, &h, true);
  return st ? st : cst;
}

/* Are bytes [OFF, OFF+LEN) of REMOTE the same as LOCAL's (FD)? */
static int
same_range(upg_ssh *c, const char *remote, int fd, const char *local, long long off, size_t len, bool *same)
{
  char *mine = malloc(len), *theirs = malloc(len);
  int st = 0;
  *same = false;
  if (!mine || !theirs) {
    st = upg_ssh_failf(c, UPG_EXIT_USAGE, "CLIENT:FILE", "out of memory");
    goto out;
  }
  if (pread(fd, mine, len, (off_t)off) != (ssize_t)len) {
    st = upg_ssh_failf(c, UPG_EXIT_USAGE, "CLIENT:FILE", "cannot read %s: %s", local, strerror(errno));
    goto out;
  }
  if ((st = remote_read_at(c, remote, off, theirs, len)))
    goto out;
  *same = memcmp(mine, theirs, len) == 0;
out:
  free(mine);
  free(theirs);
  return st;
}

/* Does the remote file's RSIZE bytes look like the start of LOCAL?  Its
 * head and its tail are compared with the local file: a prefix left by the
 * upload of another dump (another --new job, another file of the same
 * name) must never be completed with this one's tail. */
static int
remote_is_prefix(upg_ssh *c, const char *remote, int fd, const char *local, long long rsize, bool *same)
{
  size_t len = rsize < VERIFY_BYTES ? (size_t)rsize : (size_t)VERIFY_BYTES;
  int st = same_range(c, remote, fd, local, 0, len, same);
  if (st || !*same || rsize == (long long)len)
    return st;
  return same_range(c, remote, fd, local, rsize - (long long)len, len, same);
}

/* The remote file is not a prefix of LOCAL: open it again, emptied. */
static int
restart_remote(upg_ssh *c, LIBSSH2_SFTP_HANDLE **h, const char *remote, const char *local, long long *rsize)
{
  upg_notice(c->s, "the %lld bytes already in %s are not the start of %s: uploading it from the start",
             *rsize, remote, local);
  *rsize = 0;
  int st = upg_ssh_close_handle(c, h, true);
  if (st)
    return st;
  return upg_sftp_open_remote(c, remote, LIBSSH2_FXF_WRITE | LIBSSH2_FXF_CREAT | LIBSSH2_FXF_TRUNC, h);
}

/* Where the upload goes on: after the RSIZE bytes already there when they
 * are the start of LOCAL, else from 0 (the remote file emptied). */
static int
upload_point(upg_ssh *c, LIBSSH2_SFTP_HANDLE **h, int fd, const char *local, const char *remote,
             long long *rsize)
{
  bool same = false;
  int st = *rsize > 0 ? remote_is_prefix(c, remote, fd, local, *rsize, &same) : 0;
  if (st || same || *rsize == 0)
    return st;
  return restart_remote(c, h, remote, local, rsize);
}

/* ------------------------------------------------------------ streams */

/* Per stream in flight when there are several.  A put stream keeps up to
 * 1 MiB in flight, whatever N: what is in flight is held twice (our
 * window, libssh2's packets), so more would break the memory bound; and a
 * window as large as the server's channel window (2 MiB) stalls each
 * session on it (libssh2 1.10 then reads no acknowledgement until the
 * window reopens): measured at 30 ms, 4 streams moved 44 MiB/s with 1 MiB
 * each and 27 MiB/s with 2 MiB each (bench/README.md).  A get stream's
 * buffer is a share of one stream's: libssh2 keeps 4x it in flight, and
 * received data waits in its memory until read. */
#define STREAM_PUT_MAX (1L * 1024 * 1024)
#define STREAM_GET_MAX (512L * 1024)

/* The streams to use: --parallel N, else the rule of every parallel
 * transfer (transfer_plan.h; docs/design.md, "Parallel transfers") from the
 * bytes to move and the round trip.  Never more than chunks. */
static int
streams_for(const upg_settings *s, long long todo, size_t chunks, double rtt)
{
  int n = upg_streams_wanted(s->parallel, todo, rtt);
  if ((size_t)n > chunks)
    n = chunks ? (int)chunks : 1;
  return n;
}

/* The "transfer" fields of the streams: T's (t->asked 0: one stream,
 * today's transfer, that moved BYTES). */
static jv
streams_summary(jv sum, const upg_sftp_streams *t, long long bytes)
{
  return t->asked ? upg_transfer_streams(sum, t->asked, t->per_stream, t->lost)
                  : upg_transfer_streams(sum, 1, &bytes, 0);
}

/* What a record's bytes belong to: this account, request and remote
 * file; KIND names the transfer ("sftp" a download's .part, "sftp-put" an
 * upload's record), so that neither is taken for the other. */
static jv
origin(const upg_settings *s, const upg_sftp_endpoint *ep, const char *kind, const char *remote)
{
  char account[512];
  snprintf(account, sizeof account, "%s@%s:%d", ep->user ? ep->user : "", ep->host ? ep->host : "", ep->port);
  return JV_OBJECT(jv_string(kind), jv_string(account), jv_string("request"),
                   s->request ? jv_string(s->request) : jv_null(), jv_string("remote"), jv_string(remote));
}

/* --------------------------------------------------------- put record */

/* A parallel upload leaves holes in the remote file, so its size no
 * longer says what was sent: the chunks done are recorded beside the
 * local file, LOCAL.sftp-put.meta (provenance.h, version 2), for this
 * remote file and this version of LOCAL (size, mtime).  It is
 * written before the first byte off the remote prefix, and removed when
 * the upload is complete. */
typedef struct put_job {
  upg_ssh *c;
  int fd;
  long long size;
  const char *local, *remote;
  char *base;                /* LOCAL.sftp-put: the record's "part" name */
  jv origin, validators;
  upg_segments sg;
  bool holes;                /* the remote file may have holes: sg says */
  bool recorded;             /* a record of ours is on disk */
} put_job;

static void
put_job_init(put_job *j, upg_ssh *c, int fd, long long size, const char *local, const char *remote)
{
  memset(j, 0, sizeof *j);
  j->c = c;
  j->fd = fd;
  j->size = size;
  j->local = local;
  j->remote = remote;
  if (asprintf(&j->base, "%s.sftp-put", local) < 0)
    j->base = NULL;
  j->origin = origin(c->s, c->ep, "sftp-put", remote);
  struct stat st;
  /* mtime to the microsecond: a dump rewritten within the same second
   * is another version */
  j->validators = fstat(fd, &st) != 0 ? jv_null()
    : JV_OBJECT(jv_string("size"), jv_number((double)st.st_size), jv_string("mtime"),
                jv_number((double)st.st_mtim.tv_sec + (double)(st.st_mtim.tv_nsec / 1000) / 1e6));
}

static void
put_job_free(put_job *j)
{
  free(j->base);
  jv_free(j->origin);
  jv_free(j->validators);
  upg_segments_free(&j->sg);
}

/* Streams' record (upg_sftp_record): SEGMENTS, the chunks the server
 * acknowledged, in the put record. */
static int
put_record_segments(void *arg, jv segments)
{
  put_job *j = arg;
  if (!j->base) {
    jv_free(segments);
    errno = ENOMEM;
    return -1;
  }
  jv rec = upg_provenance_record_segments(jv_copy(j->origin), jv_copy(j->validators), segments);
  if (upg_provenance_write(j->base, rec) != 0)
    return -1;
  j->recorded = true;
  return 0;
}

/* The put record of the chunks done now. */
static int
put_record(put_job *j)
{
  return put_record_segments(j, upg_segments_to_jv(&j->sg));
}

/* The record's chunks, when it is this upload's: 1 (j->sg filled), 0 no
 * record of this remote file, -1 a record of this remote file for
 * another version of LOCAL (the remote file may have holes). */
static int
put_record_read(put_job *j)
{
  jv rec = j->base ? upg_provenance_read(j->base) : jv_invalid();
  if (!jv_is_valid(rec)) {
    jv_free(rec);
    return 0;
  }
  int r = -1;
  if (!jv_equal(jv_object_get(jv_copy(rec), jv_string("origin")), jv_copy(j->origin)))
    r = 0;
  else
    j->recorded = true;
  jv v = jv_object_get(jv_copy(rec), jv_string("validators"));
  if (r && upg_provenance_same_version(v, j->validators)
      && upg_segments_from_jv(&j->sg, upg_provenance_segments(rec)) == 0 && j->sg.size == j->size)
    r = 1;
  jv_free(v);
  jv_free(rec);
  if (r != 1)
    upg_segments_free(&j->sg);
  return r;
}

/* Bytes of chunk I the record vouches for: all of a done one, else its
 * head. */
static long long
put_chunk_held(const upg_segments *sg, size_t i)
{
  return sg->state[i] == UPG_CHUNK_DONE ? upg_segments_length(sg, i) : sg->durable[i];
}

/* The chunks (and heads) the record says are done are really there: the
 * start of the first and the end of the last match LOCAL, and the remote
 * file reaches the end of the last. */
static int
put_record_holds(put_job *j, long long rsize, bool *same)
{
  size_t first = 0, last = 0;
  bool any = false;
  for (size_t i = 0; i < j->sg.count; i++)
    if (put_chunk_held(&j->sg, i) > 0) {
      if (!any)
        first = i;
      last = i;
      any = true;
    }
  *same = true;
  if (!any)
    return 0;
  long long head = upg_segments_start(&j->sg, first);
  long long end = upg_segments_start(&j->sg, last) + put_chunk_held(&j->sg, last);
  if (rsize < end) {
    *same = false;
    return 0;
  }
  long long len = put_chunk_held(&j->sg, first) < VERIFY_BYTES ? put_chunk_held(&j->sg, first) : VERIFY_BYTES;
  int st = same_range(j->c, j->remote, j->fd, j->local, head, (size_t)len, same);
  if (st || !*same)
    return st;
  len = put_chunk_held(&j->sg, last) < VERIFY_BYTES ? put_chunk_held(&j->sg, last) : VERIFY_BYTES;
  return same_range(j->c, j->remote, j->fd, j->local, end - len, (size_t)len, same);
}

/* Where the upload goes on.  With a record of this upload whose chunks
 * check out: its chunks (holes allowed).  With a record of this remote
 * file that does not fit, or chunks that do not check out: from zero.
 * Without: today's rule, after the remote prefix when it is LOCAL's
 * start.  *rsize is then the prefix kept. */
static int
put_resume(put_job *j, LIBSSH2_SFTP_HANDLE **h, long long *rsize)
{
  int r = put_record_read(j);
  bool same = false;
  int st = r == 1 ? put_record_holds(j, *rsize, &same) : 0;
  if (st)
    return st;
  if (r == 1 && same) {
    j->holes = true;
    return 0;
  }
  upg_segments_free(&j->sg);
  if (r == 0)
    return upload_point(j->c, h, j->fd, j->local, j->remote, rsize);
  /* A record of this remote file that does not hold: its holes are
   * unknown, so from zero, and the record goes. */
  upg_provenance_remove(j->base);
  j->recorded = false;
  if (*rsize == 0)
    return 0;
  return restart_remote(j->c, h, j->remote, j->local, rsize);
}

/* The chunks still to do after a prefix of RSIZE bytes (or the record's). */
static int
put_chunks(put_job *j, long long rsize)
{
  if (j->holes)
    return 0;
  if (upg_segments_init(&j->sg, j->size, upg_download_chunk()) != 0)
    return upg_ssh_failf(j->c, UPG_EXIT_USAGE, "CLIENT:FILE", "out of memory");
  upg_segments_done_before(&j->sg, rsize);
  return 0;
}

/* Upload the chunks to do over N streams (the connection is handed to
 * them).  The record is on disk already (put_file). */
static int
put_streams(put_job *j, int n, double rtt, upg_sftp_streams *t)
{
  *t = (upg_sftp_streams){ .put = true, .asked = n, .fd = j->fd, .local = j->local, .remote = j->remote,
                           .in_flight = sized_for_rtt(rtt, 1, PUT_WINDOW_MIN, STREAM_PUT_MAX), .sg = &j->sg,
                           .record = put_record_segments, .checkpoint_arg = j };
  return upg_sftp_streams_run(j->c, j->c->s, j->c->ep, t, j->c->doc);
}

/* One stream, as ever: from RSIZE to the end through H. */
static int
put_one(put_job *j, LIBSSH2_SFTP_HANDLE *h, long long rsize, double rtt, long long *sent, size_t *in_flight)
{
  upg_ssh *c = j->c;
  libssh2_sftp_seek64(h, (libssh2_uint64_t)rsize); /* nothing is in flight yet */
  char what[256];
  snprintf(what, sizeof what, "uploading %s", j->local);
  upg_ssh_transfer_phase(c, what);
  upg_meter meter;
  char label[300];
  snprintf(label, sizeof label, "uploading %s", upg_path_tail(j->local));
  upg_meter_start(&meter, c->s, label, rsize);
  meter_ctx mc = { &meter, rsize, j->size };
  *in_flight = sized_for_rtt(rtt, 1, PUT_WINDOW_MIN, PUT_WINDOW_MAX);
  int st = upg_sftp_push(c, h, j->fd, rsize, j->local, j->remote, j->size - rsize, *in_flight, sent, meter_sent,
                         &mc);
  upg_meter_end(&meter);
  return st;
}

/* The remote file holds SIZE bytes after a one-stream upload. */
static int
put_check_size(upg_ssh *c, const char *remote, long long size)
{
  long long rsize = -1;
  int st = remote_size(c, remote, &rsize);
  if (st)
    return st;
  if (rsize != size)
    return upg_ssh_failf(c, UPG_EXIT_TRANSPORT, "CLIENT:SFTP",
                         "after the upload %s holds %lld bytes, not %lld: run again to resume", remote, rsize,
                         size);
  return 0;
}

/* Everything after the connection is up: check sizes, resume point, then
 * one stream (today's way, --parallel 1) or several; *t tells which
 * (t->asked 0: one). */
static int
put_file(put_job *j, long long *resumed, long long *sent, size_t *in_flight, upg_sftp_streams *t)
{
  upg_ssh *c = j->c;
  LIBSSH2_SFTP_HANDLE *h = NULL;
  long long rsize = 0, mtime;
  double rtt = 0;
  int cst, st = upg_sftp_open_remote(c, j->remote, LIBSSH2_FXF_WRITE | LIBSSH2_FXF_CREAT, &h);
  if (st)
    return st;
  if ((st = remote_fstat(c, h, j->remote, &rsize, &mtime, &rtt)))
    goto out;
  if (rsize > j->size) {
    st = upg_ssh_failf(c, UPG_EXIT_TRANSPORT, "CLIENT:SFTP",
                       "remote file %s is larger than local %s (%lld > %lld bytes): refusing to truncate "
                       "it; upload under another name or remove the remote file first",
                       j->remote, j->local, rsize, j->size);
    goto out;
  }
  if ((st = put_resume(j, &h, &rsize)) || (st = put_chunks(j, rsize)))
    goto out;
  *resumed = j->holes ? upg_segments_done_bytes(&j->sg) : rsize;
  int n = streams_for(c->s, j->size - *resumed, upg_segments_todo(&j->sg), rtt);
  /* Several streams leave holes: their record must be on disk first.  A
   * dump in a directory we cannot write still goes, as one stream. */
  if ((n > 1 || j->holes) && put_record(j) != 0) {
    if (j->holes) {
      st = upg_ssh_failf(c, UPG_EXIT_USAGE, "CLIENT:FILE", "cannot write %s%s: %s", j->base ? j->base : j->local,
                         UPG_PROVENANCE_SUFFIX, strerror(errno));
      goto out;
    }
    upg_notice(c->s, "cannot write %s%s (%s): uploading as one stream", j->base ? j->base : j->local,
               UPG_PROVENANCE_SUFFIX, strerror(errno));
    n = 1;
  }
  if (n == 1 && !j->holes) {
    st = put_one(j, h, rsize, rtt, sent, in_flight);
    goto out;
  }
  if ((st = upg_ssh_close_handle(c, &h, true)))
    goto out;
  st = put_streams(j, n, rtt, t);
  *in_flight = t->in_flight * (size_t)t->used;
  for (int i = 0; i < t->asked; i++)
    *sent += t->per_stream[i];
  return st; /* every chunk acknowledged at its offset: the file is whole */
out:
  /* Closing waits for the last acknowledgements: only then is it sent.
   * (After a refusal the connection is sound: close it politely too.) */
  cst = upg_ssh_close_handle(c, &h, true);
  if (st || cst)
    return st ? st : cst;
  return put_check_size(c, j->remote, j->size);
}

int
upg_sftp_put(const upg_settings *s, const upg_sftp_endpoint *ep, const char *local, const char *remote,
             jv *doc)
{
  double t0 = upg_now();
  int fd;
  off_t size;
  int st = upg_input_open(local, &fd, &size, doc);
  if (st)
    return st;
  upg_ssh c;
  long long resumed = 0, sent = 0;
  size_t in_flight = 0;
  upg_sftp_streams t = { .asked = 0 };
  put_job j;
  if ((st = upg_ssh_open(&c, s, ep, doc)))
    goto out;
  put_job_init(&j, &c, fd, (long long)size, local, remote);
  st = put_file(&j, &resumed, &sent, &in_flight, &t);
  if (!st && j.recorded && j.base)
    upg_provenance_remove(j.base); /* complete: nothing to resume */
  put_job_free(&j);
  upg_ssh_close(&c, true);
out:
  close(fd);
  if (st)
    return st;
  jv sum = upg_transfer_summary(local, sent, resumed, (long long)size, upg_now() - t0);
  sum = streams_summary(sum, &t, sent);
  jv_free(*doc);
  *doc = upg_doc_with("transfer", sftp_summary(sum, remote, in_flight));
  return 0;
}

/* Stream H to the part file until EOF, reading BUFSIZE bytes at a time. */
static int
pull(upg_ssh *c, LIBSSH2_SFTP_HANDLE *h, upg_partfile *pf, const char *remote, long long size,
     size_t bufsize, upg_meter *meter)
{
  char *buf = malloc(bufsize);
  int st = 0;
  if (!buf)
    return upg_ssh_failf(c, UPG_EXIT_USAGE, "CLIENT:FILE", "out of memory for the download buffer");
  for (;;) {
    ssize_t rc = libssh2_sftp_read(h, buf, bufsize);
    if (rc == LIBSSH2_ERROR_EAGAIN) {
      if ((st = upg_ssh_wait(c)))
        break;
      continue;
    }
    if (rc < 0) {
      st = upg_ssh_fail_sftp(c, (int)rc, "reading", remote);
      break;
    }
    if (rc == 0)
      break; /* EOF */
    if (upg_partfile_write(pf, buf, (size_t)rc) != 0) {
      st = upg_ssh_failf(c, UPG_EXIT_USAGE, "CLIENT:FILE", "cannot write %s: %s", pf->part_path,
                         strerror(errno));
      break;
    }
    upg_meter_update(meter, (long long)pf->end, size);
    if ((st = upg_ssh_progress(c)))
      break;
  }
  free(buf);
  return st;
}

/* Keep the bytes of the part file only if they are of this version of
 * REMOTE (files.h decides) and no more than it holds. */
static int
resume_point(upg_ssh *c, upg_partfile *pf, long long size, long long mtime)
{
  jv v = JV_OBJECT(jv_string("size"), jv_number((double)size));
  if (mtime >= 0)
    v = jv_object_set(v, jv_string("mtime"), jv_number((double)mtime));
  int rc = upg_partfile_version(pf, v);
  if (rc >= 0 && pf->end > size) {
    upg_notice(c->s, "%s is larger than the remote file: downloading it again", pf->part_path);
    rc = upg_partfile_restart(pf, jv_copy(pf->validators));
  }
  if (rc < 0)
    return upg_ssh_failf(c, UPG_EXIT_USAGE, "CLIENT:FILE", "cannot write %s: %s", pf->part_path,
                         strerror(errno));
  return 0;
}

/* Streams' checkpoint halves (sftp_streams.h): the part file made
 * durable; the record of the chunks done. */
static int
get_durable(void *arg)
{
  return upg_partfile_sync(arg);
}

static int
get_record(void *arg, jv segments)
{
  return upg_partfile_record_segments(arg, segments);
}

/* The chunks of a segmented part file of this version of the remote file
 * (SIZE bytes): the record's, or those of the prefix it holds. */
static int
get_chunks(upg_ssh *c, upg_partfile *pf, long long size, upg_segments *sg)
{
  /* holes_ok: a version 2 record of this version stands (a restart for
   * another version wrote a version 1 record, and emptied the file). */
  if (pf->holes_ok && jv_get_kind(pf->segments) == JV_KIND_OBJECT
      && upg_segments_from_jv(sg, jv_copy(pf->segments)) == 0) {
    if (sg->size == size)
      return 0;
    upg_segments_free(sg);
  }
  if (upg_segments_init(sg, size, upg_download_chunk()) != 0)
    return upg_ssh_failf(c, UPG_EXIT_USAGE, "CLIENT:FILE", "out of memory");
  upg_segments_done_before(sg, pf->holes_ok ? 0 : (long long)pf->end);
  if (upg_partfile_record_segments(pf, upg_segments_to_jv(sg)) != 0)
    return upg_ssh_failf(c, UPG_EXIT_USAGE, "CLIENT:FILE", "cannot write %s%s: %s", pf->part_path,
                         UPG_PROVENANCE_SUFFIX, strerror(errno));
  return 0;
}

/* The chunks to do over N streams (the connection is handed to them). */
static int
get_streams(upg_ssh *c, upg_partfile *pf, const char *remote, long long size, double rtt, upg_sftp_streams *t,
            long long *resumed)
{
  upg_segments sg;
  int st = get_chunks(c, pf, size, &sg);
  if (st) {
    upg_ssh_close(c, true);
    return st;
  }
  *resumed = upg_segments_done_bytes(&sg);
  int n = streams_for(c->s, size - *resumed, upg_segments_todo(&sg), rtt);
  *t = (upg_sftp_streams){ .asked = n, .pf = pf, .remote = remote,
                           .in_flight = sized_for_rtt(rtt, 4 * n, GET_BUFFER_MIN, STREAM_GET_MAX), .sg = &sg,
                           .durable = get_durable, .record = get_record, .checkpoint_arg = pf };
  st = upg_sftp_streams_run(c, c->s, c->ep, t, c->doc);
  if (!st && (long long)pf->end != size) /* the last chunk was there already */
    pf->end = (off_t)size;
  upg_segments_free(&sg);
  t->sg = NULL;
  return st;
}

/* Everything after the connection is up: size, resume point, transfer
 * (one stream as ever, or several into a segmented part file: *t says,
 * t->asked 0 for one). */
static int
get_file(upg_ssh *c, upg_partfile *pf, const char *remote, long long *size, size_t *in_flight,
         upg_sftp_streams *t, long long *resumed)
{
  LIBSSH2_SFTP_HANDLE *h = NULL;
  long long mtime = -1;
  double rtt = 0;
  int cst, st = upg_sftp_open_remote(c, remote, LIBSSH2_FXF_READ, &h);
  if (st)
    return st;
  if ((st = remote_fstat(c, h, remote, size, &mtime, &rtt)) || (st = resume_point(c, pf, *size, mtime)))
    goto out;
  /* Several streams, or a .part with holes: segmented.  One stream on a
   * contiguous .part: today's appending download. */
  if (pf->segmented && (pf->holes_ok || streams_for(c->s, *size - (long long)pf->end, SIZE_MAX, rtt) > 1)) {
    if ((st = upg_ssh_close_handle(c, &h, true)))
      goto out;
    st = get_streams(c, pf, remote, *size, rtt, t, resumed);
    *in_flight = 4 * t->in_flight * (size_t)t->used; /* libssh2's read-ahead */
    return st;
  }
  /* (A segmented .part has no O_APPEND: upg_partfile_write writes at
   * pf->end itself.) */
  *resumed = (long long)pf->end;
  libssh2_sftp_seek64(h, (libssh2_uint64_t)pf->end);
  char what[256];
  snprintf(what, sizeof what, "downloading %s", remote);
  upg_ssh_transfer_phase(c, what);
  upg_meter meter;
  char label[300];
  snprintf(label, sizeof label, "downloading %s", upg_path_tail(remote));
  upg_meter_start(&meter, c->s, label, (long long)pf->end);
  size_t bufsize = sized_for_rtt(rtt, 4, GET_BUFFER_MIN, GET_BUFFER_MAX);
  *in_flight = 4 * bufsize; /* libssh2's read-ahead */
  st = pull(c, h, pf, remote, *size, bufsize, &meter);
  upg_meter_end(&meter);
  if (st)
    goto out;
  if ((long long)pf->end != *size)
    st = upg_ssh_failf(c, UPG_EXIT_TRANSPORT, "CLIENT:SFTP",
                       "%s changed during the download (%lld bytes announced, %lld received): run again",
                       remote, *size, (long long)pf->end);
out:
  cst = upg_ssh_close_handle(c, &h, true);
  return st ? st : cst;
}

int
upg_sftp_get(const upg_settings *s, const upg_sftp_endpoint *ep, const char *remote, const char *local,
             bool force, jv *doc)
{
  double t0 = upg_now();
  upg_partfile pf;
  /* --parallel 1 is today's one-stream download, into an appended .part
   * (a segmented one is cut to its done prefix); otherwise segmented. */
  int st = (s->parallel == 1 ? upg_partfile_open : upg_partfile_open_segmented)(
    &pf, s, local, origin(s, ep, "sftp", remote), force, doc);
  if (st)
    return st;
  upg_ssh c;
  long long size = 0, resumed = (long long)pf.resume_from, got;
  size_t in_flight = 0;
  upg_sftp_streams t = { .asked = 0 };
  if ((st = upg_ssh_open(&c, s, ep, doc)))
    goto out;
  st = get_file(&c, &pf, remote, &size, &in_flight, &t, &resumed);
  upg_ssh_close(&c, true);
out:
  got = 0;
  for (int i = 0; i < t.asked; i++)
    got += t.per_stream[i];
  if (!t.asked)
    got = (long long)pf.end - resumed;
  if (st) {
    upg_partfile_abandon(&pf); /* keeps what LOCAL.part holds for the next run */
    return st;
  }
  jv_free(*doc);
  *doc = jv_null();
  if ((st = upg_partfile_commit(&pf, doc)))
    return st;
  jv sum = upg_transfer_summary(local, got, resumed, size, upg_now() - t0);
  sum = streams_summary(sum, &t, got);
  *doc = upg_doc_with("transfer", sftp_summary(sum, remote, in_flight));
  return 0;
}

void
upg_sftp_shutdown(void)
{
  upg_ssh_global_exit();
}
