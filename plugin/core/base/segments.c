/* SPDX-License-Identifier: GPL-3.0-or-later */
/* segments.c -- the chunks of a parallel transfer (see segments.h). */
#include "config.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "upgrade/segments.h"

/* Past this a record is not ours (8 MiB chunks: 32 TiB); it also bounds
 * what a damaged record can make us allocate (25 bytes a chunk). */
#define MAX_CHUNKS ((size_t)1 << 22)
/* Sizes beyond 2^53 would not survive a JSON number. */
#define MAX_BYTES 9007199254740992.0

int
upg_segments_init(upg_segments *sg, long long size, long long chunk)
{
  memset(sg, 0, sizeof *sg);
  if (size < 0 || chunk <= 0 || (double)size > MAX_BYTES)
    return -1;
  long long count = size / chunk + (size % chunk != 0);
  if ((unsigned long long)count > MAX_CHUNKS)
    return -1;
  size_t slots = count ? (size_t)count : 1;
  sg->state = calloc(slots, 1); /* calloc: all TODO, nothing held */
  sg->held = calloc(3 * slots, sizeof *sg->held);
  if (!sg->state || !sg->held) {
    upg_segments_free(sg);
    return -1;
  }
  sg->sealed = sg->held + slots;
  sg->durable = sg->sealed + slots;
  sg->size = size;
  sg->chunk = chunk;
  sg->count = (size_t)count;
  return 0;
}

void
upg_segments_free(upg_segments *sg)
{
  free(sg->state);
  free(sg->held);
  memset(sg, 0, sizeof *sg);
}

long long
upg_segments_start(const upg_segments *sg, size_t i)
{
  return (long long)i * sg->chunk;
}

long long
upg_segments_length(const upg_segments *sg, size_t i)
{
  long long start = upg_segments_start(sg, i);
  return sg->size - start < sg->chunk ? sg->size - start : sg->chunk;
}

size_t
upg_segments_index(const upg_segments *sg, long long offset)
{
  return (size_t)(offset / sg->chunk);
}

/* Chunk I may join a run another chunk starts: nothing of it is held, so
 * its bytes are asked for from its first. */
static bool
joinable(const upg_segments *sg, size_t i)
{
  return sg->state[i] == UPG_CHUNK_TODO && sg->held[i] == 0;
}

bool
upg_segments_claim(upg_segments *sg, size_t max, size_t *first, size_t *n)
{
  size_t i = 0;
  while (i < sg->count && sg->state[i] != UPG_CHUNK_TODO)
    i++;
  if (i == sg->count || max == 0)
    return false;
  *first = i;
  sg->state[i++] = UPG_CHUNK_CLAIMED;
  for (*n = 1; i < sg->count && *n < max && joinable(sg, i); i++, (*n)++)
    sg->state[i] = UPG_CHUNK_CLAIMED;
  return true;
}

long long
upg_segments_resume_at(const upg_segments *sg, size_t i)
{
  return upg_segments_start(sg, i) + sg->held[i];
}

void
upg_segments_release(upg_segments *sg, size_t first, size_t n)
{
  for (size_t i = first; i < first + n && i < sg->count; i++)
    if (sg->state[i] == UPG_CHUNK_CLAIMED)
      sg->state[i] = UPG_CHUNK_TODO;
}

void
upg_segments_progress(upg_segments *sg, size_t i, long long bytes)
{
  if (i >= sg->count || sg->state[i] == UPG_CHUNK_DONE || bytes <= sg->held[i])
    return;
  long long len = upg_segments_length(sg, i);
  sg->held[i] = bytes < len ? bytes : len;
  if (sg->held[i] == len && sg->state[i] != UPG_CHUNK_SEALED)
    sg->state[i] = UPG_CHUNK_WRITTEN;
}

void
upg_segments_written(upg_segments *sg, size_t i)
{
  if (i < sg->count)
    upg_segments_progress(sg, i, upg_segments_length(sg, i));
}

/* Chunks in state FROM become TO; how many did. */
static size_t
promote(upg_segments *sg, unsigned char from, unsigned char to)
{
  size_t n = 0;
  for (size_t i = 0; i < sg->count; i++)
    if (sg->state[i] == from) {
      sg->state[i] = to;
      n++;
    }
  return n;
}

/* The part of a chunk not yet whole that is held (LEVEL: sg->held) or
 * sealed becomes the next level (sealed, durable); how many grew. */
