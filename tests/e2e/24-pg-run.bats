#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-3.0-or-later
# upgrade run --database: the operator's whole job, from a live database to
# the upgraded database restored beside it (dump, create, upload, process,
# wait, download, restore), against a throw-away PostgreSQL and the
# emulator; and --continue through the steps that are PostgreSQL's.

load helpers
source "$E2E_DIR/../lib/pg.bash"

# PostgreSQL with an Odoo-shaped database "src" (data dir $ODOO), the
# emulator, and OpenSSH's sshd for the SFTP job.
setup_file() { pg_with_emulator_start --sftp; }

setup() {
	cd "$BATS_TEST_TMPDIR"
	emulator_reset stats >/dev/null
}

RUN_ARGS='--cacert "$CA" --contract M123-abc --email t@example.com --target 17.0 --aim test --interval 0.1'

# db_comment DB: the database's comment (empty when none).
db_comment() {
	pg_sql postgres "SELECT coalesce(shobj_description(oid, 'pg_database'), '') FROM pg_database WHERE datname = '$1'"
}

# expect_restored DB DATA_DIR: DB is the emulator's upgrade of src, and
# its filestore in DATA_DIR holds src's files plus the upgrade's.
expect_restored() {
	[[ $(pg_sql "$1" "SELECT DISTINCT latest_version FROM ir_module_module WHERE state = 'installed'") == 17.0.1.0 ]]
	[[ $(pg_sql "$1" 'SELECT count(*) FROM res_partner') == 500 ]]
	local f
	while read -r f; do
		[[ -f $2/filestore/$1/$f ]]
	done < <(pg_sql "$1" 'SELECT store_fname FROM ir_attachment')
}

@test "run --database: dump, upgrade, download, restore into DB_test_TARGET_TIME with its filestore; then the record closed, no mark" {
	run --separate-stderr ucall "upgrade run --database src --data-dir '$ODOO' $RUN_ARGS -c"
	expect_status 0
	one_line
	local new
	new=$(jq -r .restore.database <<<"$output")
	[[ $new =~ ^src_test_17\.0_[0-9]{4}(_[0-9]{2}){4}(_[0-9]+)?$ ]]
	jqe '.failures == [] and .dump.database == "src" and .dump.format == "pgdmp_custom"
		and .request.state == "done" and .transfer.file == "'"$PWD/upgraded_$new"'.dump"
		and .restore.format == "zip"
		and .restore.filestore.copied == 3 and .restore.filestore.from_archive == 1'
	expect_restored "$new" "$ODOO"
	[[ $(file_mode src.dump) == 600 ]]
	job_closed src.dump.upgrade.json
	[[ $(jq -r '[.step, .database, .restore_as] | join(" ")' src.dump.upgrade.json) == "restored src $new" ]]
	[[ -z $(db_comment "$new") ]]
	# the source is untouched
	[[ $(pg_sql src "SELECT latest_version FROM ir_module_module WHERE name = 'base'") == 15.0.1.3 ]]
}

@test "run --database --restore-as NEW refuses an existing NEW before it dumps or creates anything" {
	createdb -T template0 taken
	run --separate-stderr ucall "upgrade run --database src --restore-as taken --data-dir '$ODOO' $RUN_ARGS"
	expect_status 2
	expect_reason CLIENT:DATABASE
	stderr_has "taken exists"
	[[ $(method_count create) == 0 ]]
	[[ ! -e src.dump && ! -e src.dump.part && ! -e src.dump.upgrade.json ]]
	[[ $(pg_sql taken 'SELECT count(*) FROM pg_tables WHERE schemaname = $$public$$') == 0 ]]
}

@test "run --database of a missing database: exit 2 CLIENT:DATABASE, no request, no dump left" {
	run --separate-stderr ucall "upgrade run --database nosuchdb $RUN_ARGS"
	expect_status 2
	expect_reason CLIENT:DATABASE
	[[ $(method_count create) == 0 ]]
	[[ ! -e nosuchdb.dump && ! -e nosuchdb.dump.part && ! -e nosuchdb.dump.upgrade.json ]]
}

@test "run --database --no-restore ends with the download: no new database, the record closed" {
	local databases
	databases=$(pg_sql postgres 'SELECT count(*) FROM pg_database')
	run --separate-stderr ucall "upgrade run --database src --no-restore $RUN_ARGS -o up.zip"
	expect_status 0
	jqe '.dump.database == "src" and .transfer.file == "'"$PWD"'/up.zip" and has("restore") == false'
	[[ $(pg_sql postgres 'SELECT count(*) FROM pg_database') == "$databases" ]]
	job_closed src.dump.upgrade.json
}

