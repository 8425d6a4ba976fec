/* SPDX-License-Identifier: GPL-3.0-or-later */
/* delay_fwd.c -- tests/lib/delay_proxy.py's latency forwarder in C, for
 * the bench: one thread, epoll, no per-chunk thread hand-off, so that the
 * forwarder is not what limits a transfer over the simulated link.
 *
 *   cc -O2 -o delay_fwd bench/delay_fwd.c
 *   delay_fwd --target-port P --delay-ms D --port-file F [--window BYTES]
 *
 * Listens on a free loopback port (written to F), forwards every
 * connection to 127.0.0.1:P and holds each chunk D ms before passing it
 * on, both ways: a round trip through it takes 2 x D longer.  With
 * --window, at most BYTES of one direction are "in flight" (read, and not
 * yet acknowledged: an acknowledgement comes D ms after the chunk was
 * delivered), as a TCP window would allow: a connection then carries at
 * most BYTES per round trip.  Without it, a direction holds at most 256 MiB.
 * Same options and meaning as delay_proxy.py's (its test-only ones aside).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define CHUNK (256 * 1024)
#define CAP (256L * 1024 * 1024)

struct chunk {
  struct chunk *next;
  double due;      /* when it may be written */
  size_t len, off; /* len 0: the end of the stream */
  char data[];
};

struct ack {
  struct ack *next;
  double when;
  size_t len;
};

/* One direction of a connection: bytes read from src, written to dst. */
struct dir {
  int src, dst;
  struct chunk *head, *tail;
  struct ack *acks, *acks_tail;
  long held;     /* bytes read and not yet acknowledged */
  int eof_read, done;
};

struct conn {
  struct dir d[2]; /* 0: client -> server, 1: server -> client */
  int fd[2];
};

static double delay, window;

static double
now(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int
can_read(const struct dir *d)
{
  return !d->eof_read && d->held < (window > 0 ? window : CAP);
}

static int
wants_write(const struct dir *d, double t)
{
  return d->head && d->head->due <= t;
}

/* The epoll interest of fd I of C: read for the direction it feeds, write
 * for the direction it drains. */
static void
interest(int ep, struct conn *c, int i, double t)
{
  struct epoll_event ev = { .data.ptr = c };
  ev.events = (can_read(&c->d[i]) ? EPOLLIN : 0) | (wants_write(&c->d[1 - i], t) ? EPOLLOUT : 0);
  epoll_ctl(ep, EPOLL_CTL_MOD, c->fd[i], &ev);
}

static void
release_acks(struct dir *d, double t)
{
  while (d->acks && d->acks->when <= t) {
    struct ack *a = d->acks;
    d->held -= (long)a->len;
    d->acks = a->next;
    if (!d->acks)
      d->acks_tail = NULL;
    free(a);
  }
}

static void
read_some(struct dir *d, double t)
{
  struct chunk *c = malloc(sizeof *c + CHUNK);
  ssize_t n = read(d->src, c->data, CHUNK);
  if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
    free(c);
    return;
  }
  c->len = n > 0 ? (size_t)n : 0;
  c->off = 0;
  c->due = t + delay;
  c->next = NULL;
  if (n <= 0)
    d->eof_read = 1;
  d->held += (long)c->len;
  if (d->tail)
    d->tail->next = c;
  else
    d->head = c;
  d->tail = c;
}

/* Write what is due; an acknowledgement of each chunk written comes back
 * DELAY later. */
static void
write_due(struct dir *d, double t)
{
  while (d->head && d->head->due <= t) {
    struct chunk *c = d->head;
    if (c->len == 0) {
      shutdown(d->dst, SHUT_WR);
      d->done = 1;
    } else {
      ssize_t n = write(d->dst, c->data + c->off, c->len - c->off);
      if (n < 0 && (errno == EAGAIN || errno == EINTR))
        return;
      if (n < 0) { /* the peer is gone: drop what is left */
        d->done = 1;
        d->eof_read = 1;
      } else if ((c->off += (size_t)n) < c->len) {
        return;
      }
      struct ack *a = malloc(sizeof *a);
      *a = (struct ack){ NULL, t + delay, c->len };
      if (d->acks_tail)
        d->acks_tail->next = a;
      else
        d->acks = a;
      d->acks_tail = a;
    }
    d->head = c->next;
    if (!d->head)
      d->tail = NULL;
    free(c);
  }
}

static void
free_dir(struct dir *d)
{
  while (d->head) {
    struct chunk *c = d->head;
    d->head = c->next;
    free(c);
  }
  while (d->acks) {
    struct ack *a = d->acks;
    d->acks = a->next;
    free(a);
  }
}

