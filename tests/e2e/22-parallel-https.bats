#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-3.0-or-later
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
	dump_bytes $((3 * 1048576 + 12345)) >"$ORIG"
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

# pdl [ARGS]: download the upgraded dump to F.
pdl() {
	run --separate-stderr ucall 'upgrade download --cacert "$CA" -o F "$@"' "$@"
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

@test "default: byte-exact; on loopback (round trip under 5 ms) one stream, through a 20 ms round trip 4" {
	pdl
	expect_status 0
	cmp <(expected) F
	# the round trip the first answer measured decides (a loaded machine can
	# make even loopback look far)
	jqe '.transfer.round_trip_ms >= 0 and .transfer.streams.asked == (if .transfer.round_trip_ms < 5 then 1 else 4 end)'
	# the status points the download at a proxy that delays each way by 10 ms
	delay_proxy_start "$EMULATOR_PORT" --delay-ms 10
	emulator_curl /_emulator/download_port -H 'Content-Type: application/json' \
		-d "{\"port\": $DELAY_PROXY_PORT}" -o /dev/null
	rm F
	pdl
	local rc=$status
	emulator_curl /_emulator/download_port -H 'Content-Type: application/json' -d '{"port": null}' -o /dev/null
	status=$rc
	expect_status 0
	cmp <(expected) F
	jqe '.transfer.streams.asked == 4 and .transfer.streams.used == 4 and .transfer.round_trip_ms >= 20'
}

@test "a server that refuses extra concurrent ranges (503): the download completes with fewer streams, reported" {
	# 1 MiB/s per answer: the answers overlap, a third at once is refused
	emulator_download_limits '{"max_concurrent": 2, "rate": 1048576}'
	pdl --parallel 4
	expect_status 0
	cmp <(expected) F
	local refused
	refused=$(stat_get .download_refused)
	jqe --argjson r "$refused" '.transfer.streams.asked == 4 and .transfer.streams.given_up == $r and $r >= 1
		and (.transfer.per_stream | length == 4) and .transfer.streams.used >= 1'
	stderr_has "given up"
}

@test "every stream refused (503 to each range): exit 3 CLIENT:HTTP 503, no F; the next call completes" {
	emulator_download_limits '{"max_concurrent": 1}'
	# the first answer's server thread holds the only slot (it waits before its
	# body), so every range request is refused
	emulator_fault download slow "{\"delay\": $(scaled 4)}"
	pdl --parallel 2
	expect_status 3
	expect_reason CLIENT:HTTP
	jqe '.failures[0].code == 503'
	[[ ! -e F ]]
	emulator_download_limits '{}'
	pdl --parallel 2
	expect_status 0
	cmp <(expected) F
}

# start_slow_download N: download with N streams in a shell of its own
# process group, the emulator sending 128 KiB/s per answer; sets JOB.
start_slow_download() {
	emulator_download_limits '{"rate": 131072}'
	setsid "$UBASH" 'upgrade download --cacert "$CA" -o F --parallel '"$1" >/dev/null 2>&1 &
	JOB=$!
}

# idle_server: wait until the emulator has stopped serving the answers of a
# killed client (it notices the broken connections only when it writes).
idle_server() { wait_until 10 '[[ $(stat_get .downloads_now) == 0 ]]'; }

# kill_when_done BYTES: SIGKILL the job's process group once F.part's
# record says BYTES are done.
kill_when_done() {
	local bytes=$1 reached=0
	wait_until 30 '[[ -f F.part.meta && $(jq -r .version F.part.meta 2>/dev/null) == 2 ]] &&
		(($(record_done F.part.meta 2>/dev/null || echo 0) >= bytes))' && reached=1
	kill -KILL -- "-$JOB"
	wait "$JOB" 2>/dev/null || true
	((reached))
}

@test "SIGKILL of the shell mid-download: the resume fetches only the missing chunks (server-side count), byte-exact" {
	start_slow_download 4
	kill_when_done $((4 * CHUNK))
	[[ -e F.part && ! -e F ]]
	local done
	done=$(record_done F.part.meta)
	((done > 0 && done < SIZE_OF_EXPECTED))
	emulator_download_limits '{}'
	idle_server
	emulator_reset stats
	pdl --parallel 4
	expect_status 0
	cmp <(expected) F
	jqe --argjson d "$done" '.transfer.resumed_from == $d and .transfer.bytes == '$SIZE_OF_EXPECTED' - $d'
	echo "done $done, served $(stat_get .download_bytes)" >&2
	# exactly the chunks the record did not have, each once
	[[ $(stat_get .download_bytes) == $((SIZE_OF_EXPECTED - done)) ]]
}

@test "a parallel .part resumed with --parallel 1 keeps its done prefix only, byte-exact" {
	start_slow_download 2
	kill_when_done $((4 * CHUNK))
	emulator_download_limits '{}'
	local prefix
	prefix=$(record_prefix F.part.meta)
	pdl --parallel 1
	expect_status 0
	cmp <(expected) F
	jqe --argjson p "$prefix" '.transfer.resumed_from == $p and .transfer.streams == {asked: 1, used: 1}'
}

@test "a parallel .part cut shorter than its record's chunks (by something else) is started over, byte-exact" {
	start_slow_download 4
	kill_when_done $((4 * CHUNK))
	emulator_download_limits '{}'
	truncate -s $((2 * CHUNK)) F.part
	pdl --parallel 4
	expect_status 0
	cmp <(expected) F
	jqe '.transfer.resumed_from == 0'
}

@test "the file changed between tries (new ETag): the resume restarts from zero, never splices" {
	local mine=$BATS_TEST_TMPDIR/mine.dump
	dump_bytes 2000000 >"$mine"
	done_request "$mine" db.dump
	start_slow_download 4
	kill_when_done $((2 * CHUNK))
	# the platform's file changes: same size, other bytes, another mtime (ETag)
	local orig
	orig=$(emulator_requests | jq -r --arg r "$REQ" '.[$r].original_path')
	dump_bytes 2000000 >"$mine"
	cat "$mine" >"$orig"
	touch -d '+1 hour' "$orig"
	emulator_download_limits '{}'
	pdl --parallel 4
	expect_status 0
	cmp <(printf 'UPGRADED TO 16.0\n' && cat "$mine") F
	jqe '.transfer.resumed_from == 0'
	stderr_has "changed"
}

@test "SIGINT (trapped) mid-download: 130 within a second, .part and its record kept, the next call completes" {
	# 32 KiB/s per answer: still under way when the signal comes, even under
	# valgrind; the signal comes once the record holds a chunk (a fixed 1.5 s
	# was 12 s under valgrind), at most 30 s × scale after the start
	emulator_download_limits '{"rate": 32768}'
	run --separate-stderr ubash '
		trap "echo trapped >&2" INT
		( for ((i = 0; i < $1; i++)); do
			[[ -f F.part.meta ]] && jq -e ".segments.done | length > 0" F.part.meta >/dev/null 2>&1 && break
			sleep 0.05
		done; echo "$EPOCHREALTIME" >"$2"; kill -INT $$ ) &
		upgrade download --cacert "$CA" -o F --parallel 4 -s
		rc=$?; t=$EPOCHREALTIME
		echo "rc=$rc" >&2
		echo "dt=$(awk -v a="$(cat "$2")" -v b="$t" "BEGIN { print b - a }")" >&2
		wait' "$(scaled 600)" "$BATS_TEST_TMPDIR/killed"
	expect_status 0
	stderr_has "rc=130"
	stderr_has trapped
	jqe '.failures[0].reason == "CLIENT:INTERRUPTED"'
	less_than "$(sed -n 's/^dt=//p' <<<"$stderr")" "$(scaled 1.2)"
	[[ ! -e F && -e F.part && $(jq -r .version F.part.meta) == 2 && $(file_mode F.part) == 600 ]]
	local done
	done=$(record_done F.part.meta)
	emulator_download_limits '{}'
	pdl --parallel 4
	expect_status 0
	cmp <(expected) F
	jqe --argjson d "$done" '.transfer.resumed_from == $d'
}

# ------------------------------------------------------------ hostile server

# hostile_dl RULES ARGS: request 7's status on the hostile server points at
# {base}/dl/x; RULES (a jq array) answer the downloads.
hostile_dl() {
	local rules answer
	rules=$(jq -cn "$1") || return 1
	shift
	answer=$(jq -cn '{failures: [], request: {id: 7, state: "done", filename: "db.dump",
		upgraded_dump_url: "{base}/dl/x"}} | tostring')
	hostile_script "$(jq -cn --argjson s "$answer" --argjson r "$rules" \
		'{rules: ([{path: "/database/v1/status$", body: $s}] + $r)}')"
	run --separate-stderr ucall 'UPGRADE_REQUEST=7 UPGRADE_KEY=k upgrade download --cacert "$CA" --url "$HOSTILE_URL/database/v1" -o F "$@"' "$@"
}

