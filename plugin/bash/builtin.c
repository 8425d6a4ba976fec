/* SPDX-License-Identifier: GPL-3.0-or-later */
/* builtin.c -- the `upgrade` loadable builtin: its struct, its load and
 * unload hooks, and the one function bash calls.
 *
 *   enable -f ./upgrade.so upgrade
 *   upgrade status -q .request.state -r -v state
 *
 * The work is done by the client core (plugin/core); this file parses the
 * words, fills the defaults from the shell, calls the core, and hands the
 * resulting document to output.c.
 */
#include "config.h"

#include <locale.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <curl/curl.h>
#include <loadables.h>

#include "binding.h"
#include "upgrade/http.h"
#include "upgrade/human.h"
#include "upgrade/jqfilter.h"
#include "upgrade/outcome.h"
#include "upgrade/platform.h"
#include "upgrade/response.h"
#include "upgrade/sftp.h"

/* The words after `upgrade` as a C array (pointers into LIST's words). */
static char **
words_to_argv(WORD_LIST *list, int *argc)
{
  int n = list_length(list);
  char **argv = xmalloc(sizeof *argv * (size_t)(n + 1));
  int i = 0;
  for (WORD_LIST *w = list; w; w = w->next)
    argv[i++] = w->word->word;
  argv[i] = NULL;
  *argc = n;
  return argv;
}

/* What one call owns beyond its words: copies of the shell variables it
 * read (an assignment during the call -- remember_request's -- frees the
 * variable's old value, so no pointer into the shell's storage may be
 * kept), and the list of keys to redact.  Freed when the call ends. */
struct call_storage {
  char **from_shell; /* one copy per variable read (read_env_defaults, fill_defaults) */
  int n;
  upg_secrets secrets;
};

/* A copy of shell variable NAME's value (NULL when unset or empty, or out
 * of memory: as if unset). */
static const char *
shell_copy(struct call_storage *own, const char *name)
{
  const char *value = upg_shell_get(name);
  char **grown = value ? realloc(own->from_shell, (size_t)(own->n + 1) * sizeof *grown) : NULL;
  if (!grown)
    return NULL;
  own->from_shell = grown;
  return own->from_shell[own->n++] = strdup(value);
}

static void
release_storage(struct call_storage *own)
{
  for (int i = 0; i < own->n; i++)
    free(own->from_shell[i]);
  free(own->from_shell);
  upg_secrets_free(&own->secrets);
}

/* A copy of the exported variable NAME (see upg_shell_get_exported). */
static const char *
shell_copy_exported(struct call_storage *own, const char *name)
{
  return upg_shell_get_exported(name) ? shell_copy(own, name) : NULL;
}

/* The defaults of the options a user repeats, read before the parse so
 * that they count as given: $UPGRADE_CONTRACT and $UPGRADE_EMAIL (exported
 * or not, as $UPGRADE_URL), and the CA bundle in curl's order of
 * precedence ($UPGRADE_CACERT, then the exported $CURL_CA_BUNDLE, then
 * $SSL_CERT_FILE); copied. */
static void
read_env_defaults(upg_cli_env *env, struct call_storage *own)
{
  static const char *const ca_vars[] = { "UPGRADE_CACERT", "CURL_CA_BUNDLE", "SSL_CERT_FILE" };
  env->contract = shell_copy(own, "UPGRADE_CONTRACT");
  env->email = shell_copy(own, "UPGRADE_EMAIL");
  env->connect_to = shell_copy(own, "UPGRADE_CONNECT_TO");
  env->api = shell_copy(own, "UPGRADE_API");
  env->url = shell_copy(own, "UPGRADE_URL");
  for (size_t i = 0; i < sizeof ca_vars / sizeof ca_vars[0] && !env->cacert; i++) {
    env->cacert = i == 0 ? shell_copy(own, ca_vars[i]) : shell_copy_exported(own, ca_vars[i]);
    env->cacert_from = ca_vars[i];
  }
}

/* Defaults that come from the shell: $UPGRADE_URL, $UPGRADE_REQUEST,
 * $UPGRADE_KEY, $UPGRADE_RESTORE_ROLE, $UPGRADE_API, $UPGRADE_TOKEN,
 * $UPGRADE_HOST and (rpc) $UPGRADE_IDENTITY (read from the shell,
 * exported or not), copied. */
