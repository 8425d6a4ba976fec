#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-3.0-or-later
# Which bytes a FILE.part may be continued with: only those of the same
# request, file and version (the record FILE.part.meta), and only what a
# server's answer really says -- two requests sharing a file name, a file
# changed between tries, lying Content-Range / Content-Length, servers
# without validators, refused URLs, a FIFO at FILE.part, a file-size limit
# hit by sftp-get.  The emulator plays the platform; the hostile server
# (tests/lib/hostile_server.py) plays a server that changes or lies.
load helpers

setup_file() {
	start_sshd_emulator
	hostile_start
	export A_DUMP=$BATS_FILE_TMPDIR/a.dump B_DUMP=$BATS_FILE_TMPDIR/b.dump
	dump_bytes 400000 >"$A_DUMP"
	dump_bytes 400000 >"$B_DUMP"
}

setup() {
	emulator_reset
	cd "$BATS_TEST_TMPDIR"
	use_sftp_client
}

# upgraded DUMP: what the emulator serves as the upgraded dump of DUMP.
upgraded() { printf 'UPGRADED TO 16.0\n' && cat "$1"; }

# no_part F: neither F nor F.part nor its record is there.
no_part() {
	[[ ! -e $1 && ! -e $1.part && ! -e $1.part.meta ]] || {
		ls -la >&2
		return 1
	}
}

# ------------------------------------------------------- two requests, one name

# original_of ID: where the emulator keeps request ID's uploaded dump.
original_of() { emulator_curl /_emulator/requests | jq -er --arg id "$1" '.[$id].original_path'; }

# validators_of ID KEY: the ETag, Last-Modified and Content-Length the
# emulator serves request ID's upgraded dump with.
validators_of() {
	local url
	url=$(UPGRADE_REQUEST=$1 UPGRADE_KEY=$2 ubash 'upgrade status --cacert "$CA" -q .request.upgraded_dump_url' | jq -r .) &&
		curl -sS --cacert "$CA" -o /dev/null -D - "$url" | tr -d '\r' | grep -iE '^(etag|last-modified|content-length):' | sort
}

# https_a_then_b: request A's download (A, AK) breaks after 100000 bytes,
# leaving F.part; request B's (B, BK) to F starts from zero, byte-exact.
https_a_then_b() {
	emulator_fault download drop '{"after_bytes": 100000}'
	UPGRADE_REQUEST=$A UPGRADE_KEY=$AK run --separate-stderr ucall 'upgrade download --cacert "$CA" -o F'
	expect_status 3
	[[ -s F.part && ! -e F ]]
	UPGRADE_REQUEST=$B UPGRADE_KEY=$BK run --separate-stderr ucall 'upgrade download --cacert "$CA" -o F'
	expect_status 0
	jqe '.transfer.resumed_from == 0'
	cmp <(upgraded "$B_DUMP") F
	[[ ! -e F.part && ! -e F.part.meta ]]
}

@test "HTTPS: a .part left by request A is not resumed by request B of the same file name" {
	done_request "$A_DUMP" db.dump && A=$REQ AK=$KEY
	done_request "$B_DUMP" db.dump && B=$REQ BK=$KEY
	https_a_then_b
}

@test "HTTPS: a .part of request A is not resumed by request B even when both files have the same ETag, Last-Modified and size" {
	done_request "$A_DUMP" db.dump && A=$REQ AK=$KEY
	done_request "$B_DUMP" db.dump && B=$REQ BK=$KEY
	# the emulator's validators are the file's size and mtime: give B A's
	touch -r "$(original_of "$A")" "$(original_of "$B")"
	local va
	va=$(validators_of "$A" "$AK")
	[[ $(grep -ciE '^(etag|last-modified|content-length):' <<<"$va") == 3 && $va == "$(validators_of "$B" "$BK")" ]] || {
		echo "validators: $va" >&2
		false
	}
	https_a_then_b
}

