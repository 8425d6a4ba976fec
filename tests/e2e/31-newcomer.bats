#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-3.0-or-later
# The first hour (issue 18, items 6-9): a meter that ends its line and fits
# the terminal, a run that says which step it is on, messages that say how
# to go on, and the small frictions of the command line.

load helpers

# Every test in its own directory, with a dump to hand.
setup() {
	cd "$BATS_TEST_TMPDIR"
	dump_bytes 300000 >db.dump
}

# a_dump [BYTES]: a random dump in the test's directory; prints its path.
a_dump() {
	dump_bytes "${1:-300000}" >"$BATS_TEST_TMPDIR/small.dump"
	echo "$BATS_TEST_TMPDIR/small.dump"
}

# meter_lines: the lines the last run drew in place (a meter, wait's
# line): its stderr cut at every redraw (\r) and newline, the segments that
# begin with the terminal's erase (ESC [K), the erase removed.
meter_lines() {
	tr '\r' '\n' <<<"$stderr" | grep -a $'^\e\[K' | sed 's/\x1b\[K//g'
}

# meter_ended LABEL: stderr has a meter labelled LABEL, and no stderr line
# holds that meter's text and the NEXT-LINE printed after the call.
meter_ended() {
	stderr_has "$1" || return 1
	if grep -a "$1" <<<"$stderr" | grep -aq 'NEXT-LINE'; then
		echo "the meter's line runs into the next message" >&2
		show
		return 1
	fi
	grep -aqx 'upgrade: NEXT-LINE' <<<"$stderr" || { show; return 1; }
}

@test "meter: the upload's meter ends its line before anything else is printed" {
	api_create
	local f
	f=$(a_dump)
	run --separate-stderr ucall 'upgrade upload --progress --cacert "$CA" "$1"; echo "upgrade: NEXT-LINE" >&2' "$f"
	expect_status 0
	alive
	meter_ended "uploading small.dump"
}

@test "meter: the download's meter ends its line before anything else is printed" {
	local f
	f=$(a_dump 400000)
	done_request "$f"
	local out=$BATS_TEST_TMPDIR/out.dump
	run --separate-stderr ucall 'upgrade download --progress --cacert "$CA" -o "$1"; echo "upgrade: NEXT-LINE" >&2' "$out"
	expect_status 0
	alive
	meter_ended "downloading out.dump"
}

@test "meter: with COLUMNS=40 no meter line is wider than 40 columns" {
	api_create
	local f
	f=$(a_dump)
	run --separate-stderr ucall 'COLUMNS=40; upgrade upload --progress --cacert "$CA" "$1"' "$f"
	expect_status 0
	alive
	stderr_has "uploading"
	local wide
	wide=$(meter_lines | awk 'length($0) > 40')
	if [[ -n $wide ]]; then
		printf 'lines wider than 40 columns:\n%s\n' "$wide" >&2
		show
		return 1
	fi
	# and a meter there says what moves and how far
	meter_lines | grep -aq '^upgrade: uploading small.dump .*%' || { show; return 1; }
}

@test "run: one line per step on stderr, in order, and 'done' with each step's time" {
	run --separate-stderr ucall "upgrade run $RUN_ARGS db.dump"
	expect_status 0
	alive
	local req
	req=$(jq -r .request.id <<<"$output")
	# each step's line, in the order the steps ran
	local steps
	steps=$(grep -aoE "^upgrade: (created request $req|uploading db.dump \(293.0 KiB\)|processing|waiting|downloading|done in)" <<<"$stderr" |
		sed 's/^upgrade: //; s/ .*//' | tr '\n' ' ')
	[[ $steps == "created uploading processing waiting downloading done " ]] || { echo "steps: $steps" >&2; show; return 1; }
	grep -aqE '^upgrade: done in [0-9.]+ s: create [0-9.]+ s, upload [0-9.]+ s, process [0-9.]+ s, wait [0-9.]+ s, download [0-9.]+ s$' <<<"$stderr" || { show; return 1; }
	[ -s upgraded_db.dump ]
}

