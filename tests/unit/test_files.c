/* test_files.c -- the part file of a download (plugin/core/files.c):
 * refusals, appending across the write-behind threshold, resume, truncate
 * and the final rename. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tap.h"
#include "upgrade/files.h"

#define MIB (1024L * 1024)

static char dir[] = "/tmp/test_files.XXXXXX";

static char *
in_dir(const char *name)
{
  static char path[256];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  return path;
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
  ok(upg_partfile_open(&pf, in_dir("exists"), false, &doc) == 2, "an existing FILE is refused without force");
  jv_free(doc);
  doc = jv_null();

  char target[256];
  snprintf(target, sizeof target, "%s", in_dir("elsewhere")); /* in_dir's buffer is reused */
  ok(symlink(target, in_dir("link.part")) == 0, "(set-up: a symlink at link.part)");
  ok(upg_partfile_open(&pf, in_dir("link"), false, &doc) == 2, "a symlink at FILE.part is refused");
  ok(size_of(in_dir("elsewhere")) == -1, "and nothing was written through it");
  jv_free(doc);
}

static void
test_write_resume_commit(void)
{
  upg_partfile pf;
  jv doc = jv_null();
  const char *out = "dump";

  ok(upg_partfile_open(&pf, in_dir(out), false, &doc) == 0, "open a new part file");
  ok(pf.resume_from == 0 && pf.end == 0, "it starts empty");
  ok(write_pattern(&pf, 0, 20 * MIB) == 0, "write 20 MiB");
  ok(pf.end == 20 * MIB, "end counts what was written");
  ok(pf.flushed > 0 && pf.flushed <= pf.end && pf.end - pf.flushed < 8 * MIB,
     "writeback was started as we went (flushed %lld of %lld)", (long long)pf.flushed, (long long)pf.end);
  upg_partfile_abandon(&pf); /* as an interrupted download does */
  ok(size_of(in_dir("dump.part")) == 20 * MIB && size_of(in_dir(out)) == -1,
     "abandoned: FILE.part keeps its bytes, no FILE");

  ok(upg_partfile_open(&pf, in_dir(out), false, &doc) == 0, "open it again");
  ok(pf.resume_from == 20 * MIB && pf.end == 20 * MIB, "resume_from is the part file's size");
  ok(write_pattern(&pf, 20 * MIB, 21 * MIB + 123) == 0, "append the rest");
  ok(upg_partfile_commit(&pf, &doc) == 0, "commit");
  ok(pattern_matches(in_dir(out), 21 * MIB + 123), "FILE holds every byte once, in order");
  ok(size_of(in_dir("dump.part")) == -1, "FILE.part is gone");
  struct stat st;
  ok(stat(in_dir(out), &st) == 0 && (st.st_mode & 0777) == 0600, "FILE is mode 0600");
  jv_free(doc);
}

static void
test_truncate(void)
{
  upg_partfile pf;
  jv doc = jv_null();

  ok(upg_partfile_open(&pf, in_dir("again"), false, &doc) == 0, "open");
  ok(write_pattern(&pf, 0, 9 * MIB) == 0, "write 9 MiB");
  ok(upg_partfile_truncate(&pf) == 0, "truncate (a server that cannot resume)");
  ok(pf.resume_from == 0 && pf.end == 0 && pf.flushed == 0, "the offsets start from zero again");
  ok(write_pattern(&pf, 0, 3 * MIB) == 0, "write 3 MiB");
  ok(upg_partfile_commit(&pf, &doc) == 0 && pattern_matches(in_dir("again"), 3 * MIB),
     "the committed file is the 3 MiB written after the truncate");
  jv_free(doc);
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
  const char *names[] = { "exists", "link.part", "elsewhere", "dump", "again" };
  for (size_t i = 0; i < sizeof names / sizeof *names; i++)
    unlink(in_dir(names[i]));
  rmdir(dir);
  return tap_done();
}
