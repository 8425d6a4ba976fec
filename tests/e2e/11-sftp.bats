#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-3.0-or-later
# SFTP through the builtin against OpenSSH's real sshd: sftp-access,
# sftp-put, sftp-get, resume both ways, host keys, identities, a server
# killed mid-transfer.  Every transfer is checked byte for byte.
load helpers

setup_file() {
	start_sshd_emulator
	ssh-keygen -q -t ecdsa -N '' -f "$KEYS/id_ecdsa" </dev/null
	ssh-keygen -q -t ed25519 -N '' -f "$KEYS/stranger" </dev/null
	dump_bytes "$(mib 30)" >"$HARNESS_DIR/big.dump"
	export BIG=$(mib 30)
}

setup() {
	cd "$BATS_TEST_TMPDIR"
	use_sftp_client
}

@test "sftp-access sends a public keys file and prints the connection" {
	api_create
	run --separate-stderr ucall 'upgrade sftp-access --cacert "$CA" --ssh-keys "$KEYS/id_ed25519.pub"'
	expect_status 0
	one_line
	jqe --arg port "$SSHD_PORT" '.failures == [] and .request.hostname == "127.0.0.1"
		and (.request.sftp_port | tostring) == $port and .request.shared_file == "db.dump"'
	grep -q "$(cut -d' ' -f2 "$KEYS/id_ed25519.pub")" "$SSHD_AUTHORIZED_KEYS"
}

@test "sftp-access refuses a private key, naming the line, and sends nothing" {
	api_create
	before=$(method_count request_sftp_access)
	run --separate-stderr ucall 'upgrade sftp-access --cacert "$CA" --ssh-keys "$KEYS/id_ed25519"'
	expect_status 2
	expect_reason CLIENT:SSH_KEYS
	stderr_has "line 1"
	stderr_has "PRIVATE"
	stderr_lacks "$(sed -n 2p "$KEYS/id_ed25519")"
	[[ $(method_count request_sftp_access) == "$before" ]]
	alive
}

@test "sftp-access refuses garbage and an empty file" {
	api_create
	printf '# only a comment\n\n' >empty.keys
	{ cat "$KEYS/id_ed25519.pub"; echo 'not a key at all'; } >garbage.keys
	run --separate-stderr ucall 'upgrade sftp-access --cacert "$CA" --ssh-keys empty.keys'
	expect_status 2
	expect_reason CLIENT:SSH_KEYS
	run --separate-stderr ucall 'upgrade sftp-access --cacert "$CA" --ssh-keys garbage.keys'
	expect_status 2
	stderr_has "line 2"
	run --separate-stderr ucall 'upgrade sftp-access --cacert "$CA" --ssh-keys missing.keys'
	expect_status 2
	expect_reason CLIENT:FILE
}

@test "sftp-put uploads from scratch, byte-exact, and process finds the dump" {
	api_create
	run --separate-stderr ucall 'upgrade sftp-put --cacert "$CA" "${@}" "$HARNESS_DIR/big.dump"' "${SSH[@]}"
	expect_status 0
	one_line
	jqe '.failures == [] and .transfer.bytes == ($ENV.BIG | tonumber) and .transfer.resumed_from == 0 and .transfer.remote == "db.dump"'
	cmp "$HARNESS_DIR/big.dump" "$(shared)"
	run ucall 'upgrade process --cacert "$CA" -q .failures -c'
	expect_status 0
}

@test "sftp-put resumes after the prefix a broken upload left" {
	api_create
	run ucall 'upgrade sftp-access --cacert "$CA" --ssh-keys "$KEYS/id_ed25519.pub" -s'
	head -c $((BIG / 3)) "$HARNESS_DIR/big.dump" >"$(shared)"
	run --separate-stderr ucall 'upgrade sftp-put --cacert "$CA" "${@}" "$HARNESS_DIR/big.dump"' "${SSH[@]}"
	expect_status 0
	jqe --argjson p $((BIG / 3)) '.transfer.resumed_from == $p and .transfer.bytes == ($ENV.BIG | tonumber) - $p'
	cmp "$HARNESS_DIR/big.dump" "$(shared)"
}

