#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-3.0-or-later
# The programs the builtin starts (psql, pg_restore, pg_dump) die with the
# shell that started them, whatever killed it (SIGKILL here: no trap, no
# cleanup of ours runs), and the next try completes: a restore ends the
# dead run's sessions in its own temporary database, a dump replaces its
# own .part.  Issue 16, finding 12.

load helpers
source "$E2E_DIR/../lib/pg.bash"

# HOLD: while a database of this name exists, the slow dumps below wait
# (it lives in the shared catalog, so every database sees it).
HOLD=upg_hold_children

setup_file() {
	pg_start
	export ODOO=$BATS_FILE_TMPDIR/odoo
	pg_make_odoo src "$ODOO"
	local d=$BATS_FILE_TMPDIR
	pg_dump -Fc --no-owner -f "$d/src.dump" src
	# plain SQL: src's rows, then a wait inside the load's transaction
	{ pg_dump -Fp --no-owner src; hold_sql 'DO $$ BEGIN PERFORM public.wait_hold(); END $$;'; } >"$d/slow.sql"
	# custom: an index whose expression waits, built after the rows are in
	createdb -T template0 slowsrc
	pg_sql slowsrc "$(hold_sql '
		CREATE TABLE t (i int);
		INSERT INTO t SELECT generate_series(1, 100);
		CREATE INDEX t_held ON t ((public.wait_hold() + i));')"
	pg_dump -Fc --no-owner -f "$d/slow.dump" slowsrc
}

setup() {
	cd "$BATS_TEST_TMPDIR"
	createdb "$HOLD"
}

teardown() {
	# whatever the code under test left running (a failing run of this file)
	[[ -z ${SHELL_PID:-} ]] || kill -KILL -- "-$SHELL_PID" 2>/dev/null || true
	pg_sql postgres "DROP DATABASE IF EXISTS $HOLD WITH (FORCE)" >/dev/null || true
}

# hold_sql SQL: the function that waits while $HOLD exists, then SQL.
hold_sql() {
	cat <<EOF
CREATE FUNCTION public.wait_hold() RETURNS int LANGUAGE plpgsql IMMUTABLE AS \$f\$
BEGIN
	WHILE EXISTS (SELECT 1 FROM pg_catalog.pg_database WHERE datname = '$HOLD') LOOP
		PERFORM pg_catalog.pg_sleep(0.1);
	END LOOP;
	RETURN 0;
END \$f\$;
$1
EOF
}

# start_shell SCRIPT [ARG…]: SCRIPT in a builtin-loaded bash of its own
# session, in the background; SHELL_PID is that bash (it writes its own $$).
start_shell() {
	rm -f shell.pid
	setsid "$UBASH" "echo \$\$ >shell.pid; $1" "${@:2}" >shell.out 2>shell.err &
	wait_until 20 '[[ -s shell.pid ]]'
	SHELL_PID=$(<shell.pid)
}

# sessions_waiting DB: sessions of DB asleep in pg_sleep (the held load).
sessions_waiting() {
	pg_sql postgres "SELECT count(*) FROM pg_stat_activity WHERE datname = '$1' AND wait_event = 'PgSleep'"
}

# kill_shell_expect_children_gone: SIGKILL the shell alone (not its group),
# then none of its children (CHILDREN, recorded before) may live 2 s later.
kill_shell_expect_children_gone() {
	[[ -n $CHILDREN ]] || { echo "the shell had no child" >&2; return 1; }
	kill -KILL "$SHELL_PID"
	if ! wait_until 2 '[[ -z $(living $CHILDREN) ]]'; then
		echo "still running 2 s after the shell was killed:" >&2
		ps -o pid,ppid,args -p "$(living $CHILDREN | paste -sd,)" >&2
		return 1
	fi
}