@test "run --database DUMP: the dump goes to DUMP, the record beside it" {
	run --separate-stderr ucall "upgrade run --database src --restore-as src_named --data-dir '$ODOO' $RUN_ARGS mine.dump"
	expect_status 0
	jqe '.dump.file == "mine.dump" and .restore.database == "src_named"'
	[[ -f mine.dump && ! -e src.dump ]]
	job_closed mine.dump.upgrade.json
	expect_restored src_named "$ODOO"
}

@test "run --continue after create failed goes on from the dump: pg_dump is not run again" {
	emulator_fault create http503 >/dev/null
	run --separate-stderr ucall "upgrade run --database src --restore-as src_c1 --data-dir '$ODOO' $RUN_ARGS"
	expect_status 3
	jqe '.step == "create"'
	[[ $(jq -r .step src.dump.upgrade.json) == dumped ]]
	[[ $(jq -r .contract src.dump.upgrade.json) == M123-abc ]]
	[[ $(file_mode src.dump.upgrade.json) == 600 ]]
	local before creates
	before=$(stat -c '%i %Y.%N' src.dump)
	creates=$(method_count create)
	# no create options: the record has them
	run --separate-stderr ucall "upgrade run --continue --database src --cacert '$CA' --interval 0.1"
	expect_status 0
	jqe 'has("dump") == false and .restore.database == "src_c1"'
	[[ $(stat -c '%i %Y.%N' src.dump) == "$before" ]]
	[[ $(method_count create) == $((creates + 1)) ]]
	expect_restored src_c1 "$ODOO"
	job_closed src.dump.upgrade.json
}

@test "run --continue after a failed restore restores without downloading again" {
	# a foreign NEW.part in the data dir (no restore's marker): the restore
	# fails after the download
	mkdir -p odoo/data/filestore/src_c2.part
	cp -a "$ODOO/filestore/src" odoo/data/filestore/
	run --separate-stderr ucall "upgrade run --database src --restore-as src_c2 --data-dir '$PWD/odoo/data' $RUN_ARGS"
	expect_status 2
	jqe '.step == "restore" and (.request.id | length > 0)'
	[[ $(jq -r .step src.dump.upgrade.json) == downloaded ]]
	[[ -f upgraded_src_c2.dump ]]
	! pg_db_exists src_c2
	local downloads
	downloads=$(method_count download)
	# another target is refused: the job goes on as it started
	run --separate-stderr ucall "upgrade run --continue src.dump --restore-as other --cacert '$CA'"
	expect_status 2
	expect_reason CLIENT:USAGE
	rmdir odoo/data/filestore/src_c2.part
	run --separate-stderr ucall "upgrade run --continue src.dump --cacert '$CA'"
	expect_status 0
	jqe '.restore.database == "src_c2" and has("transfer") == false'
	[[ $(method_count download) == "$downloads" ]]
	expect_restored src_c2 "$PWD/odoo/data"
	job_closed src.dump.upgrade.json
}

# A job stopped after its download (a foreign NEW.part in its data dir
# blocked: the restore refuses it): the record says "downloaded".
stop_after_download() {
	mkdir -p blocked/filestore/"$1.part"
	cp -a "$ODOO/filestore/src" blocked/filestore/
	run --separate-stderr ucall "upgrade run --database src --restore-as $1 --data-dir '$PWD/blocked' $RUN_ARGS"
	[[ $status == 2 && $(jq -r .step src.dump.upgrade.json) == downloaded ]]
}

@test "run --continue finds the job's own restore (its mark) and does not restore again" {
	stop_after_download src_c3
	rmdir blocked/filestore/src_c3.part
	# as if the restore had completed and the shell died before the record
	createdb -T template0 src_c3
	pg_sql postgres "COMMENT ON DATABASE src_c3 IS 'upgrade run: request $(jq -r .request src.dump.upgrade.json)'"
	run --separate-stderr ucall "upgrade run --continue src.dump --cacert '$CA'"
	expect_status 0
	jqe '.restore.already == true and .restore.database == "src_c3"'
	stderr_has "already this job's restore"
	job_closed src.dump.upgrade.json
	[[ -z $(db_comment src_c3) ]]
}

