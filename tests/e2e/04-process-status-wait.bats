#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-3.0-or-later
# upgrade process, skip-test, status, wait

load helpers

setup() {
	emulator_reset
	printf 'a small dump\n' >"$BATS_TEST_TMPDIR/db.dump"
}

# uploaded [FILENAME]: a draft request with a dump uploaded (via curl).
uploaded() {
	api_create "${1:-db.dump}" && api_upload "$BATS_TEST_TMPDIR/db.dump"
}

@test "process: exit 0, the request is pending" {
	uploaded
	run --separate-stderr ucall 'upgrade process --cacert "$CA"'
	expect_status 0
	one_line
	alive
	jqe --argjson id "$REQ" '.failures == [] and .request.id == $id and .request.state == "pending"'
	[ "$stderr" = SHELL-ALIVE ]
}

@test "process without an uploaded dump: exit 1 UPLOAD:MISSING" {
	api_create
	run --separate-stderr ucall 'upgrade process --cacert "$CA"'
	expect_status 1
	one_line
	alive
	expect_reason UPLOAD:MISSING
}

@test "process twice: exit 1 REQUEST:STATE" {
	uploaded
	api_process
	run --separate-stderr ubash 'upgrade process --cacert "$CA"'
	expect_status 1
	expect_reason REQUEST:STATE
}

@test "status: exit 0, one line, the request" {
	uploaded
	run --separate-stderr ucall 'upgrade status --cacert "$CA"'
	expect_status 0
	one_line
	alive
	jqe --argjson id "$REQ" --arg k "$KEY" '.failures == [] and .request.id == $id and .request.key == $k'
	jqe '.request.state == "draft" and (.request.upgraded_dump_url | startswith("https://"))'
}

@test "wait reports each state change on stderr and ends with the done status" {
	pending_request
	# drive the states by hand, each change once wait has polled the state
	# before it, so that every change is seen however slow the client (a
	# fixed delay lost the pending poll under valgrind on a loaded machine)
	(
		after_status_poll
		emulator_set_state "$REQ" progress
		after_status_poll
		emulator_set_state "$REQ" done
	) >/dev/null 2>&1 3>&- &
	run --separate-stderr ucall 'upgrade wait --cacert "$CA" --interval 0.1'
	wait
	expect_status 0
	one_line
	alive
	jqe --argjson id "$REQ" '.failures == [] and .request.id == $id and .request.state == "done"'
	stderr_has "pending -> progress"
	stderr_has "progress -> done"
	# the JSON is on stdout only; stderr carries the human lines
	stderr_lacks '"failures"'
}

@test "process then wait, as the platform advances by itself: exit 0, done" {
	uploaded
	run --separate-stderr ucall 'upgrade process --cacert "$CA" -s >/dev/null || exit 10
		upgrade wait --cacert "$CA" --interval 0.1'
	expect_status 0
	one_line
	alive
	jqe '.request.state == "done"'
	# a state line ends with done (with "->" unless the first poll already saw it)
	grep -Eq "^upgrade: request $REQ: (.* -> )?done" <<<"$stderr"
}

@test "wait -s prints no state change" {
	pending_request
	# done once wait has polled (a fixed 0.5 s was 4 s under valgrind)
	(after_status_poll; emulator_set_state "$REQ" done) >/dev/null 2>&1 3>&- &
	run --separate-stderr ubash 'upgrade wait --cacert "$CA" --interval 0.1 -s'
	wait
	expect_status 0
	jqe '.request.state == "done"'
	[ -z "$stderr" ]
}

@test "wait -q -r prints the final state only" {
	uploaded
	api_process
	run --separate-stderr ubash 'upgrade wait --cacert "$CA" --interval 0.1 -q .request.state -r'
	expect_status 0
	[ "$output" = done ]
}

@test "a request that fails: wait exits 1 with a CLIENT:STATE failure" {
	uploaded this-will-fail.dump
	api_process
	run --separate-stderr ucall 'upgrade wait --cacert "$CA" --interval 0.1'
	expect_status 1
	one_line
	alive
	expect_reason CLIENT:STATE
	jqe '.request.state == "failed"'
	grep -Eq "^upgrade: request $REQ: (.* -> )?failed" <<<"$stderr"
}

@test "wait --timeout 0.3 on a request that stays pending: exit 4 CLIENT:TIMEOUT, on time" {
	pending_request
	run --separate-stderr ucall_timed 'upgrade wait --cacert "$CA" --interval 0.1 --timeout 0.3'
	expect_status 4
	one_line
	alive
	expect_reason CLIENT:TIMEOUT
	less_than "$(took)" "$(scaled 2.5)"
}

@test "wait on a draft: exit 1 at once (it would never end)" {
	api_create
	run --separate-stderr ucall_timed 'upgrade wait --cacert "$CA" --interval 0.1'
	expect_status 1
	one_line
	alive
	jqe '.failures | length > 0'
	jqe '.request.state == "draft" or .request == null'
	less_than "$(took)" "$(scaled 5)"
}

@test "wait rides through server_error x2, http503 x2 and a dropped connection on status" {
	uploaded
	api_process
	emulator_fault status server_error '{"count": 2}'
	emulator_fault status http503 '{"count": 2}'
	emulator_fault status drop
	run --separate-stderr ucall 'upgrade wait --cacert "$CA" --interval 0.1'
	expect_status 0
	one_line
	alive
	jqe '.failures == [] and .request.state == "done"'
	# every fault was served (and so ridden through)
	emulator_curl /_emulator/faults | jq -e '.faults == []'
}

@test "wait on a request already done returns at once" {
	uploaded
	emulator_set_state "$REQ" done
	run --separate-stderr ubash 'upgrade wait --cacert "$CA" --interval 5 -q .request.state -r'
	expect_status 0
	[ "$output" = done ]
}

@test "skip-test: exit 0, then wait ends delivered" {
	uploaded
	api_process
	run --separate-stderr ucall 'upgrade skip-test --cacert "$CA" || exit 10
		upgrade wait --cacert "$CA" --interval 0.1'
	expect_status 0
	alive
	[ "${#lines[@]}" -eq 2 ]
	jq -e '.failures == []' <<<"${lines[0]}"
	jq -e '.failures == [] and .request.state == "delivered"' <<<"${lines[1]}"
	stderr_has "delivered"
}

@test "skip-test on a draft: exit 1 REQUEST:STATE" {
	api_create
	run --separate-stderr ucall 'upgrade skip-test --cacert "$CA"'
	expect_status 1
	one_line
	alive
	expect_reason REQUEST:STATE
}
