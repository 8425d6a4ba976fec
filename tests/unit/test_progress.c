/* Unit tests: the meter's text (plugin/core/progress.c). */
#include "config.h"

#include "tap.h"
#include "upgrade/progress.h"

int
main(void)
{
  char buf[256];

  upg_format_bytes(buf, sizeof buf, 900);
  is_str(buf, "900 B", "bytes");
  upg_format_bytes(buf, sizeof buf, 1536);
  is_str(buf, "1.5 KiB", "KiB");
  upg_format_bytes(buf, sizeof buf, 1073741824.0);
  is_str(buf, "1.0 GiB", "GiB");

  upg_meter_text(buf, sizeof buf, "uploading db.dump", 512LL << 20, 1024LL << 20, 0, 4.0);
  is_str(buf, "uploading db.dump  512.0 MiB / 1.0 GiB   50%  128.0 MiB/s  eta 0:04", "half way");

  /* A resumed transfer's rate counts only this run's bytes. */
  upg_meter_text(buf, sizeof buf, "x", 768LL << 20, 1024LL << 20, 512LL << 20, 2.0);
  is_str(buf, "x  768.0 MiB / 1.0 GiB   75%  128.0 MiB/s  eta 0:02", "resumed");

  upg_meter_text(buf, sizeof buf, "x", 0, 100, 0, 0);
  is_str(buf, "x  0 B / 100 B    0%  0 B/s  eta --:--", "nothing yet");

  upg_meter_text(buf, sizeof buf, "x", 10, 0, 0, 1);
  ok(strstr(buf, "  0%") != NULL, "unknown total: no division by zero (%s)", buf);
  return tap_done();
}
