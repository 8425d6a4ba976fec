#!/usr/bin/env bats
# Set once, run anywhere (issue 18, items 10-12): defaults from the
# environment, the contract read from the database, the `upgrade` command
# for timeout/xargs/cron, and a finished job found again.

load helpers
source "$E2E_DIR/../lib/pg.bash"

# PostgreSQL with an Odoo-shaped database "src" (data dir $ODOO), and the
# emulator.
setup_file() { pg_with_emulator_start; }
teardown_file() { pg_with_emulator_stop; }

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
	rm src.dump
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
