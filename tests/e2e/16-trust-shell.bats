#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-3.0-or-later
# Trust at the shell's edge: jq's builtins that talk to the outside run in
# a live shell; no key reaches stderr, whoever learnt it; server text
# reaches the terminal escaped and cut (stdout stays exact); numbers are
# read and written the C way whatever the shell's LC_NUMERIC.
load helpers

setup_file() {
	start_with_done_request
	hostile_start
}

setup() {
	cd "$BATS_TEST_TMPDIR"
	emulator_reset >/dev/null
	use_done_request
}

CREATE_ARGS='--contract M123-abc --email t@example.com --target 16.0 --aim test --filename db.dump'
# On the hostile server (its rules come from hostile_script).
HOSTILE='--cacert "$CA" --url "$HOSTILE_URL/database/v1"'

# stderr_raw_free: no ESC, BEL nor CR byte on the last run's stderr.
stderr_raw_free() {
	if [[ $stderr == *$'\e'* || $stderr == *$'\a'* || $stderr == *$'\r'* ]]; then
		echo "stderr holds a raw control character" >&2
		show
		return 1
	fi
}

# jq_failed TEXT: nothing on stdout for the failed program (not the
# document either), and stderr says "upgrade: CLIENT:JQ: jq: error: TEXT"
# (TEXT escaped as every stderr line).
jq_failed() {
	[[ -z $output ]] || { echo "stdout holds something for the failed input" >&2; show; return 1; }
	stderr_has "upgrade: CLIENT:JQ: jq: error: $1"
}

# answer PATH BODY-JSON [HEADERS-JSON]: a script rule answering 200 with
# BODY-JSON (a JSON value, sent as its text) on POST .../PATH.
answer() {
	jq -cn --arg p "/$1\$" --argjson b "$2" --argjson h "${3:-[]}" \
		'{method: "POST", path: $p, status: 200, headers: $h, body: ($b | tojson)}'
}

# script RULE...: the hostile server answers with these rules, in order.
script() { hostile_script "$(jq -cs '{rules: .}' <<<"$*")"; }

# ------------------------------------------------------ jq's outside world

@test "jq debug: the shell survives and debug prints [\"DEBUG:\",value] on stderr" {
	run --separate-stderr ucall 'upgrade status --cacert "$CA" -c -q "debug | .request.state"'
	expect_status 0
	alive
	[[ $output == '"done"' ]] || { show; false; }
	stderr_has '["DEBUG:",{'
}

@test "jq debug: its line is redacted and escaped like every stderr line" {
	run --separate-stderr ucall 'upgrade status --cacert "$CA" -q "$1"' '[$ENV.UPGRADE_KEY, "\u009b2J"] | debug | length'
	expect_status 0
	alive
	[[ $output == 2 ]] || { show; false; }
	stderr_has '["DEBUG:",["***","\x9b2J"]]'
	stderr_lacks "$KEY"
}

@test "jq input: fails with 'No more inputs' (exit 2, CLIENT:JQ), the shell survives" {
	run --separate-stderr ucall 'upgrade status --cacert "$CA" -q input'
	expect_status 2
	alive
	jq_failed 'No more inputs'
}

@test "jq inputs is empty, input_filename null, \$__loc__ the program's line" {
	run --separate-stderr ucall 'upgrade status --cacert "$CA" -c -q "$1"' '[inputs], input_filename, $__loc__'
	expect_status 0
	alive
	[[ $output == $'[]\nnull\n{"file":"<top-level>","line":1}' ]] || { show; false; }
}

@test "jq halt keeps the outputs so far (exit 0); halt_error is a CLIENT:JQ error, escaped on stderr" {
	run --separate-stderr ucall 'upgrade status --cacert "$CA" -q "1, halt, 2"'
	expect_status 0
	alive
	[[ $output == 1 ]] || { show; false; }
	run --separate-stderr ucall 'upgrade status --cacert "$CA" -q "$1"' '"bye\u001b[2J" | halt_error'
	expect_status 2
	alive
	jq_failed 'bye\e[2J'
	stderr_raw_free
}

@test "jq stderr prints compact JSON; env and \$ENV see the shell's exports" {
	run --separate-stderr ucall 'export FOO=bar; upgrade status --cacert "$CA" -q "$1"' '"x\u001b" | stderr | env.FOO, $ENV.FOO'
	expect_status 0
	alive
	[[ $output == $'"bar"\n"bar"' ]] || { show; false; }
	stderr_has '"x\u001b"'
	stderr_raw_free
}

