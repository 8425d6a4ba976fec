#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-3.0-or-later
# The newcomer's first hour, data and time lost (issue 18, items 1-5):
# every target of a job checked before anything is made, the source
# filestore found before the dump, a second run that just works, a second
# create that does not silently redirect, and input looked at first.

load helpers
source "$E2E_DIR/../lib/pg.bash"


setup() {
	cd "$BATS_TEST_TMPDIR"
	{ printf 'PGDMP'; head -c 300000 /dev/urandom; } >db.dump
	emulator_reset stats >/dev/null
}

ARGS='--cacert "$CA" --contract M123-abc --email t@example.com --target 17.0 --aim test --interval 0.1'

# stop_at_download: the next run's download is cut off after 100 kB (exit
# 3), leaving its job open at step "done".
stop_at_download() { emulator_fault download drop '"after_bytes": 100000' >/dev/null; }

@test "run refuses an existing output file before it creates a request: no request, the file kept" {
	echo precious >upgraded_db.dump
	run --separate-stderr ucall "upgrade run $ARGS db.dump"
	expect_status 2
	expect_reason CLIENT:FILE
	stderr_has "upgraded_db.dump already exists"
	stderr_has "--force"
	[[ $(method_count create) == 0 && ! -e db.dump.upgrade.json ]]
	[[ $(cat upgraded_db.dump) == precious ]]
}

@test "run --force is kept in the job record: --continue replaces the output without --force again" {
	echo old >upgraded_db.dump
	stop_at_download
	run --separate-stderr ucall "upgrade run $ARGS --force db.dump"
	expect_status 3
	[[ $(jq -r .step db.dump.upgrade.json) == done ]]
	emulator_reset stats >/dev/null
	run --separate-stderr ucall "upgrade run --cacert \"\$CA\" --continue db.dump"
	expect_status 0
	cmp <(printf 'UPGRADED TO 17.0\n'; cat db.dump) upgraded_db.dump
}

@test "run --continue -o FILE: a download not yet made goes to FILE, and the old output name is left alone" {
	stop_at_download
	run --separate-stderr ucall "upgrade run $ARGS db.dump"
	expect_status 3
	emulator_reset stats >/dev/null
	run --separate-stderr ucall "upgrade run --cacert \"\$CA\" --continue -o other.dump db.dump"
	expect_status 0
	jqe '.transfer.file == "'"$PWD"'/other.dump"'
	cmp <(printf 'UPGRADED TO 17.0\n'; cat db.dump) other.dump
	[[ ! -e upgraded_db.dump ]]
	job_closed db.dump.upgrade.json
}

@test "run --continue -o FILE refuses a FILE that exists before it downloads anything" {
	stop_at_download
	run --separate-stderr ucall "upgrade run $ARGS db.dump"
	expect_status 3
	echo precious >other.dump
	emulator_reset stats >/dev/null
	run --separate-stderr ucall "upgrade run --cacert \"\$CA\" --continue -o other.dump db.dump"
	expect_status 2
	expect_reason CLIENT:FILE
	[[ $(method_count download) == 0 && $(cat other.dump) == precious ]]
	[[ -e db.dump.upgrade.json ]]
}

@test "run --database refuses an existing filestore of NEW before it dumps or creates anything" {
	mkdir -p "$ODOO/filestore/fs_taken"
	run --separate-stderr ucall "upgrade run --database src --restore-as fs_taken --data-dir '$ODOO' $ARGS"
	expect_status 2
	expect_reason CLIENT:FILE
	stderr_has "filestore/fs_taken exists"
	[[ $(method_count create) == 0 ]]
	[[ ! -e src.dump && ! -e src.dump.upgrade.json ]]
	! pg_db_exists fs_taken
	rmdir "$ODOO/filestore/fs_taken"
}

@test "run --database refuses a data dir that does not exist before it dumps or creates anything" {
	createdb -T template0 plain1 # no attachments: no filestore needed
	run --separate-stderr ucall "upgrade run --database plain1 --data-dir '$PWD/nowhere' $ARGS"
	expect_status 2
	expect_reason CLIENT:FILE
	stderr_has "nowhere: not a directory"
	[[ $(method_count create) == 0 ]]
	[[ ! -e plain1.dump && ! -e plain1.dump.upgrade.json && ! -e nowhere ]]
	pg_no_db plain1_17.0
}

@test "run --database without --data-dir refuses a database whose attachments have no filestore found: exit 2 naming --data-dir, nothing dumped or created" {
	mkdir home
	run --separate-stderr ucall "HOME='$PWD/home'; upgrade run --database src $ARGS"
	expect_status 2
	expect_reason CLIENT:FILE
	stderr_has "--data-dir"
	stderr_has "--no-filestore"
	stderr_has "home/.local/share/Odoo/filestore/src"
	[[ $(method_count create) == 0 ]]
	[[ ! -e src.dump && ! -e src.dump.upgrade.json ]]
	pg_no_db src_17.0
}