@test "SFTP: a .part left by sftp-get of request A is not resumed by sftp-get of request B" {
	done_request "$A_DUMP" db.dump && A=$REQ AK=$KEY
	done_request "$B_DUMP" db.dump && B=$REQ BK=$KEY
	# a 200 KiB file-size limit breaks A's download part-way
	UPGRADE_REQUEST=$A UPGRADE_KEY=$AK run --separate-stderr ucall 'trap "" XFSZ; ulimit -f 200; upgrade sftp-get --cacert "$CA" -o F "$@"' "${SSH[@]}"
	expect_status 2
	expect_reason CLIENT:FILE
	[[ -s F.part && ! -e F ]]
	UPGRADE_REQUEST=$B UPGRADE_KEY=$BK run --separate-stderr ucall 'upgrade sftp-get --cacert "$CA" -o F "$@"' "${SSH[@]}"
	expect_status 0
	jqe '.transfer.resumed_from == 0'
	cmp <(upgraded "$B_DUMP") F
	[[ ! -e F.part && ! -e F.part.meta ]]
}

@test "sftp-get keeps what its very first write put in .part when it fails part-way (ulimit -f 1); the next call resumes" {
	done_request "$A_DUMP" db.dump
	# 1 KiB: less than any read, so the very first write fails part-way
	run --separate-stderr ucall 'trap "" XFSZ; ulimit -f 1; upgrade sftp-get --cacert "$CA" -o F "$@"' "${SSH[@]}"
	expect_status 2
	expect_reason CLIENT:FILE
	alive
	[[ $(stat -c %s F.part) == 1024 && ! -e F ]]
	[[ $(file_mode F.part.meta) == 600 ]]
	run --separate-stderr ucall 'upgrade sftp-get --cacert "$CA" -o F "$@"' "${SSH[@]}"
	expect_status 0
	jqe '.transfer.resumed_from == 1024'
	cmp <(upgraded "$A_DUMP") F
	[[ ! -e F.part && ! -e F.part.meta ]]
}

@test "a non-empty .part no download recorded is refused (exit 2, untouched) unless --force, which starts over" {
	done_request "$A_DUMP" db.dump
	printf 'my own notes\n' >F.part
	run --separate-stderr ucall 'upgrade download --cacert "$CA" -o F'
	expect_status 2
	expect_reason CLIENT:FILE
	stderr_has "--force"
	[[ $(cat F.part) == 'my own notes' && ! -e F ]]
	run --separate-stderr ucall 'upgrade download --cacert "$CA" -o F --force'
	expect_status 0
	jqe '.transfer.resumed_from == 0'
	cmp <(upgraded "$A_DUMP") F
}

# ------------------------------------------------------------ hostile server

# The status answer of request 7, its upgraded dump at URL (default
# {base}/dl/x), then RULES (a jq expression of an array) for the downloads.
serve() {
	local rules url=${2:-'{base}/dl/x'} status
	rules=$(jq -cn "$1") || return 1
	status=$(jq -cn --arg u "$url" '{failures: [], request: {id: 7, state: "done", filename: "db.dump",
		upgraded_dump_url: $u}} | tostring')
	hostile_script "$(jq -cn --argjson s "$status" --argjson r "$rules" \
		'{rules: ([{path: "/database/v1/status$", body: $s}] + $r)}')"
}

# hget [ARGS]: download request 7's upgraded dump from the hostile server to F.
hget() {
	run --separate-stderr ucall 'UPGRADE_REQUEST=7 UPGRADE_KEY=k upgrade download --cacert "$CA" --url "$HOSTILE_URL/database/v1" -o F "$@"' "$@"
}

# A first try of version 1 (1000 bytes "1", ETag "v1" unless HEADERS say
# otherwise) that drops after 100 bytes: rule 0 of the download rules.
first_try() {
	jq -cn --argjson h "${1:-[[\"ETag\", \"\\\"v1\\\"\"]]}" \
		'{path: "^/dl/", times: 1, headers: $h, body: "1", repeat: 1000, drop_after: 100}'
}

# dl_requests: the download requests the hostile server saw, as JSON.
dl_requests() { hostile_log | jq -c '[.requests[] | select(.path | startswith("/dl/"))]'; }

# broken_first: the first try, which must leave 100 bytes in F.part.
broken_first() {
	hget
	expect_status 3
	[[ $(stat -c %s F.part) == 100 && ! -e F ]]
}

