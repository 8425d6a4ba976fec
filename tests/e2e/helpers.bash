# SPDX-License-Identifier: GPL-3.0-or-later
# shellcheck shell=bash
# Shared helpers for the e2e suite (bats 1.8).  Load with `load helpers`.
#
# Every call of the builtin goes through tests/lib/ubash (a fresh bash with
# the builtin loaded; under UPGRADE_VALGRIND=1 that bash runs in valgrind).
# Requests are prepared, where the test is not about that step, straight
# against the emulator with curl (api_create, api_upload, emulator_set_state)
# so that each test exercises only what it names.

bats_require_minimum_version 1.5.0

E2E_DIR=$(cd "$BATS_TEST_DIRNAME" && pwd)
# shellcheck source=../lib/harness.bash
source "$E2E_DIR/../lib/harness.bash"

: "${UPGRADE_SO:=$(cd "$E2E_DIR/../.." && pwd)/.libs/upgrade.so}"
export UPGRADE_SO
UBASH=$E2E_DIR/../lib/ubash
SCALE=${UPGRADE_TIME_SCALE:-1}
VALGRIND=${UPGRADE_VALGRIND:-0}

# scaled SECONDS: SECONDS times the time scale (valgrind runs slower).
scaled() { awk -v a="$1" -v s="$SCALE" 'BEGIN { printf "%g\n", a * s }'; }

# ubash SCRIPT [ARGS]: the script in a fresh bash with the builtin loaded,
# killed if it runs for more than 90 s (× scale) so that a hang fails the
# test instead of the suite.
ubash() {
	timeout -k 5 "$(scaled 90)" "$UBASH" "$@"
}

# ucall SCRIPT [ARGS]: as ubash, then print SHELL-ALIVE on stderr (so that
# a builtin that exits the shell is caught) and keep the script's status.
ucall() {
	local script=$1
	shift
	ubash "$script"$'\n''__rc=$?; echo SHELL-ALIVE >&2; exit $__rc' "$@"
}

# The default per-file set-up: one emulator (emulator_start makes the CA
# and exports UPGRADE_URL), stopped with everything else at the end.  A file
# that needs more defines its own setup_file after `load helpers`.
setup_file() { start_emulator; }
teardown_file() { harness_stop; }

# start_emulator [ARGS]: one emulator per file, fast state changes.
start_emulator() {
	emulator_start --pending-seconds 0.2 --progress-seconds 0.2 "$@" || return 1
	export CA=$UPGRADE_TEST_CACERT
}

# start_with_done_request: the set-up of a file whose tests share one done
# request of a small dump; exports its id and key as DONE_REQ and DONE_KEY.
start_with_done_request() {
	start_emulator
	printf 'dump\n' >"$BATS_FILE_TMPDIR/db.dump"
	done_request "$BATS_FILE_TMPDIR/db.dump"
	export DONE_REQ=$REQ DONE_KEY=$KEY
}

# use_done_request: make the file's shared done request (DONE_REQ, DONE_KEY)
# the current one: REQ, KEY, UPGRADE_REQUEST and UPGRADE_KEY exported.
use_done_request() {
	export UPGRADE_REQUEST=$DONE_REQ UPGRADE_KEY=$DONE_KEY REQ=$DONE_REQ KEY=$DONE_KEY
}

# start_sshd_emulator: the set-up of an SFTP file: the CA, OpenSSH's sshd and
# the emulator, their settings exported, and a $KEYS directory with the
# client's key id_ed25519 and a known_hosts that trusts sshd (use_sftp_client).
start_sshd_emulator() {
	harness_make_ca
	sshd_prepare
	start_emulator
	sshd_start
	export UPGRADE_URL SFTP_ROOT SSHD_PORT SSHD_HOSTKEY_PUB
	export KEYS=$HARNESS_DIR/keys
	mkdir -p "$KEYS"
	harness_ssh_keygen "$KEYS/id_ed25519" >/dev/null
	harness_known_hosts "$KEYS/known_hosts"
}

# use_sftp_client: a test's SFTP client options in SSH (the file's key, and
# ./kh, a copy of its known_hosts that the test may add to or change).
use_sftp_client() {
	cp "$KEYS/known_hosts" kh
	SSH=(--identity "$KEYS/id_ed25519" --known-hosts "$PWD/kh")
}

