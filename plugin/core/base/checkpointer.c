/* SPDX-License-Identifier: GPL-3.0-or-later */
/* checkpointer.c -- a parallel download's checkpoints on a thread of
 * their own (checkpointer.h). */
#include "config.h"

#include <errno.h>

#include "upgrade/checkpointer.h"
#include "upgrade/thread.h"

/* The sealed chunks and heads are durable (the caller synced): settle
 * them and record.  0, or an errno. */
static int
settle_and_record(upg_checkpointer *cp)
{
  pthread_mutex_lock(&cp->mu);
  upg_segments_settle_sealed(cp->sg);
  jv segments = upg_segments_to_jv(cp->sg);
  pthread_mutex_unlock(&cp->mu);
  return upg_partfile_record_segments(cp->pf, segments) == 0 ? 0 : errno;
}

/* One checkpoint, the lock not held: seal, sync, settle, record.  0, or
 * an errno. */
static int
checkpoint(upg_checkpointer *cp)
{
  pthread_mutex_lock(&cp->mu);
  size_t sealed = upg_segments_seal(cp->sg);
  pthread_mutex_unlock(&cp->mu);
  if (!sealed)
    return 0;
  if (upg_partfile_sync(cp->pf) != 0)
    return errno; /* they stay sealed: the next sync covers them */
  return settle_and_record(cp);
}

static void
note(upg_checkpointer *cp, int err)
{
  pthread_mutex_lock(&cp->mu);
  if (err && !cp->err)
    cp->err = err;
  pthread_mutex_unlock(&cp->mu);
}

static void *
run(void *arg)
{
  upg_checkpointer *cp = arg;
  pthread_mutex_lock(&cp->mu);
  for (;;) {
    while (!cp->due && !cp->quit)
      pthread_cond_wait(&cp->wake, &cp->mu);
    if (!cp->due) /* quit, nothing asked: one asked is done first */
      break;
    cp->due = false;
    pthread_mutex_unlock(&cp->mu);
    note(cp, checkpoint(cp));
    pthread_mutex_lock(&cp->mu);
  }
  pthread_mutex_unlock(&cp->mu);
  return NULL;
}

void
upg_checkpointer_start(upg_checkpointer *cp, upg_segments *sg, upg_partfile *pf)
{
  *cp = (upg_checkpointer){ .sg = sg, .pf = pf };
  pthread_mutex_init(&cp->mu, NULL);
  pthread_cond_init(&cp->wake, NULL);
  cp->running = upg_thread_start(&cp->thread, run, cp) == 0;
}

void
upg_checkpointer_lock(upg_checkpointer *cp)
{
  pthread_mutex_lock(&cp->mu);
}

void
upg_checkpointer_unlock(upg_checkpointer *cp)
{
  pthread_mutex_unlock(&cp->mu);
}

void
upg_checkpointer_ask(upg_checkpointer *cp)
{
  if (!cp->running) {
    note(cp, checkpoint(cp));
    return;
  }
  pthread_mutex_lock(&cp->mu);
  cp->due = true;
  pthread_cond_signal(&cp->wake);
  pthread_mutex_unlock(&cp->mu);
}

int
upg_checkpointer_error(upg_checkpointer *cp)
{
  pthread_mutex_lock(&cp->mu);
  int err = cp->err;
  pthread_mutex_unlock(&cp->mu);
  return err;
}

int
upg_checkpointer_stop(upg_checkpointer *cp)
{
  if (cp->running) {
    pthread_mutex_lock(&cp->mu);
    cp->quit = true;
    pthread_cond_signal(&cp->wake);
    pthread_mutex_unlock(&cp->mu);
    pthread_join(cp->thread, NULL);
    cp->running = false;
  }
  note(cp, checkpoint(cp));
  pthread_cond_destroy(&cp->wake);
  pthread_mutex_destroy(&cp->mu);
  errno = cp->err;
  return cp->err ? -1 : 0;
}
