#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-3.0-or-later
# Directory-format dumps, as the rpc platform takes and gives them (issue
# 17): `upgrade dump --format directory [--jobs N]` (pg_dump -Fd -j N into
# OUTPUT.part, renamed when complete) and `upgrade restore DIR` of a
# directory dump or of a download directory (the upgraded dump beside
# filestore/, upgrade-report.html and upgrade.log), against the test
# PostgreSQL, under restore's rules (docs/restore.md).

load helpers
source "$E2E_DIR/../lib/pg.bash"

setup_file() {
	pg_start
	pg_make_src
	# the download the rpc platform hands back: src upgraded, as a directory
	# dump, beside filestore/ (a new file, and one of src's changed), the
	# report and the log -- rpc_upgrade.py's layout
	local dl=$BATS_FILE_TMPDIR/download
	createdb -T template0 -E UTF8 up_src
	pg_dump -Fc --no-owner src | pg_restore --no-owner -d up_src
	pg_upgrade_sql >"$BATS_FILE_TMPDIR/upgrade.sql"
	psql -X -q -v ON_ERROR_STOP=1 -d up_src -f "$BATS_FILE_TMPDIR/upgrade.sql" >/dev/null
	mkdir -p "$dl"
	pg_dump -Fd --no-owner -f "$dl/upgraded.dump" up_src
	dropdb up_src
	mkdir -p "$dl/filestore/${NEW_STORE_FNAME%/*}"
	printf '%s' "$NEW_CONTENT" >"$dl/filestore/$NEW_STORE_FNAME"
	CHANGED_FNAME=$(pg_sql src "SELECT store_fname FROM ir_attachment WHERE name = 'file1.txt'")
	mkdir -p "$dl/filestore/${CHANGED_FNAME%/*}"
	printf 'changed by the upgrade' >"$dl/filestore/$CHANGED_FNAME"
	echo '<html><body>Upgrade report</body></html>' >"$dl/upgrade-report.html"
	echo 'upgrade log' >"$dl/upgrade.log"
	export DL=$dl NEW_STORE_FNAME NEW_CONTENT CHANGED_FNAME
	# a hostile database (as 28's)
	export F=$PG_DIR/program-ran
	pg_make_evil evil_src "$F"
	pg_dump -Fd --no-owner -f "$BATS_FILE_TMPDIR/evil.dir" evil_src
	# a wrapper that logs the argv of pg_dump and pg_restore, then runs them
	local bin=$BATS_FILE_TMPDIR/bin tool
	mkdir -p "$bin"
	for tool in pg_dump pg_restore; do
		printf '#!/bin/sh\necho "$0 $*" >>"$ARGV_LOG"\nexec %s "$@"\n' "$(command -v "$tool")" >"$bin/$tool"
		chmod +x "$bin/$tool"
	done
	export WRAP_BIN=$bin
}

setup() {
	cd "$BATS_TEST_TMPDIR"
	export ARGV_LOG=$BATS_TEST_TMPDIR/argv.log
}

