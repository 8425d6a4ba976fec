/* SPDX-License-Identifier: GPL-3.0-or-later */
/* test_files.c -- the part file of a download (plugin/core/base/files.c) and
 * its record (plugin/core/base/provenance.c): refusals, appending across the
 * write-behind threshold, resume only by the same origin and version,
 * truncate, the final rename, and the record's rule. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/resource.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tap.h"
#include "upgrade/files.h"
#include "upgrade/provenance.h"
#include "upgrade/segments.h"

#define MIB (1024L * 1024)

static char dir[] = "/tmp/test_files.XXXXXX";
static upg_settings settings; /* no host: notices go nowhere */

static char *
in_dir(const char *name)
{
  static char path[256];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  return path;
}

/* The origin of the test's transfers, A or B. */
static jv
origin(const char *which)
{
  return JV_OBJECT(jv_string("request"), jv_string(which));
}

static int
open_part(upg_partfile *pf, const char *name, const char *which, bool force, jv *doc)
{
  return upg_partfile_open(pf, &settings, in_dir(name), origin(which), force, doc);
}

static off_t
size_of(const char *path)
{
  struct stat st;
  return stat(path, &st) == 0 ? st.st_size : -1;
}

/* Byte I of the test data: a pattern that a lost or doubled chunk breaks. */
static unsigned char
byte_at(long i)
{
  return (unsigned char)((i * 7 + i / 4096) & 0xff);
}

static int
write_pattern(upg_partfile *pf, long from, long to)
{
  static unsigned char chunk[MIB / 4];
  for (long at = from; at < to;) {
    long n = to - at < (long)sizeof chunk ? to - at : (long)sizeof chunk;
    for (long i = 0; i < n; i++)
      chunk[i] = byte_at(at + i);
    if (upg_partfile_write(pf, chunk, (size_t)n) != 0)
      return -1;
    at += n;
  }
  return 0;
}

static int
pattern_matches(const char *path, long size)
{
  FILE *f = fopen(path, "rb");
  long i = 0;
  int c;
  if (!f)
    return 0;
  while ((c = getc(f)) != EOF && i < size && c == byte_at(i))
    i++;
  int whole = i == size && c == EOF;
  fclose(f);
  return whole;
}

static void
test_refusals(void)
{
  upg_partfile pf;
  jv doc = jv_null();

  int fd = open(in_dir("exists"), O_WRONLY | O_CREAT, 0600);
  close(fd);
  ok(open_part(&pf, "exists", "A", false, &doc) == 2, "an existing FILE is refused without force");
  jv_free(doc);
  doc = jv_null();

  char target[256];
  snprintf(target, sizeof target, "%s", in_dir("elsewhere")); /* in_dir's buffer is reused */
  ok(symlink(target, in_dir("link.part")) == 0, "(set-up: a symlink at link.part)");
  ok(open_part(&pf, "link", "A", false, &doc) == 2, "a symlink at FILE.part is refused");
  ok(size_of(in_dir("elsewhere")) == -1, "and nothing was written through it");
  jv_free(doc);
}

static void
test_write_resume_commit(void)
{
  upg_partfile pf;
  jv doc = jv_null();
  const char *out = "dump";

  ok(open_part(&pf, out, "A", false, &doc) == 0, "open a new part file");
  ok(pf.resume_from == 0 && pf.end == 0, "it starts empty");
  ok(write_pattern(&pf, 0, 20 * MIB) == 0, "write 20 MiB");
  ok(pf.end == 20 * MIB, "end counts what was written");
  ok(pf.flushed > 0 && pf.flushed <= pf.end && pf.end - pf.flushed < 8 * MIB,
     "writeback was started as we went (flushed %lld of %lld)", (long long)pf.flushed, (long long)pf.end);
  upg_partfile_abandon(&pf); /* as an interrupted download does */
  ok(size_of(in_dir("dump.part")) == 20 * MIB && size_of(in_dir(out)) == -1,
     "abandoned: FILE.part keeps its bytes, no FILE");
  struct stat rec;
  ok(lstat(in_dir("dump.part.meta"), &rec) == 0 && S_ISREG(rec.st_mode) && (rec.st_mode & 0777) == 0600,
     "FILE.part.meta records its origin, mode 0600");

  ok(open_part(&pf, out, "A", false, &doc) == 0, "open it again");
  ok(pf.resume_from == 20 * MIB && pf.end == 20 * MIB, "resume_from is the part file's size");
  ok(write_pattern(&pf, 20 * MIB, 21 * MIB + 123) == 0, "append the rest");
  ok(upg_partfile_commit(&pf, &doc) == 0, "commit");
  ok(pattern_matches(in_dir(out), 21 * MIB + 123), "FILE holds every byte once, in order");
  ok(size_of(in_dir("dump.part")) == -1, "FILE.part is gone");
  ok(size_of(in_dir("dump.part.meta")) == -1, "and so is its record");
  struct stat st;
  ok(stat(in_dir(out), &st) == 0 && (st.st_mode & 0777) == 0600, "FILE is mode 0600");
  jv_free(doc);
}

