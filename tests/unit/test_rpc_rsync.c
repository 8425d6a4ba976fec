/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Unit tests: rsync's argv and progress for the rpc platform's transfers
 * (plugin/core/platform/rpc/rsync_argv.c, rsync_progress.c). */
#include "config.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "tap.h"
#include "upgrade/rpc_rsync.h"

#define RSH "--rsh=ssh -F /dev/null -p 40022 -o IdentitiesOnly=yes -o StrictHostKeyChecking=yes -o BatchMode=yes " \
            "-o UserKnownHostsFile=/run/u/job/known_hosts -o GlobalKnownHostsFile=/dev/null -i /home/u/.job/key"

/* ARGV joined with '|'. */
static char *
joined(char **argv)
{
  size_t len = 1;
  for (size_t i = 0; argv[i]; i++)
    len += strlen(argv[i]) + 1;
  char *s = calloc(1, len);
  for (size_t i = 0; argv[i]; i++) {
    if (i)
      strcat(s, "|");
    strcat(s, argv[i]);
  }
  return s;
}

static upg_rsync_spec
spec(void)
{
  return (upg_rsync_spec){ .host = "n1.example", .port = 40022, .key = "/home/u/.job/key",
                           .known_hosts = "/run/u/job/known_hosts", .local = "dump.d", .remote = "origin.dump",
                           .directory = true };
}

static void
check_argv(const upg_rsync_spec *sp, bool download, const char *want, const char *what)
{
  char **argv = NULL;
  jv doc = jv_invalid();
  int st = upg_rsync_argv(sp, download, &argv, &doc);
  char *got = st ? NULL : joined(argv);
  is_str(got, want, "%s", what);
  free(got);
  upg_argv_free(st ? NULL : argv);
  jv_free(doc);
}

static void
refuse(upg_rsync_spec sp, int want, const char *what)
{
  char **argv = NULL;
  jv doc = jv_invalid();
  int st = upg_rsync_argv(&sp, false, &argv, &doc);
  ok(st == want, "refused with exit %d: %s", want, what);
  if (!st)
    upg_argv_free(argv);
  jv_free(doc);
}

/* One string field of spec() set to VALUE: refused with exit WANT. */
static const struct {
  size_t field;
  const char *value;
  int want;
  const char *what;
} bad_fields[] = {
  { offsetof(upg_rsync_spec, key), "/home/u/my key", 2, "a key path with a space" },
  { offsetof(upg_rsync_spec, key), "/home/u/%h", 2, "a key path with ssh's % expansion" },
  { offsetof(upg_rsync_spec, key), "~/key", 2, "a key path with ~" },
  { offsetof(upg_rsync_spec, key), "/k;rm", 2, "a key path with a shell character" },
  { offsetof(upg_rsync_spec, known_hosts), "/tmp/a\tb", 2, "a known_hosts path with a tab" },
  { offsetof(upg_rsync_spec, host), "-oProxyCommand=x", 3, "a host that is an option" },
  { offsetof(upg_rsync_spec, host), "h.example:22", 3, "a host with a port" },
  { offsetof(upg_rsync_spec, remote), "../x", 3, "a remote name with .." },
  { offsetof(upg_rsync_spec, remote), "a b", 3, "a remote name with a space" },
  { offsetof(upg_rsync_spec, local), "", 2, "no local path" },
};

