#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-3.0-or-later
# What a SIGKILL mid-transfer costs a transfer of 4 streams or of one, and
# a run continued after it: the resume moves at most what was missing, plus
# one checkpoint interval per stream (a quarter chunk: the record keeps the
# head of every chunk under way; one stream resumes from the size of what
# it wrote), plus what was in flight, plus framing -- counted by the
# forwarder on the link (delay_proxy.py --count-file), not by the client.
# Chunks are 1 MiB here (UPGRADE_TEST_CHUNK: HACKING.md), so the interval
# is 256 KiB, and each of the 4 connections is held to 1 MiB/s (one
# stream: 4 MiB/s: a kill at 40 % comes some 1.6 s in).  And what an uninterrupted transfer moves, and a
# resume after the remote file changed (the new file, once).
load helpers

CHUNK=1048576
STREAMS=4
RATE_KIB=1024
RATE_ONE_KIB=4096 # one stream: the same 4 MiB/s as 4 at 1 MiB/s

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
	if [[ ${UPGRADE_VALGRIND:-0} == 1 ]]; then
		case $BATS_TEST_DESCRIPTION in
		sftp-get*uninterrupted*) ;;
		*uninterrupted*) skip "under valgrind the client reads the first answer's headers seconds late: the body that reached its socket meanwhile is in flight, not framing" ;;
		*) skip "under valgrind the client is slower than the link: nothing is in flight to lose" ;;
		esac
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
# between the two.  RESUME, when set, is the second call's script instead
# (run --continue).
kill_then_resume() {
	local way=$1 script=$2
	shift 2
	ubash "$script -s" "$@" >first.out 2>first.err &
	kill_at "$way" $!
	BEFORE=$(link_settled "$way")
	run --separate-stderr ucall "${RESUME:-$script}" "$@"
}

# bounded WAY BEFORE [STREAMS [RATE_KIB [EXTRA]]]: the resume's bytes on the
# link (now less BEFORE, the count after the kill) are at most what the
# first try had not moved (SIZE - BEFORE) + one checkpoint interval per
# stream (CHUNK / 4) + what was in flight (per stream, two of the
# forwarder's steps of a twentieth of RATE_KIB and the client's 64 KiB of
# reads) + framing: 1 % of the file (SSH, TLS and SFTP headers and MACs)
# and 16 KiB per connection of each try (handshakes, host key,
# certificates, the requests' headers) + EXTRA (what else the resuming
# call sends that way).  STREAMS and RATE_KIB: 4 and 1024 by default.  The
# answer says it resumed, unless RESUMED=0 (a run whose last transfer is
# not the resumed one).
bounded() {
	local way=$1 before=$2 n=${3:-$STREAMS} rate=${4:-$RATE_KIB} extra=${5:-0} after
	after=$(link "$way")
	local moved=$((after - before)) missing=$((SIZE - before))
	[[ ${RESUMED:-1} == 0 ]] || jqe '.transfer.resumed_from > 0'
	local allowed=$((missing + n * CHUNK / 4 + n * (2 * rate * 1024 / 20 + 65536)
		+ SIZE / 100 + 2 * n * 16384 + extra))
	echo "$n stream(s): first try $before, resume $moved, missing $missing, allowed $allowed" |
		tee -a "${BOUND_LOG:-/dev/null}" >&2
	((moved <= allowed))
}

# via_download_proxy ARGS…: tests/lib/delay_proxy.py with ARGS in front of
# the emulator, whose status hands out its port for downloads (until
# teardown puts the emulator's own back).
via_download_proxy() {
	delay_proxy_start "$EMULATOR_PORT" "$@"
	emulator_curl /_emulator/download_port -H 'Content-Type: application/json' \
		-d "{\"port\": $DELAY_PROXY_PORT}" -o /dev/null
}

teardown() {
	emulator_curl /_emulator/download_port -H 'Content-Type: application/json' -d '{"port": null}' -o /dev/null
	announce_sftp_port "$SSHD_PORT"
}

