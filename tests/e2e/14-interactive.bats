#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-3.0-or-later
# Ctrl-C in an interactive bash (a real terminal, driven through tmux):
# the call stops within a second, the prompt comes back with $? 130 (bash
# drops the rest of the command line, as for any command), and the shell
# goes on working.
load helpers

teardown_file() {
	tmux -L upgrade-e2e kill-server 2>/dev/null || true
	harness_stop
}

@test "Ctrl-C in an interactive shell stops wait within a second; \$? is 130; the shell lives" {
	command -v tmux >/dev/null || { echo "tmux is needed (apt-get install tmux)" >&2; false; }
	pending_request
	out=$BATS_TEST_TMPDIR/screen
	tmux -L upgrade-e2e new-session -d -x 200 -y 50 \
		"env UPGRADE_URL=$UPGRADE_URL UPGRADE_REQUEST=$REQ UPGRADE_KEY=$KEY CA=$CA PS1='PROMPT> ' bash --norc -i"
	sleep 0.5
	# This bash is started by tmux, not by ubash: it loads the plain module
	# even in the sanitizer and valgrind passes (it tests signals, not memory).
	so=$(cd "$E2E_DIR/../.." && pwd)/.libs/upgrade.so
	tmux -L upgrade-e2e send-keys "enable -f '$so' upgrade" Enter
	tmux -L upgrade-e2e send-keys 'upgrade wait --cacert "$CA" --interval 0.2 -s -c -q .failures[0].reason' Enter
	sleep "$(scaled 1.5)"
	start=$(now)
	tmux -L upgrade-e2e send-keys C-c
	for ((i = 0; i < 100; i++)); do
		tmux -L upgrade-e2e capture-pane -p >"$out"
		grep -q 'CLIENT:INTERRUPTED' "$out" && break
		sleep 0.05
	done
	end=$(now)
	grep -q '"CLIENT:INTERRUPTED"' "$out" || { cat "$out" >&2; false; }
	less_than "$(awk -v a="$start" -v b="$end" 'BEGIN {print b - a}')" "$(scaled 1.5)"
	tmux -L upgrade-e2e send-keys 'echo "rc=$?"' Enter
	for ((i = 0; i < 100; i++)); do
		tmux -L upgrade-e2e capture-pane -p >"$out"
		grep -q '^rc=' "$out" && break
		sleep 0.05
	done
	grep -q '^rc=130' "$out" || { cat "$out" >&2; false; }
	tmux -L upgrade-e2e send-keys 'upgrade status --cacert "$CA" -q .request.state -r; echo "after=$?"' Enter
	for ((i = 0; i < 100; i++)); do
		tmux -L upgrade-e2e capture-pane -p >"$out"
		grep -q 'after=0' "$out" && break
		sleep 0.05
	done
	grep -q '^pending' "$out" && grep -q 'after=0' "$out" || { cat "$out" >&2; false; }
	tmux -L upgrade-e2e kill-server
}
