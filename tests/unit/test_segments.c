/* SPDX-License-Identifier: GPL-3.0-or-later */
/* test_segments.c -- the chunk bookkeeping of a parallel transfer
 * (plugin/core/base/segments.c): cutting, claiming, the written/durable/done
 * steps, and the record round trip with its refusals. */
#include "config.h"

#include <stdlib.h>

#include "tap.h"
#include "upgrade/segments.h"

static void
test_cutting(void)
{
  upg_segments sg;
  ok(upg_segments_init(&sg, 25, 10) == 0 && sg.count == 3, "25 bytes in chunks of 10: 3 chunks");
  ok(upg_segments_start(&sg, 2) == 20 && upg_segments_length(&sg, 2) == 5, "the last chunk is shorter");
  ok(upg_segments_length(&sg, 0) == 10 && upg_segments_index(&sg, 19) == 1, "offsets map to chunks");
  upg_segments_free(&sg);
  ok(upg_segments_init(&sg, 30, 10) == 0 && sg.count == 3 && upg_segments_length(&sg, 2) == 10,
     "an exact multiple: no empty chunk");
  upg_segments_free(&sg);
  ok(upg_segments_init(&sg, 0, 10) == 0 && sg.count == 0 && upg_segments_complete(&sg),
     "an empty file is complete at once");
  upg_segments_free(&sg);
  ok(upg_segments_init(&sg, 10, 0) == -1 && upg_segments_init(&sg, -1, 10) == -1,
     "a chunk of 0 or a negative size is refused");
  ok(upg_segments_init(&sg, 1LL << 50, 1) == -1, "too many chunks is refused");
  upg_segments_free(&sg);
}

static void
test_claiming(void)
{
  upg_segments sg;
  size_t first, n;
  upg_segments_init(&sg, 100, 10);
  ok(upg_segments_claim(&sg, 3, &first, &n) && first == 0 && n == 3, "a run of 3 from the start");
  ok(upg_segments_claim(&sg, 3, &first, &n) && first == 3 && n == 3, "the next run follows");
  ok(upg_segments_todo(&sg) == 4, "4 chunks left to do");
  upg_segments_written(&sg, 3);
  upg_segments_release(&sg, 3, 3);
  ok(sg.state[3] == UPG_CHUNK_WRITTEN && sg.state[4] == UPG_CHUNK_TODO, "release gives back only unwritten chunks");
  ok(upg_segments_claim(&sg, 10, &first, &n) && first == 4 && n == 6, "a claim stops at the end");
  ok(!upg_segments_claim(&sg, 1, &first, &n), "nothing left to claim");
  ok(upg_segments_done_bytes(&sg) == 0 && !upg_segments_complete(&sg), "written is not done");
  ok(upg_segments_settle(&sg) == 1 && sg.state[3] == UPG_CHUNK_DONE, "settle makes written chunks done");
  for (size_t i = 0; i < sg.count; i++)
    upg_segments_written(&sg, i);
  upg_segments_settle(&sg);
  ok(upg_segments_complete(&sg) && upg_segments_done_bytes(&sg) == 100, "all done: complete");
  upg_segments_free(&sg);
}

/* The checkpoint of threaded streams: a chunk written while the sync runs
 * is not claimed durable by it. */
static void
test_sealing(void)
{
  upg_segments sg;
  size_t first, n;
  upg_segments_init(&sg, 40, 10);
  upg_segments_claim(&sg, 4, &first, &n);
  upg_segments_written(&sg, 0);
  upg_segments_written(&sg, 1);
  ok(upg_segments_seal(&sg) == 2 && sg.state[0] == UPG_CHUNK_SEALED, "seal: the written chunks are sealed");
  upg_segments_written(&sg, 2); /* during the sync */
  ok(upg_segments_settle_sealed(&sg) == 2 && sg.state[1] == UPG_CHUNK_DONE && sg.state[2] == UPG_CHUNK_WRITTEN,
     "settle_sealed: the sealed chunks are done, the one written since is not");
  upg_segments_written(&sg, 3);
  ok(upg_segments_seal(&sg) == 2, "the next round seals the chunks written since");
  upg_segments_claim(&sg, 1, &first, &n); /* nothing: all are written */
  ok(upg_segments_seal(&sg) == 2, "a sync that failed leaves its chunks sealed: the next seal counts them");
  ok(upg_segments_settle_sealed(&sg) == 2 && upg_segments_complete(&sg), "then all done");
  ok(upg_segments_todo(&sg) == 0 && upg_segments_done_bytes(&sg) == 40, "sealed chunks are neither to do nor lost");
  upg_segments_free(&sg);
}

