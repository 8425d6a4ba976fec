/* SPDX-License-Identifier: GPL-3.0-or-later */
/* pg_restore.c -- `upgrade restore` (see pg.h).
 *
 * Everything that can be refused is refused before anything is made: the
 * file's kind and, for a zip, every entry's name (for a directory, every
 * entry under it: dirdump.h); the dump's version against the local
 * pg_restore; NEW, its temporary database and its filestore.  Then: the
 * temporary database NEW__restoring (marked with a comment), the filestore
 * NEW.part, the data (psql fed from the zip's dump.sql or from the SQL
 * file; pg_restore for a custom or a directory dump), the archive's (or
 * the download's) filestore, and the renames.  A failure or an interrupt drops
 * the temporary database and the .part filestore: both are ours.
 */
#include "config.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "upgrade/child.h"
#include "upgrade/dirdump.h"
#include "upgrade/fileio.h"
#include "upgrade/files.h"
#include "upgrade/filestore.h"
#include "upgrade/outcome.h"
#include "upgrade/pg.h"
#include "upgrade/pgconn.h"
#include "upgrade/pgrole.h"
#include "upgrade/pgtool.h"
#include "upgrade/progress.h"
#include "upgrade/sql_stream.h"
#include "upgrade/zip_limits.h"

#define TEMP_SUFFIX UPG_RESTORE_TEMP_SUFFIX
#define MARK_PREFIX "upgrade restore: temporary database of "
#define NAME_MAX_BYTES 63 /* PostgreSQL's NAMEDATALEN - 1 */
#define ZIP_DUMP "dump.sql"
#define ZIP_FILESTORE "filestore/"

/* Everything one restore works with. */
struct restore {
  const upg_settings *s;
  const upg_restore_params *p;
  enum upg_dump_format format;
  const char *dump;         /* what pg_restore reads: the file, or the directory dump */
  upg_dirdump dir;          /* a directory's: the dump, filestore/, report, log */
  char temp[NAME_MAX_BYTES + 1];
  char mark[NAME_MAX_BYTES + sizeof MARK_PREFIX];
  char server_version[64];
  PGconn *conn;
  char *load_role;          /* psql / pg_restore connect as it */
  char *conninfo;           /* theirs: dbname='NEW__restoring' user='LOAD' */
  char *control_role;       /* conn's: NEW's owner in the end */
  bool temp_made;
  char *data_dir;
  upg_filestore fs;
  bool fs_used;             /* NEW gets a filestore */
  bool fs_made;             /* NEW.part is ours to remove */
  long long zip_sql_size;   /* dump.sql's declared size */
  long long zip_files;      /* files under filestore/ */
  long long zip_fs_bytes;   /* their declared sizes: what lands on disk */
  int dump_server_major;    /* of the server it was dumped from; 0 unknown */
  long long declared_tables; /* what the dump declares: the load must hold them */
};

static int __attribute__((format(printf, 2, 3)))
file_fail(jv *doc, const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  jv f = upg_failure_v("CLIENT:FILE", fmt, ap);
  va_end(ap);
  return upg_fail(doc, UPG_EXIT_USAGE, f);
}

static int __attribute__((format(printf, 3, 4)))
db_fail(jv *doc, int status, const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  jv f = upg_failure_v("CLIENT:DATABASE", fmt, ap);
  va_end(ap);
  return upg_fail(doc, status, f);
}

/* A child's failure: what it said, as CLIENT:DATABASE. */
static int
tool_failed(const upg_child *c, const char *tool, jv *doc)
{
  char how[64];
  upg_child_describe(c, how, sizeof how);
  char *errors = upg_child_errors(c, 8);
  int status = upg_fail(doc, UPG_EXIT_TRANSPORT,
                        upg_failure("CLIENT:DATABASE", "%s failed (%s): %s", tool, how,
                                    errors && *errors ? errors : "no message"));
  free(errors);
  return status;
}

static int
interrupted(int sig, jv *doc)
{
  return upg_fail(doc, sig, upg_failure("CLIENT:INTERRUPTED", "interrupted: the restore was stopped and "
                                        "its temporary database dropped"));
}

/* ---- what the file is ---- */

static int
read_head(const char *path, unsigned char *buf, size_t size, size_t *got, jv *doc)
{
  int fd;
  off_t st_size;
  int status = upg_input_open(path, &fd, &st_size, doc);
  if (status)
    return status;
  char *data = upg_read_small(fd, size, got);
  int err = errno;
  close(fd);
  if (!data)
    return file_fail(doc, "cannot read %s: %s", path, strerror(err));
  memcpy(buf, data, *got);
  free(data);
  return 0;
}

static struct archive *
zip_open(const char *path)
{
  struct archive *a = archive_read_new();
  if (!a)
    return NULL;
  archive_read_support_format_zip_seekable(a);
  if (archive_read_open_filename(a, path, 65536) != ARCHIVE_OK) {
    archive_read_free(a);
    return NULL;
  }
  return a;
}

static int
zip_corrupt(struct archive *a, const char *path, jv *doc)
{
  const char *why = a ? archive_error_string(a) : NULL;
  return file_fail(doc, "%s: not a readable zip (truncated or corrupt): %s", path,
                   why ? why : "cannot open it");
}