# src_rows DB: DB holds src's tables and rows.
src_rows() {
	[[ $(pg_sql "$1" 'SELECT count(*) FROM res_partner') == 500 ]] || return 1
	[[ $(pg_sql "$1" 'SELECT count(*) FROM ir_module_module') == 4 ]] || return 1
	[[ $(pg_sql "$1" "SELECT value FROM ir_config_parameter WHERE key = 'web.base.url'") == http://localhost:8069 ]]
}

# nothing_made NAME: no database NAME or NAME__restoring, no filestore of NAME.
nothing_made() {
	pg_no_db "$1" || return 1
	[[ ! -e $ODOO/filestore/$1 && ! -e $ODOO/filestore/$1.part ]]
}

# cluster_intact: no role or server file the hostile dump tries to make.
cluster_intact() {
	[[ $(pg_sql postgres "SELECT count(*) FROM pg_roles WHERE rolname = 'x_evil'") == 0 ]] || return 1
	[[ ! -e $F ]] || { echo "the dump ran a program on the server" >&2; return 1; }
}

# copy_download DIR: a copy of the download to change.
copy_download() { cp -a "$DL" "$1"; }

# ---------------------------------------------------------------- dump

@test "dump --format directory: pg_dump -Fd -j 2 into OUTPUT.part, renamed; restored round trip, tables and rows in PostgreSQL" {
	run --separate-stderr ucall "PATH='$WRAP_BIN':\$PATH; upgrade dump --database src --format directory --jobs 2 -o src.dir -c"
	expect_status 0
	one_line
	jqe '.failures == [] and .dump.database == "src" and .dump.file == "src.dir" and .dump.format == "pgdmp_directory"
		and .dump.jobs == 2 and .dump.files > 2 and .dump.bytes > 1000'
	[[ -f src.dir/toc.dat && ! -e src.dir.part && ! -e src.dir.part.meta ]]
	[[ $(file_mode src.dir) == 700 ]]
	[[ $(jq .dump.bytes <<<"$output") == $(find src.dir -type f -printf '%s\n' | awk '{ s += $1 } END { print s }') ]]
	grep -q -- 'pg_dump --format=directory --jobs=2 --file=src.dir.part ' "$ARGV_LOG"
	run --separate-stderr ucall "PATH='$WRAP_BIN':\$PATH; upgrade restore src.dir --database dd_rt --jobs 2 -c"
	expect_status 0
	jqe '.restore.format == "pgdmp_directory" and .restore.dump == "src.dir" and .restore.filestore == null
		and .restore.report == null and .restore.log == null'
	grep -q -- 'pg_restore --format=directory --no-owner --no-password --exit-on-error --jobs=2 ' "$ARGV_LOG"
	src_rows dd_rt
	[[ $(pg_sql dd_rt 'SELECT count(*) FROM ir_attachment') == 3 ]]
	! pg_db_exists dd_rt__restoring
	[[ $(pg_sql postgres "SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = 'dd_rt'") == postgres ]]
}

@test "dump --format directory: --jobs defaults to the CPUs (at most 4); the default output is DB.dump; --progress shows the bytes written" {
	run --separate-stderr ucall "PATH='$WRAP_BIN':\$PATH; upgrade dump --database src --format directory --progress -c"
	expect_status 0
	stderr_has 'dump src'
	stderr_has 'written'
	local want=$(( $(nproc) > 4 ? 4 : $(nproc) ))
	jqe --argjson j "$want" '.dump.file == "src.dump" and .dump.jobs == $j'
	grep -q -- "--jobs=$want " "$ARGV_LOG"
	[[ -f src.dump/toc.dat ]]
}

@test "dump --format directory: an existing output is refused, --force replaces a dump but never another directory" {
	mkdir mine
	echo precious >mine/keep
	run --separate-stderr ucall 'upgrade dump --database src --format directory -o mine'
	expect_status 2
	expect_reason CLIENT:FILE
	stderr_has 'mine exists'
	run --separate-stderr ucall 'upgrade dump --database src --format directory -o mine --force'
	expect_status 2
	expect_reason CLIENT:FILE
	stderr_has 'never another directory'
	[[ $(cat mine/keep) == precious && ! -e mine.part ]]
	# a dump is replaced whole, the old one gone
	pg_dump -Fd -f old.dir src
	touch old.dir/stale
	run --separate-stderr ucall 'upgrade dump --database src --format directory -o old.dir --force -c'
	expect_status 0
	[[ -f old.dir/toc.dat && ! -e old.dir/stale && ! -e old.dir.part ]]
}

@test "dump --format directory: a killed dump leaves no complete-looking directory; the next dump removes its leftover" {
	# a session holding a lock on a table makes pg_dump wait
	pg_hold_lock src res_partner
	# the shell is SIGKILLed (no cleanup of ours runs) while pg_dump waits
	run ucall '
		( until [[ $(psql -XAtc "SELECT count(*) FROM pg_stat_activity WHERE application_name = '"'pg_dump'"' AND wait_event_type = '"'Lock'"'" postgres) -ge 1 ]]
		  do sleep 0.1; done; kill -KILL $$ ) &
		upgrade dump --database src --format directory --jobs 2 -o killed.dir'
	pg_release_lock
	[[ $status == 137 ]]
	[[ ! -e killed.dir ]]
	[[ -d killed.dir.part ]]
	# pg_dump died with the shell
	local i
	for i in $(seq 50); do [[ -n $(pgrep -f 'pg_dump.*killed.dir' || true) ]] || break; sleep 0.1; done
	[[ -z $(pgrep -af 'pg_dump.*killed.dir' || true) ]]
	run --separate-stderr ucall 'upgrade dump --database src --format directory -o killed.dir -c'
	expect_status 0
	stderr_has 'removing killed.dir.part, left by an interrupted dump'
	[[ -f killed.dir/toc.dat && ! -e killed.dir.part && ! -e killed.dir.part.meta ]]
	# a .part not left by upgrade dump is refused, never emptied
	mkdir other.dir.part
	echo mine >other.dir.part/keep
	run --separate-stderr ucall 'upgrade dump --database src --format directory -o other.dir'
	expect_status 2
	stderr_has 'was not left by upgrade dump'
	[[ $(cat other.dir.part/keep) == mine && ! -e other.dir ]]
}

@test "dump --format directory: a trapped SIGINT while pg_dump waits: 130, no OUTPUT and no .part" {
	pg_hold_lock src res_partner
	run --separate-stderr ucall '
		trap "echo trapped >&2" INT
		( until [[ $(psql -XAtc "SELECT count(*) FROM pg_stat_activity WHERE application_name = '"'pg_dump'"' AND wait_event_type = '"'Lock'"'" postgres) -ge 1 ]]
		  do sleep 0.1; done; kill -INT $$ ) &
		upgrade dump --database src --format directory -o int.dir; rc=$?
		wait
		(exit $rc)'
	pg_release_lock
	expect_status 130
	expect_reason CLIENT:INTERRUPTED
	[[ ! -e int.dir && ! -e int.dir.part && ! -e int.dir.part.meta ]]
	alive
}

@test "dump: --jobs only with --format directory, --format only custom or directory" {
	run --separate-stderr ucall 'upgrade dump --database src --jobs 2'
	expect_status 2
	expect_reason CLIENT:USAGE
	stderr_has 'add --format directory'
	run --separate-stderr ucall 'upgrade dump --database src --format tar'
	expect_status 2
	stderr_has "--format: 'tar' is not custom or directory"
	[[ ! -e src.dump ]]
}

# ------------------------------------------------------------- restore

@test "restore DIR: the download -- the upgraded dump found by its toc.dat, the filestore laid over src's in new inodes, report and log named" {
	run --separate-stderr ucall "upgrade restore '$DL' --database dd_dl --filestore-from src --data-dir '$ODOO' -c"
	expect_status 0
	jqe --arg dl "$DL" --arg fs "$ODOO/filestore/dd_dl" '.restore.format == "pgdmp_directory"
		and .restore.from == $dl and .restore.dump == ($dl + "/upgraded.dump")
		and .restore.report == ($dl + "/upgrade-report.html") and .restore.log == ($dl + "/upgrade.log")
		and .restore.filestore.dir == $fs and .restore.filestore.copied == 3 and .restore.filestore.from_archive == 2'
	[[ $(pg_sql dd_dl "SELECT latest_version FROM ir_module_module WHERE name = 'base'") == 16.0.1.0 ]]
	src_rows dd_dl
	[[ $(pg_sql dd_dl 'SELECT count(*) FROM ir_attachment') == 4 ]]
	local fs=$ODOO/filestore/dd_dl f
	while read -r f; do [[ -f $fs/$f ]]; done < <(pg_sql dd_dl 'SELECT store_fname FROM ir_attachment')
	[[ $(cat "$fs/$NEW_STORE_FNAME") == "$NEW_CONTENT" && $(file_mode "$fs/$NEW_STORE_FNAME") == 600 ]]
	[[ $(cat "$fs/$CHANGED_FNAME") == "changed by the upgrade" ]]
	# copies: no inode shared with the download, nor with src's filestore
	[[ $(stat -c %i "$fs/$NEW_STORE_FNAME") != $(stat -c %i "$DL/filestore/$NEW_STORE_FNAME") ]]
	[[ $(stat -c %i "$fs/$CHANGED_FNAME") != $(stat -c %i "$DL/filestore/$CHANGED_FNAME") ]]
	[[ $(cat "$ODOO/filestore/src/$CHANGED_FNAME") == "attachment 1 of src" ]]
	[[ ! -e $ODOO/filestore/dd_dl.part ]]
	! pg_db_exists dd_dl__restoring
}

@test "restore DIR: the download's filestore alone (no --filestore-from), -j 2 in pg_restore's argv" {
	run --separate-stderr ucall "PATH='$WRAP_BIN':\$PATH; upgrade restore '$DL' --database dd_fs --data-dir '$PWD/odoo' --jobs 2 -c"
	expect_status 0
	jqe '.restore.filestore.copied == 0 and .restore.filestore.from_archive == 2'
	grep -q -- "--format=directory .*--jobs=2 .*$DL/upgraded.dump\$" "$ARGV_LOG"
	[[ $(cat "odoo/filestore/dd_fs/$NEW_STORE_FNAME") == "$NEW_CONTENT" ]]
}

@test "restore DIR: a hostile directory dump (its CHECK function makes a superuser and runs COPY TO PROGRAM) fails as the confined role: nothing escapes, nothing made" {
	run --separate-stderr ucall "upgrade restore '$BATS_FILE_TMPDIR/evil.dir' --database dd_evil --data-dir '$ODOO'"
	expect_status 3
	expect_reason CLIENT:DATABASE
	stderr_has 'pg_execute_server_program role to COPY to or from an external program'
	cluster_intact
	nothing_made dd_evil
	# the same inside a download
	mkdir dl
	cp -a "$BATS_FILE_TMPDIR/evil.dir" dl/upgraded.dump
	cp -a "$DL/filestore" dl/
	run --separate-stderr ucall "upgrade restore dl --database dd_evil --data-dir '$ODOO'"
	expect_status 3
	cluster_intact
	nothing_made dd_evil
}

@test "restore DIR: a symlink anywhere inside DIR is refused before anything is made (exit 2)" {
	local how name
	for how in filestore dumpfile dumpdir report; do
		rm -rf dl
		copy_download dl
		case $how in
		filestore) ln -s /etc/passwd "dl/filestore/${NEW_STORE_FNAME%/*}/link" ;;
		dumpfile)
			name=$(cd dl/upgraded.dump && ls | grep -m 1 -E '^[0-9]+[.]dat')
			mv "dl/upgraded.dump/$name" "$PWD/outside.dat"
			ln -s "$PWD/outside.dat" "dl/upgraded.dump/$name" ;;
		dumpdir) mv dl/upgraded.dump "$PWD/elsewhere.dump" && ln -s "$PWD/elsewhere.dump" dl/upgraded.dump ;;
		report) rm dl/upgrade-report.html && ln -s /etc/passwd dl/upgrade-report.html ;;
		esac
		run --separate-stderr ucall "upgrade restore dl --database dd_link --data-dir '$ODOO'"
		expect_status 2
		expect_reason CLIENT:FILE
		stderr_has 'is a symbolic link: refusing dl'
		nothing_made dd_link
		rm -rf "$PWD/elsewhere.dump" "$PWD/outside.dat"
	done
	# a FIFO too (no read blocks on it)
	rm -rf dl
	copy_download dl
	mkfifo dl/filestore/fifo
	run --separate-stderr ucall "upgrade restore dl --database dd_link --data-dir '$ODOO'"
	expect_status 2
	stderr_has 'is neither a directory nor a regular file'
	nothing_made dd_link
	alive
}