@test "sftp-put never completes another file's prefix: a remote head or tail unlike the local file starts it over" {
	api_create
	run ucall 'upgrade sftp-access --cacert "$CA" --ssh-keys "$KEYS/id_ed25519.pub" -s'
	# another dump's first third (differs from the start)
	dump_bytes $((BIG / 3)) >"$(shared)"
	run --separate-stderr ucall 'upgrade sftp-put --cacert "$CA" "${@}" "$HARNESS_DIR/big.dump"' "${SSH[@]}"
	expect_status 0
	jqe '.transfer.resumed_from == 0'
	stderr_has 'not the start of'
	cmp "$HARNESS_DIR/big.dump" "$(shared)"
	# this dump's first third with its last byte changed (same head, other tail)
	head -c $((BIG / 3)) "$HARNESS_DIR/big.dump" >"$(shared)"
	python3 -c 'import sys; f = open(sys.argv[1], "r+b"); f.seek(-1, 2); b = f.read(1)[0]; f.seek(-1, 2); f.write(bytes([b ^ 0xff]))' "$(shared)"
	run --separate-stderr ucall 'upgrade sftp-put --cacert "$CA" "${@}" "$HARNESS_DIR/big.dump"' "${SSH[@]}"
	expect_status 0
	jqe '.transfer.resumed_from == 0'
	cmp "$HARNESS_DIR/big.dump" "$(shared)"
}

@test "sftp-put refuses to truncate a remote file larger than the local one" {
	api_create
	run ucall 'upgrade sftp-access --cacert "$CA" --ssh-keys "$KEYS/id_ed25519.pub" -s'
	dump_bytes 2000 >small.dump
	dump_bytes 5000 >"$(shared)"
	cp "$(shared)" before
	run --separate-stderr ucall 'upgrade sftp-put --cacert "$CA" "${@}" small.dump' "${SSH[@]}"
	expect_status 3
	expect_reason CLIENT:SFTP
	cmp before "$(shared)"
}

@test "sftp-put works with an ECDSA identity too" {
	api_create
	run --separate-stderr ucall 'upgrade sftp-put --cacert "$CA" --identity "$KEYS/id_ecdsa" --known-hosts kh "$HARNESS_DIR/big.dump"'
	expect_status 0
	cmp "$HARNESS_DIR/big.dump" "$(shared)"
}

@test "an unknown host key is refused (exit 5); --accept-new-host-key records it" {
	api_create
	: >empty_kh
	run --separate-stderr ucall 'upgrade sftp-put --cacert "$CA" --identity "$KEYS/id_ed25519" --known-hosts empty_kh "$HARNESS_DIR/big.dump"'
	expect_status 5
	expect_reason CLIENT:HOST_KEY
	stderr_has "SHA256:"
	[[ ! -s empty_kh ]]
	run --separate-stderr ucall 'upgrade sftp-put --cacert "$CA" --identity "$KEYS/id_ed25519" --known-hosts empty_kh --accept-new-host-key "$HARNESS_DIR/big.dump"'
	expect_status 0
	grep -q "\[127.0.0.1\]:$SSHD_PORT" empty_kh
	cmp "$HARNESS_DIR/big.dump" "$(shared)"
	# and now it is known: no flag needed
	run ucall 'upgrade sftp-put --cacert "$CA" --identity "$KEYS/id_ed25519" --known-hosts empty_kh "$HARNESS_DIR/big.dump" -s'
	expect_status 0
}

@test "a changed host key is refused even with --accept-new-host-key" {
	api_create
	ssh-keygen -q -t ed25519 -N '' -f other_host </dev/null
	printf '[127.0.0.1]:%s %s\n' "$SSHD_PORT" "$(cut -d' ' -f1,2 other_host.pub)" >changed_kh
	cp changed_kh kh_before
	run --separate-stderr ucall 'upgrade sftp-put --cacert "$CA" --identity "$KEYS/id_ed25519" --known-hosts changed_kh --accept-new-host-key "$HARNESS_DIR/big.dump"'
	expect_status 5
	expect_reason CLIENT:HOST_KEY
	cmp kh_before changed_kh
}

@test "a wrong identity fails authentication (exit 3, CLIENT:SSH_AUTH)" {
	api_create
	# grant access for one key, authenticate with another
	run ucall 'upgrade sftp-access --cacert "$CA" --ssh-keys "$KEYS/id_ed25519.pub" -s'
	cp "$KEYS/stranger" stranger && rm -f stranger.pub
	run --separate-stderr ucall 'SSH_AUTH_SOCK= upgrade sftp-put --cacert "$CA" --identity stranger --ssh-keys "$KEYS/id_ed25519.pub" --known-hosts kh "$HARNESS_DIR/big.dump"'
	expect_status 3
	expect_reason CLIENT:SSH_AUTH
	alive
}