@test "SIGKILL of the shell during a psql restore: psql is gone within 2 s; the next restore ends the dead run's session and completes (a live one is refused)" {
	start_shell 'upgrade restore "$1" --database kr_sql' "$BATS_FILE_TMPDIR/slow.sql"
	wait_until 30 '[[ $(sessions_waiting kr_sql__restoring) == 1 ]]'
	CHILDREN=$(pgrep -P "$SHELL_PID")
	# while its shell lives, the restore is not a leftover: refused, untouched
	run --separate-stderr ucall "upgrade restore '$BATS_FILE_TMPDIR/src.dump' --database kr_sql"
	expect_status 2
	expect_reason CLIENT:DATABASE
	stderr_has 'another restore into kr_sql'
	[[ $(sessions_waiting kr_sql__restoring) == 1 && -n $(living $CHILDREN) ]]
	kill_shell_expect_children_gone
	# the dead run's backend is still inside its load (the hold is kept)
	[[ $(sessions_waiting kr_sql__restoring) == 1 ]]
	run --separate-stderr ucall "upgrade restore '$BATS_FILE_TMPDIR/src.dump' --database kr_sql -c"
	expect_status 0
	jqe '.restore.database == "kr_sql"'
	stderr_has 'ending 1 session'
	[[ $(pg_sql kr_sql 'SELECT count(*) FROM res_partner') == 500 ]]
	! pg_db_exists kr_sql__restoring
	[[ $(pg_sql src 'SELECT count(*) FROM res_partner') == 500 ]]
	alive
}

@test "SIGKILL of the shell during a pg_restore: pg_restore is gone within 2 s; the next restore ends the dead run's session and completes" {
	start_shell 'upgrade restore "$1" --database kr_custom' "$BATS_FILE_TMPDIR/slow.dump"
	wait_until 30 '[[ $(sessions_waiting kr_custom__restoring) == 1 ]]'
	CHILDREN=$(pgrep -P "$SHELL_PID")
	kill_shell_expect_children_gone
	[[ $(sessions_waiting kr_custom__restoring) == 1 ]]
	run --separate-stderr ucall "upgrade restore '$BATS_FILE_TMPDIR/src.dump' --database kr_custom -c"
	expect_status 0
	stderr_has 'ending 1 session'
	[[ $(pg_sql kr_custom 'SELECT count(*) FROM res_partner') == 500 ]]
	! pg_db_exists kr_custom__restoring
	alive
}

@test "SIGKILL of the shell during a dump: pg_dump is gone within 2 s; the next dump replaces the leftover .part and completes" {
	# a session holding a lock on a table makes pg_dump wait
	PGAPPNAME=locker psql -X -q -d src -c 'BEGIN; LOCK TABLE res_partner IN ACCESS EXCLUSIVE MODE; SELECT pg_sleep(60)' \
		>/dev/null 2>&1 &
	local locker=$!
	# the lock held before the dump starts (else pg_dump may take its own
	# first, finish, and never wait)
	wait_until 30 '[[ $(pg_sql postgres "SELECT count(*) FROM pg_stat_activity
		WHERE application_name = '"'locker'"' AND wait_event = '"'PgSleep'"'") == 1 ]]'
	start_shell 'upgrade dump --database src -o kd.dump'
	wait_until 30 '[[ $(pg_sql postgres "SELECT count(*) FROM pg_stat_activity
		WHERE application_name = '"'pg_dump'"' AND wait_event_type = '"'Lock'"'") == 1 ]]'
	CHILDREN=$(pgrep -P "$SHELL_PID")
	kill_shell_expect_children_gone
	[[ -e kd.dump.part.meta && ! -e kd.dump ]]
	# what a dump killed later would have written (here pg_dump was still
	# waiting for its locks): the start of a dump
	head -c 4096 "$BATS_FILE_TMPDIR/src.dump" >>kd.dump.part
	pg_sql postgres "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'locker'" >/dev/null
	wait "$locker" 2>/dev/null || true
	run --separate-stderr ucall 'upgrade dump --database src -o kd.dump -c'
	expect_status 0
	jqe '.dump.file == "kd.dump"'
	[[ ! -e kd.dump.part && ! -e kd.dump.part.meta ]]
	pg_restore -l kd.dump | grep -q 'TABLE DATA public res_partner'
	[[ $(stat -c %s kd.dump) == $(jq .dump.bytes <<<"$output") ]]
	alive
}
