#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-3.0-or-later
# upload and download --api rpc: rsync over OpenSSH's ssh against the
# emulator's per-transfer sshd (real sshd, real rsync), the platform's
# answers checked before any child runs, the children's argv and
# environment free of secrets, a broken transfer resumed by running again

load helpers

setup_file() {
	rpc_prepare || return 1
	start_emulator
	export KEY=$BATS_FILE_TMPDIR/key OTHER_KEY=$BATS_FILE_TMPDIR/other
	harness_ssh_keygen "$KEY" >/dev/null
	harness_ssh_keygen "$OTHER_KEY" >/dev/null
	# the platform's front and its node are https://localhost (port 443),
	# reached at the emulator's port
	export UPGRADE_CONNECT_TO=localhost:443:127.0.0.1:$EMULATOR_PORT
	# a directory-format dump (toc.dat, one file per table) and a custom one
	export DUMPDIR=$BATS_FILE_TMPDIR/db.dir DUMPFILE=$BATS_FILE_TMPDIR/db.dump
	mkdir -p "$DUMPDIR"
	printf 'PGDMP toc\n' >"$DUMPDIR/toc.dat"
	head -c 300000 /dev/urandom >"$DUMPDIR/3001.dat"
	head -c 200000 /dev/urandom >"$DUMPDIR/3002.dat.gz"
	{ printf 'PGDMP'; head -c 400000 /dev/urandom; } >"$DUMPFILE"
	# one for the transfers slowed down to be caught half-way
	export BIG=$BATS_FILE_TMPDIR/big.dump
	{ printf 'PGDMP'; head -c 1600000 /dev/urandom; } >"$BIG"
	# and one larger than what ssh lets be in flight (its channel window,
	# 2 MiB): the platform's side has not all of it when the client dies
	export HUGE=$BATS_FILE_TMPDIR/huge.dump
	{ printf 'PGDMP'; head -c 8000000 /dev/urandom; } >"$HUGE"
}

setup() {
	cd "$BATS_TEST_TMPDIR"
	emulator_reset stats
	rpc_settings '{"transfer_rate": null}'
	new_request
}

teardown() {
	[[ -z ${SHELL_PID:-} ]] || kill -KILL -- "-$SHELL_PID" 2>/dev/null || true
}

# rpc_settings JSON: the emulator's rpc settings (transfer_rate, ...).
rpc_settings() {
	emulator_curl /_emulator/rpc -H 'Content-Type: application/json' -d "$1" -o /dev/null
}

# new_request: a request created with $KEY's public half; TOKEN and DATA
# (the request's /data on the emulator) exported.
new_request() {
	TOKEN=$(rpc_call create "$(jq -cn --rawfile k "$KEY.pub" \
		'{contract: "M1234-abcd", target: "17.0", aim: "test", actuator: "cli",
		  env_vars: [], ssh_key: $k, api_version: "0.2"}')" | jq -er .result.token) || return 1
	DATA=$(request_view | jq -er .data_dir) || return 1
	export TOKEN DATA
}

# request_view: the emulator's view of $TOKEN's request.
request_view() {
	emulator_curl /_emulator/rpc | jq --arg t "$TOKEN" '.requests[] | select(.token == $t)'
}

# set_state STATE: force the request's state (done writes the outputs).
set_state() {
	emulator_curl /_emulator/rpc_state -H 'Content-Type: application/json' \
		-d "$(jq -cn --arg t "$TOKEN" --arg s "$1" '{token: $t, state: $s}')" -o /dev/null
}

# calls METHOD: how many times the rpc METHOD was called since setup.
calls() {
	emulator_stats | jq --arg m "rpc/$1" '.requests[$m] // 0'
}

# start_shell SCRIPT: SCRIPT in a builtin-loaded bash of its own session,
# in the background (stdout shell.out, stderr shell.err); SHELL_PID is
# that bash.
start_shell() {
	setsid "$UBASH" "$1" >shell.out 2>shell.err &
	SHELL_PID=$!
}

# children_of PID: the processes whose parent is PID.
children_of() {
	[[ -z $1 ]] || pgrep -P "$1" || true
}

# RPC: the options of every call below (the front's URL, its CA, the
# request's token and key).
RPC='--api rpc --url https://localhost --cacert "$CA" --token "$TOKEN" --identity "$KEY"'

# rpc_upgrade ARGS: `upgrade ARGS` under rpc, as ucall runs it.
rpc_upgrade() {
	run --separate-stderr ucall "upgrade $* $RPC"
}