@test "run --progress: the upload's and the download's meters end before the next step's line" {
	run --separate-stderr ucall "COLUMNS=40; upgrade run $RUN_ARGS --progress db.dump"
	expect_status 0
	stderr_has "upgrade: uploading db.dump  "
	stderr_has "upgrade: downloading upgraded_db" # cut to fit 40 columns
	# a meter line (it has a percentage) never carries a step's line after it
	if grep -a '%' <<<"$stderr" | grep -aqE 'upgrade: (processing|waiting|downloading the|done in|request )'; then
		echo "a step's line is glued to a meter" >&2
		show
		return 1
	fi
	# the lines redrawn in place (meters, wait's line) fit; notices may wrap
	[[ -n $(meter_lines) ]] || { show; return 1; }
	meter_lines | awk 'length($0) > 40 { bad = 1 } END { exit bad }' || { show; return 1; }
}

@test "run: the document keeps each step's time in seconds, rounded to milliseconds" {
	run --separate-stderr ucall "upgrade run $RUN_ARGS -s db.dump"
	expect_status 0
	[[ -z $(grep -av SHELL-ALIVE <<<"$stderr") ]] || { echo "-s printed step lines" >&2; show; return 1; }
	jqe '.steps | keys_unsorted == ["create", "upload", "process", "wait", "download"]'
	jqe '[.steps[]] + [.seconds] | all(type == "number" and . >= 0 and (. * 1000 | . == floor))'
	jqe '.seconds >= ([.steps[]] | add) - 0.01'
}

@test "run: a failed step still reports the times of the steps this call ran" {
	emulator_fault download http404
	run --separate-stderr ucall "upgrade run $RUN_ARGS db.dump"
	expect_status 3
	jqe '.step == "download" and (.steps | has("upload") and has("wait") and has("download"))'
	stderr_lacks "done in"
	[ -e db.dump.upgrade.json ] # the job stays open for --continue
}

# expect_upgraded FILE: FILE is the emulator's upgrade of db.dump to 16.0.
expect_upgraded() {
	cmp <(printf 'UPGRADED TO 16.0\n'; cat db.dump) "$1"
}

@test "run: a failed step ends its message with the command that resumes, and that command finishes the job" {
	emulator_fault download http500
	run --separate-stderr ucall "upgrade run $RUN_ARGS db.dump"
	expect_status 3
	jqe '.failures[-1].message | endswith("; to go on: upgrade run --continue db.dump")'
	grep -aq '^upgrade: CLIENT:HTTP: .*; to go on: upgrade run --continue db.dump$' <<<"$stderr" || { show; return 1; }
	run --separate-stderr ucall "upgrade run --continue db.dump --cacert \"\$CA\" --interval 0.1"
	expect_status 0
	expect_upgraded upgraded_db.dump
}

@test "run: Ctrl-C ends the message with the command that resumes, the DUMP quoted for the shell" {
	mv db.dump "my db.dump"
	emulator_fault download slow '{"delay": 30}'
	run --separate-stderr ubash '
		trap "echo trapped >&2" INT
		( sleep "$1"; kill -INT $$ ) &
		upgrade run '"$RUN_ARGS"' "my db.dump"
		echo "rc=$?" >&2
		wait' "$(scaled 1.5)"
	stderr_has "rc=130"
	jqe '.failures[-1].reason == "CLIENT:INTERRUPTED"'
	jqe '.failures[-1].message | endswith("; to go on: upgrade run --continue '"'my db.dump'"'")'
	emulator_reset >/dev/null
	run --separate-stderr ucall "upgrade run --continue 'my db.dump' --cacert \"\$CA\" --interval 0.1"
	expect_status 0
	cmp <(printf 'UPGRADED TO 16.0\n'; cat "my db.dump") "upgraded_my db.dump"
}