static void
argvs(void)
{
  upg_rsync_spec sp = spec();
  check_argv(&sp, false,
             "rsync|--info=progress2|--no-h|--delete-after|--recursive|--links|--times|--partial|" RSH
             "|./dump.d/|odoo@n1.example:/data/origin.dump",
             "upload of a directory: its contents, the script's options");
  sp.local = "/tmp/x.sql.gz";
  sp.remote = "origin.sql.gz";
  sp.directory = false;
  check_argv(&sp, false,
             "rsync|--info=progress2|--no-h|--delete-after|--recursive|--links|--times|--partial|" RSH
             "|/tmp/x.sql.gz|odoo@n1.example:/data/origin.sql.gz", "upload of a file");
  sp.local = "-rf:x";
  check_argv(&sp, false,
             "rsync|--info=progress2|--no-h|--delete-after|--recursive|--links|--times|--partial|" RSH
             "|./-rf:x|odoo@n1.example:/data/origin.sql.gz", "a relative name that looks like an option or a host");
  sp = spec();
  sp.local = "out dir";
  sp.remote = "upgraded.dump";
  check_argv(&sp, true,
             "rsync|--recursive|--times|--ignore-missing-args|--info=progress2|--no-h|"
             "--partial-dir=.rsync-partial|--chmod=D700,F600|" RSH
             "|odoo@n1.example:/data/upgraded.dump|odoo@n1.example:/data/filestore"
             "|odoo@n1.example:/data/upgrade-report.html|odoo@n1.example:/data/upgrade.log|./out dir/",
             "download: the dump, filestore, report and log into DIR (a space in DIR is one argument); no links, "
             "modes, owners or devices from the platform");

  for (size_t i = 0; i < sizeof bad_fields / sizeof *bad_fields; i++) {
    sp = spec();
    *(const char **)((char *)&sp + bad_fields[i].field) = bad_fields[i].value;
    refuse(sp, bad_fields[i].want, bad_fields[i].what);
  }
  sp = spec();
  sp.port = 0;
  refuse(sp, 3, "port 0");
}

static void
progress(void)
{
  upg_rsync_progress p;
  upg_rsync_progress_init(&p);
  ok(p.percent == -1 && !p.seen, "nothing read yet");
  const char *out = "sending incremental file list\n"
                    "              0   0%    0.00kB/s    0:00:00  \r"
                    "      1048576   3%  998.96MB/s    0:00:00 (xfr#1, ir-chk=1005/1010)\r"
                    "     31457280 100%  998.96MB/s    0:00:00 (xfr#7, to-chk=0/12)\n"
                    "rsync: [sender] write error: Broken pipe (32)\n";
  /* fed one byte at a time: records cut anywhere */
  bool any = false;
  for (size_t i = 0; out[i]; i++)
    any |= upg_rsync_progress_feed(&p, out + i, 1);
  ok(any && p.seen, "progress records seen across pieces");
  ok(p.bytes == 31457280 && p.percent == 100, "bytes and percent of the last record");
  ok(p.files_done == 7 && p.files_left == 0 && p.files_total == 12 && !p.listing, "files done and left");
  is_str(p.other, "sending incremental file list\nrsync: [sender] write error: Broken pipe (32)",
         "the other lines kept for a message");

  upg_rsync_progress_init(&p);
  upg_rsync_progress_feed(&p, "  1048576   3%  1.00MB/s    0:00:09 (xfr#1, ir-chk=1005/1010)\r", 64);
  ok(p.listing && p.files_left == 1005 && p.files_total == 1010, "ir-chk: still listing");

  upg_rsync_progress_init(&p);
  const char *bad[] = { "1,048,576  3%  1.00MB/s  0:00:09", "  12 300%  1.00MB/s", "  12 3%  x (xfr#1, to-chk=1)",
                        "deleting origin.dump/old.dat", "  12 3% (xfr#a, to-chk=0/1)", NULL };
  for (int i = 0; bad[i]; i++)
    ok(!upg_rsync_progress_parse(&p, bad[i], strlen(bad[i])) && !p.seen, "not progress: %s", bad[i]);

  /* bounded memory: a flood without a terminator, then many other lines */
  upg_rsync_progress_init(&p);
  char *flood = malloc(100000);
  memset(flood, '7', 100000);
  upg_rsync_progress_feed(&p, flood, 100000);
  ok(p.line_len <= UPG_RSYNC_LINE_MAX, "a record without end stays within its buffer");
  ok(!upg_rsync_progress_feed(&p, " 5%\n", 4) && !p.seen, "a cut record is never read as progress");
  for (int i = 0; i < 1000; i++)
  {
    const char *line = "ssh: connect to host n1 port 40022: Connection refused\n";
    upg_rsync_progress_feed(&p, line, strlen(line));
  }
  ok(p.other_len < UPG_RSYNC_OTHER_MAX && strlen(p.other) == p.other_len, "other lines stay within their buffer");
  ok(strstr(p.other, "Connection refused") != NULL, "and keep the newest");
  upg_rsync_progress_feed(&p, flood, 5000);
  upg_rsync_progress_feed(&p, "\n", 1);
  ok(p.other_len < UPG_RSYNC_OTHER_MAX && strlen(p.other) == p.other_len, "a long other line is cut to fit");
  free(flood);
}

int
main(void)
{
  argvs();
  progress();
  return tap_done();
}
