#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-3.0-or-later
# The rpc dialect's subcommands (issue 17, item 2) through the platform's
# interface: create (with a key of its own or --identity), process, status
# at the node, wait [--log], log [--from] [--follow], wipe; each hostile
# answer; the token kept secret; the dialect chosen by --api,
# $UPGRADE_API or the URL.

load helpers

setup_file() {
	start_emulator
	harness_ssh_keygen "$BATS_FILE_TMPDIR/key" >/dev/null
	# the platform's front at the emulator's root; the node it assigns is
	# https://localhost, port 443, which --connect-to brings to the emulator
	export RPC_URL=https://localhost:$EMULATOR_PORT
	export UPGRADE_CONNECT_TO=localhost:443:127.0.0.1:$EMULATOR_PORT
	export KEY=$BATS_FILE_TMPDIR/key
	# every call of this file speaks rpc by its URL, with the test CA
	export R='--url "$RPC_URL" --cacert "$CA"'
	export CREATE='upgrade create --url "$RPC_URL" --cacert "$CA" --contract M1234-abcd --target 17.0 --aim test'
}

setup() {
	cd "$BATS_TEST_TMPDIR"
	emulator_reset stats
	emulator_curl /_emulator/rpc -H 'Content-Type: application/json' \
		-d '{"pending_seconds": 0, "progress_seconds": 0, "compatible": true, "host": "localhost"}' -o /dev/null
	export XDG_STATE_HOME=$BATS_TEST_TMPDIR/state
}

# new_token: a request created with the test key, as the platform's script
# creates it; prints its token.
new_token() {
	rpc_call create "$(jq -cn --rawfile k "$KEY.pub" \
		'{contract: "M1234-abcd", target: "17.0", aim: "test", actuator: "cli",
		  env_vars: [], ssh_key: $k, api_version: "0.2"}')" | jq -er .result.token
}

# rpc_request TOKEN: the emulator's view of that request.
rpc_request() {
	emulator_curl /_emulator/rpc | jq -e --arg t "$1" '.requests[] | select(.token == $t)'
}

# uploaded TOKEN: a dump in the request's /data, as an upload leaves it.
uploaded() {
	local dir
	dir=$(rpc_request "$1" | jq -er .data_dir) || return 1
	printf 'CREATE TABLE t (a int);\n' >"$dir/origin.sql"
}

# rpc_state TOKEN STATE [REASON]
rpc_state() {
	emulator_curl /_emulator/rpc_state -H 'Content-Type: application/json' \
		-d "$(jq -cn --arg t "$1" --arg s "$2" --arg r "${3-}" \
			'{token: $t, state: $s} + (if $r == "" then {} else {reason: $r} end)')" -o /dev/null
}

# rpc_log TOKEN B64: append those bytes to the request's log.
rpc_log() {
	emulator_curl /_emulator/rpc_log -H 'Content-Type: application/json' \
		-d "$(jq -cn --arg t "$1" --arg b "$2" '{token: $t, b64: $b}')" -o /dev/null
}

b64() { printf "$1" | base64 -w0; }

# ------------------------------------------------------------------ create

@test "create --identity: exit 0, the token, the node and the key's path; UPGRADE_TOKEN, UPGRADE_HOST, UPGRADE_IDENTITY set, the token unexported" {
	run --separate-stderr ucall "$CREATE --identity \"\$KEY\" --env UPG_AUTOINSTALL=none -v doc
		echo \"\$doc\"
		declare -p UPGRADE_TOKEN UPGRADE_HOST UPGRADE_IDENTITY >&2
		env | grep -c '^UPGRADE_TOKEN=' >&2 || :"
	expect_status 0
	alive
	jqe --arg k "$KEY" '.failures == [] and (.request.token | test("^[A-Za-z0-9_-]+$"))
		and .request.assigned_host_uri == "localhost" and .request.identity == $k'
	token=$(jq -r .request.token <<<"$output")
	stderr_has "declare -- UPGRADE_TOKEN=\"$token\""
	stderr_has 'declare -- UPGRADE_HOST="localhost"'
	stderr_has "declare -- UPGRADE_IDENTITY=\"$KEY\""
	[[ $stderr == *$'\n0\n'* ]] || { show; false; }
	# what the platform got: the public key, the variable, the api version
	rpc_request "$token" | jq -e --rawfile k "$KEY.pub" '.ssh_key == ($k | rtrimstr("\n"))
		and .env_vars == ["UPG_AUTOINSTALL=none"] and .aim == "test" and .target == "17.0"' >/dev/null
}

