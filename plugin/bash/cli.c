/* SPDX-License-Identifier: GPL-3.0-or-later */
/* cli.c -- the command line of `upgrade` (see cli.h).
 *
 * One table lists every option, the subcommands it applies to and whether
 * it takes a value; options may come before or after the subcommand, as
 * with gh.  A hand-written loop rather than getopt_long: no global state
 * shared with the shell, and every message is ours.
 */
#include "config.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "upgrade/download_kinds.h"
#include "upgrade/outcome.h"
#include "upgrade/platform.h"

static const char *const command_names[UPG_CMD_COUNT] = {
  [UPG_CMD_HELP] = "help", [UPG_CMD_CREATE] = "create", [UPG_CMD_UPLOAD] = "upload",
  [UPG_CMD_SFTP_ACCESS] = "sftp-access", [UPG_CMD_SFTP_PUT] = "sftp-put",
  [UPG_CMD_PROCESS] = "process", [UPG_CMD_SKIP_TEST] = "skip-test", [UPG_CMD_STATUS] = "status",
  [UPG_CMD_WAIT] = "wait", [UPG_CMD_DOWNLOAD] = "download", [UPG_CMD_SFTP_GET] = "sftp-get",
  [UPG_CMD_RUN] = "run", [UPG_CMD_VERSION] = "version", [UPG_CMD_DUMP] = "dump", [UPG_CMD_RESTORE] = "restore",
  [UPG_CMD_JOBS] = "jobs", [UPG_CMD_LOG] = "log", [UPG_CMD_WIPE] = "wipe",
};

bool
upg_cli_api_known(const char *api)
{
  return strcmp(api, "v1") == 0 || strcmp(api, "rpc") == 0;
}

enum upg_cmd
upg_cli_command(const char *name)
{
  for (int c = 1; c < UPG_CMD_COUNT; c++)
    if (strcmp(command_names[c], name) == 0)
      return (enum upg_cmd)c;
  return UPG_CMD_NONE;
}

const char *
upg_cli_command_name(enum upg_cmd cmd)
{
  return cmd > 0 && cmd < UPG_CMD_COUNT ? command_names[cmd] : "";
}

#define BIT(c) (1u << (c))
#define ALL (~0u)
#define SSH_CMDS (BIT(UPG_CMD_SFTP_PUT) | BIT(UPG_CMD_SFTP_GET) | BIT(UPG_CMD_RUN))

enum opt_id {
  O_HELP, O_URL, O_REQUEST, O_KEY, O_JQ, O_RAW, O_VAR, O_COMPACT, O_PRETTY, O_CACERT, O_INSECURE,
  O_KNOWN_HOSTS, O_ACCEPT_NEW, O_CONNECT_TIMEOUT, O_MAX_TIME, O_RETRY, O_RETRY_DELAY, O_SILENT,
  O_PROGRESS, O_VERBOSE, O_CONTRACT, O_EMAIL, O_TARGET, O_AIM, O_FILENAME, O_TIMEZONE, O_SSH_KEYS,
  O_IDENTITY, O_INTERVAL, O_TIMEOUT, O_WHAT, O_OUTPUT, O_FORCE, O_SFTP, O_CONTINUE, O_NEW, O_VERSION,
  O_FILESTORE_LINK,
  O_DATABASE, O_FILESTORE_FROM, O_DATA_DIR, O_JOBS, O_RESTORE_AS, O_NO_RESTORE, O_PARALLEL, O_RESTORE_ROLE, O_TRUST_DUMP,
  O_SHOW_ERROR, O_API, O_TOKEN, O_NO_FILESTORE, O_REUSE_DUMP, O_REMOVE_DUMPS, O_CONNECT_TO,
  O_ENV, O_ENV_FILE, O_YES, O_LOG, O_FROM, O_FOLLOW, O_DUMP_FORMAT, O_COUNT
};

/* The dialect an option belongs to (0: both). */
enum { V1_ONLY = 1, RPC_ONLY = 2 };

struct option_spec {
  const char *name;   /* long name, without "--" */
  char letter;        /* short name, or 0 */
  bool takes_value;
  unsigned commands;  /* BIT(cmd) of the subcommands it applies to */
  unsigned required;  /* BIT(cmd) of the subcommands that need it (v1) */
  unsigned rpc_required; /* the same under rpc */
  int dialect;        /* V1_ONLY, RPC_ONLY, or 0 */
};

