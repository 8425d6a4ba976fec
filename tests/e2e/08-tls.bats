#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-3.0-or-later
# TLS trust: verification on by default, --cacert, -k, http:// refused.

load helpers

setup_file() {
	harness_make_ca
	# extra emulators first (emulator_start exports the last one's URL)
	EMULATOR_NAME=rogue start_emulator --cert "$HARNESS_DIR/rogue.pem" --key "$HARNESS_DIR/rogue.key"
	export ROGUE_URL=$UPGRADE_URL
	EMULATOR_NAME=wronghost start_emulator --cert "$HARNESS_DIR/wronghost.pem" --key "$HARNESS_DIR/wronghost.key"
	export WRONGHOST_URL=$UPGRADE_URL
	EMULATOR_NAME=plain start_emulator --plain
	export PLAIN_URL=$UPGRADE_URL
	start_emulator
	api_create
}

@test "no --cacert: the private CA is not trusted, exit 5 CLIENT:TLS" {
	local before
	before=$(stat_get .requests.status)
	run --separate-stderr ucall 'upgrade status'
	expect_status 5
	one_line
	alive
	expect_reason CLIENT:TLS
	# nothing got through
	[ "$(stat_get .requests.status)" = "$before" ]
}

@test "--cacert: verified, exit 0" {
	run --separate-stderr ucall 'upgrade status --cacert "$CA"'
	expect_status 0
	one_line
	alive
	jqe --argjson id "$REQ" '.request.id == $id'
}

@test "-k and --insecure: exit 0 without the CA" {
	run --separate-stderr ubash 'upgrade status -k -q .request.id'
	expect_status 0
	[ "$output" = "$REQ" ]
	run --separate-stderr ubash 'upgrade status --insecure -q .request.id'
	expect_status 0
	[ "$output" = "$REQ" ]
}

@test "--cacert of a missing file: exit 2 CLIENT:FILE, no connection made" {
	local before
	before=$(stat_get .connections)
	run --separate-stderr ucall 'upgrade status --cacert "$BATS_TEST_TMPDIR/nosuch.pem"'
	expect_status 2
	one_line
	alive
	expect_reason CLIENT:FILE
	# only the stats query itself connected
	[ "$(stat_get .connections)" -eq $((before + 1)) ]
}

@test "an http:// URL without -k: exit 5 before connecting" {
	local port
	port=$(harness_free_port)
	# nothing listens there: a connection attempt would end in CLIENT:NETWORK (3)
	run --separate-stderr ucall 'upgrade status --url "http://127.0.0.1:$1/database/v1"' "$port"
	expect_status 5
	one_line
	alive
	expect_reason CLIENT:TLS
	# a plain emulator that does listen gets no connection either
	local before
	before=$(EMULATOR_TLS=plain EMULATOR_URL=${PLAIN_URL%/database/v1} stat_get .connections)
	run --separate-stderr ucall 'upgrade status --url "$PLAIN_URL"'
	expect_status 5
	expect_reason CLIENT:TLS
	[ "$(EMULATOR_TLS=plain EMULATOR_URL=${PLAIN_URL%/database/v1} stat_get .connections)" -eq $((before + 1)) ]
}

@test "an http:// URL from \$UPGRADE_URL is refused too" {
	run --separate-stderr ucall 'UPGRADE_URL=$PLAIN_URL; upgrade status'
	expect_status 5
	expect_reason CLIENT:TLS
}

@test "an http:// URL with -k goes ahead" {
	# the plain emulator does not know our request: its answer proves the exchange
	run --separate-stderr ucall 'upgrade status -k --url "$PLAIN_URL"'
	expect_status 1
	alive
	expect_reason REQUEST:NOT_FOUND
}

@test "a server with an unrelated self-signed certificate: exit 5, even with --cacert" {
	run --separate-stderr ucall 'upgrade status --cacert "$CA" --url "$ROGUE_URL"'
	expect_status 5
	one_line
	alive
	expect_reason CLIENT:TLS
	run --separate-stderr ucall 'upgrade status --url "$ROGUE_URL"'
	expect_status 5
	expect_reason CLIENT:TLS
	# -k accepts it (and the rogue platform does not know the request)
	run --separate-stderr ucall 'upgrade status -k --url "$ROGUE_URL"'
	expect_status 1
	expect_reason REQUEST:NOT_FOUND
}

@test "a certificate from the trusted CA but for another host name: exit 5" {
	run --separate-stderr ucall 'upgrade status --cacert "$CA" --url "$WRONGHOST_URL"'
	expect_status 5
	one_line
	alive
	expect_reason CLIENT:TLS
}

@test "TLS refusal on every subcommand that talks: create, upload, process, wait, download" {
	printf 'x\n' >"$BATS_TEST_TMPDIR/x.dump"
	cd "$BATS_TEST_TMPDIR"
	run --separate-stderr ubash '
		upgrade create --contract M1-abc --email a@b.c --target 16.0 --aim test --filename x -s; echo "create=$?"
		upgrade upload "$1" -s; echo "upload=$?"
		upgrade process -s; echo "process=$?"
		upgrade wait --interval 0.1 -s; echo "wait=$?"
		upgrade download -o F -s; echo "download=$?"' "$BATS_TEST_TMPDIR/x.dump"
	expect_status 0
	[ "$(grep -c '^{' <<<"$output")" -eq 5 ]
	[ "$(grep -v '^{' <<<"$output" | tr '\n' ' ')" = "create=5 upload=5 process=5 wait=5 download=5 " ]
	[ ! -e F ] && [ ! -e F.part ]
}