static void
fill_defaults(upg_cli *cli, struct call_storage *own)
{
  upg_settings *s = &cli->settings;
  if (!cli->url_given)
    s->base_url = shell_copy(own, "UPGRADE_URL");
  if (!s->base_url)
    s->base_url = UPG_DEFAULT_URL;
  if (!cli->request_given) {
    s->request = shell_copy(own, "UPGRADE_REQUEST");
    cli->request_filename = shell_copy(own, "UPGRADE_FILENAME");
  }
  if (!cli->key_given)
    s->key = shell_copy(own, "UPGRADE_KEY");
  if (!cli->restore_role)
    cli->restore_role = shell_copy(own, "UPGRADE_RESTORE_ROLE");
  if (!s->api)
    s->api = shell_copy(own, "UPGRADE_API");
  /* The shell's node belongs to the shell's token: a --token names
   * another request, whose node status tells. */
  if (!cli->token_given) {
    s->token = shell_copy(own, "UPGRADE_TOKEN");
    s->node = shell_copy(own, "UPGRADE_HOST");
    /* the key the shell's rpc request is bound to (not create's nor
     * run's: a new request is bound to a new key, or to --identity; run
     * --continue takes the job's from its record) */
    if (cli->rpc && !s->identity && cli->cmd != UPG_CMD_CREATE && cli->cmd != UPG_CMD_RUN)
      s->identity = shell_copy(own, "UPGRADE_IDENTITY");
  }
  /* A meter when a person watches stderr, or when asked; never with -s. */
  s->progress = !s->silent && (s->progress || isatty(STDERR_FILENO));
  s->columns = upg_shell_columns();
  upg_shell_host(s);
  s->secrets = &own->secrets;
  upg_secret_add(s, s->key);
}

/* Refuse, before anything is sent, what would only fail afterwards. */
static int
preflight(upg_cli *cli, jv *doc)
{
  char err[256];
  if (cli->var && upg_shell_get("UPGRADE_COMMAND_FORM")) { /* bin/upgrade: the variable would die with it */
    cli->var = NULL;
    return upg_fail(doc, UPG_EXIT_USAGE,
                    upg_failure("CLIENT:USAGE", "-v assigns a variable in the calling shell, and the command "
                                "`upgrade` is a process of its own: use -q/-r and $(...), or load the builtin "
                                "(enable -f upgrade upgrade)"));
  }
  if (cli->var && upg_shell_check_name(cli->var, err, sizeof err) != 0) {
    cli->var = NULL; /* the document goes to stdout instead */
    return upg_fail(doc, UPG_EXIT_USAGE, upg_failure("CLIENT:USAGE", "%s", err));
  }
  if (cli->settings.cacert && access(cli->settings.cacert, R_OK) != 0)
    return upg_fail(doc, UPG_EXIT_USAGE,
                    upg_failure("CLIENT:FILE", "%s%s %s: cannot read it",
                                cli->cacert_from && cli->cacert_from[0] != '-' ? "$" : "",
                                cli->cacert_from ? cli->cacert_from : "--cacert", cli->settings.cacert));
  if (cli->jq_filter) {
    char *message = NULL;
    if (upg_jq_check(cli->jq_filter, &message) != UPG_JQ_OK) {
      jv f = upg_failure("CLIENT:JQ", "%s", message ? message : "jq: cannot compile the filter");
      free(message);
      cli->jq_filter = NULL;
      return upg_fail(doc, UPG_EXIT_USAGE, f);
    }
  }
  return 0;
}

/* After create (and run, even half done): name the request in the shell,
 * with the variables of the platform's job record (platform.h), all of
 * them or none; a secret one is never exported. */
static void
remember_request(const upg_cli *cli, jv doc)
{
  if (cli->cmd != UPG_CMD_CREATE && cli->cmd != UPG_CMD_RUN)
    return;
  const upg_platform_var *vars = upg_platform_of(&cli->settings)->vars;
  char *values[8] = { NULL };
  size_t n = 0;
  bool all = true;
  for (; vars[n].field && n < sizeof values / sizeof values[0]; n++) {
    values[n] = upg_request_field(doc, vars[n].field);
    all = all && (values[n] || vars[n].optional);
  }
  for (size_t i = 0; i < n; i++) {
    if (all && vars[i].secret)
      upg_shell_assign_private(vars[i].variable, values[i]);
    else if (all)
      upg_shell_assign(vars[i].variable, values[i] ? values[i] : "");
    free(values[i]);
  }
}

