#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-3.0-or-later
# upgrade status --api rpc: the platform's JSON-RPC dialect, one call, and
# every way its answer can be refused

load helpers

setup_file() {
	start_emulator
	harness_ssh_keygen "$BATS_FILE_TMPDIR/key" >/dev/null
	# the platform's front answers status at its root: no /database/v1
	export RPC_URL=https://localhost:$EMULATOR_PORT
	TOKEN=$(rpc_call create "$(jq -cn --rawfile k "$BATS_FILE_TMPDIR/key.pub" \
		'{contract: "M1234-abcd", target: "17.0", aim: "test", actuator: "cli",
		  env_vars: [], ssh_key: $k, api_version: "0.2"}')" | jq -er .result.token) || return 1
	export TOKEN
}

setup() {
	emulator_reset
}

# rpc_status [ARGS]: upgrade status under rpc for $TOKEN, as ucall runs it.
rpc_status() {
	run --separate-stderr ucall "upgrade status --api rpc --url \"\$RPC_URL\" --cacert \"\$CA\" --token \"\$TOKEN\" $*"
}

@test "status --api rpc --token: exit 0, one line, the request's state, node and archived flag" {
	rpc_status
	expect_status 0
	one_line
	alive
	jqe '.failures == [] and .request.status == "new" and .request.host_uri == "localhost" and
		.request.archived == false'
	[ "$stderr" = SHELL-ALIVE ]
}

@test "status under rpc follows the platform's state" {
	emulator_curl /_emulator/rpc_state -H 'Content-Type: application/json' \
		-d "$(jq -cn --arg t "$TOKEN" '{token: $t, state: "failed", reason: "no space left"}')" -o /dev/null
	rpc_status
	expect_status 0
	jqe '.request.status == "failed" and .request.reason == "no space left"'
	emulator_curl /_emulator/rpc_state -H 'Content-Type: application/json' \
		-d "$(jq -cn --arg t "$TOKEN" '{token: $t, state: "new"}')" -o /dev/null
}

@test "UPGRADE_API=rpc and UPGRADE_TOKEN name the dialect and the request, unexported" {
	run --separate-stderr ucall 'UPGRADE_API=rpc; UPGRADE_TOKEN=$TOKEN; export -n UPGRADE_TOKEN
		UPGRADE_URL=$RPC_URL; upgrade status --cacert "$CA"'
	expect_status 0
	alive
	jqe '.request.status == "new"'
}

@test "the token never reaches stderr: not in --verbose's trace, cut out of a message that quotes it" {
	rpc_status --verbose
	expect_status 0
	stderr_has 'upgrade/request/status'
	stderr_lacks "$TOKEN"
	emulator_fault rpc/status result_error "$(jq -cn --arg t "$TOKEN" '{message: ("Invalid token " + $t)}')"
	rpc_status
	expect_status 1
	jqe --arg t "$TOKEN" '.failures[0].message == "Invalid token " + $t'
	stderr_has 'Invalid token'
	stderr_lacks "$TOKEN"
}

@test "status under rpc without a token: exit 2 CLIENT:USAGE" {
	run --separate-stderr ucall 'unset UPGRADE_TOKEN; upgrade status --api rpc --url "$RPC_URL" --cacert "$CA"'
	expect_status 2
	alive
	expect_reason CLIENT:USAGE
	jqe '.failures[0].message | contains("--token TOKEN") and contains("UPGRADE_TOKEN")'
}

@test "a token that is not URL-safe: exit 2 CLIENT:USAGE, the token not quoted" {
	run --separate-stderr ucall 'upgrade status --api rpc --url "$RPC_URL" --cacert "$CA" --token "a&b=secret"'
	expect_status 2
	expect_reason CLIENT:USAGE
	jqe '.failures[0].message | contains("URL-safe")'
	[[ $output != *secret* && $stderr != *secret* ]]
}

@test "--api other than v1 or rpc: exit 2; a subcommand that does not speak rpc refuses it: exit 2" {
	run --separate-stderr ucall 'upgrade status --api v3 --token "$TOKEN"'
	expect_status 2
	alive
	run --separate-stderr ucall 'UPGRADE_API=v3 upgrade status --token "$TOKEN"'
	expect_status 2
	expect_reason CLIENT:USAGE
	run --separate-stderr ucall 'upgrade skip-test --api rpc --url "$RPC_URL" --cacert "$CA" --token "$TOKEN"'
	expect_status 2
	expect_reason CLIENT:USAGE
	stderr_has 'does not speak the rpc dialect'
}

