#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-3.0-or-later
# Faults on our side of a download: the disk fills up, a file-size limit is
# hit, sshd dies while a dump comes down.  Each ends with the documented
# exit status and failure, no finished-looking file, and a retry that
# completes once the fault is gone.
load helpers

setup_file() {
	start_sshd_emulator
	dump_bytes 8000000 >"$HARNESS_DIR/db.dump"
}

setup() { cd "$BATS_TEST_TMPDIR"; }

expect_upgraded() { cmp <(printf 'UPGRADED TO 16.0\n'; cat "$HARNESS_DIR/db.dump") "$1"; }

@test "a file-size limit hit while downloading: exit 2 CLIENT:FILE, .part kept, a later download completes" {
	done_request "$HARNESS_DIR/db.dump"
	# 2 MB limit; SIGXFSZ ignored so that write() fails with EFBIG instead
	run --separate-stderr ucall 'trap "" XFSZ; ulimit -f 2048; upgrade download --cacert "$CA" -o out.dump'
	expect_status 2
	expect_reason CLIENT:FILE
	stderr_has "too large"
	alive
	[[ ! -e out.dump && -s out.dump.part ]]
	run --separate-stderr ucall 'upgrade download --cacert "$CA" -o out.dump'
	expect_status 0
	jqe '.transfer.resumed_from > 0'
	expect_upgraded out.dump
}

@test "the disk fills up while downloading: exit 2 CLIENT:FILE (no space), a retry elsewhere completes" {
	done_request "$HARNESS_DIR/db.dump"
	mkdir small
	if ! mount -t tmpfs -o size=3m tmpfs small 2>/dev/null; then
		# no privilege to mount here: the file-size test above covers the path
		echo "# cannot mount a small tmpfs: ENOSPC case not exercised" >&3
		return 0
	fi
	run --separate-stderr ucall 'upgrade download --cacert "$CA" -o small/out.dump'
	umount small
	expect_status 2
	expect_reason CLIENT:FILE
	stderr_has "No space left"
	alive
	run --separate-stderr ucall 'upgrade download --cacert "$CA" -o out.dump'
	expect_status 0
	expect_upgraded out.dump
}

@test "sshd killed during sftp-get: exit 3, .part kept, the next sftp-get resumes byte-exact" {
	use_sftp_client
	dump_bytes "$(mib 300 8)" >big.dump
	api_create && api_upload big.dump && emulator_set_state "$REQ" done
	# one stream: the resume of a prefix (parallel gets: 23-parallel-sftp.bats)
	ubash 'upgrade sftp-get --parallel 1 --cacert "$CA" "$@" -o got.dump -s' "${SSH[@]}" >get.out 2>get.err &
	pid=$!
	# (a valgrind client takes more than 10 s to get there on a loaded machine)
	wait_until 10 '[[ -f got.dump.part && $(stat -c %s got.dump.part) -gt $(($(stat -c %s big.dump) / 30)) ]]'
	sshd_kill
	wait $pid && rc=0 || rc=$?
	[[ $rc == 3 ]] || { cat get.out get.err >&2; false; }
	[[ ! -e got.dump && -s got.dump.part ]]
	sshd_start
	run --separate-stderr ucall 'upgrade sftp-get --parallel 1 --cacert "$CA" "$@" -o got.dump' "${SSH[@]}"
	expect_status 0
	jqe '.transfer.resumed_from > 0'
	cmp <(printf 'UPGRADED TO 16.0\n'; cat big.dump) got.dump
	rm -f big.dump got.dump
}

@test "a server that accepts and never answers: --connect-timeout and --max-time bound the call" {
	port=$(harness_free_port)
	python3 -c '
import socket, sys, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(5)
conns = []
end = time.time() + 20
while time.time() < end:
    s.settimeout(0.5)
    try: conns.append(s.accept()[0])
    except OSError: pass
' "$port" &
	srv=$!
	# Listening before the call: python's start takes seconds on a loaded machine.
	for ((i = 0; i < 200; i++)); do _harness_port_open "$port" && break; sleep 0.05; done
	run --separate-stderr ucall_timed 'upgrade status --url "https://127.0.0.1:$1/database/v1" --request 1 --key k --max-time 1' "$port"
	kill $srv
	expect_status 3
	expect_reason CLIENT:TIMEOUT
	less_than "$(took)" "$(scaled 4)"
}
