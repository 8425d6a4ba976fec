#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-3.0-or-later
# run and run --database under the rpc dialect (issue 17, item 4), end to
# end against the emulator's rpc dialect (real sshd, real rsync, the test
# PostgreSQL doing the upgrade): a directory dump, create with a key pair
# kept beside the job record, upload, process, wait [--log], download into
# a directory beside the dump, restore into NEW with the upgraded
# filestore; is_pg_version_compatible false; --continue after the shell
# was SIGKILLed during the dump, the upload, the wait and the download
# (counting what rsync resends); archived; the
# token kept out of stderr and of `upgrade jobs`.

load helpers
source "$E2E_DIR/../lib/pg.bash"

setup_file() {
	rpc_prepare || return 1
	pg_start || return 1
	start_emulator || return 1
	pg_make_src
	# the platform's front and its node are https://localhost (port 443),
	# reached at the emulator's port
	export UPGRADE_CONNECT_TO=localhost:443:127.0.0.1:$EMULATOR_PORT
	# a directory-format dump of src, made once
	export SRC_DUMP=$BATS_FILE_TMPDIR/src.dump
	"$UBASH" "upgrade dump --database src --format directory --jobs 2 -o \"\$SRC_DUMP\" -s" >/dev/null
	[[ -f $SRC_DUMP/toc.dat ]]
}

teardown_file() { pg_with_emulator_stop; }

setup() {
	cd "$BATS_TEST_TMPDIR"
	emulator_reset stats >/dev/null
	rpc_settings '{"pending_seconds": 0.2, "progress_seconds": 0.2, "compatible": true, "transfer_rate": null}'
	export XDG_STATE_HOME=$BATS_TEST_TMPDIR/state
}

teardown() {
	[[ -z ${SHELL_PID:-} ]] || kill -KILL -- "-$SHELL_PID" 2>/dev/null || true
}

# every run of this file: the platform's front by --api rpc, its CA
RUN_ARGS='--api rpc --url https://localhost --cacert "$CA" --contract M1234-abcd --target 17.0 --aim test --interval 0.1'

# rpc_settings JSON: the emulator's rpc settings.
rpc_settings() {
	emulator_curl /_emulator/rpc -H 'Content-Type: application/json' -d "$1" -o /dev/null
}

# calls METHOD: how many times the rpc METHOD was called since setup.
calls() {
	emulator_stats | jq --arg m "rpc/$1" '.requests[$m] // 0'
}

# request_view: the emulator's view of the request of the record $1.
request_view() {
	emulator_curl /_emulator/rpc | jq --arg t "$(jq -r .token "$1")" '.requests[] | select(.token == $t)'
}

# kept_bytes PATH...: the bytes of the files under PATHs that rsync keeps
# for a next run (not its temporary .NAME.XXXXXX files that a SIGKILL
# leaves; what it kept in its --partial-dir counts).
kept_bytes() {
	find "$@" -type f \( -path '*/.rsync-partial/*' -o ! -name '.*' \) -printf '%s\n' |
		awk '{ s += $1 } END { print s + 0 }'
}

# set_state RECORD STATE [ARCHIVED]: force the state of RECORD's request.
set_state() {
	emulator_curl /_emulator/rpc_state -H 'Content-Type: application/json' \
		-d "$(jq -cn --arg t "$(jq -r .token "$1")" --arg s "$2" --argjson a "${3:-false}" \
			'{token: $t, state: $s, archived: $a}')" -o /dev/null
}

# start_shell SCRIPT: SCRIPT in a builtin-loaded bash of its own session,
# in the background (stdout shell.out, stderr shell.err).
start_shell() {
	setsid "$UBASH" "$1" >shell.out 2>shell.err &
	SHELL_PID=$!
}

# kill_shell: SIGKILL the shell and whatever it runs (its session).
kill_shell() {
	kill -KILL -- "-$SHELL_PID" 2>/dev/null || true
	wait "$SHELL_PID" 2>/dev/null || true
	SHELL_PID=
}