@test "a lying 206 on one stream (another start than asked) is refused: exit 3 BAD_RESPONSE, nothing renamed" {
	hostile_dl '[{path: "^/dl/", range: "absent", headers: [["ETag", "\"v1\""]], body: "1", repeat: 400000},
		{path: "^/dl/", range: "present", times: 1, status: 206, body: "1", repeat: 65536,
		 headers: [["ETag", "\"v1\""], ["Content-Range", "bytes 1-65536/400000"]]},
		{path: "^/dl/", range: "present", status: 503, body: "busy"}]' --parallel 2
	expect_status 3
	expect_reason CLIENT:BAD_RESPONSE
	alive
	[[ ! -e F ]]
	hostile_log | jq -e '[.requests[] | select(.path == "/dl/x" and .headers.Range != null)] | length >= 1
		and all(.headers["If-Range"] == "\"v1\"")'
}

@test "a server that answers ranges with the whole file (200): one stream from the start, byte-exact" {
	hostile_dl '[{path: "^/dl/", headers: [["ETag", "\"v1\""]], body: "1", repeat: 400000}]' --parallel 4
	expect_status 0
	cmp <(head -c 400000 /dev/zero | tr '\0' 1) F
	stderr_has "ignores ranges"
	jqe '.transfer.size == 400000 and .transfer.streams.used == 1'
}

@test "a stream dropped after the others ran out of chunks: an idle stream takes its chunks over, byte-exact" {
	# the second download request (a range: the first answer is cut after its
	# headers) waits, then drops after 1 byte; meanwhile the other stream does
	# every other chunk on loopback and finds nothing left to claim
	emulator_fault download drop "{\"skip\": 1, \"after_bytes\": 1, \"wait_first\": $(scaled 2)}"
	pdl --parallel 2
	expect_status 0
	cmp <(expected) F
	jqe '.transfer.streams == {"asked": 2, "used": 2, "given_up": 1}'
	stderr_has "given up"
}
