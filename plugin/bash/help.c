/* SPDX-License-Identifier: GPL-3.0-or-later */
/* help.c -- what `help upgrade`, `upgrade help CMD` and `upgrade CMD --help`
 * print.  The texts live here, apart from the code, so they read as one
 * manual. */
#include "config.h"

#include <stdio.h>

#include "binding.h"

const char upgrade_short_doc[] = "upgrade SUBCOMMAND [OPTIONS] [ARGS]";

/* `help upgrade`: bash prints each line indented. */
char *upgrade_long_doc[] = {
  "Drive a database upgrade platform (create, upload, process, wait, download).",
  "",
  "Subcommands:",
  "  create --contract C --email E --target T --aim test|production --filename NAME [--timezone TZ]",
  "                 create a request; sets UPGRADE_REQUEST and UPGRADE_KEY",
  "  create --contract C --target T --aim A [--env NAME=VALUE]... [--env-file F] [--identity KEY]",
  "                 (rpc) create a request; sets UPGRADE_TOKEN, UPGRADE_HOST, UPGRADE_IDENTITY",
  "  upload FILE    stream FILE to the platform over HTTPS (rpc: rsync over ssh)",
  "  sftp-access --ssh-keys FILE   ask for SFTP access for the public keys in FILE",
  "  sftp-put FILE [--identity KEY]  upload FILE over SFTP, resuming a partial upload",
  "  process        ask the platform to process the uploaded dump",
  "  skip-test      skip the platform's tests; the dump is delivered",
  "  status         the request's status",
  "  wait [--interval S] [--timeout S] [--log]   poll until the request is final",
  "  log [--from BYTE] [--follow]   (rpc) the platform's log, from byte BYTE",
  "  wipe --contract C --yes   (rpc) wipe every dump of the contract on the platform",
  "  download [--what W] [-o FILE] [--force] [--parallel N]",
  "                 download a file of the request, resuming (rpc: -o DIR)",
  "  sftp-get [-o FILE]   download the upgraded dump over SFTP, resuming",
  "  run --contract C --email E --target T --aim A DUMP [-o FILE] [--sftp]   the whole job",
  "                 (rpc: no --email, no --sftp; -o DIR; [--log])",
  "  run --database DB [--restore-as NEW | --no-restore] [--data-dir DIR] ...",
  "                 the whole job from a live database to the upgraded one",
  "  dump --database DB [--format custom|directory [--jobs N]] [-o FILE] [--force]",
  "                 a custom-format (or directory-format) dump of DB (pg_dump)",
  "  restore FILE --database NEW [--filestore-from DB] [--data-dir DIR] [--jobs N]",
  "          [--restore-role ROLE] [--trust-dump]",
  "                 restore an upgraded archive into the new database NEW",
  "  jobs [DIR]     the job records of run in DIR (default .), open and closed",
  "  version, --version   the versions of the module, libcurl, its TLS library,",
  "                 libssh2, libjq and bash, as JSON",
  "  help [SUBCOMMAND]   this text, or a subcommand's",
  "",
  "Every subcommand after create takes --request ID --key KEY (default:",
  "$UPGRADE_REQUEST and $UPGRADE_KEY) and --url BASE (default: $UPGRADE_URL,",
  "else " UPG_DEFAULT_URL ").  Set once: --contract defaults to $UPGRADE_CONTRACT",
  "(run --database: else the database's enterprise code), --email to",
  "$UPGRADE_EMAIL, --cacert to $UPGRADE_CACERT, else the exported $CURL_CA_BUNDLE,",
  "else $SSL_CERT_FILE; the command line wins.",
  "--api v1|rpc (default: $UPGRADE_API, else the URL: a path ending in",
  "/database/v1 is v1, any other rpc) picks the platform's dialect: v1 is the",
  "documented Database Upgrade API, rpc the JSON-RPC API of the platform's own",
  "script, whose request is named by --token TOKEN (default: $UPGRADE_TOKEN)",
  "and whose calls go to its node ($UPGRADE_HOST).  skip-test and sftp-*",
  "speak v1 only; log and wipe rpc only.",
  "",
  "Output: one JSON document on stdout, {\"failures\": [...], ...}; failures also",
  "on stderr.  -q FILTER runs jq over it, -r prints strings raw, -v NAME assigns",
  "the output to the shell variable NAME instead, -c/--pretty force the layout.",
  "stdout is exact; stderr is made safe: keys cut out, control characters",
  "escaped, long texts cut.  Numbers are read and printed with a '.' whatever",
  "the locale.  In -q, jq's debug prints on stderr and input finds no more inputs.",
  "",
  "Common options: --cacert FILE, -k/--insecure, --known-hosts FILE,",
  "--accept-new-host-key, --connect-timeout S, --max-time S, --retry N,",
  "--retry-delay S, -s/--silent, -S/--show-error, --progress, --verbose.",
  "Transfers (sftp-put, sftp-get, download, run) take --parallel N: N streams",
  "at once (1 to 16).",
  "",
  "Exit status: 0 success; 1 the platform reported failures or the request",
  "failed; 2 usage or bad local input; 3 network, server or SSH fault; 4 wait",
  "timed out; 5 TLS or SSH host key refused; 128+N interrupted by signal N.",
  NULL
};