@test "upload of a directory dump: its files arrive in the request's /data/origin.dump, byte for byte; transfer/stop once" {
	rpc_upgrade upload "\"\$DUMPDIR\""
	expect_status 0
	one_line
	alive
	jqe --arg d "$DUMPDIR" '.failures == [] and .transfer.file == $d and .transfer.remote == "origin.dump" and
		.transfer.size == 500010 and .transfer.bytes == 500010 and .transfer.files == 3 and
		(.transfer.seconds | type == "number")'
	diff -r "$DUMPDIR" "$DATA/origin.dump"
	[[ $(calls transfer/start) == 1 && $(calls transfer/stop) == 1 ]]
	[[ $(request_view | jq .transfer) == null ]]
}

@test "upload of a custom-format dump file: /data/origin.dump, byte for byte; a toc.dat stands for its directory" {
	rpc_upgrade upload "\"\$DUMPFILE\""
	expect_status 0
	jqe '.transfer.remote == "origin.dump" and .transfer.size == 400005 and .transfer.files == 1'
	cmp "$DUMPFILE" "$DATA/origin.dump"
	new_request
	rpc_upgrade upload "\"\$DUMPDIR/toc.dat\""
	expect_status 0
	jqe --arg d "$DUMPDIR" '.transfer.file == $d and .transfer.remote == "origin.dump"'
	diff -r "$DUMPDIR" "$DATA/origin.dump"
}

@test "upload: a file takes the name its first bytes say (SQL, gzip, zip), whatever its own" {
	printf 'CREATE TABLE t (i int);\n' >plain.bak
	gzip -c plain.bak >sql.bin
	rpc_upgrade upload plain.bak
	expect_status 0
	jqe '.transfer.remote == "origin.sql"'
	cmp plain.bak "$DATA/origin.sql"
	new_request
	rpc_upgrade upload sql.bin
	expect_status 0
	jqe '.transfer.remote == "origin.sql.gz"'
	cmp sql.bin "$DATA/origin.sql.gz"
}

@test "upload refuses, before anything is asked: no dump, an empty file, a directory without toc.dat, no token, no key" {
	printf '\x7fELF\x02\x01\x01\x00' >prog
	: >empty
	mkdir nodump
	for f in prog empty nodump missing; do
		rpc_upgrade upload $f
		expect_status 2
		alive
		expect_reason CLIENT:FILE
	done
	run --separate-stderr ucall 'unset UPGRADE_TOKEN; upgrade upload "$DUMPFILE" --api rpc --url https://localhost --cacert "$CA" --identity "$KEY"'
	expect_status 2
	expect_reason CLIENT:USAGE
	jqe '.failures[0].message | contains("--token")'
	run --separate-stderr ucall 'unset UPGRADE_IDENTITY; upgrade upload "$DUMPFILE" --api rpc --url https://localhost --cacert "$CA" --token "$TOKEN"'
	expect_status 2
	expect_reason CLIENT:USAGE
	jqe '.failures[0].message | contains("--identity") and contains("UPGRADE_IDENTITY")'
	[[ $(calls transfer/start) == 0 && $(calls status) == 0 ]]
}

@test "\$UPGRADE_IDENTITY names the key under rpc, \$UPGRADE_HOST the node (else status's host_uri); --identity is refused by v1's upload and download" {
	run --separate-stderr ucall 'UPGRADE_IDENTITY=$KEY; UPGRADE_API=rpc; UPGRADE_TOKEN=$TOKEN
		upgrade upload "$DUMPFILE" --url https://localhost --cacert "$CA"'
	expect_status 0
	cmp "$DUMPFILE" "$DATA/origin.dump"
	[[ $(calls status) == 1 ]]
	new_request
	run --separate-stderr ucall 'UPGRADE_IDENTITY=$KEY; UPGRADE_API=rpc; UPGRADE_TOKEN=$TOKEN UPGRADE_HOST=localhost
		upgrade upload "$DUMPFILE" --url https://localhost --cacert "$CA"'
	expect_status 0
	cmp "$DUMPFILE" "$DATA/origin.dump"
	[[ $(calls status) == 1 ]]
	run --separate-stderr ucall 'upgrade upload "$DUMPFILE" --api v1 --identity "$KEY" --request 1 --key k'
	expect_status 2
	expect_reason CLIENT:USAGE
	run --separate-stderr ucall 'upgrade download --api v1 --identity "$KEY" --request 1 --key k'
	expect_status 2
	expect_reason CLIENT:USAGE
}

