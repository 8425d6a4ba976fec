/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Unit tests: a zip's names and sizes against what it declared
 * (plugin/core/pg/zip_limits.c). */
#include "config.h"

#include <limits.h>

#include "tap.h"
#include "upgrade/zip_limits.h"

static void
names(void)
{
  upg_zip_names set = { 0 };
  upg_zip_names_add(&set, "dump.sql");
  upg_zip_names_add(&set, "filestore/ab/");
  upg_zip_names_add(&set, "filestore/ab/abc");
  is_str(upg_zip_names_repeat(&set), NULL, "distinct names: no repeat");
  upg_zip_names_add(&set, "dump.sql");
  is_str(upg_zip_names_repeat(&set), "dump.sql", "a second dump.sql is a repeat");
  upg_zip_names_free(&set);
  ok(set.n == 0 && set.v == NULL, "freed and reset");

  upg_zip_names_add(&set, "filestore/ab");
  upg_zip_names_add(&set, "x");
  upg_zip_names_add(&set, "filestore/ab/");
  is_str(upg_zip_names_repeat(&set), "filestore/ab", "a directory and a file of one path are a repeat");
  upg_zip_names_free(&set);

  upg_zip_names_add(&set, "Dump.sql");
  upg_zip_names_add(&set, "dump.sql");
  is_str(upg_zip_names_repeat(&set), NULL, "names differ by case: two paths (Linux)");
  upg_zip_names_free(&set);

  for (int i = 0; i < 1000; i++) {
    char name[32];
    snprintf(name, sizeof name, "filestore/%03d/%d", i % 997, i);
    upg_zip_names_add(&set, name);
  }
  is_str(upg_zip_names_repeat(&set), NULL, "1000 distinct names (the set grows)");
  upg_zip_names_add(&set, "filestore/500/500");
  is_str(upg_zip_names_repeat(&set), "filestore/500/500", "a repeat among 1000 is found");
  upg_zip_names_free(&set);
  is_str(upg_zip_names_repeat(&set), NULL, "an empty set has no repeat");
}

static void
sizes(void)
{
  ok(upg_zip_within(10, 0, 10), "exactly the declared size");
  ok(!upg_zip_within(10, 0, 11), "one byte more than declared");
  ok(!upg_zip_within(10, 10, 1), "a byte after the declared end");
  ok(upg_zip_within(10, 10, 0), "an empty block at the end");
  ok(upg_zip_within(0, 0, 0), "an empty entry");
  ok(!upg_zip_within(0, 0, 1), "an empty entry that yields a byte");
  ok(!upg_zip_within(-1, 0, 1), "no declared size: nothing is within");
  ok(upg_zip_within(LLONG_MAX, LLONG_MAX - 5, 5), "near LLONG_MAX without overflow");
  ok(!upg_zip_within(LLONG_MAX, LLONG_MAX - 5, 6), "past LLONG_MAX");

  long long total = 0;
  ok(upg_zip_add_size(&total, 5) == 0 && upg_zip_add_size(&total, 7) == 0 && total == 12, "sums");
  ok(upg_zip_add_size(&total, -1) == -1 && total == 12, "a negative size is refused");
  total = LLONG_MAX - 1;
  ok(upg_zip_add_size(&total, 2) == -1 && total == LLONG_MAX - 1, "an overflowing sum is refused");

  ok(upg_free_bytes(100, 4096) == 409600, "blocks times block size");
  ok(upg_free_bytes(0, 4096) == 0, "a full filesystem");
  ok(upg_free_bytes(ULLONG_MAX / 2, 4096) == LLONG_MAX, "saturated, not wrapped");
  ok(upg_free_bytes(12, 0) == 0, "a zero block size");
}

int
main(void)
{
  names();
  sizes();
  return tap_done();
}
