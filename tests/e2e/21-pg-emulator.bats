#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-3.0-or-later
# The operator's round trip through the emulator: `upgrade dump` of an
# Odoo-shaped database, the upload "upgraded" by the emulator into a zip like
# the platform's (dump.sql + filestore/), downloaded, and `upgrade restore`d
# next to the original -- which proves the restored database is the
# upgraded one, every original row survived, and the filestore holds the
# old files (copies) plus the new one.

load helpers
source "$E2E_DIR/../lib/pg.bash"


setup() {
	cd "$BATS_TEST_TMPDIR"
}

@test "dump, upload, download of the emulator's upgraded zip, restore: the upgraded database beside the original" {
	run --separate-stderr ucall 'upgrade dump --database src -o src.dump -c'
	expect_status 0
	done_request src.dump src.dump 17.0
	run --separate-stderr ucall "upgrade download --cacert '$CA' -o upgraded.zip -c"
	expect_status 0
	[[ $(head -c 4 upgraded.zip | od -An -c | tr -d ' ') == 'PK003004' ]]
	run --separate-stderr ucall "upgrade restore upgraded.zip --database upgraded --filestore-from src --data-dir '$ODOO' -c"
	expect_status 0
	jqe '.restore.format == "zip" and .restore.filestore.copied == 3 and .restore.filestore.from_archive == 1'
	# upgraded, and nothing of the original lost
	[[ $(pg_sql upgraded "SELECT DISTINCT latest_version FROM ir_module_module") == 17.0.1.0 ]]
	[[ $(pg_sql upgraded 'SELECT count(*) FROM res_partner') == 500 ]]
	[[ $(pg_sql upgraded "SELECT count(*) FROM ir_attachment") == 4 ]]
	[[ $(pg_sql src "SELECT DISTINCT latest_version FROM ir_module_module WHERE name = 'base'") == 15.0.1.3 ]]
	# every attachment's file is in the new filestore; the old ones are src's
	local f new
	while read -r f; do
		[[ -f $ODOO/filestore/upgraded/$f ]]
		[[ $(cat "$ODOO/filestore/upgraded/$f") == $(cat "$ODOO/filestore/src/$f") ]]
	done < <(pg_sql src 'SELECT store_fname FROM ir_attachment')
	new=$(pg_sql upgraded "SELECT store_fname FROM ir_attachment WHERE name = 'upgrade.txt'")
	[[ $(cat "$ODOO/filestore/upgraded/$new") == "attachment added by the upgrade to 17.0" ]]
	[[ ! -e $ODOO/filestore/src/$new ]]
}