/* create's fields: needed by create, and by run unless it continues. */
#define CREATE_CMDS (BIT(UPG_CMD_CREATE) | BIT(UPG_CMD_RUN))
/* The transfers that can run several streams at once. */
#define PARALLEL_CMDS (BIT(UPG_CMD_SFTP_PUT) | BIT(UPG_CMD_SFTP_GET) | BIT(UPG_CMD_DOWNLOAD) | BIT(UPG_CMD_RUN))
/* dump and restore: PostgreSQL. */
#define PG_CMDS (BIT(UPG_CMD_DUMP) | BIT(UPG_CMD_RESTORE))

static const struct option_spec options[O_COUNT] = {
  [O_HELP] = { "help", 'h', false, ALL },
  [O_URL] = { "url", 0, true, ALL },
  [O_REQUEST] = { "request", 0, true, ALL },
  [O_KEY] = { "key", 0, true, ALL },
  [O_JQ] = { "jq", 'q', true, ALL },
  [O_RAW] = { "raw-output", 'r', false, ALL },
  [O_VAR] = { NULL, 'v', true, ALL },
  [O_COMPACT] = { "compact", 'c', false, ALL },
  [O_PRETTY] = { "pretty", 0, false, ALL },
  [O_CACERT] = { "cacert", 0, true, ALL },
  [O_INSECURE] = { "insecure", 'k', false, ALL },
  [O_KNOWN_HOSTS] = { "known-hosts", 0, true, ALL },
  [O_ACCEPT_NEW] = { "accept-new-host-key", 0, false, ALL },
  [O_CONNECT_TIMEOUT] = { "connect-timeout", 0, true, ALL },
  [O_MAX_TIME] = { "max-time", 0, true, ALL },
  [O_RETRY] = { "retry", 0, true, ALL },
  [O_RETRY_DELAY] = { "retry-delay", 0, true, ALL },
  [O_SILENT] = { "silent", 's', false, ALL },
  [O_PROGRESS] = { "progress", 0, false, ALL },
  [O_VERBOSE] = { "verbose", 0, false, ALL },
  [O_CONTRACT] = { "contract", 0, true, CREATE_CMDS | BIT(UPG_CMD_WIPE), CREATE_CMDS | BIT(UPG_CMD_WIPE),
                   CREATE_CMDS | BIT(UPG_CMD_WIPE) },
  [O_EMAIL] = { "email", 0, true, CREATE_CMDS, CREATE_CMDS, 0, V1_ONLY },
  [O_TARGET] = { "target", 0, true, CREATE_CMDS, CREATE_CMDS, CREATE_CMDS },
  [O_AIM] = { "aim", 0, true, CREATE_CMDS, CREATE_CMDS, CREATE_CMDS },
  [O_FILENAME] = { "filename", 0, true, CREATE_CMDS, BIT(UPG_CMD_CREATE), 0, V1_ONLY }, /* run: DUMP's name */
  [O_TIMEZONE] = { "timezone", 0, true, CREATE_CMDS, 0, 0, V1_ONLY },
  [O_SSH_KEYS] = { "ssh-keys", 0, true, BIT(UPG_CMD_SFTP_ACCESS) | SSH_CMDS, BIT(UPG_CMD_SFTP_ACCESS),
                   BIT(UPG_CMD_SFTP_ACCESS) },
  /* create, upload and download under rpc: the key the request is bound to */
  [O_IDENTITY] = { "identity", 'i', true, SSH_CMDS | BIT(UPG_CMD_CREATE) | BIT(UPG_CMD_UPLOAD) | BIT(UPG_CMD_DOWNLOAD) },
  [O_INTERVAL] = { "interval", 0, true, BIT(UPG_CMD_WAIT) | BIT(UPG_CMD_RUN) | BIT(UPG_CMD_LOG) },
  [O_TIMEOUT] = { "timeout", 0, true, BIT(UPG_CMD_WAIT) | BIT(UPG_CMD_RUN) | BIT(UPG_CMD_LOG) },
  [O_WHAT] = { "what", 0, true, BIT(UPG_CMD_DOWNLOAD), 0, 0, V1_ONLY }, /* rpc's download fetches them all */
  [O_OUTPUT] = { "output", 'o', true, BIT(UPG_CMD_DOWNLOAD) | BIT(UPG_CMD_SFTP_GET) | BIT(UPG_CMD_RUN) | BIT(UPG_CMD_DUMP) },
  [O_FORCE] = { "force", 0, false, BIT(UPG_CMD_DOWNLOAD) | BIT(UPG_CMD_SFTP_GET) | BIT(UPG_CMD_RUN) | BIT(UPG_CMD_DUMP) },
  [O_SFTP] = { "sftp", 0, false, BIT(UPG_CMD_RUN), 0, 0, V1_ONLY },
  [O_CONTINUE] = { "continue", 0, false, BIT(UPG_CMD_RUN) },
  [O_NEW] = { "new", 0, false, BIT(UPG_CMD_RUN) },
  /* `upgrade --version` is `upgrade version`, as in curl and jq. */
  [O_VERSION] = { "version", 0, false, BIT(UPG_CMD_VERSION) },
  [O_DATABASE] = { "database", 0, true, PG_CMDS | BIT(UPG_CMD_RUN), PG_CMDS, PG_CMDS },
  [O_FILESTORE_FROM] = { "filestore-from", 0, true, BIT(UPG_CMD_RESTORE) },
  [O_FILESTORE_LINK] = { "filestore-link", 0, false, BIT(UPG_CMD_RESTORE) | BIT(UPG_CMD_RUN) },
  [O_DATA_DIR] = { "data-dir", 0, true, BIT(UPG_CMD_RESTORE) | BIT(UPG_CMD_RUN) },
  [O_JOBS] = { "jobs", 0, true, PG_CMDS | BIT(UPG_CMD_RUN) },
  [O_RESTORE_AS] = { "restore-as", 0, true, BIT(UPG_CMD_RUN) },
  [O_NO_RESTORE] = { "no-restore", 0, false, BIT(UPG_CMD_RUN) },
  [O_PARALLEL] = { "parallel", 0, true, PARALLEL_CMDS },
  [O_RESTORE_ROLE] = { "restore-role", 0, true, BIT(UPG_CMD_RESTORE) | BIT(UPG_CMD_RUN) },
  [O_TRUST_DUMP] = { "trust-dump", 0, false, BIT(UPG_CMD_RESTORE) | BIT(UPG_CMD_RUN) },
  [O_SHOW_ERROR] = { "show-error", 'S', false, ALL }, /* curl's -sS */
  [O_API] = { "api", 0, true, ALL },
  [O_TOKEN] = { "token", 0, true, ALL },
  [O_NO_FILESTORE] = { "no-filestore", 0, false, BIT(UPG_CMD_RUN) },
  [O_REUSE_DUMP] = { "reuse-dump", 0, false, BIT(UPG_CMD_RUN) },
  [O_REMOVE_DUMPS] = { "remove-dumps", 0, false, BIT(UPG_CMD_RUN) },
  [O_CONNECT_TO] = { "connect-to", 0, true, ALL }, /* curl's */
  [O_ENV] = { "env", 0, true, CREATE_CMDS, 0, 0, RPC_ONLY },
  [O_ENV_FILE] = { "env-file", 0, true, CREATE_CMDS, 0, 0, RPC_ONLY },
  [O_YES] = { "yes", 0, false, BIT(UPG_CMD_WIPE) },
  [O_LOG] = { "log", 0, false, BIT(UPG_CMD_WAIT) | BIT(UPG_CMD_RUN) },
  [O_FROM] = { "from", 0, true, BIT(UPG_CMD_LOG) },
  [O_FOLLOW] = { "follow", 0, false, BIT(UPG_CMD_LOG) },
  [O_DUMP_FORMAT] = { "format", 0, true, BIT(UPG_CMD_DUMP) },
};

