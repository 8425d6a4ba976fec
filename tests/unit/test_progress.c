/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Unit tests: the meter's text (plugin/core/base/progress.c). */
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

  upg_meter_text(buf, sizeof buf, "uploading db.dump", 512LL << 20, 1024LL << 20, 0, 4.0, 0);
  is_str(buf, "uploading db.dump  512.0 MiB / 1.0 GiB   50%  128.0 MiB/s  eta 0:04", "half way");

  /* A resumed transfer's rate counts only this run's bytes. */
  upg_meter_text(buf, sizeof buf, "x", 768LL << 20, 1024LL << 20, 512LL << 20, 2.0, 0);
  is_str(buf, "x  768.0 MiB / 1.0 GiB   75%  128.0 MiB/s  eta 0:02", "resumed");

  upg_meter_text(buf, sizeof buf, "x", 0, 100, 0, 0, 0);
  is_str(buf, "x  0 B / 100 B    0%  0 B/s  eta --:--", "nothing yet");

  upg_meter_text(buf, sizeof buf, "x", 10, 0, 0, 1, 0);
  is_str(buf, "x  10 B  10 B/s", "unknown total: no percentage, no division by zero");

  /* Narrower: the eta, the rate and the total go before the label is cut
   * (40 columns leave 30 after "upgrade: " and the last column). */
  upg_meter_text(buf, sizeof buf, "uploading db.dump", 512LL << 20, 1024LL << 20, 0, 4.0, 50);
  is_str(buf, "uploading db.dump  512.0 MiB / 1.0 GiB   50%", "narrower: no eta, no rate");
  upg_meter_text(buf, sizeof buf, "uploading db.dump", 512LL << 20, 1024LL << 20, 0, 4.0, 34);
  is_str(buf, "uploading db.dump  512.0 MiB   50%", "narrow: what moved and how far");
  upg_meter_text(buf, sizeof buf, "uploading db.dump", 512LL << 20, 1024LL << 20, 0, 4.0, 30);
  is_str(buf, "uploading db.dump   50%", "narrower: what moves and the percentage");
  upg_meter_text(buf, sizeof buf, "uploading a_rather_long_name.dump", 512LL << 20, 1024LL << 20, 0, 4.0, 30);
  is_str(buf, "uploading a_rather_long_   50%", "narrower still: the label is cut");
  ok(strlen(buf) <= 30, "never wider than asked (%zu)", strlen(buf));
  upg_meter_text(buf, sizeof buf, "uploading db.dump", 512LL << 20, 1024LL << 20, 0, 4.0, 5);
  ok(strlen(buf) <= 5, "not even the numbers fit: cut (%s)", buf);
  upg_meter_text(buf, sizeof buf, "reading", 10 << 20, 0, 0, 2.0, 0);
  is_str(buf, "reading  10.0 MiB  5.0 MiB/s", "unknown total: bytes and rate only");
  is_str(upg_path_tail("/tmp/x/db.dump"), "db.dump", "path tail");
  is_str(upg_path_tail("db.dump"), "db.dump", "path tail of a bare name");
  upg_format_duration(buf, sizeof buf, 0.26);
  is_str(buf, "0.3 s", "duration: tenths of a second");
  upg_format_duration(buf, sizeof buf, 310.4);
  is_str(buf, "5m10s", "duration: minutes");
  upg_format_duration(buf, sizeof buf, 7500);
  is_str(buf, "2h05m", "duration: hours");
  ok(upg_round_ms(1.23456) == 1.235, "seconds rounded to the millisecond");
  return tap_done();
}
