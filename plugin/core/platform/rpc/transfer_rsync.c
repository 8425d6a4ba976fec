/* SPDX-License-Identifier: GPL-3.0-or-later */
/* transfer_rsync.c -- rsync as a child of the shell for one rpc transfer
 * (see rpc_rsync_run.h). */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "upgrade/child.h"
#include "upgrade/human.h"
#include "upgrade/outcome.h"
#include "upgrade/progress.h"
#include "upgrade/rpc_rsync.h"
#include "upgrade/rpc_rsync_run.h"

extern char **environ;

/* The variables a child may see: what rsync and ssh need to find
 * themselves, the user and the language; nothing else. */
static bool
passes(const char *entry)
{
  static const char *const names[] = { "PATH", "HOME", "USER", "LOGNAME", "SHELL", "TMPDIR", "TZ", "LANG",
                                       "LANGUAGE", NULL };
  size_t len = strcspn(entry, "=");
  if (!entry[len])
    return false;
  if (len > 3 && strncmp(entry, "LC_", 3) == 0)
    return true;
  for (int i = 0; names[i]; i++)
    if (strlen(names[i]) == len && strncmp(entry, names[i], len) == 0)
      return true;
  return false;
}

/* The process's environment with only what passes (the array malloc'd,
 * the strings borrowed from environ); NULL when out of memory. */
static char **
child_environment(void)
{
  size_t n = 0;
  for (char **e = environ; e && *e; e++)
    n++;
  char **env = calloc(n + 1, sizeof *env);
  size_t k = 0;
  for (size_t i = 0; env && i < n; i++)
    if (passes(environ[i]))
      env[k++] = environ[i];
  return env;
}

static int
missing(const char *what, int err, jv *doc)
{
  if (err == ENOENT)
    return upg_fail(doc, UPG_EXIT_USAGE,
                    upg_failure("CLIENT:USAGE", "%s is not on the PATH: the rpc dialect's transfers need rsync "
                                "(>= %d.%d) and OpenSSH's ssh (Debian: apt-get install rsync openssh-client)",
                                what, UPG_RSYNC_MIN_MAJOR, UPG_RSYNC_MIN_MINOR));
  return upg_fail(doc, UPG_EXIT_USAGE, upg_failure("CLIENT:USAGE", "cannot run %s: %s", what, strerror(err)));
}

/* Start ARGV with the scrubbed environment; OUT as in upg_child_spawn.
 * 0, or the failure of missing(). */
static int
spawn(upg_child *c, char **argv, int out, jv *doc)
{
  char **env = child_environment();
  if (!env)
    return upg_fail(doc, UPG_EXIT_USAGE, upg_failure("CLIENT:USAGE", "rsync: out of memory"));
  int rc = upg_child_spawn(c, argv, env, UPG_CHILD_NULL, out);
  int err = errno;
  free(env);
  return rc ? missing(argv[0], err, doc) : 0;
}

int
upg_rsync_check_version(const upg_settings *s, jv *doc)
{
  char *argv[] = { "rsync", "--version", NULL };
  upg_child c;
  int status = spawn(&c, argv, UPG_CHILD_TO_ERR, doc);
  if (status)
    return status;
  int rc = upg_child_run(&c, s, NULL, NULL, NULL);
  if (rc > 0)
    return upg_fail(doc, rc, upg_failure("CLIENT:INTERRUPTED", "interrupted"));
  /* "rsync  version 3.2.7  protocol version 31" */
  int major = 0, minor = 0;
  const char *v = strstr(c.err, "version ");
  if (!upg_child_ok(&c) || !v || sscanf(v, "version %d.%d", &major, &minor) != 2) {
    c.err[strcspn(c.err, "\n")] = '\0';
    char *said = upg_human_text(s, c.err);
    status = upg_fail(doc, UPG_EXIT_USAGE, upg_failure("CLIENT:USAGE", "rsync --version did not say its version: "
                                                       "%s", said ? said : ""));
    free(said);
    return status;
  }
  if (major < UPG_RSYNC_MIN_MAJOR || (major == UPG_RSYNC_MIN_MAJOR && minor < UPG_RSYNC_MIN_MINOR))
    return upg_fail(doc, UPG_EXIT_USAGE,
                    upg_failure("CLIENT:USAGE", "rsync %d.%d is too old: the rpc dialect's transfers need rsync >= "
                                "%d.%d (--info=progress2, --ignore-missing-args)", major, minor,
                                UPG_RSYNC_MIN_MAJOR, UPG_RSYNC_MIN_MINOR));
  return 0;
}

