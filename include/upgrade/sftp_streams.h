/* SPDX-License-Identifier: GPL-3.0-or-later */
/* sftp_streams.h -- internal: one SFTP transfer over N SSH sessions at
 * once (sftp_streams.c), used by sftp.c for --parallel.  Not part of the
 * core's public surface.
 *
 * Why N sessions in N threads (measured, see HACKING.md "Parallel SFTP"):
 * libssh2 1.10 spends a core on its crypto per session, so N SFTP channels
 * over one session stay at one session's speed (30 ms RTT, 4 streams: 25
 * MiB/s over channels, 71 MiB/s over sessions), and only threads put the
 * second core to work on loopback.  Each worker thread owns its session
 * outright (libssh2's rule: a session is used by one thread at a time);
 * libssh2_init ran once before, on the shell's thread (upg_ssh_open).
 *
 * Thread rules, all kept here:
 *  - every signal is blocked in the workers (pthread_sigmask around
 *    pthread_create), so bash's handlers run on bash's thread only;
 *  - workers never call the host (bash): their settings are a copy whose
 *    interrupted() reads an atomic stop flag that the shell's thread sets
 *    when the host's own check says Ctrl-C, and which prints nothing;
 *  - the segment bookkeeping (segments.h) and the part file's writes are
 *    done under one mutex; the checkpoint (sync and record) runs on the
 *    shell's thread outside it, on the chunks sealed before the sync;
 *  - every worker is joined before the call returns.
 */
#ifndef UPGRADE_SFTP_STREAMS_H
#define UPGRADE_SFTP_STREAMS_H

#include <stdbool.h>
#include <jv.h>

#include "upgrade/files.h"
#include "upgrade/segments.h"
#include "upgrade/settings.h"
#include "upgrade/ssh.h"

/* The checkpoint's two halves, called on the shell's thread four times a
 * second, as soon as a stream has written upg_checkpoint_bytes since the
 * last one (its worker wakes the shell's thread), and at the end, with the bookkeeping unlocked (the
 * workers go on meanwhile): DURABLE makes every byte written so far
 * durable (NULL: nothing to do, as for a put, whose chunks count once the
 * server acknowledged them); RECORD writes SEGMENTS (consumed: the chunks
 * done and the heads of the others, upg_segments_to_jv) as the transfer's record.  0, or -1 with
 * errno. */
typedef int (*upg_sftp_durable)(void *arg);
typedef int (*upg_sftp_record)(void *arg, jv segments);

typedef struct upg_sftp_streams {
  /* in */
  bool put;                  /* else get */
  int asked;                 /* streams wanted, 1..UPG_PARALLEL_MAX */
  int fd;                    /* put: the local file */
  const char *local;         /* put: its name, for messages */
  upg_partfile *pf;          /* get: the segmented part file */
  const char *remote;
  size_t in_flight;          /* per stream: put window / get buffer */
  upg_segments *sg;          /* the chunks; the done ones are skipped */
  upg_sftp_durable durable;
  upg_sftp_record record;
  void *checkpoint_arg;
  /* out */
  int used;                  /* streams that connected and moved data */
  long long per_stream[UPG_PARALLEL_MAX];
  int lost;                  /* streams refused or dropped (the rest went on) */
} upg_sftp_streams;

/* Move the chunks of T->sg still to do over T->asked sessions: the one
 * open in C0 (handed over: C0 is closed afterwards, whatever happens) and
 * asked-1 more opened like it (host key, authentication).  A stream that
 * cannot connect or loses its connection gives its chunks back to the
 * others; the transfer fails only when no stream is left with chunks to
 * do, with the status and document of the first failure (or of Ctrl-C).
 * 0 when every chunk is done and checkpointed. */
int upg_sftp_streams_run(upg_ssh *c0, const upg_settings *s, const upg_sftp_endpoint *ep,
                         upg_sftp_streams *t, jv *doc);

#endif
