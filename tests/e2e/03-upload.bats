#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-3.0-or-later
# upgrade upload

load helpers

teardown() {
	rm -f "$BATS_TEST_TMPDIR/big.dump"
}

# a small random dump
small_dump() {
	dump_bytes "${1:-300000}" >"$BATS_TEST_TMPDIR/small.dump"
	echo "$BATS_TEST_TMPDIR/small.dump"
}

@test "a 200 MiB upload arrives byte-exact, streamed (peak RSS under 64 MiB)" {
	# Under valgrind the TLS encryption of 200 MiB takes minutes: a smaller
	# file still proves streaming and exactness (UPGRADE_BIG_MIB overrides).
	local mib=${UPGRADE_BIG_MIB:-$([[ $VALGRIND == 1 ]] && echo 24 || echo 200)}
	local big=$BATS_TEST_TMPDIR/big.dump size=$((mib * 1024 * 1024))
	dump_bytes "$((mib * 1048576))" >"$big"
	api_create
	local -a timer=()
	if [[ -x /usr/bin/time ]]; then
		timer=(/usr/bin/time -f %M -o "$BATS_TEST_TMPDIR/rss")
	fi
	run --separate-stderr timeout -k 5 "$(scaled 120)" "${timer[@]}" "$UBASH" '
		upgrade upload --cacert "$CA" "$1"; rc=$?
		[[ -x /usr/bin/time ]] || sed -n "s/^VmHWM:[[:space:]]*\([0-9]*\) kB/\1/p" /proc/$$/status >"$2"
		exit $rc' "$big" "$BATS_TEST_TMPDIR/rss"
	expect_status 0
	one_line
	jqe --argjson n "$size" '.failures == [] and .transfer.bytes == $n and .transfer.size == $n'
	jqe --argjson id "$REQ" '.request.id == $id and .request.state == "draft"'
	# the emulator saw one streamed octet-stream body with request and key in the query
	emulator_stats | jq -e --arg id "$REQ" --argjson n "$size" '.uploads[$id] |
		.bytes == $n and .content_type == "application/octet-stream" and
		.query_keys == ["key", "request"]'
	cmp "$big" "$EMULATOR_DATA/$REQ/original"
	rm -f "$big"
	# Peak RSS is bash's own only without valgrind or ASan (whose shadow
	# memory would be measured instead); the bytes above are checked always.
	if ! instrumented; then
		local rss
		rss=$(tail -n 1 "$BATS_TEST_TMPDIR/rss")
		echo "peak RSS ${rss} kB" >&2
		[ "$rss" -gt 0 ] && [ "$rss" -lt $((64 * 1024)) ]
	fi
}

@test "a key with + / = is URL-encoded in the query" {
	api_create
	[[ $KEY == *+* && $KEY == */* && $KEY == *= ]]
	local f
	f=$(small_dump)
	run --separate-stderr ucall 'upgrade upload --cacert "$CA" "$1"' "$f"
	expect_status 0
	one_line
	alive
	jqe --argjson n 300000 '.failures == [] and .transfer.bytes == $n'
	cmp "$f" "$EMULATOR_DATA/$REQ/original"
	emulator_stats | jq -e --arg id "$REQ" '.uploads[$id].content_type == "application/octet-stream"'
}

@test "--request and --key override the shell's variables" {
	api_create
	local id=$REQ key=$KEY f
	api_create # UPGRADE_REQUEST/UPGRADE_KEY now name another request
	f=$(small_dump 1000)
	run --separate-stderr ubash 'upgrade upload --cacert "$CA" --request "$1" --key "$2" "$3"' "$id" "$key" "$f"
	expect_status 0
	jqe --argjson id "$id" '.request.id == $id'
	cmp "$f" "$EMULATOR_DATA/$id/original"
	[ ! -e "$EMULATOR_DATA/$REQ/original" ]
}

# file_refused PATH: upload PATH exits 2 CLIENT:FILE, the shell alive, and
# sends nothing.
file_refused() {
	local before
	before=$(method_count upload)
	run --separate-stderr ucall 'upgrade upload --cacert "$CA" "$1"' "$1"
	expect_status 2
	one_line
	alive
	expect_reason CLIENT:FILE
	[ "$(method_count upload)" = "$before" ]
}

@test "a missing file: exit 2 CLIENT:FILE, nothing sent" {
	api_create
	file_refused "$BATS_TEST_TMPDIR/nosuch.dump"
}

@test "a directory: exit 2 CLIENT:FILE, nothing sent" {
	api_create
	file_refused "$BATS_TEST_TMPDIR"
}

@test "an empty file: exit 2 CLIENT:FILE, nothing sent" {
	api_create
	: >"$BATS_TEST_TMPDIR/empty.dump"
	file_refused "$BATS_TEST_TMPDIR/empty.dump"
}

@test "an unreadable file: exit 2 CLIENT:FILE" {
	api_create
	local f
	f=$(small_dump 100)
	chmod 000 "$f"
	# root reads any file: drop the capabilities that let it (setpriv,
	# util-linux) so that the permission check is real for root too.
	local as_user=()
	[[ $(id -u) != 0 ]] || as_user=(setpriv --bounding-set=-dac_override,-dac_read_search)
	run --separate-stderr "${as_user[@]}" "$UBASH" 'upgrade upload --cacert "$CA" "$1"' "$f"
	expect_status 2
	expect_reason CLIENT:FILE
}

@test "upload without FILE: exit 2 CLIENT:USAGE" {
	api_create
	run --separate-stderr ucall 'upgrade upload --cacert "$CA"'
	expect_status 2
	expect_reason CLIENT:USAGE
	alive
}

@test "upload in a state other than draft: exit 1 REQUEST:STATE" {
	pending_request
	local f
	f=$(small_dump 5000)
	run --separate-stderr ucall 'upgrade upload --cacert "$CA" "$1"' "$f"
	expect_status 1
	one_line
	alive
	expect_reason REQUEST:STATE
	jqe '.failures[0].value == "pending" and .failures[0].expected == ["draft"]'
}

@test "no meter on a non-terminal stderr; --progress forces it; -s silences" {
	api_create
	local f
	f=$(small_dump 3000000)
	run --separate-stderr ubash 'upgrade upload --cacert "$CA" "$1"' "$f"
	expect_status 0
	[ -z "$stderr" ]
	run --separate-stderr ubash 'upgrade upload --cacert "$CA" --progress "$1"' "$f"
	expect_status 0
	[ -n "$stderr" ]
	stderr_lacks "$KEY"
	stderr_lacks "$(urlenc "$KEY")"
	run --separate-stderr ubash 'upgrade upload --cacert "$CA" -s "$1"' "$f"
	expect_status 0
	[ -z "$stderr" ]
	jqe '.failures == [] and .transfer.bytes == 3000000'
}

@test "a connection dropped mid-upload: exit 3, and the next upload succeeds" {
	api_create
	local f
	f=$(small_dump 4000000)
	emulator_fault upload drop '{"after_bytes": 1000000}'
	run --separate-stderr ucall 'upgrade upload --cacert "$CA" "$1"
		echo "rc=$?" >&2
		upgrade upload --cacert "$CA" "$1" -q .transfer.bytes' "$f"
	expect_status 0
	alive
	stderr_has "rc=3"
	# the first call's document, then the second's byte count
	jq -se '.[0].failures[0].reason | startswith("CLIENT:")' <<<"$output"
	[ "${lines[-1]}" = 4000000 ]
	cmp "$f" "$EMULATOR_DATA/$REQ/original"
}
