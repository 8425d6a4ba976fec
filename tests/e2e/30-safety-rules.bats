#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-3.0-or-later
# Safety rules that no other test could tell broken from whole (issue 20):
# host keys of another type and @revoked lines under --accept-new-host-key,
# the order "data synced, then the record claims it" of a parallel HTTPS
# download and a parallel sftp-get (seen with strace: a power cut is what
# it guards against, and a SIGKILL keeps the page cache), and a job record
# that its group may read.  Each test here was seen failing with its rule
# broken; tests/mutants/list breaks them again on `make check-mutants`.
load helpers

setup_file() {
	start_sshd_emulator
	export UPGRADE_TEST_CHUNK=65536
	export SIZE=$((3 * 1048576 + 4321))
	dump_bytes "$SIZE" >"$HARNESS_DIR/par.dump"
}

setup() {
	cd "$BATS_TEST_TMPDIR"
	emulator_reset stats >/dev/null
	use_sftp_client
}

# --------------------------------------------------------------- host keys

# put_trusting KNOWN_HOSTS: sftp-put of a small dump with --accept-new-host-key
# and KNOWN_HOSTS; the file must come back unchanged (the test checks the rest).
put_trusting() {
	api_create
	dump_bytes 1000 >small.dump
	cp "$1" kh_before
	run --separate-stderr ucall 'upgrade sftp-put --cacert "$CA" --identity "$KEYS/id_ed25519" --known-hosts "$1" --accept-new-host-key small.dump' "$1"
	cmp kh_before "$1"
	! cmp -s small.dump "$(shared)"
}

@test "--accept-new-host-key: an ed25519 key of a host known only by its ECDSA key is refused (exit 5), known_hosts unchanged" {
	ssh-keygen -q -t ecdsa -N '' -f old_ecdsa </dev/null
	printf '[127.0.0.1]:%s %s\n' "$SSHD_PORT" "$(cut -d' ' -f1,2 old_ecdsa.pub)" >ecdsa_kh
	put_trusting ecdsa_kh
	expect_status 5
	expect_reason CLIENT:HOST_KEY
	stderr_has "other types"
	alive
}

@test "--accept-new-host-key: the server's key marked @revoked is refused (exit 5), stderr says revoked, known_hosts unchanged" {
	printf '@revoked [127.0.0.1]:%s %s\n' "$SSHD_PORT" "$(cut -d' ' -f1,2 "$SSHD_HOSTKEY_PUB")" >revoked_kh
	put_trusting revoked_kh
	expect_status 5
	expect_reason CLIENT:HOST_KEY
	stderr_has "@revoked"
	alive
}

# ----------------------------------------------- the data synced, then the record

# needs_strace: skip, saying why, where the order of system calls cannot be
# seen: no strace, or a bash that must not be traced (LeakSanitizer stops
# the process with ptrace itself; valgrind's system calls are its own).
needs_strace() {
	command -v strace >/dev/null || skip "strace is not installed (.ci/packages lists it)"
	[[ ${UPGRADE_SANITIZE:-0} == 0 ]] || skip "LeakSanitizer cannot ptrace a bash that strace traces"
	[[ ${UPGRADE_VALGRIND:-0} == 0 ]] || skip "under valgrind strace sees valgrind's system calls"
}

# traced SCRIPT [ARGS]: ucall's bash under strace, each thread's fdatasync,
# fsync, write and rename calls (descriptors shown as paths) in trace/st.TID.
traced() {
	mkdir -p trace
	timeout -k 5 "$(scaled 90)" strace -ff -qq -y -s 65536 -o trace/st \
		-e trace=fdatasync,fsync,write,rename,renameat,renameat2 \
		"$UBASH" "$1"$'\n''__rc=$?; echo SHELL-ALIVE >&2; exit $__rc' "${@:2}"
}

