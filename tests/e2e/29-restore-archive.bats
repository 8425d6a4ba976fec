#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-3.0-or-later
# The platform's zip held to its central directory, and a new filestore that
# never shares an inode with the original unless asked (issue 16, findings
# 9, 10, 11): a second dump.sql, an entry that yields more than it declared,
# a filestore bigger than the disk, and what a chmod or an append under
# filestore/NEW does to filestore/DB.  Against the real PostgreSQL of
# tests/lib/pg.bash and, for run, the emulator.

load helpers
source "$E2E_DIR/../lib/pg.bash"

setup_file() {
	pg_with_emulator_start
	local w=$BATS_FILE_TMPDIR/zip
	mkdir -p "$w"
	pg_dump -Fp --no-owner src >"$w/dump.sql"
	printf 'attachment of the upgrade' >"$w/new"
	export ZIPW=$w
}

setup() {
	cd "$BATS_TEST_TMPDIR"
}

teardown() {
	if [[ -n ${SMALL:-} ]] && mountpoint -q "$SMALL"; then
		umount "$SMALL"
	fi
}

# nothing_made NAME DATA_DIR: no database NAME nor NAME__restoring, no
# filestore NAME nor NAME.part in DATA_DIR.
nothing_made() {
	if pg_db_exists "$1" || pg_db_exists "$1__restoring"; then
		echo "database $1 or $1__restoring exists" >&2
		return 1
	fi
	if [[ -e $2/filestore/$1 || -e $2/filestore/$1.part ]]; then
		echo "filestore $1 or $1.part exists in $2" >&2
		return 1
	fi
}

# no_role NAME: the hostile dump's role was never committed.
no_role() {
	[[ $(pg_sql postgres "SELECT count(*) FROM pg_roles WHERE rolname = '$1'") == 0 ]] || {
		echo "role $1 exists" >&2
		return 1
	}
}

# src_files: SRC's filestore as pg_make_odoo made it: its files, their
# contents and their mode, as one text to compare.
src_files() {
	local f
	while read -r f; do
		printf '%s %s %s\n' "$f" "$(stat -c %a "$ODOO/filestore/src/$f")" "$(cat "$ODOO/filestore/src/$f")"
	done < <(pg_sql src 'SELECT store_fname FROM ir_attachment ORDER BY 1')
}

# linked_to_src NEW: each of src's files in NEW's filestore is src's inode.
linked_to_src() {
	local f
	while read -r f; do
		[[ $(stat -c %i "$ODOO/filestore/$1/$f") == $(stat -c %i "$ODOO/filestore/src/$f") ]] || {
			echo "$1/$f is not a hard link to src's" >&2
			return 1
		}
	done < <(pg_sql src 'SELECT store_fname FROM ir_attachment')
}

# mount_small SIZE: a tmpfs of SIZE at $SMALL (umounted by teardown); skips
# where it cannot be mounted (not root, no CAP_SYS_ADMIN).
mount_small() {
	SMALL=$BATS_TEST_TMPDIR/small
	mkdir -p "$SMALL"
	[[ $(id -u) == 0 ]] && mount -t tmpfs -o "size=$1,mode=0755" tmpfs "$SMALL" 2>/dev/null ||
		skip "mounting a tmpfs needs root"
}

@test "restore: a zip with two dump.sql entries (or a file twice) is refused at the scan, exit 2, nothing made, neither loaded" {
	printf 'CREATE ROLE arch_dup_evil;\n' >second.sql
	make_zip dup.zip dump.sql="$ZIPW/dump.sql" dump.sql=second.sql 2>/dev/null
	run --separate-stderr ucall "upgrade restore dup.zip --database arch_dup --filestore-from src --data-dir '$ODOO'"
	expect_status 2
	expect_reason CLIENT:FILE
	stderr_has "the entry 'dump.sql' is in the zip twice"
	nothing_made arch_dup "$ODOO"
	no_role arch_dup_evil
	# a filestore file twice: the second would replace the first
	make_zip dupfile.zip dump.sql="$ZIPW/dump.sql" filestore/ab/x="$ZIPW/new" filestore/ab/x=second.sql 2>/dev/null
	run --separate-stderr ucall "upgrade restore dupfile.zip --database arch_dupf --data-dir '$ODOO'"
	expect_status 2
	expect_reason CLIENT:FILE
	stderr_has "the entry 'filestore/ab/x' is in the zip twice"
	nothing_made arch_dupf "$ODOO"
}

