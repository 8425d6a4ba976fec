/* SPDX-License-Identifier: GPL-3.0-or-later */
/* wait.c -- `wait`: poll status until the request reaches a final state,
 * through the platform's interface (platform.h), whichever dialect; and
 * `log --follow`, which is a wait that shows the log.
 *
 * Polling rides through what a long wait is bound to meet -- the platform's
 * own "SERVER:ERROR, try again", a dropped connection, a 502 from a proxy --
 * and stops at once on what will not heal: a wrong key, a refused
 * certificate, Ctrl-C.
 */
#include "config.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "upgrade/outcome.h"
#include "upgrade/platform.h"
#include "upgrade/progress.h"
#include "upgrade/response.h"
#include "upgrade/wait.h"

/* The doc to end with: the last status seen (or the last failure) plus one
 * client failure saying why we stopped. */
static int
stop_with(jv *doc, jv last, int status, jv failure)
{
  if (jv_get_kind(last) != JV_KIND_OBJECT) {
    jv_free(last);
    last = jv_object();
  }
  *doc = upg_doc_add_failure(last, failure);
  return status;
}

/* Report the request's state on stderr when it changes. */
static void
report_state(const upg_settings *s, const upg_platform *pf, char **last_state, const char *state, double elapsed)
{
  if (*last_state && strcmp(*last_state, state) == 0)
    return;
  long secs = lround(elapsed);
  char label[64];
  pf->label(s, label, sizeof label);
  upg_notice(s, "%s: %s%s%s (%ld:%02ld)", label, *last_state ? *last_state : "",
             *last_state ? " -> " : "", state, secs / 60, secs % 60);
  free(*last_state);
  *last_state = strdup(state);
}

/* Look at one successful status: KEEP_WAITING, or the exit status. */
#define KEEP_WAITING (-1)
static int
judge_state(const upg_settings *s, const upg_platform *pf, jv st, char **last_state, double elapsed, bool *final,
            jv *doc)
{
  char *state = pf->state(st);
  int status = KEEP_WAITING;

  if (!state) {
    status = stop_with(doc, st, UPG_EXIT_TRANSPORT,
                       upg_failure("CLIENT:BAD_RESPONSE", "status: no request state in the answer"));
  } else {
    report_state(s, pf, last_state, state, elapsed);
    *final = pf->is_final(state);
    if (pf->is_done(state)) {
      *doc = st;
      status = UPG_EXIT_OK;
    } else if (pf->is_final(state)) {
      jv f = upg_failure("CLIENT:STATE", "the request ended in state %s", state);
      status = stop_with(doc, st, UPG_EXIT_FAILED, jv_object_set(f, jv_string("value"), jv_string(state)));
    } else if (pf->is_unstarted(state)) {
      jv f = upg_failure("CLIENT:STATE", "the request is still %s%s: upload a dump and run `upgrade process` first",
                         strcmp(state, "draft") == 0 ? "a " : "", state);
      status = stop_with(doc, st, UPG_EXIT_FAILED, jv_object_set(f, jv_string("value"), jv_string(state)));
    } else {
      jv_free(st); /* pending, progress, … (unknown states wait too) */
    }
  }
  free(state);
  return status;
}

/* LAST (the last status seen, or null) with the failures of ERR added
 * (both consumed): a failure of the log while waiting. */
static jv
with_failures_of(jv last, jv err)
{
  if (jv_get_kind(last) != JV_KIND_OBJECT) {
    jv_free(last);
    return err;
  }
  jv failures = jv_object_get(err, jv_string("failures"));
  if (jv_get_kind(failures) == JV_KIND_ARRAY)
    jv_array_foreach(failures, i, f) last = upg_doc_add_failure(last, f);
  jv_free(failures);
  return last;
}