/* An entry we refuse: a name that could leave the directory, a link. */
static int
zip_entry_unsafe(struct archive_entry *e)
{
  const char *name = archive_entry_pathname(e);
  mode_t type = archive_entry_filetype(e);
  return !name || upg_archive_path_safe(name) != 0 || archive_entry_hardlink(e) != NULL
      || (type != AE_IFREG && type != AE_IFDIR);
}

/* A filestore/ file of the zip (not the folder itself). */
static bool
zip_filestore_file(const char *name)
{
  return strncmp(name, ZIP_FILESTORE, strlen(ZIP_FILESTORE)) == 0 && name[strlen(ZIP_FILESTORE)];
}

/* One entry of the first pass: refused, or counted. */
static int
zip_scan_entry(struct restore *r, struct archive_entry *e, upg_zip_names *names, jv *doc)
{
  const char *path = r->p->file, *name = archive_entry_pathname(e);
  if (zip_entry_unsafe(e) || archive_entry_is_encrypted(e))
    return file_fail(doc, "%s: refusing the entry '%s' (a link, an absolute path, a '..', "
                     "or encrypted)", path, name ? name : "?");
  bool file = archive_entry_filetype(e) == AE_IFREG;
  /* The central directory's size is what the second pass holds it to. */
  if (file && !archive_entry_size_is_set(e))
    return file_fail(doc, "%s: the entry '%s' declares no size: refusing it", path, name);
  long long size = file ? archive_entry_size(e) : 0;
  if (upg_zip_names_add(names, name) != 0)
    return file_fail(doc, "%s: %s", path, strerror(ENOMEM));
  if (strcmp(name, ZIP_DUMP) == 0)
    r->zip_sql_size = size;
  else if (file && zip_filestore_file(name)) {
    r->zip_files++;
    if (upg_zip_add_size(&r->zip_fs_bytes, size) != 0)
      return file_fail(doc, "%s: its filestore/ declares more bytes than any disk holds", path);
  }
  return 0;
}

/* The first pass: every entry's name checked (each once), dump.sql found,
 * the declared sizes summed. */
static int
zip_scan(struct restore *r, jv *doc)
{
  const char *path = r->p->file;
  struct archive *a = zip_open(path);
  if (!a)
    return zip_corrupt(a, path, doc);
  upg_zip_names names = { 0 };
  struct archive_entry *e;
  int rc, status = 0;
  r->zip_sql_size = -1;
  while ((rc = archive_read_next_header(a, &e)) == ARCHIVE_OK)
    if ((status = zip_scan_entry(r, e, &names, doc)))
      goto out;
  if (rc != ARCHIVE_EOF) {
    status = zip_corrupt(a, path, doc);
    goto out;
  }
  const char *twice = upg_zip_names_repeat(&names);
  if (twice)
    status = file_fail(doc, "%s: the entry '%s' is in the zip twice: refusing it (only one can be "
                       "what the platform meant)", path, twice);
  else if (r->zip_sql_size < 0)
    status = file_fail(doc, "%s: the zip holds no %s", path, ZIP_DUMP);
out:
  upg_zip_names_free(&names);
  archive_read_free(a);
  return status;
}

/* A custom or directory dump that the local pg_restore cannot read is
 * refused now, rather than by pg_restore half-way; HEAD is the custom
 * dump's, or the directory dump's toc.dat's. */
static int
check_custom_version(struct restore *r, const unsigned char *head, size_t len, jv *doc)
{
  upg_pgdmp_header h;
  bool dir = r->format == UPG_DUMP_DIRECTORY;
  if (upg_pgdmp_parse(head, len, &h) != 0 || (dir && h.format != UPG_PGDMP_DIRECTORY))
    return file_fail(doc, "%s: not a %s", dir ? r->dir.toc : r->p->file,
                     dir ? "directory-format dump's toc.dat (its header says otherwise)" : "custom-format dump");
  int major = 0;
  char line[256];
  int status = upg_pg_tool_version(r->s, "pg_restore", &major, line, sizeof line, doc);
  if (status)
    return status;
  r->dump_server_major = upg_pg_major_of(h.server_version);
  int version = UPG_PGDMP_VERSION(h.vmaj, h.vmin, h.vrev);
  int max = upg_pgdmp_max_version(major);
  if (max && version <= max)
    return 0;
  int need = upg_pgdmp_major_for(version);
  char needs[128];
  if (need)
    snprintf(needs, sizeof needs, "PostgreSQL %d or newer (Debian: apt-get install postgresql-client-%d)",
             need, need);
  else
    snprintf(needs, sizeof needs, "a newer PostgreSQL");
  return upg_fail(doc, UPG_EXIT_USAGE,
                  upg_failure("CLIENT:DATABASE", "%s is a %s archive version %d.%d.%d "
                              "(made by pg_dump %s from a PostgreSQL %s server) but the local %s reads "
                              "up to %d.%d: install the client programs of %s",
                              r->dump, dir ? "directory-format" : "custom-format", h.vmaj, h.vmin, h.vrev,
                              *h.dump_version ? h.dump_version : "?",
                              *h.server_version ? h.server_version : "?", line, max >> 16,
                              max >> 8 & 0xff, needs));
}

/* Plain SQL from the platform runs only in psql's restricted mode: a psql
 * without it would run the dump's \! and \o |cmd on this machine. */