@test "jq getpath on huge paths is null, and the shell survives" {
	run --separate-stderr ucall 'upgrade status --cacert "$CA" -c -q "$1"' \
		'[getpath(["nope", 1e18]), getpath(["a", 1e9, "b"]), (.failures | getpath([1e9])), (.failures | getpath([-1e18]))]'
	expect_status 0
	alive
	[[ $output == '[null,null,null,null]' ]] || { show; false; }
}

# ------------------------------------------------------------ the keys

@test "key: create then a run failing at process (HTTP 500) keeps the shell alive (no use after free)" {
	printf 'dump\n' >db.dump
	emulator_fault process http500 '{"count": 5}' >/dev/null
	run --separate-stderr ucall "upgrade create --cacert \"\$CA\" $CREATE_ARGS >/dev/null
		upgrade run --cacert \"\$CA\" $CREATE_ARGS db.dump"
	expect_status 3
	alive
	jqe '.step == "process" and .failures[0].reason == "CLIENT:HTTP"'
}

@test "key: create -q error() with UPGRADE_KEY set cuts the old and the new key out of stderr" {
	run --separate-stderr ucall "export OLD=old+secret/KEY=; UPGRADE_KEY=\$OLD
		upgrade create --cacert \"\$CA\" $CREATE_ARGS -q \"\$1\"
		__rc=\$?; echo \"key=\$UPGRADE_KEY\" >&2; (exit \$__rc)" 'error("old \($ENV.OLD) new \(.request.key)")'
	expect_status 2
	alive
	jq_failed 'old *** new ***'
	stderr_lacks 'old+secret'
	local new=${stderr##*key=}
	new=${new%%$'\n'*}
	[[ -n $new && $new != old+secret/KEY= ]] || { show; false; }
	stderr_lacks "new $new"
}

# script_run_failing_upload: create answers request 41 with key Ab+cd/EF==;
# upload and status fail with a message that quotes the key raw and
# percent-encoded in both cases.
script_run_failing_upload() {
	local failed='{"failures": [{"reason": "SERVER:BAD_KEY",
		"message": "bad key {key}, Ab%2Bcd%2FEF%3D%3D, Ab%2bcd%2fEF%3d%3d"}]}'
	script "$(answer create '{"failures": [], "request": {"id": 41, "key": "Ab+cd/EF=="}}')" \
		"$(answer upload "$failed")" "$(answer status "$failed")"
}

@test "key: run never prints the job's key (the one create returned, then the job record's) on stderr" {
	printf 'dump\n' >db.dump
	script_run_failing_upload
	unset UPGRADE_KEY UPGRADE_REQUEST
	run --separate-stderr ucall "upgrade run $HOSTILE $CREATE_ARGS db.dump"
	expect_status 1
	alive
	jqe '.step == "upload" and .request.key == "Ab+cd/EF==" and (.failures[0].message | startswith("bad key Ab+cd/EF==,"))'
	stderr_has 'bad key ***, ***, ***'
	stderr_lacks 'Ab+cd'
	stderr_lacks 'Ab%2'
	[[ -f db.dump.upgrade.json ]]
	run --separate-stderr ucall 'upgrade run --continue --cacert "$CA" db.dump'
	expect_status 1
	alive
	jqe '.step == "status"'
	stderr_has 'bad key ***, ***, ***'
	stderr_lacks 'Ab+cd'
	stderr_lacks 'Ab%2'
}

@test "key: --verbose cuts the key out of headers that encode it in lower-case hex" {
	script "$(answer status '{"failures": [], "request": {"id": 41, "state": "done"}}' \
		'[["X-Echo", "Ab%2bcd%2fEF%3d%3d"], ["X-Upper", "Ab%2Bcd%2FEF%3D%3D"]]')"
	run --separate-stderr ucall "upgrade status $HOSTILE --verbose --request 41 --key Ab+cd/EF=="
	expect_status 0
	alive
	stderr_has '< X-Echo: ***'
	stderr_has '< X-Upper: ***'
	stderr_lacks 'Ab%2'
	stderr_lacks 'Ab+cd'
}

# ----------------------------------------------------------- server text

@test "server text: a failure's reason and message reach stderr escaped, stdout exact" {
	script "$(answer status '{"failures": [{"reason": "SERVER:\u001b]0;pwned\u0007",
		"message": "no\r\nupgrade: request done\u001b[2J\u009b\u202e"}]}')"
	run --separate-stderr ucall "upgrade status $HOSTILE --request 41 --key some-long-key -c"
	expect_status 1
	alive
	jqe '.failures[0].reason == "SERVER:\u001b]0;pwned\u0007" and
		.failures[0].message == "no\r\nupgrade: request done\u001b[2J\u009b\u202e"'
	stderr_has 'upgrade: SERVER:\e]0;pwned\a: no\r\nupgrade: request done\e[2J\x9b\u202e'
	stderr_raw_free
	if grep -q '^upgrade: request done' <<<"$stderr"; then show; false; fi
}