/* The pause before the next poll.  --interval S (ASKED > 0) is kept.
 * Without it v1 polls every 10 s, as it always has; rpc polls after 1 s,
 * 2 s, then every 3 s: a short job is seen done within a second or two of
 * its end, a long one within 3 s, and the platform gets no more calls than
 * from its own script, which reads the log every 5 s and the status every
 * 5 to 10 s while a request is processed (and sleeps 5 s more once it saw
 * it done).  At 5 s the builtin's whole job was 1.17-1.21x the script's,
 * depending on where the end fell between two polls (bench/README.md). */
static double
next_pause(const upg_platform *pf, double asked, double prev)
{
  if (asked > 0)
    return asked;
  if (pf->dialect != UPG_DIALECT_RPC)
    return UPG_WAIT_V1_INTERVAL;
  return prev <= 0 ? 1 : prev * 2 < UPG_WAIT_RPC_INTERVAL ? prev * 2 : UPG_WAIT_RPC_INTERVAL;
}

int
upg_wait(const upg_settings *s, double asked, double timeout, upg_log_tail *log, bool *final, jv *doc)
{
  const upg_platform *pf = upg_platform_of(s);
  *final = false;
  int status = pf->require_request(s, doc);
  if (status)
    return status;
  if (log && !pf->log_read)
    return upg_fail(doc, UPG_EXIT_USAGE,
                    upg_failure("CLIENT:USAGE", "the %s platform keeps no log to show: --log needs --api rpc",
                                upg_dialect_name(pf->dialect)));

  double start = upg_now(), interval = 0;
  char *last_state = NULL;
  char label[64];
  pf->label(s, label, sizeof label);
  jv last = jv_null(); /* the last status answer, for a timeout's document */

  for (;;) {
    jv st;
    bool transient = false;
    status = pf->status_once(s, &transient, &st);
    if (status == 0) {
      jv_free(last);
      last = jv_copy(st);
      status = judge_state(s, pf, st, &last_state, upg_now() - start, final, doc);
      jv err;
      int lst = log ? pf->log_read(s, log, status != KEEP_WAITING, &err) : 0;
      if (lst) {
        if (status != KEEP_WAITING)
          jv_free(*doc);
        *doc = with_failures_of(jv_copy(last), err);
        status = lst;
        break;
      }
      if (status != KEEP_WAITING)
        break;
    } else if (transient) {
      char reason[64];
      upg_doc_first_reason(st, reason, sizeof reason);
      upg_notice(s, "status failed (%s), still waiting", reason);
      jv_free(st);
    } else {
      *doc = st;
      break;
    }
    interval = next_pause(pf, asked, interval);
    long secs = lround(upg_now() - start);
    upg_status_line(s, "%s: %s (%ld:%02ld)", label, last_state ? last_state : "waiting", secs / 60, secs % 60);
    double left = timeout > 0 ? start + timeout - upg_now() : interval;
    if (left <= 0) {
      status = stop_with(doc, jv_copy(last), UPG_EXIT_TIMEOUT,
                         upg_failure("CLIENT:TIMEOUT", "no final state after %g s; the request keeps running on "
                                     "the platform: `upgrade wait` again later", timeout));
      break;
    }
    int sig = upg_sleep_ms(s, (long)(1000 * (left < interval ? left : interval)));
    if (sig) {
      status = stop_with(doc, jv_copy(last), UPG_EXIT_SIGNAL_BASE + sig,
                         upg_failure("CLIENT:INTERRUPTED", "wait: interrupted by signal %d", sig));
      break;
    }
  }
  upg_status_clear(s);
  jv_free(last);
  free(last_state);
  return status;
}

int
upg_log_follow(const upg_settings *s, unsigned long long from, double interval, double timeout, jv *doc)
{
  upg_log_tail t = { .from = from, .next = from, .keep_text = true, .print = true };
  bool final;
  int status = upg_wait(s, interval, timeout, &t, &final, doc);
  if (jv_get_kind(*doc) == JV_KIND_OBJECT)
    *doc = jv_object_set(*doc, jv_string("log"), upg_log_tail_doc(&t));
  upg_log_tail_free(&t);
  return status;
}
