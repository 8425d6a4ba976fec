/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Unit tests: the command line (plugin/bash/cli.c). */
#include "config.h"

#include <stdarg.h>
#include <stdlib.h>

#include "tap.h"
#include "cli.h"
#include "upgrade/contract.h"

/* Parse a NULL-terminated list of words, with the shell's defaults ENV. */
static int
vparse(upg_cli *cli, const upg_cli_env *env, va_list ap)
{
  static char *argv[32];
  int argc = 0;
  for (char *w; (w = va_arg(ap, char *)) && argc < 31;)
    argv[argc++] = w;
  argv[argc] = NULL;
  return env ? upg_cli_parse_env(argc, argv, env, cli) : upg_cli_parse(argc, argv, cli);
}

static int
parse(upg_cli *cli, ...)
{
  va_list ap;
  va_start(ap, cli);
  int status = vparse(cli, NULL, ap);
  va_end(ap);
  return status;
}

static int
parse_env(upg_cli *cli, const upg_cli_env *env, ...)
{
  va_list ap;
  va_start(ap, env);
  int status = vparse(cli, env, ap);
  va_end(ap);
  return status;
}

static void
refused(const char *what, const char *needle, int status, const upg_cli *cli)
{
  ok(status == 2 && strstr(cli->error, needle), "%s refused: %s", what, cli->error);
}

