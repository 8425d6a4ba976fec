/* SPDX-License-Identifier: GPL-3.0-or-later */
/* child.c -- a program run as a child of the shell (see child.h). */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "upgrade/child.h"
#include "upgrade/files.h"

extern char **environ;

static int try_reap(upg_child *c, int options);

/* Seconds between SIGTERM and SIGKILL when the call is interrupted. */
#define KILL_GRACE 1.0

static void
close_fd(int *fd)
{
  if (*fd >= 0)
    close(*fd);
  *fd = -1;
}

/* What the child's stdin, stdout and stderr are made of: descriptors
 * opened or chosen by the parent before the fork, so that the child only
 * moves them (fcntl, dup2, close_range, close: async-signal-safe). */
struct plan {
  int src[3];          /* for 0, 1, 2: the descriptor to put there, or -1: keep */
  const char *prog;    /* the path to exec */
  char *const *argv, *const *envp;
  pid_t parent;        /* getpid() before the fork */
  int report;          /* write end of the CLOEXEC pipe that carries exec's errno */
  int max_fd;          /* for the close loop when close_range is missing */
};

/* In the child: report ERR to the parent and end without running atexit
 * handlers or flushing the shell's stdio buffers. */
static void __attribute__((noreturn))
child_fail(const struct plan *p, int err)
{
  ssize_t w = write(p->report, &err, sizeof err);
  (void)w;
  _exit(127);
}

/* In the child: 0, 1, 2 as planned (each source first moved above 2, so
 * that no dup2 overwrites a source still to be placed, and dup2 then
 * clears its close-on-exec), then every other descriptor closed. */
static void
child_fds(const struct plan *p)
{
  int high[3];
  for (int i = 0; i < 3; i++) {
    high[i] = p->src[i];
    if (high[i] >= 0 && high[i] < 3 && (high[i] = fcntl(p->src[i], F_DUPFD_CLOEXEC, 3)) < 0)
      child_fail(p, errno);
  }
  for (int i = 0; i < 3; i++)
    if (high[i] >= 0 && dup2(high[i], i) < 0)
      child_fail(p, errno);
  /* Whatever the shell or we hold open (sockets, the user's exec 3>…);
   * the report pipe is close-on-exec and must stay until the exec. */
  int closed = (p->report == 3 || close_range(3, (unsigned)p->report - 1, 0) == 0)
            && close_range((unsigned)p->report + 1, ~0U, 0) == 0;
  if (!closed) /* a kernel before 5.9 */
    for (int fd = 3; fd < p->max_fd; fd++)
      if (fd != p->report)
        close(fd);
}

/* In the child, between fork and exec: only async-signal-safe calls. */
static void __attribute__((noreturn))
child_exec(const struct plan *p)
{
  /* Die with the shell: SIGKILL when the thread that forked (bash's main
   * thread) ends.  The shell may have died before the prctl: then we are
   * already someone else's child. */
  if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0)
    child_fail(p, errno);
  if (getppid() != p->parent)
    _exit(127);
  /* Default dispositions: an interactive bash ignores SIGINT, SIGQUIT,
   * SIGTSTP…, which exec would keep; its handlers must not run here. */
  struct sigaction dfl = { .sa_handler = SIG_DFL };
  sigemptyset(&dfl.sa_mask);
  for (int sig = 1; sig < NSIG; sig++)
    if (sig != SIGKILL && sig != SIGSTOP)
      sigaction(sig, &dfl, NULL); /* glibc's internal signals refuse: harmless */
  child_fds(p);
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, NULL);
  execve(p->prog, p->argv, p->envp);
  child_fail(p, errno);
}

/* PROG as the shell would find it in $PATH, into BUF: 0, or -1 with errno
 * ENOENT.  Looked up before the fork: getenv and stat-ing the PATH are no
 * work for a forked child of a (possibly threaded) process. */
static int
find_program(const char *prog, char *buf, size_t len)
{
  if (strchr(prog, '/')) {
    snprintf(buf, len, "%s", prog);
    return access(buf, X_OK);
  }
  const char *path = getenv("PATH");
  for (const char *p = path ? path : "/usr/bin:/bin"; p; p = strchr(p, ':') ? strchr(p, ':') + 1 : NULL) {
    size_t dirlen = strcspn(p, ":");
    if ((size_t)snprintf(buf, len, "%.*s%s%s", (int)dirlen, p, dirlen ? "/" : "", prog) >= len)
      continue;
    struct stat st;
    if (stat(buf, &st) == 0 && S_ISREG(st.st_mode) && access(buf, X_OK) == 0)
      return 0;
  }
  errno = ENOENT;
  return -1;
}

