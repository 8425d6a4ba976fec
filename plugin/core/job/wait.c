/* SPDX-License-Identifier: GPL-3.0-or-later */
/* wait.c -- `wait`: poll status until the request reaches a final state.
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

#include "upgrade/api.h"
#include "upgrade/files.h"
#include "upgrade/outcome.h"
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
report_state(const upg_settings *s, char **last_state, const char *state, double elapsed)
{
  if (*last_state && strcmp(*last_state, state) == 0)
    return;
  long secs = lround(elapsed);
  upg_notice(s, "request %s: %s%s%s (%ld:%02ld)", s->request, *last_state ? *last_state : "",
             *last_state ? " -> " : "", state, secs / 60, secs % 60);
  free(*last_state);
  *last_state = strdup(state);
}

/* Look at one successful status: KEEP_WAITING, or the exit status. */
#define KEEP_WAITING (-1)
static int
judge_state(const upg_settings *s, jv st, char **last_state, double elapsed, bool *final, jv *doc)
{
  char *state = upg_request_field(st, "state");
  int status = KEEP_WAITING;

  if (!state) {
    status = stop_with(doc, st, UPG_EXIT_TRANSPORT,
                       upg_failure("CLIENT:BAD_RESPONSE", "status: no request state in the answer"));
  } else {
    report_state(s, last_state, state, elapsed);
    *final = upg_state_is_final(state);
    if (upg_state_is_success(state)) {
      *doc = st;
      status = UPG_EXIT_OK;
    } else if (upg_state_is_final(state)) {
      jv f = upg_failure("CLIENT:STATE", "the request ended in state %s", state);
      status = stop_with(doc, st, UPG_EXIT_FAILED, jv_object_set(f, jv_string("value"), jv_string(state)));
    } else if (strcmp(state, "draft") == 0) {
      jv f = upg_failure("CLIENT:STATE", "the request is still a draft: upload a dump and run `upgrade process` first");
      status = stop_with(doc, st, UPG_EXIT_FAILED, jv_object_set(f, jv_string("value"), jv_string(state)));
    } else {
      jv_free(st); /* pending, progress, … (unknown states wait too) */
    }
  }
  free(state);
  return status;
}

int
upg_wait(const upg_settings *s, double interval, double timeout, bool *final, jv *doc)
{
  *final = false;
  int status = upg_require_request(s, doc);
  if (status)
    return status;

  double start = upg_now();
  char *last_state = NULL;
  jv last = jv_null(); /* the last status answer, for a timeout's document */

  for (;;) {
    jv st;
    bool transient = false;
    status = upg_api_status_once(s, &transient, &st);
    if (status == 0) {
      jv_free(last);
      last = jv_copy(st);
      status = judge_state(s, st, &last_state, upg_now() - start, final, doc);
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
    long secs = lround(upg_now() - start);
    upg_status_line(s, "request %s: %s (%ld:%02ld)", s->request, last_state ? last_state : "waiting",
                    secs / 60, secs % 60);
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