# download_killed N RATE_KIB, get_killed N RATE_KIB, put_killed N RATE_KIB:
# the transfer with --parallel N through a forwarder holding each
# connection to RATE_KIB KiB/s, SIGKILLed at 40 %, then resumed: byte-exact,
# and the resume bounded (by N streams at that rate).
download_killed() {
	done_request "$ORIG" db.dump
	export UPGRADE_REQUEST=$REQ UPGRADE_KEY=$KEY
	via_download_proxy --delay-ms 5 --rate-kib "$2" --count-file "$COUNT"
	kill_then_resume 1 "upgrade download --cacert \"\$CA\" -o F --parallel $1"
	expect_status 0
	cmp <(upgraded) F
	jqe ".transfer.streams.used == $1"
	bounded 1 "$BEFORE" "$1" "$2"
}

get_killed() {
	done_request "$ORIG" db.dump
	sftp_via_proxy --delay-ms 5 --rate-kib "$2" --count-file "$COUNT"
	kill_then_resume 1 'upgrade sftp-get "$@" -o got' --parallel "$1" "${SSH[@]}"
	expect_status 0
	cmp <(upgraded) got
	[[ ! -e got.part && ! -e got.part.meta ]]
	bounded 1 "$BEFORE" "$1" "$2"
}

put_killed() {
	api_create
	cp "$ORIG" mine.dump
	sftp_via_proxy --delay-ms 5 --rate-kib "$2" --count-file "$COUNT"
	kill_then_resume 2 'upgrade sftp-put "$@" mine.dump' --parallel "$1" "${SSH[@]}"
	expect_status 0
	cmp mine.dump "$(shared)"
	[[ ! -e mine.dump.sftp-put.meta ]]
	bounded 2 "$BEFORE" "$1" "$2"
}

@test "download --parallel 4 SIGKILLed at 40 %: the resume moves only what was missing plus 256 KiB per stream (link count), byte-exact" {
	download_killed 4 "$RATE_KIB"
}

@test "sftp-get --parallel 4 SIGKILLed at 40 %: the resume moves only what was missing plus 256 KiB per stream (link count), byte-exact" {
	get_killed 4 "$RATE_KIB"
}

@test "sftp-put --parallel 4 SIGKILLed at 40 %: the resume moves only what was missing plus 256 KiB per stream (link count), byte-exact" {
	put_killed 4 "$RATE_KIB"
}

# ------------------------------------------------------------ one stream

@test "download --parallel 1 SIGKILLed at 40 %: the resume moves only what was missing plus what was in flight (link count), byte-exact" {
	download_killed 1 "$RATE_ONE_KIB"
}

@test "sftp-get --parallel 1 SIGKILLed at 40 %: the resume moves only what was missing plus what was in flight (link count), byte-exact" {
	get_killed 1 "$RATE_ONE_KIB"
}

@test "sftp-put --parallel 1 SIGKILLed at 40 %: the resume moves only what was missing plus what was in flight (link count), byte-exact" {
	put_killed 1 "$RATE_ONE_KIB"
}

# ------------------------------------------------------------ run --continue

@test "run --parallel 4 SIGKILLed at 40 % of its download: run --continue moves only what was missing plus 256 KiB per stream (link count), byte-exact" {
	cp "$ORIG" db.dump
	via_download_proxy --delay-ms 5 --rate-kib "$RATE_KIB" --count-file "$COUNT"
	RESUME='upgrade run --cacert "$CA" --continue --interval 0.1 --parallel 4 db.dump' \
		kill_then_resume 1 "upgrade run $RUN_ARGS --parallel 4 db.dump"
	expect_status 0
	jqe '.request.state == "done"'
	cmp <(upgraded) upgraded_db.dump
	job_closed db.dump.upgrade.json
	bounded 1 "$BEFORE"
}

@test "run --sftp --parallel 4 SIGKILLed at 40 % of its upload: run --continue moves only what was missing plus 256 KiB per stream (link count), byte-exact" {
	cp "$ORIG" db.dump
	sftp_via_proxy --delay-ms 5 --rate-kib "$RATE_KIB" --count-file "$COUNT"
	RESUME='upgrade run --cacert "$CA" --continue --interval 0.1 "$@" db.dump' \
		kill_then_resume 2 "upgrade run $RUN_ARGS --sftp \"\$@\" db.dump" --parallel 4 "${SSH[@]}"
	expect_status 0
	jqe '.request.state == "done"'
	cmp <(upgraded) upgraded_db.dump
	job_closed db.dump.upgrade.json
	[[ ! -e db.dump.sftp-put.meta ]]
	# the continued run downloads over SFTP too: its requests (an SFTP
	# read of ~30 KiB costs ~80 bytes of request this way) and the 4 more
	# sessions' handshakes
	RESUMED=0 bounded 2 "$BEFORE" 4 "$RATE_KIB" $((SIZE / 100 + STREAMS * 16384))
}