@test "create under set -a, or with UPGRADE_TOKEN exported before: the token is still not exported" {
	run --separate-stderr ucall "export UPGRADE_TOKEN=old; set -a; $CREATE --identity \"\$KEY\" -q .request.token -r
		env | grep -c '^UPGRADE_TOKEN=' || :; env | grep -c '^UPGRADE_HOST=' || :"
	expect_status 0
	alive
	[[ ${lines[1]} == 0 && ${lines[2]} == 1 ]] || { show; false; }
}

@test "create without --identity: a key pair made for the request, 0600 in a private 0700 directory under XDG_STATE_HOME" {
	run --separate-stderr ucall "$CREATE -q .request.identity -r; echo \"\$UPGRADE_IDENTITY\""
	expect_status 0
	alive
	key=${lines[0]}
	[[ ${lines[1]} == "$key" && $key == "$XDG_STATE_HOME"/upgrade/keys/*/id_ed25519 ]] || { show; false; }
	[[ $(file_mode "$key") == 600 && $(file_mode "$(dirname "$key")") == 700 ]] || { ls -la "$(dirname "$key")"; false; }
	[[ $(file_mode "$XDG_STATE_HOME/upgrade/keys") == 700 ]]
	ssh-keygen -l -f "$key.pub" | grep -q ED25519
	# the request is bound to that key: the platform got its public half
	run rpc_request "$(emulator_curl /_emulator/rpc | jq -r '.requests | to_entries | last | .value.token')"
	jq -e --rawfile k "$key.pub" '.ssh_key == ($k | rtrimstr("\n"))' <<<"$output" >/dev/null
}

@test "create without --identity: a keys directory others may write is refused (exit 2), nothing sent" {
	mkdir -p "$XDG_STATE_HOME/upgrade/keys"
	chmod 777 "$XDG_STATE_HOME/upgrade/keys"
	run --separate-stderr ucall "$CREATE"
	expect_status 2
	alive
	expect_reason CLIENT:FILE
	stderr_has 'chmod 700'
	[[ $(method_count rpc/create) == 0 ]]
}

@test "create refused by the platform (result.error): exit 1 SERVER:REFUSED, the key made for it removed, no variable set" {
	run --separate-stderr ucall "upgrade create $R --contract M1-unknown --target 17.0 --aim test
		rc=\$?; echo \"token=\${UPGRADE_TOKEN-unset}\" >&2; (exit \$rc)"
	expect_status 1
	alive
	expect_reason SERVER:REFUSED
	jqe '.failures[0].message == "Invalid contract"'
	stderr_has 'token=unset'
	[[ -z $(find "$XDG_STATE_HOME/upgrade/keys" -type f) ]] || { find "$XDG_STATE_HOME"; false; }
}

@test "create: --env and --env-file (comments and blank lines skipped) reach env_vars, in order" {
	printf '# a comment\nUPG_AUTOINSTALL=all\n\n  MAX_WORKER=2  \n' >env.txt
	run --separate-stderr ucall "$CREATE --identity \"\$KEY\" --env A=1 --env B=x=y --env-file env.txt -q .request.token -r"
	expect_status 0
	rpc_request "$output" | jq -e '.env_vars == ["A=1", "B=x=y", "UPG_AUTOINSTALL=all", "MAX_WORKER=2"]' >/dev/null
}

@test "create: a bad --env, an unreadable --env-file, an --aim other than test or production, an --email: exit 2, nothing sent" {
	run --separate-stderr ucall "$CREATE --identity \"\$KEY\" --env NOVALUE"
	expect_status 2
	alive
	expect_reason CLIENT:USAGE
	run --separate-stderr ucall "$CREATE --identity \"\$KEY\" --env-file missing.env"
	expect_status 2
	expect_reason CLIENT:FILE
	run --separate-stderr ucall "upgrade create $R --contract M1234-abcd --target 17.0 --aim staging --identity \"\$KEY\""
	expect_status 2
	stderr_has '--aim'
	run --separate-stderr ucall "$CREATE --email e@x"
	expect_status 2
	stderr_has 'only the v1 dialect'
	run --separate-stderr ucall "$CREATE --identity \"\$BATS_TEST_TMPDIR/nokey\""
	expect_status 2
	expect_reason CLIENT:FILE
	[[ $(method_count rpc/create) == 0 ]]
}

@test "create: an assigned_host_uri that is not a bare host: exit 3, no variable set, nothing raw on the terminal" {
	emulator_fault rpc/create set '"field": "assigned_host_uri", "value": "evil.example:22/x\u001b[2J"'
	run --separate-stderr ucall "$CREATE --identity \"\$KEY\"; rc=\$?; echo \"host=\${UPGRADE_HOST-unset}\" >&2; (exit \$rc)"
	expect_status 3
	alive
	expect_reason CLIENT:BAD_RESPONSE
	stderr_has 'host=unset'
	[[ $stderr != *$'\e'* ]] || { show; false; }
}

@test "create: an HTML page, HTTP 502, an Odoo error: exit 3, 3 and 1, never retried" {
	emulator_fault rpc/create html
	run --separate-stderr ucall "$CREATE --identity \"\$KEY\" --retry 2 --retry-delay 0.1"
	expect_status 3
	expect_reason CLIENT:BAD_RESPONSE
	emulator_fault rpc/create http '"status": 502'
	run --separate-stderr ucall "$CREATE --identity \"\$KEY\" --retry 2 --retry-delay 0.1"
	expect_status 3
	expect_reason CLIENT:HTTP
	[[ $(method_count rpc/create) == 2 ]]
	emulator_fault rpc/create odoo_error '"message": "Contract expired"'
	run --separate-stderr ucall "$CREATE --identity \"\$KEY\""
	expect_status 1
	expect_reason SERVER:ERROR
	jqe '.failures[0].message == "Contract expired"'
}

@test "the token never reaches stderr: create --verbose, jq's debug of create's own answer" {
	run --separate-stderr ucall "$CREATE --identity \"\$KEY\" --verbose -q 'debug | .request.token' -r"
	expect_status 0
	token=$output
	stderr_has 'upgrade/request/create'
	stderr_has '"assigned_host_uri"'
	stderr_lacks "$token"
}

@test "the token is in no process's argv while a call runs" {
	token=$(new_token)
	emulator_fault rpc/status slow '"delay": 3'
	UPGRADE_TOKEN=$token ucall 'upgrade status --url "$RPC_URL" --cacert "$CA"' >"$BATS_TEST_TMPDIR/out" 2>&1 &
	pid=$!
	wait_until 10 '[[ $(method_count rpc/status) -ge 1 ]]'
	found=$(grep -lF -- "$token" /proc/[0-9]*/cmdline 2>/dev/null || :)
	wait "$pid"
	[[ -z $found ]] || { echo "token in: $found"; false; }
	grep -q '"status":"new"' "$BATS_TEST_TMPDIR/out" || { cat "$BATS_TEST_TMPDIR/out"; false; }
}

# ----------------------------------------------------------------- process

@test "process: at the node create assigned, the document says whether PostgreSQL fits" {
	run --separate-stderr ucall "$CREATE --identity \"\$KEY\" -q .request.token -r"
	expect_status 0
	token=$output
	uploaded "$token"
	# the front is gone: process goes to https://localhost (the node), status too
	run --separate-stderr ucall "UPGRADE_TOKEN=$token UPGRADE_HOST=localhost
		upgrade process --url https://127.0.0.1:1 --cacert \"\$CA\"; upgrade status --url https://127.0.0.1:1 --cacert \"\$CA\" -q .request.status -r"
	expect_status 0
	alive
	[[ $(jq -c . <<<"${lines[0]}") == '{"failures":[],"request":{"is_pg_version_compatible":true}}' ]] || { show; false; }
	[[ ${lines[1]} == pending || ${lines[1]} == progress || ${lines[1]} == done ]] || { show; false; }
}

@test "process with --token alone: status at the front names the node; an incompatible PostgreSQL is a warning" {
	emulator_curl /_emulator/rpc -H 'Content-Type: application/json' -d '{"compatible": false}' -o /dev/null
	token=$(new_token)
	uploaded "$token"
	run --separate-stderr ucall "upgrade process $R --token $token"
	expect_status 0
	alive
	jqe '.request.is_pg_version_compatible == false'
	stderr_has 'PostgreSQL'
	[[ $(method_count rpc/status) == 1 && $(method_count rpc/process) == 1 ]]
}

@test "process: nothing uploaded (result.error) exit 1; Odoo error exit 1; HTML, 502, missing field exit 3" {
	token=$(new_token)
	run --separate-stderr ucall "upgrade process $R --token $token"
	expect_status 1
	alive
	expect_reason SERVER:REFUSED
	jqe '.failures[0].message | contains("not found")'
	uploaded "$token"
	emulator_fault rpc/process odoo_error '"message": "Access Denied"'
	run --separate-stderr ucall "upgrade process $R --token $token"
	expect_status 1
	expect_reason SERVER:ERROR
	emulator_fault rpc/process html
	run --separate-stderr ucall "upgrade process $R --token $token"
	expect_status 3
	expect_reason CLIENT:BAD_RESPONSE
	emulator_fault rpc/process http '"status": 503'
	run --separate-stderr ucall "upgrade process $R --token $token"
	expect_status 3
	expect_reason CLIENT:HTTP
	jqe '.failures[0].code == 503'
	emulator_fault rpc/process missing '"field": "is_pg_version_compatible"'
	run --separate-stderr ucall "upgrade process $R --token $token"
	expect_status 3
	expect_reason CLIENT:BAD_RESPONSE
	jqe '.failures[0].message | contains("is_pg_version_compatible")'
}

@test "an UPGRADE_HOST that is not a bare host: exit 2 CLIENT:USAGE, nothing sent" {
	token=$(new_token)
	run --separate-stderr ucall "UPGRADE_TOKEN=$token UPGRADE_HOST='evil.example/x'; upgrade process $R"
	expect_status 2
	alive
	expect_reason CLIENT:USAGE
	stderr_has 'UPGRADE_HOST'
	[[ $(method_count rpc/process) == 0 ]]
}

# -------------------------------------------------------------------- wait

@test "wait: polls the node until done, states on stderr, never the token" {
	emulator_curl /_emulator/rpc -H 'Content-Type: application/json' \
		-d '{"pending_seconds": 0.3, "progress_seconds": 0.3}' -o /dev/null
	token=$(new_token)
	uploaded "$token"
	run --separate-stderr ucall "UPGRADE_TOKEN=$token UPGRADE_HOST=localhost
		upgrade process $R >/dev/null && upgrade wait $R --interval 0.2"
	expect_status 0
	alive
	one_line
	jqe '.failures == [] and .request.status == "done"'
	stderr_has 'the request: '
	stderr_has '-> done'
	stderr_lacks "$token"
}

@test "wait without --interval under rpc: polls after 1, 2, then every 3 s: a 5 s job seen done within 6.9 s, in at most 4 polls" {
	# done about 5.3 s after process: polls at 0, 1, 3 and 6 s see it at 6;
	# 1, 2, 4 then 5 s would see it at 7, v1's 10 s pace at 10, and a steady
	# 1 s would poll 6 times or more
	emulator_curl /_emulator/rpc -H 'Content-Type: application/json' \
		-d '{"pending_seconds": 0.3, "progress_seconds": 5}' -o /dev/null
	token=$(new_token)
	uploaded "$token"
	run --separate-stderr ucall "UPGRADE_TOKEN=$token UPGRADE_HOST=localhost
		upgrade process $R >/dev/null && emulator_reset stats >/dev/null
		start=\$EPOCHREALTIME; upgrade wait $R; rc=\$?
		echo took=\$(awk -v a=\$start -v b=\$EPOCHREALTIME 'BEGIN {print b - a}') >&2; exit \$rc"
	expect_status 0
	jqe '.request.status == "done"'
	took=$(grep -o 'took=[0-9.]*' <<<"$stderr" | cut -d= -f2)
	less_than "$took" "$(scaled 6.9)"
	polls=$(emulator_stats | jq '.requests["rpc/status"] // 0')
	(( polls >= 3 && polls <= 4 )) || { echo "status polled $polls times" >&2; false; }
}

@test "wait: a request still new (nothing processed) exit 1 CLIENT:STATE; failed exit 1 with the reason" {
	token=$(new_token)
	run --separate-stderr ucall "upgrade wait $R --token $token --interval 0.2"
	expect_status 1
	alive
	expect_reason CLIENT:STATE
	jqe '.failures[0].value == "new"'
	rpc_state "$token" failed "no space left"
	run --separate-stderr ucall "upgrade wait $R --token $token --interval 0.2"
	expect_status 1
	expect_reason CLIENT:STATE
	jqe '.request.reason == "no space left" and .failures[0].value == "failed"'
}

@test "wait --log: the platform's new log lines on stderr, made printable" {
	token=$(new_token)
	rpc_log "$token" "$(b64 'step one\nstep two\n')"
	rpc_state "$token" progress
	emulator_fault rpc/logs hostile_log '"skip": 1'
	( sleep "$(scaled 1)"; rpc_state "$token" done ) &
	run --separate-stderr ucall "upgrade wait --log $R --token $token --interval 0.2"
	wait
	expect_status 0
	alive
	stderr_has 'log: step one'
	stderr_has 'log: step two'
	stderr_has 'not UTF-8'
	[[ $stderr != *$'\e'* && $stderr != *$'\a'* ]] || { show; false; }
	[[ $(grep -c 'log: step one' <<<"$stderr") == 1 ]] || { show; false; }
}

@test "wait --log under v1: exit 2, the v1 platform keeps no log" {
	run --separate-stderr ucall 'UPGRADE_REQUEST=1 UPGRADE_KEY=k upgrade wait --log'
	expect_status 2
	alive
	stderr_has 'no log'
}

# --------------------------------------------------------------------- log

@test "log: the log from byte 0 and from --from, offsets in bytes" {
	token=$(new_token)
	rpc_log "$token" "$(b64 'h\xc3\xa9llo\nworld\n')"
	run --separate-stderr ucall "upgrade log $R --token $token"
	expect_status 0
	alive
	one_line
	jqe '.failures == [] and .log.from == 0 and .log.next == 13 and .log.text == "héllo\nworld\n"'
	run --separate-stderr ucall "upgrade log $R --token $token --from 7 -q .log.text -r"
	expect_status 0
	[[ $output == world ]] || { show; false; }
	run --separate-stderr ucall "upgrade log $R --token $token --from 13 -c"
	expect_status 0
	jqe '.log == {"from": 13, "next": 13, "text": ""}'
}

@test "log: a UTF-8 sequence cut by the end of the log is left for the next read" {
	token=$(new_token)
	rpc_log "$token" "$(b64 'ab\xc3')"
	run --separate-stderr ucall "upgrade log $R --token $token -c"
	expect_status 0
	jqe '.log == {"from": 0, "next": 2, "text": "ab"}'
	rpc_log "$token" "$(b64 '\xa9\n')"
	run --separate-stderr ucall "upgrade log $R --token $token --from 2 -c"
	expect_status 0
	jqe '.log == {"from": 2, "next": 5, "text": "é\n"}'
}

@test "log: bytes that are not UTF-8 and terminal escapes come back escaped: valid JSON, nothing raw with -r" {
	token=$(new_token)
	emulator_fault rpc/logs hostile_log
	run --separate-stderr ucall "upgrade log $R --token $token -q .log.text -r"
	expect_status 0
	alive
	[[ $output == *'\xff\xfe not UTF-8'* && $output == *'\e]0;pwned'* ]] || { show; false; }
	[[ $output != *$'\e'* && $output != *$'\a'* && $output != *$'\r'* ]] || { show; false; }
}

@test "log: an HTML page exit 3 CLIENT:BAD_RESPONSE; HTTP 502 exit 3 CLIENT:HTTP; under v1 exit 2" {
	token=$(new_token)
	emulator_fault rpc/logs html
	run --separate-stderr ucall "upgrade log $R --token $token"
	expect_status 3
	alive
	expect_reason CLIENT:BAD_RESPONSE
	emulator_fault rpc/logs http '"status": 502'
	run --separate-stderr ucall "upgrade log $R --token $token"
	expect_status 3
	expect_reason CLIENT:HTTP
	run --separate-stderr ucall "upgrade log --api v1 --token $token"
	expect_status 2
	stderr_has 'only the rpc dialect'
}

@test "log --follow: lines on stderr until a final state; the document has the state and the text" {
	token=$(new_token)
	rpc_state "$token" progress
	rpc_log "$token" "$(b64 'first\n')"
	( sleep "$(scaled 1)"; rpc_log "$token" "$(b64 'second\nlast, no newline')"; sleep "$(scaled 0.5)"
	  rpc_state "$token" done ) &
	run --separate-stderr ucall "upgrade log --follow $R --token $token --interval 0.2"
	wait
	expect_status 0
	alive
	one_line
	jqe '.request.status == "done" and .log.from == 0 and (.log.text | startswith("first\nsecond\n"))
		and .log.next == (.log.text | utf8bytelength)'
	stderr_has 'log: first'
	stderr_has 'log: second'
	[[ $(grep -c 'log: first' <<<"$stderr") == 1 ]] || { show; false; }
	# the request ends with a line that has no newline: it is shown too
	token=$(new_token)
	rpc_log "$token" "$(b64 'x\ntail without newline')"
	rpc_state "$token" failed "broken"
	run --separate-stderr ucall "upgrade log --follow $R --token $token --interval 0.2 --from 2"
	expect_status 1
	expect_reason CLIENT:STATE
	jqe '.log == {"from": 2, "next": 22, "text": "tail without newline"} and .request.reason == "broken"'
	stderr_has 'log: tail without newline'
}

# -------------------------------------------------------------------- wipe

@test "wipe without --yes: exit 2 CLIENT:USAGE, nothing sent" {
	token=$(new_token)
	run --separate-stderr ucall "upgrade wipe $R --token $token --contract M1234-abcd"
	expect_status 2
	alive
	expect_reason CLIENT:USAGE
	stderr_has '--yes'
	[[ $(method_count rpc/wipe) == 0 ]]
}

@test "wipe --yes: the contract's requests wiped, archived after" {
	token=$(new_token)
	run --separate-stderr ucall "upgrade wipe $R --token $token --contract M1234-abcd --yes"
	expect_status 0
	alive
	one_line
	id=$(rpc_request "$token" | jq -r .request_id)
	jqe --argjson id "$id" '.failures == [] and (.wipe.wiped | index($id)) and .wipe.failed == []'
	run --separate-stderr ucall "upgrade status $R --token $token -q .request.archived"
	[[ $output == true ]] || { show; false; }
}

@test "wipe: a request the platform could not wipe exit 1 SERVER:WIPE; refused exit 1; missing field exit 3" {
	token=$(new_token)
	emulator_fault rpc/wipe set '"field": "failed", "value": [41]'
	run --separate-stderr ucall "upgrade wipe $R --token $token --contract M1234-abcd --yes"
	expect_status 1
	alive
	expect_reason SERVER:WIPE
	jqe '.wipe.failed == [41]'
	emulator_fault rpc/wipe result_error '"message": "Invalid contract"'
	run --separate-stderr ucall "upgrade wipe $R --token $token --contract M1234-abcd --yes"
	expect_status 1
	expect_reason SERVER:REFUSED
	emulator_fault rpc/wipe missing '"field": "wiped"'
	run --separate-stderr ucall "upgrade wipe $R --token $token --contract M1234-abcd --yes"
	expect_status 3
	expect_reason CLIENT:BAD_RESPONSE
}

# ---------------------------------------------------------------- dialects

@test "the dialect: the default URL is the platform's front and speaks rpc; UPGRADE_API and --api choose over the URL" {
	token=$(new_token)
	# no URL anywhere: https://upgrade.odoo.com, brought to the emulator
	run --separate-stderr ucall "unset UPGRADE_URL; upgrade status -k --token $token \
		--connect-to upgrade.odoo.com:443:127.0.0.1:$EMULATOR_PORT -q .request.status -r"
	expect_status 0
	alive
	[[ $output == new ]] || { show; false; }
	# a v1 URL, but UPGRADE_API=rpc: rpc, whose paths it does not serve
	run --separate-stderr ucall "UPGRADE_API=rpc upgrade status --token $token --cacert \"\$CA\""
	expect_status 3
	stderr_has 'upgrade/request/status'
	run --separate-stderr ucall "upgrade status --api rpc --token $token --cacert \"\$CA\""
	expect_status 3
	stderr_has 'upgrade/request/status'
	# an rpc URL, but --api v1: v1 (which names a request by id and key)
	run --separate-stderr ucall "unset UPGRADE_REQUEST UPGRADE_KEY; UPGRADE_API=rpc upgrade status --api v1 $R --token $token"
	expect_status 2
	stderr_has '--request'
	run --separate-stderr ucall "upgrade wipe --url \"\$UPGRADE_URL\" --contract M1 --yes"
	expect_status 2
	stderr_has 'only the rpc dialect'
}

@test "v1 unchanged: a /database/v1 URL speaks v1; create sets UPGRADE_REQUEST and UPGRADE_KEY" {
	[[ $UPGRADE_URL == */database/v1 ]]
	run --separate-stderr ucall 'upgrade create --cacert "$CA" --contract M123-abc --email a@b.c --target 17.0 --aim test \
		--filename db.dump >/dev/null; echo "$UPGRADE_REQUEST ${UPGRADE_KEY:+key}"; upgrade status --cacert "$CA" -q .request.state -r'
	expect_status 0
	alive
	[[ ${lines[0]} =~ ^[0-9]+\ key$ && ${lines[1]} == draft ]] || { show; false; }
	[[ $(method_count rpc/create) == 0 ]]
}
