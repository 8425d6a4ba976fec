#!/usr/bin/env bats
# download --parallel N: several range requests at once into one FILE.part,
# its chunks recorded in FILE.part.meta (version 2).  Chunks are 64 KiB here
# (UPGRADE_TEST_CHUNK, a test-only knob: HACKING.md) so that small files
# have many.  The emulator serves the ranges, counts the bytes it sent and
# can refuse extra concurrent downloads with a 503; the hostile server
# plays a server that lies in one answer.
load helpers

CHUNK=65536

setup_file() {
	start_emulator
	hostile_start
	export UPGRADE_TEST_CHUNK=$CHUNK
	export ORIG=$BATS_FILE_TMPDIR/orig.dump
	head -c $((3 * 1048576 + 12345)) /dev/urandom >"$ORIG"
	done_request "$ORIG" db.dump 16.0
	export DONE_REQ=$REQ DONE_KEY=$KEY
}

setup() {
	emulator_reset stats
	use_done_request
	cd "$BATS_TEST_TMPDIR"
}

# expected: the upgraded dump the emulator serves for ORIG.
expected() { printf 'UPGRADED TO 16.0\n' && cat "$ORIG"; }
SIZE_OF_EXPECTED=$((3 * 1048576 + 12345 + 17))

# limits JSON: the emulator's download limits (see its docstring).
limits() {
	emulator_curl /_emulator/downloads -H 'Content-Type: application/json' -d "$1" -o /dev/null
}

# pdl [ARGS]: download the upgraded dump to F.
pdl() {
	run --separate-stderr ucall 'upgrade download --cacert "$CA" -o F "$@"' "$@"
}

# record_done: the bytes the record of F.part says are done.
record_done() {
	jq -r --argjson c $CHUNK '.segments as $s | [$s.done[] | (.[1] - .[0])] | add // 0
		| . * $c | if . > $s.size then $s.size else . end' F.part.meta
}

@test "--parallel 1, 2, 4: byte-exact, and the summary tells the streams asked, used and in flight" {
	local n
	for n in 1 2 4; do
		rm -f F
		pdl --parallel "$n"
		expect_status 0
		cmp <(expected) F
		[[ ! -e F.part && ! -e F.part.meta && $(file_mode F) == 600 ]]
		jqe --argjson n "$n" '.transfer.streams == {asked: $n, used: $n} and .transfer.in_flight == $n
			and (.transfer.per_stream | length == $n and all(. > 0) and add >= '$SIZE_OF_EXPECTED')
			and .transfer.size == '$SIZE_OF_EXPECTED' and .transfer.bytes == '$SIZE_OF_EXPECTED
	done
}