# ------------------------------------------------------------ the wire

# delivered_within OUT EXTRA: the last call delivered OUT byte-exact over 4
# streams, and the link carried at most 1.01 x the file plus EXTRA bytes.
delivered_within() {
	expect_status 0
	cmp <(upgraded) "$1"
	jqe '.transfer.streams.used == 4'
	local moved file=$((SIZE + 17))
	moved=$(link_settled 1)
	echo "file $file, link $moved ($(awk -v m="$moved" -v f="$file" 'BEGIN { printf "%.4f", m / f }') x)" |
		tee -a "${BOUND_LOG:-/dev/null}" >&2
	((moved <= file * 101 / 100 + $2))
}

@test "sftp-get --parallel 4, uninterrupted: the link carries at most 1.01 x the file plus 16 KiB of handshake per session" {
	done_request "$ORIG" db.dump
	# held to 2 MiB/s per connection: every session is up before the end
	sftp_via_proxy --delay-ms 5 --rate-kib 2048 --count-file "$COUNT"
	run --separate-stderr ucall 'upgrade sftp-get "$@" -o got' --parallel 4 "${SSH[@]}"
	# SFTP's 13-byte header and SSH's ~50 of packet, padding and MAC per
	# read of at most 30000 bytes: 0.2 %; the key exchange, host key and
	# authentication: a few KiB per session
	delivered_within got $((STREAMS * 16384))
}