@test "download: a dropped download says to run it again and what FILE.part keeps; the next call announces where it resumes" {
	dump_bytes 2000000 >db.dump
	done_request db.dump
	emulator_fault download drop '{"after_bytes": 1000000}'
	run --separate-stderr ucall 'upgrade download --cacert "$CA" -o F'
	expect_status 3
	grep -aqE '^upgrade: CLIENT:[A-Z_]+: .*; run the same command again: (.*/)?F\.part keeps [0-9.]+ (KiB|MiB)$' <<<"$stderr" || { show; return 1; }
	jqe '.part.bytes >= 1000000 and (.part.file | endswith("F.part"))'
	local kept
	kept=$(stat -c %s F.part)
	run --separate-stderr ucall 'upgrade download --cacert "$CA" -o F'
	expect_status 0
	grep -aqE '^upgrade: resuming (.*/)?F\.part at [0-9.]+ (KiB|MiB)$' <<<"$stderr" || { show; return 1; }
	jqe --argjson k "$kept" '.transfer.resumed_from == $k'
	expect_upgraded F
}

@test "wait --timeout says the request keeps running, and it does" {
	pending_request
	run --separate-stderr ucall 'upgrade wait --cacert "$CA" --interval 0.1 --timeout 0.3'
	expect_status 4
	expect_reason CLIENT:TIMEOUT
	stderr_has "the request keeps running on the platform"
	run --separate-stderr ucall 'upgrade status --cacert "$CA"'
	expect_status 0
	jqe '.request.state == "pending"'
}

@test "did you mean: a misspelt subcommand or option is refused (exit 2) with the nearest name, nothing sent" {
	api_create
	local before
	before=$(emulator_stats | jq -c .requests)
	run --separate-stderr ucall 'upgrade uplaod --cacert "$CA" db.dump'
	expect_status 2
	expect_reason CLIENT:USAGE
	stderr_has "unknown subcommand 'uplaod' (did you mean \`upgrade upload\`?"
	run --separate-stderr ucall 'upgrade status --cacert "$CA" --progres'
	expect_status 2
	stderr_has "unknown option --progres (did you mean --progress?)"
	run --separate-stderr ucall 'upgrade status --cacert "$CA" --frobnicate'
	expect_status 2
	stderr_lacks "did you mean"
	[[ $(emulator_stats | jq -c .requests) == "$before" ]]
}

@test "--request without --key: exit 2 '--key is missing', the shell's UPGRADE_KEY is not sent with it" {
	api_create
	local before
	before=$(method_count status)
	run --separate-stderr ucall 'upgrade status --cacert "$CA" --request "$1"' "$REQ"
	expect_status 2
	expect_reason CLIENT:USAGE
	stderr_has "--key is missing"
	[[ $(method_count status) == "$before" ]]
}

@test "run refuses --request/--key (exit 2) before it creates, uploads or records anything" {
	api_create
	local before
	before=$(method_count create)
	run --separate-stderr ucall "upgrade run $RUN_ARGS --request \"\$UPGRADE_REQUEST\" --key \"\$UPGRADE_KEY\" db.dump"
	expect_status 2
	expect_reason CLIENT:USAGE
	stderr_has "does not apply to \`upgrade run\`"
	[[ $(method_count create) == "$before" ]]
	[ ! -e db.dump.upgrade.json ]
}

@test "jq: a compile error keeps its line breaks, each line a CLIENT:JQ line" {
	run --separate-stderr ucall 'upgrade status --cacert "$CA" -q ".a | | .b"'
	expect_status 2
	alive
	grep -aqx 'upgrade: CLIENT:JQ: jq: error: syntax error, .*line 1:' <<<"$stderr" || { show; return 1; }
	grep -aqx 'upgrade: CLIENT:JQ: jq: 1 compile error' <<<"$stderr" || { show; return 1; }
	stderr_lacks '\n'
}

