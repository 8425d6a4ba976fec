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

@test "\$UPGRADE_IDENTITY names the key under rpc; --identity is refused by v1's upload and download" {
	run --separate-stderr ucall 'UPGRADE_IDENTITY=$KEY; UPGRADE_API=rpc; UPGRADE_TOKEN=$TOKEN
		upgrade upload "$DUMPFILE" --url https://localhost --cacert "$CA"'
	expect_status 0
	cmp "$DUMPFILE" "$DATA/origin.dump"
	run --separate-stderr ucall 'upgrade upload "$DUMPFILE" --api v1 --identity "$KEY" --request 1 --key k'
	expect_status 2
	expect_reason CLIENT:USAGE
	run --separate-stderr ucall 'upgrade download --api v1 --identity "$KEY" --request 1 --key k'
	expect_status 2
	expect_reason CLIENT:USAGE
}
