#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-3.0-or-later
# upgrade restore feeds the platform's plain SQL to psql in restricted mode
# (`\restrict KEY` of its own, issue 16): a hostile dump.sql or .sql file
# runs no command on this machine, reaches no other database, cannot turn
# ON_ERROR_STOP off; a psql without restricted mode is refused; and a load
# is reported done only when the database holds the tables the dump
# declares.  Against the real PostgreSQL of tests/lib/pg.bash.

load helpers
source "$E2E_DIR/../lib/pg.bash"

setup_file() {
	pg_start
	createdb victim
	pg_sql victim 'CREATE TABLE precious (x int); INSERT INTO precious VALUES (42)'
}

setup() {
	cd "$BATS_TEST_TMPDIR"
}

victim_intact() {
	[[ $(pg_sql victim 'SELECT x FROM precious') == 42 ]]
}

# sql_zip NAME: NAME.zip whose dump.sql is stdin.
sql_zip() {
	cat >"$1.sql"
	make_zip "$1.zip" dump.sql="$1.sql"
}

# refused FILE NEW: the restore of FILE into NEW stopped at a restricted
# command (exit 3), made nothing, and the victim is intact.
refused() {
	run --separate-stderr ucall "upgrade restore $1 --database $2"
	expect_status 3
	expect_reason CLIENT:DATABASE
	stderr_has 'backslash commands are restricted'
	pg_no_db "$2"
	victim_intact
	alive
}

@test "a dump.sql with \\! runs no command and the restore exits 3" {
	sql_zip bang <<-EOF
		CREATE TABLE t (x int);
		\\! touch $PWD/pwned
	EOF
	refused bang.zip rr_bang
	[[ ! -e pwned ]]
}

@test "a dump.sql with \\o |cmd and \\g |cmd runs no command" {
	sql_zip pipe_o <<-EOF
		\\o | touch $PWD/pwned_o
		SELECT 1;
	EOF
	refused pipe_o.zip rr_pipe_o
	sql_zip pipe_g <<-EOF
		SELECT 1 \\g | touch $PWD/pwned_g
	EOF
	refused pipe_g.zip rr_pipe_g
	[[ ! -e pwned_o && ! -e pwned_g ]]
}

@test "a .sql with \\copy ... to program runs no command" {
	cat >copy_prog.sql <<-EOF
		CREATE TABLE t (x int);
		\\copy (SELECT 1) TO PROGRAM 'touch $PWD/pwned'
	EOF
	refused copy_prog.sql rr_copy_prog
	[[ ! -e pwned ]]
}

@test "a dump.sql with \\i, \\w, \\o FILE or \\setenv is stopped there and writes no file" {
	echo 'CREATE TABLE included (x int);' >inc.sql
	local cmd i=0
	for cmd in "\\i $PWD/inc.sql" "\\w $PWD/written" "\\o $PWD/written" "\\setenv PAGER 'touch $PWD/written'"; do
		i=$((i + 1))
		printf 'CREATE TABLE t (x int);\n%s\nSELECT 1;\n' "$cmd" | sql_zip "cmd$i"
		refused "cmd$i.zip" "rr_cmd$i"
	done
	[[ ! -e written ]]
}

@test "a dump.sql with \\connect postgres then DROP DATABASE victim: victim survives, exit 3" {
	sql_zip connect <<-'EOF'
		CREATE TABLE t (x int);
		\connect postgres
		DROP DATABASE victim;
	EOF
	refused connect.zip rr_connect
	pg_db_exists victim
}

@test "a dump.sql with \\set ON_ERROR_STOP off then a failing statement: exit 3, NEW not created" {
	sql_zip nostop <<-'EOF'
		\set ON_ERROR_STOP off
		CREATE TABLE t (x int);
		INSERT INTO missing_table VALUES (1);
	EOF
	refused nostop.zip rr_nostop
}

@test "the \\unrestrict of a genuine pg_dump plain dump does not lift ours: a \\! after it runs nothing" {
	pg_dump -Fp --no-owner victim >victim.sql
	grep -q '^\\unrestrict ' victim.sql
	{ cat victim.sql; echo "\\! touch $PWD/pwned"; } | sql_zip after
	refused after.zip rr_after
	[[ ! -e pwned ]]
}

