#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-3.0-or-later
# upgrade run's job record (DUMP.upgrade.json) is believed only when the
# user alone could have written it; what the user gives explicitly wins over
# nothing silently; one run at a time works on a dump; no request is lost to
# an unwritable record; and what request_sftp_access answers is checked
# before it becomes a connection target or a file name.
load helpers

setup_file() {
	start_emulator && hostile_start
}

setup() {
	cd "$BATS_TEST_TMPDIR"
	dump_bytes 300000 >db.dump
	emulator_reset stats >/dev/null
	hostile_script '{"rules": []}'
}

CONTINUE='upgrade run --cacert "$CA" --continue --interval 0.1'

# open_job: a run whose upload fails, leaving the record at step created.
open_job() {
	emulator_fault upload http503 >/dev/null
	run ucall "upgrade run $RUN_ARGS -s db.dump"
	expect_status 3
	[[ $(jq -r .step db.dump.upgrade.json) == created ]]
}

# edit_record JQ: change the record in place (its inode and mode kept).
edit_record() {
	local new
	new=$(jq "$1" db.dump.upgrade.json) && printf '%s\n' "$new" >db.dump.upgrade.json
}

# hostile_requests: how many requests the hostile server saw.
hostile_requests() { hostile_log | jq '.requests | length'; }

# expect_upgraded FILE: FILE is the emulator's upgrade of db.dump to 16.0.
expect_upgraded() {
	cmp <(printf 'UPGRADED TO 16.0\n'; cat db.dump) "$1"
}

# ucall_within SECONDS SCRIPT [COMMAND…]: as ucall, killed after SECONDS
# (scaled) so that a call that blocks fails the test quickly (status 124);
# the bash is started through COMMAND when given.
ucall_within() {
	local seconds=$1 script=$2
	shift 2
	timeout -k 5 "$(scaled "$seconds")" "$@" "$UBASH" "$script"$'\n''__rc=$?; echo SHELL-ALIVE >&2; exit $__rc'
}

# ucall_unprivileged SCRIPT: as ucall, but without root's power to write
# where permissions forbid (CAP_DAC_OVERRIDE), so that a read-only
# directory is read-only for the test as it is for a user.
ucall_unprivileged() {
	local drop=()
	((EUID == 0)) && drop=(setpriv --inh-caps=-dac_override,-dac_read_search
		--bounding-set=-dac_override,-dac_read_search)
	ucall_within 90 "$1" "${drop[@]}"
}

# continue_disagreeing OPTIONS SAME TEXT: on an open job, --continue with
# OPTIONS is refused (exit 2, CLIENT:USAGE, stderr names TEXT) having sent
# and written nothing; with SAME instead it completes the job.
continue_disagreeing() {
	open_job
	local statuses
	statuses=$(method_count status)
	run --separate-stderr ucall "$CONTINUE $1 db.dump"
	expect_status 2
	expect_reason CLIENT:USAGE
	stderr_has "$3"
	[[ $(hostile_requests) == 0 && $(method_count status) == "$statuses" ]]
	[[ ! -e upgraded_db.dump ]]
	run --separate-stderr ucall "$CONTINUE $2 db.dump"
	expect_status 0
	expect_upgraded upgraded_db.dump
}

# ---------------------------------------------------------------- trust

@test "run --continue refuses a record others can write, and sends nothing where it points" {
	open_job
	edit_record ".url = \"$HOSTILE_URL/database/v1\""
	chmod 666 db.dump.upgrade.json
	run --separate-stderr ucall "$CONTINUE db.dump"
	expect_status 2
	expect_reason CLIENT:FILE
	stderr_has "chmod 600"
	alive
	[[ $(hostile_requests) == 0 ]]
	[[ ! -e upgraded_db.dump ]]
}

@test "run --continue refuses a record owned by another user" {
	((EUID == 0)) || skip "needs root to give the record away"
	open_job
	chown 65534 db.dump.upgrade.json
	statuses=$(method_count status)
	run --separate-stderr ucall "$CONTINUE db.dump"
	expect_status 2
	expect_reason CLIENT:FILE
	stderr_has "owned by uid 65534"
	[[ $(method_count status) == "$statuses" ]]
}

