#!/usr/bin/env bats
# The newcomer's first hour, data and time lost (issue 18, items 1-5):
# every target of a job checked before anything is made, the source
# filestore found before the dump, a second run that just works, a second
# create that does not silently redirect, and input looked at first.

load helpers
source "$E2E_DIR/../lib/pg.bash"

setup_file() { pg_with_emulator_start; }
teardown_file() { pg_with_emulator_stop; }

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
	[[ ! -e upgraded_db.dump && ! -e db.dump.upgrade.json ]]
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
	run --separate-stderr ucall "upgrade run --database holes --data-dir '$PWD/data' $ARGS"
	expect_status 2
	expect_reason CLIENT:FILE
	stderr_has "1 of its"
	stderr_has "not in its filestore"
	# restored, but the job stays open until the files are there
	[[ $(jq -r .step holes.dump.upgrade.json) == downloaded ]]
	pg_db_exists holes_17.0
	[[ $(pg_sql holes 'SELECT count(*) FROM res_partner') == 500 ]] # the source untouched
}
