/* SPDX-License-Identifier: GPL-3.0-or-later */
/* cli.h -- the command line of `upgrade`: subcommands and options.
 *
 * Pure: no bash header, no I/O, so it is unit-tested as it is.  The bash
 * binding fills the defaults that come from shell variables afterwards.
 */
#ifndef UPGRADE_CLI_H
#define UPGRADE_CLI_H

#include <stdbool.h>

#include "upgrade/api.h"
#include "upgrade/settings.h"

enum upg_cmd {
  UPG_CMD_NONE = 0,
  UPG_CMD_HELP,
  UPG_CMD_CREATE,
  UPG_CMD_UPLOAD,
  UPG_CMD_SFTP_ACCESS,
  UPG_CMD_SFTP_PUT,
  UPG_CMD_PROCESS,
  UPG_CMD_SKIP_TEST,
  UPG_CMD_STATUS,
  UPG_CMD_WAIT,
  UPG_CMD_DOWNLOAD,
  UPG_CMD_SFTP_GET,
  UPG_CMD_RUN,
  UPG_CMD_VERSION,
  UPG_CMD_DUMP,
  UPG_CMD_RESTORE,
  UPG_CMD_JOBS,
  UPG_CMD_LOG,
  UPG_CMD_WIPE,
  UPG_CMD_COUNT
};

enum upg_format { UPG_FORMAT_AUTO = 0, UPG_FORMAT_COMPACT, UPG_FORMAT_PRETTY };

#define UPG_MAX_ARGS 4
#define UPG_MAX_ENV 64   /* create --env NAME=VALUE, repeated */

typedef struct upg_cli {
  enum upg_cmd cmd;
  bool help;                 /* --help, or `upgrade help [CMD]` */
  enum upg_cmd help_cmd;     /* the subcommand help is asked for */

  /* output */
  const char *jq_filter;     /* -q/--jq */
  bool raw;                  /* -r */
  bool show_error;           /* -S: failure lines even with -s (curl's -sS) */
  const char *var;           /* -v NAME */
  enum upg_format format;

  upg_settings settings;     /* strings point into argv, or into the call's copies of shell variables (builtin.c) */
  bool url_given, request_given, key_given, token_given;
  const char *request_filename; /* $UPGRADE_FILENAME (set by create with the
                                   request's filename), unless --request */

  bool rpc;                  /* the dialect is rpc (platform.h: --api, $UPGRADE_API, the URL) */

  upg_create_params create;  /* create, run (create.env points into env) */
  const char *env[UPG_MAX_ENV + 1]; /* create --env NAME=VALUE..., NULL-terminated */
  int nenv;
  bool yes;                  /* wipe --yes */
  bool show_log;             /* wait --log */
  unsigned long long log_from; /* log --from BYTE */
  bool follow;               /* log --follow */
  double interval, timeout;  /* wait, run */
  const char *what;          /* download */
  const char *output;        /* -o */
  bool force;                /* replace an existing output */
  bool sftp;                 /* run --sftp */
  bool resume_run;           /* run --continue */
  bool new_request;          /* run --new */
  const char *database;      /* dump, restore, run: --database */
  const char *filestore_from;/* restore */
  bool filestore_link;       /* restore, run: hard links to DB's filestore */
  const char *data_dir;      /* restore, run: Odoo's data dir */
  int jobs;                  /* dump (directory), restore, run: pg_dump / pg_restore --jobs */
  bool dump_directory;       /* dump --format directory (pg_dump -Fd) */
  const char *restore_as;    /* run: the new database */
  const char *restore_role;  /* restore, run: the load role (or $UPGRADE_RESTORE_ROLE) */
  bool trust_dump;           /* restore, run: the load role unchecked */
  bool no_restore;           /* run: end with the download */
  bool no_filestore;         /* run: restore without DB's filestore */
  bool reuse_dump;           /* run: upload the existing DUMP as it is */
  bool remove_dumps;         /* run: remove DUMP and the download once restored */

  const char *cacert_from;   /* where settings.cacert came from: "--cacert" or a variable's name */
  bool contract_from_database; /* run --database with no contract given: read it from DB */

  const char *args[UPG_MAX_ARGS];
  int nargs;

  char error[256];           /* set when parsing fails */
} upg_cli;

/* Defaults for the options a user repeats, from the shell (the binding
 * reads and copies them; NULL: unset).  The CA bundle in curl's order:
 * $UPGRADE_CACERT, else $CURL_CA_BUNDLE, else $SSL_CERT_FILE. */
typedef struct upg_cli_env {
  const char *contract;      /* $UPGRADE_CONTRACT */
  const char *email;         /* $UPGRADE_EMAIL */
  const char *connect_to;    /* $UPGRADE_CONNECT_TO */
  const char *api;           /* $UPGRADE_API */
  const char *url;           /* $UPGRADE_URL */
  const char *cacert;        /* the CA bundle's file */
  const char *cacert_from;   /* its variable: "UPGRADE_CACERT", "CURL_CA_BUNDLE" or "SSL_CERT_FILE" */
} upg_cli_env;

/* Parse ARGV[0..ARGC) (the words after `upgrade`).  Returns 0, or
 * UPG_EXIT_USAGE with cli->error set.  May reorder ARGV's pointers.  The
 * dialect (cli->rpc: --api, else ENV's api, else the URL given or ENV's,
 * else the default URL) decides which options create needs and takes. */
int upg_cli_parse(int argc, char **argv, upg_cli *cli);
/* The same, with ENV's defaults (borrowed; NULL: none) filling the options
 * not given on the command line, for the subcommands that take them; they
 * count as given for `required`.  run --database without any contract
 * sets contract_from_database instead of refusing. */
int upg_cli_parse_env(int argc, char **argv, const upg_cli_env *env, upg_cli *cli);

/* The subcommand called NAME, or UPG_CMD_NONE. */
enum upg_cmd upg_cli_command(const char *name);
/* The name of CMD ("sftp-put"). */
const char *upg_cli_command_name(enum upg_cmd cmd);
/* Is API a dialect --api and $UPGRADE_API may name (v1, rpc)? */
bool upg_cli_api_known(const char *api);

/* The edit distance between A and B (insertions, deletions,
 * substitutions and swaps of two neighbours, one each; words under 64
 * characters, longer ones are "far": 64). */
int upg_cli_distance(const char *a, const char *b);
/* Of the N CANDIDATES (NULLs skipped), the one WORD most likely misspells:
 * the nearest, if it is within a third of WORD's length (at least 1, at
 * most 3) and the only one that near; else NULL. */
const char *upg_cli_suggest(const char *word, const char *const *candidates, size_t n);

/* Parse seconds ("1.5", ≥ 0, ≤ 10 years): 0 or -1. */
int upg_cli_seconds(const char *text, double *out);

#endif