@test "run --database --no-filestore restores without the source's files" {
	mkdir -p home/.local/share/Odoo
	run --separate-stderr ucall "HOME='$PWD/home'; upgrade run --database src --no-filestore --restore-as nofs $ARGS"
	expect_status 0
	jqe '.restore.database == "nofs"'
	[[ $(pg_sql nofs 'SELECT count(*) FROM res_partner') == 500 ]]
	# the source's files were not taken: none of src's store_fname is in nofs's filestore
	while read -r f; do [[ ! -e home/.local/share/Odoo/filestore/nofs/$f ]]; done < <(pg_sql src 'SELECT store_fname FROM ir_attachment')
	pg_sql postgres 'DROP DATABASE nofs' >/dev/null
}

@test "run --database never exits 0 when the restored attachments point at files that are not there" {
	pg_make_odoo holes "$PWD/data"
	rm "$PWD/data/filestore/holes/$(pg_sql holes 'SELECT store_fname FROM ir_attachment LIMIT 1')"
	run --separate-stderr ucall "upgrade run --database holes --data-dir '$PWD/data' --restore-as holes_new $ARGS"
	expect_status 2
	expect_reason CLIENT:FILE
	stderr_has "1 of its"
	stderr_has "not in its filestore"
	# restored, but the job stays open until the files are there
	[[ $(jq -r .step holes.dump.upgrade.json) == downloaded ]]
	pg_db_exists holes_new
	[[ $(pg_sql holes 'SELECT count(*) FROM res_partner') == 500 ]] # the source untouched
}

# new_db: the database the last run restored into.
new_db() { jq -r .restore.database <<<"$output"; }

@test "a second run --database src --target 17.0 just works: each restores into a name of its own, said on stderr" {
	run --separate-stderr ucall "upgrade run --database src --data-dir '$ODOO' $ARGS"
	expect_status 0
	local first
	first=$(new_db)
	[[ $first =~ ^src_test_17\.0_[0-9]{4}(_[0-9]{2}){4}$ ]]
	stderr_has "the upgraded database will be $first"
	run --separate-stderr ucall "upgrade run --database src --data-dir '$ODOO' $ARGS"
	expect_status 0
	local second
	second=$(new_db)
	[[ $second =~ ^src_test_17\.0_[0-9]{4}(_[0-9]{2}){4}(_2)?$ && $second != "$first" ]]
	stderr_has "the upgraded database will be $second"
	[[ $(pg_sql "$first" 'SELECT count(*) FROM res_partner') == 500 ]]
	[[ $(pg_sql "$second" 'SELECT count(*) FROM res_partner') == 500 ]]
	[[ -f upgraded_$first.dump && -f upgraded_$second.dump ]]
	job_closed src.dump.upgrade.json
}

@test "run --database DUMP never replaces an existing DUMP, even with --force: refused before anything is made" {
	echo precious >mine.dump
	run --separate-stderr ucall "upgrade run --database src --data-dir '$ODOO' --restore-as r_force $ARGS --force mine.dump"
	expect_status 2
	expect_reason CLIENT:FILE
	stderr_has "--reuse-dump"
	[[ $(cat mine.dump) == precious && $(method_count create) == 0 ]]
	! pg_db_exists r_force
}

@test "run --database --reuse-dump uploads the existing dump as it is: no new pg_dump" {
	run --separate-stderr ucall "upgrade dump --database src -o mine.dump"
	expect_status 0
	local inode
	inode=$(stat -c %i:%Y mine.dump)
	run --separate-stderr ucall "upgrade run --database src --data-dir '$ODOO' --restore-as r_reuse --reuse-dump $ARGS mine.dump"
	expect_status 0
	jqe '.dump.reused == true and .restore.database == "r_reuse"'
	stderr_has "reusing mine.dump"
	[[ $(stat -c %i:%Y mine.dump) == "$inode" ]]
	[[ $(pg_sql r_reuse 'SELECT count(*) FROM res_partner') == 500 ]]
}

@test "run --database --remove-dumps removes the dump and the download once restored" {
	run --separate-stderr ucall "upgrade run --database src --data-dir '$ODOO' --restore-as r_rm --remove-dumps $ARGS"
	expect_status 0
	[[ ! -e src.dump && ! -e upgraded_r_rm.dump ]]
	job_closed src.dump.upgrade.json
	stderr_has "removed"
	[[ $(pg_sql r_rm 'SELECT count(*) FROM res_partner') == 500 ]]
}

# ms_seconds: every "seconds" of the last document, as printed, has at most
# three decimals, and there is one for WHAT (jq paths, one per argument).
ms_seconds() {
	jqe '[.. | objects | .seconds? | numbers | tostring | test("^[0-9]+([.][0-9]{1,3})?$")] | all' || return 1
	local what
	for what in "$@"; do
		jqe "$what.seconds | type == \"number\"" || return 1
	done
}

