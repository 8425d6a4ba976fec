#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-3.0-or-later
# Living inside the shell: keep-alive, forked subshells, inherited sockets,
# signals, the key kept off stderr, unloading.

load helpers

setup_file() {
	start_emulator
	export E2E_DIR
	export ORIG=$BATS_FILE_TMPDIR/orig.dump
	dump_bytes 3000000 >"$ORIG"
	done_request "$ORIG"
	export DONE_REQ=$REQ DONE_KEY=$KEY
}

setup() {
	emulator_reset
	use_done_request
	cd "$BATS_TEST_TMPDIR"
}

# seconds_between T0 T1
seconds_between() { awk -v a="$1" -v b="$2" 'BEGIN { print b - a }'; }

@test "keep-alive: 5 status calls in one shell use one connection" {
	local before_conn before_status
	before_conn=$(stat_get .api_connections)
	before_status=$(method_count status)
	run --separate-stderr ubash 'for i in 1 2 3 4 5; do
			upgrade status --cacert "$CA" -v st || exit 10
		done
		jq -r .request.state <<<"$st"'
	expect_status 0
	[ "$output" = done ]
	[ "$(method_count status)" -eq $((before_status + 5)) ]
	[ "$(stat_get .api_connections)" -eq $((before_conn + 1)) ]
}

@test "keep-alive: a status then a download in one shell share the connection" {
	local before
	before=$(stat_get .api_connections)
	run --separate-stderr ubash 'upgrade status --cacert "$CA" -s >/dev/null || exit 10
		upgrade download --cacert "$CA" -o F -s >/dev/null || exit 11
		upgrade status --cacert "$CA" -q .request.state -r'
	expect_status 0
	[ "$output" = done ]
	[ "$(stat_get .api_connections)" -eq $((before + 1)) ]
}

@test "subshells: \$(...), a pipeline and & each work, and the parent keeps working" {
	run --separate-stderr ubash '
		upgrade status --cacert "$CA" -q .request.state -r || exit 10
		x=$(upgrade status --cacert "$CA" -q .request.state -r) || exit 11
		echo "cmdsub:$x"
		y=$(upgrade status --cacert "$CA" | jq -r .request.state)
		echo "pipe:$y"
		upgrade status --cacert "$CA" -s >"$BATS_TEST_TMPDIR/bg.json" &
		wait $! || exit 12
		echo "bg:$(jq -r .request.state "$BATS_TEST_TMPDIR/bg.json")"
		upgrade status --cacert "$CA" -q .request.state -r || exit 13'
	expect_status 0
	[ "$output" = $'done\ncmdsub:done\npipe:done\nbg:done\ndone' ]
	[ -z "$stderr" ]
}

@test "subshells never reuse the parent's connection: parent, child, parent = 2 connections" {
	local before
	before=$(stat_get .api_connections)
	run --separate-stderr ubash '
		upgrade status --cacert "$CA" -q .request.id || exit 10
		x=$(upgrade status --cacert "$CA" -q .request.id) || exit 11
		echo "$x"
		upgrade status --cacert "$CA" -q .request.id || exit 12
		upgrade status --cacert "$CA" -q .request.id || exit 13'
	expect_status 0
	[ "$output" = "$REQ"$'\n'"$REQ"$'\n'"$REQ"$'\n'"$REQ" ]
	# the child opened its own; the parent kept and reused its one
	[ "$(stat_get .api_connections)" -eq $((before + 2)) ]
}

@test "a background call running alongside the parent's calls: all answers right" {
	run --separate-stderr ubash '
		upgrade status --cacert "$CA" -s >/dev/null || exit 10
		for i in 1 2 3 4 5; do
			upgrade status --cacert "$CA" -q .request.id >"$BATS_TEST_TMPDIR/bg.$i" &
			upgrade status --cacert "$CA" -q .request.id || exit 11
			wait $! || exit 12
			cat "$BATS_TEST_TMPDIR/bg.$i"
		done'
	expect_status 0
	[ "${#lines[@]}" -eq 10 ]
	local l
	for l in "${lines[@]}"; do [ "$l" = "$REQ" ]; done
}