@test "run --continue refuses a record whose output is not an absolute path" {
	open_job
	edit_record '.output = "elsewhere/upgraded"'
	run --separate-stderr ucall "$CONTINUE db.dump"
	expect_status 2
	expect_reason CLIENT:FILE
	stderr_has "absolute"
}

@test "run --continue refuses an explicit --url that differs from the record's" {
	# the same platform spelt with a trailing slash is no disagreement
	continue_disagreeing '--url "$HOSTILE_URL/database/v1"' '--url "$UPGRADE_URL/"' "--url $HOSTILE_URL/database/v1"
}

@test "run --continue takes an -o that differs from the record's output while the download is still to come (issue 18, item 1)" {
	open_job
	run --separate-stderr ucall "$CONTINUE -o other.dump db.dump"
	expect_status 0
	expect_upgraded other.dump
	[[ ! -e upgraded_db.dump ]]
}

@test "run --continue refuses --sftp for a job that moves the dump over HTTPS" {
	continue_disagreeing --sftp '' "--sftp disagrees"
}

@test "run --continue: \$UPGRADE_URL is only a default, the record's platform wins and stderr says so" {
	open_job
	run --separate-stderr ucall "UPGRADE_URL=\$HOSTILE_URL/database/v1 $CONTINUE db.dump"
	expect_status 0
	stderr_has "continuing on $UPGRADE_URL"
	[[ $(hostile_requests) == 0 ]]
	expect_upgraded upgraded_db.dump
}

# ------------------------------------------------------ planted files

@test "run: a 0644 file planted at the record's old temporary name is not reused" {
	printf 'planted\n' >db.dump.upgrade.json.tmp
	chmod 644 db.dump.upgrade.json.tmp
	open_job
	[[ $(file_mode db.dump.upgrade.json) == 600 ]]
	[[ $(<db.dump.upgrade.json.tmp) == planted ]]
	[[ -z $(find . -name 'db.dump.upgrade.json.?*' ! -name '*.tmp') ]] # no temporary left
}

@test "run: a FIFO planted at the record's old temporary name does not block it" {
	mkfifo db.dump.upgrade.json.tmp
	run --separate-stderr ucall_within 30 "upgrade run $RUN_ARGS db.dump"
	expect_status 0
	expect_upgraded upgraded_db.dump
}

@test "run and run --continue refuse a FIFO planted at the record at once" {
	mkfifo db.dump.upgrade.json
	run --separate-stderr ucall_within 30 "upgrade run $RUN_ARGS db.dump"
	expect_status 2
	expect_reason CLIENT:FILE
	stderr_has "not a regular file"
	[[ $(method_count create) == 0 ]]
	run --separate-stderr ucall_within 30 "$CONTINUE db.dump"
	expect_status 2
	expect_reason CLIENT:FILE
}

# ------------------------------------------------- no request is lost

@test "run in a read-only directory is refused before a request is created" {
	mkdir ro
	cp db.dump ro/
	chmod 555 ro
	run --separate-stderr ucall_unprivileged "cd ro && upgrade run $RUN_ARGS db.dump"
	chmod 755 ro
	[[ $(method_count create) == 0 ]]
	expect_status 2
	expect_reason CLIENT:FILE
	stderr_has "nothing was created"
}

@test "run: when the record cannot be written after create, the output and the shell name the request" {
	# a file-size limit of 0 lets the pre-create check (an empty temporary
	# file) pass and makes the record's write fail (EFBIG) right after create
	run --separate-stderr ucall "trap '' XFSZ
		ulimit -S -f 0
		upgrade run $RUN_ARGS -s -v doc db.dump
		rc=\$?
		ulimit -S -f unlimited
		echo \"\$doc\"
		echo \"rc=\$rc req=\$UPGRADE_REQUEST\" >&2"
	stderr_has "rc=2 req=$(jq -r .request.id <<<"$output")"
	jqe '.step == "create" and .failures[0].reason == "CLIENT:FILE" and (.request.id | tostring | length > 0)
		and (.request.key | length > 0)'
	[[ $(method_count create) == 1 ]]
}