@test "restore DIR: no dump, two dumps, or a dump in filestore/ of the download are refused (exit 2), nothing made" {
	mkdir empty
	cp -a "$DL/filestore" empty/
	run --separate-stderr ucall "upgrade restore empty --database dd_two --data-dir '$ODOO'"
	expect_status 2
	expect_reason CLIENT:FILE
	stderr_has 'holds no directory-format dump'
	nothing_made dd_two
	copy_download dl
	cp -a "$BATS_FILE_TMPDIR/evil.dir" dl/other.dump
	run --separate-stderr ucall "upgrade restore dl --database dd_two --data-dir '$ODOO'"
	expect_status 2
	expect_reason CLIENT:FILE
	stderr_has 'holds 2 directory-format dumps'
	nothing_made dd_two
	cluster_intact
	# the dump in filestore/: the two cannot be one directory
	rm -rf dl/other.dump dl/upgraded.dump
	cp -a "$DL/upgraded.dump/." dl/filestore/
	run --separate-stderr ucall "upgrade restore dl --database dd_two --data-dir '$ODOO'"
	expect_status 2
	stderr_has 'cannot be one directory'
	nothing_made dd_two
}

@test "restore DIR: a truncated or a foreign toc.dat, a missing data file: exit 2 or 3 as documented, nothing made, the shell alive" {
	copy_download dl
	# cut short: pg_restore cannot read its table of contents (exit 3, before anything is made)
	head -c 300 "$DL/upgraded.dump/toc.dat" >dl/upgraded.dump/toc.dat
	run --separate-stderr ucall "upgrade restore dl --database dd_bad --data-dir '$ODOO'"
	expect_status 3
	expect_reason CLIENT:DATABASE
	stderr_has 'pg_restore --list failed'
	nothing_made dd_bad
	# not a directory dump's header: exit 2
	printf 'not a dump at all' >dl/upgraded.dump/toc.dat
	run --separate-stderr ucall "upgrade restore dl --database dd_bad --data-dir '$ODOO'"
	expect_status 2
	expect_reason CLIENT:FILE
	stderr_has "not a directory-format dump's toc.dat"
	nothing_made dd_bad
	# a custom dump's header under the name toc.dat: exit 2
	pg_dump -Fc -f dl/upgraded.dump/toc.dat src
	run --separate-stderr ucall "upgrade restore dl --database dd_bad --data-dir '$ODOO'"
	expect_status 2
	stderr_has "its header says otherwise"
	nothing_made dd_bad
	# a data file gone: the load fails (exit 3), its temporary database dropped
	rm -rf dl
	copy_download dl
	rm "dl/upgraded.dump/$(cd dl/upgraded.dump && ls -S | grep -m 1 -E '^[0-9]+[.]dat')"
	run --separate-stderr ucall "upgrade restore dl --database dd_bad --data-dir '$ODOO'"
	expect_status 3
	expect_reason CLIENT:DATABASE
	stderr_has 'pg_restore failed'
	nothing_made dd_bad
	alive
}