static void
test_truncate(void)
{
  upg_partfile pf;
  jv doc = jv_null();

  ok(open_part(&pf, "again", "A", false, &doc) == 0, "open");
  ok(write_pattern(&pf, 0, 9 * MIB) == 0, "write 9 MiB");
  ok(upg_partfile_restart(&pf, jv_null()) == 0, "restart (a server that cannot resume)");
  ok(pf.resume_from == 0 && pf.end == 0 && pf.flushed == 0, "the offsets start from zero again");
  ok(write_pattern(&pf, 0, 3 * MIB) == 0, "write 3 MiB");
  ok(upg_partfile_commit(&pf, &doc) == 0 && pattern_matches(in_dir("again"), 3 * MIB),
     "the committed file is the 3 MiB written after the truncate");
  jv_free(doc);
}

static jv
parse(const char *json)
{
  return jv_parse(json);
}

static bool
same(const char *a, const char *b)
{
  jv x = parse(a), y = parse(b);
  bool r = upg_provenance_same_version(x, y);
  jv_free(x);
  jv_free(y);
  return r;
}

static void
test_version_rule(void)
{
  ok(same("{\"etag\":\"\\\"a\\\"\",\"size\":10}", "{\"etag\":\"\\\"a\\\"\",\"size\":10}"), "same ETag and size: same");
  ok(!same("{\"etag\":\"\\\"a\\\"\",\"size\":10}", "{\"etag\":\"\\\"b\\\"\",\"size\":10}"), "another ETag: changed");
  ok(same("{\"etag\":\"x\",\"last_modified\":\"Mon\"}", "{\"etag\":\"x\",\"last_modified\":\"Tue\"}"),
     "an equal strong ETag decides alone");
  ok(same("{\"last_modified\":\"Mon\",\"size\":3}", "{\"last_modified\":\"Mon\",\"size\":3}"), "same Last-Modified");
  ok(!same("{\"last_modified\":\"Mon\"}", "{\"last_modified\":\"Tue\"}"), "another Last-Modified: changed");
  ok(same("{\"size\":10}", "{\"size\":10}"), "no validator, same size: same");
  ok(!same("{\"size\":10}", "{\"size\":11}"), "no validator, another size: changed");
  ok(!same("{\"etag\":\"x\",\"size\":10}", "{\"size\":10}"), "an ETag that went away: changed");
  ok(!same("{}", "{}"), "nothing known: never the same");
  ok(!same("null", "{\"size\":10}"), "no recorded version: never the same");
  ok(!same("{\"size\":10,\"mtime\":5}", "{\"size\":10,\"mtime\":6}"), "SFTP: another mtime: changed");
}

/* Write N bytes of the pattern to NAME.part for origin WHICH, recording
 * VALIDATORS, and leave it as an interrupted transfer does. */
static void
leave_part(const char *name, const char *which, const char *validators, long n)
{
  upg_partfile pf;
  jv doc = jv_null();
  if (open_part(&pf, name, which, true, &doc) == 0) {
    upg_partfile_restart(&pf, parse(validators));
    write_pattern(&pf, 0, n);
    upg_partfile_abandon(&pf);
  }
  jv_free(doc);
}

