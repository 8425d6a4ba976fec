#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-3.0-or-later
# Output: one JSON document a call, -q/--jq, -r, -v, -c/--pretty

load helpers

setup_file() { start_with_done_request; }

setup() {
	use_done_request
}

# pty SCRIPT: run a ubash SCRIPT with stdout on a terminal (script(1));
# its output, CRs removed, on stdout.
pty() {
	command -v script >/dev/null || skip "script(1) is not installed"
	local cmd
	printf -v cmd '%q ' "$UBASH" "$1"
	script -qec "$cmd" /dev/null | tr -d '\r'
	return "${PIPESTATUS[0]}"
}

@test "stdout is exactly one line of JSON when not a terminal" {
	run --separate-stderr ucall 'upgrade status --cacert "$CA"'
	expect_status 0
	one_line
	alive
	jqe --argjson id "$REQ" '.failures == [] and .request.id == $id'
	[ "$stderr" = SHELL-ALIVE ]
}

@test "-q .request.state -r prints done; without -r a JSON string" {
	run --separate-stderr ubash 'upgrade status --cacert "$CA" -q .request.state -r'
	expect_status 0
	[ "$output" = done ]
	run --separate-stderr ubash 'upgrade status --cacert "$CA" --jq .request.state'
	expect_status 0
	[ "$output" = '"done"' ]
	run --separate-stderr ubash 'upgrade status --cacert "$CA" --jq=.request.state --raw-output'
	expect_status 0
	[ "$output" = done ]
}

@test "-q with several outputs prints one per line" {
	run --separate-stderr ubash 'upgrade status --cacert "$CA" -q ".request.id, .request.state, .request.compressions[]" -r'
	expect_status 0
	[ "$output" = "$REQ"$'\n'done$'\n'pgdmp_custom$'\n'sql ]
}

@test "-r prints non-strings as JSON, compact" {
	run --separate-stderr ubash 'upgrade status --cacert "$CA" -q "{s: .request.state, n: .request.id}" -r'
	expect_status 0
	[ "$output" = "{\"s\":\"done\",\"n\":$REQ}" ]
}

@test "-v st assigns the document and prints nothing" {
	run --separate-stderr ucall 'upgrade status --cacert "$CA" -v st; rc=$?
		printf "%s" "$st" >"$BATS_TEST_TMPDIR/st"; (exit $rc)'
	expect_status 0
	alive
	[ -z "$output" ]
	[ "$stderr" = SHELL-ALIVE ]
	# the same one-line document stdout would have carried, without the newline
	[ "$(wc -l <"$BATS_TEST_TMPDIR/st")" -eq 0 ]
	jq -e --argjson id "$REQ" '.failures == [] and .request.id == $id and .request.state == "done"' "$BATS_TEST_TMPDIR/st"
}

@test "-v with -q and -r" {
	run --separate-stderr ubash 'upgrade status --cacert "$CA" -q .request.state -r -v st || exit 10
		echo "<$st>"
		upgrade status --cacert "$CA" -q ".request.state, .request.id" -v two || exit 11
		printf "%s" "$two" >"$BATS_TEST_TMPDIR/two"'
	expect_status 0
	[ "$output" = "<done>" ]
	# several outputs: joined by newlines, no final newline, JSON without -r
	[ "$(cat -A "$BATS_TEST_TMPDIR/two")" = "\"done\"\$"$'\n'"$REQ" ]
}

@test "-v 'arr[3]' assigns an array element" {
	run --separate-stderr ubash 'arr=(a b c)
		upgrade status --cacert "$CA" -q .request.state -r -v "arr[3]" || exit 10
		printf "%s\n" "${#arr[@]}" "${arr[0]}" "${arr[3]}"
		declare -A h
		upgrade status --cacert "$CA" -q .request.id -v "h[the id]" || exit 11
		printf "%s\n" "${h[the id]}"'
	expect_status 0
	[ "$output" = $'4\na\ndone\n'"$REQ" ]
}

@test "-v assigns inside a function as printf -v would (the function's local)" {
	run --separate-stderr ubash 'f() { local st; upgrade status --cacert "$CA" -q .request.state -r -v st; echo "in:$st"; }
		st=outer; f; echo "out:$st"'
	expect_status 0
	[ "$output" = $'in:done\nout:outer' ]
}

@test "-v 1bad: exit 2 CLIENT:USAGE, nothing sent" {
	local before
	before=$(method_count status)
	run --separate-stderr ucall 'upgrade status --cacert "$CA" -v 1bad'
	expect_status 2
	one_line
	alive
	expect_reason CLIENT:USAGE
	[ "$(method_count status)" = "$before" ]
}

