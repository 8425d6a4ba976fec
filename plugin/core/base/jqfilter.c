/* SPDX-License-Identifier: GPL-3.0-or-later */
/* jqfilter.c -- run a user's jq program in-process (see jqfilter.h).
 * The driving loop follows jq 1.6's own src/main.c process(). */
#include "config.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <jq.h>

#include "upgrade/jqfilter.h"
#include "upgrade/settings.h"

#define CACHE_SLOTS 16

struct cached_program {
  char *text;
  jq_state *jq;
};

static struct cached_program cache[CACHE_SLOTS];
static unsigned next_victim; /* round-robin eviction: simple, and enough */

/* libjq reports compile errors through this callback; we collect them. */
static void
collect_error(void *data, jv msg)
{
  jv *messages = data;
  if (jv_get_kind(msg) != JV_KIND_STRING)
    msg = jv_dump_string(msg, 0);
  *messages = jv_array_append(*messages, msg);
}

static char *
join_messages(jv messages)
{
  jv joined = jv_string("");
  jv_array_foreach(messages, i, m) {
    if (i > 0)
      joined = jv_string_append_str(joined, "\n");
    joined = jv_string_concat(joined, m);
  }
  jv_free(messages);
  char *text = strdup(jv_string_value(joined));
  jv_free(joined);
  return text;
}

/* What one run's callbacks need (set before each run: a cached program
 * outlives the call that compiled it). */
struct run_context {
  const upg_settings *s;  /* where `debug` lines go; NULL: nowhere */
  bool asked_input;       /* the program called `input`/`inputs` */
};

/* `debug`: ["DEBUG:",value] on one line, as jq prints it, but as every
 * human line: secrets cut out, controls escaped (upg_trace).  libjq 1.6's
 * jq_init leaves this callback uninitialised: it must be set. */
static void
debug_line(void *data, jv value)
{
  struct run_context *ctx = data;
  jv line = jv_dump_string(JV_ARRAY(jv_string("DEBUG:"), value), 0);
  if (ctx && ctx->s)
    upg_trace(ctx->s, jv_string_value(line));
  jv_free(line);
}

/* `input`/`inputs`: the document is the program's only input, already
 * taken -- `inputs` is empty, and `input` fails (libjq 1.6 says "break";
 * upg_jq_run names it).  Also left uninitialised by jq_init. */
static jv
no_more_inputs(jq_state *jq, void *data)
{
  struct run_context *ctx = data;
  if (ctx)
    ctx->asked_input = true;
  return jv_invalid();
}

static jq_state *
compile(const char *filter, char **message)
{
  jv messages = jv_array();
  jq_state *jq = jq_init();

  if (!jq) {
    *message = strdup("jq: error: out of memory");
    jv_free(messages);
    return NULL;
  }
  jq_set_debug_cb(jq, debug_line, NULL);
  jq_set_input_cb(jq, no_more_inputs, NULL);
  jq_set_error_cb(jq, collect_error, &messages);
  /* Always an object: the array form double-frees in libjq 1.6. */
  if (!jq_compile_args(jq, filter, jv_object())) {
    jq_teardown(&jq);
    if (jv_array_length(jv_copy(messages)) == 0)
      messages = jv_array_append(messages, jv_string("jq: error: cannot compile the filter"));
    *message = join_messages(messages);
    return NULL;
  }
  jq_set_error_cb(jq, NULL, NULL);
  jv_free(messages);
  return jq;
}

bool
upg_jq_reads_environment(const char *filter)
{
  return strcasestr(filter, "env") != NULL; /* env, $ENV (and a few innocent names) */
}

/* libjq binds $ENV when it compiles a program: a cached one would keep
 * the environment of its first use.  Those are compiled afresh each time. */
static bool
cacheable(const char *filter)
{
  return !upg_jq_reads_environment(filter);
}

