#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-3.0-or-later
# upgrade create

load helpers

setup() {
	unset UPGRADE_REQUEST UPGRADE_KEY REQ KEY
}

# create ARGS…: the create options every test shares, then ARGS.
CREATE='upgrade create --cacert "$CA" --email john.doe@example.com --aim test --filename db.dump'

@test "create succeeds and sets UPGRADE_REQUEST and UPGRADE_KEY in the calling shell" {
	run --separate-stderr ucall "$CREATE"' --contract M123456-abcdef --target 16.0 --timezone Europe/Brussels
		rc=$?
		printf "%s" "$UPGRADE_REQUEST" >"$BATS_TEST_TMPDIR/req"
		printf "%s" "$UPGRADE_KEY" >"$BATS_TEST_TMPDIR/key"
		(exit $rc)'
	expect_status 0
	one_line
	alive
	jqe '.failures == [] and .request.state == "draft" and .request.target == "16.0"'
	jqe '.request.timezone == "Europe/Brussels" and .request.aim == "test"'
	[ "$(<"$BATS_TEST_TMPDIR/req")" = "$(jq -r .request.id <<<"$output")" ]
	[ "$(<"$BATS_TEST_TMPDIR/key")" = "$(jq -r .request.key <<<"$output")" ]
	# and it is the request the platform knows, under that key
	local id key
	id=$(<"$BATS_TEST_TMPDIR/req") key=$(<"$BATS_TEST_TMPDIR/key")
	emulator_requests | jq -e --arg id "$id" --arg k "$key" '.[$id].key == $k and .[$id].state == "draft"'
	[ "$stderr" = SHELL-ALIVE ]
}

@test "create then status in the same shell uses the variables create set" {
	run --separate-stderr ubash "$CREATE"' --contract M123456-abcdef --target 15.0 >/dev/null || exit 10
		upgrade status --cacert "$CA" -q ".request.id == ($UPGRADE_REQUEST | tonumber)"'
	expect_status 0
	[ "$output" = true ]
}

@test "create sends parameters URL-encoded: + & = and spaces survive" {
	run --separate-stderr ubash 'upgrade create --cacert "$CA" --contract M1-abc --target 14.0 \
		--aim production --email "a+b@example.com" --filename "my db&x=1+2.dump"'
	expect_status 0
	jqe '.request.email == "a+b@example.com" and .request.filename == "my db&x=1+2.dump"'
	jqe '.request.aim == "production"'
}

@test "an invalid target: exit 1, the platform's failure on stdout, a line on stderr" {
	run --separate-stderr ucall 'UPGRADE_REQUEST=41; UPGRADE_KEY=old
		'"$CREATE"' --contract M123456-abcdef --target 5.0
		rc=$?; echo "vars=$UPGRADE_REQUEST/$UPGRADE_KEY" >&2; (exit $rc)'
	expect_status 1
	one_line
	alive
	expect_reason TARGET:INVALID
	jqe '.failures[0].value == "5.0" and (.failures[0].expected | index("16.0") != null)'
	jqe '.request == null'
	# failed create leaves the variables alone
	stderr_has "vars=41/old"
	[[ ${stderr_lines[0]} == "upgrade: TARGET:INVALID"* ]]
}

@test "several invalid values: every failure is reported, one stderr line each" {
	run --separate-stderr ubash 'upgrade create --cacert "$CA" --contract M1-abc --email nomail \
		--target 1.0 --aim fun --filename x'
	expect_status 1
	jqe '[.failures[].reason] | sort == ["AIM:INVALID", "EMAIL:INVALID", "TARGET:INVALID"]'
	[ "$(grep -c '^upgrade: .*:INVALID' <<<"$stderr")" -eq 3 ]
}

@test "an unknown contract: exit 1 CONTRACT:NOT_FOUND" {
	run --separate-stderr ucall "$CREATE"' --contract M999-unknown --target 16.0'
	expect_status 1
	one_line
	alive
	expect_reason CONTRACT:NOT_FOUND
	jqe '.failures[0].code == "M999-unknown"'
}

@test "-s: no line on stderr, failures still on stdout" {
	run --separate-stderr ubash "$CREATE"' --contract M999-unknown --target 16.0 -s'
	expect_status 1
	jqe '.failures[0].reason == "CONTRACT:NOT_FOUND"'
	[ -z "$stderr" ]
}

@test "a missing --email: exit 2 CLIENT:USAGE and nothing sent" {
	local before
	before=$(method_count create)
	run --separate-stderr ucall 'upgrade create --cacert "$CA" --contract M1-abc --target 16.0 \
		--aim test --filename db.dump'
	expect_status 2
	one_line
	alive
	expect_reason CLIENT:USAGE
	stderr_has --email
	[ "$(method_count create)" = "$before" ]
}

@test "create takes no positional argument: exit 2, nothing sent" {
	local before
	before=$(method_count create)
	run --separate-stderr ubash "$CREATE"' --contract M1-abc --target 16.0 extra'
	expect_status 2
	expect_reason CLIENT:USAGE
	[ "$(method_count create)" = "$before" ]
}
