#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-3.0-or-later
# upgrade run: the whole job, its record DUMP.upgrade.json, and --continue
# after the shell is killed at each step.
load helpers

setup() {
	cd "$BATS_TEST_TMPDIR"
	dump_bytes 300000 >db.dump
	emulator_reset >/dev/null
}

# expect_upgraded FILE: FILE is the emulator's upgrade of db.dump to 16.0.
expect_upgraded() {
	cmp <(printf 'UPGRADED TO 16.0\n'; cat db.dump) "$1"
}

# record_step: the step the job record names.
record_step() { jq -r .step db.dump.upgrade.json; }

# start_job SCRIPT: SCRIPT in a ubash of its own process group (setsid),
# so that the whole shell can be killed; sets JOB.
start_job() {
	setsid "$UBASH" "$1" >/dev/null 2>&1 &
	JOB=$!
}

# kill_when_step STEP: SIGKILL the job's whole process group once the
# record says STEP and the next call is under way; the shell is gone after.
kill_when_step() {
	local i
	for ((i = 0; i < 400; i++)); do
		[[ -f db.dump.upgrade.json && $(record_step 2>/dev/null) == "$1" ]] && break
		sleep 0.05
	done
	sleep 0.3
	kill -KILL -- "-$JOB"
	wait "$JOB" 2>/dev/null || true
	! kill -0 "$JOB" 2>/dev/null
}

@test "run: create, upload, process, wait, download in one call" {
	run --separate-stderr ucall "upgrade run $RUN_ARGS db.dump; echo \"req=\$UPGRADE_REQUEST\" >&2"
	expect_status 0
	one_line
	jqe '.failures == [] and .request.state == "done" and .transfer.file == "'"$PWD"'/upgraded_db.dump"'
	expect_upgraded upgraded_db.dump
	[[ $(file_mode upgraded_db.dump) == 600 ]]
	job_closed db.dump.upgrade.json
	stderr_has "req=$(jq -r .request.id <<<"$output")"
	stderr_has "progress -> done"
}

@test "run: the job record is written after create, mode 0600, and names the request" {
	emulator_fault upload http503 >/dev/null
	run --separate-stderr ucall "upgrade run $RUN_ARGS db.dump"
	expect_status 3
	jqe '.step == "upload" and .failures[0].reason == "CLIENT:HTTP" and (.request.id | length > 0)'
	[[ $(file_mode db.dump.upgrade.json) == 600 ]]
	[[ $(record_step) == created ]]
	[[ $(jq -r .key db.dump.upgrade.json) == "$(jq -r .request.key <<<"$output")" ]]
}

@test "run: a second run on an open job is refused, --new starts another" {
	emulator_fault upload http503 >/dev/null
	run ucall "upgrade run $RUN_ARGS -s db.dump"
	expect_status 3
	first=$(jq -r .request db.dump.upgrade.json)
	creates=$(method_count create)
	run --separate-stderr ucall "upgrade run $RUN_ARGS db.dump"
	expect_status 2
	expect_reason CLIENT:USAGE
	stderr_has "--continue"
	[[ $(method_count create) == "$creates" ]]
	run --separate-stderr ucall "upgrade run $RUN_ARGS --new db.dump"
	expect_status 0
	[[ $(jq -r .request.id <<<"$output") != "$first" ]]
	expect_upgraded upgraded_db.dump
}

@test "run --continue: shell killed during the upload" {
	emulator_fault upload slow '"delay": 5' >/dev/null
	start_job "upgrade run $RUN_ARGS -s db.dump"
	kill_when_step created
	[[ $(record_step) == created ]]
	[[ ! -e upgraded_db.dump ]]
	run --separate-stderr ucall "upgrade run --cacert \"\$CA\" --continue --interval 0.1 db.dump"
	expect_status 0
	jqe '.request.state == "done"'
	expect_upgraded upgraded_db.dump
	job_closed db.dump.upgrade.json
}

@test "run --continue: shell killed while asking to process" {
	emulator_fault process slow '"delay": 5' >/dev/null
	start_job "upgrade run $RUN_ARGS -s db.dump"
	kill_when_step uploaded
	[[ $(record_step) == uploaded ]]
	uploads=$(method_count upload)
	run --separate-stderr ucall "upgrade run --cacert \"\$CA\" --continue --interval 0.1 db.dump"
	expect_status 0
	expect_upgraded upgraded_db.dump
	[[ $(method_count upload) == "$uploads" ]] # not uploaded again
}

@test "run --continue: shell killed while waiting" {
	emulator_fault status slow '"delay": 5' >/dev/null
	start_job "upgrade run $RUN_ARGS -s db.dump"
	kill_when_step processed
	[[ $(record_step) == processed ]]
	uploads=$(method_count upload)
	run --separate-stderr ucall "upgrade run --cacert \"\$CA\" --continue --interval 0.1 db.dump"
	expect_status 0
	expect_upgraded upgraded_db.dump
	[[ $(method_count upload) == "$uploads" ]] # no second upload
	stderr_has "continuing request"
}

@test "run --continue: shell killed during the download resumes the .part" {
	dump_bytes 20000000 >db.dump
	emulator_fault download slow '"delay": 30' >/dev/null
	start_job "upgrade run $RUN_ARGS -s db.dump"
	kill_when_step done
	[[ $(record_step) == done ]]
	emulator_reset >/dev/null
	emulator_fault download drop '"after_bytes": 5000000' >/dev/null
	run --separate-stderr ucall "upgrade run --cacert \"\$CA\" --continue -s db.dump"
	expect_status 3 # the drop: a prefix is kept
	[[ -s upgraded_db.dump.part && ! -e upgraded_db.dump ]]
	run --separate-stderr ucall "upgrade run --cacert \"\$CA\" --continue db.dump"
	expect_status 0
	jqe '.transfer.resumed_from >= 5000000'
	expect_upgraded upgraded_db.dump
}

@test "run: a request that fails ends the job (exit 1, record closed)" {
	run --separate-stderr ucall "upgrade run $RUN_ARGS --filename fail.dump db.dump"
	expect_status 1
	jqe '.step == "wait" and (.failures | map(.reason) | index("CLIENT:STATE") != null)'
	job_closed db.dump.upgrade.json
	[[ ! -e upgraded_db.dump ]]
}

@test "run --continue without a record is a usage error" {
	run --separate-stderr ucall "upgrade run --cacert \"\$CA\" --continue db.dump"
	expect_status 2
	expect_reason CLIENT:USAGE
	alive
}

@test "run: bad input is refused before anything is sent" {
	creates=$(method_count create)
	run --separate-stderr ucall "upgrade run $RUN_ARGS missing.dump"
	expect_status 2
	expect_reason CLIENT:FILE
	run --separate-stderr ucall "upgrade run --cacert \"\$CA\" --email a@b --target 16.0 --aim test db.dump"
	expect_status 2
	expect_reason CLIENT:USAGE
	[[ $(method_count create) == "$creates" ]]
}