# fd_sockets: after a status call, record the socket inodes of the shell
# (parent.fds) and of an exec'd child (child.fds), and the kernel's TCP and
# unix socket tables, in $BATS_TEST_TMPDIR.
fd_sockets() {
	run --separate-stderr ubash '
		upgrade status --cacert "$CA" -s >/dev/null || exit 10
		d=$BATS_TEST_TMPDIR
		ls -l /proc/$BASHPID/fd >"$d/parent.fds"
		bash -c "ls -l /proc/\$\$/fd" >"$d/child.fds"
		ls -l /proc/self/fd >"$d/self.fds"
		cat /proc/net/tcp /proc/net/tcp6 >"$d/tcp"
		cat /proc/net/unix >"$d/unix"'
	expect_status 0
}

# inodes FILE: the socket inodes an `ls -l /proc/PID/fd` listing shows.
inodes() { sed -n 's/.*socket:\[\([0-9]*\)\].*/\1/p' "$1"; }
# tcp_inodes: the inodes of TCP sockets in the recorded table.
tcp_inodes() { awk '$1 ~ /^[0-9]+:$/ { print $10 }' "$BATS_TEST_TMPDIR/tcp"; }

@test "the TCP connection is close-on-exec: the shell holds it, an exec'd child does not" {
	fd_sockets
	local d=$BATS_TEST_TMPDIR
	# the kept-alive connection is in the shell
	[ -n "$(comm -12 <(inodes "$d/parent.fds" | sort) <(tcp_inodes | sort))" ]
	# and in no exec'd program
	[ -z "$(comm -12 <(inodes "$d/child.fds" | sort) <(tcp_inodes | sort))" ]
	[ -z "$(comm -12 <(inodes "$d/self.fds" | sort) <(tcp_inodes | sort))" ]
}

@test "no socket of any kind leaks into an exec'd child" {
	fd_sockets
	local d=$BATS_TEST_TMPDIR
	if grep -q socket: "$d/child.fds" "$d/self.fds"; then
		echo "inherited by exec'd programs:" >&2
		grep socket: "$d/child.fds" >&2
		local i
		for i in $(inodes "$d/child.fds"); do
			grep -w "$i" "$d/unix" | sed 's/^/  unix: /' >&2 || true
		done
		return 1
	fi
}

@test "SIGINT trapped by the script stops wait within a second: 130, trap runs, script goes on" {
	pending_request
	run --separate-stderr ubash "$AWAIT_STATUS"'
		trap "echo trapped >&2" INT
		( await_status "$1"; echo "$EPOCHREALTIME" >"$2"; kill -INT $$ ) &
		upgrade wait --cacert "$CA" --interval 0.2
		rc=$?; t=$EPOCHREALTIME
		echo "rc=$rc" >&2
		echo "dt=$(awk -v a="$(cat "$2")" -v b="$t" "BEGIN { print b - a }")" >&2
		wait
		echo after >&2
		upgrade status --cacert "$CA" -q .request.state -r' "$(method_count status)" "$BATS_TEST_TMPDIR/killed"
	expect_status 0
	stderr_has trapped
	stderr_has "rc=130"
	stderr_has after
	local dt
	dt=$(sed -n 's/^dt=//p' <<<"$stderr")
	echo "interrupted after ${dt}s" >&2
	less_than "$dt" "$(scaled 1.2)"
	# the interrupted call still printed its document, then the script's own call worked
	[ "${#lines[@]}" -eq 2 ]
	jq -e '.failures[0].reason == "CLIENT:INTERRUPTED"' <<<"${lines[0]}"
	[ "${lines[1]}" = pending ]
	# the trap ran after the builtin returned, before the script went on
	[[ $stderr == *trapped*rc=130*after* || $stderr == *rc=130*trapped*after* ]]
}

@test "SIGTERM trapped by the script stops wait: 143, trap runs, script goes on" {
	pending_request
	run --separate-stderr ubash "$AWAIT_STATUS"'
		trap "echo trapped-term >&2" TERM
		( await_status "$1"; echo "$EPOCHREALTIME" >"$2"; kill -TERM $$ ) &
		upgrade wait --cacert "$CA" --interval 0.2 -s >/dev/null
		rc=$?; t=$EPOCHREALTIME
		echo "rc=$rc" >&2
		echo "dt=$(awk -v a="$(cat "$2")" -v b="$t" "BEGIN { print b - a }")" >&2
		wait
		echo after' "$(method_count status)" "$BATS_TEST_TMPDIR/killed"
	expect_status 0
	stderr_has trapped-term
	stderr_has "rc=143"
	[ "$output" = after ]
	less_than "$(sed -n 's/^dt=//p' <<<"$stderr")" "$(scaled 1.2)"
}