/* The run's progress: rsync's stdout on OUT_FD (non-blocking), read at
 * each tick of upg_child_run into the parser, drawn on the meter. */
struct run {
  const upg_settings *s;
  int out_fd;
  long long total;
  upg_rsync_progress progress;
  upg_meter meter;
};

static void
read_progress(struct run *r)
{
  char buf[4096];
  ssize_t n;
  bool moved = false;
  while (r->out_fd >= 0 && ((n = read(r->out_fd, buf, sizeof buf)) > 0 || (n < 0 && errno == EINTR)))
    if (n > 0)
      moved |= upg_rsync_progress_feed(&r->progress, buf, (size_t)n);
  if (!moved)
    return;
  const upg_rsync_progress *p = &r->progress;
  long long done = (long long)p->bytes, total = r->total;
  if (total <= 0 && p->percent > 0)
    total = done * 100 / p->percent;
  upg_meter_update(&r->meter, done, total > done ? total : done);
}

static void
tick(void *data)
{
  read_progress(data);
}

/* The first LINES non-empty lines of TEXT, joined by "; ", escaped. */
static char *
first_lines(const upg_settings *s, const char *text, int lines)
{
  char joined[1024];
  size_t used = 0;
  for (const char *p = text; *p && lines > 0;) {
    size_t len = strcspn(p, "\r\n");
    if (len) {
      int n = snprintf(joined + used, sizeof joined - used, "%s%.*s", used ? "; " : "", (int)len, p);
      if (n < 0 || (size_t)n >= sizeof joined - used)
        break;
      used += (size_t)n;
      lines--;
    }
    p += len;
    p += strspn(p, "\r\n");
  }
  joined[used] = '\0';
  return upg_human_text(s, used ? joined : "no message");
}

/* What a failed rsync means, from its (and ssh's) stderr. */
static int
failure(const upg_settings *s, const upg_child *c, jv *doc)
{
  char how[64];
  upg_child_describe(c, how, sizeof how);
  char *said = first_lines(s, c->err, 3);
  const char *text = said ? said : "";
  int status;
  if (strstr(c->err, "Host key verification failed"))
    status = upg_fail(doc, UPG_EXIT_SECURITY,
                      upg_failure("CLIENT:HOST_KEY", "ssh refused the transfer's server: its host key is not the one "
                                  "transfer/start named (%s); nothing was transferred", text));
  else if (strstr(c->err, "Failed to exec ssh"))
    status = missing("ssh", ENOENT, doc);
  else if (strstr(c->err, "Permission denied (publickey"))
    status = upg_fail(doc, UPG_EXIT_TRANSPORT,
                      upg_failure("CLIENT:SSH_AUTH", "the platform refused the key (--identity, "
                                  "$UPGRADE_IDENTITY): is it the one the request was created with? (%s)", text));
  else
    status = upg_fail(doc, UPG_EXIT_TRANSPORT,
                      upg_failure("CLIENT:SSH", "rsync failed (%s): %s; run the same command again: rsync sends "
                                  "only what is missing", how, text));
  free(said);
  return status;
}

int
upg_rsync_run(const upg_settings *s, char **argv, const char *label, long long total, upg_rsync_moved *moved,
              jv *doc)
{
  int out[2];
  if (pipe2(out, O_CLOEXEC) != 0)
    return upg_fail(doc, UPG_EXIT_USAGE, upg_failure("CLIENT:USAGE", "rsync: cannot make a pipe: %s",
                                                     strerror(errno)));
  upg_child c;
  int status = spawn(&c, argv, out[1], doc);
  close(out[1]);
  if (status) {
    close(out[0]);
    return status;
  }
  fcntl(out[0], F_SETFL, O_NONBLOCK);
  struct run r = { .s = s, .out_fd = out[0], .total = total };
  upg_rsync_progress_init(&r.progress);
  double start = upg_now();
  upg_meter_start(&r.meter, s, label, 0);
  int rc = upg_child_run(&c, s, NULL, tick, &r);
  read_progress(&r); /* what it wrote last */
  upg_meter_end(&r.meter);
  close(out[0]);
  if (rc > 0)
    return upg_fail(doc, rc, upg_failure("CLIENT:INTERRUPTED", "interrupted: rsync stopped; run the same command "
                                         "again: rsync sends only what is missing"));
  if (!upg_child_ok(&c))
    return failure(s, &c, doc);
  *moved = (upg_rsync_moved){ .bytes = (long long)r.progress.bytes, .files = r.progress.files_done,
                              .seconds = upg_round_ms(upg_now() - start) };
  return 0;
}
