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
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "upgrade/files.h"
#include "upgrade/outcome.h"
#include "upgrade/progress.h"
#include "upgrade/sftp.h"
#include "upgrade/ssh.h"

/* How much to keep in flight depends on the round trip: a link's
 * bandwidth-delay product must be in flight to fill it, but on loopback or
 * a LAN big buffers only cost cache misses and memory (measured on
 * loopback, 1 GiB: a 2 MiB read buffer took 1.4x as long as 128 KiB; with
 * 30 ms RTT 128 KiB was 7x slower than 2 MiB).  So the round trip of the
 * fstat before the transfer sizes them: enough in flight for IN_FLIGHT_RATE
 * over that RTT, between the bounds below. */
#define IN_FLIGHT_RATE (1024.0 * 1024 * 1024) /* bytes per second */
/* Upload window: bytes handed to one libssh2_sftp_write call, between the
 * window and twice that.  The server's channel window (2 MiB for OpenSSH)
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

/* Open REMOTE with FLAGS (0600 when created). */
static int
open_remote(upg_ssh *c, const char *remote, unsigned long flags, LIBSSH2_SFTP_HANDLE **h)
{
  int st;
  while (!(*h = libssh2_sftp_open_ex(c->sftp, remote, (unsigned)strlen(remote), flags,
                                     LIBSSH2_SFTP_S_IRUSR | LIBSSH2_SFTP_S_IWUSR, LIBSSH2_SFTP_OPENFILE))
         && libssh2_session_last_errno(c->session) == LIBSSH2_ERROR_EAGAIN)
    if ((st = upg_ssh_wait(c)))
      return st;
  if (*h)
    return 0;
  return upg_ssh_fail_sftp(c, libssh2_session_last_errno(c->session), "opening", remote);
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

/* The upload window: bytes [off, end) of buf are read from the file and
 * not yet acknowledged; libssh2 has packetised a prefix of them, which
 * must be passed again, unchanged, on the next call. */
typedef struct window {
  char *buf;
  size_t off, end, cap;
} window;

/* Top the window up from FD (at most LEFT more bytes), compacting it when
 * the free tail is too short.  0, or -1 with errno (0 = file shrank). */
static int
window_fill(window *w, int fd, long long *left)
{
  size_t size = w->cap / 2; /* the window; the rest lets reads stay large */
  if (*left <= 0 || w->end - w->off >= size)
    return 0;
  if (w->cap - w->end < size) {
    memmove(w->buf, w->buf + w->off, w->end - w->off); /* at most one window */
    w->end -= w->off;
    w->off = 0;
  }
  size_t want = w->cap - w->end;
  if ((long long)want > *left)
    want = (size_t)*left;
  ssize_t n;
  while ((n = read(fd, w->buf + w->end, want)) < 0 && errno == EINTR)
    ;
  if (n <= 0) {
    if (n == 0)
      errno = 0;
    return -1;
  }
  w->end += (size_t)n;
  *left -= n;
  return 0;
}

/* Stream TOTAL bytes from FD (positioned) to H (positioned), keeping
 * about SIZE bytes in flight. */
static int
push(upg_ssh *c, LIBSSH2_SFTP_HANDLE *h, int fd, const char *local, const char *remote,
     long long total, size_t size, long long *sent, upg_meter *meter)
{
  window w = { malloc(2 * size), 0, 0, 2 * size };
  long long left = total;
  int st = 0;
  if (!w.buf)
    return upg_ssh_failf(c, UPG_EXIT_USAGE, "CLIENT:FILE", "out of memory for the upload buffer");
  while (!st && *sent < total) {
    if (window_fill(&w, fd, &left) != 0) {
      st = upg_ssh_failf(c, UPG_EXIT_USAGE, "CLIENT:FILE", "cannot read %s: %s", local,
                         errno ? strerror(errno) : "the file shrank during the upload");
      break;
    }
    ssize_t rc = libssh2_sftp_write(h, w.buf + w.off, w.end - w.off);
    if (rc == LIBSSH2_ERROR_EAGAIN) {
      st = upg_ssh_wait(c);
    } else if (rc < 0) {
      st = upg_ssh_fail_sftp(c, (int)rc, "writing", remote);
    } else {
      w.off += (size_t)rc;
      *sent += rc;
      upg_meter_update(meter, meter->base + *sent, meter->base + total);
      st = upg_ssh_progress(c);
    }
  }
  free(w.buf);
  return st;
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
  int st = open_remote(c, remote, LIBSSH2_FXF_READ, &h);
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
  return open_remote(c, remote, LIBSSH2_FXF_WRITE | LIBSSH2_FXF_CREAT | LIBSSH2_FXF_TRUNC, h);
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

/* Everything after the connection is up: check sizes, send, verify. */
static int
put_file(upg_ssh *c, int fd, long long size, const char *local, const char *remote,
         long long *resumed, long long *sent, size_t *in_flight)
{
  LIBSSH2_SFTP_HANDLE *h = NULL;
  long long rsize = 0, mtime;
  double rtt = 0;
  int cst, st = open_remote(c, remote, LIBSSH2_FXF_WRITE | LIBSSH2_FXF_CREAT, &h);
  if (st)
    return st;
  if ((st = remote_fstat(c, h, remote, &rsize, &mtime, &rtt)))
    goto out;
  if (rsize > size) {
    st = upg_ssh_failf(c, UPG_EXIT_TRANSPORT, "CLIENT:SFTP",
                       "remote file %s is larger than local %s (%lld > %lld bytes): refusing to truncate "
                       "it; upload under another name or remove the remote file first",
                       remote, local, rsize, size);
    goto out;
  }
  if ((st = upload_point(c, &h, fd, local, remote, &rsize)))
    goto out;
  if (lseek(fd, (off_t)rsize, SEEK_SET) < 0) {
    st = upg_ssh_failf(c, UPG_EXIT_USAGE, "CLIENT:FILE", "cannot seek in %s: %s", local, strerror(errno));
    goto out;
  }
  *resumed = rsize;
  libssh2_sftp_seek64(h, (libssh2_uint64_t)rsize); /* nothing is in flight yet */
  char what[256];
  snprintf(what, sizeof what, "uploading %s", local);
  upg_ssh_transfer_phase(c, what);
  upg_meter meter;
  upg_meter_start(&meter, c->s, what, rsize);
  *in_flight = sized_for_rtt(rtt, 1, PUT_WINDOW_MIN, PUT_WINDOW_MAX);
  st = push(c, h, fd, local, remote, size - rsize, *in_flight, sent, &meter);
  upg_meter_end(&meter);
out:
  /* Closing waits for the last acknowledgements: only then is it sent.
   * (After a refusal the connection is sound: close it politely too.) */
  cst = upg_ssh_close_handle(c, &h, true);
  if (st || cst)
    return st ? st : cst;
  if ((st = remote_size(c, remote, &rsize)))
    return st;
  if (rsize != size)
    return upg_ssh_failf(c, UPG_EXIT_TRANSPORT, "CLIENT:SFTP",
                         "after the upload %s holds %lld bytes, not %lld: run again to resume", remote,
                         rsize, size);
  return 0;
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
  if ((st = upg_ssh_open(&c, s, ep, doc)))
    goto out;
  st = put_file(&c, fd, (long long)size, local, remote, &resumed, &sent, &in_flight);
  upg_ssh_close(&c, true);
out:
  close(fd);
  if (st)
    return st;
  jv sum = upg_transfer_summary(local, sent, resumed, (long long)size, upg_now() - t0);
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

/* Everything after the connection is up: size, resume point, transfer. */
static int
get_file(upg_ssh *c, upg_partfile *pf, const char *remote, long long *size, size_t *in_flight)
{
  LIBSSH2_SFTP_HANDLE *h = NULL;
  long long mtime = -1;
  double rtt = 0;
  int cst, st = open_remote(c, remote, LIBSSH2_FXF_READ, &h);
  if (st)
    return st;
  if ((st = remote_fstat(c, h, remote, size, &mtime, &rtt)) || (st = resume_point(c, pf, *size, mtime)))
    goto out;
  libssh2_sftp_seek64(h, (libssh2_uint64_t)pf->end);
  char what[256];
  snprintf(what, sizeof what, "downloading %s", remote);
  upg_ssh_transfer_phase(c, what);
  upg_meter meter;
  upg_meter_start(&meter, c->s, what, (long long)pf->end);
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

/* What the part file's bytes belong to: this account, request and file. */
static jv
origin(const upg_settings *s, const upg_sftp_endpoint *ep, const char *remote)
{
  char account[512];
  snprintf(account, sizeof account, "%s@%s:%d", ep->user ? ep->user : "", ep->host ? ep->host : "", ep->port);
  return JV_OBJECT(jv_string("sftp"), jv_string(account), jv_string("request"),
                   s->request ? jv_string(s->request) : jv_null(), jv_string("remote"), jv_string(remote));
}

int
upg_sftp_get(const upg_settings *s, const upg_sftp_endpoint *ep, const char *remote, const char *local,
             bool force, jv *doc)
{
  double t0 = upg_now();
  upg_partfile pf;
  int st = upg_partfile_open(&pf, s, local, origin(s, ep, remote), force, doc);
  if (st)
    return st;
  upg_ssh c;
  long long size = 0, resumed, got;
  size_t in_flight = 0;
  if ((st = upg_ssh_open(&c, s, ep, doc)))
    goto out;
  st = get_file(&c, &pf, remote, &size, &in_flight);
  upg_ssh_close(&c, true);
out:
  resumed = (long long)pf.resume_from;
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
  *doc = upg_doc_with("transfer", sftp_summary(sum, remote, in_flight));
  return 0;
}

void
upg_sftp_shutdown(void)
{
  upg_ssh_global_exit();
}