# expect_restored DB: DB is the emulator's upgrade of src (modules at
# 17.0.1.0, its rows), with every file its ir_attachment rows name (src's
# and the one the upgrade added) in $ODOO/filestore/DB.
expect_restored() {
	[[ $(pg_sql "$1" "SELECT DISTINCT latest_version FROM ir_module_module WHERE state = 'installed'") == 17.0.1.0 ]]
	[[ $(pg_sql "$1" 'SELECT count(*) FROM res_partner') == 500 ]]
	[[ $(pg_sql "$1" "SELECT count(*) FROM ir_attachment WHERE name = 'upgrade.txt'") == 1 ]]
	local f n=0
	while read -r f; do
		[[ -f $ODOO/filestore/$1/$f ]] || { echo "missing $f" >&2; return 1; }
		n=$((n + 1))
	done < <(pg_sql "$1" 'SELECT store_fname FROM ir_attachment WHERE store_fname IS NOT NULL')
	((n >= 2))
}

# continue_restored STEPS: `run --continue src.dump` ends 0 with src's
# upgrade restored, having done STEPS (a JSON array) and no dump.
continue_restored() {
	run --separate-stderr ucall "upgrade run --continue src.dump --interval 0.1 --cacert \"\$CA\" -c"
	expect_status 0
	jqe --argjson s "$1" '.failures == [] and (.steps | keys) == $s and has("dump") == false'
	expect_restored "$(jq -r .restore.database <<<"$output")"
}

