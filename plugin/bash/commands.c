/* SPDX-License-Identifier: GPL-3.0-or-later */
/* commands.c -- one function per subcommand: from the parsed command line
 * to the core call that does the work. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <loadables.h>

#include "upgrade/api.h"
#include "binding.h"
#include "upgrade/contract.h"
#include "upgrade/download.h"
#include "upgrade/jobs.h"
#include "upgrade/outcome.h"
#include "upgrade/platform.h"
#include "upgrade/rpc_call.h"
#include "upgrade/run.h"
#include "upgrade/sftp_job.h"
#include "upgrade/upload.h"
#include "upgrade/wait.h"
#include "upgrade/version.h"
#include "upgrade/pg.h"

/* The platform the call speaks (platform.h). */
static const upg_platform *
platform(const upg_cli *cli)
{
  return upg_platform_of(&cli->settings);
}

/* rpc's create may run ssh-keygen: it gets the shell's exports. */
static int
cmd_create(upg_cli *cli, jv *doc)
{
  upg_shell_refresh_environ();
  return platform(cli)->create(&cli->settings, &cli->create, doc);
}

/* A second `create` in this shell made the shell's request another one:
 * FILE whose name is not the one that request was created with is said
 * (a warning: the upload goes on). */
static void
warn_other_request(const upg_cli *cli, const char *file)
{
  const char *base = strrchr(file, '/') ? strrchr(file, '/') + 1 : file;
  if (cli->request_filename && *cli->request_filename && cli->settings.request
      && strcmp(base, cli->request_filename) != 0)
    upg_notice(&cli->settings, "warning: %s is not %s, the filename request %s was created with (the last "
               "`upgrade create` in this shell): is this the request you meant? (--request ID --key KEY names "
               "another)", base, cli->request_filename, cli->settings.request);
}

/* rpc's upload and download run rsync and ssh: they get the shell's
 * exports (less what rpc_rsync_run.h keeps from them), also those made
 * since bash last ran a command. */
static int
cmd_upload(upg_cli *cli, jv *doc)
{
  upg_shell_refresh_environ();
  warn_other_request(cli, cli->args[0]);
  return platform(cli)->upload(&cli->settings, cli->args[0], doc);
}

static int
cmd_sftp_access(upg_cli *cli, jv *doc)
{
  return upg_sftp_access_file(&cli->settings, cli->settings.ssh_keys, doc);
}

static int
cmd_sftp_put(upg_cli *cli, jv *doc)
{
  warn_other_request(cli, cli->args[0]);
  return upg_sftp_upload(&cli->settings, cli->args[0], doc);
}

static int
cmd_process(upg_cli *cli, jv *doc)
{
  return platform(cli)->process(&cli->settings, doc);
}

static int
cmd_skip_test(upg_cli *cli, jv *doc)
{
  return upg_api_skip_test(&cli->settings, doc);
}

static int
cmd_status(upg_cli *cli, jv *doc)
{
  return platform(cli)->status(&cli->settings, doc);
}

static int
cmd_wait(upg_cli *cli, jv *doc)
{
  bool final;
  upg_log_tail log = { .print = true };
  int status = upg_wait(&cli->settings, cli->interval, cli->timeout, cli->show_log ? &log : NULL, &final, doc);
  upg_log_tail_free(&log);
  return status;
}

/* log: one read from --from, or --follow until the request ends. */
static int
cmd_log(upg_cli *cli, jv *doc)
{
  const upg_platform *pf = platform(cli);
  if (cli->follow)
    return upg_log_follow(&cli->settings, cli->log_from, cli->interval, cli->timeout, doc);
  upg_log_tail t = { .from = cli->log_from, .next = cli->log_from, .keep_text = true };
  int status = pf->require_request(&cli->settings, doc);
  if (!status && !(status = pf->log_read(&cli->settings, &t, false, doc)))
    *doc = upg_doc_with("log", upg_log_tail_doc(&t));
  upg_log_tail_free(&t);
  return status;
}

static int
cmd_wipe(upg_cli *cli, jv *doc)
{
  return upg_rpc_wipe(&cli->settings, cli->create.contract, cli->yes, doc);
}

/* A download that failed with bytes kept says how to go on.  (rsync:
 * the exports, as for upload.) */
static int
cmd_download(upg_cli *cli, jv *doc)
{
  upg_shell_refresh_environ();
  int status = platform(cli)->download(&cli->settings, cli->what, cli->output, cli->force, doc);
  char kept[600];
  if (status && upg_download_part_kept(*doc, kept, sizeof kept))
    *doc = upg_doc_hint(*doc, "run the same command again: %s", kept);
  return status;
}

static int
cmd_sftp_get(upg_cli *cli, jv *doc)
{
  return upg_sftp_download(&cli->settings, cli->output, cli->force, doc);
}

/* The job with the command line's parameters. */
static int
run_job(upg_cli *cli, jv *doc)
{
  upg_run_params p = {
    .create = cli->create, .dump = cli->nargs ? cli->args[0] : NULL, .output = cli->output,
    .sftp = cli->sftp, .force = cli->force, .interval = cli->interval, .timeout = cli->timeout,
    .resume = cli->resume_run, .new_request = cli->new_request, .url_given = cli->url_given,
    .database = cli->database, .restore_as = cli->restore_as, .no_restore = cli->no_restore,
    .no_filestore = cli->no_filestore, .reuse_dump = cli->reuse_dump, .remove_dumps = cli->remove_dumps,
    .data_dir = cli->data_dir, .jobs = cli->jobs, .restore_role = cli->restore_role,
    .trust_dump = cli->trust_dump, .filestore_link = cli->filestore_link, .log = cli->show_log,
  };
  return upg_run(&cli->settings, &p, doc);
}