# uploaded: the request's dump uploaded and processed by the platform
# (state done: the upgraded dump, filestore/, report and log in /data).
uploaded() {
	rpc_call transfer/start "$(jq -cn --arg t "$TOKEN" '{token: $t, transfer_type: "upload"}')" |
		jq -e .result.ssh_port >/dev/null || return 1
	mkdir -p "$DATA/origin.dump" && cp "$DUMPDIR"/* "$DATA/origin.dump/"
	rpc_call transfer/stop "$(jq -cn --arg t "$TOKEN" '{token: $t}')" >/dev/null
	set_state done
	emulator_reset stats
}

@test "download into DIR: the upgraded dump, filestore, report and log, byte for byte; files 0600, directories 0700" {
	uploaded
	rpc_upgrade download -o out
	expect_status 0
	one_line
	alive
	jqe '.failures == [] and .transfer.directory == "out" and .transfer.dump == "out/upgraded.dump" and
		.transfer.filestore == "out/filestore" and .transfer.report == "out/upgrade-report.html" and
		.transfer.log == "out/upgrade.log" and .transfer.files >= 6 and .transfer.bytes > 500000'
	for f in upgraded.dump filestore upgrade-report.html upgrade.log; do
		diff -r "$DATA/$f" "out/$f"
	done
	[[ $(stat -c %a out) == 700 ]]
	[[ -z $(find out -type f ! -perm 600) && -z $(find out -type d ! -perm 700) ]]
	[[ -z $(find out -name .rsync-partial) ]]
	[[ $(calls transfer/start) == 1 && $(calls transfer/stop) == 1 ]]
	# again: nothing to send, the same files
	rpc_upgrade download -o out
	expect_status 0
	jqe '.transfer.files == 0'
	diff -r "$DATA/upgraded.dump" out/upgraded.dump
}

@test "download refuses a -o that is not a directory, v1's --what, --force and --parallel, and a request not done (exit 1, the platform's refusal), nothing made" {
	: >file
	rpc_upgrade download -o file
	expect_status 2
	expect_reason CLIENT:FILE
	for o in '--what notes' --force '--parallel 2'; do
		rpc_upgrade download -o out $o
		expect_status 2
		expect_reason CLIENT:USAGE
	done
	[[ $(calls transfer/start) == 0 ]]
	rpc_upgrade download -o out
	expect_status 1
	alive
	expect_reason SERVER:REFUSED
	[[ ! -e out ]]
}

@test "download: the platform's links, modes and set-id bits are not kept; nothing lands outside DIR" {
	uploaded
	chmod 4755 "$DATA/upgraded.dump/toc.dat"
	ln -s /etc/passwd "$DATA/upgraded.dump/passwd"
	ln -s ../../../../../../tmp "$DATA/filestore/up"
	rpc_upgrade download -o out
	expect_status 0
	[[ -z $(find out -type l) && -z $(find out -perm /7000) ]]
	[[ $(stat -c %a out/upgraded.dump/toc.dat) == 600 ]]
	cmp "$DATA/upgraded.dump/toc.dat" out/upgraded.dump/toc.dat
}

@test "a dump_name that is a path (/ or ..): exit 3 CLIENT:BAD_RESPONSE, no rsync, nothing written, no transfer/stop" {
	uploaded
	for name in '../escaped' 'a/b' '..'; do
		emulator_fault rpc/transfer/start set "$(jq -cn --arg v "$name" '{field: "dump_name", value: $v}')"
		rpc_upgrade download -o out
		expect_status 3
		alive
		expect_reason CLIENT:BAD_RESPONSE
		jqe '.failures[0].message | contains("dump_name")'
		[[ ! -e out && ! -e escaped && ! -e a ]]
	done
	[[ $(calls transfer/stop) == 0 ]]
}

@test "a host key that is not the server's: exit 5 CLIENT:HOST_KEY, nothing transferred, no transfer/stop" {
	emulator_fault rpc/transfer/start wrong_known_hosts
	rpc_upgrade upload "\"\$DUMPFILE\""
	expect_status 5
	one_line
	alive
	expect_reason CLIENT:HOST_KEY
	[[ -z $(ls -A "$DATA") ]]
	[[ $(calls transfer/start) == 1 && $(calls transfer/stop) == 0 ]]
}

@test "known_hosts for another host, a pattern, or none: exit 3 CLIENT:BAD_RESPONSE before ssh runs, nothing transferred" {
	local key
	key=$(cut -d' ' -f1,2 "$EMULATOR_DATA/rpc/host_ed25519.pub")
	for kh in "[evil.example]:2222 $key" "* $key" "localhost,[localhost]:* $key" "@cert-authority * $key" "" null; do
		if [[ $kh == null ]]; then
			emulator_fault rpc/transfer/start set '{"field": "known_hosts", "value": null}'
		else
			emulator_fault rpc/transfer/start set "$(jq -cn --arg v "$kh" '{field: "known_hosts", value: $v}')"
		fi
		rpc_upgrade upload "\"\$DUMPFILE\""
		expect_status 3
		alive
		expect_reason CLIENT:BAD_RESPONSE
		jqe '.failures[0].message | contains("known_hosts")'
	done
	[[ -z $(ls -A "$DATA") && $(calls transfer/stop) == 0 ]]
}

@test "a key the platform does not know: exit 3 CLIENT:SSH_AUTH; a failed rsync is never followed by transfer/stop" {
	run --separate-stderr ucall "upgrade upload \"\$DUMPFILE\" ${RPC/\$KEY/\$OTHER_KEY}"
	expect_status 3
	alive
	expect_reason CLIENT:SSH_AUTH
	[[ -z $(ls -A "$DATA") ]]
	[[ $(calls transfer/start) == 1 && $(calls transfer/stop) == 0 ]]
}

@test "rsync and ssh: the builtin's children, with the transfer's options, no secret in their argv or environment; the host keys 0600 in a private 0700 directory, removed after" {
	rpc_settings '{"transfer_rate": 400000}'
	start_shell "export UPGRADE_TOKEN=\$TOKEN PGPASSWORD=pg-secret-42 SSH_AUTH_SOCK=/tmp/agent.sock \\
		RSYNC_PARTIAL_DIR=/tmp/elsewhere; upgrade upload \"\$BIG\" $RPC"
	wait_until 20 '[[ -n $(children_of "$(children_of "$SHELL_PID")") ]]'
	local rsync_pid ssh_pid p kh
	rsync_pid=$(children_of "$SHELL_PID")
	ssh_pid=$(children_of "$rsync_pid")
	[[ $(</proc/$rsync_pid/comm) == rsync && $(</proc/$ssh_pid/comm) == ssh ]]
	for p in "$rsync_pid" "$ssh_pid"; do
		# (`! cmd` would not fail a bats test: bash's errexit ignores it)
		run grep -caF "$TOKEN" "/proc/$p/cmdline" "/proc/$p/environ"
		[[ $output == *":0"*":0" ]]
		[[ -z $(tr '\0' '\n' <"/proc/$p/environ" | grep -E '^(UPGRADE_|TOKEN=|PGPASSWORD|SSH_AUTH_SOCK|RSYNC_)') ]]
		tr '\0' '\n' <"/proc/$p/environ" | grep -q '^PATH='
	done
	tr '\0' ' ' <"/proc/$ssh_pid/cmdline" | grep -qE -- "^ssh -F /dev/null -p [0-9]+ -o IdentitiesOnly=yes \
-o StrictHostKeyChecking=yes -o BatchMode=yes -o UserKnownHostsFile=[^ ]+ -o GlobalKnownHostsFile=/dev/null \
-i $KEY -l odoo localhost rsync --server "
	kh=$(tr '\0' '\n' <"/proc/$ssh_pid/cmdline" | sed -n 's/^UserKnownHostsFile=//p')
	[[ $(stat -c %a "$kh") == 600 && $(stat -c %a "${kh%/*}") == 700 && $(stat -c %u "${kh%/*}") == $(id -u) ]]
	[[ $(<"$kh") == "[localhost]:$(request_view | jq .transfer.port) "* ]]
	wait "$SHELL_PID"
	[[ ! -e $kh && ! -e ${kh%/*} ]]
	jq -e '.failures == [] and .transfer.size == 1600005' shell.out
	cmp "$BIG" "$DATA/origin.dump"
}

@test "SIGKILL of the shell mid-upload: rsync and ssh are gone within 2 s; a re-run sends only what is missing and removes the host keys the killed shell left, once 10 minutes old" {
	rpc_settings '{"transfer_rate": 1500000}'
	local tmp=$BATS_TEST_TMPDIR/tmp
	mkdir -m 700 "$tmp"
	start_shell "export TMPDIR='$tmp'; upgrade upload \"\$HUGE\" $RPC"
	# the platform's side holds a quarter of it
	wait_until 30 '[[ -n $(find "$DATA" -maxdepth 1 -name ".origin.dump.*" -size +2000k) ]]'
	local children have sent size
	children="$(children_of "$SHELL_PID") $(children_of "$(children_of "$SHELL_PID")")"
	[[ -n ${children// /} ]]
	kill -KILL "$SHELL_PID"
	if ! wait_until 2 '[[ -z $(living $children) ]]'; then
		ps -o pid,ppid,args -p "$(living $children | paste -sd,)" >&2
		return 1
	fi
	# the platform's side kept what came (--partial) when its session ended
	wait_until 10 '[[ $(request_view | jq ".transfer_bytes | length") == 1 && -f $DATA/origin.dump ]]'
	have=$(stat -c %s "$DATA/origin.dump")
	size=$(stat -c %s "$HUGE")
	(( have > 2000000 && have < size ))
	# the killed shell's host keys, left; beside them what must stay: the
	# same of a dead shell but fresh, of a live process (this one), a link
	# (to a directory of known_hosts that is not the sweep's)
	local left
	left=$(compgen -G "$tmp/upgrade-rsync.$SHELL_PID.??????")
	[[ -f $left/known_hosts ]]
	cp -a "$left" "$tmp/upgrade-rsync.$SHELL_PID.fresh1"
	mkdir -m 700 "$tmp/upgrade-rsync.$$.alive1"
	cp -a "$left" "$tmp/elsewhere"
	ln -s "$tmp/elsewhere" "$tmp/upgrade-rsync.$SHELL_PID.link01"
	touch -h -d '-11 minutes' "$left" "$tmp/upgrade-rsync.$$.alive1" "$tmp/upgrade-rsync.$SHELL_PID.link01" \
		"$tmp/elsewhere"
	rpc_settings '{"transfer_rate": 0}'
	run --separate-stderr ucall "export TMPDIR='$tmp'; upgrade upload \"\$HUGE\" $RPC"
	expect_status 0
	cmp "$HUGE" "$DATA/origin.dump"
	sent=$(request_view | jq '.transfer_bytes[-1][0]')
	echo "# had $have of $size bytes; the re-run sent $sent" >&3
	(( sent >= size - have && sent < size - have + size / 20 + 16384 ))
	[[ $(calls transfer/stop) == 1 ]]
	[[ ! -e $left && -d $tmp/upgrade-rsync.$SHELL_PID.fresh1 && -d $tmp/upgrade-rsync.$$.alive1 &&
		-L $tmp/upgrade-rsync.$SHELL_PID.link01 && -f $tmp/elsewhere/known_hosts ]]
	# and the re-run's own are gone
	[[ $(compgen -G "$tmp/upgrade-rsync.*" | wc -l) == 3 ]]
}

@test "Ctrl-C (SIGINT, trapped) mid-download: 130 within a second, rsync and ssh gone, the shell goes on; a re-run completes it" {
	uploaded
	rpc_settings '{"transfer_rate": 100000}'
	mkdir tmp
	run --separate-stderr ucall 'export TMPDIR=$PWD/tmp
		trap "echo trapped >&2" INT
		( until [[ -n $(find out -type f -size +1k 2>/dev/null) ]]; do sleep 0.05; done
		  echo "$EPOCHREALTIME" >sent.at; kill -INT $$ ) &
		upgrade download -o out '"$RPC"'
		rc=$?; echo "$EPOCHREALTIME" >back.at; wait; (exit $rc)'
	expect_status 130
	alive
	stderr_has trapped
	expect_reason CLIENT:INTERRUPTED
	awk -v a="$(<sent.at)" -v b="$(<back.at)" -v max="$(scaled 1)" 'BEGIN { exit !(b - a < max) }'
	[[ -z $(pgrep -f "$PWD/tmp") && -z $(ls -A tmp) ]]
	[[ $(calls transfer/stop) == 0 ]]
	rpc_settings '{"transfer_rate": null}'
	rpc_upgrade download -o out
	expect_status 0
	diff -r "$DATA/upgraded.dump" out/upgraded.dump
	[[ -z $(find out -name .rsync-partial) ]]
}

@test "--progress: rsync's progress drives the builtin's own meter on stderr; -s: none" {
	rpc_settings '{"transfer_rate": 800000}'
	rpc_upgrade upload "\"\$BIG\"" --progress
	expect_status 0
	stderr_has 'upload big.dump'
	stderr_has '1.5 MiB'
	new_request
	rpc_upgrade upload "\"\$BIG\"" -s
	expect_status 0
	[[ $stderr == SHELL-ALIVE ]]
}
