/* SPDX-License-Identifier: GPL-3.0-or-later */
/* thread.c -- threads that take no signal of the shell's (see thread.h). */
#include "config.h"

#include <signal.h>

#include "upgrade/thread.h"

int
upg_thread_start(pthread_t *t, void *(*fn)(void *), void *arg)
{
  sigset_t all, old;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &old);
  int rc = pthread_create(t, NULL, fn, arg);
  pthread_sigmask(SIG_SETMASK, &old, NULL);
  return rc;
}
