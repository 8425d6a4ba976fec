#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-3.0-or-later
# upgrade dump / upgrade restore against a real PostgreSQL (tests/lib/pg.bash):
# an Odoo-shaped database "src" with its filestore, dumped, restored from a
# custom dump, a zip like the platform's and plain SQL, and every way the
# input, the tools or the user can stop them.

load helpers
source "$E2E_DIR/../lib/pg.bash"

setup_file() {
	pg_start
	pg_make_src
	# the platform's zip: dump.sql (src, upgraded in SQL) + filestore/
	local w=$BATS_FILE_TMPDIR/zip
	mkdir -p "$w/fs"
	pg_dump -Fp --no-owner src >"$w/dump.sql"
	pg_upgrade_sql >>"$w/dump.sql"
	mkdir -p "$w/fs/${NEW_STORE_FNAME%/*}"
	printf '%s' "$NEW_CONTENT" >"$w/fs/$NEW_STORE_FNAME"
	# one of src's files, changed by the upgrade
	CHANGED_FNAME=$(pg_sql src "SELECT store_fname FROM ir_attachment WHERE name = 'file1.txt'")
	mkdir -p "$w/fs/${CHANGED_FNAME%/*}"
	printf 'changed by the upgrade' >"$w/fs/$CHANGED_FNAME"
	make_zip "$BATS_FILE_TMPDIR/upgraded.zip" dump.sql="$w/dump.sql" \
		"filestore/$NEW_STORE_FNAME=$w/fs/$NEW_STORE_FNAME" "filestore/$CHANGED_FNAME=$w/fs/$CHANGED_FNAME"
	export NEW_STORE_FNAME NEW_CONTENT CHANGED_FNAME ZIPW=$w
}

setup() {
	cd "$BATS_TEST_TMPDIR"
}

# src_intact: src's rows and filestore as pg_make_odoo left them.
src_intact() {
	[[ $(pg_sql src 'SELECT count(*) FROM res_partner') == 500 ]] || return 1
	[[ $(pg_sql src "SELECT latest_version FROM ir_module_module WHERE name = 'base'") == 15.0.1.3 ]] || return 1
	[[ $(cat "$ODOO/filestore/src/$CHANGED_FNAME") == "attachment 1 of src" ]] || return 1
}

# end_sessions APPNAME PID: end the test's background psql PID and its
# server session (a killed client leaves its backend in pg_sleep).
end_sessions() {
	pg_sql postgres "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = '$1'" >/dev/null
	wait "$2" 2>/dev/null || true
}

# pg_children: pg_dump / pg_restore / psql processes working for DB.
pg_children() { pgrep -af "(pg_dump|pg_restore|psql).*$1" || true; }

# ---------------------------------------------------------------- dump

@test "dump: a custom-format dump of the database, mode 0600, through FILE.part" {
	run --separate-stderr ucall 'upgrade dump --database src -c'
	expect_status 0
	one_line
	jqe '.failures == [] and .dump.database == "src" and .dump.file == "src.dump"
		and .dump.format == "pgdmp_custom" and (.dump.server_version | test("^[0-9]+[.][0-9]+"))
		and .dump.bytes > 1000 and (.dump.seconds | type == "number")'
	[[ $(head -c 5 src.dump) == PGDMP ]]
	[[ $(file_mode src.dump) == 600 ]]
	[[ $(stat -c %s src.dump) == $(jq .dump.bytes <<<"$output") ]]
	[[ ! -e src.dump.part ]]
	pg_restore -l src.dump | grep -q 'TABLE DATA public ir_attachment'
}

@test "dump: an existing output is kept unless --force" {
	echo precious >out.dump
	run --separate-stderr ucall 'upgrade dump --database src -o out.dump'
	expect_status 2
	expect_reason CLIENT:FILE
	[[ $(cat out.dump) == precious ]]
	run --separate-stderr ucall 'upgrade dump --database src -o out.dump --force'
	expect_status 0
	[[ $(head -c 5 out.dump) == PGDMP ]]
}

@test "dump: a missing database is exit 2 CLIENT:DATABASE and writes nothing" {
	run --separate-stderr ucall 'upgrade dump --database nosuchdb'
	expect_status 2
	expect_reason CLIENT:DATABASE
	stderr_has 'nosuchdb'
	[[ ! -e nosuchdb.dump && ! -e nosuchdb.dump.part ]]
}