static int
check_psql(struct restore *r, jv *doc)
{
  int major = 0;
  char line[256];
  int status = upg_pg_tool_version(r->s, "psql", &major, line, sizeof line, doc);
  if (status || upg_psql_has_restrict(line))
    return status;
  return db_fail(doc, UPG_EXIT_USAGE, "%s holds plain SQL and the local %s has no restricted mode "
                 "(\\restrict): the platform's SQL could run shell commands on this machine through "
                 "psql; install psql 13.22, 14.19, 15.14, 16.10, 17.6 or newer (Debian: apt-get install "
                 "postgresql-client after apt-get update)", r->p->file, line);
}

/* The TABLE entries of `pg_restore --list`, written by the child to FD. */
static int
count_listed_tables(int fd, long long *tables)
{
  FILE *list = lseek(fd, 0, SEEK_SET) == 0 ? fdopen(fd, "r") : NULL;
  if (!list) {
    close(fd);
    return -1;
  }
  char *line = NULL;
  size_t size = 0;
  while (getline(&line, &size, list) >= 0)
    *tables += upg_pg_list_is_table(line);
  free(line);
  return fclose(list) == 0 ? 0 : -1;
}

/* What a custom dump declares: its TOC's tables, before anything is made. */
static int
count_toc_tables(struct restore *r, jv *doc)
{
  int fd = memfd_create("pg_restore-list", MFD_CLOEXEC);
  if (fd < 0)
    return file_fail(doc, "cannot list %s: %s", r->p->file, strerror(errno));
  char *argv[] = { "pg_restore", "--list", (char *)r->dump, NULL };
  upg_child c;
  int status = 0;
  if (upg_child_spawn(&c, argv, NULL, UPG_CHILD_NULL, fd) != 0)
    status = upg_pg_tool_missing("pg_restore", errno, doc);
  int rc = status ? 0 : upg_child_run(&c, r->s, NULL, NULL, NULL);
  if (rc > 0)
    status = interrupted(rc, doc);
  else if (!status && !upg_child_ok(&c))
    status = tool_failed(&c, "pg_restore --list", doc);
  if (status) {
    close(fd);
    return status;
  }
  if (count_listed_tables(fd, &r->declared_tables) != 0)
    return file_fail(doc, "cannot read the list of %s: %s", r->dump, strerror(errno));
  return 0;
}

/* A directory: a directory dump, or a download holding one (dirdump.h),
 * its toc.dat then read as a custom dump is. */
static int
check_directory(struct restore *r, jv *doc)
{
  r->format = UPG_DUMP_DIRECTORY;
  unsigned char head[8192];
  size_t len = 0;
  int status;
  if ((status = upg_dirdump_read(r->p->file, &r->dir, doc))
      || (status = read_head(r->dir.toc, head, sizeof head, &len, doc)))
    return status;
  r->dump = r->dir.dump;
  return (status = check_custom_version(r, head, len, doc)) ? status : count_toc_tables(r, doc);
}

static int
check_input(struct restore *r, jv *doc)
{
  unsigned char head[8192];
  size_t len = 0;
  struct stat st;
  r->dump = r->p->file;
  if (stat(r->p->file, &st) == 0 && S_ISDIR(st.st_mode))
    return check_directory(r, doc);
  int status = read_head(r->p->file, head, sizeof head, &len, doc);
  if (status)
    return status;
  r->format = upg_dump_format_of(head, len);
  if (r->format == UPG_DUMP_ZIP)
    return (status = zip_scan(r, doc)) ? status : check_psql(r, doc);
  if (r->format == UPG_DUMP_CUSTOM)
    return (status = check_custom_version(r, head, len, doc)) ? status : count_toc_tables(r, doc);
  if (r->format == UPG_DUMP_GZIP)
    return check_psql(r, doc);
  if ((status = check_psql(r, doc)))
    return status;
  /* pg_dump's plain header: "-- Dumped from database version 16.2" */
  static const char from[] = "-- Dumped from database version ";
  const unsigned char *at = memmem(head, len, from, strlen(from));
  if (at) {
    char version[16] = "";
    size_t off = (size_t)(at - head) + strlen(from);
    memcpy(version, head + off, len - off < sizeof version - 1 ? len - off : sizeof version - 1);
    r->dump_server_major = upg_pg_major_of(version);
  }
  return 0;
}

/* A dump of a newer server may use what an older one lacks: say so
 * before a failure, which psql or pg_restore will then explain. */
static void
warn_newer_source(struct restore *r)
{
  int local = PQserverVersion(r->conn) / 10000;
  if (r->dump_server_major > local)
    upg_notice(r->s, "%s was dumped from a PostgreSQL %d server; the local server is %s: an older server "
               "may refuse parts of it", r->p->file, r->dump_server_major, r->server_version);
}

/* ---- the databases ---- */

int
upg_pg_restore_check_name(const char *option, const char *name, jv *doc)
{
  if (strlen(name) + strlen(TEMP_SUFFIX) > NAME_MAX_BYTES)
    return upg_fail(doc, UPG_EXIT_USAGE,
                    upg_failure("CLIENT:USAGE", "%s %s: at most %zu bytes (PostgreSQL's limit, "
                                "less the temporary name's %s)", option, name, NAME_MAX_BYTES - strlen(TEMP_SUFFIX),
                                TEMP_SUFFIX));
  if (!upg_one_component(name))
    return upg_fail(doc, UPG_EXIT_USAGE,
                    upg_failure("CLIENT:USAGE", "%s %s: not a name Odoo's filestore can use", option, name));
  return 0;
}