static void
test_holes_and_prefix(void)
{
  upg_segments sg;
  size_t first, n;
  upg_segments_init(&sg, 95, 10);
  upg_segments_done_before(&sg, 35);
  ok(upg_segments_done_prefix(&sg) == 35 && upg_segments_done_bytes(&sg) == 35 && sg.state[3] == UPG_CHUNK_TODO,
     "a 35-byte prefix makes 3 whole chunks done and the fourth's 5-byte head durable");
  upg_segments_mark_done(&sg, 5);
  ok(upg_segments_claim(&sg, 5, &first, &n) && first == 3 && n == 2, "a claim stops at a done chunk");
  ok(upg_segments_claim(&sg, 5, &first, &n) && first == 6 && n == 4, "the next claim skips it");
  ok(upg_segments_resume_at(&sg, 3) == 35, "a claimed chunk with a head is asked for past it");
  ok(upg_segments_done_prefix(&sg) == 35, "the prefix ends at the first hole (past the head before it)");
  ok(upg_segments_done_end(&sg) == 60, "the last done chunk ends at 60");
  upg_segments_mark_done(&sg, 9);
  ok(upg_segments_done_end(&sg) == 95, "the short last chunk ends the file");
  upg_segments_free(&sg);
}

static void
test_record(void)
{
  upg_segments sg, back;
  upg_segments_init(&sg, 95, 10);
  upg_segments_mark_done(&sg, 0);
  upg_segments_mark_done(&sg, 1);
  upg_segments_mark_done(&sg, 4);
  upg_segments_mark_done(&sg, 9);
  upg_segments_written(&sg, 6); /* not durable: not recorded */
  jv rec = upg_segments_to_jv(&sg);
  jv text = jv_dump_string(jv_copy(rec), 0);
  is_str(jv_string_value(text), "{\"size\":95,\"chunk\":10,\"done\":[[0,2],[4,5],[9,10]]}",
         "the record lists runs of done chunks");
  jv_free(text);
  ok(upg_segments_from_jv(&back, rec) == 0 && back.count == 10, "it reads back");
  ok(upg_segments_done_bytes(&back) == 35 && back.state[6] == UPG_CHUNK_TODO && back.state[4] == UPG_CHUNK_DONE,
     "with the same done chunks, and the rest to do");
  upg_segments_free(&back);
  upg_segments_free(&sg);

  static const char *const bad[] = {
    "[]", "{}", "{\"size\":95,\"chunk\":10}", "{\"size\":-1,\"chunk\":10,\"done\":[]}",
    "{\"size\":95,\"chunk\":0,\"done\":[]}", "{\"size\":95.5,\"chunk\":10,\"done\":[]}",
    "{\"size\":95,\"chunk\":10,\"done\":[[0,11]]}", "{\"size\":95,\"chunk\":10,\"done\":[[3,2]]}",
    "{\"size\":95,\"chunk\":10,\"done\":[[4,6],[2,3]]}", "{\"size\":95,\"chunk\":10,\"done\":[[0]]}",
    "{\"size\":95,\"chunk\":10,\"done\":[[\"0\",1]]}", "{\"size\":95,\"chunk\":10,\"done\":[[0,1],[0,1]]}",
    "{\"size\":1e300,\"chunk\":1,\"done\":[]}",
  };
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
    ok(upg_segments_from_jv(&back, jv_parse(bad[i])) == -1 && back.state == NULL, "refused: %s", bad[i]);
}

/* Heads of chunks under way: written, sealed for a sync, durable; what
 * is written during the sync waits for the next round. */
