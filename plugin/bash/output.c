/* SPDX-License-Identifier: GPL-3.0-or-later */
/* output.c -- a call's document to stdout or to a shell variable, and its
 * failures to stderr.
 *
 * Lines for stderr go through the core's upg_say (redacted, escaped, cut);
 * stdout is the document exactly as it is.
 * stdout gets one JSON document per call (or the -q program's outputs, one
 * per line, as jq prints them); -v NAME stores the same text, without the
 * final newline, as `printf -v` would.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <loadables.h>

#include "binding.h"
#include "upgrade/jqfilter.h"
#include "upgrade/outcome.h"

/* One failure on stderr as "REASON: MESSAGE".  jq's messages (ours: the
 * user's program, quoted by libjq) keep their line breaks, a line each;
 * any other message is one line, its controls escaped by upg_say, so that
 * a server cannot forge a line of ours. */
static void
say_failure(const upg_cli *cli, const char *reason, const char *message)
{
  upg_settings loud = cli->settings; /* -sS: -s keeps the meter and notices quiet, not these */
  loud.silent = false;
  bool lines = strcmp(reason, "CLIENT:JQ") == 0;
  char *copy = strdup(message);
  char *save = NULL;
  char *line = copy && lines ? strtok_r(copy, "\n", &save) : copy;
  for (; line; line = lines ? strtok_r(NULL, "\n", &save) : NULL) {
    jv text = jv_string_fmt("%s: %s", reason, line);
    upg_say(&loud, jv_string_value(text));
    jv_free(text);
  }
  free(copy);
}

void
upg_report_failures(const upg_cli *cli, jv doc)
{
  if ((cli->settings.silent && !cli->show_error) || jv_get_kind(doc) != JV_KIND_OBJECT)
    return;
  jv failures = jv_object_get(jv_copy(doc), jv_string("failures"));
  if (jv_get_kind(failures) == JV_KIND_ARRAY) {
    jv_array_foreach(failures, i, f) {
      jv reason = jv_get_kind(f) == JV_KIND_OBJECT ? jv_object_get(jv_copy(f), jv_string("reason")) : jv_null();
      jv message = jv_get_kind(f) == JV_KIND_OBJECT ? jv_object_get(jv_copy(f), jv_string("message")) : jv_null();
      if (jv_get_kind(reason) == JV_KIND_STRING && jv_get_kind(message) == JV_KIND_STRING)
        say_failure(cli, jv_string_value(reason), jv_string_value(message));
      jv_free(reason);
      jv_free(message);
      jv_free(f);
    }
  }
  jv_free(failures);
  fflush(stderr);
}

/* One output as text: raw strings as they are, anything else as JSON. */
static jv
render(jv value, bool raw, int flags)
{
  if (raw && jv_get_kind(value) == JV_KIND_STRING)
    return value;
  return jv_dump_string(value, flags);
}

/* The -q program's outputs, or the document alone.  A program that fails
 * at run time prints nothing for this document -- not the document either,
 * which holds the key -- and its message as a CLIENT:JQ failure (exit 2
 * unless the call had already failed). */
static jv
outputs_of(const upg_cli *cli, jv doc, int *status)
{
  if (!cli->jq_filter)
    return JV_ARRAY(doc);
  if (upg_jq_reads_environment(cli->jq_filter))
    upg_shell_refresh_environ();
  jv outputs;
  char *message = NULL;
  if (upg_jq_run(&cli->settings, cli->jq_filter, jv_copy(doc), &outputs, &message) == UPG_JQ_OK) {
    jv_free(doc);
    return outputs;
  }
  if (!cli->settings.silent || cli->show_error)
    say_failure(cli, "CLIENT:JQ", message ? message : "jq: error");
  free(message);
  jv_free(doc);
  if (*status == 0)
    *status = UPG_EXIT_USAGE;
  return jv_array();
}

static int
assign_outputs(const upg_cli *cli, jv outputs, int status)
{
  jv text = jv_string("");
  jv_array_foreach(outputs, i, value) {
    if (i > 0)
      text = jv_string_append_str(text, "\n");
    text = jv_string_concat(text, render(value, cli->raw, 0));
  }
  jv_free(outputs);
  if (upg_shell_assign(cli->var, jv_string_value(text)) != 0) {
    builtin_error("-v: cannot assign to %s", cli->var);
    status = status ? status : UPG_EXIT_USAGE;
  }
  jv_free(text);
  return status;
}

static int
print_outputs(const upg_cli *cli, jv outputs, int status)
{
  bool pretty = cli->format == UPG_FORMAT_PRETTY || (cli->format == UPG_FORMAT_AUTO && isatty(STDOUT_FILENO));
  int flags = pretty ? JV_PRINT_INDENT_FLAGS(2) : 0;

  jv_array_foreach(outputs, i, value) {
    jv text = render(value, cli->raw, flags);
    fwrite(jv_string_value(text), 1, (size_t)jv_string_length_bytes(jv_copy(text)), stdout);
    putchar('\n');
    jv_free(text);
  }
  jv_free(outputs);
  return sh_chkwrite(status);
}

int
upg_emit(const upg_cli *cli, jv doc, int status)
{
  upg_report_failures(cli, doc);
  jv outputs = outputs_of(cli, doc, &status);
  return cli->var ? assign_outputs(cli, outputs, status) : print_outputs(cli, outputs, status);
}