int
upg_cli_distance(const char *a, const char *b)
{
  enum { FAR = 64 };
  size_t la = strlen(a), lb = strlen(b);
  if (la >= FAR || lb >= FAR)
    return FAR;
  int d[FAR + 1][FAR + 1];
  for (size_t i = 0; i <= la; i++)
    d[i][0] = (int)i;
  for (size_t j = 0; j <= lb; j++)
    d[0][j] = (int)j;
  for (size_t i = 1; i <= la; i++) {
    for (size_t j = 1; j <= lb; j++) {
      int cost = a[i - 1] != b[j - 1];
      int best = d[i - 1][j - 1] + cost;
      if (d[i - 1][j] + 1 < best)
        best = d[i - 1][j] + 1;
      if (d[i][j - 1] + 1 < best)
        best = d[i][j - 1] + 1;
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] && d[i - 2][j - 2] + 1 < best)
        best = d[i - 2][j - 2] + 1; /* "uplaod" */
      d[i][j] = best;
    }
  }
  return d[la][lb];
}

const char *
upg_cli_suggest(const char *word, const char *const *candidates, size_t n)
{
  int limit = (int)strlen(word) / 3;
  limit = limit < 1 ? 1 : limit > 3 ? 3 : limit;
  const char *best = NULL;
  int best_d = limit + 1, ties = 0;
  for (size_t i = 0; i < n; i++) {
    if (!candidates[i])
      continue;
    int d = upg_cli_distance(word, candidates[i]);
    if (d < best_d) {
      best = candidates[i], best_d = d, ties = 0;
    } else if (d == best_d) {
      ties++;
    }
  }
  return best && !ties ? best : NULL; /* two as near: guessing would mislead */
}