@test "SIGINT in the middle of a slow request: 130 within a second; the next call works" {
	emulator_fault status slow '{"delay": 30}'
	run --separate-stderr ubash "$AWAIT_STATUS"'
		trap "echo trapped >&2" INT
		( await_status "$1"; echo "$EPOCHREALTIME" >"$2"; kill -INT $$ ) &
		upgrade status --cacert "$CA" -s >/dev/null
		rc=$?; t=$EPOCHREALTIME
		echo "rc=$rc" >&2
		echo "dt=$(awk -v a="$(cat "$2")" -v b="$t" "BEGIN { print b - a }")" >&2
		wait
		upgrade status --cacert "$CA" -q .request.state -r' "$(method_count status)" "$BATS_TEST_TMPDIR/killed"
	expect_status 0
	stderr_has trapped
	stderr_has "rc=130"
	less_than "$(sed -n 's/^dt=//p' <<<"$stderr")" "$(scaled 1.2)"
	[ "$output" = done ]
}

@test "SIGINT in a script that does not trap it kills the script, as with any command" {
	pending_request
	run --separate-stderr ubash "$AWAIT_STATUS"'
		( await_status "$1"; kill -INT $$ ) &
		upgrade wait --cacert "$CA" --interval 0.2 -s
		echo "not reached: $?"' "$(method_count status)"
	expect_status 130
	[[ $output != *"not reached"* ]]
}

@test "a download interrupted by SIGINT keeps FILE.part; a later download completes" {
	{ printf 'UPGRADED TO 16.0\n'; cat "$ORIG"; } >"$BATS_TEST_TMPDIR/exp"
	# first leave a partial file, then interrupt the resumption while it waits for the body
	emulator_fault download drop '{"after_bytes": 1000000}'
	emulator_fault download slow '{"delay": 30}'
	run --separate-stderr ubash '
		trap "echo trapped >&2" INT
		upgrade download --cacert "$CA" -o F -s >/dev/null
		echo "first=$?" >&2
		( sleep "$1"; kill -INT $$ ) &
		upgrade download --cacert "$CA" -o F -s
		echo "second=$?" >&2
		wait' "$(scaled 0.5)"
	expect_status 0
	stderr_has "first=3"
	stderr_has "second=130"
	stderr_has trapped
	jqe '.failures[0].reason == "CLIENT:INTERRUPTED"'
	[ ! -e F ]
	local part
	part=$(stat -c %s F.part)
	[ "$part" -ge 1000000 ]
	cmp -n "$part" F.part "$BATS_TEST_TMPDIR/exp"
	[ "$(file_mode F.part)" = 600 ]
	run --separate-stderr ubash 'upgrade download --cacert "$CA" -o F'
	expect_status 0
	jqe '.failures == [] and .transfer.resumed_from >= 1000000'
	cmp "$BATS_TEST_TMPDIR/exp" F
	[ ! -e F.part ]
}

@test "calls leave the shell's signal dispositions and traps as they were" {
	pending_request
	run --separate-stderr ubash '
		trap "echo t" USR1
		# $(trap -p) lists the shell'"'"'s traps from a subshell, which keeps a
		# plain trap -p from installing bash'"'"'s own handlers in the shell
		# the shell is read from a child once it sits in waitpid(): bash
		# itself blocks and unblocks signals for an instant around a fork
		snap() { (sleep "$1"; grep -E "^Sig(Cgt|Ign|Blk)" /proc/$$/status); echo "$(trap -p)"; }
		snap "$1" >"$BATS_TEST_TMPDIR/before"
		upgrade status --cacert "$CA" -s >/dev/null
		upgrade wait --cacert "$CA" --interval 0.1 --timeout 0.3 -s >/dev/null
		upgrade status --cacert "$CA" --request 1 --key x -s >/dev/null
		upgrade status --bogus -s >/dev/null
		snap "$1" >"$BATS_TEST_TMPDIR/after"' "$(scaled 0.3)"
	expect_status 0
	grep -q "SIGUSR1" "$BATS_TEST_TMPDIR/before"
	diff "$BATS_TEST_TMPDIR/before" "$BATS_TEST_TMPDIR/after"
}