@test "run --continue never takes a database of the target's name that is not the job's" {
	stop_after_download src_c4
	rmdir blocked/filestore/src_c4.part
	createdb -T template0 src_c4
	pg_sql src_c4 'CREATE TABLE precious (x int); INSERT INTO precious VALUES (42)'
	run --separate-stderr ucall "upgrade run --continue src.dump --cacert '$CA'"
	expect_status 2
	expect_reason CLIENT:DATABASE
	stderr_has "src_c4 exists"
	[[ $(jq -r .step src.dump.upgrade.json) == downloaded ]]
	[[ $(pg_sql src_c4 'SELECT x FROM precious') == 42 ]]
}

@test "run --continue never takes a database with the job's mark that another role with CREATEDB made: exit 2, left as it was" {
	stop_after_download src_c5
	rmdir blocked/filestore/src_c5.part
	pg_plant planter src_c5 "upgrade run: request $(jq -r .request src.dump.upgrade.json)"
	run --separate-stderr ucall "upgrade run --continue src.dump --cacert '$CA'"
	expect_status 2
	expect_reason CLIENT:DATABASE
	stderr_has "src_c5 exists and is not this job's"
	[[ $(jq -r .step src.dump.upgrade.json) == downloaded ]]
	[[ $(pg_sql src_c5 'SELECT x FROM planted') == 7 ]]
}

@test "run --database as the superuser without a restore role is refused before it dumps or creates anything; --trust-dump goes on" {
	run --separate-stderr ucall "unset UPGRADE_RESTORE_ROLE; upgrade run --database src --restore-as src_su --data-dir '$ODOO' $RUN_ARGS"
	expect_status 2
	expect_reason CLIENT:DATABASE
	stderr_has 'role postgres is a superuser'
	[[ ! -e src.dump && ! -e src.dump.upgrade.json ]]
	[[ $(method_count create) == 0 ]]
	run --separate-stderr ucall "unset UPGRADE_RESTORE_ROLE; upgrade run --database src --restore-as src_su --trust-dump --data-dir '$ODOO' $RUN_ARGS -c"
	expect_status 0
	jqe '.restore.trusted == true and .restore.database == "src_su"'
	expect_restored src_su "$ODOO"
}

@test "run: --restore-as, --no-restore, --data-dir and --jobs need --database; --restore-as and --no-restore contradict" {
	printf 'dump\n' >db.dump
	local opt
	for opt in '--restore-as x' --no-restore '--data-dir /tmp' '--jobs 2'; do
		run --separate-stderr ucall "upgrade run $RUN_ARGS $opt db.dump"
		expect_status 2
		expect_reason CLIENT:USAGE
		stderr_has "add --database DB"
	done
	run --separate-stderr ucall "upgrade run --database src --restore-as x --no-restore $RUN_ARGS"
	expect_status 2
	stderr_has "contradict"
	[[ $(method_count create) == 0 ]]
}

# start_job SCRIPT: SCRIPT in a ubash of its own process group (setsid),
# with ./slowbin first on the PATH, so that the whole shell can be killed
# (kill_job); sets JOB.
start_job() {
	setsid "$UBASH" "export PATH='$PWD/slowbin':\$PATH; $1" >/dev/null 2>&1 &
	JOB=$!
}

kill_job() {
	kill -KILL -- "-$JOB"
	wait "$JOB" 2>/dev/null || true
}

@test "run --continue after the shell was killed during the dump: the dump is made again, one request" {
	slow_tool pg_dump
	start_job "upgrade run --database src --restore-as src_kd --data-dir '$ODOO' $(eval echo "$RUN_ARGS")"
	wait_until 20 '[[ -e pg_dump.started ]]'
	[[ $(jq -r .step src.dump.upgrade.json) == started ]]
	kill_job
	[[ ! -e src.dump ]]
	# a new run is refused: the job is open
	run --separate-stderr ucall "upgrade run --database src $RUN_ARGS"
	expect_status 2
	stderr_has "--continue"
	run --separate-stderr ucall "upgrade run --continue --database src --cacert '$CA' --interval 0.1"
	expect_status 0
	jqe '.dump.database == "src" and .restore.database == "src_kd"'
	[[ $(method_count create) == 1 ]]
	expect_restored src_kd "$ODOO"
	job_closed src.dump.upgrade.json
	[[ ! -e src.dump.part ]]
}

