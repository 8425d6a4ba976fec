#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-3.0-or-later
# Set once, run anywhere (issue 18, items 10-12): defaults from the
# environment, the contract read from the database, the `upgrade` command
# for timeout/xargs/cron, and a finished job found again.

load helpers
source "$E2E_DIR/../lib/pg.bash"

# PostgreSQL with an Odoo-shaped database "src" (data dir $ODOO), and the
# emulator: pg.bash's default setup_file.

setup() {
	cd "$BATS_TEST_TMPDIR"
	emulator_reset stats >/dev/null
	unset CURL_CA_BUNDLE SSL_CERT_FILE UPGRADE_CACERT UPGRADE_CONTRACT UPGRADE_EMAIL
}

CREATE_ARGS='--target 16.0 --aim test --filename db.dump'

# set_enterprise_code DB CODE: the code Odoo keeps in the database (none
# with an empty CODE).
set_enterprise_code() {
	pg_sql "$1" "DELETE FROM ir_config_parameter WHERE key = 'database.enterprise_code'" >/dev/null
	[[ -z $2 ]] || pg_sql "$1" "INSERT INTO ir_config_parameter (key, value)
		VALUES ('database.enterprise_code', \$\$$2\$\$)" >/dev/null
}

@test "env: UPGRADE_CONTRACT and UPGRADE_EMAIL stand in for --contract and --email; the command line wins" {
	run --separate-stderr ucall "UPGRADE_CONTRACT=M123-abc UPGRADE_EMAIL=t@example.com
		upgrade create --cacert \"\$CA\" $CREATE_ARGS"
	expect_status 0
	jqe '.request.id > 0 and .request.state == "draft"'
	[[ $(method_count create) == 1 ]]
	# the environment's contract is the one sent: the emulator knows no "unknown"
	run --separate-stderr ucall "UPGRADE_CONTRACT=M5-unknown UPGRADE_EMAIL=t@example.com
		upgrade create --cacert \"\$CA\" $CREATE_ARGS"
	expect_status 1
	stderr_has "Can not find contract M5-unknown"
	run --separate-stderr ucall "UPGRADE_CONTRACT=M5-unknown UPGRADE_EMAIL=nobody
		upgrade create --contract M123-abc --email t@example.com --cacert \"\$CA\" $CREATE_ARGS"
	expect_status 0
}

@test "env: UPGRADE_CACERT, the exported CURL_CA_BUNDLE or SSL_CERT_FILE are the CA when --cacert is not given" {
	local args="--contract M123-abc --email t@example.com $CREATE_ARGS -s"
	run ucall "UPGRADE_CACERT=\$CA upgrade create $args"
	expect_status 0
	run ucall "export CURL_CA_BUNDLE=\$CA; upgrade create $args"
	expect_status 0
	run ucall "export SSL_CERT_FILE=\$CA; upgrade create $args"
	expect_status 0
	# curl reads its variables from the environment: an unexported one is not
	run --separate-stderr ucall "CURL_CA_BUNDLE=\$CA; upgrade create $args"
	expect_status 5
	jqe '.failures[0].reason == "CLIENT:TLS"'
}

@test "env: the CA in curl's order: --cacert, UPGRADE_CACERT, CURL_CA_BUNDLE, SSL_CERT_FILE; a bad one is named" {
	local args="--contract M123-abc --email t@example.com $CREATE_ARGS"
	run --separate-stderr ucall "export CURL_CA_BUNDLE=/nonexistent/curl.pem SSL_CERT_FILE=\$CA
		UPGRADE_CACERT=/nonexistent/upgrade.pem; upgrade create $args"
	expect_status 2
	expect_reason CLIENT:FILE
	stderr_has '$UPGRADE_CACERT /nonexistent/upgrade.pem: cannot read it'
	run --separate-stderr ucall "export CURL_CA_BUNDLE=/nonexistent/curl.pem SSL_CERT_FILE=\$CA; upgrade create $args"
	expect_status 2
	stderr_has '$CURL_CA_BUNDLE /nonexistent/curl.pem: cannot read it'
	run ucall "export CURL_CA_BUNDLE=/nonexistent/curl.pem; UPGRADE_CACERT=/nonexistent/u.pem
		upgrade create --cacert \"\$CA\" $args"
	expect_status 0
	[[ $(method_count create) == 1 ]]
}