@test "seconds: dump, restore, transfer and run documents give seconds rounded to the millisecond" {
	run --separate-stderr ucall "upgrade dump --database src -o ms.dump -c"
	expect_status 0
	ms_seconds .dump
	run --separate-stderr ucall "upgrade restore ms.dump --database ms_restored -c"
	expect_status 0
	ms_seconds .restore
	run --separate-stderr ucall "upgrade run --database src --data-dir '$ODOO' --restore-as ms_run $ARGS -c"
	expect_status 0
	ms_seconds .dump .transfer .restore ''
}

CREATE='upgrade create --cacert "$CA" --contract M123-abc --email t@example.com --target 17.0 --aim test'

@test "upload warns when FILE is not the filename of the shell's request: a second create silently took over" {
	cp db.dump a.dump
	run --separate-stderr ucall "$CREATE --filename a.dump -s; first=\$UPGRADE_REQUEST
		upgrade upload --cacert \"\$CA\" a.dump -s -q .failures -c; echo \"first=\$first\" >&2
		$CREATE --filename b.dump -s
		upgrade upload --cacert \"\$CA\" a.dump -q .failures -c; echo \"second=\$UPGRADE_REQUEST\" >&2"
	expect_status 0
	local first second
	first=$(sed -n 's/^first=//p' <<<"$stderr")
	second=$(sed -n 's/^second=//p' <<<"$stderr")
	[[ -n $first && -n $second && $first != "$second" ]]
	# the first upload (its own request) said nothing; the second names both
	[[ $(grep -c 'warning: a.dump is not b.dump' <<<"$stderr") == 1 ]]
	stderr_has "request $second was created with"
}

@test "the no-request message says that a create in a subshell sets nothing in this shell" {
	run --separate-stderr ucall "unset UPGRADE_REQUEST UPGRADE_KEY; out=\$($CREATE --filename db.dump -s); upgrade upload --cacert \"\$CA\" db.dump"
	expect_status 2
	expect_reason CLIENT:USAGE
	stderr_has "no request"
	stderr_has 'a create in a subshell, $(...) or a pipe, sets nothing here'
	[[ $(method_count upload) == 0 ]]
}

@test "upload refuses bytes that are no dump before a byte is sent, saying what they look like; a dump, SQL text and gzip go" {
	{ printf '\x9c\x4e\x00\x01'; head -c 300000 /dev/urandom; } >noise.dump
	printf 'CREATE TABLE t (x int);\n' >plain.sql
	gzip -c plain.sql >plain.sql.gz
	run --separate-stderr ucall "$CREATE --filename noise.dump -s
		upgrade upload --cacert \"\$CA\" noise.dump"
	expect_status 2
	expect_reason CLIENT:FILE
	stderr_has "noise.dump is not a database dump: it looks like binary data starting with 9c 4e 00 01"
	[[ $(method_count upload) == 0 ]]
	local f
	for f in db.dump plain.sql plain.sql.gz; do
		run --separate-stderr ucall "$CREATE --filename $f -s; upgrade upload --cacert \"\$CA\" $f -s"
		expect_status 0
	done
	[[ $(method_count upload) == 3 ]]
}

@test "sftp-put refuses an executable before it asks for SFTP access" {
	cp /bin/true prog.dump
	run --separate-stderr ucall "$CREATE --filename prog.dump -s; upgrade sftp-put --cacert \"\$CA\" prog.dump"
	expect_status 2
	expect_reason CLIENT:FILE
	stderr_has "it looks like an ELF executable"
	[[ $(method_count request_sftp_access) == 0 ]]
}

@test "run refuses a file that is no dump before it creates a request" {
	{ printf '\x00\x00'; head -c 3000 /dev/urandom; } >db.dump
	run --separate-stderr ucall "upgrade run $ARGS db.dump"
	expect_status 2
	expect_reason CLIENT:FILE
	stderr_has "is not a database dump"
	[[ $(method_count create) == 0 && ! -e db.dump.upgrade.json ]]
}

@test "restore x.sql.gz gunzips it on the fly into psql: the rows are there, no binary on the terminal" {
	printf 'CREATE TABLE gz_t (x int);\nINSERT INTO gz_t SELECT generate_series(1, 1000);\n' | gzip -c >x.sql.gz
	run --separate-stderr ucall "upgrade restore x.sql.gz --database gz_new"
	expect_status 0
	jqe '.restore.format == "sql.gz"'
	[[ $(pg_sql gz_new 'SELECT count(*) FROM gz_t') == 1000 ]]
	! grep -q 'invalid command' <<<"$stderr"
}

@test "restore of a cut-off x.sql.gz fails and leaves no database" {
	{ printf 'CREATE TABLE gz_c (x int);\n'; seq 1 20000 | sed 's/.*/INSERT INTO gz_c VALUES (&);/'; } | gzip -c >full.sql.gz
	head -c "$(($(stat -c %s full.sql.gz) / 2))" full.sql.gz >cut.sql.gz
	run --separate-stderr ucall "upgrade restore cut.sql.gz --database gz_cut"
	[[ $status != 0 ]]
	expect_reason CLIENT:FILE
	pg_no_db gz_cut
}