static int
usage(upg_cli *cli, const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(cli->error, sizeof cli->error, fmt, ap);
  va_end(ap);
  return UPG_EXIT_USAGE;
}

int
upg_cli_seconds(const char *text, double *out)
{
  char *end;
  errno = 0;
  double v = strtod(text, &end);
  if (!*text || *end || errno || !isfinite(v) || v < 0 || v > 315360000.0)
    return -1;
  *out = v;
  return 0;
}

static int
parse_count(const char *text, int *out)
{
  char *end;
  errno = 0;
  long v = strtol(text, &end, 10);
  if (!*text || *end || errno || v < 0 || v > 1000)
    return -1;
  *out = (int)v;
  return 0;
}

static int
seconds_option(upg_cli *cli, const char *name, const char *value, double *out)
{
  if (upg_cli_seconds(value, out) != 0)
    return usage(cli, "--%s: '%s' is not a number of seconds", name, value);
  return 0;
}

/* A number of seconds that must be more than 0. */
static int
positive_seconds(upg_cli *cli, const char *name, const char *value, double *out)
{
  int status = seconds_option(cli, name, value, out);
  if (status)
    return status;
  return *out > 0 ? 0 : usage(cli, "--%s: must be more than 0 seconds", name);
}

static int
milliseconds_option(upg_cli *cli, const char *name, const char *value, long *out)
{
  double secs;
  int status = positive_seconds(cli, name, value, &secs);
  if (status)
    return status;
  *out = (long)(secs * 1000);
  return 0;
}

static int
nonempty(upg_cli *cli, const struct option_spec *o, const char *value, const char **out)
{
  if (!*value)
    return o->name ? usage(cli, "--%s: empty value", o->name) : usage(cli, "-%c: empty value", o->letter);
  *out = value;
  return 0;
}

/* --connect-to HOST:PORT:CONNECT-TO-HOST:CONNECT-TO-PORT, curl's form
 * (any field may be empty, as in curl); libcurl reads the fields. */
static int
connect_to(upg_cli *cli, const char *value, const char **out)
{
  int colons = 0;
  for (const char *p = value; *p; p++)
    colons += *p == ':';
  if (colons < 3)
    return usage(cli, "--connect-to: '%s' is not HOST:PORT:CONNECT-TO-HOST:CONNECT-TO-PORT", value);
  *out = value;
  return 0;
}