@test "run --database without --contract takes the database's enterprise code, and says so" {
	set_enterprise_code src M77-fromdb
	run --separate-stderr ucall "upgrade run --database src --no-restore --cacert \"\$CA\" --email t@example.com \
		--target 17.0 --aim test --interval 0.1"
	expect_status 0
	jqe '.failures == [] and .request.state == "done" and .dump.database == "src"'
	stderr_has "contract M77-fromdb: from database src"
	# the database's code is the one sent
	set_enterprise_code src M77-unknown
	rm src.dump upgraded_src.dump # run checks its output first
	run --separate-stderr ucall "upgrade run --database src --no-restore --new --cacert \"\$CA\" \
		--email t@example.com --target 17.0 --aim test --interval 0.1"
	expect_status 1
	stderr_has "Can not find contract M77-unknown"
}

@test "run --database refuses a missing or malformed enterprise code before it dumps or creates anything" {
	set_enterprise_code src ''
	local args="--database src --no-restore --cacert \"\$CA\" --email t@example.com --target 17.0 --aim test"
	run --separate-stderr ucall "upgrade run $args"
	expect_status 2
	expect_reason CLIENT:DATABASE
	stderr_has "has no database.enterprise_code: give --contract"
	set_enterprise_code src $'M1\e[2J&email=x'
	run --separate-stderr ucall "upgrade run $args"
	expect_status 2
	expect_reason CLIENT:USAGE
	stderr_has "is not a contract code"
	stderr_lacks $'\e[2J'
	[[ $(method_count create) == 0 ]]
	[[ ! -e src.dump && ! -e src.dump.upgrade.json ]]
	[[ $(pg_sql src "SELECT count(*) FROM res_partner") == 500 ]]
	set_enterprise_code src ''
}

# The command form from the build tree, with the plain module (the script
# is what is tested; an instrumented module would need its runtime preloaded).
TOP=$(cd "$E2E_DIR/../.." && pwd)
ucmd() { UPGRADE_SO=$TOP/.libs/upgrade.so "$TOP/bin/upgrade" "$@"; }

