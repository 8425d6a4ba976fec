#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
# tests/fuzz/run.sh -- run each libFuzzer harness for FUZZ_SECONDS (default
# 15) on a copy of its seed corpus, printing TAP.  A crash, an abort, a
# leak or a sanitizer report fails; the reproducer is kept in FUZZ_ARTIFACTS.
# FUZZ_JOBS harnesses run at once (default: one per CPU; each is one process).
#   make fuzz && FUZZ_SECONDS=3600 bash tests/fuzz/run.sh     # a long run
set -u
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
bin=${FUZZ_DIR:-$here}
seconds=${FUZZ_SECONDS:-15}
artifacts=${FUZZ_ARTIFACTS:-${TMPDIR:-/tmp}/upgrade-fuzz-artifacts}
mkdir -p "$artifacts"
jobs=${FUZZ_JOBS:-$(nproc 2>/dev/null || echo 1)}
out=$(mktemp -d "${TMPDIR:-/tmp}/upgrade-fuzz-tap.XXXXXX")

# fuzz_one N NAME: run harness NAME; its TAP line in $out/N.tap.
fuzz_one() {
  local n=$1 name=$2 fuzzer=$bin/fuzz_$2 work log leaks runs
  if ! [ -x "$fuzzer" ]; then
    echo "not ok $n - fuzz_$name is not built (make fuzz needs clang)"
    return
  fi
  work=$(mktemp -d "${TMPDIR:-/tmp}/upgrade-fuzz.XXXXXX")
  cp "$here/corpus/$name"/* "$work/"
  log=$work.log
  # libjq 1.6 itself leaks on some malformed JSON (see tests/valgrind.supp),
  # so leaks are not hunted through the response parser; valgrind's exact
  # suppression covers our side of it in the e2e suite.
  leaks=1
  [ $name = response ] && leaks=0
  if ASAN_OPTIONS=detect_leaks=$leaks "$fuzzer" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=1024 -detect_leaks=$leaks \
       -artifact_prefix="$artifacts/$name-" "$work" >"$log" 2>&1; then
    runs=$(grep -oE 'Done [0-9]+ runs' "$log" | grep -oE '[0-9]+' | tail -1)
    echo "ok $n - fuzz_$name: ${runs:-?} runs in ${seconds}s, no finding"
  else
    echo "not ok $n - fuzz_$name found a problem (artifacts in $artifacts):"
    grep -E 'ERROR|SUMMARY|==[0-9]+==' "$log" | head -20 | sed 's/^/#   /'
  fi
  rm -rf "$work" "$log"
}

names=(response sshkeys cli knownhosts)
for i in "${!names[@]}"; do
  while [ "$(jobs -rp | wc -l)" -ge "$jobs" ]; do wait -n; done
  fuzz_one $((i + 1)) "${names[i]}" >"$out/$i.tap" &
done
wait
bad=0
for i in "${!names[@]}"; do
  cat "$out/$i.tap"
  grep -q '^not ok' "$out/$i.tap" && bad=1
done
rm -rf "$out"
echo "1..${#names[@]}"
exit $bad