@test "the key never reaches stderr: verbose, progress, failing calls" {
	local port
	port=$(harness_free_port)
	dump_bytes 2000000 >"$BATS_TEST_TMPDIR/up.dump"
	api_create
	run --separate-stderr ubash '
		source "$E2E_DIR/../lib/harness.bash"
		d=$BATS_TEST_TMPDIR/up.dump
		upgrade status --cacert "$CA" --verbose
		upgrade upload --cacert "$CA" --verbose --progress "$d"
		emulator_fault upload http500; upgrade upload --cacert "$CA" --verbose "$d"
		emulator_fault upload drop "{\"after_bytes\": 100000}"; upgrade upload --cacert "$CA" --verbose "$d"
		upgrade upload --cacert "$CA" --verbose --url "https://127.0.0.1:$1/database/v1" "$d"
		upgrade upload --cacert "$CA" --verbose --url "http://127.0.0.1:$1/database/v1" "$d"
		upgrade upload "$d" --verbose
		upgrade process --cacert "$CA" --verbose
		upgrade upload --cacert "$CA" --verbose "$d"
		upgrade wait --cacert "$CA" --verbose --interval 0.1
		emulator_fault download http500; upgrade download --cacert "$CA" --verbose -o F1
		emulator_fault download http404; upgrade download --cacert "$CA" --verbose -o F1
		emulator_fault download drop "{\"after_bytes\": 100000}"; upgrade download --cacert "$CA" --verbose -o F1
		upgrade download --cacert "$CA" --verbose --progress -o F1
		upgrade download --cacert "$CA" --verbose -o F1
		emulator_fault download slow "{\"delay\": 3}"; upgrade download --cacert "$CA" --verbose --max-time 0.5 -o F2
		upgrade download --verbose -o F3
		emulator_fault status badjson; upgrade status --cacert "$CA" --verbose
		emulator_fault status http500; upgrade wait --cacert "$CA" --verbose --interval 0.1
		upgrade status --cacert "$CA" --verbose --url "https://127.0.0.1:$1/database/v1"
		upgrade skip-test --cacert "$CA" --verbose
		upgrade status --cacert "$CA" --verbose --connect-timeout 0.5 --url "https://10.255.255.1:9/database/v1" -q .failures
		exit 0' "$port"
	expect_status 0
	# the calls did talk: verbose output, progress and failures are there
	[ "${#stderr}" -gt 2000 ]
	stderr_has "CLIENT:HTTP"
	stderr_has "CLIENT:NETWORK"
	stderr_has "CLIENT:TLS"
	stderr_has "REQUEST:STATE"
	# ... and the key appears on stdout (the platform's JSON carries it) but never on stderr
	[[ $output == *"$KEY"* ]]
	local enc lower
	enc=$(python3 -c 'import urllib.parse,sys;print(urllib.parse.quote(sys.argv[1],safe=""))' "$KEY")
	lower=$(sed -E 's/%([0-9A-F]{2})/%\L\1/g' <<<"$enc")
	stderr_lacks "$KEY"
	stderr_lacks "$enc"
	stderr_lacks "$lower"
	stderr_lacks "${KEY//+/ }"
}

@test "the key never reaches stderr, even in a jq error message" {
	run --separate-stderr ubash 'upgrade status --cacert "$CA" -q ".request.key | error"'
	expect_status 2
	[ -z "$output" ]
	stderr_has "CLIENT:JQ: jq: error"
	stderr_lacks "$KEY"
}

@test "enable -d after calls: the shell keeps working" {
	run --separate-stderr ubash '
		upgrade status --cacert "$CA" -s >/dev/null || exit 10
		upgrade download --cacert "$CA" -o F -s >/dev/null || exit 11
		upgrade status --cacert "$CA" --request 1 --key x -s >/dev/null
		enable -d upgrade || exit 12
		type upgrade >/dev/null 2>&1 && exit 13
		echo "ls=$(ls F)"
		x=$(echo sub); echo "$x"'
	expect_status 0
	[ "$output" = $'ls=F\nsub' ]
}