static int
check_names(struct restore *r, jv *doc)
{
  const char *name = r->p->database;
  int status = upg_pg_restore_check_name("--database", name, doc);
  if (status)
    return status;
  snprintf(r->temp, sizeof r->temp, "%s%s", name, TEMP_SUFFIX);
  snprintf(r->mark, sizeof r->mark, "%s%s", MARK_PREFIX, name);
  return 0;
}

/* One restore into NEW at a time: NEW's claim (an advisory lock of the
 * control connection's session) is held until the connection closes --
 * at the end, or when the shell that held it dies.  A marked leftover
 * still in use while we hold it is therefore a dead run's. */
static int
claim_name(struct restore *r, jv *doc)
{
  int got = upg_pg_db_claim(r->conn, r->p->database, doc);
  if (got < 0)
    return UPG_EXIT_TRANSPORT;
  if (!got)
    return db_fail(doc, UPG_EXIT_USAGE, "another restore into %s is running (its session holds the "
                   "claim on that name): wait for it, or stop it", r->p->database);
  return 0;
}

/* A mark anyone with CREATEDB can copy; the owner they cannot choose:
 * ours is the load role's (it is made OWNER it), or the control role's
 * (handed over before the rename). */
static bool
owner_is_ours(const struct restore *r, const char *owner)
{
  return owner && (strcmp(owner, r->load_role) == 0 || strcmp(owner, r->control_role) == 0);
}

/* NEW must not exist; NEW__restoring may, if it is our marked leftover. */
static int
check_targets(struct restore *r, jv *doc)
{
  int found = upg_pg_db_exists(r->conn, r->p->database, NULL, doc);
  if (found < 0)
    return UPG_EXIT_TRANSPORT;
  if (found)
    return db_fail(doc, UPG_EXIT_USAGE, "database %s exists: restore never touches an existing "
                   "database (choose another --database)", r->p->database);
  char *comment = NULL, *owner = NULL;
  found = upg_pg_db_lookup(r->conn, r->temp, &comment, &owner, doc);
  if (found < 0)
    return UPG_EXIT_TRANSPORT;
  int marked = comment && (strcmp(comment, r->mark) == 0
                           || (r->p->final_mark && strcmp(comment, r->p->final_mark) == 0));
  free(comment);
  int ours = marked && owner_is_ours(r, owner);
  free(owner);
  if (found && !marked)
    return db_fail(doc, UPG_EXIT_USAGE, "database %s exists and was not made by upgrade restore "
                   "(it has no mark): refusing to drop it; rename it or choose another --database",
                   r->temp);
  if (found && !ours)
    return db_fail(doc, UPG_EXIT_USAGE, "database %s exists and is not this job's (it carries the mark "
                   "but another role owns it): refusing to drop it; rename it or choose another --database",
                   r->temp);
  if (found) {
    /* Ours, but maybe not a leftover: another restore may be filling it. */
    int sessions = upg_pg_db_sessions(r->conn, r->temp, doc);
    if (sessions < 0)
      return UPG_EXIT_TRANSPORT;
    if (sessions > 0) {
      /* We hold NEW's claim (claim_name): no restore into NEW runs, these
       * are a dead run's sessions (its shell killed), still busy. */
      upg_notice(r->s, "ending %d session%s of %s, left by a restore that no longer runs", sessions,
                 sessions == 1 ? "" : "s", r->temp);
      int status = upg_pg_db_terminate(r->conn, r->temp, doc);
      if (status)
        return status;
    }
    upg_notice(r->s, "dropping %s, left by an interrupted restore", r->temp);
    return upg_pg_db_drop(r->conn, r->temp, doc);
  }
  return 0;
}

static void
drop_temp(struct restore *r)
{
  if (!r->temp_made)
    return;
  jv ignored = jv_invalid();
  if (upg_pg_db_drop(r->conn, r->temp, &ignored) == 0)
    r->temp_made = false;
  jv_free(ignored);
}

/* ---- loading the data ---- */

#define FEED_BUF 262144

struct feed {
  const upg_settings *s;
  struct archive *a;      /* the zip, positioned on dump.sql; or NULL */
  long long declared;     /* dump.sql's declared size: psql gets no more */
  long long yielded;
  char why[160];          /* the reader's failure, when ours */
  int fd;                 /* the SQL file; or -1 */
  char buf[FEED_BUF];
  const char *error;      /* the reader's failure */
  upg_meter meter;
  long long total;
  upg_sql_stream sql;     /* the input on its way to restricted psql */
  long long consumed;     /* input bytes filtered: the meter's count */
  const char *in;         /* input read and not yet filtered */
  size_t in_len;
  bool ended;             /* the input's end was filtered */
  char out[FEED_BUF + UPG_SQL_OUT_EXTRA];
};

static ssize_t
feed_zip(struct feed *f, const void **buf)
{
  for (;;) {
    size_t size = 0;
    la_int64_t offset;
    int rc = archive_read_data_block(f->a, buf, &size, &offset);
    if (rc == ARCHIVE_EOF)
      return 0;
    /* Cut off before psql sees a byte past the declared end (first: the
     * last block comes with libarchive's own complaint about the size). */
    if (!upg_zip_within(f->declared, f->yielded, size)) {
      snprintf(f->why, sizeof f->why, ZIP_DUMP " yields more than its declared %lld bytes", f->declared);
      f->error = f->why;
      return -1;
    }
    if (rc != ARCHIVE_OK) {
      f->error = archive_error_string(f->a);
      return -1;
    }
    f->yielded += (long long)size;
    if (size)
      return (ssize_t)size;
  }
}