@test "jq: a run-time error with -v prints nothing and stores nothing of the document (the key stays out)" {
	api_create
	run --separate-stderr ucall 'out=unset; upgrade status --cacert "$CA" -q ".request.state | error(\"boom\")" -v out; echo "rc=$? out=[$out]" >&2'
	expect_status 0
	[ -z "$output" ]
	stderr_has "rc=2 out=[]"
	stderr_has "upgrade: CLIENT:JQ: jq: error: boom"
	stderr_lacks "$KEY"
}

@test "request.id is the platform's number everywhere: create, status, a run that fails and its --continue, jobs, the job's record" {
	run --separate-stderr ucall 'upgrade create --cacert "$CA" --contract M123-abc --email t@example.com --target 16.0 --aim test --filename db.dump -c
		upgrade status --cacert "$CA" -c'
	expect_status 0
	[[ $(jq -sc 'map(.request.id | type)' <<<"$output") == '["number","number"]' ]] || { show; false; }
	# the failed step's document names the request itself
	emulator_fault download drop '"after_bytes": 100000' >/dev/null
	run --separate-stderr ucall "upgrade run $RUN_ARGS db.dump -c"
	expect_status 3
	jqe '.step == "download" and (.request.id | type == "number")'
	local id
	id=$(jq .request.id <<<"$output")
	[[ $(jq -c .request db.dump.upgrade.json) == "$id" ]]
	run --separate-stderr ucall 'upgrade jobs -c'
	expect_status 0
	jqe ".jobs[0].request == $id"
	run --separate-stderr ucall 'upgrade run --cacert "$CA" --continue db.dump -c'
	expect_status 0
	jqe ".request.id == $id"
	[[ $(jq -c .request db.dump.upgrade.json) == "$id" ]]
}

@test "libpq: a message's tab-indented second line is shown as whitespace on stderr, not as an escaped \\t" {
	local port
	port=$(harness_free_port)
	run --separate-stderr ucall 'export PGHOST=127.0.0.1 PGPORT=$1; upgrade dump --database nowhere' "$port"
	expect_status 3
	expect_reason CLIENT:DATABASE
	stderr_has "Connection refused Is the server running"
	stderr_lacks '\t'
	jqe '.failures[0].message | test("\t") | not'
}

@test "jq: a run-time error prints jq's message as CLIENT:JQ (exit 2) and nothing on stdout, not even the outputs before it" {
	api_create
	run --separate-stderr ucall 'upgrade status --cacert "$CA" -q ".request.key, .request.state, error(\"boom\")"'
	expect_status 2
	[[ -z $output ]] || { show; false; }
	stderr_has "upgrade: CLIENT:JQ: jq: error: boom"
	stderr_lacks "$KEY"
}

@test "TLS: a certificate that does not verify names --cacert and -k in the message" {
	api_create
	run --separate-stderr ucall 'upgrade status'
	expect_status 5
	expect_reason CLIENT:TLS
	stderr_has "--cacert FILE"
	stderr_has "-k skips the check"
}

@test "-sS: silent, yet a failure still prints its line on stderr (curl's -sS); -s alone prints none" {
	api_create
	run --separate-stderr ucall 'upgrade status -s'
	expect_status 5
	[[ $(grep -avc SHELL-ALIVE <<<"$stderr") == 0 ]] || { show; return 1; }
	run --separate-stderr ucall 'upgrade status -sS'
	expect_status 5
	expect_reason CLIENT:TLS
	run --separate-stderr ucall 'upgrade status --silent --show-error --cacert "$CA" -q "error(\"boom\")"'
	expect_status 2
	stderr_has "upgrade: CLIENT:JQ: jq: error: boom"
	run --separate-stderr ucall 'upgrade upload -sS --cacert "$CA" db.dump'
	expect_status 0
	[[ $(grep -avc SHELL-ALIVE <<<"$stderr") == 0 ]] || { echo "-sS printed more than failures" >&2; show; return 1; }
}