@test "dump: no pg_dump on the PATH is exit 2 naming what to install, and no file" {
	run --separate-stderr ucall 'PATH=/nonexistent; upgrade dump --database src'
	expect_status 2
	expect_reason CLIENT:DATABASE
	stderr_has 'pg_dump is not on the PATH'
	stderr_has 'postgresql-client'
	[[ ! -e src.dump && ! -e src.dump.part ]]
}

@test "dump: a file-size limit (full disk) is exit 2 CLIENT:FILE, no FILE and no .part left" {
	run --separate-stderr ucall 'ulimit -f 8; upgrade dump --database src'
	expect_status 2
	expect_reason CLIENT:FILE
	stderr_has 'src.dump.part'
	[[ ! -e src.dump && ! -e src.dump.part ]]
	alive
}

@test "dump: a trapped SIGINT while pg_dump waits: 130, pg_dump stopped, no FILE and no .part" {
	# a session holding a lock on a table makes pg_dump wait
	pg_hold_lock src res_partner
	run --separate-stderr ucall '
		trap "echo trapped >&2" INT
		( until [[ $(psql -XAtc "SELECT count(*) FROM pg_stat_activity WHERE application_name = '"'pg_dump'"' AND wait_event_type = '"'Lock'"'" postgres) == 1 ]]
		  do sleep 0.1; done; kill -INT $$ ) &
		upgrade dump --database src -o locked.dump; rc=$?
		wait
		(exit $rc)'
	pg_release_lock
	expect_status 130
	expect_reason CLIENT:INTERRUPTED
	[[ ! -e locked.dump && ! -e locked.dump.part ]]
	[[ -z $(pgrep -af 'pg_dump.*src' || true) ]]
	alive
}

@test "dump: a wrong password is exit 2 CLIENT:DATABASE; the right one, exported just before, is used (never on a command line)" {
	pg_sql postgres "DROP ROLE IF EXISTS pwuser; CREATE ROLE pwuser LOGIN SUPERUSER PASSWORD 'right-pw'"
	run --separate-stderr ucall 'export PGUSER=pwuser PGPASSWORD=wrong-pw; upgrade dump --database src'
	expect_status 2
	expect_reason CLIENT:DATABASE
	stderr_has 'password authentication failed'
	[[ ! -e src.dump ]]
	# pg_dump is a child: it must get the export made since bash last ran a command
	run --separate-stderr ucall 'export PGUSER=pwuser PGPASSWORD=right-pw; upgrade dump --database src -c'
	expect_status 0
	[[ $(head -c 5 src.dump) == PGDMP ]]
}

# ------------------------------------------------------------- restore

