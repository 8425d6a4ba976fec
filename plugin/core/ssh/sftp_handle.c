/* SPDX-License-Identifier: GPL-3.0-or-later */
/* sftp_handle.c -- one SFTP handle on one connection: open, push
 * (sftp_handle.h). */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "upgrade/outcome.h"
#include "upgrade/sftp_handle.h"
#include "upgrade/ssh.h"

/* Open REMOTE with FLAGS (0600 when created). */
int
upg_sftp_open_remote(upg_ssh *c, const char *remote, unsigned long flags, LIBSSH2_SFTP_HANDLE **h)
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

/* The upload window: bytes [off, end) of buf are read from the file and
 * not yet acknowledged; libssh2 has packetised a prefix of them, which
 * must be passed again, unchanged, on the next call.  The buffer holds
 * the window (size) and room for one read beyond it (slack): reads stay
 * large without a second window of memory per stream. */
#define READ_SLACK (256L * 1024)
typedef struct window {
  char *buf;
  size_t off, end, size, cap;
} window;

/* Top the window up from FD at *POS (at most *LEFT more bytes; pread, so
 * that streams can share the descriptor), compacting it when the free
 * tail is shorter than the slack.  0, or -1 with errno (0 = file shrank). */
static int
window_fill(window *w, int fd, long long *pos, long long *left)
{
  if (*left <= 0 || w->end - w->off >= w->size)
    return 0;
  if (w->cap - w->end < w->cap - w->size) {
    memmove(w->buf, w->buf + w->off, w->end - w->off); /* less than a window */
    w->end -= w->off;
    w->off = 0;
  }
  size_t want = w->cap - w->end;
  if ((long long)want > *left)
    want = (size_t)*left;
  ssize_t n;
  while ((n = pread(fd, w->buf + w->end, want, (off_t)*pos)) < 0 && errno == EINTR)
    ;
  if (n <= 0) {
    if (n == 0)
      errno = 0;
    return -1;
  }
  w->end += (size_t)n;
  *left -= n;
  *pos += n;
  return 0;
}

int
upg_sftp_push(upg_ssh *c, LIBSSH2_SFTP_HANDLE *h, int fd, long long from, const char *local, const char *remote,
              long long total, size_t size, long long *sent, upg_sftp_on_sent on_sent, void *arg)
{
  size_t slack = size < READ_SLACK ? size : READ_SLACK;
  window w = { malloc(size + slack), 0, 0, size, size + slack };
  long long left = total, pos = from;
  int st = 0;
  if (!w.buf)
    return upg_ssh_failf(c, UPG_EXIT_USAGE, "CLIENT:FILE", "out of memory for the upload buffer");
  while (!st && *sent < total) {
    if (window_fill(&w, fd, &pos, &left) != 0) {
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
      on_sent(arg, *sent);
      st = upg_ssh_progress(c);
    }
  }
  free(w.buf);
  return st;
}
