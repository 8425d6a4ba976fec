#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-3.0-or-later
# A shell with the module loaded ends cleanly under the sanitizers, and
# `enable -d` leaves the libraries the module brought in mapped.

load helpers

# No platform is needed here.
setup_file() { :; }
teardown_file() { :; }

# The sanitizer runtime of GCC 12 (later ones ask the allocator) guesses the
# extent of a dynamically loaded library's thread-local block from the two
# words before it when the block starts 16 bytes into a page; with glibc
# 2.25+ those words are the allocator's chunk header, and LeakSanitizer's
# tracer dies on the garbage range at exit ("Tracer caught signal 11",
# google/sanitizers#1322).  libjq's block (20 bytes, allocated when the
# shell first compiles a jq filter) is a 48-byte chunk, so one position in
# 256 is fatal.  Each subshell below moves it by a few chunks (mapfile
# allocates 3 per 40-byte line here) before compiling a filter, so that the
# 256 subshells put it at every position of a page, and each one's exit runs
# the leak check; tests/lib/ubash turns the guess off.
@test "sanitized shells exit without a LeakSanitizer crash wherever libjq's thread-local block lands" {
	[[ ${UPGRADE_SANITIZE:-0} == 1 ]] || skip "only the sanitized module can show it"
	local lines=$BATS_TEST_TMPDIR/lines logs=$BATS_TEST_TMPDIR/san i
	mkdir "$logs"
	for ((i = 0; i < 256; i++)); do printf '%040d\n' "$i"; done >"$lines"
	SANITIZER_LOG_DIR=$logs run --separate-stderr ubash '
		for ((k = 1; k <= 256; k++)); do
			( mapfile -t -n "$k" pad <"$1"; upgrade status -q "(" >/dev/null 2>&1 )
		done
		echo done' "$lines"
	expect_status 0
	[ "$output" = done ]
	if [ -n "$(ls "$logs")" ]; then
		echo "sanitizer reports from $(ls "$logs" | wc -l) subshell(s); first:" >&2
		head -20 "$logs/$(ls "$logs" | head -1)" >&2
		return 1
	fi
}

# The real module is linked -z nodelete so that `enable -d` never unmaps
# libcurl (and what it loaded) under a thread or handler still using it;
# the sanitized build must unload the same way, or the suite tests an
# unload path that no user's shell takes.
@test "enable -d keeps libcurl mapped in the shell, and the builtin loads again" {
	run --separate-stderr ubash '
		upgrade help >/dev/null || exit 10
		enable -d upgrade || exit 11
		grep -c "/libcurl\.so" /proc/$$/maps || exit 12
		enable -f "$UPGRADE_SO" upgrade || exit 13
		upgrade help >/dev/null || exit 14
		echo ok'
	expect_status 0
	[ "${lines[0]}" -gt 0 ]
	[ "${lines[1]}" = ok ]
}
