/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Unit tests: the child runner (plugin/core/base/child.c). */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tap.h"
#include "upgrade/child.h"
#include "upgrade/files.h"

static int stop_after; /* ticks before interrupted() says SIGINT; 0 never */
static int ticks;

static int
interrupted(void *data)
{
  (void)data;
  return stop_after && ++ticks >= stop_after ? SIGINT : 0;
}

struct feed { int left; char block[4096]; };

static ssize_t
feed(void *data, const void **buf)
{
  struct feed *f = data;
  if (f->left-- <= 0)
    return 0;
  *buf = f->block;
  return sizeof f->block;
}

/* PID runs (a zombie, left to whoever adopted it, does not). */
static int
alive(pid_t pid)
{
  char path[64], buf[256];
  snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
  int fd = open(path, O_RDONLY);
  if (fd < 0)
    return 0;
  ssize_t n = read(fd, buf, sizeof buf - 1);
  close(fd);
  buf[n > 0 ? n : 0] = '\0';
  const char *end = strrchr(buf, ')');
  return !(end && end[1] == ' ' && end[2] == 'Z');
}

int
main(void)
{
  upg_settings s = { .host.interrupted = interrupted };
  upg_child c;

  char *sh_err[] = { "sh", "-c", "echo one >&2; echo 'psql:<stdin>:3: ERROR:  boom' >&2; "
                     "echo 'LINE 1: INSERT INTO x' >&2; echo after >&2; exit 3", NULL };
  ok(upg_child_spawn(&c, sh_err, NULL, UPG_CHILD_NULL, UPG_CHILD_NULL) == 0, "spawned");
  ok(upg_child_run(&c, &s, NULL, NULL, NULL) == 0, "ran");
  ok(!upg_child_ok(&c) && WEXITSTATUS(c.wait_status) == 3, "exit status kept");
  char *e = upg_child_errors(&c, 5);
  is_str(e, "psql:<stdin>:3: ERROR:  boom; LINE 1: INSERT INTO x", "error lines picked");
  free(e);

  /* libpq's second line starts with a tab: whitespace, not an escaped \t. */
  char *sh_tab[] = { "sh", "-c", "printf 'pg_dump: error: connection to server failed: Connection refused\\n"
                     "\\tIs the server running\\tthere?\\n' >&2; exit 1", NULL };
  ok(upg_child_spawn(&c, sh_tab, NULL, UPG_CHILD_NULL, UPG_CHILD_NULL) == 0 && upg_child_run(&c, &s, NULL, NULL, NULL) == 0,
     "ran the tab printer");
  e = upg_child_errors(&c, 5);
  is_str(e, "pg_dump: error: connection to server failed: Connection refused; Is the server running there?",
         "a detail line's tab indent dropped, its tabs made spaces");
  free(e);

  /* A reader that stops reading: EPIPE, not a dead test program. */
  char *head[] = { "head", "-c", "10", NULL };
  struct feed f = { .left = 1000 };
  ok(upg_child_spawn(&c, head, NULL, UPG_CHILD_PIPE, UPG_CHILD_NULL) == 0, "spawned head");
  ok(upg_child_run(&c, &s, feed, NULL, &f) == 0 && upg_child_ok(&c), "head exited 0");
  ok(c.feed_errno == EPIPE, "EPIPE seen (%d)", c.feed_errno);
  sigset_t pending;
  sigpending(&pending);
  ok(!sigismember(&pending, SIGPIPE), "no SIGPIPE left pending");

  /* All of the input reaches the child. */
  char *wc[] = { "sh", "-c", "wc -c >&2", NULL };
  f.left = 300;
  ok(upg_child_spawn(&c, wc, NULL, UPG_CHILD_PIPE, UPG_CHILD_NULL) == 0, "spawned wc");
  ok(upg_child_run(&c, &s, feed, NULL, &f) == 0 && upg_child_ok(&c), "wc exited 0");
  ok(atoi(c.err) == 300 * 4096 && c.fed == 300 * 4096, "1.2 MB fed");

  /* An interrupt stops it, SIGTERM ignored or not. */
  char *stubborn[] = { "sh", "-c", "trap '' TERM; sleep 30", NULL };
  stop_after = 3;
  double t0 = upg_now();
  ok(upg_child_spawn(&c, stubborn, NULL, UPG_CHILD_NULL, UPG_CHILD_NULL) == 0, "spawned sleeper");
  int rc = upg_child_run(&c, &s, NULL, NULL, NULL);
  ok(rc == 128 + SIGINT, "interrupt: 130 (%d)", rc);
  ok(upg_now() - t0 < 5, "stopped within the grace");
  ok(c.pid == -1 && waitpid(-1, NULL, WNOHANG) < 0 && errno == ECHILD, "reaped: no child left");
  stop_after = 0;

  /* Not on the PATH. */
  char *none[] = { "no-such-program-upgrade", NULL };
  ok(upg_child_spawn(&c, none, NULL, UPG_CHILD_NULL, UPG_CHILD_NULL) != 0 && errno == ENOENT, "ENOENT");

  /* On the PATH but its exec fails (a script whose interpreter is missing):
   * the exec's errno comes back, and nothing is left running. */
  char dir[] = "/tmp/test_child.XXXXXX", script[64];
  ok(mkdtemp(dir) != NULL, "temp dir");
  snprintf(script, sizeof script, "%s/broken", dir);
  int sfd = open(script, O_WRONLY | O_CREAT | O_TRUNC, 0755);
  ok(sfd >= 0 && write(sfd, "#!/no/such/interpreter\n", 23) == 23 && close(sfd) == 0, "script written");
  char *broken[] = { script, NULL };
  errno = 0;
  ok(upg_child_spawn(&c, broken, NULL, UPG_CHILD_NULL, UPG_CHILD_NULL) != 0 && errno == ENOENT,
     "exec failure reported: ENOENT (%d)", errno);
  ok(waitpid(-1, NULL, WNOHANG) < 0 && errno == ECHILD, "the failed child was reaped");
  unlink(script);
  rmdir(dir);

  /* The child dies with the process that started it. */
  int pids[2];
  ok(pipe(pids) == 0, "pipe");
  pid_t middle = fork();
  if (middle == 0) {
    char *sleeper[] = { "sleep", "30", NULL };
    upg_child mc;
    if (upg_child_spawn(&mc, sleeper, NULL, UPG_CHILD_NULL, UPG_CHILD_NULL) == 0 && write(pids[1], &mc.pid, sizeof mc.pid))
      _exit(0);
    _exit(1);
  }
  pid_t orphan = 0;
  ok(read(pids[0], &orphan, sizeof orphan) == sizeof orphan && waitpid(middle, NULL, 0) == middle, "starter gone");
  close(pids[0]);
  close(pids[1]);
  int gone = 0;
  for (double t = upg_now(); !gone && upg_now() - t < 2; usleep(20000))
    gone = !alive(orphan);
  ok(gone, "its child died with it");

  /* Standard descriptors closed in the caller: the pipes land on 0 and 2
   * and still reach the child's stdin and stderr. */
  int saved0 = dup(0), saved2 = dup(2);
  close(0);
  close(2);
  f.left = 3;
  int spawned = upg_child_spawn(&c, wc, NULL, UPG_CHILD_PIPE, UPG_CHILD_NULL) == 0;
  int ran = spawned && upg_child_run(&c, &s, feed, NULL, &f) == 0 && upg_child_ok(&c);
  dup2(saved0, 0);
  dup2(saved2, 2);
  close(saved0);
  close(saved2);
  ok(ran && atoi(c.err) == 3 * 4096, "0 and 2 closed: fed and heard (%d)", atoi(c.err));

  /* No descriptor of ours reaches the child. */
  int fd = open("/dev/null", O_RDONLY); /* not CLOEXEC on purpose */
  char *ls[] = { "sh", "-c", "ls /proc/self/fd >&2", NULL };
  ok(upg_child_spawn(&c, ls, NULL, UPG_CHILD_NULL, UPG_CHILD_NULL) == 0 && upg_child_run(&c, &s, NULL, NULL, NULL) == 0,
     "ls ran");
  ok(strcmp(c.err, "0\n1\n2\n3\n") == 0, "only 0-2, and ls's own directory fd 3");
  close(fd);

  /* The kept stderr is bounded to its tail. */
  char *loud[] = { "sh", "-c", "i=0; while [ $i -lt 3000 ]; do echo line $i >&2; i=$((i+1)); done", NULL };
  ok(upg_child_spawn(&c, loud, NULL, UPG_CHILD_NULL, UPG_CHILD_NULL) == 0 && upg_child_run(&c, &s, NULL, NULL, NULL) == 0,
     "loud ran");
  ok(c.err_len == UPG_CHILD_ERR_MAX && c.err_dropped > 0 && strstr(c.err, "line 2999\n"), "tail kept");
  return tap_done();
}
