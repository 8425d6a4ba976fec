/* SPDX-License-Identifier: GPL-3.0-or-later */
/* settings.c -- the core's side of the host callbacks (see settings.h). */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "upgrade/human.h"
#include "upgrade/settings.h"

int
upg_interrupted(const upg_settings *s)
{
  return s->host.interrupted ? s->host.interrupted(s->host.data) : 0;
}

/* Make TEXT safe (human.h), then hand it to the host's PRINT. */
static void
to_host(const upg_settings *s, void (*print)(void *, const char *), const char *text)
{
  if (!print)
    return;
  char *safe = upg_human_text(s, text);
  print(s->host.data, safe ? safe : "(message lost: out of memory)");
  free(safe);
}

void
upg_say(const upg_settings *s, const char *text)
{
  if (!s->silent)
    to_host(s, s->host.notice, text);
}

void
upg_trace(const upg_settings *s, const char *text)
{
  to_host(s, s->host.trace, text);
}

void
upg_notice(const upg_settings *s, const char *fmt, ...)
{
  char *line;
  va_list ap;

  if (s->silent || !s->host.notice)
    return;
  va_start(ap, fmt);
  int n = vasprintf(&line, fmt, ap);
  va_end(ap);
  upg_say(s, n < 0 ? "(message lost: out of memory)" : line);
  if (n >= 0)
    free(line);
}

double
upg_now(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

double
upg_round_ms(double seconds)
{
  return seconds <= 0 ? 0 : (double)(long long)(seconds * 1000 + 0.5) / 1000;
}

/* Sleep in slices of at most 100 ms so that Ctrl-C is seen within a second
 * (the contract) -- in practice within a tenth of one. */
int
upg_sleep_ms(const upg_settings *s, long ms)
{
  while (ms > 0) {
    int sig = upg_interrupted(s);
    if (sig)
      return sig;
    long slice = ms < 100 ? ms : 100;
    struct timespec ts = { slice / 1000, (slice % 1000) * 1000000L };
    nanosleep(&ts, NULL); /* EINTR: fine, the loop re-checks */
    ms -= slice;
  }
  return upg_interrupted(s);
}