# token_nowhere RECORD: the record's token is on no stderr of this test
# and not in `upgrade jobs`' listing.
token_nowhere() {
	local token
	token=$(jq -er .token "$1")
	[[ ${#token} -ge 16 ]]
	[[ $stderr != *"$token"* ]]
	! grep -qF -- "$token" shell.err 2>/dev/null
	run --separate-stderr ucall "upgrade jobs"
	expect_status 0
	[[ $output != *"$token"* && $stderr != *"$token"* ]]
	jqe '.jobs | length >= 1 and all(.dialect == "rpc")'
}

@test "run DUMP under rpc: a directory dump up, the upgraded one down into upgraded_STEM beside it; one line a step; the record closed, 0600" {
	cp -r "$SRC_DUMP" db.dump
	mkdir elsewhere
	# the shell's UPGRADE_IDENTITY is another request's key: not this job's
	run --separate-stderr ucall "UPGRADE_IDENTITY=\$PWD/no-such-key; cd elsewhere && upgrade run ../db.dump $RUN_ARGS -c"
	expect_status 0
	one_line
	alive
	local out=$PWD/upgraded_db
	jqe --arg o "$out" '.failures == [] and .request.status == "done" and .transfer.directory == $o
		and .files.directory == $o and .files.report == $o + "/upgrade-report.html"
		and .files.log == $o + "/upgrade.log" and has("restore") == false
		and (.steps | keys) == ["create", "download", "process", "upload", "wait"]
		and (.steps | all(.[]; type == "number")) and (.seconds | type == "number")'
	[[ -f $out/upgraded.dump/toc.dat && -d $out/filestore && -f $out/upgrade-report.html ]]
	stderr_has "created request"
	stderr_has "uploading ../db.dump"
	stderr_has "processing: request"
	stderr_has "waiting for request"
	stderr_has "downloading the upgraded dump to $out"
	stderr_has "done in"
	job_closed db.dump.upgrade.json
	jq -e '.dialect == "rpc" and .step == "done" and .node == "localhost" and (.token | length > 16)
		and .identity == "'"$PWD"'/db.dump.upgrade.key"' db.dump.upgrade.json
	# the key pair run made for the request, beside the record
	[[ $(file_mode db.dump.upgrade.key) == 600 && $(file_mode db.dump.upgrade.key.pub) == 600 ]]
	[[ $(request_view db.dump.upgrade.json | jq -r .ssh_key) == "$(cat db.dump.upgrade.key.pub)" ]]
	[[ $(calls create) == 1 && $(calls process) == 1 ]]
	token_nowhere db.dump.upgrade.json
}

@test "run --database under rpc: pg_dump -Fd, upgraded, downloaded beside the dump, restored into NEW with rows and the filestore; --remove-dumps keeps the report and log" {
	run --separate-stderr ucall "upgrade run --database src --jobs 2 --data-dir '$ODOO' --log --remove-dumps $RUN_ARGS -c"
	expect_status 0
	one_line
	local new
	new=$(jq -r .restore.database <<<"$output")
	[[ $new =~ ^src_test_17\.0_[0-9]{4}(_[0-9]{2}){4}(_[0-9]+)?$ ]]
	jqe --arg o "$PWD/upgraded_$new" '.failures == [] and .dump.database == "src" and .dump.format == "pgdmp_directory"
		and .dump.jobs == 2 and .request.status == "done" and .transfer.directory == $o
		and .files.report == $o + "/upgrade-report.html" and .files.log == $o + "/upgrade.log"
		and (.steps | keys) == ["create", "download", "dump", "process", "restore", "upload", "wait"]'
	expect_restored "$new"
	# --remove-dumps: the dump and the upgraded dump gone, the report and the log kept
	[[ ! -e src.dump && -f upgraded_$new/upgrade-report.html && -f upgraded_$new/upgrade.log ]]
	[[ $(find "upgraded_$new" -mindepth 1 | wc -l) == 2 ]]
	job_closed src.dump.upgrade.json
	[[ $(jq -r '[.dialect, .step, .database, .restore_as] | join(" ")' src.dump.upgrade.json) == "rpc restored src $new" ]]
	stderr_has "dumping src into src.dump"
	stderr_has "restoring into $new"
	token_nowhere src.dump.upgrade.json
}

@test "run --database: is_pg_version_compatible false: downloaded, not restored, why in the document and on stderr" {
	rpc_settings '{"compatible": false}'
	local databases
	databases=$(pg_sql postgres 'SELECT count(*) FROM pg_database')
	run --separate-stderr ucall "upgrade run --database src --restore-as never --data-dir '$ODOO' $RUN_ARGS -c"
	expect_status 0
	jqe --arg o "$PWD/upgraded_never" '.failures == [] and .pg_version_compatible == false
		and (.not_restored | test("not compatible")) and has("restore") == false
		and .transfer.directory == $o and .files.report == $o + "/upgrade-report.html"'
	[[ -f upgraded_never/upgraded.dump/toc.dat ]]
	stderr_has "not restored into never"
	stderr_has "is_pg_version_compatible false"
	[[ $(pg_sql postgres 'SELECT count(*) FROM pg_database') == "$databases" ]]
	job_closed src.dump.upgrade.json
	jq -e '.pg_version_compatible == false and .step == "done"' src.dump.upgrade.json
}

@test "SIGKILL of the shell during the upload: --continue runs the upload again (rsync: tests/37) and ends restored; nothing re-created or re-dumped" {
	rpc_settings '{"transfer_rate": 2000}'
	start_shell "upgrade run --database src --data-dir '$ODOO' $RUN_ARGS -c"
	wait_until 60 '[[ -f src.dump.upgrade.json && $(jq -r .step src.dump.upgrade.json) == created ]]'
	wait_until 30 '[[ $(calls transfer/start) == 1 ]] && grep -q "uploading src.dump" shell.err'
	kill_shell
	[[ $(calls transfer/stop) == 0 && $(calls process) == 0 ]]
	local dumped
	dumped=$(stat -c %Y src.dump/toc.dat)
	rpc_settings '{"transfer_rate": 0}'
	continue_restored '["download", "process", "restore", "upload", "wait"]'
	[[ $(calls create) == 1 && $(calls process) == 1 && $(calls transfer/start) == 3 && $(calls transfer/stop) == 2 ]]
	[[ $(stat -c %Y src.dump/toc.dat) == "$dumped" ]]
	job_closed src.dump.upgrade.json
}

@test "SIGKILL of the shell during the wait: --continue waits, downloads and restores; nothing re-created, re-dumped or re-uploaded" {
	rpc_settings '{"progress_seconds": 30}'
	start_shell "upgrade run --database src --data-dir '$ODOO' $RUN_ARGS -c"
	wait_until 60 '[[ -f src.dump.upgrade.json && $(jq -r .step src.dump.upgrade.json) == processed ]]'
	wait_until 10 'grep -q "waiting for request" shell.err'
	kill_shell
	local dumped
	dumped=$(stat -c %Y src.dump/toc.dat)
	[[ $(calls create) == 1 && $(calls transfer/start) == 1 ]]
	set_state src.dump.upgrade.json done
	continue_restored '["download", "restore", "wait"]'
	stderr_has "continuing request"
	# one create, one upload, one download: nothing made twice
	[[ $(calls create) == 1 && $(calls process) == 1 && $(calls transfer/start) == 2 && $(calls transfer/stop) == 2 ]]
	[[ $(stat -c %Y src.dump/toc.dat) == "$dumped" ]]
	job_closed src.dump.upgrade.json
	token_nowhere src.dump.upgrade.json
}

@test "SIGKILL of the shell during the download: --continue downloads the rest and restores; nothing re-created or re-uploaded; rsync resends only what was missing" {
	rpc_settings '{"progress_seconds": 2}'
	start_shell "upgrade run --database src --data-dir '$ODOO' $RUN_ARGS -c"
	wait_until 60 '[[ -f src.dump.upgrade.json && $(jq -r .step src.dump.upgrade.json) == processed ]]'
	# the download (some 14 KB, toc.dat, the dump's last file, 9.6 KB of
	# it), slowed to 2 KB/s to be caught while rsync writes toc.dat
	rpc_settings '{"transfer_rate": 2000}'
	wait_until 60 '[[ $(calls transfer/start) == 2 ]] && compgen -G "upgraded_src_test_*/upgraded.dump/.toc.dat.*" >/dev/null'
	kill_shell
	[[ $(calls transfer/start) == 2 && $(calls transfer/stop) == 1 ]]
	[[ $(jq -r .step src.dump.upgrade.json) == done ]]
	local have total sent
	have=$(kept_bytes upgraded_src_test_*)
	total=$(kept_bytes "$(request_view src.dump.upgrade.json | jq -er .data_dir)"/{upgraded.dump,filestore,upgrade-report.html,upgrade.log})
	# enough kept that a whole resend would break the bound below
	((have > total / 20 + 2048 && have < total))
	# the first relayed session is this download's (the upload had no rate)
	wait_until 10 '[[ $(request_view src.dump.upgrade.json | jq ".transfer_bytes | length") == 1 ]]'
	rpc_settings '{"transfer_rate": 0}'
	continue_restored '["download", "restore"]'
	[[ $(calls create) == 1 && $(calls process) == 1 && $(calls transfer/start) == 3 && $(calls transfer/stop) == 2 ]]
	job_closed src.dump.upgrade.json
	# what rsync resent: the missing bytes, plus its file list and framing
	# (a whole resend is over this bound: have is more than 2 KiB + 5 %)
	sent=$(request_view src.dump.upgrade.json | jq '.transfer_bytes[-1][1]')
	echo "# had $have of $total bytes; the resume sent $sent" >&3
	((sent >= total - have && sent <= total - have + total / 20 + 2048))
}

@test "SIGKILL of the shell during the dump: --continue dumps again and goes on; one request, no cut dump left" {
	# pg_dump waits 30 s before it starts: killed there
	slow_tool pg_dump
	start_shell "PATH='$PWD/slowbin':\$PATH; upgrade run --database src --data-dir '$ODOO' $RUN_ARGS -c"
	wait_until 30 '[[ -e pg_dump.started ]]'
	kill_shell
	wait_until 5 '! pgrep -f "$PWD/slowbin/pg_dump" >/dev/null'
	[[ $(calls create) == 0 ]]
	[[ ! -e src.dump/toc.dat ]]
	rm slowbin/pg_dump
	run --separate-stderr ucall "upgrade run --continue src.dump --interval 0.1 --cacert \"\$CA\" -c"
	expect_status 0
	jqe '.failures == [] and (.steps | keys) == ["create", "download", "dump", "process", "restore", "upload", "wait"]
		and .dump.database == "src"'
	stderr_has "removing src.dump.part, left by an interrupted dump"
	expect_restored "$(jq -r .restore.database <<<"$output")"
	[[ $(calls create) == 1 && $(calls process) == 1 && $(calls transfer/start) == 2 && $(calls transfer/stop) == 2 ]]
	job_closed src.dump.upgrade.json
}

@test "run --env and --env-file under rpc: checked before the dump (a bad one exit 2, nothing made); kept in the record, sent by the create of a --continue" {
	printf '# the upgrade'"'"'s own\nUPG_AUTOINSTALL=all\n' >env.txt
	run --separate-stderr ucall "upgrade run --database src --data-dir '$ODOO' $RUN_ARGS --env NOVALUE -c"
	expect_status 2
	expect_reason CLIENT:USAGE
	run --separate-stderr ucall "upgrade run --database src --data-dir '$ODOO' $RUN_ARGS --env-file missing.env -c"
	expect_status 2
	expect_reason CLIENT:FILE
	[[ ! -e src.dump && ! -e src.dump.upgrade.json && $(calls create) == 0 ]]
	# killed in its dump, before the create: the record keeps what create sends
	slow_tool pg_dump
	start_shell "PATH='$PWD/slowbin':\$PATH; upgrade run --database src --data-dir '$ODOO' $RUN_ARGS --env A=1 --env-file env.txt -c"
	wait_until 30 '[[ -e pg_dump.started ]]'
	kill_shell
	jq -e '.env == ["A=1", "UPG_AUTOINSTALL=all"]' src.dump.upgrade.json
	rm slowbin/pg_dump env.txt
	run --separate-stderr ucall "upgrade run --continue src.dump --interval 0.1 --cacert \"\$CA\" -c"
	expect_status 0
	[[ $(calls create) == 1 ]]
	request_view src.dump.upgrade.json | jq -e '.env_vars == ["A=1", "UPG_AUTOINSTALL=all"]'
	# the request exists: the record no longer needs them
	jq -e 'has("env") == false' src.dump.upgrade.json
}

@test "--continue of a request the platform reports archived: exit 1 SERVER:ARCHIVED, said on stderr, the record closed" {
	cp -r "$SRC_DUMP" db.dump
	rpc_settings '{"progress_seconds": 30}'
	run --separate-stderr ucall "upgrade run db.dump $RUN_ARGS --timeout 1 -c"
	expect_status 4
	stderr_has "to go on: upgrade run --continue db.dump"
	[[ $(jq -r '[.state, .step] | join(" ")' db.dump.upgrade.json) == "open processed" ]]
	set_state db.dump.upgrade.json done true
	run --separate-stderr ucall "upgrade run --continue db.dump --cacert \"\$CA\" -c"
	expect_status 1
	expect_reason SERVER:ARCHIVED
	stderr_has "archived"
	stderr_has "cannot be continued"
	[[ $(calls transfer/start) == 1 ]]
	job_closed db.dump.upgrade.json
	token_nowhere db.dump.upgrade.json
}

@test "run under rpc refuses --sftp and --email; run --log under v1 is refused before anything is made" {
	cp -r "$SRC_DUMP" db.dump
	run --separate-stderr ucall "upgrade run db.dump $RUN_ARGS --sftp"
	expect_status 2
	expect_reason CLIENT:USAGE
	run --separate-stderr ucall "upgrade run db.dump $RUN_ARGS --email a@b.c"
	expect_status 2
	dump_bytes 4096 >v1.dump
	run --separate-stderr ucall "upgrade run v1.dump --log --cacert \"\$CA\" --contract M1 --email a@b.c --target 17.0 --aim test"
	expect_status 2
	stderr_has "keeps no log"
	[[ $(calls create) == 0 && $(method_count create) == 0 && ! -e db.dump.upgrade.json && ! -e v1.dump.upgrade.json ]]
}

@test "run under rpc: create refused (exit 1 SERVER:REFUSED): the key pair made for it removed, the record too, nothing uploaded" {
	cp -r "$SRC_DUMP" db.dump
	run --separate-stderr ucall "upgrade run db.dump ${RUN_ARGS/M1234-abcd/M1-unknown}"
	expect_status 1
	alive
	expect_reason SERVER:REFUSED
	jqe '.step == "create"'
	[[ ! -e db.dump.upgrade.key && ! -e db.dump.upgrade.key.pub && ! -e db.dump.upgrade.json ]]
	[[ $(calls create) == 1 && $(calls transfer/start) == 0 ]]
}

@test "run under rpc: an existing download directory is refused before anything is made" {
	cp -r "$SRC_DUMP" db.dump
	mkdir upgraded_db
	run --separate-stderr ucall "upgrade run db.dump $RUN_ARGS"
	expect_status 2
	expect_reason CLIENT:FILE
	stderr_has "upgraded_db already exists"
	[[ $(calls create) == 0 && ! -e db.dump.upgrade.json && ! -e db.dump.upgrade.key ]]
}