/* Store one option's effect in CLI. */
static int
apply(upg_cli *cli, enum opt_id id, const char *v)
{
  upg_settings *s = &cli->settings;
  const struct option_spec *o = &options[id];

  switch (id) {
  case O_HELP: cli->help = true; return 0;
  case O_URL: cli->url_given = true; return nonempty(cli, o, v, &s->base_url);
  case O_REQUEST: cli->request_given = true; return nonempty(cli, o, v, &s->request);
  case O_KEY: cli->key_given = true; return nonempty(cli, o, v, &s->key);
  case O_JQ: return nonempty(cli, o, v, &cli->jq_filter);
  case O_RAW: cli->raw = true; return 0;
  case O_VAR: return nonempty(cli, o, v, &cli->var);
  case O_COMPACT: cli->format = UPG_FORMAT_COMPACT; return 0;
  case O_PRETTY: cli->format = UPG_FORMAT_PRETTY; return 0;
  case O_CACERT: cli->cacert_from = "--cacert"; return nonempty(cli, o, v, &s->cacert);
  case O_INSECURE: s->insecure = true; return 0;
  case O_KNOWN_HOSTS: return nonempty(cli, o, v, &s->known_hosts);
  case O_ACCEPT_NEW: s->accept_new_host_key = true; return 0;
  case O_CONNECT_TIMEOUT: return milliseconds_option(cli, o->name, v, &s->connect_timeout_ms);
  case O_MAX_TIME: return milliseconds_option(cli, o->name, v, &s->max_time_ms);
  case O_RETRY:
    return parse_count(v, &s->retry) ? usage(cli, "--retry: '%s' is not a count from 0 to 1000", v) : 0;
  case O_RETRY_DELAY: {
    double secs;
    int status = seconds_option(cli, o->name, v, &secs);
    s->retry_delay_ms = (long)(secs * 1000);
    return status;
  }
  case O_SILENT: s->silent = true; return 0;
  case O_SHOW_ERROR: cli->show_error = true; return 0;
  case O_PROGRESS: s->progress = true; return 0;
  case O_VERBOSE: s->verbose = true; return 0;
  case O_CONTRACT: return nonempty(cli, o, v, &cli->create.contract);
  case O_EMAIL: return nonempty(cli, o, v, &cli->create.email);
  case O_TARGET: return nonempty(cli, o, v, &cli->create.target);
  case O_AIM: return nonempty(cli, o, v, &cli->create.aim);
  case O_FILENAME: return nonempty(cli, o, v, &cli->create.filename);
  case O_TIMEZONE: return nonempty(cli, o, v, &cli->create.timezone);
  case O_SSH_KEYS: return nonempty(cli, o, v, &s->ssh_keys);
  case O_IDENTITY: return nonempty(cli, o, v, &s->identity);
  case O_INTERVAL: return positive_seconds(cli, o->name, v, &cli->interval);
  case O_TIMEOUT: return positive_seconds(cli, o->name, v, &cli->timeout);
  case O_WHAT:
    if (!upg_download_kind(v))
      return usage(cli, "--what: '%s' is not one of upgraded-dump, upgraded-sql, notes, modules, "
                   "original-dump, original-sql", v);
    cli->what = v;
    return 0;
  case O_OUTPUT: return nonempty(cli, o, v, &cli->output);
  case O_FORCE: cli->force = true; return 0;
  case O_SFTP: cli->sftp = true; return 0;
  case O_CONTINUE: cli->resume_run = true; return 0;
  case O_NEW: cli->new_request = true; return 0;
  case O_VERSION:
    if (cli->cmd == UPG_CMD_NONE)
      cli->cmd = UPG_CMD_VERSION;
    return 0;
  case O_DATABASE: return nonempty(cli, o, v, &cli->database);
  case O_FILESTORE_FROM: return nonempty(cli, o, v, &cli->filestore_from);
  case O_FILESTORE_LINK: cli->filestore_link = true; return 0;
  case O_DATA_DIR: return nonempty(cli, o, v, &cli->data_dir);
  case O_RESTORE_AS: return nonempty(cli, o, v, &cli->restore_as);
  case O_NO_RESTORE: cli->no_restore = true; return 0;
  case O_NO_FILESTORE: cli->no_filestore = true; return 0;
  case O_REUSE_DUMP: cli->reuse_dump = true; return 0;
  case O_REMOVE_DUMPS: cli->remove_dumps = true; return 0;
  case O_CONNECT_TO: return connect_to(cli, v, &s->connect_to);
  case O_RESTORE_ROLE: return nonempty(cli, o, v, &cli->restore_role);
  case O_TRUST_DUMP: cli->trust_dump = true; return 0;
  case O_API:
    if (!upg_cli_api_known(v))
      return usage(cli, "--api: '%s' is not v1 or rpc", v);
    s->api = v;
    return 0;
  case O_TOKEN: cli->token_given = true; return nonempty(cli, o, v, &s->token);
  case O_ENV:
    if (cli->nenv >= UPG_MAX_ENV)
      return usage(cli, "--env: more than %d variables", UPG_MAX_ENV);
    return nonempty(cli, o, v, &cli->env[cli->nenv++]);
  case O_ENV_FILE: return nonempty(cli, o, v, &cli->create.env_file);
  case O_YES: cli->yes = true; return 0;
  case O_LOG: cli->show_log = true; return 0;
  case O_FOLLOW: cli->follow = true; return 0;
  case O_FROM: {
    char *end;
    errno = 0;
    unsigned long long n = strtoull(v, &end, 10);
    /* a JSON number keeps integers exact up to 2^53 */
    if (!*v || *end || errno || v[0] == '-' || v[0] == '+' || n > (1ULL << 53))
      return usage(cli, "--from: '%s' is not a byte offset", v);
    cli->log_from = n;
    return 0;
  }
  case O_DUMP_FORMAT:
    if (strcmp(v, "custom") != 0 && strcmp(v, "directory") != 0)
      return usage(cli, "--format: '%s' is not custom or directory", v);
    cli->dump_directory = strcmp(v, "directory") == 0;
    return 0;
  case O_JOBS:
    return parse_count(v, &cli->jobs) || cli->jobs < 1 || cli->jobs > 64
      ? usage(cli, "--jobs: '%s' is not a count from 1 to 64", v) : 0;
  case O_PARALLEL:
    return parse_count(v, &s->parallel) || s->parallel < 1 || s->parallel > UPG_PARALLEL_MAX
      ? usage(cli, "--parallel: '%s' is not a count from 1 to %d", v, UPG_PARALLEL_MAX) : 0;
  case O_COUNT: break;
  }
  return 0;
}

static int
find_long(const char *name, size_t len)
{
  for (int id = 0; id < O_COUNT; id++)
    if (options[id].name && strlen(options[id].name) == len && strncmp(options[id].name, name, len) == 0)
      return id;
  return -1;
}

