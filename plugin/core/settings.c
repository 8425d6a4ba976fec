/* settings.c -- the core's side of the host callbacks (see settings.h). */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <time.h>

#include "upgrade/settings.h"

int
upg_interrupted(const upg_settings *s)
{
  return s->host.interrupted ? s->host.interrupted(s->host.data) : 0;
}

void
upg_notice(const upg_settings *s, const char *fmt, ...)
{
  char line[1024];
  va_list ap;

  if (s->silent || !s->host.notice)
    return;
  va_start(ap, fmt);
  vsnprintf(line, sizeof line, fmt, ap);
  va_end(ap);
  s->host.notice(s->host.data, line);
}

double
upg_now(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
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