# shared [FILENAME]: the request's shared file on the SFTP server (db.dump).
shared() { echo "$SFTP_ROOT/$REQ/${1:-db.dump}"; }

# announce_sftp_port PORT: the port the emulator's request_sftp_access
# hands out (a forwarder's, in front of sshd); a test that changes it puts
# $SSHD_PORT back before it ends.
announce_sftp_port() {
	emulator_curl /_emulator/sftp_port -H 'Content-Type: application/json' -d "{\"port\": $1}" -o /dev/null
}

# sftp_via_proxy ARGS…: tests/lib/delay_proxy.py between the builtin and
# sshd with ARGS, its port trusted in ./kh (the test's known_hosts) and
# handed out by request_sftp_access (announce_sftp_port); sets PROXY_PORT.
sftp_via_proxy() {
	delay_proxy_start "$SSHD_PORT" "$@" || return 1
	PROXY_PORT=$DELAY_PROXY_PORT
	printf '[127.0.0.1]:%s %s\n' "$PROXY_PORT" "$(cut -d' ' -f1,2 "$SSHD_HOSTKEY_PUB")" >>kh
	announce_sftp_port "$PROXY_PORT"
}

# record_done RECORD: the bytes a parallel transfer's record (FILE.part.meta,
# DUMP.sftp-put.meta: version 2) says are done: its whole chunks and the
# heads of the others.
record_done() {
	jq '.segments as $s | ([$s.done[] | ([.[1] * $s.chunk, $s.size] | min) - .[0] * $s.chunk] | add // 0)
		+ ([$s.partial[]?[1]] | add // 0)' "$1"
}

# record_prefix RECORD: the bytes from the start of the file a parallel
# transfer's record says are done (what one stream resumes from).
record_prefix() {
	jq '.segments as $s | (if ($s.done[0][0] // -1) == 0 then $s.done[0][1] else 0 end) as $i
		| ([$i * $s.chunk, $s.size] | min) + ([$s.partial[]? | select(.[0] == $i) | .[1]] | add // 0)' "$1"
}

# living PID…: those of PID… that still run (gone or a zombie: not living).
living() {
	local pid state
	for pid; do
		state=$(awk '{ print $3 }' "/proc/$pid/stat" 2>/dev/null) || continue
		[[ $state == Z ]] || echo "$pid"
	done
}

# ---------------------------------------------------------------- asserts

# show: what the last `run` saw (printed only when a test fails).
show() {
	printf '# status: %s\n# stdout: %s\n# stderr: %s\n' "$status" "$output" "${stderr-}" >&2
}

# expect_status N: the last run's exit status is N.
expect_status() {
	if [[ $status != "$1" ]]; then
		echo "expected exit status $1, got $status" >&2
		show
		return 1
	fi
}

# jqe FILTER [jq args]: jq -e FILTER is true on the last run's stdout.
jqe() {
	if ! jq -e "$@" <<<"$output" >/dev/null 2>&1; then
		echo "jq -e $* is not true on stdout" >&2
		show
		return 1
	fi
}

# expect_reason REASON: stdout is one JSON document whose failures[0].reason
# is REASON, and stderr has a line naming it.
expect_reason() {
	jqe --arg r "$1" '.failures[0].reason == $r and (.failures[0].message | type == "string")' || return 1
	if [[ $stderr != *"$1"* ]]; then
		echo "stderr has no line with $1" >&2
		show
		return 1
	fi
}

# one_line: stdout is exactly one line of JSON.
one_line() {
	if [[ ${#lines[@]} -ne 1 || $output == *$'\n'* ]]; then
		echo "stdout is not exactly one line" >&2
		show
		return 1
	fi
	jq -e . <<<"$output" >/dev/null || { echo "stdout is not JSON" >&2; show; return 1; }
}

# alive: the script went on after the builtin (see ucall).
alive() {
	if [[ $stderr != *SHELL-ALIVE* ]]; then
		echo "the shell did not survive the call" >&2
		show
		return 1
	fi
}

# stderr_lacks TEXT: TEXT does not occur in the last run's stderr.
stderr_lacks() {
	if [[ $stderr == *"$1"* ]]; then
		echo "stderr contains '$1'" >&2
		show
		return 1
	fi
}

# stderr_has TEXT
stderr_has() {
	if [[ $stderr != *"$1"* ]]; then
		echo "stderr lacks '$1'" >&2
		show
		return 1
	fi
}

# ------------------------------------------------------------- emulator

urlenc() { jq -rn --arg s "$1" '$s | @uri'; }

# stat_get JQ: a value from the emulator's counters.
stat_get() { emulator_stats | jq -r "$1"; }

# method_count METHOD: how many METHOD requests the emulator served.
method_count() { emulator_stats | jq -r --arg m "$1" '.requests[$m] // 0'; }

# wait_until SECONDS CONDITION: evaluate CONDITION (a shell command, in the
# caller's scope) every 0.05 s until it is true; false once SECONDS × scale
# have passed (a loaded or instrumented machine is slower to get there).
wait_until() {
	local deadline
	# microseconds; the sum in bash: mawk's %d stops at 2^31
	deadline=$(awk -v s="$(scaled "$1")" 'BEGIN { printf "%.0f\n", s * 1000000 }')
	deadline=$((${EPOCHREALTIME/./} + deadline))
	until eval "$2"; do
		((${EPOCHREALTIME/./} < deadline)) || return 1
		sleep 0.05
	done
}

# AWAIT_STATUS: the start of a ubash script that defines await_status N:
# return once the emulator has served more than N status requests (the
# test passes "$(method_count status)"), so that a signal sent after it
# lands in the call however slow the shell was to start (a fixed 0.5 s
# was 4 s under valgrind, and too short on a loaded machine).
AWAIT_STATUS='await_status() {
	until (($(curl -sS --cacert "$CA" "$EMULATOR_URL/_emulator/stats" | jq ".requests.status // 0") > $1)); do
		sleep 0.05
	done
}
'

# after_status_poll: return once the emulator has served one more status
# request than when called (or after 60 s × scale, for a client that died).
after_status_poll() {
	local n
	n=$(method_count status)
	wait_until 60 '(($(method_count status) > n))'
}

# api_create [FILENAME] [TARGET]: a new draft request, made with curl.
# Sets and exports REQ, KEY, UPGRADE_REQUEST, UPGRADE_KEY.
api_create() {
	local fname=${1:-db.dump} target=${2:-16.0} out
	out=$(emulator_curl /database/v1/create --data-urlencode contract=M123-abc \
		--data-urlencode email=test@example.com --data-urlencode "target=$target" \
		--data-urlencode aim=test --data-urlencode "filename=$fname") || return 1
	REQ=$(jq -er '.request.id' <<<"$out") || return 1
	KEY=$(jq -er '.request.key' <<<"$out") || return 1
	export REQ KEY UPGRADE_REQUEST=$REQ UPGRADE_KEY=$KEY
}

# api_upload FILE: upload FILE for $REQ with curl.
api_upload() {
	emulator_curl "/database/v1/upload?request=$REQ&key=$(urlenc "$KEY")" \
		-H 'Content-Type: application/octet-stream' --data-binary "@$1" -o /dev/null
}

# api_process: process $REQ with curl.
api_process() {
	emulator_curl /database/v1/process --data-urlencode "request=$REQ" \
		--data-urlencode "key=$KEY" -o /dev/null
}

# done_request FILE [FILENAME] [TARGET]: a request whose dump is FILE, forced done.
done_request() {
	api_create "${2:-db.dump}" "${3:-16.0}" && api_upload "$1" && emulator_set_state "$REQ" done
}

# pending_request [FILENAME]: a request with a small dump, forced (sticky) pending.
pending_request() {
	local f=$BATS_TEST_TMPDIR/pending.dump
	printf 'dump bytes\n' >"$f"
	api_create "${1:-db.dump}" && api_upload "$f" && emulator_set_state "$REQ" pending
}

# now: seconds since the epoch, with microseconds.
now() { printf '%s\n' "$EPOCHREALTIME"; }

# ucall_timed SCRIPT [ARGS]: as ucall, and the time the script took inside
# its shell -- not counting bash's start, seconds under valgrind on a
# loaded machine -- on stderr as "took=SECONDS"; read it with `took`.
ucall_timed() {
	local script=$1
	shift
	ucall '__t0=$EPOCHREALTIME
'"$script"'
__rc=$?; echo "took=$__t0 $EPOCHREALTIME" >&2; (exit $__rc)' "$@"
}

# took: the seconds the last ucall_timed script took.
took() { sed -n 's/^took=//p' <<<"$stderr" | awk '{ print $2 - $1 }'; }

# less_than A B: A < B (floating point).
less_than() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a < b) }'; }

# file_mode FILE: its permission bits in octal (stat -c %a).
file_mode() { stat -c %a "$1"; }

# instrumented: under valgrind or the sanitizers (20-50x slower): tests
# shrink their files and counts, and leave memory figures to those tools.
instrumented() { [[ ${UPGRADE_VALGRIND:-0} == 1 || ${UPGRADE_SANITIZE:-0} == 1 ]]; }

# RUN_ARGS: what `upgrade run` needs besides the dump, to 16.0 on the
# emulator, polling fast (eval'd inside ucall's script, where $CA is set).
RUN_ARGS='--cacert "$CA" --contract M123-abc --email t@example.com --target 16.0 --aim test --interval 0.1'

# dump_bytes N: N bytes that upload, sftp-put and run take for a dump
# (issue 18, item 5: they look at the first bytes): a custom-format dump's
# magic "PGDMP", then random bytes.
dump_bytes() { printf 'PGDMP'; head -c "$(($1 - 5))" /dev/urandom; }

# mib N [MAX]: N MiB in bytes, or a tenth of it under valgrind (at least 2
# MiB, at most MAX MiB when given); the sanitizers leave libssh2 and
# OpenSSL uninstrumented, near full speed.  MAX is for a file that is only
# big so that a fault lands mid-transfer: a valgrind client moves a few
# MiB/s at best, and every MiB costs CPU in its encryption.
mib() {
	local n=$1
	if [[ ${UPGRADE_VALGRIND:-0} == 1 ]]; then
		n=$((n / 10))
		((n < 2)) && n=2
		((${2:-n} < n)) && n=$2
	fi
	echo $((n * 1048576))
}

# completions LABEL LINE [LABEL LINE ...]: what the bash completion
# (completion/upgrade) offers at the end of each command LINE, one
# "LABEL: words" line each; "no-bash-completion" when bash-completion is
# not installed.  Use as `run completions ...`.
completions() {
	bash -c '
		source /usr/share/bash-completion/bash_completion 2>/dev/null || { echo no-bash-completion; exit 0; }
		source "$1"
		shift
		c() { COMP_LINE=$2; COMP_POINT=${#2}; read -ra COMP_WORDS <<<"$2"; [[ $2 == *" " ]] && COMP_WORDS+=(""); COMP_CWORD=$((${#COMP_WORDS[@]} - 1)); COMPREPLY=(); _upgrade; echo "$1: ${COMPREPLY[*]}"; }
		while (($# >= 2)); do c "$1" "$2"; shift 2; done' _ "$E2E_DIR/../../completion/upgrade" "$@"
}

# job_closed RECORD: the job of RECORD (DUMP.upgrade.json) is over: its
# record kept, closed, mode 0600.
job_closed() {
	[[ -f $1 && $(jq -r .state "$1") == closed && $(stat -c %a "$1") == 600 ]]
}

# slow_tool NAME: a NAME (psql, pg_dump) first on the PATH in ./slowbin
# that says it started (./NAME.started) and waits before it runs the real
# one: the step is under way for long enough to be stopped in the middle.
slow_tool() {
	mkdir -p slowbin
	# --version (restore asks psql's before anything is made) is not slowed
	printf '#!/bin/sh\n[ "$1" = --version ] && exec %s "$@"\ntouch "%s/%s.started"\nsleep 30\nexec %s "$@"\n' \
		"$(command -v "$1")" "$PWD" "$1" "$(command -v "$1")" >"slowbin/$1"
	chmod +x "slowbin/$1"
}
