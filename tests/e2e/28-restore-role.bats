#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-3.0-or-later
# restore loads the platform's dump as a confined role (issue 16): the dump
# is code, and only the loading role's rights contain it.  The control
# connection stays the superuser postgres; the load runs as
# upgrade_restore ($UPGRADE_RESTORE_ROLE, made by pg_start), which owns
# only NEW__restoring.  Hostile dumps -- a custom and a plain one made by a
# real pg_dump from a database whose CHECK function makes a superuser and
# runs COPY TO PROGRAM, a COMMIT that escapes psql's transaction -- fail
# and leave the cluster, its other databases and the server's files alone.

load helpers
source "$E2E_DIR/../lib/pg.bash"

setup_file() {
	pg_start
	# A CHECK constraint's function that, anywhere but in its own database,
	# runs a program on the server and makes a superuser, for every row
	# pg_restore or psql loads.  F is where the program would leave its mark.
	export F=$PG_DIR/program-ran
	pg_make_evil evil_src "$F"
	pg_dump -Fc --no-owner -f "$BATS_FILE_TMPDIR/evil.dump" evil_src
	pg_dump -Fp --no-owner -f "$BATS_FILE_TMPDIR/evil.sql" evil_src
	# a benign dump, and one that says who loaded it
	printf 'CREATE TABLE who AS SELECT current_user::text AS u;\n' >"$BATS_FILE_TMPDIR/who.sql"
	# the user's own database, owned by another role, that no restore may touch
	pg_sql postgres "CREATE ROLE victim_owner LOGIN" >/dev/null
	createdb -T template0 -O victim_owner victim
	pg_sql victim "CREATE TABLE precious (x int); INSERT INTO precious VALUES (42)" >/dev/null
}

setup() {
	cd "$BATS_TEST_TMPDIR"
}

# cluster_intact: no role or server file the hostile dumps try to make,
# the victim's rows, and postgres without a password.
cluster_intact() {
	[[ $(pg_sql postgres "SELECT count(*) FROM pg_roles WHERE rolname = 'x_evil'") == 0 ]] || return 1
	[[ ! -e $F ]] || { echo "the dump ran a program on the server" >&2; return 1; }
	[[ $(pg_sql victim 'SELECT x FROM precious') == 42 ]] || return 1
	[[ $(pg_sql postgres "SELECT rolpassword IS NULL FROM pg_authid WHERE rolname = 'postgres'") == t ]]
}

@test "a custom dump whose CHECK function makes a superuser and runs COPY TO PROGRAM fails as the confined role: no role, no program, no database" {
	run --separate-stderr ucall "upgrade restore '$BATS_FILE_TMPDIR/evil.dump' --database ev_custom"
	expect_status 3
	expect_reason CLIENT:DATABASE
	stderr_has 'pg_execute_server_program role to COPY to or from an external program'
	cluster_intact
	pg_no_db ev_custom
}

@test "a plain dump.sql of the same database fails as the confined role: no role, no program, no database" {
	run --separate-stderr ucall "upgrade restore '$BATS_FILE_TMPDIR/evil.sql' --database ev_plain"
	expect_status 3
	expect_reason CLIENT:DATABASE
	stderr_has 'pg_execute_server_program role to COPY to or from an external program'
	cluster_intact
	pg_no_db ev_plain
}

@test "a dump.sql that COMMITs out of psql's transaction then drops another role's database: the database survives" {
	printf 'CREATE TABLE t (x int);\nCOMMIT;\nDROP DATABASE victim;\n' >drop.sql
	run --separate-stderr ucall 'upgrade restore drop.sql --database ev_drop'
	expect_status 3
	expect_reason CLIENT:DATABASE
	stderr_has 'must be owner of database victim'
	cluster_intact
	pg_no_db ev_drop
}

@test "a dump.sql that makes a superuser or sets postgres's password is refused by the server: no role, the password stays unset" {
	printf "CREATE TABLE t (x int);\nALTER ROLE postgres PASSWORD 'taken';\n" >password.sql
	printf "CREATE TABLE t (x int);\nCREATE ROLE x_evil SUPERUSER LOGIN;\n" >superuser.sql
	run --separate-stderr ucall 'upgrade restore password.sql --database ev_pw'
	expect_status 3
	expect_reason CLIENT:DATABASE
	stderr_has 'must be superuser to alter superuser roles'
	run --separate-stderr ucall 'upgrade restore superuser.sql --database ev_pw'
	expect_status 3
	expect_reason CLIENT:DATABASE
	stderr_has 'must be superuser to create superusers'
	cluster_intact
	pg_no_db ev_pw
}