static int
find_short(char letter)
{
  for (int id = 0; id < O_COUNT; id++)
    if (options[id].letter == letter)
      return id;
  return -1;
}

/* The options given, one bit each. */
static void
mark_seen(unsigned *seen, int id)
{
  seen[id / 32] |= 1u << (id % 32);
}

static bool
was_seen(const unsigned *seen, int id)
{
  return seen[id / 32] & (1u << (id % 32));
}

/* An unknown --NAME, with the option it most likely misspells. */
static int
unknown_option(upg_cli *cli, const char *name, size_t len)
{
  const char *names[O_COUNT];
  char word[64];
  for (int id = 0; id < O_COUNT; id++)
    names[id] = options[id].name;
  snprintf(word, sizeof word, "%.*s", (int)len, name);
  const char *near = upg_cli_suggest(word, names, O_COUNT);
  if (near)
    return usage(cli, "unknown option --%.*s (did you mean --%s?)", (int)len, name, near);
  return usage(cli, "unknown option --%.*s", (int)len, name);
}

/* "--name", "--name=value" or "--name value".  *i is advanced past a
 * value taken from the next word. */
static int
long_option(upg_cli *cli, int argc, char **argv, int *i, unsigned *seen)
{
  const char *name = argv[*i] + 2;
  const char *eq = strchr(name, '=');
  size_t len = eq ? (size_t)(eq - name) : strlen(name);
  int id = find_long(name, len);

  if (id < 0)
    return unknown_option(cli, name, len);
  if (!options[id].takes_value && eq)
    return usage(cli, "--%s takes no value", options[id].name);
  const char *value = eq ? eq + 1 : NULL;
  if (options[id].takes_value && !value) {
    if (*i + 1 >= argc)
      return usage(cli, "--%s needs a value", options[id].name);
    value = argv[++*i];
  }
  mark_seen(seen, id);
  return apply(cli, (enum opt_id)id, value);
}

/* "-rs", "-q FILTER", "-qFILTER". */
static int
short_options(upg_cli *cli, int argc, char **argv, int *i, unsigned *seen)
{
  for (const char *p = argv[*i] + 1; *p; p++) {
    int id = find_short(*p);
    if (id < 0)
      return usage(cli, "unknown option -%c", *p);
    const char *value = NULL;
    if (options[id].takes_value) {
      if (p[1])
        value = p + 1;
      else if (*i + 1 < argc)
        value = argv[++*i];
      else
        return usage(cli, "-%c needs a value", *p);
    }
    mark_seen(seen, id);
    int status = apply(cli, (enum opt_id)id, value);
    if (status || value)
      return status;
  }
  return 0;
}

static int
positional(upg_cli *cli, const char *word)
{
  if (cli->cmd == UPG_CMD_NONE) {
    cli->cmd = upg_cli_command(word);
    const char *near = upg_cli_suggest(word, command_names, UPG_CMD_COUNT);
    if (cli->cmd == UPG_CMD_NONE && near)
      return usage(cli, "unknown subcommand '%s' (did you mean `upgrade %s`? see `upgrade help`)", word, near);
    if (cli->cmd == UPG_CMD_NONE)
      return usage(cli, "unknown subcommand '%s' (see `upgrade help`)", word);
    return 0;
  }
  if (cli->nargs >= UPG_MAX_ARGS)
    return usage(cli, "too many arguments");
  cli->args[cli->nargs++] = word;
  return 0;
}

/* Options that do not belong to the chosen subcommand are refused rather
 * than silently ignored. */
static int
check_applicable(upg_cli *cli, const unsigned *seen)
{
  for (int id = 0; id < O_COUNT; id++) {
    if (!was_seen(seen, id) || (options[id].commands & BIT(cli->cmd)))
      continue;
    if (options[id].name)
      return usage(cli, "--%s does not apply to `upgrade %s`", options[id].name, upg_cli_command_name(cli->cmd));
    return usage(cli, "-%c does not apply to `upgrade %s`", options[id].letter, upg_cli_command_name(cli->cmd));
  }
  return 0;
}

/* Options of one dialect given to the other: refused, never ignored. */
static int
check_dialect(upg_cli *cli, const unsigned *seen)
{
  for (int id = 0; id < O_COUNT; id++) {
    int d = options[id].dialect;
    /* run --continue: the job's record says which dialect it speaks */
    if (!was_seen(seen, id) || !d || (d == RPC_ONLY) == cli->rpc || (cli->cmd == UPG_CMD_RUN && cli->resume_run))
      continue;
    return usage(cli, "--%s: only the %s dialect takes it (this call speaks %s: --api, $UPGRADE_API or the URL "
                 "chose it)", options[id].name, d == RPC_ONLY ? "rpc" : "v1", cli->rpc ? "rpc" : "v1");
  }
  if (!cli->rpc && (cli->cmd == UPG_CMD_CREATE || cli->cmd == UPG_CMD_UPLOAD || cli->cmd == UPG_CMD_DOWNLOAD)
      && was_seen(seen, O_IDENTITY))
    return usage(cli, "--identity: v1's %s takes no key (only the rpc dialect's does)",
                 upg_cli_command_name(cli->cmd));
  return 0;
}