@test "restore: a filestore entry that yields more than it declares is cut off at the declared size, exit 2, nothing left" {
	head -c 8388608 /dev/zero >zeros
	make_zip over.zip dump.sql="$ZIPW/dump.sql" filestore/ab/bomb=zeros
	# the central directory and the local header say 1000 bytes; the data
	# inflates to 8 MiB (zip_declare patches both sizes)
	zip_declare over.zip filestore/ab/bomb 1000
	# a 2 MiB file-size limit: writing past it would fail with EFBIG ("File
	# too large"), so a cut-off that comes only after the bytes were
	# written is caught
	run --separate-stderr ucall "trap '' XFSZ; ulimit -f 2048
		upgrade restore over.zip --database arch_over --filestore-from src --data-dir '$ODOO'"
	expect_status 2
	expect_reason CLIENT:FILE
	stderr_has "the entry 'filestore/ab/bomb' yields more than its declared 1000 bytes"
	stderr_lacks "File too large"
	nothing_made arch_over "$ODOO"
	[[ $(src_files | wc -l) == 3 ]]
}

@test "restore: a dump.sql that yields more than it declares is cut off before psql reads past the declared end" {
	local declared
	{ printf 'CREATE TABLE arch_t (x int);\n'; head -c 300000 /dev/zero | tr '\0' '\n'; } >over.sql
	declared=$(stat -c %s over.sql)
	# past the declared end: a role (cluster-wide) that must never be created
	printf 'CREATE ROLE arch_over_evil;\n' >>over.sql
	make_zip oversql.zip dump.sql=over.sql
	zip_declare oversql.zip dump.sql "$declared"
	run --separate-stderr ucall "upgrade restore oversql.zip --database arch_oversql --data-dir '$ODOO'"
	[[ $status == 2 || $status == 3 ]] || { show; false; }
	expect_reason CLIENT:FILE
	stderr_has "dump.sql yields more than its declared $declared bytes"
	nothing_made arch_oversql "$ODOO"
	no_role arch_over_evil
}

@test "restore: a dump.sql cut off at its declared end is never committed: psql is killed before it sees the end of its input, even one slow to die" {
	local declared
	# inside the declared bytes: a cluster-wide change that only a COMMIT
	# of the half-fed dump would keep (a role's own default, which any
	# role may set for itself)
	{ printf 'ALTER ROLE CURRENT_USER SET statement_timeout = %s;\n' "'1234s'"; head -c 300000 /dev/zero | tr '\0' '\n'; } >cut.sql
	declared=$(stat -c %s cut.sql)
	printf 'SELECT 1;\n' >>cut.sql
	make_zip cut.zip dump.sql=cut.sql
	zip_declare cut.zip dump.sql "$declared"
	# a psql slow to die (SIGTERM ignored until the grace second's SIGKILL):
	# whether it ever sees the end of its input decides, not a race
	mkdir -p slowdeath
	printf '#!/bin/sh\ntrap "" TERM\nexec %s "$@"\n' "$(command -v psql)" >slowdeath/psql
	chmod +x slowdeath/psql
	run --separate-stderr ucall "export PATH='$PWD/slowdeath':\$PATH
		upgrade restore cut.zip --database arch_cut --data-dir '$ODOO'"
	local kept
	kept=$(pg_sql postgres "SELECT count(*) FROM pg_db_role_setting WHERE 'statement_timeout=1234s' = ANY (setconfig)")
	# undo it before asserting, so that a failure here spoils no other test
	pg_sql postgres "SELECT 'ALTER ROLE ' || quote_ident(rolname) || ' RESET statement_timeout' FROM pg_roles
		JOIN pg_db_role_setting ON setrole = pg_roles.oid WHERE 'statement_timeout=1234s' = ANY (setconfig)" |
		while read -r undo; do pg_sql postgres "$undo" >/dev/null; done
	[[ $status == 2 || $status == 3 ]] || { show; false; }
	expect_reason CLIENT:FILE
	[[ $kept == 0 ]] || { echo "the half-fed dump was committed: $kept role setting(s) kept" >&2; false; }
	nothing_made arch_cut "$ODOO"
}