/* The next block of the input: the zip's dump.sql or the SQL file. */
static ssize_t
feed_read(struct feed *f, const void **buf)
{
  if (f->a)
    return feed_zip(f, buf);
  for (;;) {
    ssize_t n = read(f->fd, f->buf, sizeof f->buf);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0)
      f->error = strerror(errno);
    *buf = f->buf;
    return n;
  }
}

/* psql's next bytes: the input through the restricted-mode filter, at
 * most a buf's worth of input at a time (a zip's block may be larger). */
static ssize_t
feed_next(void *data, const void **buf)
{
  struct feed *f = data;
  *buf = f->out;
  while (!f->ended) {
    if (!f->in_len) {
      const void *in;
      ssize_t n = feed_read(f, &in);
      if (n < 0)
        return -1;
      if (n == 0) {
        f->ended = true;
        return (ssize_t)upg_sql_stream_end(&f->sql, f->out);
      }
      f->in = in;
      f->in_len = (size_t)n;
    }
    size_t n = f->in_len < sizeof f->buf ? f->in_len : sizeof f->buf;
    size_t o = upg_sql_stream_feed(&f->sql, f->in, n, f->out);
    f->in += n;
    f->in_len -= n;
    f->consumed += (long long)n;
    if (o)
      return (ssize_t)o;
  }
  return 0;
}

/* A key of our own for \restrict: 32 hex digits the dump cannot know. */
static int
restrict_key(char key[33], jv *doc)
{
  unsigned char b[16];
  if (getrandom(b, sizeof b, 0) != (ssize_t)sizeof b)
    return db_fail(doc, UPG_EXIT_USAGE, "cannot draw a key for psql's restricted mode: %s", strerror(errno));
  for (size_t i = 0; i < sizeof b; i++)
    snprintf(key + 2 * i, 3, "%02x", b[i]);
  return 0;
}

static void
feed_tick(void *data)
{
  struct feed *f = data;
  upg_meter_update(&f->meter, f->consumed, f->total > 0 ? f->total : f->consumed);
}

/* psql in restricted mode, one transaction, stopping at the first error,
 * fed by F; the tables the input declares are added to r->declared_tables. */
static int
run_psql(struct restore *r, struct feed *f, const char *label, jv *doc)
{
  char key[33];
  int status = restrict_key(key, doc);
  if (status)
    return status;
  upg_sql_stream_init(&f->sql, key);
  char *argv[] = { "psql", "-X", "-q", "--no-password", "-v", "ON_ERROR_STOP=1", "--single-transaction",
                   "--dbname", r->conninfo, "-f", "-", NULL };
  upg_child c;
  if (upg_child_spawn(&c, argv, NULL, UPG_CHILD_PIPE, UPG_CHILD_NULL) != 0)
    return upg_pg_tool_missing("psql", errno, doc);
  f->s = r->s;
  upg_meter_start(&f->meter, r->s, label, 0);
  int rc = upg_child_run(&c, r->s, feed_next, feed_tick, f);
  if (rc == 0) /* psql may end before the next round's tick: show where the feed ended */
    feed_tick(f);
  upg_meter_end(&f->meter);
  if (rc > 0)
    return interrupted(rc, doc);
  if (rc < 0)
    return file_fail(doc, "%s: cannot read it (truncated or corrupt?): %s", r->p->file,
                     f->error ? f->error : "read error");
  if (!upg_child_ok(&c))
    return tool_failed(&c, "psql", doc);
  r->declared_tables += f->sql.tables;
  return 0;
}

static int
load_sql(struct restore *r, jv *doc)
{
  struct feed *f = calloc(1, sizeof *f);
  off_t size = 0;
  int status = f ? upg_input_open(r->p->file, &f->fd, &size, doc)
                 : file_fail(doc, "%s: %s", r->p->file, strerror(ENOMEM));
  if (!status) {
    fcntl(f->fd, F_SETFL, 0); /* upg_input_open opened it non-blocking */
    f->total = size;
    status = run_psql(r, f, "restore", doc);
    close(f->fd);
  }
  free(f);
  return status;
}

/* x.sql.gz: gunzipped on the fly by libarchive (its gzip filter over the
 * raw format: one entry, the whole stream) into the same feed as SQL; the
 * meter counts the SQL, whose size is not known beforehand. */
static int
load_gzip(struct restore *r, jv *doc)
{
  struct feed *f = calloc(1, sizeof *f);
  struct archive *a = f ? archive_read_new() : NULL;
  struct archive_entry *e;
  if (!a) {
    free(f);
    return file_fail(doc, "%s: %s", r->p->file, strerror(ENOMEM));
  }
  archive_read_support_filter_gzip(a);
  archive_read_support_format_raw(a);
  int status = 0;
  if (archive_read_open_filename(a, r->p->file, 65536) != ARCHIVE_OK
      || archive_read_next_header(a, &e) != ARCHIVE_OK)
    status = file_fail(doc, "%s: cannot gunzip it: %s", r->p->file, archive_error_string(a));
  if (!status) {
    f->fd = -1;
    f->a = a;
    f->declared = LLONG_MAX; /* no declared size: psql gets what gunzip yields */
    status = run_psql(r, f, "restore", doc);
  }
  archive_read_free(a);
  free(f);
  return status;
}

