/* SPDX-License-Identifier: GPL-3.0-or-later */
/* segments.h -- which parts of a file a parallel transfer holds.
 *
 * A file of SIZE bytes is cut into chunks of CHUNK bytes (the last one
 * shorter).  Streams claim chunks that are still to do, write them at
 * their offsets, and report each one written; a chunk counts as done --
 * in memory and in the record -- only once the caller has made its bytes
 * durable (fdatasync) and called upg_segments_settle.  So a record read
 * back after a crash never claims bytes the disk may not hold.
 *
 * A stream writes a chunk from its first byte on, so what it holds of a
 * chunk not yet whole is a head: the chunk's first HELD bytes.  Heads go
 * through the same three steps (held, sealed for a sync, durable and
 * recorded), so that a kill loses at most what was written since the
 * last checkpoint, not the whole chunk a stream was in; a stream that
 * takes over such a chunk (a resume, or another stream's failure) asks
 * only for its bytes past the head (upg_segments_resume_at).
 *
 * Pure bookkeeping: no I/O, no clock.  The state (de)serializes as a jv
 * for the provenance record (provenance.h, "segments" of a version 2
 * record):
 *
 *   {"size": SIZE, "chunk": CHUNK, "done": [[FIRST, END], ...],
 *    "partial": [[INDEX, BYTES], ...]}
 *
 * "done" lists runs of done chunks by index, END exclusive, in order and
 * apart: a transfer that mostly went in order writes a handful of runs.
 * "partial" lists the durable heads of chunks not done (0 < BYTES < the
 * chunk's length), by increasing index.  A record without "partial" (one
 * written before heads were kept) means what it always meant: no heads;
 * a reader that ignores "partial" only asks again for bytes it has, so
 * the record's version stays 2.
 *
 * Ownership: an upg_segments holds two malloc'd arrays, freed by
 * upg_segments_free (which may be called on a zeroed one).
 */
#ifndef UPGRADE_SEGMENTS_H
#define UPGRADE_SEGMENTS_H

#include <stdbool.h>
#include <stddef.h>
#include <jv.h>

#define UPG_SEGMENT_CHUNK (8LL * 1024 * 1024)

enum upg_chunk_state {
  UPG_CHUNK_TODO,    /* no stream has it */
  UPG_CHUNK_CLAIMED, /* a stream is fetching it */
  UPG_CHUNK_WRITTEN, /* its bytes are written, not yet known durable */
  UPG_CHUNK_SEALED,  /* written, and a sync that covers it is under way */
  UPG_CHUNK_DONE     /* durable and recorded */
};

typedef struct upg_segments {
  long long size;       /* the whole file */
  long long chunk;      /* bytes per chunk */
  size_t count;         /* chunks: ceil(size / chunk); 0 for an empty file */
  unsigned char *state; /* count entries of enum upg_chunk_state */
  /* Per chunk not DONE, bytes of its head: written (a put: acknowledged),
   * covered by the sync under way, durable and recorded.  One malloc'd
   * block of 3 * count: held, then sealed, then durable. */
  long long *held, *sealed, *durable;
} upg_segments;

/* SIZE >= 0 bytes in chunks of CHUNK > 0 bytes, all to do.  0, or -1
 * (bad arguments, or no memory). */
int upg_segments_init(upg_segments *sg, long long size, long long chunk);
void upg_segments_free(upg_segments *sg);

/* Chunk I's first byte and length. */
long long upg_segments_start(const upg_segments *sg, size_t i);
long long upg_segments_length(const upg_segments *sg, size_t i);
/* The chunk that holds byte OFFSET (OFFSET < size). */
size_t upg_segments_index(const upg_segments *sg, long long offset);

/* Claim a run of at most MAX consecutive chunks to do, starting with the
 * first chunk to do: *first and *n are set, and the chunks are CLAIMED.
 * Only the first may have a head: the run's bytes start at
 * upg_segments_resume_at(sg, *first).  False when nothing is left to
 * claim. */
bool upg_segments_claim(upg_segments *sg, size_t max, size_t *first, size_t *n);
/* Where a stream that claimed chunk I starts: past its head. */
long long upg_segments_resume_at(const upg_segments *sg, size_t i);
/* Give back what a stream had claimed and not written (its connection
 * failed): CLAIMED chunks from FIRST for N become TODO again. */
void upg_segments_release(upg_segments *sg, size_t first, size_t n);
/* The first BYTES of chunk I are written (not yet durable); all of them:
 * the chunk is WRITTEN.  A head never shrinks. */
void upg_segments_progress(upg_segments *sg, size_t i, long long bytes);
/* Chunk I's bytes are all written (not yet durable). */
void upg_segments_written(upg_segments *sg, size_t i);
/* The caller made every written byte durable: WRITTEN chunks become DONE
 * and the heads written are durable.  Returns how many chunks became
 * DONE. */
size_t upg_segments_settle(upg_segments *sg);
/* The same in two steps, for callers whose streams go on writing while
 * the sync runs: seal (WRITTEN chunks become SEALED and the heads written
 * so far are sealed; returns how many chunks are SEALED or have a sealed
 * head not yet durable: 0, nothing to sync), sync, then settle the sealed
 * ones (SEALED become DONE, sealed heads durable; returns how many chunks
 * became DONE).  What is written during the sync waits for the next
 * round. */
size_t upg_segments_seal(upg_segments *sg);
size_t upg_segments_settle_sealed(upg_segments *sg);
/* Mark chunk I done outright (a resumed record, or a prefix known to be
 * on disk). */
void upg_segments_mark_done(upg_segments *sg, size_t i);
/* Every byte before OFFSET is done: the chunks it covers whole are DONE,
 * the one it ends in has that head, durable (the contiguous prefix a
 * one-stream .part holds). */
void upg_segments_done_before(upg_segments *sg, long long offset);

/* Chunks to do (neither claimed, written nor done). */
size_t upg_segments_todo(const upg_segments *sg);
/* Bytes of the chunks that are DONE and of the durable heads. */
long long upg_segments_done_bytes(const upg_segments *sg);
/* Bytes from 0 up to the first chunk not DONE, and its durable head. */
long long upg_segments_done_prefix(const upg_segments *sg);
/* The end of the last DONE chunk or durable head (0 when none is): a
 * file shorter than that cannot hold what the record says. */
long long upg_segments_done_end(const upg_segments *sg);
/* Every chunk is DONE. */
bool upg_segments_complete(const upg_segments *sg);

/* The record of the DONE chunks (a new jv; see the top of this file). */
jv upg_segments_to_jv(const upg_segments *sg);
/* Rebuild SG from RECORD (consumed): the DONE chunks are done, the rest
 * to do, the heads held and durable.  -1 when RECORD is not such an
 * object (wrong types, a size or chunk out of range, runs out of order
 * or past the end, a head out of order, of a done chunk, empty or whole);
 * SG is then zeroed: a record that cannot be read vouches for nothing. */
int upg_segments_from_jv(upg_segments *sg, jv record);

#endif
