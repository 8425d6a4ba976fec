/* SPDX-License-Identifier: GPL-3.0-or-later */
/* transfer_plan.h -- how a transfer is cut up: the chunk size, how often
 * a stream's progress is checkpointed, and how many streams to use.
 *
 * One rule for every parallel transfer (download over HTTPS, sftp-put,
 * sftp-get), so it sits below both transports, beside the chunk
 * bookkeeping (segments.h), and needs nothing of either.  Pure but for
 * the test knob $UPGRADE_TEST_CHUNK (read from the environment at each
 * call, see HACKING.md): no state, nothing to free, safe on any thread.
 */
#ifndef UPGRADE_TRANSFER_PLAN_H
#define UPGRADE_TRANSFER_PLAN_H

/* The chunk size: UPG_SEGMENT_CHUNK, or $UPGRADE_TEST_CHUNK bytes (tests
 * only, see HACKING.md). */
long long upg_download_chunk(void);
/* How many bytes one stream writes between two checkpoints at most
 * (download, sftp-get, sftp-put): a quarter of a chunk of CHUNK bytes,
 * 2 MiB for the default's 8 MiB, so that a kill redoes at most that much
 * per stream (plus what was in flight), however large the chunk.  Never
 * below 1 KiB nor above UPG_SEGMENT_CHUNK. */
long long upg_checkpoint_bytes(long long chunk);

/* The number of streams of a transfer (download, sftp-put, sftp-get):
 * ASKED (--parallel N) when it is > 0; else the default, for REMAINING
 * bytes to move over a link whose round trip is RTT seconds (< 0:
 * unknown): one for less than 8 chunks (64 MiB) or a round trip under
 * 5 ms (loopback, a LAN: one stream fills them; the loopback answer of
 * the test emulator takes 1-1.5 ms); else 4. */
int upg_streams_wanted(int asked, long long remaining, double rtt);

#endif
