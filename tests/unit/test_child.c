/* Unit tests: the child runner (plugin/core/child.c). */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
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