static size_t
lift_partial(upg_segments *sg, const long long *from, long long *to)
{
  size_t n = 0;
  for (size_t i = 0; i < sg->count; i++)
    if (sg->state[i] != UPG_CHUNK_DONE && from[i] > to[i]) {
      to[i] = from[i];
      n++;
    }
  return n;
}

size_t
upg_segments_settle(upg_segments *sg)
{
  lift_partial(sg, sg->held, sg->durable);
  return promote(sg, UPG_CHUNK_WRITTEN, UPG_CHUNK_DONE);
}

size_t
upg_segments_seal(upg_segments *sg)
{
  promote(sg, UPG_CHUNK_WRITTEN, UPG_CHUNK_SEALED);
  size_t n = 0;
  for (size_t i = 0; i < sg->count; i++) {
    bool partial = sg->state[i] != UPG_CHUNK_SEALED && sg->state[i] != UPG_CHUNK_DONE;
    if (partial && sg->held[i] > sg->sealed[i])
      sg->sealed[i] = sg->held[i];
    n += sg->state[i] == UPG_CHUNK_SEALED || (partial && sg->sealed[i] > sg->durable[i]);
  }
  return n;
}

size_t
upg_segments_settle_sealed(upg_segments *sg)
{
  lift_partial(sg, sg->sealed, sg->durable);
  return promote(sg, UPG_CHUNK_SEALED, UPG_CHUNK_DONE);
}

void
upg_segments_mark_done(upg_segments *sg, size_t i)
{
  if (i < sg->count)
    sg->state[i] = UPG_CHUNK_DONE;
}

void
upg_segments_done_before(upg_segments *sg, long long offset)
{
  for (size_t i = 0; i < sg->count && upg_segments_start(sg, i) < offset; i++) {
    long long in = offset - upg_segments_start(sg, i);
    if (in >= upg_segments_length(sg, i))
      sg->state[i] = UPG_CHUNK_DONE;
    else if (sg->state[i] != UPG_CHUNK_DONE && in > sg->durable[i])
      sg->held[i] = sg->sealed[i] = sg->durable[i] = in;
  }
}

size_t
upg_segments_todo(const upg_segments *sg)
{
  size_t n = 0;
  for (size_t i = 0; i < sg->count; i++)
    n += sg->state[i] == UPG_CHUNK_TODO;
  return n;
}

/* Bytes of chunk I known durable: all of a DONE one, else its durable
 * head. */
static long long
durable_bytes(const upg_segments *sg, size_t i)
{
  return sg->state[i] == UPG_CHUNK_DONE ? upg_segments_length(sg, i) : sg->durable[i];
}

long long
upg_segments_done_bytes(const upg_segments *sg)
{
  long long bytes = 0;
  for (size_t i = 0; i < sg->count; i++)
    bytes += durable_bytes(sg, i);
  return bytes;
}

long long
upg_segments_done_prefix(const upg_segments *sg)
{
  size_t i = 0;
  while (i < sg->count && sg->state[i] == UPG_CHUNK_DONE)
    i++;
  return i == sg->count ? sg->size : upg_segments_start(sg, i) + sg->durable[i];
}

long long
upg_segments_done_end(const upg_segments *sg)
{
  for (size_t i = sg->count; i > 0; i--)
    if (durable_bytes(sg, i - 1) > 0)
      return upg_segments_start(sg, i - 1) + durable_bytes(sg, i - 1);
  return 0;
}

bool
upg_segments_complete(const upg_segments *sg)
{
  for (size_t i = 0; i < sg->count; i++)
    if (sg->state[i] != UPG_CHUNK_DONE)
      return false;
  return true;
}

/* [[INDEX, BYTES], ...]: the durable heads of the chunks not done. */
static jv
partial_to_jv(const upg_segments *sg)
{
  jv heads = jv_array();
  for (size_t i = 0; i < sg->count; i++)
    if (sg->state[i] != UPG_CHUNK_DONE && sg->durable[i] > 0)
      heads = jv_array_append(heads, JV_ARRAY(jv_number((double)i), jv_number((double)sg->durable[i])));
  return heads;
}