@test "command: under timeout and through xargs, the builtin's stdout, stderr and exit code" {
	[[ -x $TOP/bin/upgrade ]]
	done_request /dev/null
	run --separate-stderr ucall "upgrade status --cacert \"\$CA\" -c"
	expect_status 0
	local builtin_out=$output
	run --separate-stderr timeout 60 env UPGRADE_SO="$TOP/.libs/upgrade.so" "$TOP/bin/upgrade" status --cacert "$CA" -c
	expect_status 0
	[[ $output == "$builtin_out" ]]
	# a failure: the same document, the same line on stderr, the same code
	run --separate-stderr timeout 60 env UPGRADE_SO="$TOP/.libs/upgrade.so" "$TOP/bin/upgrade" status --cacert "$CA" \
		--request "$REQ" --key wrong -c
	expect_status 1
	jqe '.failures[0].reason | startswith("CLIENT:") | not'
	[[ -n $stderr ]]
	run --separate-stderr timeout 60 env UPGRADE_SO="$TOP/.libs/upgrade.so" "$TOP/bin/upgrade" stauts
	expect_status 2
	stderr_has "did you mean \`upgrade status\`"
	# xargs runs a command per line: one document each, 123 when one failed
	run --separate-stderr bash -c 'printf "%s\n" status bogus version |
		UPGRADE_SO=$1/.libs/upgrade.so xargs -n1 "$1/bin/upgrade" --cacert "$CA" -c' _ "$TOP"
	expect_status 123
	[[ ${#lines[@]} == 3 ]]
	[[ $(jq -r .request.state <<<"${lines[0]}") == done ]]
	[[ $(jq -r '.failures[0].reason' <<<"${lines[1]}") == CLIENT:USAGE ]]
	[[ $(jq -r .version.upgrade <<<"${lines[2]}") != null ]]
}

@test "command: a signal from timeout stops the call within a second, which says so; the process dies of it" {
	# bin/upgrade loads the plain module: an instrumented pass would only
	# wait its scaled seconds for the same run
	[[ ${UPGRADE_SANITIZE:-0} == 0 && ${UPGRADE_VALGRIND:-0} == 0 ]] ||
		skip "runs once, in the plain pass: the command loads the plain module"
	pending_request
	local t0=$EPOCHREALTIME
	run --separate-stderr timeout --preserve-status -s TERM "$(scaled 2)" \
		env UPGRADE_SO="$TOP/.libs/upgrade.so" "$TOP/bin/upgrade" wait --cacert "$CA" --interval 0.1 -c
	expect_status 143
	jqe '.failures[0].reason == "CLIENT:INTERRUPTED"'
	less_than "$(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { print b - a }')" "$(scaled 8)"
	run timeout -s INT "$(scaled 2)" env UPGRADE_SO="$TOP/.libs/upgrade.so" "$TOP/bin/upgrade" wait --cacert "$CA" \
		--interval 0.1 -c
	expect_status 124
}

@test "command: -v is refused (exit 2): the variable would die with the process" {
	run --separate-stderr ucmd version -v ver
	expect_status 2
	expect_reason CLIENT:USAGE
	stderr_has "load the builtin"
	# the builtin still takes it
	run ucall 'upgrade version -v ver -q .version.upgrade -r && echo "ver=$ver"'
	expect_status 0
	[[ $output == *ver=[0-9]* ]]
}

@test "command: make install puts bin/upgrade in \$(bindir), loading the installed module" {
	make -s -C "$TOP" install DESTDIR="$BATS_TEST_TMPDIR/root" >/dev/null
	cmd=$(find "$BATS_TEST_TMPDIR/root" -path '*/bin/upgrade' -type f -perm -u+x)
	mod=$(find "$BATS_TEST_TMPDIR/root" -path '*/lib/bash/upgrade' -type f)
	[[ -n $cmd && -n $mod ]]
	grep -qF "module=\${UPGRADE_SO:-${mod#"$BATS_TEST_TMPDIR/root"}}" "$cmd"
	# moved to where it would be installed, it runs
	run --separate-stderr env UPGRADE_SO="$mod" "$cmd" version -c
	expect_status 0
	jqe '.version.upgrade | length > 0'
}

# job_state RECORD: its state field.
job_state() { jq -r .state "$1"; }

@test "jobs: a finished run keeps its record, closed and 0600; upgrade jobs lists it, never the key" {
	dump_bytes 20000 >db.dump
	run --separate-stderr ucall "upgrade run $RUN_ARGS db.dump"
	expect_status 0
	local id key
	id=$(jq -r .request.id <<<"$output")
	[[ $(file_mode db.dump.upgrade.json) == 600 ]]
	[[ $(job_state db.dump.upgrade.json) == closed && $(jq -r .step db.dump.upgrade.json) == done ]]
	key=$(jq -r .key db.dump.upgrade.json)
	[[ ${#key} -gt 8 ]]
	run --separate-stderr ucall "upgrade jobs -c"
	expect_status 0
	jqe '.failures == [] and (.jobs | length) == 1 and .jobs[0].record == "db.dump.upgrade.json"
		and .jobs[0].dump == "db.dump" and .jobs[0].request == '"$id"' and .jobs[0].state == "closed"
		and .jobs[0].step == "done" and .jobs[0].platform == env.UPGRADE_URL
		and .jobs[0].output == "'"$PWD"'/upgraded_db.dump"
		and (.jobs[0].when | test("^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}Z$"))'
	[[ $output != *"$key"* ]]
}

@test "jobs: --continue on a closed job says it is finished (exit 2); a new run on the dump is not refused" {
	dump_bytes 20000 >db.dump
	run --separate-stderr ucall "upgrade run $RUN_ARGS -s db.dump"
	expect_status 0
	local first creates
	first=$(jq -r .request.id <<<"$output")
	creates=$(method_count create)
	run --separate-stderr ucall "upgrade run --continue db.dump --cacert \"\$CA\""
	expect_status 2
	expect_reason CLIENT:USAGE
	stderr_has "the job of db.dump is finished (request $first"
	[[ $(method_count create) == "$creates" ]]
	[[ $(job_state db.dump.upgrade.json) == closed ]]
	rm upgraded_db.dump
	run --separate-stderr ucall "upgrade run $RUN_ARGS db.dump"
	expect_status 0
	stderr_has "the finished job of request $first is replaced"
	[[ $(jq -r .request.id <<<"$output") != "$first" ]]
	[[ $(jq -r .request db.dump.upgrade.json) == $(jq -r .request.id <<<"$output") ]]
	[[ $(job_state db.dump.upgrade.json) == closed ]]
}

@test "jobs: a request that ends failed closes its job (kept, closed), and no --continue is offered" {
	dump_bytes 20000 >db.dump
	run --separate-stderr ucall "upgrade run $RUN_ARGS --filename fail.dump db.dump"
	expect_status 1
	[[ $(job_state db.dump.upgrade.json) == closed ]]
	[[ $(file_mode db.dump.upgrade.json) == 600 ]]
	stderr_lacks "to go on"
	[[ ! -e upgraded_db.dump ]]
}

@test "jobs DIR: another directory, an untrusted record listed with its error only, an unreadable DIR (2)" {
	mkdir -p jobs
	dump_bytes 20000 >jobs/a.dump
	run ucall "upgrade run $RUN_ARGS -s -o \"\$PWD/jobs/up_a.dump\" jobs/a.dump"
	expect_status 0
	printf '{"step": "created", "url": "https://evil.example", "output": "/tmp/x", "request": "9", "key": "k"}\n' \
		>jobs/b.dump.upgrade.json
	chmod 644 jobs/b.dump.upgrade.json
	run --separate-stderr ucall "upgrade jobs jobs -c"
	expect_status 0
	jqe '(.jobs | map(.dump)) == ["jobs/a.dump", "jobs/b.dump"] and .jobs[0].state == "closed"
		and (.jobs[1] | has("error") and has("platform") == false and has("request") == false)
		and (.jobs[1].error | test("mode 0644"))'
	run --separate-stderr ucall "upgrade jobs nosuchdir"
	expect_status 2
	expect_reason CLIENT:FILE
	run --separate-stderr ucall "upgrade jobs a b"
	expect_status 2
	expect_reason CLIENT:USAGE
}

@test "notes: run fetches the upgrade notes beside the upgraded dump and names the file" {
	mkdir out
	dump_bytes 20000 >db.dump
	run --separate-stderr ucall "upgrade run $RUN_ARGS -c -o out/up.dump db.dump"
	expect_status 0
	local id
	id=$(jq -r .request.id <<<"$output")
	jqe '.notes == "'"$PWD"'/out/upgrade_notes_'"$id"'.html"'
	grep -q "Upgrade notes for request $id" "out/upgrade_notes_$id.html"
	[[ $(file_mode "out/upgrade_notes_$id.html") == 600 ]]
}

@test "notes: notes that cannot be fetched are a notice, not a failed job" {
	dump_bytes 20000 >db.dump
	emulator_fault download http404 '"skip": 1, "count": 5' >/dev/null
	run --separate-stderr ucall "upgrade run $RUN_ARGS -c db.dump"
	expect_status 0
	jqe '.failures == [] and has("notes") == false and .transfer.file == "'"$PWD"'/upgraded_db.dump"'
	stderr_has "the upgrade notes could not be fetched"
	stderr_has "upgrade download --what notes"
	[[ $(job_state db.dump.upgrade.json) == closed ]]
	! ls upgrade_notes_* 2>/dev/null
}
