#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-3.0-or-later
# upgrade download

load helpers

SIZE=5000000 # bytes of the original dump

setup_file() {
	start_emulator
	export ORIG=$BATS_FILE_TMPDIR/orig.dump
	dump_bytes "$SIZE" >"$ORIG"
	done_request "$ORIG" db.dump 16.0
	export DONE_REQ=$REQ DONE_KEY=$KEY
}

setup() {
	emulator_reset
	use_done_request
	WORK=$BATS_TEST_TMPDIR/work
	mkdir -p "$WORK"
	cd "$WORK"
}

# expected WHAT: the bytes the emulator derives for WHAT from the original.
expected() {
	case $1 in
	upgraded-dump) printf 'UPGRADED TO 16.0\n' && cat "$ORIG" ;;
	upgraded-sql) printf -- '-- upgraded sql for 16.0\n' && cat "$ORIG" ;;
	original-dump) cat "$ORIG" ;;
	original-sql) printf -- '-- original sql\n' && cat "$ORIG" ;;
	notes)
		printf '<html><head><title>Upgrade notes</title></head><body><h1>Upgrade notes for request %d</h1><p>Upgraded to %s. Nothing to report.</p></body></html>\n' \
			"$DONE_REQ" 16.0
		;;
	modules) printf 'PK\005\006' && head -c 18 /dev/zero ;;
	esac
}

# check_download WHAT DEFAULT_NAME: with the default name, then with -o.
check_download() {
	local what=$1 name=$2 exp=$BATS_TEST_TMPDIR/expected n
	expected "$what" >"$exp"
	n=$(stat -c %s "$exp")
	local -a opt=(--what "$what")
	[[ $what == upgraded-dump ]] && opt=() # the default
	run --separate-stderr ucall 'upgrade download --cacert "$CA" "$@"' "${opt[@]}"
	expect_status 0
	one_line
	alive
	jqe --arg f "$name" --argjson n "$n" --arg w "$what" \
		'.failures == [] and (.transfer.file | endswith($f)) and .transfer.bytes == $n and .transfer.what == $w'
	cmp "$exp" "$WORK/$name"
	[ "$(file_mode "$WORK/$name")" = 600 ]
	[ "$(ls -A "$WORK")" = "$name" ] # no .part left behind
	# -o FILE
	mkdir -p "$BATS_TEST_TMPDIR/out"
	OUT=$BATS_TEST_TMPDIR/out/custom.bin run --separate-stderr ucall \
		'upgrade download --cacert "$CA" "$@" -o "$OUT"' "${opt[@]}"
	expect_status 0
	one_line
	jqe --argjson n "$n" '.failures == [] and .transfer.bytes == $n and (.transfer.file | endswith("out/custom.bin"))'
	cmp "$exp" "$BATS_TEST_TMPDIR/out/custom.bin"
	[ "$(file_mode "$BATS_TEST_TMPDIR/out/custom.bin")" = 600 ]
	[ "$(ls -A "$BATS_TEST_TMPDIR/out")" = custom.bin ]
}

@test "download (default upgraded-dump) to upgraded_<filename> and to -o FILE" {
	check_download upgraded-dump upgraded_db.dump
}

@test "download --what upgraded-sql to upgraded_<filename>.sql and to -o FILE" {
	check_download upgraded-sql upgraded_db.dump.sql
}

@test "download --what notes to upgrade_notes_<id>.html and to -o FILE" {
	check_download notes "upgrade_notes_$DONE_REQ.html"
}

@test "download --what modules to upgrade_modules_<id> and to -o FILE" {
	check_download modules "upgrade_modules_$DONE_REQ"
}

@test "download --what original-dump to original_<filename> and to -o FILE" {
	check_download original-dump original_db.dump
}

@test "download --what original-sql to original_<filename>.sql and to -o FILE" {
	check_download original-sql original_db.dump.sql
}

@test "files are created 0600 even under umask 000" {
	run --separate-stderr ubash 'umask 000; upgrade download --cacert "$CA" -o F'
	expect_status 0
	[ "$(file_mode F)" = 600 ]
	expected upgraded-dump | cmp - F
}

@test "an existing FILE is refused (exit 2) unless --force" {
	printf 'old\n' >F
	chmod 644 F
	local before
	before=$(method_count download)
	run --separate-stderr ucall 'upgrade download --cacert "$CA" -o F'
	expect_status 2
	one_line
	alive
	expect_reason CLIENT:FILE
	[ "$(cat F)" = old ]
	[ ! -e F.part ]
	[ "$(method_count download)" = "$before" ]
	run --separate-stderr ucall 'upgrade download --cacert "$CA" -o F --force'
	expect_status 0
	expected upgraded-dump | cmp - F
	[ "$(file_mode F)" = 600 ]
	[ ! -e F.part ]
}