/* The descriptor to put on 0 (IN) or 1 (OUT); -1: keep the shell's.
 * /dev/null is opened here, close-on-exec (dup2 in the child clears it). */
static int
plan_source(int which, int in_pipe_r, int err_w, int *opened)
{
  if (which == UPG_CHILD_NULL)
    return *opened = open("/dev/null", O_RDWR | O_CLOEXEC);
  if (which == UPG_CHILD_PIPE)
    return in_pipe_r;
  if (which == UPG_CHILD_TO_ERR)
    return err_w;
  return which >= 0 ? which : -1;
}

/* Fork and exec; the exec's errno comes back over a close-on-exec pipe
 * (EOF: the exec happened).  0, or an errno; nothing left running on
 * failure.  Every signal is blocked across the fork so that no handler of
 * the shell runs in the child before its dispositions are reset. */
static int
start(upg_child *c, struct plan *p)
{
  int report[2];
  if (pipe2(report, O_CLOEXEC) != 0)
    return errno;
  p->report = report[1];
  p->parent = getpid();
  sigset_t all, before;
  sigfillset(&all);
  sigprocmask(SIG_SETMASK, &all, &before);
  pid_t pid = fork();
  if (pid == 0)
    child_exec(p);
  int err = pid < 0 ? errno : 0;
  sigprocmask(SIG_SETMASK, &before, NULL);
  close(report[1]);
  if (pid > 0) {
    ssize_t n;
    while ((n = read(report[0], &err, sizeof err)) < 0 && errno == EINTR)
      ;
    if (n != (ssize_t)sizeof err)
      err = 0;
    c->pid = pid;
    if (err) /* it ended at once: reap it (SIGCHLD is blocked, bash cannot) */
      try_reap(c, 0);
  }
  close(report[0]);
  return err;
}

static int
spawn(upg_child *c, char *const argv[], char *const envp[], int in, int out, int in_r, int err_w)
{
  char prog[4096];
  if (find_program(argv[0], prog, sizeof prog) != 0)
    return errno;
  int null_in = -1, null_out = -1;
  struct plan p = {
    .src = { plan_source(in, in_r, err_w, &null_in), plan_source(out, in_r, err_w, &null_out), err_w },
    .prog = prog, .argv = argv, .envp = envp ? envp : environ,
  };
  long max = sysconf(_SC_OPEN_MAX);
  p.max_fd = max > 0 && max < 65536 ? (int)max : 65536;
  int rc = (in == UPG_CHILD_NULL && null_in < 0) || (out == UPG_CHILD_NULL && null_out < 0) ? errno : 0;
  if (!rc)
    rc = start(c, &p);
  close_fd(&null_in);
  close_fd(&null_out);
  return rc;
}

int
upg_child_spawn(upg_child *c, char *const argv[], char *const envp[], int in, int out)
{
  int in_pipe[2] = { -1, -1 }, err_pipe[2] = { -1, -1 };
  sigset_t block;

  memset(c, 0, sizeof *c);
  c->pid = -1;
  c->in_fd = c->err_fd = -1;
  if (pipe2(err_pipe, O_CLOEXEC) != 0)
    return -1;
  if (in == UPG_CHILD_PIPE && pipe2(in_pipe, O_CLOEXEC) != 0) {
    int err = errno;
    close(err_pipe[0]);
    close(err_pipe[1]);
    errno = err;
    return -1;
  }
  sigemptyset(&block);
  sigaddset(&block, SIGCHLD);
  sigaddset(&block, SIGPIPE);
  sigprocmask(SIG_BLOCK, &block, &c->saved_mask);

  int rc = spawn(c, argv, envp, in, out, in_pipe[0], err_pipe[1]);
  close_fd(&in_pipe[0]);
  close_fd(&err_pipe[1]);
  if (rc) {
    close_fd(&in_pipe[1]);
    close_fd(&err_pipe[0]);
    sigprocmask(SIG_SETMASK, &c->saved_mask, NULL);
    c->pid = -1;
    errno = rc;
    return -1;
  }
  c->in_fd = in_pipe[1];
  c->err_fd = err_pipe[0];
  fcntl(c->err_fd, F_SETFL, O_NONBLOCK);
  if (c->in_fd >= 0)
    fcntl(c->in_fd, F_SETFL, O_NONBLOCK);
  return 0;
}

/* Keep the tail of its stderr: drop the oldest bytes when full.  N is at
 * most the read buffer's size, well under UPG_CHILD_ERR_MAX. */
