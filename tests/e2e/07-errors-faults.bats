#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-3.0-or-later
# Usage errors, platform failures and transport faults: the exit status, the
# failure document on stdout, the line on stderr, and a shell still alive.

load helpers

setup_file() { start_with_done_request; }

setup() {
	emulator_reset stats
	use_done_request
}

STATUS='upgrade status --cacert "$CA"'

# fault_status FAULT [EXTRA] -> run status against one queued fault
fault_status() {
	emulator_fault status "$1" "${2:-}"
	run --separate-stderr ucall "$STATUS"
}

@test "http500: exit 3 CLIENT:HTTP with code 500" {
	fault_status http500
	expect_status 3
	one_line
	alive
	expect_reason CLIENT:HTTP
	jqe '.failures[0].code == 500'
}

@test "http404: exit 3 CLIENT:HTTP with code 404" {
	fault_status http404
	expect_status 3
	one_line
	alive
	expect_reason CLIENT:HTTP
	jqe '.failures[0].code == 404'
}

@test "http503 without --retry: exit 3 CLIENT:HTTP with code 503" {
	fault_status http503
	expect_status 3
	one_line
	alive
	expect_reason CLIENT:HTTP
	jqe '.failures[0].code == 503'
}

@test "badjson: exit 3 CLIENT:BAD_RESPONSE" {
	fault_status badjson
	expect_status 3
	one_line
	alive
	expect_reason CLIENT:BAD_RESPONSE
}

@test "truncated: exit 3 CLIENT:BAD_RESPONSE" {
	fault_status truncated
	expect_status 3
	one_line
	alive
	expect_reason CLIENT:BAD_RESPONSE
}

@test "wrongshape: exit 3 CLIENT:BAD_RESPONSE" {
	fault_status wrongshape
	expect_status 3
	one_line
	alive
	expect_reason CLIENT:BAD_RESPONSE
}

@test "a 20 MiB answer: exit 3 CLIENT:BAD_RESPONSE" {
	fault_status huge '{"size": 20971520}'
	expect_status 3
	one_line
	alive
	expect_reason CLIENT:BAD_RESPONSE
	[ "${#output}" -lt 100000 ]
}

@test "server_error (SERVER:ERROR from the platform) on status: exit 1, reported as it came" {
	fault_status server_error
	expect_status 1
	one_line
	alive
	expect_reason SERVER:ERROR
}

@test "a dropped connection: exit 3 CLIENT:NETWORK" {
	fault_status drop
	expect_status 3
	one_line
	alive
	expect_reason CLIENT:NETWORK
}

@test "connection refused: exit 3 CLIENT:NETWORK" {
	local port
	port=$(harness_free_port)
	run --separate-stderr ucall "$STATUS"' --url "https://127.0.0.1:$1/database/v1"' "$port"
	expect_status 3
	one_line
	alive
	expect_reason CLIENT:NETWORK
}

@test "slow (3 s) answer with --max-time 1: exit 3 CLIENT:TIMEOUT within ~2 s" {
	emulator_fault status slow '{"delay": 3}'
	run --separate-stderr ucall_timed "$STATUS"' --max-time 1'
	expect_status 3
	one_line
	alive
	expect_reason CLIENT:TIMEOUT
	less_than "$(took)" "$(scaled 2.2)"
}

@test "after a timed-out call the next call in the same shell gets its own answer" {
	emulator_fault status slow '{"delay": 1.5}'
	run --separate-stderr ucall "$STATUS"' --max-time 0.5 -s; echo "rc=$?" >&2
		sleep 1.5
		'"$STATUS"' -q .request.id'
	expect_status 0
	alive
	stderr_has "rc=3"
	[ "${lines[-1]}" = "$REQ" ]
}

@test "after a dropped connection the next call in the same shell reconnects" {
	emulator_fault status drop
	run --separate-stderr ucall "$STATUS"' -s; echo "rc1=$?" >&2
		'"$STATUS"' -q .request.state -r; echo "rc2=$?" >&2
		'"$STATUS"' -q .request.state -r'
	expect_status 0
	alive
	stderr_has "rc1=3"
	stderr_has "rc2=0"
	[ "${lines[-2]}" = done ]
	[ "${lines[-1]}" = done ]
}

@test "--retry 3 --retry-delay 0.1 rides through 2x http503 on status" {
	emulator_fault status http503 '{"count": 2}'
	run --separate-stderr ucall "$STATUS"' --retry 3 --retry-delay 0.1'
	expect_status 0
	one_line
	alive
	jqe '.failures == [] and .request.state == "done"'
	[ "$(method_count status)" -eq 3 ]
}