@test "result.error: exit 1 SERVER:REFUSED with the platform's message" {
	emulator_fault rpc/status result_error '"message": "Invalid token"'
	rpc_status
	expect_status 1
	one_line
	alive
	expect_reason SERVER:REFUSED
	jqe '.failures[0].message == "Invalid token"'
}

@test "an Odoo error object: exit 1 SERVER:ERROR with error.data.message" {
	emulator_fault rpc/status odoo_error '"message": "The request does not exist"'
	rpc_status
	expect_status 1
	expect_reason SERVER:ERROR
	jqe '.failures[0].message == "The request does not exist"'
}

@test "an HTML maintenance page with HTTP 200: exit 3 CLIENT:BAD_RESPONSE" {
	emulator_fault rpc/status html
	rpc_status
	expect_status 3
	alive
	expect_reason CLIENT:BAD_RESPONSE
	stderr_has 'HTML'
}

@test "HTTP 502: exit 3 CLIENT:HTTP with the code, retried with --retry (status is safe to ask again)" {
	emulator_fault rpc/status http '"status": 502'
	rpc_status
	expect_status 3
	expect_reason CLIENT:HTTP
	jqe '.failures[0].code == 502'
	emulator_fault rpc/status http '"status": 503'
	rpc_status --retry 1 --retry-delay 0.1
	expect_status 0
	jqe '.request.status == "new"'
}

@test "a missing host_uri: exit 3 CLIENT:BAD_RESPONSE naming the field" {
	emulator_fault rpc/status missing '"field": "host_uri"'
	rpc_status
	expect_status 3
	expect_reason CLIENT:BAD_RESPONSE
	jqe '.failures[0].message | contains("host_uri") and contains("missing")'
}

@test "a host_uri that is not a bare host: exit 3, quoted escaped, nothing raw on the terminal" {
	emulator_fault rpc/status set '"field": "host_uri", "value": "evil.example/x\u001b]0;pwned\u0007"'
	rpc_status
	expect_status 3
	alive
	expect_reason CLIENT:BAD_RESPONSE
	jqe '.failures[0].message | contains("host_uri") and (contains("\u001b") | not)'
	[[ $stderr != *$'\e'* && $stderr != *$'\a'* ]]
}

@test "a state the platform is not known to report: exit 3 CLIENT:BAD_RESPONSE" {
	emulator_fault rpc/status set '"field": "status", "value": "lost"'
	rpc_status
	expect_status 3
	expect_reason CLIENT:BAD_RESPONSE
}

@test "--connect-to, curl's: https://localhost (port 443) reached at the emulator's port, the name checked by TLS" {
	run --separate-stderr ucall 'upgrade status --api rpc --url https://localhost --cacert "$CA" --token "$TOKEN" --connect-timeout 5'
	expect_status 3
	alive
	run --separate-stderr ucall 'upgrade status --api rpc --url https://localhost --cacert "$CA" --token "$TOKEN" \
		--connect-to "localhost:443:127.0.0.1:$EMULATOR_PORT"'
	expect_status 0
	jqe '.request.status == "new"'
	run --separate-stderr ucall 'UPGRADE_CONNECT_TO="localhost:443:127.0.0.1:$EMULATOR_PORT"
		upgrade status --api rpc --url https://localhost --cacert "$CA" --token "$TOKEN"'
	expect_status 0
}

@test "--connect-to that is not HOST:PORT:CONNECT-TO-HOST:CONNECT-TO-PORT: exit 2 CLIENT:USAGE, nothing sent" {
	run --separate-stderr ucall 'upgrade status --api rpc --url "$RPC_URL" --cacert "$CA" --token "$TOKEN" --connect-to localhost:443'
	expect_status 2
	alive
	expect_reason CLIENT:USAGE
	jqe '.failures[0].message | contains("HOST:PORT:CONNECT-TO-HOST:CONNECT-TO-PORT")'
	run --separate-stderr ucall 'UPGRADE_CONNECT_TO=x upgrade status --api rpc --url "$RPC_URL" --cacert "$CA" --token "$TOKEN"'
	expect_status 2
	expect_reason CLIENT:USAGE
}