/* pg_restore of a custom or a directory dump, --jobs N. */
static int
load_custom(struct restore *r, jv *doc)
{
  char jobs[32];
  bool dir = r->format == UPG_DUMP_DIRECTORY;
  snprintf(jobs, sizeof jobs, "--jobs=%d", r->p->jobs > 0 ? r->p->jobs : dir ? upg_pg_default_jobs() : 1);
  char *argv[] = { "pg_restore", dir ? "--format=directory" : "--format=custom", "--no-owner", "--no-password",
                   "--exit-on-error", jobs, "--dbname", r->conninfo, (char *)r->dump, NULL };
  upg_child c;
  if (upg_child_spawn(&c, argv, NULL, UPG_CHILD_NULL, UPG_CHILD_NULL) != 0)
    return upg_pg_tool_missing("pg_restore", errno, doc);
  upg_status_line(r->s, "pg_restore %s", r->dump);
  int rc = upg_child_run(&c, r->s, NULL, NULL, NULL);
  upg_status_clear(r->s);
  if (rc > 0)
    return interrupted(rc, doc);
  if (!upg_child_ok(&c))
    return tool_failed(&c, "pg_restore", doc);
  return 0;
}

/* One filestore/ entry of the zip into NEW.part. */
static int
zip_file(struct restore *r, struct archive *a, struct archive_entry *e, const char *rel, jv *doc)
{
  if (archive_entry_filetype(e) == AE_IFDIR)
    return upg_filestore_mkdir(&r->fs, rel, doc);
  int fd = -1;
  long long declared = archive_entry_size(e), done = 0;
  int status = upg_filestore_create(&r->fs, rel, &fd, doc);
  for (;;) {
    if (status)
      break;
    int sig = upg_interrupted(r->s);
    if (sig) {
      status = interrupted(sig, doc);
      break;
    }
    const void *buf;
    size_t size = 0;
    la_int64_t offset;
    int rc = archive_read_data_block(a, &buf, &size, &offset);
    if (rc == ARCHIVE_EOF)
      break;
    /* Cut off at the declared size: a bomb writes no more than it owned up
     * to (checked first, as in feed_zip). */
    if (!upg_zip_within(declared, done, size))
      status = file_fail(doc, "%s: the entry '%s%s' yields more than its declared %lld bytes", r->p->file,
                         ZIP_FILESTORE, rel, declared);
    else if (rc != ARCHIVE_OK)
      status = zip_corrupt(a, r->p->file, doc);
    else if (upg_write_all(fd, buf, size) != 0)
      status = file_fail(doc, "cannot write %s: %s", rel, strerror(errno));
    done += (long long)size;
  }
  if (fd >= 0 && close(fd) != 0 && !status)
    status = file_fail(doc, "cannot write %s: %s", rel, strerror(errno));
  return status;
}

/* The second pass: dump.sql into psql, filestore/ into NEW.part. */
static int
load_zip(struct restore *r, jv *doc)
{
  struct archive *a = zip_open(r->p->file);
  if (!a)
    return zip_corrupt(a, r->p->file, doc);
  struct archive_entry *e;
  int rc, status = 0, loads = 0;
  while (!status && (rc = archive_read_next_header(a, &e)) == ARCHIVE_OK) {
    const char *name = archive_entry_pathname(e);
    if (strcmp(name, ZIP_DUMP) == 0 && loads++) {
      /* the scan saw one: the file changed since */
      status = file_fail(doc, "%s: a second %s: refusing it", r->p->file, ZIP_DUMP);
    } else if (strcmp(name, ZIP_DUMP) == 0) {
      struct feed *f = calloc(1, sizeof *f);
      if (!f) {
        status = file_fail(doc, "%s: %s", r->p->file, strerror(ENOMEM));
        break;
      }
      f->a = a;
      f->fd = -1;
      f->total = f->declared = archive_entry_size(e);
      status = run_psql(r, f, "restore " ZIP_DUMP, doc);
      free(f);
    } else if (zip_filestore_file(name) && r->fs_used) {
      status = zip_file(r, a, e, name + strlen(ZIP_FILESTORE), doc);
      if (r->fs.from_archive % 64 == 0)
        upg_status_line(r->s, "filestore: %lld of %lld files", r->fs.from_archive, r->zip_files);
    }
  }
  upg_status_clear(r->s);
  if (!status && rc != ARCHIVE_EOF)
    status = zip_corrupt(a, r->p->file, doc);
  archive_read_free(a);
  return status;
}

/* ---- the whole restore ---- */

static int
find_data_dir(struct restore *r, jv *doc)
{
  if (!r->data_dir)
    r->data_dir = upg_filestore_data_dir(r->p->data_dir);
  return r->data_dir ? 0 : file_fail(doc, "no home directory for Odoo's data dir: use --data-dir");
}

/* The free bytes of the filesystem PATH is on, or would be: PATH, else the
 * nearest directory above it that exists (begin makes the rest).  0 or -1
 * with errno. */
