/* SPDX-License-Identifier: GPL-3.0-or-later */
/* binding.h -- the pieces of the bash binding (plugin/bash), shared among
 * its files.  Only these files include bash's headers. */
#ifndef UPGRADE_BINDING_H
#define UPGRADE_BINDING_H

#include <stdio.h>
#include <jv.h>

#include "cli.h"

/* help.c */
extern char *upgrade_long_doc[];
extern const char upgrade_short_doc[];
/* Print the help of CMD (UPG_CMD_NONE: the overview) on F. */
void upg_help_print(FILE *f, enum upg_cmd cmd);

/* shell.c: the host callbacks and shell variables.  Lines reach stderr
 * only through the core (upg_say, upg_notice, upg_trace), which redacts
 * and escapes them first (human.h). */
void upg_shell_host(upg_settings *s);
/* A shell variable's value, or NULL when unset or empty. */
const char *upg_shell_get(const char *name);
/* An environment variable's value as the shell exports it (curl's
 * CURL_CA_BUNDLE, SSL_CERT_FILE: only an exported one reaches curl), or
 * NULL when unset, empty or not exported. */
const char *upg_shell_get_exported(const char *name);
/* NAME can take an assignment (identifier or name[sub], not readonly):
 * 0, or -1 with a message in ERR. */
int upg_shell_check_name(const char *name, char *err, size_t errlen);
/* Assign VALUE to NAME as `printf -v` does: 0 or -1. */
int upg_shell_assign(const char *name, const char *value);
/* The same for a secret: the variable is left unexported (also when it
 * was exported before, or under `set -a`). */
int upg_shell_assign_private(const char *name, const char *value);
/* Make jq's `env` and `$ENV` see exports made since the last command. */
void upg_shell_refresh_environ(void);
/* The width of stderr's terminal: the shell's COLUMNS, else TIOCGWINSZ on
 * stderr, else 80. */
int upg_shell_columns(void);

/* output.c: print or assign a call's document; returns the final status. */
int upg_emit(const upg_cli *cli, jv doc, int status);
/* One line per failure of DOC on stderr (unless silent), through upg_say. */
void upg_report_failures(const upg_cli *cli, jv doc);

/* commands.c: run the parsed subcommand. */
int upg_run_command(upg_cli *cli, jv *doc);

#endif