static void
test_origin(void)
{
  upg_partfile pf;
  jv doc = jv_null();

  leave_part("o", "A", "{\"size\":100000}", 50000);
  ok(open_part(&pf, "o", "A", false, &doc) == 0 && pf.end == 50000 && pf.resume_from == 50000,
     "the same origin resumes");
  ok(upg_partfile_version(&pf, parse("{\"size\":100000}")) == UPG_PART_SAME && pf.end == 50000,
     "and the same version keeps the bytes");
  ok(upg_partfile_version(&pf, parse("{\"size\":100001}")) == UPG_PART_RESTARTED && pf.end == 0
     && pf.resume_from == 0 && size_of(in_dir("o.part")) == 0,
     "another version empties the part file");
  upg_partfile_abandon(&pf);
  ok(size_of(in_dir("o.part")) == -1 && size_of(in_dir("o.part.meta")) == -1,
     "an empty part file is removed with its record");

  leave_part("o", "A", "{\"size\":100000}", 50000);
  ok(open_part(&pf, "o", "B", false, &doc) == 0 && pf.end == 0 && pf.resume_from == 0,
     "another origin starts over");
  upg_partfile_abandon(&pf);

  leave_part("o", "A", "{\"size\":100000}", 50000);
  unlink(in_dir("o.part.meta"));
  ok(open_part(&pf, "o", "A", false, &doc) == 2 && size_of(in_dir("o.part")) == 50000,
     "a .part without a record is refused and left as it is");
  jv_free(doc);
  doc = jv_null();
  int fd = open(in_dir("o.part.meta"), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  ok(fd >= 0 && write(fd, "{\"version\": 3, \"origin\": {\"request\": \"A\"}}", 43) == 43 && close(fd) == 0,
     "(set-up: a record of a version we do not know)");
  ok(open_part(&pf, "o", "A", false, &doc) == 2, "is no record: refused too");
  jv_free(doc);
  doc = jv_null();
  ok(open_part(&pf, "o", "A", true, &doc) == 0 && pf.end == 0, "--force starts it over");
  upg_partfile_abandon(&pf);
}

static void
test_fifo_and_lock(void)
{
  upg_partfile pf, other;
  jv doc = jv_null();

  ok(mkfifo(in_dir("fifo.part"), 0600) == 0, "(set-up: a FIFO at fifo.part)");
  ok(open_part(&pf, "fifo", "A", false, &doc) == 2, "a FIFO at FILE.part is refused, without blocking");
  jv_free(doc);
  doc = jv_null();
  ok(open_part(&pf, "locked", "A", false, &doc) == 0, "open a part file");
  ok(open_part(&other, "locked", "A", false, &doc) == 2, "a second transfer to it is refused while it runs");
  jv_free(doc);
  upg_partfile_abandon(&pf);
}

static void
test_partial_write(void)
{
  upg_partfile pf;
  jv doc = jv_null();
  struct rlimit old, lim;

  ok(open_part(&pf, "limited", "A", false, &doc) == 0, "open");
  getrlimit(RLIMIT_FSIZE, &old);
  lim = old;
  lim.rlim_cur = 100 * 1024;
  signal(SIGXFSZ, SIG_IGN);
  setrlimit(RLIMIT_FSIZE, &lim);
  int rc = write_pattern(&pf, 0, MIB / 4);
  int err = errno;
  setrlimit(RLIMIT_FSIZE, &old);
  ok(rc == -1 && err == EFBIG, "a write past the file-size limit fails (EFBIG)");
  ok(pf.end == 100 * 1024, "end counts the bytes that did reach the file (%lld)", (long long)pf.end);
  upg_partfile_abandon(&pf);
  ok(size_of(in_dir("limited.part")) == 100 * 1024 && pattern_matches(in_dir("limited.part"), 100 * 1024),
     "abandoned: they stay, to resume");
}

/* Write the pattern's bytes [FROM, TO) at their offsets. */
static int
pwrite_pattern(upg_partfile *pf, long from, long to)
{
  static unsigned char buf[64 * 1024];
  for (long at = from; at < to;) {
    long n = to - at < (long)sizeof buf ? to - at : (long)sizeof buf;
    for (long i = 0; i < n; i++)
      buf[i] = byte_at(at + i);
    if (upg_partfile_pwrite(pf, buf, (size_t)n, at) != 0)
      return -1;
    at += n;
  }
  return 0;
}

static const char *
record_version(const char *name)
{
  static char text[16];
  char part[256];
  snprintf(part, sizeof part, "%s", in_dir(name));
  jv rec = upg_provenance_read(part);
  jv v = jv_is_valid(rec) ? jv_object_get(rec, jv_string("version")) : (jv_free(rec), jv_null());
  snprintf(text, sizeof text, "%g", jv_get_kind(v) == JV_KIND_NUMBER ? jv_number_value(v) : -1.0);
  jv_free(v);
  return text;
}

/* A parallel transfer's .part: holes only under a version 2 record, the
 * record's segments handed back on resume, and a one-stream transfer
 * keeping only the done prefix. */
static void
test_segmented(void)
{
  upg_partfile pf;
  upg_segments sg;
  jv doc = jv_null();
  const long chunk = 64 * 1024, size = 10 * chunk;

  ok(upg_partfile_open_segmented(&pf, &settings, in_dir("seg"), origin("A"), false, &doc) == 0, "open segmented");
  ok(pwrite_pattern(&pf, 3 * chunk, 4 * chunk) == -1 && errno == EINVAL,
     "a write off the prefix is refused before a version 2 record");
  upg_partfile_restart(&pf, parse("{\"size\":655360}"));
  upg_segments_init(&sg, size, chunk);
  ok(upg_partfile_record_segments(&pf, upg_segments_to_jv(&sg)) == 0, "record the segments");
  is_str(record_version("seg.part"), "2", "the record is version 2");
  ok(pwrite_pattern(&pf, 3 * chunk, 4 * chunk) == 0 && pwrite_pattern(&pf, 0, 2 * chunk) == 0
     && pwrite_pattern(&pf, 6 * chunk, 7 * chunk) == 0 && pf.end == 7 * chunk, "write chunks 0, 1, 3 and 6");
  upg_segments_written(&sg, 0);
  upg_segments_written(&sg, 1);
  upg_segments_written(&sg, 3);
  upg_segments_written(&sg, 6);
  ok(upg_partfile_sync(&pf) == 0 && upg_segments_settle(&sg) == 4, "sync, then they are done");
  upg_partfile_record_segments(&pf, upg_segments_to_jv(&sg));
  upg_segments_free(&sg);
  upg_partfile_abandon(&pf);

  ok(upg_partfile_open_segmented(&pf, &settings, in_dir("seg"), origin("A"), false, &doc) == 0
     && upg_segments_from_jv(&sg, jv_copy(pf.segments)) == 0 && upg_segments_done_bytes(&sg) == 4 * chunk
     && sg.state[3] == UPG_CHUNK_DONE && sg.state[2] == UPG_CHUNK_TODO,
     "a segmented resume gets the recorded chunks back");
  ok(pwrite_pattern(&pf, 2 * chunk, 3 * chunk) == 0, "and may write at once (its record is version 2)");
  upg_segments_written(&sg, 2);
  upg_partfile_sync(&pf);
  upg_segments_settle(&sg);
  upg_partfile_record_segments(&pf, upg_segments_to_jv(&sg));
  upg_segments_free(&sg);
  upg_partfile_abandon(&pf);

  ok(open_part(&pf, "seg", "A", false, &doc) == 0 && pf.end == 4 * chunk && pf.resume_from == 4 * chunk
     && jv_get_kind(pf.segments) == JV_KIND_NULL, "a one-stream resume keeps the done prefix (chunks 0-3)");
  ok(size_of(in_dir("seg.part")) == 4 * chunk && pattern_matches(in_dir("seg.part"), 4 * chunk),
     "the file is cut to it, byte-exact");
  is_str(record_version("seg.part"), "1", "and its record is version 1 again");
  upg_partfile_abandon(&pf);

  ok(upg_partfile_open_segmented(&pf, &settings, in_dir("seg"), origin("A"), false, &doc) == 0
     && jv_get_kind(pf.segments) == JV_KIND_NULL && pf.end == 4 * chunk,
     "a segmented open of a one-stream .part: no segments, the prefix in end");
  ok(pwrite_pattern(&pf, 8 * chunk, 9 * chunk) == -1, "no hole before its version 2 record");
  upg_partfile_abandon(&pf);
  jv_free(doc);
}

/* A transfer's "seconds" is rounded to the millisecond, not cut. */
static void
test_summary_seconds(void)
{
  jv sum = upg_transfer_summary("f", 10, 0, 10, 1.2346);
  jv secs = jv_object_get(sum, jv_string("seconds"));
  ok(jv_number_value(secs) == 1.235, "seconds rounded to the millisecond (%g)", jv_number_value(secs));
  jv_free(secs);
}

int
main(void)
{
  if (!mkdtemp(dir)) {
    printf("Bail out! mkdtemp: %s\n", strerror(errno));
    return 1;
  }
  umask(022); /* the 0600 must come from the code, not from the umask */
  test_refusals();
  test_write_resume_commit();
  test_truncate();
  test_version_rule();
  test_origin();
  test_fifo_and_lock();
  test_partial_write();
  test_segmented();
  test_summary_seconds();
  const char *names[] = { "exists", "link.part", "elsewhere", "dump", "again", "o.part", "o.part.meta",
                          "fifo.part", "limited.part", "limited.part.meta", "seg.part", "seg.part.meta" };
  for (size_t i = 0; i < sizeof names / sizeof *names; i++)
    unlink(in_dir(names[i]));
  rmdir(dir);
  return tap_done();
}