static int
free_space_of(const char *path, long long *bytes)
{
  char *p = strdup(path);
  struct statvfs v;
  while (p && statvfs(p, &v) != 0) {
    char *slash = strrchr(p, '/');
    if (errno != ENOENT || strcmp(p, ".") == 0 || strcmp(p, "/") == 0) {
      int err = errno;
      free(p);
      errno = err;
      return -1;
    }
    if (!slash)
      strcpy(p, ".");
    else
      slash[slash == p] = '\0'; /* "/x" becomes "/" */
  }
  if (!p)
    return -1;
  free(p);
  *bytes = upg_free_bytes(v.f_bavail, v.f_frsize);
  return 0;
}

/* What the zip's filestore/ declares must fit where it goes, checked before
 * anything is made: a bomb is refused, not written until the disk is full.
 * (dump.sql goes to the server, which has its own disk and limits.) */
static int
check_space(struct restore *r, jv *doc)
{
  if (r->format != UPG_DUMP_ZIP || r->zip_fs_bytes == 0)
    return 0;
  int status = find_data_dir(r, doc);
  if (status)
    return status;
  char *where = NULL;
  long long free_bytes = 0;
  if (asprintf(&where, "%s/filestore", r->data_dir) < 0)
    return file_fail(doc, "%s: %s", r->data_dir, strerror(ENOMEM));
  if (free_space_of(where, &free_bytes) != 0)
    status = file_fail(doc, "cannot tell the free space of %s: %s", where, strerror(errno));
  else if (r->zip_fs_bytes > free_bytes)
    status = file_fail(doc, "%s: its filestore/ declares %lld bytes, more than the %lld bytes free on the "
                       "filesystem of %s: make room, or choose another --data-dir", r->p->file,
                       r->zip_fs_bytes, free_bytes, where);
  free(where);
  return status;
}

static int
prepare_filestore(struct restore *r, jv *doc)
{
  r->fs_used = r->p->filestore_from || (r->format == UPG_DUMP_ZIP && r->zip_files > 0)
             || (r->format == UPG_DUMP_DIRECTORY && r->dir.filestore_files > 0);
  if (!r->fs_used)
    return 0;
  int status = find_data_dir(r, doc);
  if (status)
    return status;
  status = upg_filestore_begin(&r->fs, r->data_dir, r->p->database, doc);
  r->fs_made = !status;
  return status;
}

static int
load(struct restore *r, jv *doc)
{
  int status = 0;
  if (r->fs_used && r->p->filestore_from)
    status = upg_filestore_copy_from(&r->fs, r->s, r->data_dir, r->p->filestore_from, r->p->filestore_link,
                                     doc);
  if (status)
    return status;
  switch (r->format) {
  case UPG_DUMP_ZIP: return load_zip(r, doc);
  case UPG_DUMP_CUSTOM: return load_custom(r, doc);
  case UPG_DUMP_DIRECTORY:
    if ((status = load_custom(r, doc)) || !r->fs_used || !r->dir.filestore_files)
      return status;
    return upg_filestore_lay_over(&r->fs, r->s, r->dir.filestore, doc);
  case UPG_DUMP_GZIP: return load_gzip(r, doc);
  case UPG_DUMP_SQL: break;
  }
  return load_sql(r, doc);
}

/* psql's or pg_restore's exit status is no proof: NEW__restoring must hold
 * at least the tables the dump declared, or the load did not commit (a
 * ROLLBACK in the dump, a table dropped again).  Asked on a connection of
 * its own whose search_path is set at start-up (the dump may have ALTER
 * DATABASE … SET search_path) with pg_catalog's names only: no function or
 * operator of the dump's runs. */
static int
check_loaded(struct restore *r, PGconn *c, jv *doc)
{
  static const char count[] =
      "SELECT pg_catalog.count(*) FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n"
      " ON n.oid = c.relnamespace WHERE c.relkind IN ('r', 'p')"
      " AND n.nspname <> 'information_schema' AND n.nspname !~ '^pg_'";
  int status = 0;
  PGresult *res = PQexec(c, count);
  long long found = -1;
  if (PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1)
    found = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
  else
    status = db_fail(doc, UPG_EXIT_TRANSPORT, "cannot count the tables of %s: %.*s", r->temp,
                     (int)strcspn(PQerrorMessage(c), "\n"), PQerrorMessage(c));
  PQclear(res);
  if (!status && found < r->declared_tables)
    status = db_fail(doc, UPG_EXIT_TRANSPORT, "the load did not commit what the dump declares "
                     "(%lld of %lld tables)", found, r->declared_tables);
  return status;
}

/* The filestore, then the database, get their final names; the mark goes.
 * A caller's final mark replaces it before the rename, so that at every
 * moment the database carries one mark or the other: NEW__restoring is
 * still a leftover to drop, NEW is the caller's. */
static int
finish(struct restore *r, jv *doc)
{
  int status;
  if (r->p->final_mark && (status = upg_pg_db_comment(r->conn, r->temp, r->p->final_mark, doc)))
    return status;
  if (r->fs_used && (status = upg_filestore_commit(&r->fs, doc)))
    return status;
  status = upg_pg_db_rename(r->conn, r->temp, r->p->database, doc);
  if (status) {
    if (r->fs_used)
      upg_filestore_uncommit(&r->fs);
    return status;
  }
  r->temp_made = false;
  jv ignored = jv_invalid();
  if (!r->p->final_mark && upg_pg_db_comment(r->conn, r->p->database, NULL, &ignored) != 0)
    upg_notice(r->s, "could not remove the restore's mark from database %s", r->p->database);
  jv_free(ignored);
  return 0;
}

/* ---- the roles ---- */