jv
upg_segments_to_jv(const upg_segments *sg)
{
  jv runs = jv_array();
  for (size_t i = 0; i < sg->count;) {
    if (sg->state[i] != UPG_CHUNK_DONE) {
      i++;
      continue;
    }
    size_t first = i;
    while (i < sg->count && sg->state[i] == UPG_CHUNK_DONE)
      i++;
    runs = jv_array_append(runs, JV_ARRAY(jv_number((double)first), jv_number((double)i)));
  }
  jv rec = JV_OBJECT(jv_string("size"), jv_number((double)sg->size), jv_string("chunk"),
                     jv_number((double)sg->chunk), jv_string("done"), runs);
  jv heads = partial_to_jv(sg);
  if (jv_array_length(jv_copy(heads)) == 0) { /* as records were before heads */
    jv_free(heads);
    return rec;
  }
  return jv_object_set(rec, jv_string("partial"), heads);
}

/* FIELD of OBJ as a whole number from LOW to HIGH, else -1. */
static double
whole(jv obj, const char *field, double low, double high)
{
  jv v = jv_object_get(jv_copy(obj), jv_string(field));
  double x = jv_get_kind(v) == JV_KIND_NUMBER ? jv_number_value(v) : -1;
  jv_free(v);
  return x >= low && x <= high && x == floor(x) ? x : -1;
}

/* Element I of the pair RUN as a whole number, else -1. */
static double
pair_at(jv run, int i)
{
  jv v = jv_array_get(jv_copy(run), i);
  double x = jv_get_kind(v) == JV_KIND_NUMBER ? jv_number_value(v) : -1;
  jv_free(v);
  return x >= 0 && x == floor(x) ? x : -1;
}

/* Mark the runs of RUNS done; false when one is malformed, out of order
 * or past the end. */
static bool
mark_runs(upg_segments *sg, jv runs)
{
  double after = 0; /* each run starts at or after the previous end */
  jv_array_foreach(runs, k, run) {
    bool good = jv_get_kind(run) == JV_KIND_ARRAY && jv_array_length(jv_copy(run)) == 2;
    double first = good ? pair_at(run, 0) : -1, end = good ? pair_at(run, 1) : -1;
    jv_free(run);
    if (first < after || end <= first || end > (double)sg->count)
      return false;
    for (size_t i = (size_t)first; i < (size_t)end; i++)
      sg->state[i] = UPG_CHUNK_DONE;
    after = end;
    (void)k;
  }
  return true;
}

/* Mark the heads of PARTIAL (consumed; absent in records written before
 * chunks had heads: null) held and durable; false when one is malformed,
 * out of order, of a chunk done, or not shorter than its chunk. */
static bool
mark_partial(upg_segments *sg, jv partial)
{
  if (!jv_is_valid(partial) || jv_get_kind(partial) == JV_KIND_NULL) {
    jv_free(partial);
    return true;
  }
  bool good = jv_get_kind(partial) == JV_KIND_ARRAY;
  double after = 0; /* chunk indexes strictly increase */
  if (good)
    jv_array_foreach(partial, k, head) {
      bool pair = jv_get_kind(head) == JV_KIND_ARRAY && jv_array_length(jv_copy(head)) == 2;
      double i = pair ? pair_at(head, 0) : -1, bytes = pair ? pair_at(head, 1) : -1;
      jv_free(head);
      if (i < after || i >= (double)sg->count || bytes <= 0 || sg->state[(size_t)i] == UPG_CHUNK_DONE
          || bytes >= (double)upg_segments_length(sg, (size_t)i)) {
        good = false;
        break;
      }
      sg->held[(size_t)i] = sg->sealed[(size_t)i] = sg->durable[(size_t)i] = (long long)bytes;
      after = i + 1;
      (void)k;
    }
  jv_free(partial);
  return good;
}

int
upg_segments_from_jv(upg_segments *sg, jv record)
{
  memset(sg, 0, sizeof *sg);
  int rc = -1;
  if (jv_get_kind(record) != JV_KIND_OBJECT)
    goto out;
  double size = whole(record, "size", 0, MAX_BYTES), chunk = whole(record, "chunk", 1, MAX_BYTES);
  jv runs = jv_object_get(jv_copy(record), jv_string("done"));
  if (size >= 0 && chunk >= 1 && jv_get_kind(runs) == JV_KIND_ARRAY
      && upg_segments_init(sg, (long long)size, (long long)chunk) == 0) {
    rc = mark_runs(sg, runs) && mark_partial(sg, jv_object_get(jv_copy(record), jv_string("partial"))) ? 0 : -1;
    if (rc)
      upg_segments_free(sg);
  }
  jv_free(runs);
out:
  jv_free(record);
  return rc;
}