/* run may call PostgreSQL's programs (a job from a database): they get
 * the shell's exports, as for dump and restore.  A new job from a
 * database with no contract given takes the database's own. */
static int
cmd_run(upg_cli *cli, jv *doc)
{
  char *contract = NULL;
  upg_shell_refresh_environ();
  if (cli->contract_from_database) {
    int status = upg_contract_from_database(&cli->settings, cli->database, &contract, doc);
    if (status)
      return status;
    cli->create.contract = contract;
  }
  int status = run_job(cli, doc);
  cli->create.contract = NULL;
  free(contract);
  return status;
}


/* The bash running the module, as bash --version says it ("5.2.15(1)-release"):
 * shell_version_string() rather than $BASH_VERSION, which a script may set. */
static int
cmd_version(upg_cli *cli, jv *doc)
{
  *doc = upg_version_doc(shell_version_string());
  return UPG_EXIT_OK;
}

/* PostgreSQL's programs get the shell's exports, also those made since
 * bash last ran a command (its environ is rebuilt only then). */
static int
cmd_dump(upg_cli *cli, jv *doc)
{
  upg_dump_params p = { .database = cli->database, .output = cli->output, .force = cli->force,
                        .directory = cli->dump_directory, .jobs = cli->jobs };
  upg_shell_refresh_environ();
  return upg_pg_dump(&cli->settings, &p, doc);
}

static int
cmd_restore(upg_cli *cli, jv *doc)
{
  upg_restore_params p = { .file = cli->args[0], .database = cli->database,
                           .filestore_from = cli->filestore_from, .data_dir = cli->data_dir,
                           .jobs = cli->jobs, .restore_role = cli->restore_role,
                           .trust_dump = cli->trust_dump, .filestore_link = cli->filestore_link };
  upg_shell_refresh_environ();
  return upg_pg_restore(&cli->settings, &p, doc);
}

static int
cmd_jobs(upg_cli *cli, jv *doc)
{
  return upg_jobs_list(&cli->settings, cli->nargs ? cli->args[0] : NULL, doc);
}

typedef int (*command_fn)(upg_cli *cli, jv *doc);

static const command_fn commands[UPG_CMD_COUNT] = {
  [UPG_CMD_CREATE] = cmd_create, [UPG_CMD_UPLOAD] = cmd_upload,
  [UPG_CMD_SFTP_ACCESS] = cmd_sftp_access, [UPG_CMD_SFTP_PUT] = cmd_sftp_put,
  [UPG_CMD_PROCESS] = cmd_process, [UPG_CMD_SKIP_TEST] = cmd_skip_test,
  [UPG_CMD_STATUS] = cmd_status, [UPG_CMD_WAIT] = cmd_wait, [UPG_CMD_DOWNLOAD] = cmd_download,
  [UPG_CMD_SFTP_GET] = cmd_sftp_get, [UPG_CMD_RUN] = cmd_run,
  [UPG_CMD_VERSION] = cmd_version, [UPG_CMD_DUMP] = cmd_dump, [UPG_CMD_RESTORE] = cmd_restore,
  [UPG_CMD_JOBS] = cmd_jobs, [UPG_CMD_LOG] = cmd_log, [UPG_CMD_WIPE] = cmd_wipe,
};

/* The subcommands that only v1 has (skip_test, request_sftp_access and
 * its SFTP); and those only rpc has.
 * Any other goes through the platform's interface. */
static bool
v1_only(enum upg_cmd cmd)
{
  return cmd == UPG_CMD_SKIP_TEST || cmd == UPG_CMD_SFTP_ACCESS || cmd == UPG_CMD_SFTP_PUT ||
         cmd == UPG_CMD_SFTP_GET;
}

static bool
rpc_only(enum upg_cmd cmd)
{
  return cmd == UPG_CMD_LOG || cmd == UPG_CMD_WIPE;
}

int
upg_run_command(upg_cli *cli, jv *doc)
{
  command_fn fn = cli->cmd > 0 && cli->cmd < UPG_CMD_COUNT ? commands[cli->cmd] : NULL;
  if (!fn)
    return upg_fail(doc, UPG_EXIT_USAGE, upg_failure("CLIENT:USAGE", "no such subcommand"));
  enum upg_dialect d = platform(cli)->dialect;
  if (d == UPG_DIALECT_RPC && v1_only(cli->cmd))
    return upg_fail(doc, UPG_EXIT_USAGE,
                    upg_failure("CLIENT:USAGE", "`upgrade %s` does not speak the rpc dialect: use --api v1 (and "
                                "a /database/v1 URL)", upg_cli_command_name(cli->cmd)));
  if (d == UPG_DIALECT_V1 && rpc_only(cli->cmd))
    return upg_fail(doc, UPG_EXIT_USAGE,
                    upg_failure("CLIENT:USAGE", "`upgrade %s` speaks only the rpc dialect: use --api rpc",
                                upg_cli_command_name(cli->cmd)));
  return fn(cli, doc);
}