@test "the load runs as the restore role; the restored database and its tables then belong to the control role" {
	run --separate-stderr ucall "upgrade restore '$BATS_FILE_TMPDIR/who.sql' --database rr_who -c"
	expect_status 0
	jqe '.restore.role == "upgrade_restore" and .restore.trusted == false'
	[[ $(pg_sql rr_who 'SELECT u FROM who') == upgrade_restore ]]
	[[ $(pg_sql postgres "SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = 'rr_who'") == postgres ]]
	[[ $(pg_sql rr_who "SELECT tableowner FROM pg_tables WHERE tablename = 'who'") == postgres ]]
	[[ $(pg_sql postgres "SELECT count(*) FROM pg_database WHERE datdba = 'upgrade_restore'::regrole") == 0 ]]
	! pg_db_exists rr_who__restoring
}

@test "after the load the restore role keeps nothing: its grants revoked, the settings the dump gave the database reset" {
	cat >keep.sql <<'EOF'
CREATE TABLE t (x int);
GRANT CREATE ON SCHEMA public TO upgrade_restore;
DO $$ BEGIN EXECUTE format('ALTER DATABASE %I SET search_path = evil, public', current_database()); END $$;
EOF
	run --separate-stderr ucall 'upgrade restore keep.sql --database rr_keep -c'
	expect_status 0
	[[ $(pg_sql rr_keep "SELECT has_schema_privilege('upgrade_restore', 'public', 'CREATE')") == f ]]
	[[ $(pg_sql postgres "SELECT count(*) FROM pg_db_role_setting s JOIN pg_database d ON d.oid = s.setdatabase
		WHERE d.datname = 'rr_keep'") == 0 ]]
	[[ $(pg_sql rr_keep "SELECT tableowner FROM pg_tables WHERE tablename = 't'") == postgres ]]
}

@test "a dump that makes a SECURITY DEFINER function is refused before the hand-over: it would run with the control role's rights" {
	printf "CREATE FUNCTION public.pwn() RETURNS void LANGUAGE sql SECURITY DEFINER AS 'SELECT 1';\n" >definer.sql
	run --separate-stderr ucall 'upgrade restore definer.sql --database rr_def'
	expect_status 3
	expect_reason CLIENT:DATABASE
	stderr_has 'SECURITY DEFINER functions (public.pwn())'
	pg_no_db rr_def
}

@test "the superuser as load role is refused before anything is made: exit 2 naming --restore-role and --trust-dump" {
	run --separate-stderr ucall "unset UPGRADE_RESTORE_ROLE; upgrade restore '$BATS_FILE_TMPDIR/who.sql' --database rr_su"
	expect_status 2
	expect_reason CLIENT:DATABASE
	stderr_has 'role postgres is a superuser'
	stderr_has '--restore-role ROLE or UPGRADE_RESTORE_ROLE'
	stderr_has '--trust-dump'
	pg_no_db rr_su
	run --separate-stderr ucall "upgrade restore '$BATS_FILE_TMPDIR/who.sql' --database rr_su --restore-role postgres"
	expect_status 2
	stderr_has 'role postgres is a superuser'
	pg_no_db rr_su
}

@test "--trust-dump restores a benign dump as the superuser, and says so in a notice and the document" {
	run --separate-stderr ucall "unset UPGRADE_RESTORE_ROLE; upgrade restore '$BATS_FILE_TMPDIR/who.sql' --database rr_trust --trust-dump -c"
	expect_status 0
	stderr_has '--trust-dump: the dump runs with all the rights of role postgres'
	jqe '.restore.trusted == true and .restore.role == "postgres"'
	[[ $(pg_sql rr_trust 'SELECT u FROM who') == postgres ]]
	! pg_db_exists rr_trust__restoring
}

@test "a load role that owns a database, has CREATEROLE, may run server programs, or does not exist is refused before anything is made" {
	pg_sql postgres "CREATE ROLE r_owner LOGIN; CREATE ROLE r_cr LOGIN CREATEROLE; CREATE ROLE r_prog LOGIN;
		GRANT pg_execute_server_program TO r_prog; CREATE ROLE r_nologin" >/dev/null
	createdb -T template0 -O r_owner shop
	createdb -T template0 -O r_owner prod
	# each role, and what its refusal says
	local role
	local -A why=([r_owner]='role r_owner owns the databases prod, shop' [r_cr]='role r_cr has CREATEROLE'
		[r_prog]='through its membership of pg_execute_server_program'
		[r_nologin]='role r_nologin cannot log in' [r_missing]='role r_missing ')
	for role in r_owner r_cr r_prog r_nologin r_missing; do
		run --separate-stderr ucall "upgrade restore '$BATS_FILE_TMPDIR/who.sql' --database rr_bad --restore-role $role"
		expect_status 2
		expect_reason CLIENT:DATABASE
		stderr_has "role $role "
		stderr_has "${why[$role]}"
		pg_no_db rr_bad
	done
	# --trust-dump skips the rights, not this: the hand-over would give r_owner's databases away
	run --separate-stderr ucall "upgrade restore '$BATS_FILE_TMPDIR/who.sql' --database rr_bad --restore-role r_owner --trust-dump"
	expect_status 2
	stderr_has 'role r_owner owns the databases prod, shop'
	pg_no_db rr_bad
	[[ $(pg_sql postgres "SELECT string_agg(datname, ',' ORDER BY datname) FROM pg_database WHERE datdba = 'r_owner'::regrole") == prod,shop ]]
}

@test "a control role that is not a superuser (Odoo's own practice) is told the GRANT it needs; once granted, it owns NEW and its tables" {
	pg_sql postgres "CREATE ROLE odoo_ctl LOGIN CREATEDB" >/dev/null
	run --separate-stderr ucall "export PGUSER=odoo_ctl; upgrade restore '$BATS_FILE_TMPDIR/who.sql' --database rr_ctl"
	expect_status 2
	expect_reason CLIENT:DATABASE
	stderr_has 'GRANT upgrade_restore TO odoo_ctl'
	pg_no_db rr_ctl
	pg_sql postgres "GRANT upgrade_restore TO odoo_ctl" >/dev/null
	run --separate-stderr ucall "export PGUSER=odoo_ctl; upgrade restore '$BATS_FILE_TMPDIR/who.sql' --database rr_ctl -c"
	expect_status 0
	[[ $(pg_sql rr_ctl 'SELECT u FROM who') == upgrade_restore ]]
	[[ $(pg_sql postgres "SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = 'rr_ctl'") == odoo_ctl ]]
	[[ $(pg_sql rr_ctl "SELECT tableowner FROM pg_tables WHERE tablename = 'who'") == odoo_ctl ]]
	[[ -z $(pg_sql postgres "SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = 'rr_ctl'") ]]
}

@test "a marked leftover owned by the restore role (a killed restore's) is ours: dropped, and the restore redone as that role" {
	pg_sql postgres "CREATE DATABASE rr_left__restoring OWNER upgrade_restore" >/dev/null
	pg_sql postgres "COMMENT ON DATABASE rr_left__restoring IS 'upgrade restore: temporary database of rr_left'" >/dev/null
	run --separate-stderr ucall "upgrade restore '$BATS_FILE_TMPDIR/who.sql' --database rr_left -c"
	expect_status 0
	stderr_has 'dropping rr_left__restoring'
	jqe '.restore.role == "upgrade_restore"'
	[[ $(pg_sql rr_left 'SELECT u FROM who') == upgrade_restore ]]
	! pg_db_exists rr_left__restoring
}

@test "a temporary database with the mark planted by another role with CREATEDB is not this job's: refused, left as it was" {
	pg_plant planter rr_plant__restoring 'upgrade restore: temporary database of rr_plant'
	run --separate-stderr ucall "upgrade restore '$BATS_FILE_TMPDIR/who.sql' --database rr_plant"
	expect_status 2
	expect_reason CLIENT:DATABASE
	stderr_has 'rr_plant__restoring exists and is not this job'
	[[ $(pg_sql rr_plant__restoring 'SELECT x FROM planted') == 7 ]]
	! pg_db_exists rr_plant
}

@test "a database name that reads as a connection string is only a name: restored under that literal name, the database it names untouched" {
	createdb -T template0 named
	pg_sql named 'CREATE TABLE mine (x int); INSERT INTO mine VALUES (1)'
	local name='dbname=named application_name='
	run --separate-stderr ucall "upgrade restore '$BATS_FILE_TMPDIR/who.sql' --database '$name' -c"
	expect_status 0
	[[ $(pg_sql named "SELECT count(*) FROM pg_tables WHERE tablename = 'who'") == 0 ]]
	[[ $(pg_sql named 'SELECT x FROM mine') == 1 ]]
	[[ $(psql -X -A -t -d "dbname='$name'" -c 'SELECT u FROM who') == upgrade_restore ]]
}

@test "dump of a database whose name reads as a connection string dumps that database, not the one it names" {
	local name
	for name in 'dbname=victim application_name=' "dbname=victim application_name='x"; do
		createdb -T template0 "$name"
		psql -X -q -d "dbname='${name//\'/\\\'}'" -c 'CREATE TABLE literal (x int)'
		run --separate-stderr ucall "upgrade dump --database \"$name\" -o lit.dump --force -c"
		expect_status 0
		pg_restore -l lit.dump | grep -q 'TABLE public literal'
		! pg_restore -l lit.dump | grep -q 'precious'
	done
}