@test "a file changed between tries: If-Range \"v1\" is sent, the 200 of v2 restarts the file (resumed_from 0)" {
	serve "[$(first_try), {path: \"^/dl/\", headers: [[\"ETag\", \"\\\"v2\\\"\"]], body: \"2\", repeat: 1200}]"
	broken_first
	hget
	expect_status 0
	jqe '.transfer.resumed_from == 0 and .transfer.size == 1200 and .transfer.bytes == 1200'
	cmp <(head -c 1200 /dev/zero | tr '\0' 2) F
	dl_requests | jq -e '.[1].headers.Range == "bytes=100-" and .[1].headers["If-Range"] == "\"v1\""'
}

@test "a server that ignores If-Range and sends a 206 of a changed file (new ETag) is not spliced: restart from zero" {
	serve "[$(first_try),
		{path: \"^/dl/\", range: \"present\", times: 1, status: 206, body: \"2\", repeat: 1100,
		 headers: [[\"ETag\", \"\\\"v2\\\"\"], [\"Content-Range\", \"bytes 100-1199/1200\"]]},
		{path: \"^/dl/\", headers: [[\"ETag\", \"\\\"v2\\\"\"]], body: \"2\", repeat: 1200}]"
	broken_first
	hget
	expect_status 0
	jqe '.transfer.resumed_from == 0'
	cmp <(head -c 1200 /dev/zero | tr '\0' 2) F
}

@test "a .part complete by its record, but the server's 416 names another ETag: downloaded again" {
	serve "[$(first_try),
		{path: \"^/dl/\", range: \"present\", times: 1, status: 416,
		 headers: [[\"ETag\", \"\\\"v2\\\"\"], [\"Content-Range\", \"bytes */1000\"]]},
		{path: \"^/dl/\", headers: [[\"ETag\", \"\\\"v2\\\"\"]], body: \"2\", repeat: 1000}]"
	broken_first
	head -c 1000 /dev/zero | tr '\0' 1 >F.part # as if cut off just before the rename
	hget
	expect_status 0
	cmp <(head -c 1000 /dev/zero | tr '\0' 2) F
	jqe '.transfer.resumed_from == 0'
}

# refused_resume RULE: the second try gets RULE (a JSON object); it must be
# refused as CLIENT:BAD_RESPONSE (exit 3), with no F and F.part as it was.
refused_resume() {
	serve "[$(first_try), $1]"
	broken_first
	hget
	expect_status 3
	expect_reason CLIENT:BAD_RESPONSE
	alive
	[[ ! -e F ]]
	cmp <(head -c 100 /dev/zero | tr '\0' 1) F.part
}

@test "a 206 with Content-Range bytes */N is refused: exit 3 CLIENT:BAD_RESPONSE, nothing appended" {
	refused_resume '{"path": "^/dl/", "status": 206, "body": "1", "repeat": 1000,
		"headers": [["ETag", "\"v1\""], ["Content-Range", "bytes */1000"]]}'
}

@test "a 206 that starts at another byte than the one asked for is refused" {
	refused_resume '{"path": "^/dl/", "status": 206, "body": "1", "repeat": 950,
		"headers": [["ETag", "\"v1\""], ["Content-Range", "bytes 50-999/1000"]]}'
}

@test "a 206 from byte 0 with a self-consistent length (0-899/1000, 900 bytes) to a request from byte 100 is refused, not spliced" {
	# every other guard passes: the range fits the total, the body its range
	refused_resume '{"path": "^/dl/", "status": 206, "body": "1", "repeat": 900,
		"headers": [["ETag", "\"v1\""], ["Content-Range", "bytes 0-899/1000"]]}'
}

@test "a 206 whose Content-Length (900) is not its Content-Range's length (100-499) is refused, even where the body ends at the total" {
	refused_resume '{"path": "^/dl/", "status": 206, "body": "1", "repeat": 900,
		"headers": [["ETag", "\"v1\""], ["Content-Range", "bytes 100-499/1000"]]}'
}

@test "a 206 whose body is longer than its Content-Range (Content-Length lie) is refused" {
	refused_resume '{"path": "^/dl/", "status": 206, "body": "1", "repeat": 1000,
		"headers": [["ETag", "\"v1\""], ["Content-Range", "bytes 100-999/1000"]]}'
}

@test "a 200 with Content-Range bytes */N starts the file over (truncate, then write): byte-exact" {
	serve "[$(first_try), {path: \"^/dl/\", body: \"1\", repeat: 1000,
		headers: [[\"ETag\", \"\\\"v1\\\"\"], [\"Content-Range\", \"bytes */1000\"]]}]"
	broken_first
	hget
	expect_status 0
	jqe '.transfer.resumed_from == 0 and .transfer.size == 1000'
	cmp <(head -c 1000 /dev/zero | tr '\0' 1) F
}

@test "a 200 whose Content-Range total contradicts its Content-Length is refused" {
	serve "[$(first_try), {path: \"^/dl/\", body: \"1\", repeat: 1000,
		headers: [[\"ETag\", \"\\\"v1\\\"\"], [\"Content-Range\", \"bytes */1500\"]]}]"
	broken_first
	hget
	expect_status 3
	expect_reason CLIENT:BAD_RESPONSE
	[[ ! -e F ]]
}

@test "an answer that ends short of the total it announced is not renamed (exit 3 BAD_RESPONSE); what came is kept" {
	serve "[$(first_try), {path: \"^/dl/\", times: 1, status: 206, body: \"1\", repeat: 400,
		headers: [[\"ETag\", \"\\\"v1\\\"\"], [\"Content-Range\", \"bytes 100-499/1000\"]]},
		{path: \"^/dl/\", status: 206, body: \"1\", repeat: 500,
		headers: [[\"ETag\", \"\\\"v1\\\"\"], [\"Content-Range\", \"bytes 500-999/1000\"]]}]"
	broken_first
	hget
	expect_status 3
	expect_reason CLIENT:BAD_RESPONSE
	[[ ! -e F && $(stat -c %s F.part) == 500 ]]
	hget
	expect_status 0
	jqe '.transfer.resumed_from == 500'
	cmp <(head -c 1000 /dev/zero | tr '\0' 1) F
}

@test "no validators: the same request and total size resumes (no If-Range sent)" {
	serve "[$(first_try '[]'), {path: \"^/dl/\", status: 206, body: \"1\", repeat: 900,
		headers: [[\"Content-Range\", \"bytes 100-999/1000\"]]}]"
	broken_first
	hget
	expect_status 0
	jqe '.transfer.resumed_from == 100'
	cmp <(head -c 1000 /dev/zero | tr '\0' 1) F
	dl_requests | jq -e '.[1].headers.Range == "bytes=100-" and (.[1].headers | has("If-Range") | not)'
}

@test "no validators: another total size restarts from zero instead of splicing" {
	serve "[$(first_try '[]'),
		{path: \"^/dl/\", range: \"present\", times: 1, status: 206, body: \"2\", repeat: 1100,
		 headers: [[\"Content-Range\", \"bytes 100-1199/1200\"]]},
		{path: \"^/dl/\", body: \"2\", repeat: 1200}]"
	broken_first
	hget
	expect_status 0
	jqe '.transfer.resumed_from == 0'
	cmp <(head -c 1200 /dev/zero | tr '\0' 2) F
}

# ------------------------------------------------------------- refused URLs

@test "refused download URLs leave no .part: http:// (exit 5), file:// (exit 2)" {
	serve '[]' 'http://127.0.0.1:1/dl/x'
	hget
	expect_status 5
	expect_reason CLIENT:TLS
	no_part F
	serve '[]' 'file:///etc/passwd'
	hget
	expect_status 2
	no_part F
}

@test "a redirect to plain http:// is a security refusal: exit 5 CLIENT:TLS, no .part" {
	serve '[{"path": "^/dl/", "status": 302, "headers": [["Location", "http://127.0.0.1:1/dl/plain"]]}]'
	hget
	expect_status 5
	expect_reason CLIENT:TLS
	alive
	no_part F
}

@test "a FIFO at FILE.part is refused at once (exit 2), not waited on" {
	done_request "$A_DUMP" db.dump
	mkfifo F.part
	run --separate-stderr timeout "$(scaled 20)" "$UBASH" 'upgrade download --cacert "$CA" -o F; echo rc=$? >&2'
	expect_status 0
	stderr_has "rc=2"
	stderr_has "not a regular file"
	[[ -p F.part && ! -e F ]]
}