@test "--retry 1 is not enough for 2x http503: exit 3" {
	emulator_fault status http503 '{"count": 2}'
	run --separate-stderr ucall "$STATUS"' --retry 1 --retry-delay 0.1'
	expect_status 3
	expect_reason CLIENT:HTTP
	[ "$(method_count status)" -eq 2 ]
}

@test "an unknown request: exit 1 REQUEST:NOT_FOUND" {
	run --separate-stderr ucall "$STATUS"' --request 999 --key x'
	expect_status 1
	one_line
	alive
	expect_reason REQUEST:NOT_FOUND
}

@test "no request named anywhere: exit 2 CLIENT:USAGE, nothing sent" {
	local before
	before=$(method_count status)
	run --separate-stderr ucall 'unset UPGRADE_REQUEST UPGRADE_KEY; '"$STATUS"
	expect_status 2
	one_line
	alive
	expect_reason CLIENT:USAGE
	[ "$(method_count status)" = "$before" ]
}

# usage ARGS…: each is a usage error (exit 2 CLIENT:USAGE) and sends nothing.
usage_case() {
	local before
	before=$(emulator_stats | jq -c .requests)
	run --separate-stderr ucall "$1"
	expect_status 2
	one_line
	alive
	expect_reason CLIENT:USAGE
	[[ ${stderr_lines[0]} == "upgrade: CLIENT:USAGE: "* ]]
	[ "$(emulator_stats | jq -c .requests)" = "$before" ]
}

@test "an unknown option: exit 2" {
	usage_case "$STATUS"' --bogus'
	stderr_has -- --bogus
	usage_case "$STATUS"' -Z'
}

@test "an unknown subcommand: exit 2" {
	usage_case 'upgrade frobnicate --cacert "$CA"'
	stderr_has frobnicate
}

@test "an option that does not apply to the subcommand: exit 2" {
	usage_case "$STATUS"' --what notes'
	usage_case "$STATUS"' --interval 1'
	usage_case 'upgrade process --cacert "$CA" -o file'
	usage_case 'upgrade wait --cacert "$CA" --contract M1-abc'
}

@test "status --what x: exit 2" {
	usage_case "$STATUS"' --what x'
}

@test "download --what with an unknown file kind: exit 2" {
	usage_case 'upgrade download --cacert "$CA" --what everything'
}

@test "bad numbers: --retry abc, --interval -1, --max-time 0, --timeout x, --connect-timeout -2: exit 2" {
	usage_case "$STATUS"' --retry abc'
	usage_case "$STATUS"' --retry -1'
	usage_case 'upgrade wait --cacert "$CA" --interval -1'
	usage_case 'upgrade wait --cacert "$CA" --interval 0'
	usage_case "$STATUS"' --max-time 0'
	usage_case 'upgrade wait --cacert "$CA" --timeout x'
	usage_case "$STATUS"' --connect-timeout -2'
	usage_case "$STATUS"' --retry-delay abc'
}

@test "an option missing its value: exit 2" {
	usage_case "$STATUS"' --max-time'
	usage_case "$STATUS"' -q'
}

@test "an unexpected argument: exit 2" {
	usage_case "$STATUS"' extra'
}

@test "-s: a failure prints nothing on stderr but still the document on stdout" {
	emulator_fault status http500
	run --separate-stderr ubash "$STATUS"' -s'
	expect_status 3
	one_line
	jqe '.failures[0].reason == "CLIENT:HTTP"'
	[ -z "$stderr" ]
}

@test "faults on download: http500 exit 3 CLIENT:HTTP, no file left behind" {
	cd "$BATS_TEST_TMPDIR"
	emulator_fault download http500
	run --separate-stderr ucall 'upgrade download --cacert "$CA" -o F'
	expect_status 3
	one_line
	alive
	expect_reason CLIENT:HTTP
	jqe '.failures[0].code == 500'
	[ ! -e F ]
}

@test "faults on upload and process: http500 exit 3; SERVER:ERROR exit 1" {
	api_create
	printf 'x\n' >"$BATS_TEST_TMPDIR/x.dump"
	emulator_fault upload http500
	run --separate-stderr ucall 'upgrade upload --cacert "$CA" "$1"' "$BATS_TEST_TMPDIR/x.dump"
	expect_status 3
	expect_reason CLIENT:HTTP
	alive
	api_upload "$BATS_TEST_TMPDIR/x.dump"
	emulator_fault process server_error
	run --separate-stderr ucall 'upgrade process --cacert "$CA"'
	expect_status 1
	expect_reason SERVER:ERROR
	alive
}