struct command_help {
  const char *usage;
  const char *text;
  const char *examples; /* lines of "  COMMAND   # what it does", or NULL */
};

static const struct command_help command_help[UPG_CMD_COUNT] = {
  [UPG_CMD_CREATE] = {
    "upgrade create --contract C --email E --target T --aim test|production --filename NAME [--timezone TZ]\n"
    "       upgrade create --contract C --target T --aim test|production [--env NAME=VALUE]... [--env-file F]\n"
    "                      [-i|--identity KEY]   (rpc)",
    "Create an upgrade request.  On success the shell variables UPGRADE_REQUEST\n"
    "and UPGRADE_KEY are set, so later subcommands need no --request/--key, and\n"
    "UPGRADE_FILENAME: upload and sftp-put warn when FILE's name is not it (a\n"
    "second create redirects later calls).  A create in a subshell ($(...), a\n"
    "pipe) sets nothing in the calling shell.\n"
    "Under rpc the request is bound to an SSH key: KEY's public half (KEY.pub),\n"
    "else a pair made for it (ssh-keygen, ed25519) in a private directory under\n"
    "${XDG_STATE_HOME:-~/.local/state}/upgrade/keys, the key 0600.  --env adds\n"
    "NAME=VALUE to the upgrade's environment (repeatable); --env-file F adds F's\n"
    "lines (blank lines and # comments skipped).  It sets UPGRADE_TOKEN (a\n"
    "secret: never exported, never on stderr), UPGRADE_HOST (the node that takes\n"
    "the request's calls) and UPGRADE_IDENTITY (the private key's path)." },
  [UPG_CMD_UPLOAD] = {
    "upgrade upload FILE",
    "Upload the database dump FILE over HTTPS, streamed (memory stays flat\n"
    "whatever its size).  Prints the platform's answer with a \"transfer\" summary.\n"
    "FILE's first bytes are looked at before anything is sent: a custom-format\n"
    "dump, a zip, SQL text or gzip goes; anything else is refused (exit 2,\n"
    "CLIENT:FILE, saying what it looks like).  So do sftp-put and run.\n"
    "Under rpc: upgrade upload DUMP [-i|--identity KEY].  DUMP may also be a\n"
    "directory-format dump (pg_dump -Fd: a directory with toc.dat); it goes to the\n"
    "platform by rsync (>= 3.1) over OpenSSH's ssh, on the port and with only the\n"
    "host keys that transfer/start names (exit 5 when the server's is another),\n"
    "logging in with KEY, the key the request was created with (default\n"
    "$UPGRADE_IDENTITY).  A broken upload resumes by running it again: rsync\n"
    "sends only what the platform lacks.  The summary: transfer {file, remote,\n"
    "size, bytes, files, seconds}." },
  [UPG_CMD_SFTP_ACCESS] = {
    "upgrade sftp-access --ssh-keys FILE",
    "Ask for SFTP access for the public keys in FILE (an authorized_keys-like\n"
    "file: public keys, blank lines, # comments).  Anything else in FILE, a\n"
    "private key above all, is refused before anything is sent." },
  [UPG_CMD_SFTP_PUT] = {
    "upgrade sftp-put FILE [-i|--identity KEYFILE] [--ssh-keys FILE] [--known-hosts FILE] [--accept-new-host-key]\n"
    "       [--parallel N]",
    "Upload FILE over SFTP: asks for access with the identity's public key (or\n"
    "--ssh-keys), checks the server's host key, authenticates with the identity\n"
    "(default ~/.ssh/id_ed25519, id_ecdsa, id_rsa) or ssh-agent, and writes FILE\n"
    "to the shared file, continuing a partial upload where it stopped.\n"
    "--parallel N uploads over N SSH sessions at once, each writing its chunks\n"
    "at their offsets (progress in FILE.sftp-put.meta until complete)." },
  [UPG_CMD_PROCESS] = {
    "upgrade process",
    "Ask the platform to process the uploaded dump.  Under rpc the document says\n"
    "whether the platform finds the database's PostgreSQL fit for the target\n"
    "(\"is_pg_version_compatible\"; false is also said on stderr)." },
  [UPG_CMD_SKIP_TEST] = {
    "upgrade skip-test",
    "Skip the platform's tests: the upgraded dump is delivered (state delivered)." },
  [UPG_CMD_STATUS] = {
    "upgrade status",
    "Print the request's status, as the platform gives it.  Under rpc: status,\n"
    "host_uri, reason and archived, asked of the node ($UPGRADE_HOST) when the\n"
    "shell knows it, else of the platform's front." },
  [UPG_CMD_WAIT] = {
    "upgrade wait [--interval S] [--timeout S] [--log]",
    "Poll status every S seconds (default 10; under rpc 1 s, 2 s, then every\n"
    "3 s, no more calls than the platform's own script makes) until the state\n"
    "is final (done,\n"
    "delivered, failed, invalid, cancel, cancelled; under rpc done, failed,\n"
    "cancelled), reporting each change on stderr.  A SERVER:ERROR answer or a\n"
    "network fault is retried.  Exit 0 for done/delivered, 1 for the others\n"
    "(and for a request not processed yet), 4 when --timeout runs out (the\n"
    "request keeps running on the platform: wait again later).\n"
    "--log (rpc) shows the platform's new log lines on stderr as they come." },
  [UPG_CMD_LOG] = {
    "upgrade log [--from BYTE] [--follow] [--interval S] [--timeout S]   (rpc)",
    "The platform's log of the request from byte BYTE (default 0), as\n"
    "{\"failures\": [], \"log\": {\"from\": N, \"next\": M, \"text\": \"...\"}}: NEXT is\n"
    "the --from of the next call.  Offsets count bytes; a character cut by the\n"
    "log's end is left for the next call.  The text is the server's, made\n"
    "printable: controls and bytes that are not UTF-8 come as escapes (\\e,\n"
    "\\xff).  --follow polls as wait does until the state is final, printing\n"
    "each line on stderr; the document then also has the last \"request\"." },
  [UPG_CMD_WIPE] = {
    "upgrade wipe --contract C --yes   (rpc)",
    "Wipe every dump of contract C on the platform, original and upgraded, for\n"
    "good (the platform can then give no support on those requests).  Refused\n"
    "without --yes (exit 2).  Prints {\"failures\": [], \"wipe\": {\"wiped\": [...],\n"
    "\"failed\": [...]}}; requests the platform could not wipe: exit 1, SERVER:WIPE." },
  [UPG_CMD_DOWNLOAD] = {
    "upgrade download [--what W] [-o|--output FILE] [--force] [--parallel N]",
    "Download one of the request's files: W is upgraded-dump (default),\n"
    "upgraded-sql, notes, modules, original-dump or original-sql.  FILE defaults\n"
    "to upgraded_<filename> (upgraded_<filename>.sql, upgrade_notes_<id>.html,\n"
    "upgrade_modules_<id>, original_<filename>, original_<filename>.sql).\n"
    "Bytes go to FILE.part (mode 0600), resumed after an interruption only by\n"
    "the same request, file and server version (recorded in FILE.part.meta),\n"
    "renamed when complete and of the size announced; a failure says what\n"
    "FILE.part keeps, and the next call where it resumes.  An existing FILE, or a\n"
    "FILE.part no download recorded, is kept unless --force.\n"
    "--parallel N fetches N ranges at once (1 to 16; 1 is one stream); by\n"
    "default one stream when under 64 MiB are left or the server is under\n"
    "5 ms away, else 4.  Streams the server refuses are given up, the others\n"
    "go on; the summary tells streams {asked, used}, in_flight, per_stream.\n"
    "Under rpc: upgrade download [-o DIR] [-i|--identity KEY] fills DIR\n"
    "(default ., made 0700 when missing) by rsync over ssh, as upload does, with\n"
    "the upgraded dump (a directory-format dump named by the platform),\n"
    "filestore/, upgrade-report.html and upgrade.log: files 0600, directories\n"
    "0700, no link, device or set-id bit from the platform, nothing outside DIR.\n"
    "A broken download resumes by running it again (a broken file waits in\n"
    ".rsync-partial/).  The summary: transfer {directory, dump, filestore,\n"
    "report, log, bytes, files, seconds}, a path or null for each file." },
  [UPG_CMD_SFTP_GET] = {
    "upgrade sftp-get [-o|--output FILE] [--force] [-i|--identity KEYFILE] [--parallel N]",
    "Download upgraded_<filename> over SFTP to FILE (default the same name),\n"
    "via FILE.part, resumed after an interruption only by the same request\n"
    "and remote file of the same size and time (FILE.part.meta).\n"
    "--parallel N reads over N SSH sessions at once (1: one stream; by default\n"
    "one on loopback or under 64 MiB, else 4)." },
  [UPG_CMD_RUN] = {
    "upgrade run --contract C --email E --target T --aim A [--filename NAME] DUMP [-o FILE] [--sftp]\n"
    "       upgrade run --database DB [--restore-as NEW | --no-restore] [--data-dir DIR] [--no-filestore]\n"
    "                   [--reuse-dump] [--remove-dumps] [--jobs N]\n"
    "                   [--restore-role ROLE] [--trust-dump] ... [DUMP]\n"
    "       upgrade run --continue DUMP\n"
    "       (rpc: no --email, --filename or --sftp; -o DIR; [--log] [-i KEY]\n"
    "        [--env NAME=VALUE]... [--env-file F])",
    "The whole job: create, upload (HTTPS, or SFTP with --sftp), process, wait\n"
    "and download the upgraded dump to FILE (default upgraded_<name of DUMP>).\n"
    "The job is recorded in DUMP.upgrade.json (mode 0600; a record others could\n"
    "have written is refused); `upgrade run --continue DUMP` goes on from it, and\n"
    "an explicit --url or --sftp must agree with it; -o and --force are taken\n"
    "for a download not yet made.  An existing FILE is refused before anything\n"
    "is created, unless --force (recorded for --continue).  One run at a time per\n"
    "DUMP: a second is refused while the first holds the lock on DUMP.  --new\n"
    "starts another request although one is open.  When the job is over its\n"
    "record is kept, closed (`upgrade jobs` lists it; --continue says it is\n"
    "finished, exit 2; a new run replaces it), and the platform's upgrade notes\n"
    "are fetched beside the upgraded dump (\"notes\": FILE; a failure is a notice).\n"
    "It takes create's options, wait's --interval and --timeout, and -o,\n"
    "--force, -i/--identity, --ssh-keys and --parallel N as download and\n"
    "sftp-put do.\n"
    "Each step says on stderr when it begins (not with -s), and the document's\n"
    "\"steps\" and \"seconds\" say what each step of this call and the call took.\n"
    "With --database DB it starts by dumping DB to DUMP (default DB.dump, made\n"
    "anew; an explicit DUMP that exists is refused, --reuse-dump uploads it as\n"
    "it is) and ends by restoring the download (default upgraded_NEW.dump) into\n"
    "the new database NEW (--restore-as, default DB_test_TARGET_YYYY_MM_DD_HH_MM,\n"
    "\"_2\" within the same minute, said on stderr; --no-restore ends with the\n"
    "download; --remove-dumps removes DUMP and the download once restored).\n"
    "--force only lets the download replace its output.  With DB's\n"
    "filestore in DIR (--data-dir) as restore --filestore-from does.  NEW must\n"
    "not exist, and the restore's load role must pass restore's checks\n"
    "(--restore-role, --trust-dump): both are checked before anything is\n"
    "dumped or created.  Without --data-dir, DB's filestore is looked for in\n"
    "~/.local/share/Odoo, then the odoo user's (/var/lib/odoo/.local/share/Odoo);\n"
    "none found while DB's attachments keep files is refused before the dump,\n"
    "unless --no-filestore.  After the restore, run exits 0 only when every\n"
    "attachment file of NEW is in its filestore.  The\n"
    "record gains the steps started, dumped, downloaded and restored, and --continue\n"
    "goes on from any of them; the restored database carries the comment\n"
    "\"upgrade run: request ID\" until the job closes, so that a --continue\n"
    "tells its own restore (that mark, owned by the connection's role) from a\n"
    "database someone else made.\n"
    "--filestore-link: hard links to DB's files, as restore's (the two\n"
    "filestores then share files); this call's choice, not recorded.\n"
    "Under rpc (--api, $UPGRADE_API or the URL; --continue takes the record's\n"
    "dialect): DUMP may be a directory-format dump, and --database dumps DB as\n"
    "one (pg_dump -Fd, --jobs N); --env and --env-file are create's, read and\n"
    "checked before anything is made and kept in the record until the request\n"
    "exists; create binds the request to a key pair made\n"
    "beside the record (DUMP.upgrade.key and .pub, 0600; -i KEY names another);\n"
    "the record holds the token (a secret: never on stderr, not in `upgrade\n"
    "jobs`), the node and the key's path.  --log shows the platform's log on\n"
    "stderr while waiting.  The download is a directory (-o DIR; default\n"
    "upgraded_NEW, or upgraded_<DUMP less .dump> for a dump, beside DUMP)\n"
    "holding the upgraded dump, filestore/, upgrade-report.html and upgrade.log\n"
    "(\"files\" in the document names the report and the log; --remove-dumps\n"
    "keeps those two); it is restored\n"
    "with pg_restore -Fd, the upgraded filestore/ laid into NEW's.  When process\n"
    "says is_pg_version_compatible false, run downloads but does not restore\n"
    "(\"not_restored\" and stderr say why; exit 0).  A --continue of a request\n"
    "the platform reports archived is exit 1 (SERVER:ARCHIVED), the job closed.",
    "  export UPGRADE_CONTRACT=M123456-abcdef UPGRADE_EMAIL=me@example.com\n"
    "  upgrade run --target 17.0 --aim test prod.dump   # to upgraded_prod.dump\n"
    "  upgrade run --continue prod.dump   # after Ctrl-C, a fault or a closed terminal\n"
    "  upgrade run --database prod --target 17.0 --aim test\n"
    "      # dump prod, upgrade it, restore it as prod_test_17.0_<date> with its filestore" },
  [UPG_CMD_VERSION] = {
    "upgrade version  (or upgrade --version)",
    "Print the versions of the module and of what it runs with, as one JSON\n"
    "document: {\"failures\": [], \"version\": {\"upgrade\", \"curl\", \"tls\",\n"
    "\"libssh2\", \"libjq\", \"bash\"}}.  libjq 1.6 has no version call: its\n"
    "version is the one the module was built against.  Sends nothing." },
  [UPG_CMD_JOBS] = {
    "upgrade jobs [DIR]",
    "List the records run keeps beside its dumps (DUMP.upgrade.json) in DIR\n"
    "(default .), open and closed, by name, as {\"failures\": [], \"jobs\": [{\"record\",\n"
    "\"dump\", \"request\", \"platform\", \"step\", \"state\", \"when\", \"output\",\n"
    "\"database\", \"restore_as\"}]}; \"when\" is the record's last change (UTC).\n"
    "Never the key (upgrade status --request ID --key \"$(jq -r .key RECORD)\" names\n"
    "the request again).  A record run would not believe (another owner, group\n"
    "or other access, not a regular file) is listed with \"error\" only.\n"
    "Sends nothing." },
  [UPG_CMD_DUMP] = {
    "upgrade dump --database DB [--format custom|directory [--jobs N]] [-o FILE] [--force]",
    "Dump the PostgreSQL database DB for upload: pg_dump's custom format,\n"
    "without owners, written to FILE.part (mode 0600) and renamed to FILE (default\n"
    "DB.dump) when pg_dump succeeded; a failed dump removes its .part.\n"
    "--format directory (the rpc platform's): pg_dump -Fd --jobs N (default: the\n"
    "CPUs, at most 4) into the directory FILE.part (0700), renamed to FILE when\n"
    "complete; a killed dump's FILE.part is removed by the next one.  --force\n"
    "replaces a file or a directory dump, never another directory.  The\n"
    "connection is libpq's: PGHOST, PGPORT, PGUSER, PGPASSWORD, ~/.pgpass,\n"
    "PGSERVICE." },
  [UPG_CMD_RESTORE] = {
    "upgrade restore FILE --database NEW [--filestore-from DB] [--data-dir DIR] [--jobs N]\n"
    "                [--restore-role ROLE] [--trust-dump]",
    "Restore FILE -- the platform's zip (dump.sql + filestore/), a custom-format\n"
    "dump, or plain SQL (x.sql.gz gunzipped on the fly), told apart by their\n"
    "bytes; or a directory: a directory-format dump (toc.dat) or the rpc\n"
    "platform's download holding one beside filestore/, upgrade-report.html and\n"
    "upgrade.log (the document names those two; a symlink anywhere in it, no\n"
    "dump or two are refused) -- into the new database NEW,\n"
    "which must not exist.  The data goes into NEW__restoring (marked with a\n"
    "comment), renamed to NEW once complete; a leftover of an interrupted restore\n"
    "is dropped by the next one (a killed run's sessions in it ended first), an\n"
    "unmarked one is refused, as is a second restore into NEW while one runs.\n"
    "Its programs die with the shell.  SQL runs through psql in restricted mode\n"
    "(\\restrict: no backslash command of the SQL runs; needs psql 13.22, 14.19,\n"
    "15.14, 16.10, 17.6 or newer), in one transaction; a custom dump through\n"
    "pg_restore --jobs N (default 1), a directory dump too (default: the CPUs,\n"
    "at most 4).  NEW gets its name only when it holds the tables the\n"
    "dump declares.\n"
    "NEW's Odoo filestore, DIR/filestore/NEW (DIR default ~/.local/share/Odoo),\n"
    "starts as a copy of DB's that shares no file with it: reflinks where the\n"
    "filesystem has them (btrfs, XFS: as fast as links), else copies.\n"
    "--filestore-link makes hard links instead (no space, no time), but the two\n"
    "filestores then share files: a chmod, chown or write under NEW changes DB's.\n"
    "Then the archive's (or the download's) filestore/ is laid over it (copies;\n"
    "a replaced file is never written through a link); it is built as NEW.part\n"
    "and renamed at the end.  A zip with\n"
    "an entry name twice, an entry that yields more than it declares, or a\n"
    "filestore/ bigger than the free space of DIR's filesystem is refused.\n"
    "A custom dump newer than the local pg_restore reads is refused before\n"
    "anything is made.\n"
    "The dump is code: psql and pg_restore run it as the load role ROLE\n"
    "(--restore-role, default $UPGRADE_RESTORE_ROLE, else the connection's own\n"
    "role), which NEW__restoring is made OWNER of, and whose rights are the only\n"
    "limit on what the dump can do.  So it is refused (exit 2) when it, or a\n"
    "role it is a member of, is a superuser, has CREATEROLE, may run or read\n"
    "server programs and files (pg_execute_server_program, pg_read_server_files,\n"
    "pg_write_server_files), or owns another database: make one for restores\n"
    "(createuser upgrade_restore).  --trust-dump skips these checks, for a dump\n"
    "you trust.  After the load, NEW and what is in it are handed over to the\n"
    "connection's role (REASSIGN OWNED; the load role's grants revoked, the\n"
    "database's settings reset; a SECURITY DEFINER function is refused).\n"
    "Database names reach the programs as names, never as connection strings." },
};

