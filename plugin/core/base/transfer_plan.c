/* SPDX-License-Identifier: GPL-3.0-or-later */
/* transfer_plan.c -- chunk size, checkpoint interval, number of streams
 * (transfer_plan.h). */
#include "config.h"

#include <stdlib.h>

#include "upgrade/segments.h"
#include "upgrade/transfer_plan.h"

long long
upg_download_chunk(void)
{
  const char *v = getenv("UPGRADE_TEST_CHUNK");
  char *end;
  long long n = v && *v ? strtoll(v, &end, 10) : 0;
  return v && *v && !*end && n >= 1024 ? n : UPG_SEGMENT_CHUNK;
}

long long
upg_checkpoint_bytes(long long chunk)
{
  long long quarter = chunk / 4 > 1024 ? chunk / 4 : 1024;
  return quarter < UPG_SEGMENT_CHUNK ? quarter : UPG_SEGMENT_CHUNK;
}

int
upg_streams_wanted(int asked, long long remaining, double rtt)
{
  if (asked > 0)
    return asked;
  if (remaining < 8 * upg_download_chunk())
    return 1;
  if (rtt >= 0 && rtt < 0.005)
    return 1;
  return 4;
}