@test "server text: wait's state names are escaped, in notices and in the status line" {
	local odd='{"failures": [], "request": {"id": 41, "state": "pro\u001b]0;x\u0007gress"}}'
	local done='{"failures": [], "request": {"id": 41, "state": "done"}}'
	script "$(answer status "$odd" | jq -c '. + {times: 2}')" "$(answer status "$done")"
	run --separate-stderr ucall "upgrade wait $HOSTILE --request 41 --key some-long-key --interval 0.1"
	expect_status 0
	alive
	stderr_has 'request 41: pro\e]0;x\agress'
	stderr_raw_free
	script "$(answer status "$odd" | jq -c '. + {times: 2}')" "$(answer status "$done")"
	run --separate-stderr ucall "upgrade wait $HOSTILE --request 41 --key some-long-key --interval 0.1 --progress"
	expect_status 0
	alive
	stderr_lacks $'\a'
	stderr_lacks $'\e]'
}

@test "server text: an 8 MiB failure message is cut on stderr and whole on stdout" {
	jq -cn '{rules: [{method: "POST", path: "/status$", status: 200,
		body: ({failures: [{reason: "SERVER:HUGE", message: ("x" * 8388608)}]} | tojson)}]}' >script.json
	hostile_curl /_hostile/reset -X POST -o /dev/null
	hostile_curl /_hostile/script -H 'Content-Type: application/json' --data-binary @script.json -o /dev/null
	run --separate-stderr ucall "upgrade status $HOSTILE --request 41 --key some-long-key -c >out.json"
	expect_status 1
	alive
	(( ${#stderr} < 4096 )) || { echo "stderr has ${#stderr} bytes"; false; }
	stderr_has 'more bytes)'
	[[ $(jq '.failures[0].message | length' out.json) == 8388608 ]]
}

# ----------------------------------------------------------------- locale

# german: run what follows with a German LC_NUMERIC (decimal comma).  The
# locale is compiled from the `locales` package's sources (.ci/packages):
# into the system's archive when root (CI), else into the file's directory
# with LOCPATH (where glibc's newlocale leaks a little: sanitizer runs
# want the first way).
german() {
	if ! locale -a 2>/dev/null | grep -qix 'de_DE.utf-\{0,1\}8'; then
		if [[ $EUID == 0 ]]; then
			localedef -i de_DE -f UTF-8 de_DE.UTF-8 2>/dev/null || true
		else
			local dir=$BATS_FILE_TMPDIR/locale
			[[ -d $dir/de_DE.UTF-8 ]] || { mkdir -p "$dir" && localedef -i de_DE -f UTF-8 "$dir/de_DE.UTF-8" 2>/dev/null; }
			export LOCPATH=$dir
		fi
	fi
	export LC_ALL=de_DE.UTF-8
	[[ $(bash -c 'printf "%.1f" 1') == 1,0 ]] # the test means something
}

@test "locale: seconds are read the C way under a German LC_NUMERIC (0.5, not 0,5)" {
	german
	run --separate-stderr ucall 'upgrade wait --cacert "$CA" --interval 0.5 --timeout 2.5 --max-time 2.5 -c -q .request.state'
	expect_status 0
	alive
	[[ $output == '"done"' ]] || { show; false; }
	run --separate-stderr ucall 'upgrade wait --cacert "$CA" --interval 0,5'
	expect_status 2
	expect_reason CLIENT:USAGE
}

@test "locale: a number id is stored as 1.5 and notices print 0.5 under a German LC_NUMERIC" {
	german
	script "$(answer create '{"failures": [], "request": {"id": 1.5, "key": "k"}}')" \
		"$(jq -cn '{method: "POST", path: "/status$", status: 503, times: 1, body: "busy"}')" \
		"$(answer status '{"failures": [], "request": {"id": 1.5, "state": "pending"}}')"
	run --separate-stderr ucall "upgrade create $HOSTILE $CREATE_ARGS -c -q '.request.id, (\"2.5\" | tonumber)'
		echo \"req=\$UPGRADE_REQUEST\" >&2
		upgrade status $HOSTILE --retry 1 --retry-delay 0.5 -c -q .request.state >/dev/null
		upgrade wait $HOSTILE --interval 0.1 --timeout 0.5"
	expect_status 4
	alive
	[[ ${lines[0]} == 1.5 && ${lines[1]} == 2.5 ]] || { show; false; }
	stderr_has 'req=1.5'
	stderr_has 'retrying in 0.5 s'
	stderr_has 'no final state after 0.5 s'
}
