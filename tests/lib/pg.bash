# SPDX-License-Identifier: GPL-3.0-or-later
# shellcheck shell=bash
# A throw-away PostgreSQL for the dump/restore tests, and an Odoo-shaped
# database with its filestore.  Source after harness.bash.
#
#     pg_start                 # initdb + pg_ctl start in a temporary dir;
#                              # exports PGHOST (its socket dir), PGUSER,
#                              # PGPORT, PG_BIN, PG_DIR; makes the login role
#                              # upgrade_restore (no rights) and exports
#                              # UPGRADE_RESTORE_ROLE=upgrade_restore
#     pg_make_odoo DB DATA_DIR # tables and rows Odoo would have, and files
#                              # in DATA_DIR/filestore/DB
#     pg_make_evil DB F        # a database whose CHECK function, restored
#                              # anywhere else, makes a superuser and has
#                              # the server touch F
#     pg_hold_lock DB TABLE    # a session (application_name locker) holds
#                              # TABLE's lock: pg_dump waits; pg_release_lock
#     pg_stop                  # stop it and remove its directory
#
# The server listens only on a Unix socket in its own directory.  As root
# (CI) it runs as the `postgres` user the Debian package creates: initdb
# and postgres refuse root.  harness_stop also stops it (harness_track).

PG_LIB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

# _pg_as_owner CMD…: CMD as the cluster's owner.
_pg_as_owner() {
	if [[ $(id -u) == 0 ]]; then
		# from /: the caller's directory may be closed to postgres
		(cd / && runuser -u postgres -- "$@")
	else
		"$@"
	fi
}