static void
keep_err(upg_child *c, const char *buf, size_t n)
{
  if (c->err_len + n > UPG_CHILD_ERR_MAX) {
    size_t drop = c->err_len + n - UPG_CHILD_ERR_MAX;
    memmove(c->err, c->err + drop, c->err_len - drop);
    c->err_len -= drop;
    c->err_dropped += drop;
  }
  memcpy(c->err + c->err_len, buf, n);
  c->err_len += n;
  c->err[c->err_len] = '\0';
}

/* Read what its stderr holds now; closes err_fd at its end. */
static void
drain_err(upg_child *c)
{
  char buf[4096];
  for (;;) {
    ssize_t n = read(c->err_fd, buf, sizeof buf);
    if (n > 0) {
      keep_err(c, buf, (size_t)n);
      continue;
    }
    if (n < 0 && errno == EINTR)
      continue;
    if (n == 0 || errno != EAGAIN)
      close_fd(&c->err_fd);
    return;
  }
}

/* The feeding state: the block being written. */
struct feed_state {
  const char *buf;
  size_t len;
  int failed;   /* the producer failed */
};

/* Write to its stdin what it takes now; fetch more from FEED when the
 * block is done.  Closes in_fd at the end of the input or on EPIPE. */
static void
feed_some(upg_child *c, struct feed_state *f, upg_child_feed_fn feed, void *data)
{
  for (;;) {
    if (f->len == 0) {
      const void *next = NULL;
      ssize_t n = feed ? feed(data, &next) : 0;
      /* A failed producer keeps the pipe open: the end of input would
       * tell psql that the dump is complete, and it would commit what it
       * got.  stop_child kills it first. */
      if (n < 0) {
        f->failed = 1;
        return;
      }
      if (n == 0) {
        close_fd(&c->in_fd);
        return;
      }
      f->buf = next;
      f->len = (size_t)n;
    }
    ssize_t w = write(c->in_fd, f->buf, f->len);
    if (w < 0 && errno == EINTR)
      continue;
    if (w < 0) {
      if (errno != EAGAIN) {
        c->feed_errno = errno;
        close_fd(&c->in_fd);
      }
      return;
    }
    f->buf += w;
    f->len -= (size_t)w;
    c->fed += w;
  }
}

/* Reap it if it ended: 1 when reaped. */
static int
try_reap(upg_child *c, int options)
{
  for (;;) {
    pid_t r = waitpid(c->pid, &c->wait_status, options);
    if (r == c->pid) {
      c->pid = -1;
      return 1;
    }
    if (r < 0 && errno == EINTR)
      continue;
    if (r < 0) { /* ECHILD: someone else reaped it; nothing left to wait for */
      c->pid = -1;
      c->wait_status = 0x7f00; /* exit status 127: unknown */
      return 1;
    }
    return 0;
  }
}

/* Stop it: SIGTERM, then SIGKILL after the grace; reaped on return. */
static void
stop_child(upg_child *c)
{
  /* Signalled before its stdin is closed: a psql that saw the end of its
   * input first would commit a half-fed dump. */
  if (c->pid > 0) {
    kill(c->pid, SIGTERM);
    double deadline = upg_now() + KILL_GRACE;
    while (!try_reap(c, WNOHANG)) {
      if (upg_now() >= deadline) {
        kill(c->pid, SIGKILL);
        try_reap(c, 0);
        break;
      }
      struct timespec ts = { 0, 20 * 1000000L };
      nanosleep(&ts, NULL);
    }
  }
  close_fd(&c->in_fd);
}

/* Restore the mask, first consuming a SIGPIPE our writes raised. */
static void
restore_mask(upg_child *c)
{
  sigset_t pending, pipe_only;
  sigpending(&pending);
  if (sigismember(&pending, SIGPIPE) && !sigismember(&c->saved_mask, SIGPIPE)) {
    struct timespec zero = { 0, 0 };
    sigemptyset(&pipe_only);
    sigaddset(&pipe_only, SIGPIPE);
    sigtimedwait(&pipe_only, NULL, &zero);
  }
  sigprocmask(SIG_SETMASK, &c->saved_mask, NULL);
}

static int
finish(upg_child *c, int result)
{
  if (c->err_fd >= 0)
    drain_err(c);
  close_fd(&c->err_fd);
  close_fd(&c->in_fd);
  restore_mask(c);
  return result;
}