/* ENV's value for option ID, where the subcommand takes it and the
 * command line did not give it (the command line wins); marked seen. */
static void
env_default(upg_cli *cli, unsigned *seen, enum opt_id id, const char *value, const char **field)
{
  if (!value || !*value || was_seen(seen, id) || !(options[id].commands & BIT(cli->cmd)))
    return;
  *field = value;
  mark_seen(seen, id);
}

static int
apply_env(upg_cli *cli, const upg_cli_env *env, unsigned *seen)
{
  if (!env)
    return 0;
  env_default(cli, seen, O_CONTRACT, env->contract, &cli->create.contract);
  env_default(cli, seen, O_EMAIL, env->email, &cli->create.email);
  if (env->connect_to && *env->connect_to && !was_seen(seen, O_CONNECT_TO)) {
    int st = connect_to(cli, env->connect_to, &cli->settings.connect_to);
    if (st)
      return st;
    mark_seen(seen, O_CONNECT_TO);
  }
  bool had = was_seen(seen, O_CACERT);
  env_default(cli, seen, O_CACERT, env->cacert, &cli->settings.cacert);
  if (!had && was_seen(seen, O_CACERT))
    cli->cacert_from = env->cacert_from ? env->cacert_from : "the environment";
  return 0;
}

/* The options the table marks required for this subcommand (run
 * --continue takes the request from its job record instead; run
 * --database reads a missing contract from the database, as the
 * platform's script does). */
static int
check_required(upg_cli *cli, const unsigned *seen)
{
  if (cli->cmd == UPG_CMD_RUN && cli->resume_run)
    return 0;
  for (int id = 0; id < O_COUNT; id++) {
    unsigned required = cli->rpc ? options[id].rpc_required : options[id].required;
    if (!(required & BIT(cli->cmd)) || was_seen(seen, id))
      continue;
    if (id == O_CONTRACT && cli->cmd == UPG_CMD_RUN && cli->database) {
      cli->contract_from_database = true;
      continue;
    }
    return usage(cli, "%s needs --%s", upg_cli_command_name(cli->cmd), options[id].name);
  }
  return 0;
}

/* run: the restore's options belong to a job from a database (with
 * --continue, the record says whether it is one). */
static int
check_run_restore(upg_cli *cli, const unsigned *seen)
{
  static const enum opt_id needs_db[] = { O_RESTORE_AS, O_NO_RESTORE, O_DATA_DIR, O_JOBS, O_RESTORE_ROLE,
                                          O_TRUST_DUMP, O_NO_FILESTORE, O_REUSE_DUMP, O_REMOVE_DUMPS };
  if (cli->cmd != UPG_CMD_RUN)
    return 0;
  if (cli->restore_as && cli->no_restore)
    return usage(cli, "--restore-as and --no-restore contradict each other");
  if (cli->remove_dumps && cli->no_restore)
    return usage(cli, "--remove-dumps and --no-restore contradict each other: the download is the result");
  for (size_t i = 0; i < sizeof needs_db / sizeof needs_db[0]; i++)
    if (was_seen(seen, needs_db[i]) && !cli->database && !cli->resume_run)
      return usage(cli, "--%s: run restores only a job from a database: add --database DB", options[needs_db[i]].name);
  return 0;
}

/* dump --jobs: pg_dump dumps in parallel only to a directory. */
static int
check_dump_jobs(upg_cli *cli, const unsigned *seen)
{
  if (cli->cmd == UPG_CMD_DUMP && was_seen(seen, O_JOBS) && !cli->dump_directory)
    return usage(cli, "--jobs: pg_dump dumps in parallel only to a directory: add --format directory");
  return 0;
}

/* --filestore-link says how DB's filestore is taken: there must be one. */
static int
check_filestore_link(upg_cli *cli)
{
  if (!cli->filestore_link)
    return 0;
  if (cli->cmd == UPG_CMD_RESTORE && !cli->filestore_from)
    return usage(cli, "--filestore-link: links to the filestore of --filestore-from DB: add it");
  if (cli->cmd == UPG_CMD_RUN && cli->no_restore)
    return usage(cli, "--filestore-link and --no-restore contradict each other");
  if (cli->cmd == UPG_CMD_RUN && !cli->database && !cli->resume_run)
    return usage(cli, "--filestore-link: run restores only a job from a database: add --database DB");
  return 0;
}