static jq_state *
lookup_or_compile(const char *filter, char **message)
{
  for (int i = 0; i < CACHE_SLOTS; i++)
    if (cache[i].text && strcmp(cache[i].text, filter) == 0)
      return cache[i].jq;

  jq_state *jq = compile(filter, message);
  if (!jq || !cacheable(filter))
    return jq;
  char *text = strdup(filter);
  if (!text) {
    jq_teardown(&jq);
    *message = strdup("jq: error: out of memory");
    return NULL;
  }
  struct cached_program *slot = &cache[next_victim++ % CACHE_SLOTS];
  if (slot->jq)
    jq_teardown(&slot->jq);
  free(slot->text);
  slot->text = text;
  slot->jq = jq;
  return jq;
}

/* Done with JQ: cached programs stay, the others go. */
static void
release(const char *filter, jq_state *jq)
{
  if (!cacheable(filter))
    jq_teardown(&jq);
}

static char *
runtime_message(jv error, const struct run_context *ctx)
{
  jv text;
  if (jv_get_kind(error) == JV_KIND_STRING && ctx->asked_input && strcmp(jv_string_value(error), "break") == 0)
    text = jv_string("jq: error: No more inputs (the document is the only input)");
  else if (jv_get_kind(error) == JV_KIND_STRING)
    text = jv_string_fmt("jq: error: %s", jv_string_value(error));
  else {
    jv dumped = jv_dump_string(jv_copy(error), 0);
    text = jv_string_fmt("jq: error (not a string): %s", jv_string_value(dumped));
    jv_free(dumped);
  }
  jv_free(error);
  char *message = strdup(jv_string_value(text));
  jv_free(text);
  return message;
}

int
upg_jq_run(const upg_settings *s, const char *filter, jv input, jv *outputs, char **message)
{
  *message = NULL;
  *outputs = jv_invalid();

  jq_state *jq = lookup_or_compile(filter, message);
  if (!jq) {
    jv_free(input);
    return UPG_JQ_COMPILE;
  }
  jv results = jv_array();
  jv r;
  struct run_context ctx = { s, false };
  jq_set_debug_cb(jq, debug_line, &ctx);
  jq_set_input_cb(jq, no_more_inputs, &ctx);
  jq_start(jq, input, 0);
  while (jv_is_valid(r = jq_next(jq)))
    results = jv_array_append(results, r);
  jq_set_debug_cb(jq, debug_line, NULL); /* CTX is going away */
  jq_set_input_cb(jq, no_more_inputs, NULL);

  int status = UPG_JQ_OK;
  if (jq_halted(jq)) {
    /* halt / halt_error: keep what came before; halt_error's message is an error. */
    jv_free(r);
    jv msg = jq_get_error_message(jq);
    if (jv_get_kind(msg) != JV_KIND_INVALID && jv_get_kind(msg) != JV_KIND_NULL) {
      *message = runtime_message(msg, &ctx);
      status = UPG_JQ_RUNTIME;
    } else {
      jv_free(msg);
    }
  } else if (jv_invalid_has_msg(jv_copy(r))) {
    *message = runtime_message(jv_invalid_get_msg(r), &ctx);
    status = UPG_JQ_RUNTIME;
  } else {
    jv_free(r);
  }
  release(filter, jq);
  if (status) {
    jv_free(results);
    return status;
  }
  *outputs = results;
  return UPG_JQ_OK;
}

int
upg_jq_check(const char *filter, char **message)
{
  *message = NULL;
  jq_state *jq = lookup_or_compile(filter, message);
  if (!jq)
    return UPG_JQ_COMPILE;
  release(filter, jq);
  return UPG_JQ_OK;
}

void
upg_jq_cache_clear(void)
{
  for (int i = 0; i < CACHE_SLOTS; i++) {
    if (cache[i].jq)
      jq_teardown(&cache[i].jq);
    free(cache[i].text);
    cache[i].text = NULL;
  }
  next_victim = 0;
}
