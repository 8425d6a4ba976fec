/* SPDX-License-Identifier: GPL-3.0-or-later */
/* sftp_probe.c -- the measurement behind `--parallel`'s design (bench only,
 * not built by make, not a test): how fast N SFTP streams move a file with
 * libssh2 1.10, laid out three ways.
 *
 *   threads   N SSH sessions (N TCP connections), one thread each
 *   loop      N SSH sessions driven by one thread, non-blocking
 *   channels  one SSH session with N SFTP channels, one thread, non-blocking
 *
 *   cc -O2 -o sftp_probe bench/sftp_probe.c -lssh2 -lpthread
 *   sftp_probe MODE N get|put PORT USER KEY REMOTE SIZE
 *
 * The stream k moves bytes [k*SIZE/N, (k+1)*SIZE/N) of REMOTE (get: read
 * and dropped; put: written from a zero buffer at their offsets).  No host
 * key check: this only measures.  Prints "MODE N DIR MiB/s".
 */
#include <arpa/inet.h>
#include <libssh2.h>
#include <libssh2_sftp.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define BUF (256 * 1024)
static int port, put;
static const char *user, *key, *remote;
static long long size;

typedef struct stream {
  int sock;
  LIBSSH2_SESSION *s;
  LIBSSH2_SFTP *sftp;
  LIBSSH2_SFTP_HANDLE *h;
  long long off, end;
  char *buf;
  size_t boff, blen;
} stream;

static double
now(void)
{
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec + t.tv_nsec / 1e9;
}

static void
die(const char *what)
{
  fprintf(stderr, "sftp_probe: %s\n", what);
  exit(1);
}

static LIBSSH2_SESSION *
session(int *sock)
{
  struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port) };
  inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
  *sock = socket(AF_INET, SOCK_STREAM, 0);
  if (connect(*sock, (struct sockaddr *)&a, sizeof a))
    die("connect");
  LIBSSH2_SESSION *s = libssh2_session_init();
  libssh2_session_method_pref(s, LIBSSH2_METHOD_CRYPT_CS, "aes128-ctr");
  libssh2_session_method_pref(s, LIBSSH2_METHOD_CRYPT_SC, "aes128-ctr");
  libssh2_session_method_pref(s, LIBSSH2_METHOD_MAC_CS, "hmac-sha2-256");
  libssh2_session_method_pref(s, LIBSSH2_METHOD_MAC_SC, "hmac-sha2-256");
  if (libssh2_session_handshake(s, *sock))
    die("handshake");
  if (libssh2_userauth_publickey_fromfile(s, user, NULL, key, NULL))
    die("auth");
  return s;
}

static void
open_stream(stream *st, LIBSSH2_SESSION *s, int k, int n)
{
  st->s = s;
  if (!(st->sftp = libssh2_sftp_init(s))) {
    char *m;
    libssh2_session_last_error(s, &m, NULL, 0);
    die(m);
  }
  st->h = libssh2_sftp_open(st->sftp, remote, put ? LIBSSH2_FXF_WRITE | LIBSSH2_FXF_CREAT : LIBSSH2_FXF_READ, 0600);
  if (!st->h)
    die("open");
  st->off = size * k / n;
  st->end = size * (k + 1) / n;
  libssh2_sftp_seek64(st->h, st->off);
  st->buf = calloc(1, 2 * BUF * 4);
}

/* One step: 1 moved, 0 EAGAIN, -1 done. */
static int
step(stream *st)
{
  if (st->off >= st->end && st->blen == 0)
    return -1;
  ssize_t rc;
  if (put) {
    if (st->blen == 0) {
      long long left = st->end - st->off;
      st->blen = left < 4 * BUF ? (size_t)left : 4 * BUF;
      st->boff = 0;
    }
    rc = libssh2_sftp_write(st->h, st->buf + st->boff, st->blen);
    if (rc > 0) {
      st->boff += rc;
      st->blen -= rc;
      st->off += rc;
    }
  } else {
    long long left = st->end - st->off;
    rc = libssh2_sftp_read(st->h, st->buf, left < BUF ? (size_t)left : BUF);
    if (rc > 0)
      st->off += rc;
    if (rc == 0)
      st->off = st->end;
  }
  if (rc == LIBSSH2_ERROR_EAGAIN)
    return 0;
  if (rc < 0)
    die("transfer");
  return 1;
}

static void
wait_on(LIBSSH2_SESSION *s, int sock)
{
  int d = libssh2_session_block_directions(s);
  struct pollfd p = { sock, (d & 1 ? POLLIN : 0) | (d & 2 ? POLLOUT : 0), 0 };
  poll(&p, 1, 100);
}

static void *
worker(void *arg)
{
  stream *st = arg;
  int r;
  while ((r = step(st)) >= 0)
    if (r == 0)
      wait_on(st->s, st->sock);
  while (libssh2_sftp_close(st->h) == LIBSSH2_ERROR_EAGAIN)
    wait_on(st->s, st->sock);
  return NULL;
}

int
main(int argc, char **argv)
{
  if (argc != 9)
    die("usage: MODE N get|put PORT USER KEY REMOTE SIZE");
  const char *mode = argv[1];
  int n = atoi(argv[2]);
  put = !strcmp(argv[3], "put");
  port = atoi(argv[4]);
  user = argv[5];
  key = argv[6];
  remote = argv[7];
  size = atoll(argv[8]);
  libssh2_init(0);
  stream *sv = calloc(n, sizeof *sv);
  LIBSSH2_SESSION *one = NULL;
  int onesock = -1;
  for (int k = 0; k < n; k++) {
    if (!strcmp(mode, "channels")) {
      if (!one)
        one = session(&onesock);
      sv[k].sock = onesock;
      open_stream(&sv[k], one, k, n);
    } else {
      LIBSSH2_SESSION *s = session(&sv[k].sock);
      open_stream(&sv[k], s, k, n);
    }
  }
  for (int k = 0; k < n; k++)
    libssh2_session_set_blocking(sv[k].s, 0);
  double t0 = now();
  if (!strcmp(mode, "threads")) {
    pthread_t *t = calloc(n, sizeof *t);
    for (int k = 0; k < n; k++)
      pthread_create(&t[k], NULL, worker, &sv[k]);
    for (int k = 0; k < n; k++)
      pthread_join(t[k], NULL);
  } else {
    int live = n;
    char *done = calloc(n, 1);
    while (live) {
      int moved = 0;
      for (int k = 0; k < n; k++) {
        if (done[k])
          continue;
        int r = step(&sv[k]);
        if (r < 0) {
          while (libssh2_sftp_close(sv[k].h) == LIBSSH2_ERROR_EAGAIN)
            wait_on(sv[k].s, sv[k].sock);
          done[k] = 1;
          live--;
        }
        moved |= r > 0;
      }
      if (!moved && live) { /* every stream waits: poll them all */
        struct pollfd p[64];
        if (n > 64)
          die("N > 64");
        for (int k = 0; k < n; k++)
          p[k] = (struct pollfd){ sv[k].sock, POLLIN | POLLOUT, 0 };
        poll(p, (nfds_t)(n & 63), 10);
      }
    }
  }
  double dt = now() - t0;
  printf("%s %d %s %.1f MiB/s\n", mode, n, put ? "put" : "get", size / dt / 1048576);
  return 0;
}