@test "a genuine pg_dump 15.20 plain dump with its own \\restrict/\\unrestrict restores fine, COPY rows byte-exact" {
	createdb rr_src
	# values that pg_dump writes as COPY rows starting with a backslash
	# (\\restrict abc, \\unrestrict abc, \N, \\.)
	pg_sql rr_src "CREATE TABLE odd (v text, id int PRIMARY KEY);
		INSERT INTO odd VALUES (E'\\\\restrict abc', 1), (E'\\\\unrestrict abc', 2), (NULL, 3),
			(E'\\\\.', 4), (E'tab\\there', 5), (E'line\\nbreak', 6);
		CREATE TABLE other (x int); INSERT INTO other SELECT generate_series(1, 1000)"
	pg_dump -Fp --no-owner rr_src >src.sql
	grep -q '^\\restrict ' src.sql
	grep -q '^\\\\restrict abc' src.sql
	sql_zip genuine <src.sql
	run --separate-stderr ucall 'upgrade restore genuine.zip --database rr_genuine'
	expect_status 0
	[[ $(pg_sql rr_genuine "SELECT string_agg(id || '=' || coalesce(md5(v), '-'), ',' ORDER BY id) FROM odd") == \
		$(pg_sql rr_src "SELECT string_agg(id || '=' || coalesce(md5(v), '-'), ',' ORDER BY id) FROM odd") ]]
	[[ $(pg_sql rr_genuine 'SELECT sum(x) FROM other') == 500500 ]]
	! pg_db_exists rr_genuine__restoring
}

@test "COPY rows that start with \\restrict-looking text survive byte-exact, the lines outside are dropped" {
	# raw rows as a hand-written dump may have them: COPY's text format
	# reads "\r" as a carriage return and "\u" as "u"
	sql_zip rows <<-'EOF'
		\restrict theirs
		CREATE TABLE r (v text);
		COPY r (v) FROM stdin;
		\restrict theirs
		\unrestrict theirs
		\.
		\unrestrict theirs
	EOF
	run --separate-stderr ucall 'upgrade restore rows.zip --database rr_rows'
	expect_status 0
	[[ $(pg_sql rr_rows "SELECT string_agg(md5(v), ',' ORDER BY v)
		FROM r") == $(pg_sql postgres "SELECT string_agg(md5(v), ',' ORDER BY v)
		FROM (VALUES (E'\\restrict theirs'), ('unrestrict theirs')) AS x(v)") ]]
}

@test "a load that commits fewer tables than declared (a ROLLBACK in the dump) exits 3, the temporary database dropped" {
	sql_zip rollback <<-'EOF'
		CREATE TABLE a (x int);
		CREATE TABLE b (x int);
		ROLLBACK;
	EOF
	run --separate-stderr ucall 'upgrade restore rollback.zip --database rr_rollback'
	expect_status 3
	expect_reason CLIENT:DATABASE
	stderr_has 'the load did not commit what the dump declares (0 of 2 tables)'
	pg_no_db rr_rollback
}

@test "a custom dump whose CHECK function drops a table during the load exits 3 (1 of 2 tables)" {
	createdb rr_csrc
	pg_sql rr_csrc "CREATE TABLE a_gone (x int); INSERT INTO a_gone VALUES (1);
		CREATE FUNCTION public.dropper(int) RETURNS boolean LANGUAGE plpgsql AS
			\$\$ BEGIN IF current_database() <> 'rr_csrc' THEN EXECUTE 'DROP TABLE IF EXISTS public.a_gone';
			END IF; RETURN true; END \$\$;
		CREATE TABLE b_kept (x int CHECK (public.dropper(x))); INSERT INTO b_kept VALUES (1)"
	pg_dump -Fc --no-owner -f csrc.dump rr_csrc
	[[ $(pg_restore --list csrc.dump | grep -c ' TABLE public ') == 2 ]]
	run --separate-stderr ucall 'upgrade restore csrc.dump --database rr_custom'
	expect_status 3
	expect_reason CLIENT:DATABASE
	stderr_has '(1 of 2 tables)'
	pg_no_db rr_custom
}

@test "a psql without restricted mode: plain SQL refused before anything is made (exit 2, what to install)" {
	mkdir -p bin
	cat >bin/psql <<-'EOF'
		#!/bin/sh
		echo 'psql (PostgreSQL) 15.13 (Debian 15.13-0+deb12u1)'
		cat >/dev/null
	EOF
	chmod +x bin/psql
	echo 'CREATE TABLE t (x int);' | sql_zip old
	local f
	for f in old.zip old.sql; do
		run --separate-stderr ucall "PATH='$PWD/bin':\$PATH; upgrade restore $f --database rr_old --data-dir '$PWD/data'"
		expect_status 2
		expect_reason CLIENT:DATABASE
		stderr_has 'no restricted mode'
		stderr_has 'could run shell commands'
		stderr_has '15.14'
		pg_no_db rr_old
		[[ ! -e data ]]
	done
}