/* The call's numbers are read and written the C way ("0.5", never
 * "0,5"), whatever LC_NUMERIC the shell runs with: each call runs under
 * the shell's locale with C numerics (uselocale), so the rest -- messages,
 * character set -- stays the shell's.  The locale object is kept while the
 * shell's locale stays the same: glibc's newlocale is not free (and leaks
 * a little when LOCPATH is set). */
static locale_t numeric_c;   /* (locale_t)0 until made */
static char *numeric_c_of;   /* setlocale(LC_ALL, NULL) it was made from */

static void
numeric_c_drop(void)
{
  if (numeric_c)
    freelocale(numeric_c);
  numeric_c = (locale_t)0;
  free(numeric_c_of);
  numeric_c_of = NULL;
}

static locale_t
numeric_c_locale(void)
{
  const char *now = setlocale(LC_ALL, NULL);
  if (numeric_c && now && strcmp(now, numeric_c_of) == 0)
    return numeric_c;
  numeric_c_drop();
  char *name = now ? strdup(now) : NULL;
  locale_t base = name ? duplocale(LC_GLOBAL_LOCALE) : (locale_t)0;
  locale_t c = base ? newlocale(LC_NUMERIC_MASK, "C", base) : (locale_t)0;
  if (!c) {
    if (base)
      freelocale(base);
    free(name);
    return (locale_t)0;
  }
  numeric_c = c;
  numeric_c_of = name;
  return c;
}

static int
run_call(int argc, char **argv)
{
  upg_cli cli;
  jv doc;
  struct call_storage own = { .n = 0 };
  upg_cli_env env = { NULL };
  read_env_defaults(&env, &own);
  int status = upg_cli_parse_env(argc, argv, &env, &cli);

  if (status) {
    upg_cli bare = { .settings.silent = cli.settings.silent };
    upg_shell_host(&bare.settings);
    status = upg_emit(&bare, JV_OBJECT(jv_string("failures"),
                                       JV_ARRAY(upg_failure("CLIENT:USAGE", "%s", cli.error))), status);
  } else if (cli.help) {
    upg_help_print(stdout, cli.help_cmd);
    status = sh_chkwrite(EXECUTION_SUCCESS);
  } else {
    fill_defaults(&cli, &own);
    if (!(status = preflight(&cli, &doc)))
      status = upg_run_command(&cli, &doc);
    remember_request(&cli, doc);
    status = upg_emit(&cli, doc, status);
  }
  release_storage(&own);
  return status;
}

static int
upgrade_builtin(WORD_LIST *list)
{
  int argc;
  char **argv = words_to_argv(list, &argc);
  locale_t c = numeric_c_locale();
  locale_t previous = c ? uselocale(c) : (locale_t)0;
  int status = run_call(argc, argv);
  if (c)
    uselocale(previous);
  free(argv);
  return status;
}

/* Bash runs the load hook again on a second `enable -f`: initialise once. */
static bool loaded;

int
upgrade_builtin_load(char *name)
{
  if (!loaded) {
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
      builtin_error("cannot initialise libcurl");
      return 0;
    }
    loaded = true;
  }
  return 1;
}

void
upgrade_builtin_unload(char *name)
{
  if (!loaded)
    return;
  upg_http_shutdown();
  upg_sftp_shutdown();
  upg_jq_cache_clear();
  numeric_c_drop();
  curl_global_cleanup();
  loaded = false;
}

/* What bash's `enable -f` looks up: the builtin's name, its function, its
 * flags and its help (as in bash's examples/loadables/template.c). */
struct builtin upgrade_struct = {
  "upgrade",         /* builtin name */
  upgrade_builtin,   /* function implementing the builtin */
  BUILTIN_ENABLED,   /* initial flags for builtin */
  upgrade_long_doc,  /* array of long documentation strings (help.c) */
  upgrade_short_doc, /* usage synopsis; becomes short_doc */
  0                  /* reserved for internal use (bash's handle) */
};