/* A request is named by its id and its key together: one without the other
 * would pair it with the shell's UPGRADE_KEY or UPGRADE_REQUEST, which may
 * be another request's.  run makes its own request (or reads it from its
 * record with --continue): it takes neither. */
static int
check_request_key(upg_cli *cli, const unsigned *seen)
{
  bool request = was_seen(seen, O_REQUEST), key = was_seen(seen, O_KEY);
  bool token = was_seen(seen, O_TOKEN);
  if (cli->cmd == UPG_CMD_RUN && (request || key || token))
    return usage(cli, "--%s does not apply to `upgrade run`: it creates its own request, and --continue takes "
                 "the job's from DUMP.upgrade.json", request ? "request" : key ? "key" : "token");
  if (request && !key)
    return usage(cli, "--key is missing: --request needs the request's --key");
  if (key && !request)
    return usage(cli, "--request is missing: --key needs its --request");
  return 0;
}

static int
check_arguments(upg_cli *cli)
{
  int want = 0;
  const char *what = NULL;

  switch (cli->cmd) {
  case UPG_CMD_UPLOAD:
  case UPG_CMD_SFTP_PUT:
    want = 1, what = "FILE";
    break;
  case UPG_CMD_RUN:
    /* with --database, DUMP is where the dump goes: "DB.dump" unless given */
    want = cli->database && cli->nargs == 0 ? 0 : 1, what = "DUMP (or --database DB)";
    break;
  case UPG_CMD_RESTORE:
    want = 1, what = "FILE (or DIR)";
    break;
  case UPG_CMD_JOBS: /* [DIR] */
    want = cli->nargs ? 1 : 0;
    break;
  default:
    break;
  }
  if (cli->nargs < want)
    return usage(cli, "%s needs %s", upg_cli_command_name(cli->cmd), what);
  if (cli->nargs > want)
    return usage(cli, "unexpected argument '%s'", cli->args[want]);
  return 0;
}

int
upg_cli_parse(int argc, char **argv, upg_cli *cli)
{
  return upg_cli_parse_env(argc, argv, NULL, cli);
}

int
upg_cli_parse_env(int argc, char **argv, const upg_cli_env *env, upg_cli *cli)
{
  unsigned seen[(O_COUNT + 31) / 32] = { 0 };
  bool options_done = false;
  int status = 0;

  memset(cli, 0, sizeof *cli);
  cli->what = "upgraded-dump";
  for (int i = 0; i < argc && !status; i++) {
    const char *a = argv[i];
    if (options_done || a[0] != '-' || a[1] == '\0')
      status = positional(cli, a);
    else if (strcmp(a, "--") == 0)
      options_done = true;
    else if (a[1] == '-')
      status = long_option(cli, argc, argv, &i, seen);
    else
      status = short_options(cli, argc, argv, &i, seen);
  }
  if (status)
    return status;
  if (cli->cmd == UPG_CMD_NONE && !cli->help)
    return usage(cli, "no subcommand given (see `upgrade help`)");
  if (cli->cmd == UPG_CMD_HELP || cli->help) {
    cli->help_cmd = cli->cmd == UPG_CMD_HELP ? (cli->nargs ? upg_cli_command(cli->args[0]) : UPG_CMD_NONE)
                                             : cli->cmd;
    if (cli->cmd == UPG_CMD_HELP && cli->nargs && cli->help_cmd == UPG_CMD_NONE)
      return usage(cli, "no help for '%s': not a subcommand", cli->args[0]);
    cli->help = true;
    return 0;
  }
  if ((status = check_applicable(cli, seen)))
    return status;
  const char *api = cli->settings.api ? cli->settings.api : env ? env->api : NULL;
  if (api && !upg_cli_api_known(api))
    return usage(cli, "UPGRADE_API: '%s' is not v1 or rpc", api);
  cli->rpc = upg_dialect_choose(api, cli->url_given ? cli->settings.base_url : env ? env->url : NULL)
             == UPG_DIALECT_RPC;
  if ((status = check_dialect(cli, seen)))
    return status;
  cli->create.env = cli->nenv ? cli->env : NULL;
  if ((status = apply_env(cli, env, seen)) || (status = check_required(cli, seen))
      || (status = check_run_restore(cli, seen)) || (status = check_request_key(cli, seen)))
    return status;
  if ((status = check_filestore_link(cli)) || (status = check_dump_jobs(cli, seen)))
    return status;
  return check_arguments(cli);
}
