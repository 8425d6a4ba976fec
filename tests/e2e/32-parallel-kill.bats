#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-3.0-or-later
# What a SIGKILL mid-transfer costs a --parallel 4 transfer: the resume
# moves at most what was missing, plus one checkpoint interval per stream
# (a quarter chunk: the record keeps the head of every chunk under way),
# plus what was in flight, plus framing -- counted by the forwarder on the
# link (delay_proxy.py --count-file), not by the client.  Chunks are 1 MiB
# here (UPGRADE_TEST_CHUNK: HACKING.md), so the interval is 256 KiB, and
# each of the 4 connections is held to 512 KiB/s.
load helpers

CHUNK=1048576
STREAMS=4
RATE_KIB=512

setup_file() {
	start_sshd_emulator
	export UPGRADE_TEST_CHUNK=$CHUNK
	export SIZE=$((16 * CHUNK + 4321))
	export ORIG=$BATS_FILE_TMPDIR/orig.dump
	dump_bytes "$SIZE" >"$ORIG" # sftp-put looks at its input: a dump's magic first
}

setup() {
	# the kills measure what was in flight; a valgrind client is slower than
	# the link, so nothing is: only what crosses the wire unbroken is
	# measured there
	if [[ ${UPGRADE_VALGRIND:-0} == 1 && $BATS_TEST_DESCRIPTION != *uninterrupted* ]]; then
		skip "under valgrind the client is slower than the link: nothing is in flight to lose"
	fi
	cd "$BATS_TEST_TMPDIR"
	use_sftp_client
	SSH+=(--cacert "$CA")
	COUNT=$BATS_TEST_TMPDIR/link.count
}

# upgraded: the bytes sftp-get and download deliver for ORIG.
upgraded() { printf 'UPGRADED TO 16.0\n'; cat "$ORIG"; }

# link WAY: the bytes the forwarder passed on so far, WAY 1 from the
# server to the client, 2 the other way.
link() { awk -v w="$1" '{ print $w }' "$COUNT" 2>/dev/null || echo 0; }

# link_settled WAY: the count once it stopped moving (the killed client's
# connections are closed: the forwarder passes nothing on any more).
link_settled() {
	local before after
	after=$(link "$1")
	while :; do
		before=$after
		sleep 0.3
		after=$(link "$1")
		[[ $after == "$before" ]] && break
	done
	echo "$after"
}

# kill_at WAY PID: SIGKILL the shell PID (and the wrappers around it) once
# 40 % of the file crossed the link WAY, as a power cut would.
kill_at() {
	local way=$1 pid=$2
	wait_until 60 '(($(link '"$way"') >= SIZE * 4 / 10))'
	kill -KILL $(harness_descendants "$pid") "$pid" 2>/dev/null
	wait "$pid" || true
}

# kill_then_resume WAY SCRIPT [ARGS]: SCRIPT -s in a shell SIGKILLed at
# 40 % (kill_at WAY), then SCRIPT again (`run`); BEFORE is the link's count
# between the two.
kill_then_resume() {
	local way=$1 script=$2
	shift 2
	ubash "$script -s" "$@" >first.out 2>first.err &
	kill_at "$way" $!
	BEFORE=$(link_settled "$way")
	run --separate-stderr ucall "$script" "$@"
}

# bounded WAY BEFORE: the resume's bytes on the link (now less BEFORE, the
# count after the kill) are at most what the first try had not moved
# (SIZE - BEFORE) + one checkpoint interval per stream (CHUNK / 4) + what
# was in flight (per stream, two of the forwarder's 25.6 KiB steps and the
# client's 64 KiB of reads) + framing: 1 % of the file (SSH, TLS and SFTP
# headers and MACs) and 16 KiB per connection of each try (handshakes,
# host key, certificates, the requests' headers).
bounded() {
	local way=$1 before=$2 after
	after=$(link "$way")
	local moved=$((after - before)) missing=$((SIZE - before))
	jqe '.transfer.resumed_from > 0'
	local allowed=$((missing + STREAMS * CHUNK / 4 + STREAMS * (2 * RATE_KIB * 1024 / 20 + 65536)
		+ SIZE / 100 + 2 * STREAMS * 16384))
	echo "first try $before, resume $moved, missing $missing, allowed $allowed" | tee -a "${BOUND_LOG:-/dev/null}" >&2
	((moved <= allowed))
}

@test "download --parallel 4 SIGKILLed at 40 %: the resume moves only what was missing plus 256 KiB per stream (link count), byte-exact" {
	done_request "$ORIG" db.dump
	export UPGRADE_REQUEST=$REQ UPGRADE_KEY=$KEY
	delay_proxy_start "$EMULATOR_PORT" --delay-ms 5 --rate-kib "$RATE_KIB" --count-file "$COUNT"
	emulator_curl /_emulator/download_port -H 'Content-Type: application/json' \
		-d "{\"port\": $DELAY_PROXY_PORT}" -o /dev/null
	kill_then_resume 1 'upgrade download --cacert "$CA" -o F --parallel 4'
	local rc=$status
	emulator_curl /_emulator/download_port -H 'Content-Type: application/json' -d '{"port": null}' -o /dev/null
	status=$rc
	expect_status 0
	cmp <(upgraded) F
	bounded 1 "$BEFORE"
}

