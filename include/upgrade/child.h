/* SPDX-License-Identifier: GPL-3.0-or-later */
/* child.h -- running a program (pg_dump, pg_restore, psql) as a child of
 * the user's shell.
 *
 * The child is started with fork and execve (the program looked up in $PATH
 * by the parent first).  Between the two, only async-signal-safe calls:
 * prctl(PR_SET_PDEATHSIG, SIGKILL), so that it dies with the shell, whatever
 * killed the shell (also SIGKILL, where no cleanup of ours runs); then, as
 * the shell may have died before the prctl, it ends at once when its parent
 * is no longer the shell; default dispositions for every signal and an empty
 * mask (an interactive bash ignores SIGINT, SIGQUIT, SIGTSTP…; the child
 * must not); stdin/stdout as asked, stderr on a pipe we read, and every
 * other descriptor closed (close_range 3): it inherits no socket, file or
 * pipe of ours nor of the shell's.  An exec failure comes back as errno over
 * a close-on-exec pipe (ENOENT for a script whose interpreter is missing).
 * Every signal is blocked across the fork, so no handler of the shell runs
 * in the child.
 *
 * The death signal is sent when the *thread* that forked ends: call
 * upg_child_spawn from the shell's own (main) thread, never from a worker
 * thread.  Only the child is covered, not what it forks in turn (pg_restore
 * --jobs N's workers end when they next hear from their leader, or when
 * the next restore ends their sessions).
 *
 * SIGCHLD is blocked from before the spawn until our waitpid has reaped the
 * child, so bash's SIGCHLD handler (waitpid(-1)) cannot steal its status;
 * SIGPIPE is blocked while we feed its stdin (a dead reader gives EPIPE, not
 * a killed shell), and a SIGPIPE left pending by that is consumed.
 *
 * While it runs, upg_child_run polls every 100 ms: the host's interrupt
 * (Ctrl-C, a trapped INT/TERM) sends SIGTERM, then SIGKILL after a grace
 * second, reaps it and returns 128+signal.  Nothing outlives the call.
 *
 * The child's stderr is kept, bounded (the last UPG_CHILD_ERR_MAX bytes).
 */
#ifndef UPGRADE_CHILD_H
#define UPGRADE_CHILD_H

#include <signal.h>
#include <stddef.h>
#include <sys/types.h>

#include "upgrade/settings.h"

#define UPG_CHILD_ERR_MAX 16384

/* What the child's stdin or stdout is: /dev/null, a pipe of ours, the
 * shell's own descriptor, or (>= 0) a descriptor to put there. */
enum {
  UPG_CHILD_NULL = -1,
  UPG_CHILD_PIPE = -2,
  UPG_CHILD_INHERIT = -3,
  UPG_CHILD_TO_ERR = -4     /* stdout only: into the kept stderr */
};

/* The producer of the child's stdin (with in = UPG_CHILD_PIPE): set *buf and
 * return its length; 0 at the end (stdin is closed); -1 on an error (the
 * child is stopped: a half-fed psql must not commit what it got). */
typedef ssize_t (*upg_child_feed_fn)(void *data, const void **buf);
/* Called every poll round (at most every 100 ms) for progress. */
typedef void (*upg_child_tick_fn)(void *data);

typedef struct upg_child {
  pid_t pid;
  int in_fd, err_fd;           /* our ends of its stdin / stderr, or -1 */
  sigset_t saved_mask;         /* the mask before the spawn */
  int wait_status;             /* from waitpid, once reaped */
  long long fed;               /* bytes written to its stdin */
  int feed_errno;              /* EPIPE when it stopped reading */
  char err[UPG_CHILD_ERR_MAX + 1];
  size_t err_len;              /* bytes in err (the tail of its stderr) */
  size_t err_dropped;          /* bytes of stderr dropped from the front */
} upg_child;

/* Start ARGV[0] (looked up in PATH) with the environment ENVP (NULL: the
 * process's environ).  IN/OUT: UPG_CHILD_* or a descriptor.  0, or -1 with
 * errno (ENOENT: not on the PATH); nothing is left running on failure. */
int upg_child_spawn(upg_child *c, char *const argv[], char *const envp[], int in, int out);

/* Feed its stdin from FEED (may be NULL), call TICK, and wait for it to
 * end.  Returns 0 when it was reaped normally (see wait_status), 128+sig
 * when the host asked to stop (the child was stopped and reaped), or -1
 * when FEED failed (the child was stopped and reaped).  Restores the
 * signal mask. */
int upg_child_run(upg_child *c, const upg_settings *s, upg_child_feed_fn feed,
                  upg_child_tick_fn tick, void *data);

/* The child exited with status 0. */
int upg_child_ok(const upg_child *c);
/* "exit status 1", "killed by SIGXFSZ" into BUF. */
void upg_child_describe(const upg_child *c, char *buf, size_t len);

/* The lines of its stderr that say what went wrong: those holding
 * "ERROR:", "FATAL:", "error:" or "fatal:" and the DETAIL/HINT/CONTEXT/LINE
 * lines after them (at most MAX_LINES lines), joined by "; ", into a new
 * string; the last non-empty line when none matched; "" when it said
 * nothing. */
char *upg_child_errors(const upg_child *c, int max_lines);

/* Free a NULL-terminated array of malloc'd strings and the array (an argv
 * built for a child, a list of NAME=VALUE); NULL is nothing. */
void upg_argv_free(char **argv);

#endif
