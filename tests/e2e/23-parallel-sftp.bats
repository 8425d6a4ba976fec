#!/usr/bin/env bats
# --parallel N for sftp-put and sftp-get against OpenSSH's real sshd: N SSH
# sessions at once, each writing or reading its chunks at their offsets.
# Files are small and chunks are 256 KiB (UPGRADE_TEST_CHUNK_KIB, a
# test-only knob: HACKING.md) so that a few MiB make many chunks.  Every
# transfer is checked byte for byte.
load helpers

setup_file() {
	start_sshd_emulator
	harness_ssh_keygen "$KEYS/id_ed25519" >/dev/null
	harness_known_hosts "$KEYS/known_hosts"
	export UPGRADE_TEST_CHUNK_KIB=256
	export SIZE=$(mib 12)
	head -c "$SIZE" /dev/urandom >"$HARNESS_DIR/par.dump"
}

setup() {
	cd "$BATS_TEST_TMPDIR"
	cp "$KEYS/known_hosts" kh
	SSH=(--identity "$KEYS/id_ed25519" --known-hosts "$PWD/kh" --cacert "$CA")
}

# shared [FILENAME]: the request's shared file on the SFTP server.
shared() { echo "$SFTP_ROOT/$REQ/${1:-db.dump}"; }

# upgraded: the bytes sftp-get must deliver for par.dump.
upgraded() { printf 'UPGRADED TO 16.0\n'; cat "$HARNESS_DIR/par.dump"; }

# a done request whose upgraded dump is par.dump's
get_request() {
	api_create
	api_upload "$HARNESS_DIR/par.dump"
	emulator_set_state "$REQ" done
}

# the sum of per_stream, the streams used, and the bytes field agree
streams_agree() {
	jqe --argjson n "$1" '.transfer.streams.asked == $n and .transfer.streams.used == $n
		and (.transfer.per_stream | length) == $n and (.transfer.per_stream | add) == .transfer.bytes'
}

@test "sftp-put --parallel 1, 2, 4: byte-exact, every stream used, per-stream bytes add up" {
	for n in 1 2 4; do
		api_create
		run --separate-stderr ucall 'upgrade sftp-put "$@" "$HARNESS_DIR/par.dump"' --parallel "$n" "${SSH[@]}"
		expect_status 0
		streams_agree "$n"
		jqe '.transfer.bytes == ($ENV.SIZE | tonumber) and .transfer.resumed_from == 0'
		cmp "$HARNESS_DIR/par.dump" "$(shared)"
		[[ ! -e $HARNESS_DIR/par.dump.sftp-put.meta ]]
	done
}

@test "sftp-get --parallel 1, 2, 4: byte-exact, mode 0600, no .part or record left" {
	get_request
	for n in 1 2 4; do
		run --separate-stderr ucall 'upgrade sftp-get "$@"' -o "got.$n" --parallel "$n" "${SSH[@]}"
		expect_status 0
		streams_agree "$n"
		cmp <(upgraded) "got.$n"
		[[ $(file_mode "got.$n") == 600 && ! -e got.$n.part && ! -e got.$n.part.meta ]]
	done
}