@test "restore: a zip whose filestore declares more than the free space is refused before anything is written, both numbers said" {
	mount_small 1m
	printf 'CREATE ROLE arch_space_evil;\n' >load.sql
	head -c 4194304 /dev/zero >zeros
	make_zip big.zip dump.sql=load.sql filestore/ab/big=zeros filestore/ab/small="$ZIPW/new"
	local free declared=$((4194304 + $(stat -c %s "$ZIPW/new")))
	free=$(($(stat -f -c %a "$SMALL") * $(stat -f -c %S "$SMALL")))
	run --separate-stderr ucall "upgrade restore big.zip --database arch_space --data-dir '$SMALL'"
	expect_status 2
	expect_reason CLIENT:FILE
	stderr_has "declares $declared bytes, more than the $free bytes free"
	nothing_made arch_space "$SMALL"
	# not a byte: no filestore folder made, dump.sql never loaded
	[[ -z $(ls -A "$SMALL") ]]
	no_role arch_space_evil
	# the same filestore where it fits is restored (with a dump.sql the
	# confined load role may run)
	umount "$SMALL"
	mount -t tmpfs -o size=8m,mode=0755 tmpfs "$SMALL"
	printf 'CREATE TABLE arch_space_t (x int);\n' >fit.sql
	make_zip fit.zip dump.sql=fit.sql filestore/ab/big=zeros filestore/ab/small="$ZIPW/new"
	run --separate-stderr ucall "upgrade restore fit.zip --database arch_space --data-dir '$SMALL' -c"
	expect_status 0
	[[ $(stat -c %s "$SMALL/filestore/arch_space/ab/big") == 4194304 ]]
}

@test "restore --filestore-from: NEW's files are new inodes; a chmod or an append under filestore/NEW leaves DB's files as they were" {
	pg_dump -Fc --no-owner -f src.dump src
	local before f
	before=$(src_files)
	run --separate-stderr ucall "upgrade restore src.dump --database arch_copy --filestore-from src --data-dir '$ODOO' -c"
	expect_status 0
	while read -r f; do
		[[ $(cat "$ODOO/filestore/arch_copy/$f") == $(cat "$ODOO/filestore/src/$f") ]]
		[[ $(stat -c %i "$ODOO/filestore/arch_copy/$f") != $(stat -c %i "$ODOO/filestore/src/$f") ]]
		chmod 0644 "$ODOO/filestore/arch_copy/$f"
		printf ' appended' >>"$ODOO/filestore/arch_copy/$f"
	done < <(pg_sql src 'SELECT store_fname FROM ir_attachment')
	[[ $(src_files) == "$before" ]] || { diff <(echo "$before") <(src_files) >&2; false; }
	# ext4 (CI) has no reflinks: byte copies; btrfs or XFS would say reflinked
	jqe '.restore.filestore.copied == 3 and .restore.filestore.linked == 0
		and (.restore.filestore.reflinked | type == "number")'
}

@test "restore --filestore-link: NEW's files are DB's (one inode each), and the document says linked" {
	pg_dump -Fc --no-owner -f src.dump src
	run --separate-stderr ucall "upgrade restore src.dump --database arch_link --filestore-from src --filestore-link --data-dir '$ODOO' -c"
	expect_status 0
	jqe '.restore.filestore.copied == 3 and .restore.filestore.linked == 3 and .restore.filestore.reflinked == 0'
	linked_to_src arch_link
	# without --filestore-from there is nothing to link
	run --separate-stderr ucall "upgrade restore src.dump --database arch_link2 --filestore-link"
	expect_status 2
	expect_reason CLIENT:USAGE
	stderr_has '--filestore-from'
}

@test "run --database --filestore-link: the restored filestore is hard-linked to DB's; the help says they share files" {
	run --separate-stderr ucall "upgrade run --database src --restore-as arch_run --filestore-link --data-dir '$ODOO' \
		--cacert '$CA' --contract M123-abc --email t@example.com --target 17.0 --aim test --interval 0.1 -c"
	expect_status 0
	jqe '.restore.database == "arch_run" and .restore.filestore.linked == 3'
	linked_to_src arch_run
	run --separate-stderr ubash 'upgrade help run; upgrade help restore'
	expect_status 0
	[[ $(grep -c -- '--filestore-link' <<<"$output") -ge 2 && $output == *share* ]] || { show; false; }
}
