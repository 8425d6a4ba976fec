#!/usr/bin/env bats
# Findings of the review of the parallel-transfer and run --database code:
# each test fails on the code as it was found.
load helpers

setup_file() {
	start_emulator
	export ORIG=$BATS_FILE_TMPDIR/orig.dump
	head -c 300000 /dev/urandom >"$ORIG"
	done_request "$ORIG" db.dump 16.0
	export DONE_REQ=$REQ DONE_KEY=$KEY
}

setup() {
	use_done_request
	cd "$BATS_TEST_TMPDIR"
}

# expected: the upgraded dump the emulator serves for ORIG.
expected() { printf 'UPGRADED TO 16.0\n' && cat "$ORIG"; }

# part_record VERSION [SEGMENTS]: F.part.meta of this download's origin
# with no "validators" (a damaged record of ours), mode 0600.
part_record() {
	jq -n --arg p "$UPGRADE_URL" --arg r "$REQ" --argjson v "$1" --argjson s "${2:-null}" \
		'{version: $v, origin: {platform: $p, request: $r, what: "upgraded-dump"}}
		 + (if $s == null then {} else {segments: $s} end)' >F.part.meta
	chmod 600 F.part F.part.meta
}

@test "a .part whose record names no version (no validators, version 1): downloaded from zero, the shell survives" {
	head -c 1000 "$ORIG" >F.part
	part_record 1
	run --separate-stderr ucall 'upgrade download --cacert "$CA" -o F --parallel 1'
	alive
	expect_status 0
	cmp <(expected) F
	jqe '.transfer.resumed_from == 0'
}

@test "a parallel .part whose record names no version (no validators, version 2): downloaded from zero, the shell survives" {
	head -c 65536 "$ORIG" >F.part
	part_record 2 '{"size": 300017, "chunk": 65536, "done": [[0, 1]]}'
	run --separate-stderr ucall 'UPGRADE_TEST_CHUNK=65536 upgrade download --cacert "$CA" -o F --parallel 2'
	alive
	expect_status 0
	cmp <(expected) F
	jqe '.transfer.resumed_from == 0'
}