int
main(void)
{
  upg_cli c;

  ok(parse(&c, "status", NULL) == 0 && c.cmd == UPG_CMD_STATUS, "status");
  ok(parse(&c, "-s", "status", "-q", ".request.state", "-r", "-v", "st", NULL) == 0
     && c.settings.silent && c.raw && strcmp(c.jq_filter, ".request.state") == 0 && strcmp(c.var, "st") == 0,
     "options before and after the subcommand");
  ok(parse(&c, "status", "-rsq.x", NULL) == 0 && c.raw && c.settings.silent && strcmp(c.jq_filter, ".x") == 0,
     "bundled short options with an attached value");
  ok(parse(&c, "status", "--jq=.a", "--url", "https://x/v1", NULL) == 0
     && strcmp(c.jq_filter, ".a") == 0 && strcmp(c.settings.base_url, "https://x/v1") == 0 && c.url_given,
     "--name=value and --name value");
  ok(parse(&c, "upload", "--", "-weird.dump", NULL) == 0 && c.nargs == 1 && strcmp(c.args[0], "-weird.dump") == 0,
     "-- ends options");
  ok(parse(&c, "upload", "-", NULL) == 0 && strcmp(c.args[0], "-") == 0, "a lone - is an argument");

  ok(parse(&c, "create", "--api", "v1", "--contract", "M1-a", "--email", "e@x", "--target", "16.0", "--aim", "test",
           "--filename", "db.dump", "--timezone", "Europe/Brussels", NULL) == 0
     && strcmp(c.create.timezone, "Europe/Brussels") == 0 && strcmp(c.create.filename, "db.dump") == 0,
     "create with every field");
  refused("create without --email",
          "--email", parse(&c, "create", "--url", "https://x/database/v1", "--contract", "M1-a", "--target", "16.0",
                           "--aim", "test", "--filename", "d", NULL), &c);

  /* the rpc dialect: the default URL speaks it; create needs no email */
  ok(parse(&c, "create", "--contract", "M1-a", "--target", "17.0", "--aim", "test", "--env", "A=1", "--env", "B=2",
           "--env-file", "f", "--identity", "k", NULL) == 0 && c.rpc && c.nenv == 2
     && strcmp(c.create.env[1], "B=2") == 0 && c.create.env[2] == NULL && strcmp(c.create.env_file, "f") == 0
     && strcmp(c.settings.identity, "k") == 0, "rpc create: --env repeated, --env-file, --identity");
  refused("rpc create with --email", "only the v1 dialect",
          parse(&c, "create", "--contract", "M1-a", "--target", "17.0", "--aim", "test", "--email", "e@x", NULL), &c);
  refused("rpc create without --aim", "--aim", parse(&c, "create", "--contract", "M1-a", "--target", "17.0", NULL), &c);
  refused("v1 create with --env", "only the rpc dialect",
          parse(&c, "create", "--api", "v1", "--contract", "M1-a", "--email", "e", "--target", "17.0", "--aim",
                "test", "--filename", "d", "--env", "A=1", NULL), &c);
  refused("v1 create with --identity", "--identity",
          parse(&c, "create", "--api", "v1", "--contract", "M1-a", "--email", "e", "--target", "17.0", "--aim",
                "test", "--filename", "d", "--identity", "k", NULL), &c);
  ok(parse(&c, "status", "--url", "https://x/database/v1/", NULL) == 0 && !c.rpc, "a /database/v1 URL speaks v1");
  ok(parse(&c, "status", "--url", "https://x/database/v1", "--api", "rpc", NULL) == 0 && c.rpc, "--api wins");
  ok(parse(&c, "status", "--url", "https://x/v1", NULL) == 0 && c.rpc, "any other URL speaks rpc");
  refused("wipe without --contract", "--contract", parse(&c, "wipe", "--yes", NULL), &c);
  ok(parse(&c, "wipe", "--contract", "M1-a", NULL) == 0 && !c.yes, "wipe parses without --yes (the core refuses)");
  ok(parse(&c, "log", "--from", "1234", "--follow", NULL) == 0 && c.log_from == 1234 && c.follow, "log --from --follow");
  refused("log --from -1", "--from", parse(&c, "log", "--from", "-1", NULL), &c);
  refused("log --from x", "--from", parse(&c, "log", "--from", "12x", NULL), &c);
  ok(parse(&c, "wait", "--log", NULL) == 0 && c.show_log, "wait --log");

  ok(parse(&c, "wait", "--interval", "0.5", "--timeout", "30", NULL) == 0 && c.interval == 0.5 && c.timeout == 30,
     "wait's seconds");
  ok(parse(&c, "wait", NULL) == 0 && c.interval == 0 && c.timeout == 0, "wait's defaults (0: the dialect's pace, wait.h)");
  refused("negative interval", "--interval", parse(&c, "wait", "--interval", "-1", NULL), &c);
  refused("zero interval", "--interval", parse(&c, "wait", "--interval", "0", NULL), &c);
  refused("non-numeric timeout", "--timeout", parse(&c, "wait", "--timeout", "soon", NULL), &c);
  refused("huge timeout", "--timeout", parse(&c, "wait", "--timeout", "1e300", NULL), &c);
  refused("nan", "--max-time", parse(&c, "status", "--max-time", "nan", NULL), &c);
  refused("zero max-time", "--max-time", parse(&c, "status", "--max-time", "0", NULL), &c);
  ok(parse(&c, "status", "--connect-timeout", "2.5", "--max-time", "1", NULL) == 0
     && c.settings.connect_timeout_ms == 2500 && c.settings.max_time_ms == 1000, "timeouts in ms");
  refused("retry not a number", "--retry", parse(&c, "status", "--retry", "abc", NULL), &c);
  refused("retry negative", "--retry", parse(&c, "status", "--retry", "-2", NULL), &c);
  ok(parse(&c, "status", "--retry", "3", "--retry-delay", "0.25", NULL) == 0
     && c.settings.retry == 3 && c.settings.retry_delay_ms == 250, "retry and its delay");

  ok(parse(&c, "download", NULL) == 0 && strcmp(c.what, "upgraded-dump") == 0, "download defaults to upgraded-dump");
  ok(parse(&c, "download", "--api", "v1", "--what", "original-sql", "-o", "x.sql", "--force", NULL) == 0
     && strcmp(c.what, "original-sql") == 0 && strcmp(c.output, "x.sql") == 0 && c.force, "download options");
  refused("unknown --what", "--what", parse(&c, "download", "--api", "v1", "--what", "everything", NULL), &c);
  refused("--what under rpc (its download fetches everything)", "only the v1 dialect",
          parse(&c, "download", "--api", "rpc", "--what", "notes", NULL), &c);
  ok(parse(&c, "download", NULL) == 0 && c.settings.parallel == 0, "no --parallel: the core chooses (0)");
  ok(parse(&c, "download", "--parallel", "4", NULL) == 0 && c.settings.parallel == 4, "download --parallel 4");
  ok(parse(&c, "sftp-get", "--parallel=16", NULL) == 0 && c.settings.parallel == 16, "sftp-get --parallel=16");
  refused("--parallel 0", "--parallel", parse(&c, "download", "--parallel", "0", NULL), &c);
  refused("--parallel 17", "--parallel", parse(&c, "download", "--parallel", "17", NULL), &c);
  refused("--parallel on status", "does not apply", parse(&c, "status", "--parallel", "2", NULL), &c);

  refused("unknown option", "--frobnicate", parse(&c, "status", "--frobnicate", NULL), &c);
  refused("unknown short option", "-Z", parse(&c, "status", "-Z", NULL), &c);
  refused("unknown subcommand", "frob", parse(&c, "frob", NULL), &c);
  refused("no subcommand", "subcommand", parse(&c, "-s", NULL), &c);
  refused("option of another subcommand", "does not apply", parse(&c, "status", "--contract", "x", NULL), &c);
  refused("missing value", "needs a value", parse(&c, "status", "--url", NULL), &c);
  refused("missing short value", "needs a value", parse(&c, "status", "-q", NULL), &c);
  refused("value to a flag", "takes no value", parse(&c, "status", "--silent=yes", NULL), &c);
  refused("empty value", "empty", parse(&c, "status", "--request", "", NULL), &c);
  refused("upload without file", "FILE", parse(&c, "upload", NULL), &c);
  refused("status with an argument", "unexpected", parse(&c, "status", "extra", NULL), &c);
  refused("sftp-access without keys", "--ssh-keys", parse(&c, "sftp-access", NULL), &c);

  ok(parse(&c, "--help", NULL) == 0 && c.help && c.help_cmd == UPG_CMD_NONE, "--help alone");
  ok(parse(&c, "help", NULL) == 0 && c.help && c.help_cmd == UPG_CMD_NONE, "help alone");
  ok(parse(&c, "help", "sftp-put", NULL) == 0 && c.help && c.help_cmd == UPG_CMD_SFTP_PUT, "help SUBCOMMAND");
  ok(parse(&c, "wait", "--help", NULL) == 0 && c.help && c.help_cmd == UPG_CMD_WAIT, "SUBCOMMAND --help");
  refused("help of nothing", "not a subcommand", parse(&c, "help", "frob", NULL), &c);

  ok(parse(&c, "run", "--api", "v1", "--contract", "M1-a", "--email", "e@x", "--target", "16.0", "--aim", "test",
           "--sftp", "db.dump", NULL) == 0 && c.sftp && strcmp(c.args[0], "db.dump") == 0, "run");
  /* run under rpc (the default URL's): no --email, --filename or --sftp; --log */
  ok(parse(&c, "run", "--contract", "M1-a", "--target", "16.0", "--aim", "test", "--log", "db.dump", NULL) == 0
     && c.rpc && c.show_log, "run under rpc: --log, no --email needed");
  refused("run --sftp under rpc", "only the v1 dialect",
          parse(&c, "run", "--contract", "M1-a", "--target", "16.0", "--aim", "test", "--sftp", "db.dump", NULL), &c);
  refused("run --email under rpc", "only the v1 dialect",
          parse(&c, "run", "--contract", "M1-a", "--email", "e@x", "--target", "16.0", "--aim", "test", "db.dump",
                NULL), &c);
  ok(parse(&c, "run", "--continue", "--email", "e@x", "db.dump", NULL) == 0,
     "run --continue: the record says the dialect, not the URL");
  refused("run --token", "does not apply to `upgrade run`", parse(&c, "run", "--continue", "--token", "t", "x.dump",
                                                                  NULL), &c);
  ok(parse(&c, "run", "--api", "v1", "--database", "prod", "--restore-as", "prod_new", "--data-dir", "/srv/odoo",
           "--jobs", "4",
           "--contract", "M1-a", "--email", "e@x", "--target", "16.0", "--aim", "test", NULL) == 0
     && c.nargs == 0 && strcmp(c.database, "prod") == 0 && strcmp(c.restore_as, "prod_new") == 0 && c.jobs == 4,
     "run --database needs no DUMP");
  ok(parse(&c, "run", "--continue", "--database", "prod", NULL) == 0 && c.resume_run && c.nargs == 0,
     "run --continue --database");
  refused("run without DUMP or --database", "DUMP", parse(&c, "run", "--continue", NULL), &c);
  refused("--restore-as without --database", "add --database",
          parse(&c, "run", "--api", "v1", "--contract", "M1-a", "--email", "e@x", "--target", "16.0", "--aim", "test",
                "--restore-as", "x", "db.dump", NULL), &c);
  refused("--restore-as with --no-restore", "contradict",
          parse(&c, "run", "--api", "v1", "--contract", "M1-a", "--email", "e@x", "--target", "16.0", "--aim", "test",
                "--database", "prod", "--restore-as", "x", "--no-restore", NULL), &c);
  refused("--restore-as on dump", "does not apply", parse(&c, "dump", "--database", "p", "--restore-as", "x", NULL),
          &c);
  ok(parse(&c, "restore", "x.zip", "--database", "n", "--filestore-from", "db", "--filestore-link", NULL) == 0
     && c.filestore_link, "restore --filestore-from DB --filestore-link");
  ok(parse(&c, "restore", "x.zip", "--database", "n", "--filestore-from", "db", NULL) == 0 && !c.filestore_link,
     "restore copies the filestore by default");
  refused("--filestore-link without --filestore-from", "--filestore-from",
          parse(&c, "restore", "x.zip", "--database", "n", "--filestore-link", NULL), &c);
  ok(parse(&c, "run", "--continue", "--database", "prod", "--filestore-link", NULL) == 0 && c.filestore_link,
     "run --filestore-link");
  refused("run --filestore-link with --no-restore", "contradict",
          parse(&c, "run", "--api", "v1", "--contract", "M1-a", "--email", "e@x", "--target", "16.0", "--aim", "test",
                "--database", "prod", "--no-restore", "--filestore-link", NULL), &c);
  refused("run --filestore-link without --database", "add --database",
          parse(&c, "run", "--api", "v1", "--contract", "M1-a", "--email", "e@x", "--target", "16.0", "--aim", "test",
                "--filestore-link", "db.dump", NULL), &c);
  refused("--filestore-link on dump", "does not apply",
          parse(&c, "dump", "--database", "p", "--filestore-link", NULL), &c);
  ok(parse(&c, "restore", "f.zip", "--database", "n", "--restore-role", "upgrade_restore", "--trust-dump", NULL) == 0
     && strcmp(c.restore_role, "upgrade_restore") == 0 && c.trust_dump, "restore --restore-role, --trust-dump");
  refused("--trust-dump without --database", "add --database",
          parse(&c, "run", "--api", "v1", "--contract", "M1-a", "--email", "e@x", "--target", "16.0", "--aim", "test",
                "--trust-dump", "db.dump", NULL), &c);
  refused("--restore-role on dump", "does not apply", parse(&c, "dump", "--database", "p", "--restore-role", "r",
                                                            NULL), &c);
  for (int cmd = UPG_CMD_HELP; cmd < UPG_CMD_COUNT; cmd++)
    ok((int)upg_cli_command(upg_cli_command_name((enum upg_cmd)cmd)) == cmd, "name round trip: %s",
       upg_cli_command_name((enum upg_cmd)cmd));
  /* did you mean: the edit distance, and the one suggestion near enough */
  ok(upg_cli_distance("upload", "upload") == 0, "distance: same word");
  ok(upg_cli_distance("uplaod", "upload") == 1, "distance: two letters swapped count once");
  ok(upg_cli_distance("progres", "progress") == 1, "distance: a letter missing");
  ok(upg_cli_distance("kitten", "sitting") == 3, "distance: kitten/sitting");
  ok(upg_cli_distance("", "abc") == 3, "distance: from nothing");
  static const char *const words[] = { NULL, "status", "wait", "download", "upload", "dump", "run" };
  is_str(upg_cli_suggest("uplaod", words, 7), "upload", "suggest: a swap");
  is_str(upg_cli_suggest("stauts", words, 7), "status", "suggest: another swap");
  is_str(upg_cli_suggest("downlod", words, 7), "download", "suggest: a letter missing");
  ok(upg_cli_suggest("frobnicate", words, 7) == NULL, "suggest: nothing near, nothing said");
  ok(upg_cli_suggest("rum", words, 7) != NULL && strcmp(upg_cli_suggest("rum", words, 7), "run") == 0,
     "suggest: a short word, one letter off");
  static const char *const tied[] = { "bat", "cat" };
  ok(upg_cli_suggest("hat", tied, 2) == NULL, "suggest: two as near, no guess");
  refused("a misspelt subcommand", "did you mean `upgrade upload`?", parse(&c, "uplaod", "x.dump", NULL), &c);
  refused("a misspelt option", "did you mean --progress?", parse(&c, "status", "--progres", NULL), &c);
  refused("an unknown option far from all", "unknown option --frobnicate", parse(&c, "status", "--frobnicate", NULL), &c);
  ok(strstr(c.error, "did you mean") == NULL, "  and no guess (%s)", c.error);

  ok(parse(&c, "status", "-sS", NULL) == 0 && c.settings.silent && c.show_error, "-sS: silent, failures shown");
  /* a request is its id and its key; run takes neither */
  refused("--request alone", "--key is missing", parse(&c, "status", "--request", "42", NULL), &c);
  refused("--key alone", "--request is missing", parse(&c, "status", "--key", "k", NULL), &c);
  ok(parse(&c, "status", "--request", "42", "--key", "k", NULL) == 0, "--request with --key");
  refused("run --request", "does not apply to `upgrade run`",
          parse(&c, "run", "--continue", "--request", "42", "--key", "k", "x.dump", NULL), &c);

  /* defaults from the shell: the command line wins */
  upg_cli_env env = { .contract = "M9-env", .email = "env@x", .cacert = "/env.pem", .cacert_from = "CURL_CA_BUNDLE" };
  ok(parse_env(&c, &env, "create", "--api", "v1", "--target", "16.0", "--aim", "test", "--filename", "d", NULL) == 0
     && strcmp(c.create.contract, "M9-env") == 0 && strcmp(c.create.email, "env@x") == 0
     && strcmp(c.settings.cacert, "/env.pem") == 0 && strcmp(c.cacert_from, "CURL_CA_BUNDLE") == 0,
     "create takes --contract, --email and the CA from the environment");
  ok(parse_env(&c, &env, "create", "--api", "v1", "--contract", "M1-cli", "--email", "cli@x", "--cacert", "/cli.pem", "--target",
               "16.0", "--aim", "test", "--filename", "d", NULL) == 0
     && strcmp(c.create.contract, "M1-cli") == 0 && strcmp(c.create.email, "cli@x") == 0
     && strcmp(c.settings.cacert, "/cli.pem") == 0 && strcmp(c.cacert_from, "--cacert") == 0,
     "the command line wins over the environment");
  ok(parse_env(&c, &env, "status", NULL) == 0 && c.create.contract == NULL && strcmp(c.settings.cacert, "/env.pem") == 0,
     "status takes the environment's CA, not its contract");
  upg_cli_env none = { NULL };
  refused("create without a contract anywhere", "--contract",
          parse_env(&c, &none, "create", "--api", "v1", "--email", "e@x", "--target", "16.0", "--aim", "test",
                    "--filename", "d", NULL), &c);
  upg_cli_env v1_url = { .url = "https://x/database/v1" }, rpc_api = { .api = "rpc", .url = "https://x/database/v1" };
  ok(parse_env(&c, &v1_url, "status", NULL) == 0 && !c.rpc, "$UPGRADE_URL ending in /database/v1 speaks v1");
  ok(parse_env(&c, &rpc_api, "status", NULL) == 0 && c.rpc, "$UPGRADE_API wins over the URL");
  ok(parse_env(&c, &rpc_api, "status", "--api", "v1", NULL) == 0 && !c.rpc, "--api wins over $UPGRADE_API");
  upg_cli_env bad_api = { .api = "v3" };
  refused("$UPGRADE_API=v3", "UPGRADE_API", parse_env(&c, &bad_api, "status", NULL), &c);
  ok(parse_env(&c, &none, "run", "--api", "v1", "--database", "src", "--email", "e@x", "--target", "16.0", "--aim", "test",
               NULL) == 0 && c.contract_from_database && c.create.contract == NULL,
     "run --database without a contract reads it from the database");
  ok(parse_env(&c, &env, "run", "--database", "src", "--target", "16.0", "--aim", "test", NULL) == 0
     && !c.contract_from_database && strcmp(c.create.contract, "M9-env") == 0,
     "run --database takes $UPGRADE_CONTRACT before the database's");
  refused("run DUMP without a contract", "--contract",
          parse_env(&c, &none, "run", "--api", "v1", "--email", "e@x", "--target", "16.0", "--aim", "test", "x.dump", NULL), &c);

  /* a contract code read from a database */
  ok(upg_contract_valid("M123-abc") && upg_contract_valid("M19050812345678"), "contract codes");
  ok(!upg_contract_valid("") && !upg_contract_valid("-x") && !upg_contract_valid("M1 x")
     && !upg_contract_valid("M1\033[2J") && !upg_contract_valid("M1&email=x")
     && !upg_contract_valid("MMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMM"),
     "not contract codes: empty, a leading dash, spaces, controls, form syntax, 65 characters");
  return tap_done();
}