@test "a missing identity file is a usage error" {
	api_create
	run --separate-stderr ucall 'upgrade sftp-put --cacert "$CA" --identity nowhere --known-hosts kh "$HARNESS_DIR/big.dump"'
	expect_status 2
	expect_reason CLIENT:FILE
}

@test "sftp-get downloads upgraded_<filename>, mode 0600, byte-exact; resumes a .part" {
	api_create
	api_upload "$HARNESS_DIR/big.dump"
	emulator_set_state "$REQ" done
	run --separate-stderr ucall 'upgrade sftp-get --cacert "$CA" "${@}"' "${SSH[@]}"
	expect_status 0
	jqe '.transfer.file == "upgraded_db.dump" and .transfer.resumed_from == 0'
	cmp <(printf 'UPGRADED TO 16.0\n'; cat "$HARNESS_DIR/big.dump") upgraded_db.dump
	[[ $(file_mode upgraded_db.dump) == 600 ]]
	# a partial one (a file-size limit broke it off) is continued
	run ucall 'trap "" XFSZ; ulimit -f $1; shift; upgrade sftp-get --cacert "$CA" -o again.dump -s "$@"' $((BIG / 4 / 1024)) "${SSH[@]}"
	[[ $status == 2 && $(stat -c %s again.dump.part) == $((BIG / 4)) ]]
	run --separate-stderr ucall 'upgrade sftp-get --cacert "$CA" -o again.dump "${@}"' "${SSH[@]}"
	expect_status 0
	jqe --argjson p $((BIG / 4)) '.transfer.resumed_from == $p'
	cmp upgraded_db.dump again.dump
	# an existing file is kept unless --force
	run --separate-stderr ucall 'upgrade sftp-get --cacert "$CA" -o again.dump "${@}"' "${SSH[@]}"
	expect_status 2
	expect_reason CLIENT:FILE
}

@test "sshd killed mid-upload: an error, not a hang; the next sftp-put resumes, byte-exact" {
	api_create
	dump_bytes "$(mib 400 8)" >huge.dump
	# one stream: the resume of a prefix (parallel puts: 23-parallel-sftp.bats)
	ubash 'upgrade sftp-put --parallel 1 --cacert "$CA" "${@}" huge.dump -s' "${SSH[@]}" >put.out 2>put.err &
	pid=$!
	wait_until 10 '[[ -f $(shared) && $(stat -c %s "$(shared)") -gt $(($(stat -c %s huge.dump) / 20)) ]]'
	sshd_kill
	wait $pid && rc=0 || rc=$?
	[[ $rc == 3 ]] || { cat put.out put.err >&2; false; }
	jq -e '.failures[0].reason | test("CLIENT:(SSH|SFTP|NETWORK)")' put.out
	sshd_start
	partial=$(stat -c %s "$(shared)")
	(( partial > 0 && partial < $(stat -c %s huge.dump) ))
	run --separate-stderr ucall 'upgrade sftp-put --parallel 1 --cacert "$CA" "${@}" huge.dump' "${SSH[@]}"
	expect_status 0
	jqe --argjson p "$partial" '.transfer.resumed_from > 0 and .transfer.resumed_from <= $p'
	cmp huge.dump "$(shared)"
	rm -f huge.dump "$(shared)"
}

@test "Ctrl-C (a trapped SIGINT) stops sftp-put within a second, exit 130, resumable" {
	api_create
	dump_bytes "$(mib 400 8)" >huge.dump
	run --separate-stderr ucall '
		trap "echo trapped >&2" INT
		# interrupt once the upload is under way (valgrind is slow to start)
		(for ((i = 0; i < 600; i++)); do
			[[ -f $1 && $(stat -c %s "$1") -gt 0 ]] && break
			sleep 0.05
		done; kill -INT $$) &
		shift
		start=$EPOCHREALTIME
		upgrade sftp-put --parallel 1 --cacert "$CA" "${@}" huge.dump -s # one stream: see 23 for parallel
		rc=$?
		echo "rc=$rc took=$(awk -v a=$start -v b=$EPOCHREALTIME "BEGIN {print b - a}")" >&2
		exit $rc' "$(shared)" "${SSH[@]}"
	expect_status 130
	stderr_has trapped
	took=$(grep -o 'took=[0-9.]*' <<<"$stderr" | cut -d= -f2)
	less_than "$took" "$(scaled 2.5)"
	run --separate-stderr ucall 'upgrade sftp-put --parallel 1 --cacert "$CA" "${@}" huge.dump -s -q .transfer.resumed_from' "${SSH[@]}"
	expect_status 0
	# resumed past zero; not compared with the size seen after the interrupt:
	# sshd may still land packets already in its socket after we return.
	(( output > 0 ))
	cmp huge.dump "$(shared)"
	rm -f huge.dump "$(shared)"
}