static void
test_heads(void)
{
  upg_segments sg;
  size_t first, n;
  upg_segments_init(&sg, 95, 10);
  upg_segments_claim(&sg, 3, &first, &n);
  upg_segments_progress(&sg, 0, 10);
  upg_segments_progress(&sg, 1, 4);
  ok(sg.state[0] == UPG_CHUNK_WRITTEN && sg.state[1] == UPG_CHUNK_CLAIMED && sg.held[1] == 4,
     "a chunk written whole is WRITTEN, the next has a 4-byte head");
  ok(upg_segments_done_bytes(&sg) == 0, "a head written is not durable");
  ok(upg_segments_seal(&sg) == 2, "seal: the whole chunk and the head");
  upg_segments_progress(&sg, 1, 7); /* during the sync */
  upg_segments_progress(&sg, 1, 6); /* a head never shrinks */
  ok(upg_segments_settle_sealed(&sg) == 1 && sg.durable[1] == 4 && upg_segments_done_bytes(&sg) == 14,
     "settle_sealed: the head as sealed (4), not as written since (7)");
  ok(upg_segments_seal(&sg) == 1 && upg_segments_settle_sealed(&sg) == 0 && sg.durable[1] == 7,
     "the next round makes the 7 bytes durable");
  ok(upg_segments_seal(&sg) == 0, "nothing new: nothing to sync");
  upg_segments_release(&sg, 1, 2);
  ok(sg.state[1] == UPG_CHUNK_TODO && upg_segments_claim(&sg, 3, &first, &n) && first == 1 && n == 3,
     "a chunk given back keeps its head, and a run starts at it");
  ok(upg_segments_resume_at(&sg, 1) == 17, "asked for from its head's end");
  upg_segments_progress(&sg, 3, 2);
  upg_segments_release(&sg, 1, 3);
  ok(upg_segments_claim(&sg, 5, &first, &n) && first == 1 && n == 2 && upg_segments_claim(&sg, 5, &first, &n)
     && first == 3 && n == 5, "a run stops before a chunk with a head: it starts one of its own");
  upg_segments_progress(&sg, 1, 10);
  upg_segments_settle(&sg);
  ok(sg.state[1] == UPG_CHUNK_DONE && sg.durable[3] == 2 && upg_segments_done_bytes(&sg) == 22,
     "settle: a whole chunk is done, a head durable");
  upg_segments_progress(&sg, 7, 3);
  upg_segments_settle(&sg);
  ok(upg_segments_done_end(&sg) == 73 && upg_segments_done_bytes(&sg) == 25,
     "settle makes heads durable: the file must reach the head's end");
  upg_segments_free(&sg);
}

/* Heads in the record: written, read back, and refused when they cannot
 * be ours. */
static void
test_record_heads(void)
{
  upg_segments sg, back;
  upg_segments_init(&sg, 95, 10);
  upg_segments_mark_done(&sg, 0);
  upg_segments_progress(&sg, 1, 3);
  upg_segments_progress(&sg, 9, 4);
  upg_segments_settle(&sg);
  upg_segments_progress(&sg, 5, 2); /* not durable: not recorded */
  jv rec = upg_segments_to_jv(&sg);
  jv text = jv_dump_string(jv_copy(rec), 0);
  is_str(jv_string_value(text), "{\"size\":95,\"chunk\":10,\"done\":[[0,1]],\"partial\":[[1,3],[9,4]]}",
         "the record lists the durable heads");
  jv_free(text);
  ok(upg_segments_from_jv(&back, rec) == 0 && upg_segments_done_bytes(&back) == 17
     && upg_segments_resume_at(&back, 9) == 94 && back.held[5] == 0 && upg_segments_done_end(&back) == 94,
     "they read back: held and durable, asked for past their end");
  upg_segments_free(&back);
  upg_segments_free(&sg);
  ok(upg_segments_from_jv(&back, jv_parse("{\"size\":95,\"chunk\":10,\"done\":[[0,1]]}")) == 0
     && upg_segments_done_bytes(&back) == 10, "a record from before heads reads as it did");
  upg_segments_free(&back);
  static const char *const bad[] = {
    "{\"size\":95,\"chunk\":10,\"done\":[],\"partial\":{}}",
    "{\"size\":95,\"chunk\":10,\"done\":[],\"partial\":[[1]]}",
    "{\"size\":95,\"chunk\":10,\"done\":[],\"partial\":[[1,0]]}",
    "{\"size\":95,\"chunk\":10,\"done\":[],\"partial\":[[1,10]]}",
    "{\"size\":95,\"chunk\":10,\"done\":[],\"partial\":[[9,5]]}",
    "{\"size\":95,\"chunk\":10,\"done\":[],\"partial\":[[10,1]]}",
    "{\"size\":95,\"chunk\":10,\"done\":[[0,2]],\"partial\":[[1,3]]}",
    "{\"size\":95,\"chunk\":10,\"done\":[],\"partial\":[[3,1],[2,1]]}",
    "{\"size\":95,\"chunk\":10,\"done\":[],\"partial\":[[2,1],[2,1]]}",
    "{\"size\":95,\"chunk\":10,\"done\":[],\"partial\":[[2,1.5]]}",
  };
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
    ok(upg_segments_from_jv(&back, jv_parse(bad[i])) == -1 && back.state == NULL, "refused: %s", bad[i]);
}

int
main(void)
{
  test_cutting();
  test_claiming();
  test_sealing();
  test_holes_and_prefix();
  test_record();
  test_heads();
  test_record_heads();
  return tap_done();
}
