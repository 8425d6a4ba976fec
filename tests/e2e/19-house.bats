#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-3.0-or-later
# One place for each rule: required options come from the option table,
# one ssh_keys reader, one rule for which failures wait rides through.

load helpers

@test "run without --contract: exit 2 CLIENT:USAGE naming it, nothing created" {
	local before
	before=$(method_count create)
	printf 'dump\n' >"$BATS_TEST_TMPDIR/db.dump"
	cd "$BATS_TEST_TMPDIR"
	run --separate-stderr ucall 'upgrade run --cacert "$CA" --email e@x.org --target 16.0 --aim test db.dump'
	expect_status 2
	one_line
	alive
	expect_reason CLIENT:USAGE
	stderr_has 'run needs --contract'
	[ "$(method_count create)" = "$before" ]
	[ ! -e db.dump.upgrade.json ]
}

@test "run --continue needs none of create's options: it is refused for having no job, not for them" {
	printf 'dump\n' >"$BATS_TEST_TMPDIR/db.dump"
	cd "$BATS_TEST_TMPDIR"
	run --separate-stderr ucall 'upgrade run --cacert "$CA" --continue db.dump'
	expect_status 2
	expect_reason CLIENT:USAGE
	stderr_has 'no open job'
	stderr_lacks 'needs --'
}

@test "sftp-access without --ssh-keys: exit 2 CLIENT:USAGE naming it, nothing sent" {
	local before
	before=$(method_count request_sftp_access)
	run --separate-stderr ucall 'upgrade sftp-access --cacert "$CA" --request 1 --key k'
	expect_status 2
	expect_reason CLIENT:USAGE
	stderr_has 'sftp-access needs --ssh-keys'
	[ "$(method_count request_sftp_access)" = "$before" ]
}

@test "sftp-access with a keys file over 1 MiB: exit 2 CLIENT:FILE, nothing sent" {
	local before
	before=$(method_count request_sftp_access)
	head -c $((1024 * 1024 + 1)) /dev/zero | tr '\0' '#' >"$BATS_TEST_TMPDIR/keys"
	run --separate-stderr ucall 'upgrade sftp-access --cacert "$CA" --request 1 --key k --ssh-keys "$1"' \
		"$BATS_TEST_TMPDIR/keys"
	expect_status 2
	expect_reason CLIENT:FILE
	stderr_has 'larger than 1 MiB'
	[ "$(method_count request_sftp_access)" = "$before" ]
}

@test "wait stops at once on a 404 from status (a fault that will not heal): exit 3, one poll" {
	pending_request
	local before
	before=$(method_count status)
	emulator_fault status http404
	run --separate-stderr ucall 'upgrade wait --cacert "$CA" --interval 0.1 --timeout 20'
	expect_status 3
	alive
	expect_reason CLIENT:HTTP
	jqe '.failures[0].code == 404'
	[ "$(method_count status)" = "$((before + 1))" ]
}

@test "wait rides through a 502 from status: the same rule as --retry" {
	pending_request
	emulator_set_state "$REQ" done
	emulator_fault status http500 '{"count": 2}'
	run --separate-stderr ucall 'upgrade wait --cacert "$CA" --interval 0.1 --timeout 20'
	expect_status 0
	stderr_has 'still waiting'
	jqe '.request.state == "done"'
}
