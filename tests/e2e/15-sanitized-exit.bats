#!/usr/bin/env bats
# A shell with the module loaded ends cleanly under the sanitizers, and
# `enable -d` leaves the libraries the module brought in mapped.

load helpers

# No platform is needed here.
setup_file() { :; }
teardown_file() { :; }

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