int
upg_child_run(upg_child *c, const upg_settings *s, upg_child_feed_fn feed,
              upg_child_tick_fn tick, void *data)
{
  struct feed_state f = { 0 };

  while (c->pid > 0) {
    int sig = upg_interrupted(s);
    if (sig) {
      stop_child(c);
      return finish(c, 128 + sig);
    }
    if (tick)
      tick(data);
    struct pollfd p[2];
    nfds_t n = 0;
    if (c->err_fd >= 0)
      p[n++] = (struct pollfd){ .fd = c->err_fd, .events = POLLIN };
    if (c->in_fd >= 0)
      p[n++] = (struct pollfd){ .fd = c->in_fd, .events = POLLOUT };
    if (n == 0) { /* nothing left to read or write: wait for its end */
      if (!try_reap(c, WNOHANG)) {
        struct timespec ts = { 0, 50 * 1000000L };
        nanosleep(&ts, NULL);
      }
      continue;
    }
    if (poll(p, n, 100) < 0 && errno != EINTR)
      break;
    for (nfds_t i = 0; i < n; i++) {
      if (!p[i].revents)
        continue;
      if (p[i].fd == c->err_fd)
        drain_err(c);
      else if (p[i].fd == c->in_fd)
        feed_some(c, &f, feed, data);
    }
    if (f.failed) {
      stop_child(c);
      return finish(c, -1);
    }
    try_reap(c, WNOHANG);
  }
  if (c->pid > 0) /* poll failed: do not leave it running */
    stop_child(c);
  return finish(c, 0);
}

int
upg_child_ok(const upg_child *c)
{
  return WIFEXITED(c->wait_status) && WEXITSTATUS(c->wait_status) == 0;
}

void
upg_child_describe(const upg_child *c, char *buf, size_t len)
{
  if (WIFEXITED(c->wait_status))
    snprintf(buf, len, "exit status %d", WEXITSTATUS(c->wait_status));
  else if (WIFSIGNALED(c->wait_status))
    snprintf(buf, len, "killed by SIG%s", sigabbrev_np(WTERMSIG(c->wait_status))
                                          ? sigabbrev_np(WTERMSIG(c->wait_status)) : "?");
  else
    snprintf(buf, len, "status %d", c->wait_status);
}

static int
is_error_line(const char *line, size_t len)
{
  static const char *const marks[] = { "ERROR:", "FATAL:", "error:", "fatal:", "PANIC:" };
  for (size_t i = 0; i < sizeof marks / sizeof marks[0]; i++)
    if (memmem(line, len, marks[i], strlen(marks[i])))
      return 1;
  return 0;
}

static int
is_detail_line(const char *line, size_t len)
{
  size_t blank = strspn(line, " \t");
  if (blank < len && line[blank] == '^')
    return 0; /* the caret under LINE: meaningless on one line */
  static const char *const marks[] = { "DETAIL:", "HINT:", "CONTEXT:", "LINE ", "QUERY:", "    ", "\t" };
  for (size_t i = 0; i < sizeof marks / sizeof marks[0]; i++)
    if (memmem(line, len < 40 ? len : 40, marks[i], strlen(marks[i])))
      return 1;
  return 0;
}

/* LINE after "; ": its indent dropped and its tabs made spaces (libpq's
 * second lines start with one: "\tIs the server running ..."), so that
 * stderr shows whitespace, not an escaped \t. */
static void
append_line(char **out, size_t *used, const char *line, size_t len)
{
  size_t indent = strspn(line, " \t");
  line += indent < len ? indent : len;
  len -= indent < len ? indent : len;
  while (len && (line[len - 1] == '\r' || line[len - 1] == ' ' || line[len - 1] == '\t'))
    len--;
  char *grown = realloc(*out, *used + len + 3);
  if (!grown)
    return;
  *out = grown;
  if (*used) {
    memcpy(*out + *used, "; ", 2);
    *used += 2;
  }
  for (size_t i = 0; i < len; i++)
    (*out)[(*used)++] = line[i] == '\t' ? ' ' : line[i];
  (*out)[*used] = '\0';
}

char *
upg_child_errors(const upg_child *c, int max_lines)
{
  char *out = calloc(1, 1);
  size_t used = 0;
  int taken = 0, in_error = 0;
  const char *last = NULL;
  size_t last_len = 0;

  for (const char *p = c->err; out && *p && taken < max_lines;) {
    const char *nl = strchr(p, '\n');
    size_t len = nl ? (size_t)(nl - p) : strlen(p);
    if (is_error_line(p, len)) {
      in_error = 1;
      append_line(&out, &used, p, len);
      taken++;
    } else if (in_error && is_detail_line(p, len)) {
      append_line(&out, &used, p, len);
      taken++;
    } else {
      in_error = 0;
    }
    if (len) {
      last = p;
      last_len = len;
    }
    p += len + (nl ? 1 : 0);
  }
  if (out && !used && last)
    append_line(&out, &used, last, last_len);
  return out;
}

void
upg_argv_free(char **argv)
{
  for (size_t i = 0; argv && argv[i]; i++)
    free(argv[i]);
  free(argv);
}