@test "-v on a readonly variable: exit 2, the variable kept, nothing sent" {
	local before
	before=$(method_count status)
	run --separate-stderr ucall 'readonly ro=keep; upgrade status --cacert "$CA" -v ro; rc=$?; echo "ro=$ro" >&2; (exit $rc)'
	expect_status 2
	alive
	expect_reason CLIENT:USAGE
	stderr_has "ro=keep"
	[ "$(method_count status)" = "$before" ]
}

@test "-v with a failing call: the failure document goes to the variable" {
	run --separate-stderr ucall 'upgrade status --cacert "$CA" --request 999 --key x -v st; rc=$?
		printf "%s" "$st" >"$BATS_TEST_TMPDIR/st"; (exit $rc)'
	expect_status 1
	alive
	[ -z "$output" ]
	stderr_has REQUEST:NOT_FOUND
	jq -e '.failures[0].reason == "REQUEST:NOT_FOUND"' "$BATS_TEST_TMPDIR/st"
}

@test "-q '.[' (does not compile): exit 2 CLIENT:JQ, nothing sent" {
	local before
	before=$(emulator_stats | jq -c .requests)
	run --separate-stderr ucall 'upgrade status --cacert "$CA" -q ".["'
	expect_status 2
	alive
	jqe '.failures[0].reason == "CLIENT:JQ"'
	stderr_has CLIENT:JQ
	[ "$(emulator_stats | jq -c .requests)" = "$before" ]
}

@test "a jq error at run time: exit 2, jq's message as CLIENT:JQ on stderr, nothing on stdout" {
	run --separate-stderr ucall 'upgrade status --cacert "$CA" -q ".request.state | error(\"boom\")"'
	expect_status 2
	alive
	[ -z "$output" ] || { echo "stdout holds something for the failed input" >&2; show; return 1; }
	grep -aqx 'upgrade: CLIENT:JQ: jq: error: boom' <<<"$stderr" || { show; return 1; }
}

@test "jq sees the shell's exported variables through env" {
	run --separate-stderr ubash 'export UPG_TEST_VAR=val$$
		upgrade status --cacert "$CA" -q "env.UPG_TEST_VAR" -r || exit 10
		export UPG_TEST_VAR=again$$
		upgrade status --cacert "$CA" -q "env.UPG_TEST_VAR" -r || exit 11
		echo "$$"'
	expect_status 0
	[ "${lines[0]}" = "val${lines[2]}" ]
	[ "${lines[1]}" = "again${lines[2]}" ]
}

@test "jq's \$ENV holds the shell's exported variables, as in jq" {
	run --separate-stderr ubash 'export UPG_TEST_VAR=val$$
		upgrade status --cacert "$CA" -q "\$ENV.UPG_TEST_VAR" -r || exit 10
		echo "$$"'
	expect_status 0
	[ "${lines[0]}" = "val${lines[1]}" ]
}

@test "--pretty indents the document" {
	run --separate-stderr ubash 'upgrade status --cacert "$CA" --pretty'
	expect_status 0
	[ "${#lines[@]}" -gt 10 ]
	[ "${lines[0]}" = "{" ]
	[[ ${lines[1]} == '  "'* ]]
	jqe '.request.state == "done"'
}

@test "on a terminal the default is indented; -c forces one line" {
	run pty 'upgrade status --cacert "$CA"'
	[ "$status" -eq 0 ]
	[ "${#lines[@]}" -gt 10 ]
	[ "${lines[0]}" = "{" ]
	jq -e '.request.state == "done"' <<<"$output"
	run pty 'upgrade status --cacert "$CA" -c'
	[ "$status" -eq 0 ]
	[ "${#lines[@]}" -eq 1 ]
	jq -e '.request.state == "done"' <<<"$output"
	run pty 'upgrade status --cacert "$CA" --compact -q .request'
	[ "$status" -eq 0 ]
	[ "${#lines[@]}" -eq 1 ]
}

@test "-c on a pipe: one line" {
	run --separate-stderr ubash 'upgrade status --cacert "$CA" -c -q .request'
	expect_status 0
	one_line
	jqe '.state == "done"'
}

@test "a transfer's summary is jq-ready too" {
	cd "$BATS_TEST_TMPDIR"
	run --separate-stderr ubash 'upgrade download --cacert "$CA" -o F -q "[.transfer.bytes, .transfer.resumed_from] | @tsv" -r'
	expect_status 0
	[ "$output" = "$(($(stat -c %s "$BATS_FILE_TMPDIR/db.dump") + 17))	0" ]
}