/* The load role, and its rights checked unless the user trusts the dump;
 * psql's and pg_restore's connection string. */
static int
prepare_roles(struct restore *r, jv *doc)
{
  int status = upg_pg_roles(r->conn, r->p->restore_role, &r->load_role, &r->control_role, doc);
  if (status)
    return status;
  if ((status = upg_pg_role_control(r->conn, r->control_role, r->load_role, doc)))
    return status;
  if (!r->p->trust_dump)
    status = upg_pg_role_check(r->conn, r->load_role, r->temp, doc);
  else if (strcmp(r->load_role, r->control_role) != 0)
    status = upg_pg_role_owns_only(r->conn, r->load_role, r->temp, doc); /* see hand_over */
  if (status)
    return status;
  if (r->p->trust_dump)
    upg_notice(r->s, "--trust-dump: the dump runs with all the rights of role %s, unchecked", r->load_role);
  r->conninfo = upg_pg_conninfo(r->temp, r->load_role);
  return r->conninfo ? 0 : file_fail(doc, "out of memory");
}

/* The loaded database, and everything the load made in it, become the
 * control role's: Odoo's own role owns what it uses, and the load role
 * is left owning nothing.  On a connection whose search_path the dump
 * cannot have chosen; not when the load made a database of its own
 * (REASSIGN OWNED would hand that over too) or a SECURITY DEFINER function
 * (it would run with the control role's rights). */
static int
hand_over(struct restore *r, PGconn *c, jv *doc)
{
  if (strcmp(r->load_role, r->control_role) == 0)
    return 0;
  int status;
  if ((status = upg_pg_role_owns_only(r->conn, r->load_role, r->temp, doc))
      || (status = upg_pg_role_no_definers(c, r->load_role, doc)))
    return status;
  return upg_pg_db_hand_over(c, r->temp, r->load_role, r->control_role, doc);
}

/* After the load, on one catalog-only connection to NEW__restoring (its
 * search_path fixed at start-up): what the dump declared is there, then
 * the database is handed over.  Closed before the rename, which waits for
 * its session to end. */
static int
settle_load(struct restore *r, jv *doc)
{
  int status = 0;
  PGconn *c = upg_pg_connect_catalog(r->temp, &status, doc);
  if (!c)
    return status;
  if (!(status = check_loaded(r, c, doc)))
    status = hand_over(r, c, doc);
  PQfinish(c);
  return status;
}

static jv
text_or_null(const char *text)
{
  return text ? jv_string(text) : jv_null();
}

/* "dump": what pg_restore or psql read (FILE, or the directory dump found
 * in it); "report" and "log": the download's upgrade-report.html and
 * upgrade.log, or null. */
static jv
summary(const struct restore *r, double seconds)
{
  jv fs = jv_null();
  if (r->fs_used)
    fs = JV_OBJECT(jv_string("dir"), jv_string(r->fs.dir), jv_string("copied"), jv_number((double)r->fs.copied),
                   jv_string("reflinked"), jv_number((double)r->fs.reflinked),
                   jv_string("linked"), jv_number((double)r->fs.linked),
                   jv_string("from_archive"), jv_number((double)r->fs.from_archive));
  jv what = JV_OBJECT(jv_string("database"), jv_string(r->p->database), jv_string("from"), jv_string(r->p->file),
                      jv_string("dump"), jv_string(r->dump),
                      jv_string("format"), jv_string(upg_dump_format_name(r->format)),
                      jv_string("server_version"), jv_string(r->server_version));
  jv how = JV_OBJECT(jv_string("role"), jv_string(r->load_role), jv_string("trusted"), jv_bool(r->p->trust_dump),
                     jv_string("filestore"), fs, jv_string("report"), text_or_null(r->dir.report),
                     jv_string("log"), text_or_null(r->dir.log),
                     jv_string("seconds"), jv_number(upg_round_ms(seconds)));
  return upg_doc_with("restore", jv_object_merge(what, how));
}

static int
restore(struct restore *r, jv *doc)
{
  int status;
  if ((status = check_names(r, doc)) || (status = check_input(r, doc)) || (status = check_space(r, doc)))
    return status;
  r->conn = upg_pg_connect(NULL, &status, doc);
  if (!r->conn)
    return status;
  upg_pg_server_version(r->conn, r->server_version, sizeof r->server_version);
  warn_newer_source(r);
  if ((status = prepare_roles(r, doc)) || (status = claim_name(r, doc)) || (status = check_targets(r, doc))
      || (status = prepare_filestore(r, doc)))
    return status;
  if ((status = upg_pg_db_create(r->conn, r->temp, r->load_role, r->mark, doc)))
    return status;
  r->temp_made = true;
  if ((status = load(r, doc)) || (status = settle_load(r, doc)))
    return status;
  return finish(r, doc);
}

int
upg_pg_restore(const upg_settings *s, const upg_restore_params *p, jv *doc)
{
  double start = upg_now();
  struct restore r = { .s = s, .p = p };
  int status = restore(&r, doc);
  if (status) {
    drop_temp(&r);
    if (r.fs_made)
      upg_filestore_discard(&r.fs);
  } else {
    *doc = summary(&r, upg_now() - start);
  }
  upg_filestore_free(&r.fs);
  upg_dirdump_free(&r.dir);
  free(r.data_dir);
  free(r.load_role);
  free(r.control_role);
  free(r.conninfo);
  PQfinish(r.conn);
  return status;
}