@test "sftp-get --parallel 4 SIGKILLed at 40 %: the resume moves only what was missing plus 256 KiB per stream (link count), byte-exact" {
	done_request "$ORIG" db.dump
	sftp_via_proxy --delay-ms 5 --rate-kib "$RATE_KIB" --count-file "$COUNT"
	kill_then_resume 1 'upgrade sftp-get "$@" -o got' --parallel 4 "${SSH[@]}"
	expect_status 0
	cmp <(upgraded) got
	[[ ! -e got.part && ! -e got.part.meta ]]
	bounded 1 "$BEFORE"
}

@test "sftp-put --parallel 4 SIGKILLed at 40 %: the resume moves only what was missing plus 256 KiB per stream (link count), byte-exact" {
	api_create
	cp "$ORIG" mine.dump
	sftp_via_proxy --delay-ms 5 --rate-kib "$RATE_KIB" --count-file "$COUNT"
	kill_then_resume 2 'upgrade sftp-put "$@" mine.dump' --parallel 4 "${SSH[@]}"
	expect_status 0
	cmp mine.dump "$(shared)"
	[[ ! -e mine.dump.sftp-put.meta ]]
	bounded 2 "$BEFORE"
}

# ------------------------------------------------------------ the wire

@test "sftp-get --parallel 4, uninterrupted: the link carries at most 1.01 x the file plus 16 KiB of handshake per session" {
	done_request "$ORIG" db.dump
	# held to 2 MiB/s per connection: every session is up before the end
	sftp_via_proxy --delay-ms 5 --rate-kib 2048 --count-file "$COUNT"
	run --separate-stderr ucall 'upgrade sftp-get "$@" -o got' --parallel 4 "${SSH[@]}"
	expect_status 0
	cmp <(upgraded) got
	jqe '.transfer.streams.used == 4'
	local moved file=$((SIZE + 17))
	moved=$(link_settled 1)
	# SFTP's 13-byte header and SSH's ~50 of packet, padding and MAC per
	# read of at most 30000 bytes: 0.2 %; the key exchange, host key and
	# authentication: a few KiB per session
	echo "file $file, link $moved ($(awk -v m="$moved" -v f="$file" 'BEGIN { printf "%.4f", m / f }') x)" |
		tee -a "${BOUND_LOG:-/dev/null}" >&2
	((moved <= file * 101 / 100 + STREAMS * 16384))
}

# ------------------------------------------------------------ trust

# record_ends RECORD: "CHUNKS HEADS", the end of the last done chunk and of
# the last head RECORD lists (0 when none).
record_ends() {
	jq -r '.segments as $s | [([$s.done[] | [.[1] * $s.chunk, $s.size] | min] | max // 0),
		([$s.partial[]? | .[0] * $s.chunk + .[1]] | max // 0)] | "\(.[0]) \(.[1])"' "$1"
}

@test "a .part cut inside the last head its record lists (by something else) is fetched again from zero, byte-exact" {
	done_request "$ORIG" db.dump
	export UPGRADE_REQUEST=$REQ UPGRADE_KEY=$KEY
	emulator_download_limits "{\"rate\": $((RATE_KIB * 1024))}"
	ubash 'upgrade download --cacert "$CA" -o F -s --parallel 4' >dl.out 2>dl.err &
	local pid=$!
	wait_until 60 '[[ -f F.part.meta ]] && (($(record_done F.part.meta 2>/dev/null || echo 0) >= SIZE * 4 / 10))'
	kill -KILL $(harness_descendants "$pid") "$pid" 2>/dev/null
	wait "$pid" || true
	emulator_download_limits '{}'
	local chunks heads
	read -r chunks heads < <(record_ends F.part.meta)
	if ((heads <= chunks)); then
		# the kill left no head past the last done chunk: record one, of
		# 100 bytes, in the chunk after it (what a checkpoint there would
		# have written), so that the cut below lands inside a head
		jq -c '.segments.partial = ((.segments.partial // []) +
			[[(.segments.done | map(.[1]) | max // 0), 100]])' F.part.meta >meta.new
		cat meta.new >F.part.meta # the record keeps its mode and owner
		read -r chunks heads < <(record_ends F.part.meta)
		((heads > chunks))
	fi
	# one byte short of the head: the head's last byte would read as a hole's zero
	truncate -s $((heads - 1)) F.part
	run --separate-stderr ucall 'upgrade download --cacert "$CA" -o F --parallel 4'
	expect_status 0
	cmp <(upgraded) F
	jqe '.transfer.resumed_from == 0'
	stderr_has "holds less than its record says"
}