/* The earliest moment something becomes due on C (or -1: nothing). */
static double
next_due(const struct conn *c)
{
  double best = -1;
  for (int i = 0; i < 2; i++) {
    const struct dir *d = &c->d[i];
    if (d->head && (best < 0 || d->head->due < best))
      best = d->head->due;
    if (window > 0 && d->held >= window && d->acks && (best < 0 || d->acks->when < best))
      best = d->acks->when;
  }
  return best;
}

static int
connect_target(int port)
{
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((unsigned short)port),
                           .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0 && errno != EINPROGRESS) {
    close(fd);
    return -1;
  }
  return fd;
}

#define MAX_CONNS 256

int
main(int argc, char **argv)
{
  int target = 0;
  const char *port_file = NULL;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (strcmp(argv[i], "--target-port") == 0)
      target = atoi(argv[i + 1]);
    else if (strcmp(argv[i], "--delay-ms") == 0)
      delay = atof(argv[i + 1]) / 1000;
    else if (strcmp(argv[i], "--port-file") == 0)
      port_file = argv[i + 1];
    else if (strcmp(argv[i], "--window") == 0)
      window = atof(argv[i + 1]);
    else {
      fprintf(stderr, "delay_fwd: unknown option %s\n", argv[i]);
      return 2;
    }
  }
  if (!target || !port_file) {
    fprintf(stderr, "usage: delay_fwd --target-port P --delay-ms D --port-file F [--window BYTES]\n");
    return 2;
  }
  signal(SIGPIPE, SIG_IGN);
  /* chunks come and go by the thousand: from the heap, not one mmap each */
  mallopt(M_MMAP_THRESHOLD, 64 * 1024 * 1024);
  int lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
  socklen_t alen = sizeof a;
  if (bind(lfd, (struct sockaddr *)&a, sizeof a) != 0 || listen(lfd, 64) != 0
      || getsockname(lfd, (struct sockaddr *)&a, &alen) != 0) {
    perror("delay_fwd: listen");
    return 1;
  }
  FILE *pf = fopen(port_file, "w");
  if (!pf) {
    perror(port_file);
    return 1;
  }
  fprintf(pf, "%d\n", ntohs(a.sin_port));
  fclose(pf);

  int ep = epoll_create1(EPOLL_CLOEXEC);
  struct epoll_event lev = { .events = EPOLLIN, .data.ptr = NULL };
  epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &lev);
  struct conn *conns[MAX_CONNS] = { 0 };

  for (;;) {
    double t = now(), soonest = -1;
    for (int k = 0; k < MAX_CONNS; k++) {
      double due = conns[k] ? next_due(conns[k]) : -1;
      if (due >= 0 && (soonest < 0 || due < soonest))
        soonest = due;
    }
    int timeout = soonest < 0 ? -1 : soonest <= t ? 0 : (int)((soonest - t) * 1000) + 1;
    struct epoll_event evs[64];
    int n = epoll_wait(ep, evs, 64, timeout);
    t = now();
    for (int e = 0; e < n; e++) {
      struct conn *c = evs[e].data.ptr;
      if (c)
        continue; /* handled below, for every connection */
      int cfd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
      int sfd = cfd >= 0 ? connect_target(target) : -1;
      int slot = 0;
      while (slot < MAX_CONNS && conns[slot])
        slot++;
      if (cfd < 0 || sfd < 0 || slot == MAX_CONNS) {
        if (cfd >= 0)
          close(cfd);
        if (sfd >= 0)
          close(sfd);
        continue;
      }
      int one = 1;
      setsockopt(cfd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
      c = calloc(1, sizeof *c);
      c->fd[0] = cfd;
      c->fd[1] = sfd;
      c->d[0] = (struct dir){ .src = cfd, .dst = sfd };
      c->d[1] = (struct dir){ .src = sfd, .dst = cfd };
      for (int i = 0; i < 2; i++) {
        struct epoll_event ev = { .events = EPOLLIN, .data.ptr = c };
        epoll_ctl(ep, EPOLL_CTL_ADD, c->fd[i], &ev);
      }
      conns[slot] = c;
    }
    /* Every connection: acknowledgements, reads, due writes. */
    for (int k = 0; k < MAX_CONNS; k++) {
      struct conn *c = conns[k];
      if (!c)
        continue;
      for (int i = 0; i < 2; i++) {
        struct dir *d = &c->d[i];
        release_acks(d, t);
        for (int reads = 0; reads < 8 && can_read(d); reads++) {
          long before = d->held;
          int was_eof = d->eof_read;
          read_some(d, t);
          if (d->held == before && d->eof_read == was_eof)
            break; /* nothing to read now */
        }
        write_due(d, t);
      }
      if (c->d[0].done && c->d[1].done) {
        for (int i = 0; i < 2; i++) {
          close(c->fd[i]);
          free_dir(&c->d[i]);
        }
        free(c);
        conns[k] = NULL;
        continue;
      }
      interest(ep, c, 0, t);
      interest(ep, c, 1, t);
    }
  }
}