@test "run --continue after the shell was killed during the download: resumed, then restored" {
	# 1 KiB/s (the zip is some 6 KB): the download is under way, some bytes in,
	# when the shell is killed
	emulator_download_limits '{"rate": 1024}'
	start_job "upgrade run --database src --restore-as src_kw --data-dir '$ODOO' $(eval echo "$RUN_ARGS")"
	wait_until 60 '[[ -s upgraded_src_kw.dump.part ]]'
	kill_job
	[[ $(jq -r .step src.dump.upgrade.json) == done ]]
	local part
	part=$(stat -c %s upgraded_src_kw.dump.part)
	emulator_reset >/dev/null
	run --separate-stderr ucall "upgrade run --continue src.dump --cacert '$CA'"
	expect_status 0
	jqe --argjson p "$part" '.transfer.file == "'"$PWD"'/upgraded_src_kw.dump" and .restore.database == "src_kw"
		and .transfer.resumed_from > 0 and .transfer.resumed_from <= $p'
	[[ $(method_count create) == 1 && $(method_count upload) == 1 ]]
	expect_restored src_kw "$ODOO"
}

@test "run --continue after the shell was killed during the restore: its leftover is dropped, the restore redone" {
	slow_tool psql
	start_job "upgrade run --database src --restore-as src_k --data-dir '$ODOO' $(eval echo "$RUN_ARGS")"
	wait_until 20 '[[ -e psql.started ]]'
	[[ $(jq -r .step src.dump.upgrade.json) == downloaded ]]
	pg_db_exists src_k__restoring
	kill_job
	! pg_db_exists src_k
	run --separate-stderr ucall "upgrade run --continue src.dump --cacert '$CA'"
	expect_status 0
	stderr_has "dropping src_k__restoring"
	expect_restored src_k "$ODOO"
	! pg_db_exists src_k__restoring
	job_closed src.dump.upgrade.json
}

@test "run --database --sftp: the dump goes up and the upgraded zip comes down over SFTP, then restored" {
	use_sftp_client
	run --separate-stderr ucall "upgrade run --sftp \"\$@\" --database src --restore-as src_sftp --data-dir '$ODOO' $RUN_ARGS" "${SSH[@]}"
	expect_status 0
	jqe '.transfer.remote == "upgraded_src.dump" and .restore.database == "src_sftp" and .restore.format == "zip"'
	[[ $(method_count upload) == 0 ]]
	expect_restored src_sftp "$ODOO"
}

@test "run: a trapped SIGINT during the restore stops psql within seconds, returns 130, and --continue finishes" {
	slow_tool psql
	# the background job waits for psql to start, then interrupts the shell
	run --separate-stderr ucall "export PATH='$PWD/slowbin':\$PATH
		trap 'echo trapped >&2' INT
		( until [[ -e psql.started ]]; do sleep 0.05; done; date +%s.%N >interrupt_at; kill -INT \$\$ ) &
		upgrade run --database src --restore-as src_i --data-dir '$ODOO' $RUN_ARGS; rc=\$?
		date +%s.%N >returned_at
		wait
		(exit \$rc)"
	expect_status 130
	expect_reason CLIENT:INTERRUPTED
	jqe '.step == "restore"'
	less_than "$(paste returned_at interrupt_at | awk '{ print $1 - $2 }')" "$(scaled 5)"
	stderr_has trapped
	! pgrep -f "$PWD/slowbin/psql" >/dev/null
	[[ $(jq -r .step src.dump.upgrade.json) == downloaded ]]
	! pg_db_exists src_i
	run --separate-stderr ucall "upgrade run --continue src.dump --cacert '$CA'"
	expect_status 0
	expect_restored src_i "$ODOO"
	job_closed src.dump.upgrade.json
}

@test "the README's demo (make demo) ends with the upgraded database restored beside the original, under v1 and (as root) under rpc" {
	# the demo loads the module into a plain bash: nothing for valgrind or ASan to watch
	if instrumented; then skip "the demo runs outside the instrumented shells"; fi
	run env -u HARNESS_DIR -u PGHOST -u PGPORT -u PGUSER -u PG_DIR UPGRADE_SO="$UPGRADE_SO" \
		timeout -k 5 "$(scaled 240)" bash "$E2E_DIR/../demo.sh"
	show
	[[ $status == 0 ]]
	[[ $output =~ \"database\":\ \"shop_test_17\.0_[0-9_]+\" && $output == *'"from_archive": 1'* ]]
	[[ $output == *'base  | 17.0.1.0'* ]]
	# as root (CI) it ends with the same job under rpc, rsync over a real sshd
	if [[ $(id -u) == 0 ]]; then
		[[ $output == *'"restore": "shop_rpc"'* && $output == *'upgraded_shop_rpc/upgrade-report.html"'* ]]
	fi
}