# synced_before_claims PART: in each traced thread, every rename onto
# PART.meta of a record (version 2) that claims more done bytes (whole
# chunks and heads) than any
# before it comes after an fdatasync or fsync of PART since the thread's
# previous rename of it.  Prints the claims; fails on the first that is not
# covered, or when fewer than two records claimed more (nothing was proved).
synced_before_claims() {
	"${PYTHON3:-python3}" - "$1" trace/st.* <<-'EOF'
		import codecs, json, re, sys
		part, files = sys.argv[1], sys.argv[2:]
		meta = part + ".meta"
		call = re.compile(r'^(\w+)\((.*)\) += (-?\d+)')
		arg_fd = re.compile(r'^-?\d+<([^>]*)>')
		claims, bad, claims_max = 0, [], {}
		for name in files:
		    synced, texts = False, {}
		    for line in open(name, errors="replace"):
		        m = call.match(line)
		        if not m or int(m.group(3)) < 0:
		            continue
		        fn, args = m.group(1), m.group(2)
		        fd = arg_fd.match(args)
		        path = fd.group(1) if fd else ""
		        if fn in ("fdatasync", "fsync") and path.endswith("/" + part):
		            synced = True
		        elif fn == "write" and re.search(r"/" + re.escape(meta) + r"\.\w+$", path):
		            s = re.match(r'^[^,]*, "((?:[^"\\]|\\.)*)"', args).group(1)
		            texts[path] = texts.get(path, b"") + codecs.escape_decode(s.encode())[0]
		        elif fn.startswith("rename"):
		            paths = re.findall(r'"((?:[^"\\]|\\.)*)"', args)
		            if len(paths) < 2 or not paths[1].endswith(meta):
		                continue
		            tmp = [t for p, t in texts.items() if p.endswith(paths[0].split("/")[-1])]
		            rec = json.loads(tmp[-1]) if tmp else {}
		            sg = rec.get("segments")
		            if rec.get("version") == 2 and sg:
		                done = sum(min(b * sg["chunk"], sg["size"]) - a * sg["chunk"] for a, b in sg["done"])
		                done += sum(b for i, b in sg.get("partial", []))
		                if done > claims_max.get(name, 0):
		                    claims += 1
		                    print("claims %d, synced before: %s" % (done, synced))
		                    if not synced:
		                        bad.append(done)
		                    claims_max[name] = done
		            synced, texts = False, {}
		        continue
		if bad:
		    sys.exit("records claim %s bytes without a sync of %s before them" % (bad, part))
		if claims < 2:
		    sys.exit("only %d records claimed more bytes: nothing proved" % claims)
	EOF
}

@test "download --parallel: every record that claims more bytes is written after an fdatasync of FILE.part" {
	needs_strace
	done_request "$HARNESS_DIR/par.dump" db.dump 16.0
	# 256 KiB/s per answer: about three seconds, a dozen checkpoints
	emulator_download_limits '{"rate": 262144}'
	run --separate-stderr traced 'upgrade download --cacert "$CA" -o F --parallel 4'
	expect_status 0
	cmp <(printf 'UPGRADED TO 16.0\n' && cat "$HARNESS_DIR/par.dump") F
	synced_before_claims F.part
}

@test "sftp-get --parallel: every record that claims more bytes is written after an fdatasync of FILE.part" {
	needs_strace
	done_request "$HARNESS_DIR/par.dump" db.dump 16.0
	sftp_via_proxy --delay-ms 0 --rate-kib 256
	run --separate-stderr traced 'upgrade sftp-get --cacert "$CA" -o F --parallel 4 "$@"' "${SSH[@]}"
	announce_sftp_port "$SSHD_PORT"
	expect_status 0
	cmp <(printf 'UPGRADED TO 16.0\n' && cat "$HARNESS_DIR/par.dump") F
	synced_before_claims F.part
}

# ------------------------------------------------------------ the job record

@test "run --continue refuses a job record its group may read (0640): exit 2, nothing sent" {
	dump_bytes 3000 >db.dump
	emulator_fault upload http503 >/dev/null
	run ucall 'upgrade run --cacert "$CA" --contract M123-abc --email t@example.com --target 16.0 --aim test --interval 0.1 -s db.dump'
	expect_status 3
	chmod 640 db.dump.upgrade.json
	local statuses
	statuses=$(method_count status)
	run --separate-stderr ucall 'upgrade run --cacert "$CA" --continue --interval 0.1 db.dump'
	expect_status 2
	expect_reason CLIENT:FILE
	stderr_has "chmod 600"
	alive
	[[ $(method_count status) == "$statuses" && ! -e upgraded_db.dump ]]
	[[ $(file_mode db.dump.upgrade.json) == 640 ]]
}