static const char common_options[] =
  "Options of every subcommand:\n"
  "  --request ID --key KEY   the request (default $UPGRADE_REQUEST, $UPGRADE_KEY)\n"
  "  --url BASE               API base (default $UPGRADE_URL, else " UPG_DEFAULT_URL ")\n"
  "  --api v1|rpc             the platform's dialect (default $UPGRADE_API, else the URL's)\n"
  "  --token TOKEN            the request under --api rpc (default $UPGRADE_TOKEN)\n"
  "  -q, --jq FILTER          print the outputs of the jq program FILTER\n"
  "  -r, --raw-output         strings without quotes\n"
  "  -v NAME                  assign the output to the shell variable NAME\n"
  "  -c, --compact / --pretty one line / indented (default: indented on a terminal)\n"
  "  --cacert FILE, -k, --insecure   TLS trust as in curl (-k also allows http://);\n"
  "                           --cacert defaults to $UPGRADE_CACERT, else the exported\n"
  "                           $CURL_CA_BUNDLE, else $SSL_CERT_FILE\n"
  "  --connect-to H:P:H2:P2   connect to H2:P2 for H:P, as curl (default $UPGRADE_CONNECT_TO)\n"
  "  --known-hosts FILE, --accept-new-host-key   SSH host-key trust\n"
  "  --connect-timeout S, --max-time S, --retry N, --retry-delay S\n"
  "  -s, --silent, --progress, --verbose\n"
  "  -S, --show-error         with -s, failure lines still on stderr (curl's -sS)\n"
  "  -h, --help               this help\n";

void
upg_help_print(FILE *f, enum upg_cmd cmd)
{
  if (cmd <= UPG_CMD_HELP || cmd >= UPG_CMD_COUNT || !command_help[cmd].usage) {
    fprintf(f, "usage: %s\n", upgrade_short_doc);
    for (char **line = upgrade_long_doc; *line; line++)
      fprintf(f, "%s\n", *line);
    return;
  }
  fprintf(f, "usage: %s\n\n%s\n\n", command_help[cmd].usage, command_help[cmd].text);
  if (command_help[cmd].examples)
    fprintf(f, "Examples:\n%s\n\n", command_help[cmd].examples);
  fputs(common_options, f);
}
