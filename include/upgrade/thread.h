/* SPDX-License-Identifier: GPL-3.0-or-later */
/* thread.h -- a thread of the core started inside the user's shell.
 *
 * Signals sent to bash (Ctrl-C, SIGCHLD, SIGWINCH, ...) must reach bash's
 * own thread, whose handlers are bash's: a thread of ours never takes one.
 * Every thread the core starts is therefore started with every signal
 * blocked (it inherits the mask), and the calling thread's mask is put
 * back at once.
 */
#ifndef UPGRADE_THREAD_H
#define UPGRADE_THREAD_H

#include <pthread.h>

/* pthread_create(T, NULL, FN, ARG) with every signal blocked in the new
 * thread; the caller's mask unchanged.  Returns pthread_create's result
 * (0 or an errno value); the caller joins T. */
int upg_thread_start(pthread_t *t, void *(*fn)(void *), void *arg);

#endif