@test "restore: a custom dump round trip, the filestore copied (no inode shared), no mark left" {
	pg_dump -Fc --no-owner -f src.dump src
	run --separate-stderr ucall "upgrade restore src.dump --database rt_custom --filestore-from src --data-dir '$ODOO' --jobs 2 -c"
	expect_status 0
	jqe --arg dir "$ODOO/filestore/rt_custom" '.restore.database == "rt_custom" and .restore.format == "pgdmp_custom"
		and .restore.from == "src.dump" and .restore.filestore.dir == $dir and .restore.filestore.copied == 3
		and .restore.filestore.from_archive == 0'
	[[ $(pg_sql rt_custom 'SELECT count(*) FROM res_partner') == 500 ]]
	[[ $(pg_sql rt_custom "SELECT value FROM ir_config_parameter WHERE key = 'web.base.url'") == http://localhost:8069 ]]
	[[ -z $(pg_sql postgres "SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = 'rt_custom'") ]]
	! pg_db_exists rt_custom__restoring
	[[ $(cat "$ODOO/filestore/rt_custom/$CHANGED_FNAME") == $(cat "$ODOO/filestore/src/$CHANGED_FNAME") ]]
	[[ $(stat -c %i "$ODOO/filestore/rt_custom/$CHANGED_FNAME") != $(stat -c %i "$ODOO/filestore/src/$CHANGED_FNAME") ]]
	[[ ! -e $ODOO/filestore/rt_custom.part ]]
}

@test "restore: the platform's zip -- upgraded rows, every original row, old files copied, new and changed files from the archive" {
	run --separate-stderr ucall "upgrade restore '$BATS_FILE_TMPDIR/upgraded.zip' --database rt_zip --filestore-from src --data-dir '$ODOO' -c"
	expect_status 0
	jqe '.restore.format == "zip" and .restore.filestore.copied == 3 and .restore.filestore.from_archive == 2'
	# the upgrade is there, and nothing of src was lost
	[[ $(pg_sql rt_zip "SELECT latest_version FROM ir_module_module WHERE name = 'base'") == 16.0.1.0 ]]
	[[ $(pg_sql rt_zip 'SELECT count(*) FROM res_partner') == 500 ]]
	[[ $(pg_sql rt_zip 'SELECT count(*) FROM ir_attachment') == 4 ]]
	local fs=$ODOO/filestore/rt_zip f
	# every attachment's file is there
	while read -r f; do [[ -f $fs/$f ]]; done < <(pg_sql rt_zip 'SELECT store_fname FROM ir_attachment')
	[[ $(cat "$fs/$NEW_STORE_FNAME") == "$NEW_CONTENT" ]]
	[[ $(file_mode "$fs/$NEW_STORE_FNAME") == 600 ]]
	# the changed file replaced the link; src's copy is untouched
	[[ $(cat "$fs/$CHANGED_FNAME") == "changed by the upgrade" ]]
	[[ $(stat -c %i "$fs/$CHANGED_FNAME") != $(stat -c %i "$ODOO/filestore/src/$CHANGED_FNAME") ]]
	src_intact
	# an unchanged file is src's content in a file of its own
	f=$(pg_sql src "SELECT store_fname FROM ir_attachment WHERE name = 'file2.txt'")
	[[ $(cat "$fs/$f") == $(cat "$ODOO/filestore/src/$f") ]]
	[[ $(stat -c %i "$fs/$f") != $(stat -c %i "$ODOO/filestore/src/$f") ]]
	! pg_db_exists rt_zip__restoring
}

@test "restore: plain SQL with an error shows the failing line, leaves no NEW and no temporary database" {
	printf 'CREATE TABLE t (x int);\nINSERT INTO t VALUES (1);\nINSERT INTO missing_table VALUES (2);\n' >bad.sql
	run --separate-stderr ucall 'upgrade restore bad.sql --database rt_bad'
	expect_status 3
	expect_reason CLIENT:DATABASE
	stderr_has 'psql:<stdin>:3: ERROR:  relation "missing_table" does not exist'
	stderr_has 'LINE 1: INSERT INTO missing_table'
	pg_no_db rt_bad
}

@test "restore: an existing target is refused (exit 2) and left as it was" {
	run --separate-stderr ucall "upgrade restore '$BATS_FILE_TMPDIR/upgraded.zip' --database src --data-dir '$ODOO'"
	expect_status 2
	expect_reason CLIENT:DATABASE
	stderr_has 'database src exists'
	src_intact
	! pg_db_exists src__restoring
}

@test "restore: its own leftover temporary database is dropped by the next try" {
	createdb rt_left__restoring
	pg_sql postgres "COMMENT ON DATABASE rt_left__restoring IS 'upgrade restore: temporary database of rt_left'"
	pg_dump -Fc --no-owner -f src.dump src
	run --separate-stderr ucall 'upgrade restore src.dump --database rt_left -c'
	expect_status 0
	stderr_has 'dropping rt_left__restoring'
	[[ $(pg_sql rt_left 'SELECT count(*) FROM res_partner') == 500 ]]
	! pg_db_exists rt_left__restoring
}

@test "restore: a marked temporary database still in use while no restore runs (a dead run's session): that session alone is ended, the restore completes" {
	createdb rt_busy__restoring
	pg_sql postgres "COMMENT ON DATABASE rt_busy__restoring IS 'upgrade restore: temporary database of rt_busy'"
	PGAPPNAME=busy psql -X -q -d rt_busy__restoring -c 'SELECT pg_sleep(60)' >/dev/null 2>&1 &
	local busy=$!
	# a session of another database, which must not be touched
	PGAPPNAME=bystander psql -X -q -d src -c 'SELECT pg_sleep(60)' >/dev/null 2>&1 &
	local bystander=$!
	until [[ $(pg_sql postgres "SELECT count(*) FROM pg_stat_activity
			WHERE application_name IN ('busy', 'bystander') AND wait_event = 'PgSleep'") == 2 ]]; do
		sleep 0.1
	done
	pg_dump -Fc --no-owner -f src.dump src
	run --separate-stderr ucall 'upgrade restore src.dump --database rt_busy -c'
	local bystanders
	bystanders=$(pg_sql postgres "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'bystander'")
	end_sessions bystander "$bystander"
	end_sessions busy "$busy"
	expect_status 0
	stderr_has 'ending 1 session of rt_busy__restoring'
	[[ $bystanders == 1 ]]
	[[ $(pg_sql rt_busy 'SELECT count(*) FROM res_partner') == 500 ]]
	! pg_db_exists rt_busy__restoring
	src_intact
}

@test "restore: a user's database with the temporary name and no mark is refused, not dropped" {
	createdb rt_user__restoring
	pg_sql rt_user__restoring 'CREATE TABLE mine (x int); INSERT INTO mine VALUES (42)'
	pg_dump -Fc --no-owner -f src.dump src
	run --separate-stderr ucall 'upgrade restore src.dump --database rt_user'
	expect_status 2
	expect_reason CLIENT:DATABASE
	stderr_has 'was not made by upgrade restore'
	[[ $(pg_sql rt_user__restoring 'SELECT x FROM mine') == 42 ]]
	! pg_db_exists rt_user
}

@test "restore: a custom dump newer than the local pg_restore reads is refused before anything is made" {
	pg_dump -Fc --no-owner -f src.dump src
	# forge the archive version 1.16 (PostgreSQL 17's pg_dump)
	printf 'PGDMP\x01\x10\x00' | dd of=src.dump bs=1 conv=notrunc status=none
	run --separate-stderr ucall "upgrade restore src.dump --database rt_new --filestore-from src --data-dir '$ODOO'"
	expect_status 2
	expect_reason CLIENT:DATABASE
	stderr_has 'version 1.16.0'
	stderr_has 'reads up to 1.14'
	stderr_has 'postgresql-client-17'
	pg_no_db rt_new
	[[ ! -e $ODOO/filestore/rt_new && ! -e $ODOO/filestore/rt_new.part ]]
}

@test "restore: zip-slip names, symlink entries, a zip without dump.sql, a truncated zip: exit 2, nothing made" {
	local bad name
	make_zip slip.zip dump.sql="$ZIPW/dump.sql" "filestore/../../evil=$ZIPW/dump.sql"
	make_zip abs.zip dump.sql="$ZIPW/dump.sql" "/tmp/evil-upgrade-test=$ZIPW/dump.sql"
	make_zip link.zip dump.sql="$ZIPW/dump.sql" "filestore/ab/link@=/etc/passwd"
	make_zip nodump.zip "filestore/ab/x=$ZIPW/dump.sql"
	head -c 2000 "$BATS_FILE_TMPDIR/upgraded.zip" >truncated.zip
	for bad in slip abs link nodump truncated; do
		name=rt_$bad
		run --separate-stderr ucall "upgrade restore $bad.zip --database $name --filestore-from src --data-dir '$ODOO'"
		expect_status 2
		expect_reason CLIENT:FILE
		pg_no_db "$name"
		[[ ! -e $ODOO/filestore/$name && ! -e $ODOO/filestore/$name.part ]]
	done
	[[ ! -e $ODOO/evil && ! -e /tmp/evil-upgrade-test ]]
	src_intact
}

@test "restore: a filestore that cannot be written is exit 2 CLIENT:FILE, no database made" {
	echo 'not a directory' >datadir
	run --separate-stderr ucall "upgrade restore '$BATS_FILE_TMPDIR/upgraded.zip' --database rt_ro --data-dir '$PWD/datadir'"
	expect_status 2
	expect_reason CLIENT:FILE
	pg_no_db rt_ro
}

@test "restore: an existing filestore of the new name is refused, kept as it was" {
	mkdir -p "$ODOO/filestore/rt_fs"
	echo mine >"$ODOO/filestore/rt_fs/keep"
	run --separate-stderr ucall "upgrade restore '$BATS_FILE_TMPDIR/upgraded.zip' --database rt_fs --data-dir '$ODOO'"
	expect_status 2
	expect_reason CLIENT:FILE
	[[ $(cat "$ODOO/filestore/rt_fs/keep") == mine ]]
	pg_no_db rt_fs
}

# A restore that takes a while: psql sleeps inside the SQL.
slow_sql() {
	{ cat "$ZIPW/dump.sql"; echo "SELECT pg_sleep(60);"; } >slow.sql
}

@test "restore: a trapped SIGINT during a slow restore: 130 within seconds, no psql left, no final database" {
	slow_sql
	# the background job waits for the sleep to run, then interrupts the shell
	run --separate-stderr ucall '
		trap "echo trapped >&2" INT
		( until [[ $(psql -XAtc "SELECT count(*) FROM pg_stat_activity WHERE query ~ '"'pg_sleep[(]60'"'" postgres) == 1 ]]
		  do sleep 0.1; done; date +%s.%N >interrupt_at; kill -INT $$ ) &
		upgrade restore slow.sql --database rt_int; rc=$?
		date +%s.%N >returned_at
		wait
		(exit $rc)'
	expect_status 130
	expect_reason CLIENT:INTERRUPTED
	less_than "$(paste returned_at interrupt_at | awk '{ print $1 - $2 }')" "$(scaled 5)"
	[[ -z $(pg_children rt_int) ]]
	pg_no_db rt_int
	alive
}

@test "restore: a background job of the shell ending meanwhile does not steal psql's exit status" {
	{ cat "$ZIPW/dump.sql"; echo "SELECT pg_sleep(1.5);"; } >slowish.sql
	run --separate-stderr ucall '
		sleep 0.2 &
		sleep 0.5 &
		upgrade restore slowish.sql --database rt_bg -c; rc=$?
		wait
		(exit $rc)'
	expect_status 0
	jqe '.restore.database == "rt_bg" and .restore.format == "sql"'
	alive
	[[ $(pg_sql rt_bg "SELECT latest_version FROM ir_module_module WHERE name = 'base'") == 16.0.1.0 ]]
}

@test "restore: psql gets the shell's exports, also those made since bash last ran a command" {
	# libpq's PGAPPNAME: restricted psql runs no \getenv of the SQL's
	echo "CREATE TABLE envcheck AS SELECT current_setting('application_name') AS v;" >env.sql
	run --separate-stderr ucall 'export PGAPPNAME=exported-just-now; upgrade restore env.sql --database rt_env -c'
	expect_status 0
	[[ $(pg_sql rt_env 'SELECT v FROM envcheck') == exported-just-now ]]
}

@test "restore: SQL dumped from a newer server: a notice naming both versions, then the restore" {
	printf -- '-- Dumped from database version 99.1\n-- Dumped by pg_dump version 99.1\nCREATE TABLE t (x int);\n' >newer.sql
	run --separate-stderr ucall 'upgrade restore newer.sql --database rt_newer -c'
	expect_status 0
	stderr_has 'dumped from a PostgreSQL 99 server; the local server is '
	pg_sql rt_newer 'SELECT count(*) FROM t' >/dev/null
}

@test "restore: usage -- --database is required, and too long a name is refused" {
	run --separate-stderr ucall 'upgrade restore x.zip'
	expect_status 2
	expect_reason CLIENT:USAGE
	run --separate-stderr ucall "upgrade restore x.zip --database $(printf 'n%.0s' {1..60})"
	expect_status 2
	expect_reason CLIENT:USAGE
	run --separate-stderr ucall 'upgrade dump --database src --jobs 2'
	expect_status 2
	stderr_has '--jobs: pg_dump dumps in parallel only to a directory'
}

@test "dump and restore --progress: bytes written by pg_dump, bytes of dump.sql fed to psql out of the total" {
	run --separate-stderr ucall "upgrade dump --database src -o p.dump --progress -c"
	expect_status 0
	stderr_has 'dump src'
	stderr_has 'written'
	run --separate-stderr ucall "upgrade restore '$BATS_FILE_TMPDIR/upgraded.zip' --database rt_prog --progress -c --data-dir '$PWD/odoo'"
	expect_status 0
	stderr_has 'restore dump.sql'
	stderr_has '100%'
}

@test "completion: dump and restore, and their options" {
	run completions sub "upgrade d" restore "upgrade restore x.zip --f" db "upgrade restore x.zip --database sr"
	[[ $output != no-bash-completion ]]
	[[ ${lines[0]} == "sub: download dump" ]]
	[[ ${lines[1]} == "restore: --filestore-from --filestore-link" ]]
	[[ ${lines[2]} == "db: src" ]]
}
