#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-3.0-or-later
# Findings of the review of the parallel-transfer and run --database code:
# each test fails on the code as it was found.
load helpers

CHUNK=65536

setup_file() {
	start_sshd_emulator
	harness_ssh_keygen "$KEYS/id_ed25519" >/dev/null
	harness_known_hosts "$KEYS/known_hosts"
	export ORIG=$BATS_FILE_TMPDIR/orig.dump
	dump_bytes 300000 >"$ORIG"
	done_request "$ORIG" db.dump 16.0
	export DONE_REQ=$REQ DONE_KEY=$KEY
}

setup() {
	use_done_request
	cd "$BATS_TEST_TMPDIR"
	SSH=(--identity "$KEYS/id_ed25519" --known-hosts "$KEYS/known_hosts" --cacert "$CA")
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
	run --separate-stderr ucall 'UPGRADE_TEST_CHUNK=$CHUNK upgrade download --cacert "$CA" -o F --parallel 2'
	alive
	expect_status 0
	cmp <(expected) F
	jqe '.transfer.resumed_from == 0'
}

@test "download --parallel 1: a parallel .part cut shorter than its record's prefix is not padded with zeros" {
	# a true record first (the server's own validators): a download dropped
	# after 200 kB, its record then turned into a parallel one that says
	# four chunks are done, while F.part holds two
	emulator_fault download drop '{"after_bytes": 200000}'
	run ucall 'upgrade download --cacert "$CA" -o F -s --parallel 1'
	[[ $status == 3 && -s F.part ]]
	truncate -s $((2 * CHUNK)) F.part
	jq --argjson c $CHUNK '.version = 2 | .segments = {size: .validators.size, chunk: $c, done: [[0, 4]]}' \
		F.part.meta >meta && mv meta F.part.meta && chmod 600 F.part.meta
	run --separate-stderr ucall 'upgrade download --cacert "$CA" -o F --parallel 1'
	expect_status 0
	cmp <(expected) F
	jqe '.transfer.resumed_from == 0'
}

# sftp_cut_part CHUNKS: got.part holds the first CHUNKS chunks of the
# upgraded dump on the SFTP server, and its record (of this very request,
# account and remote version) says the first four are done: the .part was
# cut shorter by something else than us.
sftp_cut_part() {
	REMOTE=$SFTP_ROOT/$REQ/upgraded_db.dump
	# the server writes the upgraded dump once SFTP access is asked for
	ubash 'upgrade sftp-get -s "$@" -o warm' "${SSH[@]}" >/dev/null && cmp "$REMOTE" warm
	head -c $(($1 * CHUNK)) "$REMOTE" >got.part
	jq -n --arg a "$(id -un)@127.0.0.1:$SSHD_PORT" --arg r "$REQ" --argjson size "$(stat -c %s "$REMOTE")" \
		--argjson mtime "$(stat -c %Y "$REMOTE")" --argjson c $CHUNK \
		'{version: 2, origin: {sftp: $a, request: $r, remote: "upgraded_db.dump"},
		  validators: {size: $size, mtime: $mtime}, segments: {size: $size, chunk: $c, done: [[0, 4]]}}' >got.part.meta
	chmod 600 got.part got.part.meta
}

@test "sftp-get --parallel 2: a .part cut shorter than its record's chunks is started over, never completed with a hole" {
	sftp_cut_part 2
	run --separate-stderr ucall 'UPGRADE_TEST_CHUNK=$CHUNK upgrade sftp-get "$@" -o got' --parallel 2 "${SSH[@]}"
	expect_status 0
	cmp "$REMOTE" got
	jqe '.transfer.resumed_from == 0'
}

@test "sftp-get --parallel 1: a parallel .part cut shorter than its record's prefix is not padded with zeros" {
	sftp_cut_part 2
	run --separate-stderr ucall 'UPGRADE_TEST_CHUNK=$CHUNK upgrade sftp-get "$@" -o got' --parallel 1 "${SSH[@]}"
	expect_status 0
	cmp "$REMOTE" got
	jqe '.transfer.resumed_from == 0'
}

# (The default target is cut to fit since issue 18, item 3: only a given
# name can be too long.)
@test "run --database with a long --restore-as: refused as --restore-as before any connection" {
	local db
	db=$(printf 'd%.0s' {1..60})
	run --separate-stderr ucall 'upgrade run --contract C --email e@example.com --target 16.0 --aim test --database "$1" --restore-as "$1_16.0"' "$db"
	expect_status 2
	expect_reason CLIENT:USAGE
	jqe --arg n "${db}_16.0" '.failures[0].message | startswith("--restore-as " + $n + ": at most")'
	[[ ! -e $db.dump && ! -e $db.dump.upgrade.json ]]
}

@test "help: the options listed for every subcommand apply to every subcommand (status takes no --parallel)" {
	run --separate-stderr ucall 'upgrade help status'
	expect_status 0
	[[ $output == *"Options of every subcommand:"* && $output != *--parallel* ]] || { show; false; }
	run --separate-stderr ucall 'upgrade help run'
	[[ $output == *"--parallel N"* ]] || { show; false; }
}