@test "download before done: exit 1 CLIENT:NOT_READY, no file written" {
	printf 'x\n' >"$BATS_TEST_TMPDIR/small.dump"
	api_create && api_upload "$BATS_TEST_TMPDIR/small.dump"
	run --separate-stderr ucall 'upgrade download --cacert "$CA" -o F'
	expect_status 1
	one_line
	alive
	expect_reason CLIENT:NOT_READY
	[ -z "$(ls -A "$WORK")" ]
}

@test "a dropped download: exit 3 with F.part holding a prefix; the next call resumes byte-exact" {
	expected upgraded-dump >"$BATS_TEST_TMPDIR/exp"
	emulator_fault download drop '{"after_bytes": 1000000}'
	run --separate-stderr ucall 'upgrade download --cacert "$CA" -o F'
	expect_status 3
	one_line
	alive
	jqe '.failures[0].reason | startswith("CLIENT:")'
	[ -f F.part ] && [ ! -e F ]
	local part
	part=$(stat -c %s F.part)
	[ "$part" -gt 0 ] && [ "$part" -le 1000000 ]
	cmp -n "$part" F.part "$BATS_TEST_TMPDIR/exp"
	[ "$(file_mode F.part)" = 600 ]
	run --separate-stderr ucall 'upgrade download --cacert "$CA" -o F'
	expect_status 0
	one_line
	jqe --argjson p "$part" '.failures == [] and .transfer.resumed_from == $p and .transfer.resumed_from > 0'
	cmp "$BATS_TEST_TMPDIR/exp" F
	[ ! -e F.part ]
	[ "$(file_mode F)" = 600 ]
	# it asked for the rest only
	emulator_stats | jq -e --arg r "bytes=$part-" '.last.download.headers.Range == $r'
}

# dropped_part: F.part and its record F.part.meta, left by a download of
# the upgraded dump dropped after 1 MB.
dropped_part() {
	emulator_fault download drop '{"after_bytes": 1000000}'
	run ucall 'upgrade download --cacert "$CA" -o F -s'
	[ -s F.part ] && [ -f F.part.meta ]
}

# download_over_part: download -o F succeeds in one call, F equal to
# $BATS_TEST_TMPDIR/exp, F.part and its record gone.
download_over_part() {
	run --separate-stderr ucall 'upgrade download --cacert "$CA" -o F'
	expect_status 0
	one_line
	jqe '.failures == []'
	cmp "$BATS_TEST_TMPDIR/exp" F
	[ ! -e F.part ] && [ ! -e F.part.meta ]
}

@test "a .part larger than the remote file is restarted, result byte-exact" {
	expected upgraded-dump >"$BATS_TEST_TMPDIR/exp"
	dropped_part
	{ cat "$BATS_TEST_TMPDIR/exp"; head -c 1000 /dev/urandom; } >F.part
	download_over_part
}

@test "a .part already complete (interrupted before the rename) ends as FILE, byte-exact" {
	expected upgraded-dump >"$BATS_TEST_TMPDIR/exp"
	dropped_part
	cat "$BATS_TEST_TMPDIR/exp" >F.part
	download_over_part
	jqe '.transfer.bytes == 0'
}

@test "--retry 2 --retry-delay 0.1 rides through one dropped download in a single call" {
	expected upgraded-dump >"$BATS_TEST_TMPDIR/exp"
	emulator_fault download drop '{"after_bytes": 1000000}'
	run --separate-stderr ucall 'upgrade download --cacert "$CA" -o F --retry 2 --retry-delay 0.1'
	expect_status 0
	one_line
	alive
	jqe '.failures == []'
	cmp "$BATS_TEST_TMPDIR/exp" F
	[ ! -e F.part ]
	[ "$(method_count download)" -ge 2 ]
	emulator_curl /_emulator/faults | jq -e '.faults == []'
}

@test "a symlink at FILE.part is refused (exit 2) and its target left untouched" {
	printf 'precious\n' >"$BATS_TEST_TMPDIR/precious"
	ln -s "$BATS_TEST_TMPDIR/precious" F.part
	ln -s "$BATS_TEST_TMPDIR/nothing-here" G.part
	run --separate-stderr ucall 'upgrade download --cacert "$CA" -o F'
	expect_status 2
	one_line
	alive
	expect_reason CLIENT:FILE
	[ "$(cat "$BATS_TEST_TMPDIR/precious")" = precious ]
	[ -L F.part ] && [ ! -e F ]
	run --separate-stderr ucall 'upgrade download --cacert "$CA" -o G'
	expect_status 2
	[ ! -e "$BATS_TEST_TMPDIR/nothing-here" ]
	[ ! -e G ]
}

@test "-o into a directory that does not exist: exit 2 CLIENT:FILE" {
	run --separate-stderr ucall 'upgrade download --cacert "$CA" -o "$PWD/no/such/dir/F"'
	expect_status 2
	one_line
	alive
	expect_reason CLIENT:FILE
}
