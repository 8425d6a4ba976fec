#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-3.0-or-later
# Odd local inputs, the bash completion, and `make install` as the
# contract describes it (enable -f upgrade upgrade through
# BASH_LOADABLES_PATH).
load helpers

setup() { cd "$BATS_TEST_TMPDIR"; }

@test "a FIFO given as the dump: exit 2 CLIENT:FILE, nothing sent, no hang" {
	api_create
	mkfifo pipe
	uploads=$(method_count upload)
	run --separate-stderr ucall 'upgrade upload --cacert "$CA" pipe'
	expect_status 2
	expect_reason CLIENT:FILE
	[[ $(method_count upload) == "$uploads" ]]
}

@test "an ssh_keys file with a 100,000-character line is refused by line number" {
	api_create
	{ printf 'ssh-ed25519 '; head -c 100000 /dev/zero | tr '\0' A; echo; } >long.keys
	run --separate-stderr ucall 'upgrade sftp-access --cacert "$CA" --ssh-keys long.keys'
	expect_status 2
	expect_reason CLIENT:SSH_KEYS
	stderr_has "line 1"
	(( ${#stderr} < 2000 ))
}

@test "-o pointing at an existing symlink is refused without --force, its target untouched" {
	printf 'dump\n' >d
	done_request d
	printf 'precious\n' >target
	ln -s target link
	run --separate-stderr ucall 'upgrade download --cacert "$CA" -o link'
	expect_status 2
	expect_reason CLIENT:FILE
	[[ $(cat target) == precious ]]
}

@test "completion: subcommands, --what values, options of the subcommand" {
	run completions sub "upgrade sft" what "upgrade download --what " wait "upgrade wait --i" help "upgrade help do"
	[[ $output == no-bash-completion ]] && { echo "bash-completion is not installed" >&2; false; }
	[[ ${lines[0]} == "sub: sftp-access sftp-put sftp-get" ]]
	[[ ${lines[1]} == "what: upgraded-dump upgraded-sql notes modules original-dump original-sql" ]]
	[[ ${lines[2]} == *--interval* && ${lines[2]} == *--insecure* ]]
	[[ ${lines[3]} == "help: download" ]]
}

@test "completion: the first word offers the subcommands first, the options once a - is typed" {
	run completions first "upgrade " opt "upgrade --ver" after "upgrade -s "
	[[ $output == no-bash-completion ]] && { echo "bash-completion is not installed" >&2; false; }
	local subs="create upload sftp-access sftp-put process skip-test status wait download sftp-get run dump restore jobs log wipe version help"
	[[ ${lines[0]} == "first: $subs" ]] || { echo "${lines[0]}" >&2; false; }
	[[ ${lines[1]} == "opt: --verbose --version" ]] || { echo "${lines[1]}" >&2; false; }
	[[ ${lines[2]} == "after: $subs" ]] || { echo "${lines[2]}" >&2; false; }
}

@test "make install: the module as upgrade in \$(libdir)/bash, loadable by name, and the completion" {
	top=$(cd "$E2E_DIR/../.." && pwd)
	[[ -f $top/Makefile ]] || { echo "not a configured tree" >&2; false; }
	make -s -C "$top" install DESTDIR="$BATS_TEST_TMPDIR/root" >/dev/null
	mod=$(find "$BATS_TEST_TMPDIR/root" -path '*/lib/bash/upgrade' -type f)
	[[ -n $mod ]]
	[[ ! -e ${mod}.so && ! -e ${mod}.la ]]
	find "$BATS_TEST_TMPDIR/root" -path '*completions/upgrade' -type f | grep -q .
	run bash --norc -c 'BASH_LOADABLES_PATH=$1; enable -f upgrade upgrade && type -t upgrade' _ "$(dirname "$mod")"
	[[ $output == builtin ]]
}
