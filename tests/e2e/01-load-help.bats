#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-3.0-or-later
# Loading, unloading and the help texts.

load helpers

SUBCOMMANDS=(create upload sftp-access sftp-put process skip-test status wait download sftp-get run)

@test "enable -f loads upgrade as a builtin" {
	run --separate-stderr ubash 'type -t upgrade; enable -a | grep -x "enable upgrade"'
	expect_status 0
	[ "${lines[0]}" = builtin ]
	[ "${lines[1]}" = "enable upgrade" ]
	[ -z "$stderr" ]
}

@test "help upgrade lists every subcommand" {
	run --separate-stderr ubash 'help upgrade'
	expect_status 0
	local c
	for c in "${SUBCOMMANDS[@]}" help; do
		grep -Eq "^[[:space:]]+$c([[:space:]]|\$)" <<<"$output" || {
			echo "help upgrade does not list $c" >&2
			show
			return 1
		}
	done
	# the help also names the exit statuses and the output options
	[[ $output == *"-q"* && $output == *"-v NAME"* ]]
}

@test "upgrade help prints the full help and exits 0" {
	run --separate-stderr ubash 'upgrade help'
	expect_status 0
	for c in "${SUBCOMMANDS[@]}"; do
		grep -Eq "^[[:space:]]+$c([[:space:]]|\$)" <<<"$output"
	done
}

@test "upgrade help wait and upgrade wait --help print the usage of wait" {
	run --separate-stderr ubash 'upgrade help wait'
	expect_status 0
	[[ ${lines[0]} == "usage: upgrade wait"* ]]
	[[ $output == *--interval* && $output == *--timeout* ]]
	local via_help=$output
	run --separate-stderr ubash 'upgrade wait --help'
	expect_status 0
	[ "$output" = "$via_help" ]
	[ -z "$stderr" ]
	# -h is the same
	run --separate-stderr ubash 'upgrade wait -h'
	expect_status 0
	[ "$output" = "$via_help" ]
}

@test "every subcommand has its own help, the same both ways, and nothing is sent" {
	local before c
	before=$(stat_get '.requests | add // 0')
	for c in "${SUBCOMMANDS[@]}"; do
		run --separate-stderr ubash 'upgrade help "$1" && echo ==== && upgrade "$1" --help' "$c"
		expect_status 0
		[[ ${lines[0]} == "usage: upgrade $c"* ]] || { echo "bad usage line for $c" >&2; show; return 1; }
		local first=${output%%$'\n'====*} second=${output#*====$'\n'}
		[ "$first" = "$second" ] || { echo "help $c differs from $c --help" >&2; show; return 1; }
	done
	[ "$(stat_get '.requests | add // 0')" = "$before" ]
}

@test "upgrade help of a non-subcommand is a usage error" {
	run --separate-stderr ucall 'upgrade help nosuch'
	expect_status 2
	expect_reason CLIENT:USAGE
	alive
}

@test "upgrade without a subcommand is a usage error" {
	run --separate-stderr ucall 'upgrade'
	expect_status 2
	one_line
	expect_reason CLIENT:USAGE
	alive
}

@test "enable -d upgrade unloads it and the shell keeps working" {
	run --separate-stderr ubash '
		upgrade help >/dev/null || exit 10
		enable -d upgrade || exit 11
		type upgrade >/dev/null 2>&1 && exit 12
		upgrade status >/dev/null 2>&1
		echo "after=$?"
		x=$(echo still here)
		echo "$x"'
	expect_status 0
	[ "${lines[0]}" = "after=127" ]
	[ "${lines[1]}" = "still here" ]
}

@test "loading twice does not crash and the builtin still works" {
	api_create
	run --separate-stderr ubash '
		enable -f "$UPGRADE_SO" upgrade || exit 10
		enable -f "$UPGRADE_SO" upgrade || exit 11
		upgrade status --cacert "$CA" -q .request.id || exit 12
		echo ok'
	expect_status 0
	[ "${lines[0]}" = "$REQ" ]
	[ "${lines[1]}" = ok ]
}

@test "unload after a call, load again: the builtin works again" {
	api_create
	run --separate-stderr ubash '
		upgrade status --cacert "$CA" -q .request.state -r || exit 10
		enable -d upgrade || exit 11
		enable -f "$UPGRADE_SO" upgrade || exit 12
		upgrade status --cacert "$CA" -q .request.state -r || exit 13
		enable -d upgrade || exit 14
		echo ok'
	expect_status 0
	[ "$output" = $'draft\ndraft\nok' ]
}