# pg_bin_dir: the newest /usr/lib/postgresql/*/bin (initdb, pg_ctl are not on the PATH).
pg_bin_dir() {
	local d
	d=$(printf '%s\n' /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
	[[ -x $d/initdb ]] || { echo "pg.bash: no initdb under /usr/lib/postgresql/*/bin" >&2; return 1; }
	echo "$d"
}

pg_start() {
	harness_init || return 1
	PG_BIN=$(pg_bin_dir) || return 1
	PG_DIR=$(mktemp -d "${TMPDIR:-/tmp}/upgrade-pg.XXXXXX") || return 1
	chmod 755 "$PG_DIR"
	mkdir -p "$PG_DIR/data" "$PG_DIR/sock"
	[[ $(id -u) != 0 ]] || chown -R postgres: "$PG_DIR"
	_pg_as_owner "$PG_BIN/initdb" -D "$PG_DIR/data" --auth=trust -U postgres -E UTF8 --locale=C.UTF-8 \
		--no-sync >"$PG_DIR/initdb.log" 2>&1 || { cat "$PG_DIR/initdb.log" >&2; return 1; }
	# scram for the one role the password tests use, trust for the rest
	printf 'local all pwuser scram-sha-256\nlocal all all trust\n' >"$PG_DIR/data/pg_hba.conf"
	[[ $(id -u) != 0 ]] || chown postgres: "$PG_DIR/data/pg_hba.conf"
	_pg_as_owner "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -l "$PG_DIR/server.log" -w -t 60 \
		-o "-k $PG_DIR/sock -c listen_addresses='' -c fsync=off -c full_page_writes=off" start \
		>/dev/null || { cat "$PG_DIR/server.log" >&2; return 1; }
	harness_track postgres "$(head -n 1 "$PG_DIR/data/postmaster.pid")"
	export PGHOST=$PG_DIR/sock PGUSER=postgres PGPORT=5432 PG_BIN PG_DIR
	unset PGDATABASE PGPASSWORD PGSERVICE
	# the role restores load the platform's dump as (pgrole.h): no right of
	# its own, so that the control connection can stay the superuser
	pg_sql postgres "CREATE ROLE upgrade_restore LOGIN NOSUPERUSER NOCREATEROLE NOCREATEDB" >/dev/null \
		|| return 1
	export UPGRADE_RESTORE_ROLE=upgrade_restore
}

pg_stop() {
	[[ -n ${PG_DIR:-} && -d $PG_DIR ]] || return 0
	_pg_as_owner "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -m immediate -w stop >/dev/null 2>&1 || true
	rm -rf "$PG_DIR"
	unset PG_DIR
}

# pg_with_emulator_start [--sftp] / _stop: the set-up of a file that takes
# an Odoo-shaped database "src" (its data dir exported as ODOO) through the
# emulator (helpers.bash's start_emulator; with --sftp start_sshd_emulator:
# OpenSSH's sshd too, and the client's keys).
pg_with_emulator_start() {
	pg_start || return 1
	if [[ ${1:-} == --sftp ]]; then
		start_sshd_emulator || return 1
	else
		start_emulator || return 1
	fi
	pg_make_src
}

# pg_make_src: the Odoo-shaped database "src", its data dir exported as ODOO.
pg_make_src() {
	export ODOO=$BATS_FILE_TMPDIR/odoo
	pg_make_odoo src "$ODOO"
}

pg_with_emulator_stop() {
	pg_stop
	harness_stop
}

# The default set-up of a file that sources this one (after `load helpers`,
# whose default it replaces): the Odoo-shaped "src" and the emulator.  A file
# that needs more or less defines its own setup_file after sourcing; the
# teardown stops whatever it started.
setup_file() { pg_with_emulator_start; }
teardown_file() { pg_with_emulator_stop; }

# pg_sql DB SQL: run SQL in DB, unaligned tuples only (the value(s) printed).
pg_sql() {
	psql -X -q -A -t -v ON_ERROR_STOP=1 -d "$1" -c "$2"
}

# pg_db_exists NAME
pg_db_exists() {
	[[ $(pg_sql postgres "SELECT count(*) FROM pg_database WHERE datname = '$1'") == 1 ]]
}

# pg_no_db NAME: neither NAME nor its temporary database NAME__restoring exist.
pg_no_db() {
	if pg_db_exists "$1" || pg_db_exists "$1__restoring"; then
		echo "database $1 or $1__restoring exists" >&2
		pg_sql postgres 'SELECT datname FROM pg_database' >&2
		return 1
	fi
}

# pg_plant ROLE DB MARK: what another role with CREATEDB can do: ROLE
# (made if missing) creates DB, with a table planted (one row, 7), and sets
# its comment to MARK.
pg_plant() {
	pg_sql postgres "SELECT 1 FROM pg_roles WHERE rolname = '$1'" | grep -q 1 \
		|| pg_sql postgres "CREATE ROLE $1 LOGIN CREATEDB" >/dev/null || return 1
	PGUSER=$1 createdb -T template0 "$2" || return 1
	PGUSER=$1 pg_sql "$2" "CREATE TABLE planted (x int); INSERT INTO planted VALUES (7);
		COMMENT ON DATABASE \"$2\" IS '$3'" >/dev/null
}

# pg_make_odoo DB DATA_DIR: an Odoo-shaped database (modules, parameters,
# partners, attachments whose store_fname points into the filestore) and
# its filestore DATA_DIR/filestore/DB/<sha1[:2]>/<sha1>.
pg_make_odoo() {
	local db=$1 data=$2 i content sha dir
	createdb -T template0 -E UTF8 "$db" || return 1
	pg_sql "$db" "
		CREATE TABLE ir_module_module (id serial PRIMARY KEY, name varchar NOT NULL UNIQUE,
			latest_version varchar, state varchar);
		INSERT INTO ir_module_module (name, latest_version, state) VALUES
			('base', '15.0.1.3', 'installed'), ('web', '15.0.1.0', 'installed'),
			('sale', '15.0.1.2', 'installed'), ('stock', '15.0.1.1', 'uninstalled');
		CREATE TABLE ir_config_parameter (id serial PRIMARY KEY, key varchar UNIQUE, value text);
		INSERT INTO ir_config_parameter (key, value) VALUES
			('database.uuid', 'b2a8c1e0-0000-4000-8000-000000000001'),
			('web.base.url', 'http://localhost:8069');
		CREATE TABLE res_partner (id serial PRIMARY KEY, name varchar, email varchar);
		INSERT INTO res_partner (name, email)
			SELECT 'Partner ' || g, 'p' || g || '@example.com' FROM generate_series(1, 500) g;
		CREATE TABLE ir_attachment (id serial PRIMARY KEY, name varchar, store_fname varchar,
			checksum varchar, file_size int);" || return 1
	for i in 1 2 3; do
		content="attachment $i of $db"
		sha=$(printf '%s' "$content" | sha1sum | cut -c1-40)
		dir=$data/filestore/$db/${sha:0:2}
		mkdir -p "$dir"
		printf '%s' "$content" >"$dir/$sha"
		pg_sql "$db" "INSERT INTO ir_attachment (name, store_fname, checksum, file_size)
			VALUES ('file$i.txt', '${sha:0:2}/$sha', '$sha', ${#content})" || return 1
	done
}

# pg_make_evil DB F: a hostile database (what restore must contain): a
# CHECK constraint's function that, anywhere but in DB, runs a program on
# the server (touch F) and makes a superuser x_evil, for every row loaded.
pg_make_evil() {
	createdb -T template0 "$1" || return 1
	pg_sql "$1" "
		CREATE FUNCTION public.evil(int) RETURNS boolean LANGUAGE plpgsql AS \$\$
		BEGIN
			IF current_database() <> '$1' THEN
				EXECUTE format('COPY (SELECT 1) TO PROGRAM %L', 'touch $2');
				EXECUTE 'CREATE ROLE x_evil SUPERUSER LOGIN';
			END IF;
			RETURN true;
		END \$\$;
		CREATE TABLE t (x int CHECK (public.evil(x)));
		INSERT INTO t SELECT generate_series(1, 3);" >/dev/null
}

# pg_hold_lock DB TABLE: a background psql (application_name locker, its
# pid in LOCKER) holds an ACCESS EXCLUSIVE lock on TABLE for up to 60 s,
# granted when this returns: a pg_dump of DB then waits.  pg_release_lock
# ends it.
pg_hold_lock() {
	PGAPPNAME=locker psql -X -q -d "$1" -c "BEGIN; LOCK TABLE $2 IN ACCESS EXCLUSIVE MODE; SELECT pg_sleep(60)" \
		>/dev/null 2>&1 &
	LOCKER=$!
	until [[ $(pg_sql "$1" "SELECT count(*) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation
			WHERE c.relname = '$2' AND l.mode = 'AccessExclusiveLock' AND l.granted") == 1 ]]; do
		sleep 0.1
	done
}

pg_release_lock() {
	pg_sql postgres "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'locker'" >/dev/null
	wait "$LOCKER" 2>/dev/null || true
}

# pg_upgrade_sql DB: the "upgrade" a test applies in SQL: every module at
# 16.0, and a new attachment whose file is filestore/<new_store_fname>.
# Prints the SQL; sets NEW_STORE_FNAME and NEW_CONTENT.
pg_upgrade_sql() {
	NEW_CONTENT="attachment added by the upgrade"
	local sha
	sha=$(printf '%s' "$NEW_CONTENT" | sha1sum | cut -c1-40)
	NEW_STORE_FNAME=${sha:0:2}/$sha
	cat <<EOF
SELECT pg_catalog.set_config('search_path', 'public', false);
UPDATE ir_module_module SET latest_version = '16.0.1.0' WHERE state = 'installed';
INSERT INTO ir_attachment (name, store_fname, checksum, file_size)
	VALUES ('upgrade.txt', '$NEW_STORE_FNAME', '$sha', ${#NEW_CONTENT});
EOF
}

# make_zip OUT ENTRY=SOURCE…: a zip with each ENTRY holding the file SOURCE;
# ENTRY@=TARGET makes ENTRY a symlink to TARGET; ENTRY/ alone a directory.
make_zip() {
	"${PYTHON3:-python3}" "$PG_LIB_DIR/make_zip.py" "$@"
}

# zip_declare ZIP ENTRY SIZE: ENTRY of ZIP declares SIZE bytes, its data
# untouched (tests/lib/zip_declare.py).
zip_declare() {
	"${PYTHON3:-python3}" "$PG_LIB_DIR/zip_declare.py" "$@"
}