@test "a second run on a busy dump is refused at once, and Ctrl-C releases the lock" {
	emulator_fault upload slow "\"delay\": $(scaled 20)" >/dev/null
	# a background job starts with SIGINT ignored, which bash cannot trap:
	# give it back its default, as a terminal's foreground job has
	env --default-signal=INT setsid "$UBASH" "trap : INT
		upgrade run $RUN_ARGS -s db.dump; echo \"first=\$?\" >&2
		$CONTINUE -s db.dump; echo \"again=\$?\" >&2" >/dev/null 2>first.err &
	job=$!
	for ((i = 0; i < 400; i++)); do
		[[ -f db.dump.upgrade.json ]] && break
		sleep 0.05
	done
	creates=$(method_count create)
	run --separate-stderr ucall "upgrade run $RUN_ARGS --new db.dump"
	expect_status 2
	expect_reason CLIENT:USAGE
	stderr_has "another \`upgrade run\` is working on db.dump"
	run --separate-stderr ucall "$CONTINUE db.dump"
	expect_status 2
	stderr_has "another \`upgrade run\`"
	[[ $(method_count create) == "$creates" ]]
	kill -INT "$job"
	wait "$job"
	grep -q first=130 first.err
	grep -q again=0 first.err
	expect_upgraded upgraded_db.dump
}

# ------------------------------------------- request_sftp_access answers

# sftp_answer REQUEST-JSON: the hostile server answers request_sftp_access
# with {"failures": [], "request": REQUEST-JSON}.
sftp_answer() {
	hostile_script "$(jq -cn --argjson r "$1" \
		'{rules: [{path: "request_sftp_access$", status: 200,
		  body: ({failures: [], request: $r} | tojson)}]}')"
}

# sftp_put_against_hostile: sftp-put with an identity that has a .pub.
sftp_put_against_hostile() {
	[[ -f id ]] || ssh-keygen -q -t ed25519 -N '' -f id </dev/null
	run --separate-stderr ucall "HOME=\$PWD upgrade sftp-put db.dump --identity id --known-hosts kh \
		--url \"\$HOSTILE_URL/database/v1\" --cacert \"\$CA\" --request 1 --key test-key-7f3a --connect-timeout 5"
}

# endpoint PORT [HOST] [USER] [FILE]: a request_sftp_access answer.
endpoint() {
	jq -cn --argjson port "$1" --arg h "${2-127.0.0.1}" --arg u "${3-user_1}" --arg f "${4-db.dump}" \
		'{hostname: $h, sftp_port: $port, sftp_user: $u, shared_file: $f}'
}

@test "sftp: an sftp_port that is not an integer in 1..65535 is refused (exit 3)" {
	local port
	for port in '"51307abc"' 51307.9 4295018603 0 65536 -22 '""' '" 22"' '"22 "' true; do
		sftp_answer "$(endpoint "$port")"
		sftp_put_against_hostile
		expect_status 3
		expect_reason CLIENT:BAD_RESPONSE
		stderr_has "sftp_port"
	done
	# a string of digits is a port: the connection is tried (and refused)
	sftp_answer "$(endpoint '"1"')"
	sftp_put_against_hostile
	expect_status 3
	expect_reason CLIENT:NETWORK
}

@test "sftp: a hostname, user or shared file that reads as more than one name is refused (exit 3)" {
	local answer
	for answer in "$(endpoint 1 '127.0.0.1 evil')" "$(endpoint 1 $'127.0.0.1\nevil')" \
		"$(endpoint 1 '-oProxyCommand=x')" "$(endpoint 1 127.0.0.1 'a b')" \
		"$(endpoint 1 127.0.0.1 $'user\e[2J')" "$(endpoint 1 127.0.0.1 user_1 ..)" \
		"$(endpoint 1 127.0.0.1 user_1 .)" "$(endpoint 1 127.0.0.1 user_1 $'db\ndump')"; do
		sftp_answer "$answer"
		sftp_put_against_hostile
		expect_status 3
		expect_reason CLIENT:BAD_RESPONSE
		stderr_has "request_sftp_access"
		stderr_lacks $'\e'
	done
}
