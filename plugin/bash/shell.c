/* SPDX-License-Identifier: GPL-3.0-or-later */
/* shell.c -- what the core asks of bash: signals, messages, variables. */
#include "config.h"

#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <loadables.h>
#include <quit.h>

#include "binding.h"

/* trap.h is not installed by bash-builtins; bash exports the function. */
extern int signal_is_pending(int);

/* Interactive shells set interrupt_state / terminating_signal; a script
 * that traps INT or TERM only marks the trap pending -- check both, or a
 * trapped Ctrl-C would never stop the transfer. */
static int
bash_interrupted(void *data)
{
  static const int trapped[] = { SIGINT, SIGTERM, SIGHUP };

  if (interrupt_state)
    return SIGINT;
  if (terminating_signal)
    return terminating_signal;
  for (size_t i = 0; i < sizeof trapped / sizeof trapped[0]; i++)
    if (signal_is_pending(trapped[i]))
      return trapped[i];
  return 0;
}

/* Whether a status line is on the screen (to clear before other output). */
static bool status_shown;

/* A line redrawn in place on stderr; NULL ends it: cleared on a terminal,
 * ended with a newline elsewhere (a log keeps its last state, and the next
 * line never lands glued to it). */
static void
bash_status_line(void *data, const char *line)
{
  if (!line) {
    if (status_shown)
      fputs(isatty(STDERR_FILENO) ? "\r\033[K" : "\n", stderr);
    status_shown = false;
    fflush(stderr);
    return;
  }
  fprintf(stderr, "\r\033[Kupgrade: %s", line);
  status_shown = true;
  fflush(stderr);
}

/* The core made LINE safe (upg_human_text): print it as it is. */
static void
bash_notice(void *data, const char *line)
{
  if (status_shown)
    bash_status_line(NULL, NULL);
  fprintf(stderr, "upgrade: %s\n", line);
  fflush(stderr);
}

static void
bash_trace(void *data, const char *line)
{
  if (status_shown)
    bash_status_line(NULL, NULL);
  fprintf(stderr, "%s\n", line);
  fflush(stderr);
}

void
upg_shell_host(upg_settings *s)
{
  s->host.interrupted = bash_interrupted;
  s->host.notice = bash_notice;
  s->host.trace = bash_trace;
  s->host.status_line = bash_status_line;
  s->host.data = s;
}

const char *
upg_shell_get(const char *name)
{
  const char *value = get_string_value(name);
  return value && *value ? value : NULL;
}

const char *
upg_shell_get_exported(const char *name)
{
  SHELL_VAR *v = find_variable(name);
  return v && exported_p(v) && !array_p(v) && !assoc_p(v) ? upg_shell_get(name) : NULL;
}

int
upg_shell_check_name(const char *name, char *err, size_t errlen)
{
  if (!legal_identifier(name) && !valid_array_reference(name, 0)) {
    snprintf(err, errlen, "-v: '%s' is not a valid variable name", name);
    return -1;
  }
  SHELL_VAR *v = find_variable(name);
  if (v && (readonly_p(v) || noassign_p(v))) {
    snprintf(err, errlen, "-v: %s is readonly", name);
    return -1;
  }
  return 0;
}

int
upg_shell_assign(const char *name, const char *value)
{
  return builtin_bind_variable((char *)name, (char *)value, 0) ? 0 : -1;
}

int
upg_shell_assign_private(const char *name, const char *value)
{
  SHELL_VAR *v = builtin_bind_variable((char *)name, (char *)value, 0);
  if (!v)
    return -1;
  if (exported_p(v)) { /* exported before, or `set -a` */
    VUNSETATTR(v, att_exported);
    array_needs_making = 1;
  }
  return 0;
}

void
upg_shell_refresh_environ(void)
{
  maybe_make_export_env();
}

int
upg_shell_columns(void)
{
  const char *text = upg_shell_get("COLUMNS");
  char *end;
  long n = text ? strtol(text, &end, 10) : 0;
  if (text && *end == '\0' && n > 0 && n < 10000)
    return (int)n;
  struct winsize ws;
  if (ioctl(STDERR_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0)
    return ws.ws_col;
  return 80;
}