@test "download --parallel 4, uninterrupted: the link carries at most 1.01 x the file plus 16 KiB of handshake per connection plus the first answer's body in flight" {
	done_request "$ORIG" db.dump
	export UPGRADE_REQUEST=$REQ UPGRADE_KEY=$KEY
	local rate=2048 # KiB/s per connection
	via_download_proxy --delay-ms 5 --rate-kib "$rate" --count-file "$COUNT"
	run --separate-stderr ucall 'upgrade download --cacert "$CA" -o F --parallel 4'
	# Measured 1.0020-1.0089 x (one stream: 1.0014 x, every time): TLS 1.3
	# records (22 bytes per 16 KiB, 0.13 %) and the 16 chunk answers' headers
	# (~300 bytes each) are the framing, within the 1 %; beyond it, one
	# handshake per connection (the first answer's and the 4 streams') and
	# the first answer's body: asked from its offset to the end, it is
	# stopped after its headers when they decide on streams (download.c,
	# promote), and what the server had sent by then was in flight (here
	# up to two of the forwarder's steps of a twentieth of the rate and the
	# client's 64 KiB of reads; on a real link, what the server's window
	# let out in a round trip)
	delivered_within F $(((STREAMS + 1) * 16384 + 2 * rate * 1024 / 20 + 65536))
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

# ------------------------------------------------------------ a changed file

# The remote file changes between the kill and the resume: the same size,
# other bytes, another mtime (so another ETag).  The resume must notice it
# from what the server says first (SFTP: the fstat before any read;
# HTTPS: the validators of the first answer, before a second range is
# asked) and move the new file once.

# stale, whole: the emulator's counts of range requests whose If-Range
# named another version, and of answers of a whole file (200).
stale() { emulator_stats | jq .download_stale; }
whole() { emulator_stats | jq .download_whole; }

# changed_bounded N CONNECTIONS EXTRA SAID: the resume (link 1 now
# less BEFORE) moved at most the file once: 1.01 x its size (SSH, TLS and
# SFTP framing; SFTP's read-ahead past a run's end, +0.4 % measured) plus
# 16 KiB per connection (handshakes, host key, certificates, headers) plus
# EXTRA, what was in flight when a request was stopped; from zero, its
# stderr matching SAID (the caller checks it is byte-exact).
changed_bounded() {
	local n=$1 conns=$2 extra=$3 moved file=$((SIZE + 17))
	moved=$(($(link_settled 1) - BEFORE))
	jqe '.transfer.resumed_from == 0'
	stderr_has "$4"
	local allowed=$((file * 101 / 100 + conns * 16384 + extra))
	echo "$n stream(s), changed file: first try $BEFORE, resume $moved, file $file, allowed $allowed" |
		tee -a "${BOUND_LOG:-/dev/null}" >&2
	((moved <= allowed))
}

# inflight RATE_KIB: what one stream stopped after its headers may have had
# on the link: two of the forwarder's steps (a twentieth of the rate each)
# and the client's 64 KiB of reads.
inflight() { echo $((2 * $1 * 1024 / 20 + 65536)); }

# download_changed N RATE_KIB: download --parallel N killed at 40 %, the
# platform's file changed, the same call again.
download_changed() {
	local n=$1 rate=$2
	done_request "$ORIG" db.dump
	export UPGRADE_REQUEST=$REQ UPGRADE_KEY=$KEY
	via_download_proxy --delay-ms 5 --rate-kib "$rate" --count-file "$COUNT"
	ubash "upgrade download --cacert \"\$CA\" -o F --parallel $n -s" >first.out 2>first.err &
	kill_at 1 $!
	BEFORE=$(link_settled 1)
	local orig new=$BATS_TEST_TMPDIR/new.dump stale0 whole0
	orig=$(emulator_requests | jq -r --arg r "$REQ" '.[$r].original_path')
	dump_bytes "$SIZE" >"$new"
	cat "$new" >"$orig"
	touch -d '+1 hour' "$orig"
	stale0=$(stale) whole0=$(whole)
	run --separate-stderr ucall "upgrade download --cacert \"\$CA\" -o F --parallel $n"
	expect_status 0
	cmp <(printf 'UPGRADED TO 16.0\n' && cat "$new") F
	# in flight: with N streams, the answer that told the change, stopped
	# at its headers (the new version's chunks are then asked by range,
	# no other answer stopped); one stream writes that answer, the new
	# file, and stops none (allowed one all the same).  Connections: the
	# first answer's and N streams'.
	local extra
	extra=$(inflight "$rate")
	changed_bounded "$n" $((n + 1)) "$extra" 'from zero'
	# the old version was asked for once: the first answer told the
	# change, no other range was asked with the old If-Range
	local asked=$(($(stale) - stale0)) wholes=$(($(whole) - whole0))
	echo "requests of the old version: $asked, whole answers: $wholes" | tee -a "${BOUND_LOG:-/dev/null}" >&2
	((asked == 1))
	# and that answer (a 200: the new file) was the only whole one: the
	# new version was not asked again from zero, only by ranges
	((wholes == 1))
}

# get_changed N RATE_KIB: sftp-get --parallel N killed at 40 %, the remote
# file changed, the same call again.  Nothing is read before the fstat
# compares size and mtime: nothing but the new file is in flight.
get_changed() {
	local n=$1 rate=$2
	done_request "$ORIG" db.dump
	sftp_via_proxy --delay-ms 5 --rate-kib "$rate" --count-file "$COUNT"
	ubash 'upgrade sftp-get "$@" -o got -s' --parallel "$n" "${SSH[@]}" >first.out 2>first.err &
	kill_at 1 $!
	BEFORE=$(link_settled 1)
	local remote new=$BATS_TEST_TMPDIR/new.bytes
	remote=$(shared upgraded_db.dump)
	{ printf 'UPGRADED TO 16.0\n'; dump_bytes "$SIZE"; } >"$new"
	cat "$new" >"$remote"
	touch -d '2001-01-01' "$remote"
	run --separate-stderr ucall 'upgrade sftp-get "$@" -o got' --parallel "$n" "${SSH[@]}"
	expect_status 0
	cmp "$new" got
	[[ ! -e got.part && ! -e got.part.meta ]]
	# sessions: the one of the fstat, handed to a stream, and N-1 more
	changed_bounded "$n" $((n + 1)) 0 changed
}

@test "download --parallel 4 SIGKILLed, the file changed (new ETag): noticed at the first answer, the resume moves the new file once (link count), byte-exact" {
	download_changed 4 "$RATE_KIB"
}

@test "download --parallel 1 SIGKILLed, the file changed (new ETag): noticed at the first answer, the resume moves the new file once (link count), byte-exact" {
	download_changed 1 "$RATE_ONE_KIB"
}

@test "sftp-get --parallel 4 SIGKILLed, the file changed (new mtime): noticed at the fstat, the resume moves the new file once (link count), byte-exact" {
	get_changed 4 "$RATE_KIB"
}

@test "sftp-get --parallel 1 SIGKILLed, the file changed (new mtime): noticed at the fstat, the resume moves the new file once (link count), byte-exact" {
	get_changed 1 "$RATE_ONE_KIB"
}