@test "run --sftp: the whole job over SFTP, byte-exact" {
	cp "$HARNESS_DIR/big.dump" mine.dump
	run --separate-stderr ucall 'upgrade run --cacert "$CA" --sftp "${@}" --contract M123-abc --email t@example.com --target 16.0 --aim test --interval 0.1 mine.dump' "${SSH[@]}"
	expect_status 0
	jqe '.request.state == "done" and .transfer.remote == "upgraded_mine.dump"'
	cmp <(printf 'UPGRADED TO 16.0\n'; cat mine.dump) upgraded_mine.dump
}

@test "--progress draws a meter for SFTP on stderr, cleared at the end; -s silences it; stdout unchanged" {
	api_create
	run --separate-stderr ucall 'upgrade sftp-put --cacert "$CA" --progress "${@}" "$HARNESS_DIR/big.dump"' "${SSH[@]}"
	expect_status 0
	one_line
	stderr_has "uploading"
	stderr_has "100%"
	stderr_has "/s"
	[[ $stderr == *$'\r\033[K'* ]]
	run --separate-stderr ucall 'upgrade sftp-get --cacert "$CA" -o x.dump --progress -s "${@}"' "${SSH[@]}"
	[[ $stderr != *"%"* ]]
}

@test "ssh-agent: with no identity file, the agent's key logs in" {
	api_create
	eval "$(ssh-agent -s)" >/dev/null
	ssh-add -q "$KEYS/id_ecdsa" 2>/dev/null
	mkdir -p home
	run --separate-stderr ucall 'HOME=$PWD/home upgrade sftp-put --cacert "$CA" --ssh-keys "$KEYS/id_ecdsa.pub" --known-hosts kh "$HARNESS_DIR/big.dump"'
	ssh-agent -k >/dev/null
	expect_status 0
	cmp "$HARNESS_DIR/big.dump" "$(shared)"
}

@test "a hashed known_hosts entry is matched" {
	api_create
	cp kh hashed_kh
	ssh-keygen -q -H -f hashed_kh >/dev/null 2>&1
	! grep -q 127.0.0.1 hashed_kh
	run --separate-stderr ucall 'upgrade sftp-put --cacert "$CA" --identity "$KEYS/id_ed25519" --known-hosts hashed_kh "$HARNESS_DIR/big.dump"'
	expect_status 0
	cmp "$HARNESS_DIR/big.dump" "$(shared)"
}

@test "the round trip sizes what is in flight: small on loopback, the most through 30 ms of latency; byte-exact" {
	api_create
	run --separate-stderr ucall 'upgrade sftp-put --cacert "$CA" "${@}" "$HARNESS_DIR/big.dump"' "${SSH[@]}"
	expect_status 0
	local near
	near=$(jq '.transfer.in_flight' <<<"$output")
	# less than the most on bare loopback (256 KiB when the machine is idle;
	# a loaded machine or valgrind can stretch the round trip)
	instrumented || ((near >= 256 * 1024 && near < 2097152))

	# the same through a forwarder that delays each direction by 15 ms
	sftp_via_proxy --delay-ms 15
	api_create
	run --separate-stderr ucall 'upgrade sftp-put --cacert "$CA" "${@}" "$HARNESS_DIR/big.dump"' "${SSH[@]}"
	expect_status 0
	jqe --argjson near "$near" '.transfer.in_flight == 2097152 and .transfer.in_flight >= $near'
	cmp "$HARNESS_DIR/big.dump" "$(shared)"
	run ucall 'upgrade process --cacert "$CA" -s' # takes the dump from the shared file
	expect_status 0
	emulator_set_state "$REQ" done
	run --separate-stderr ucall 'upgrade sftp-get --cacert "$CA" "${@}"' "${SSH[@]}"
	expect_status 0
	jqe '.transfer.in_flight == 8388608'
	cmp <(printf 'UPGRADED TO 16.0\n'; cat "$HARNESS_DIR/big.dump") upgraded_db.dump
	announce_sftp_port "$SSHD_PORT"
}
