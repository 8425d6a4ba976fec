/* SPDX-License-Identifier: GPL-3.0-or-later */
/* checkpointer.h -- a thread that makes a parallel download's written
 * bytes durable and records them while the streams go on writing.
 *
 * download --parallel moves every stream on one thread (libcurl's multi
 * handle): a checkpoint on that thread (an fdatasync and a record with
 * three fsyncs, milliseconds to tens of them) stopped every stream while
 * it ran.  Checkpoints every 2 MiB a stream writes (so that a kill redoes
 * little) made a 128 MiB download through a 30 ms link a third slower
 * that way; on a thread of its own, as sftp_streams.c does on the shell's
 * thread, they cost nothing measurable.  The steps are those of
 * segments.h: seal under the lock, sync and record outside it, settle the
 * sealed ones under it.
 *
 * The rules: the caller holds the lock (upg_checkpointer_lock) around
 * every use of the segments while the thread runs; the part file's other
 * fields are the caller's, and the thread touches only its fd (sync) and
 * its record.  Every signal is blocked in the thread (bash's handlers run
 * on bash's thread).  upg_checkpointer_stop joins it before the call
 * returns.
 */
#ifndef UPGRADE_CHECKPOINTER_H
#define UPGRADE_CHECKPOINTER_H

#include <pthread.h>
#include <stdbool.h>

#include "upgrade/files.h"
#include "upgrade/segments.h"

typedef struct upg_checkpointer {
  upg_segments *sg;
  upg_partfile *pf;
  pthread_mutex_t mu;   /* sg, and the fields below */
  pthread_cond_t wake;
  pthread_t thread;
  bool running;         /* a thread runs; else checkpoints run in ask() */
  bool due, quit;
  int err;              /* errno of the first checkpoint that failed, or 0 */
} upg_checkpointer;

/* Start the thread for SG and PF (borrowed until stop).  Without a
 * thread (none could be started) every checkpoint runs in the caller's
 * upg_checkpointer_ask: slower, never wrong. */
void upg_checkpointer_start(upg_checkpointer *cp, upg_segments *sg, upg_partfile *pf);
void upg_checkpointer_lock(upg_checkpointer *cp);
void upg_checkpointer_unlock(upg_checkpointer *cp);
/* Ask for a checkpoint of what is written now (call without the lock). */
void upg_checkpointer_ask(upg_checkpointer *cp);
/* The errno of the first checkpoint that failed, or 0. */
int upg_checkpointer_error(upg_checkpointer *cp);
/* Finish the checkpoint asked for, stop and join the thread.  Then a last
 * checkpoint of everything written; 0, or -1 with errno (this one, or an
 * earlier one, failed). */
int upg_checkpointer_stop(upg_checkpointer *cp);

#endif
