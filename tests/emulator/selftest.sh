#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
# Self-test of the upgrade platform emulator and of tests/lib/harness.bash,
# using only curl, jq, openssl and OpenSSH.  Prints TAP.
#
#   tests/emulator/selftest.sh            # ~20 s (rpc transfers, PostgreSQL)
#   SELFTEST_BIG=1 tests/emulator/selftest.sh   # adds a 1 GiB upload/download
# shellcheck disable=SC2016,SC1010,SC2119
set -u
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=../lib/harness.bash
source "$here/../lib/harness.bash"
harness_install_traps

n=0 failed=0
pass() { n=$((n + 1)); echo "ok $n - $1"; }
fail() {
	n=$((n + 1)) failed=$((failed + 1))
	echo "not ok $n - $1"
	shift
	local l
	for l in "$@"; do printf '#   %s\n' "$l"; done
}
# t DESC CMD…: run CMD quietly, pass when it succeeds
t() {
	local desc=$1 out
	shift
	if out=$("$@" 2>&1); then
		pass "$desc"
	else
		fail "$desc" "command: $*" "${out:0:600}"
	fi
}
# tj DESC FILE JQ-EXPR [jq args…]: pass when the expression is true on FILE
tj() {
	local desc=$1 file=$2 expr=$3
	shift 3
	# jq 1.6 -e exits 0 on empty input: insist on a non-empty file
	if [[ -s $file ]] && jq -e "$@" "$expr" "$file" >/dev/null 2>&1; then
		pass "$desc"
	else
		fail "$desc" "jq: $expr" "$(head -c 600 "$file" 2>/dev/null)"
	fi
}
bail() {
	echo "Bail out! $*"
	exit 1
}

harness_make_ca || bail "harness_make_ca"
sshd_prepare || bail "sshd_prepare"
rpc_prepare || bail "rpc_prepare"
emulator_start --pending-seconds 0.3 --progress-seconds 0.3 || bail "emulator_start"
sshd_start || bail "sshd_start"
W=$HARNESS_DIR/work
mkdir -p "$W"
harness_known_hosts "$W/known_hosts"
t "harness exports" test -n "$UPGRADE_URL" -a -n "$EMULATOR_URL" -a -f "$UPGRADE_TEST_CACERT" \
	-a -n "$EMULATOR_PID" -a -n "$SSHD_PORT" -a -f "$SSHD_HOSTKEY_PUB" -a -d "$SFTP_ROOT"
t "UPGRADE_URL is https on loopback" test "${UPGRADE_URL%%:*}" = https

C=(curl -sS --cacert "$UPGRADE_TEST_CACERT" --max-time 20)
uri() { jq -rn --arg v "$1" '$v|@uri'; }

# ------------------------------------------------------------------ create
"${C[@]}" "$UPGRADE_URL/create" --data-urlencode contract=M123456-abcdef \
	-d email=john.doe@example.com -d target=16.0 -d aim=test -d filename=db_name.dump >"$W/create.json"
tj "create: no failures, state draft" "$W/create.json" \
	'.failures == [] and .request.state == "draft" and (.request.id|type) == "number"'
ID=$(jq -r .request.id "$W/create.json")
KEY=$(jq -r .request.key "$W/create.json")
KEYENC=$(uri "$KEY")
t "create: key is base64 of 16 bytes and needs URL-encoding" \
	bash -c '[[ $1 == *+* && $1 == */* && $(printf %s "$1" | base64 -d | wc -c) == 16 ]]' _ "$KEY"
tj "create: request has every field of the sample output" "$W/create.json" \
	'.request | keys == (["id","key","email","target","aim","filename","timezone","state",
	 "issue_stage","issue","status_url","notes_url","original_sql_url","original_dump_url",
	 "upgraded_sql_url","upgraded_dump_url","modules_url","filesize","database_uuid",
	 "created_at","estimated_time","processed_at","elapsed","filestore","customer_message",
	 "database_version","postgresql","compressions"] | sort)'
tj "create: URLs point at the emulator with the key percent-encoded" "$W/create.json" \
	'.request.upgraded_dump_url == $b + "/upgraded/archive" and .request.status_url == $b + "/status"' \
	--arg b "$EMULATOR_URL/database/eu1/$ID/$KEYENC"

"${C[@]}" "$UPGRADE_URL/create?contract=M123456-unknown&email=nope&target=5.0&aim=fun&filename=x" >"$W/bad.json"
tj "create: TARGET:INVALID shape" "$W/bad.json" \
	'[.failures[] | select(.reason == "TARGET:INVALID")][0] | .value == "5.0" and
	 .message == "Invalid value \"5.0\"" and (.expected | index("16.0")) != null and (.expected|length) == 13'
tj "create: CONTRACT:NOT_FOUND shape" "$W/bad.json" \
	'[.failures[] | select(.reason == "CONTRACT:NOT_FOUND")][0] |
	 .code == "M123456-unknown" and .message == "Can not find contract M123456-unknown"'
tj "create: AIM:INVALID and EMAIL:INVALID, no request" "$W/bad.json" \
	'([.failures[].reason] | index("AIM:INVALID") and index("EMAIL:INVALID")) and .request == null'
"${C[@]}" "$UPGRADE_URL/create?timezone=UTC" >"$W/missing.json"
tj "create: every missing parameter reported" "$W/missing.json" \
	'[.failures[] | .reason] == ["CONTRACT:MISSING","EMAIL:MISSING","TARGET:MISSING","AIM:MISSING","FILENAME:MISSING"]
	 and .failures[0].value == "contract" and all(.failures[]; .message|length > 0)'

# ------------------------------------------------------------------ upload
head -c $((3 * 1024 * 1024)) /dev/urandom >"$W/dump"
"${C[@]}" -H 'Content-Type: application/octet-stream' --data-binary "@$W/dump" \
	"$UPGRADE_URL/upload?request=$ID&key=$KEYENC" >"$W/upload.json"
tj "upload: 3 MiB accepted" "$W/upload.json" '.failures == [] and .request.filesize == "3.00 Mb"'
emulator_stats >"$W/stats.json"
tj "upload: stats record bytes, type and query keys" "$W/stats.json" \
	'.uploads[$id] | .bytes == 3145728 and .content_type == "application/octet-stream" and .query_keys == ["key","request"]' \
	--arg id "$ID"
"${C[@]}" -H 'Content-Type: application/octet-stream' --data-binary "@$W/dump" \
	"$UPGRADE_URL/upload?request=$ID&key=$KEY" >"$W/raw.json"
tj "upload: unencoded key (+ read as space) is REQUEST:NOT_FOUND" "$W/raw.json" \
	'.failures == [{"reason":"REQUEST:NOT_FOUND","message":("Can not find request " + $id)}]' --arg id "$ID"
"${C[@]}" "$UPGRADE_URL/status?request=$ID&key=AAAAAAAAAAAAAAAAAAAAAA%3D%3D" >"$W/wrongkey.json"
"${C[@]}" "$UPGRADE_URL/status?request=$ID&key=" >"$W/nokey.json"
tj "status: wrong key is REQUEST:NOT_FOUND" "$W/wrongkey.json" \
	'.failures[0].reason == "REQUEST:NOT_FOUND" and .request == null'
tj "status: empty key is KEY:MISSING" "$W/nokey.json" '[.failures[].reason] == ["KEY:MISSING"]'
"${C[@]}" --data-binary "@$W/dump" "$UPGRADE_URL/upload?request=$ID&key=$KEYENC" >"$W/ctype.json"
tj "upload: form Content-Type refused with UPLOAD:CONTENT_TYPE" "$W/ctype.json" \
	'.failures[0].reason == "UPLOAD:CONTENT_TYPE"'
"${C[@]}" -H 'Content-Type: application/octet-stream' -H 'Transfer-Encoding: chunked' \
	--data-binary "@$W/dump" "$UPGRADE_URL/upload?request=$ID&key=$KEYENC" >"$W/chunked.json"
emulator_stats >"$W/stats.json"
tj "upload: chunked body accepted, same size" "$W/stats.json" \
	'.uploads[$id] | .bytes == 3145728 and .chunked' --arg id "$ID"
: >"$W/empty"
"${C[@]}" -H 'Content-Type: application/octet-stream' --data-binary "@$W/empty" \
	"$UPGRADE_URL/upload?request=$ID&key=$KEYENC" >"$W/empty.json"
tj "upload: empty body is UPLOAD:EMPTY" "$W/empty.json" '.failures[0].reason == "UPLOAD:EMPTY"'

# ----------------------------------------------------------------- process
"${C[@]}" "$UPGRADE_URL/process" -d "request=$ID" --data-urlencode "key=$KEY" >"$W/process.json"
tj "process: state pending" "$W/process.json" '.failures == [] and .request.state == "pending"'
"${C[@]}" "$UPGRADE_URL/process" -d "request=$ID" --data-urlencode "key=$KEY" >"$W/process2.json"
# .value is the state now: pending, or later on a machine slow enough that
# the emulator moved on (0.3 s a state) between the two calls
tj "process twice: REQUEST:STATE expecting draft" "$W/process2.json" \
	'.failures[0] | .reason == "REQUEST:STATE" and (.value | IN("pending", "progress", "done")) and .expected == ["draft"]'
"${C[@]}" -H 'Content-Type: application/octet-stream' --data-binary "@$W/dump" \
	"$UPGRADE_URL/upload?request=$ID&key=$KEYENC" >"$W/late.json"
tj "upload after process: REQUEST:STATE" "$W/late.json" '.failures[0].reason == "REQUEST:STATE"'

wait_state() { # ID KEY WANT OUTFILE -> prints the states seen
	local i st seen=
	for ((i = 0; i < 100; i++)); do
		"${C[@]}" "$UPGRADE_URL/status?request=$1&key=$(uri "$2")" >"$4"
		st=$(jq -r .request.state "$4")
		[[ " $seen " == *" $st "* ]] || seen+="$st "
		[[ $st == "$3" ]] && break
		sleep 0.1
	done
	echo "$seen"
}
seen=$(wait_state "$ID" "$KEY" done "$W/status.json")
# the exact states seen depend on the machine's load: only their order is fixed
t "status: pending -> progress -> done, in order (saw: $seen)" \
	bash -c '[[ $1 =~ ^(pending\ )?(progress\ )?done\ $ ]]' _ "$seen"
tj "status: processed_at set, filesize kept" "$W/status.json" \
	'.request.processed_at != null and .request.filesize == "3.00 Mb"'

# ---------------------------------------------------------------- download
URL=$(jq -r .request.upgraded_dump_url "$W/status.json")
{ printf 'UPGRADED TO 16.0\n'; cat "$W/dump"; } >"$W/expected"
"${C[@]}" -o "$W/got" "$URL"
t "download: upgraded/archive = prefix + original" cmp "$W/expected" "$W/got"
"${C[@]}" -r 0-63 "$(jq -r .request.upgraded_sql_url "$W/status.json")" | head -n 1 >"$W/sqlhead"
t "download: upgraded/sql prefix" test "$(cat "$W/sqlhead")" = "-- upgraded sql for 16.0"
"${C[@]}" -o "$W/orig" "$(jq -r .request.original_dump_url "$W/status.json")"
t "download: original/archive = original" cmp "$W/dump" "$W/orig"
code=$("${C[@]}" -o "$W/notes" -w '%{http_code} %{content_type}' "$(jq -r .request.notes_url "$W/status.json")")
t "download: notes is HTML ($code)" grep -q '<html>' "$W/notes"
head -c 1000000 "$W/expected" >"$W/part"
"${C[@]}" -C - -o "$W/part" "$URL"
t "download: curl -C - resumes a partial file" cmp "$W/expected" "$W/part"
size=$(stat -c %s "$W/expected")
out=$("${C[@]}" -o /dev/null -H "Range: bytes=$size-" -w '%{http_code} %header{content-range}' "$URL")
t "download: range past the end is 416 bytes */$size ($out)" test "$out" = "416 bytes */$size"
out=$("${C[@]}" -o "$W/mid" -r 10-19 -w '%{http_code} %header{content-range}' "$URL")
t "download: bytes=10-19 is 206 with 10 bytes ($out)" \
	bash -c '[[ $1 == "206 bytes 10-19/$2" ]] && cmp <(tail -c +11 "$3" | head -c 10) "$4"' _ "$out" "$size" "$W/expected" "$W/mid"
etag=$("${C[@]}" -o /dev/null -r 0-0 -w '%header{etag}' "$URL")
out=$("${C[@]}" -o /dev/null -r 5- -H "If-Range: $etag" -w '%{http_code}' "$URL")
out2=$("${C[@]}" -o /dev/null -r 5- -H 'If-Range: "stale"' -w '%{http_code} %{size_download}' "$URL")
t "download: If-Range honoured ($out) and mismatch gives full 200 ($out2)" \
	test "$out $out2" = "206 200 $size"
# quoted: a key starting with + or / encodes to a leading "%", which unquoted
# would anchor the pattern at the end of URL and leave the real key in place
out=$("${C[@]}" -o "$W/404.json" -w '%{http_code}' "${URL/"$KEYENC"/AAAAAAAAAAAAAAAAAAAAAA%3D%3D}")
tj "download: wrong key is 404 with failures ($out)" "$W/404.json" '.failures[0].reason == "REQUEST:NOT_FOUND"'

# a second request, left in draft
"${C[@]}" "$UPGRADE_URL/create" -d contract=M1-x -d email=a@b.c -d target=15.0 -d aim=production \
	-d filename=second.dump >"$W/c2.json"
ID2=$(jq -r .request.id "$W/c2.json") KEY2=$(jq -r .request.key "$W/c2.json")
t "ids increase" test "$ID2" -gt "$ID"
out=$("${C[@]}" -o "$W/nr.json" -w '%{http_code}' "$(jq -r .request.upgraded_dump_url "$W/c2.json")")
tj "download: upgraded before done is 404 ($out)" "$W/nr.json" '.failures | length == 1'
"${C[@]}" "$UPGRADE_URL/process" -d "request=$ID2" --data-urlencode "key=$KEY2" >"$W/p2.json"
tj "process without a dump: UPLOAD:MISSING" "$W/p2.json" '.failures[0].reason == "UPLOAD:MISSING"'

# ------------------------------------------------------------------ faults
SU="$UPGRADE_URL/status?request=$ID&key=$KEYENC"
for f in http500:500 http503:503 http404:404; do
	emulator_fault status "${f%%:*}"
	out=$("${C[@]}" -o /dev/null -w '%{http_code}' "$SU")
	t "fault ${f%%:*}: HTTP $out" test "$out" = "${f#*:}"
done
emulator_fault status badjson
t "fault badjson" test "$("${C[@]}" "$SU")" = "<html>not json</html>"
emulator_fault status truncated
t "fault truncated" test "$("${C[@]}" "$SU")" = '{"failures": ['
emulator_fault status wrongshape
"${C[@]}" "$SU" >"$W/f.json"
tj "fault wrongshape" "$W/f.json" '.failures == {} and .request == 5'
emulator_fault status server_error
"${C[@]}" "$SU" >"$W/f.json"
tj "fault server_error" "$W/f.json" '.failures == [{"reason":"SERVER:ERROR","message":"Internal error, try again later"}]'
emulator_fault status drop
"${C[@]}" -o /dev/null "$SU" 2>/dev/null
rc=$?
t "fault drop (API): curl sees an empty reply (rc $rc)" test "$rc" = 52
emulator_fault download drop '"after_bytes": 100000'
"${C[@]}" -o "$W/dropped" "$URL" 2>/dev/null
rc=$?
t "fault drop (download): partial transfer rc $rc, 100000 bytes kept" \
	test "$rc $(stat -c %s "$W/dropped")" = "18 100000"
"${C[@]}" -C - -o "$W/dropped" "$URL"
t "fault drop (download): resume completes it" cmp "$W/expected" "$W/dropped"
"${C[@]}" "$UPGRADE_URL/create" -d contract=M1-x -d email=a@b.c -d target=15.0 -d aim=test \
	-d filename=third.dump >"$W/c3.json"
ID3=$(jq -r .request.id "$W/c3.json") KEY3=$(jq -r .request.key "$W/c3.json")
emulator_fault upload drop '{"after_bytes": 65536}'
"${C[@]}" -H 'Content-Type: application/octet-stream' -H 'Expect:' --data-binary "@$W/dump" \
	"$UPGRADE_URL/upload?request=$ID3&key=$(uri "$KEY3")" -o /dev/null 2>/dev/null
rc=$?
emulator_stats >"$W/stats.json"
t "fault drop (upload): curl fails (rc $rc)" test "$rc" != 0
tj "fault drop (upload): server read 65536 bytes" "$W/stats.json" '.uploads[$id].bytes == 65536' --arg id "$ID3"
emulator_fault status slow '"delay": 1'
out=$("${C[@]}" -o "$W/f.json" -w '%{time_total}' "$SU")
t "fault slow (API): took ${out}s" bash -c '(( ${1%.*} >= 1 ))' _ "$out"
tj "fault slow (API): normal answer after the delay" "$W/f.json" '.request.state == "done"'
emulator_fault download slow '"delay": 1'
out=$("${C[@]}" -o "$W/slow" -w '%{time_starttransfer} %{time_total}' "$URL")
t "fault slow (download): body after ${out#* }s, still correct" \
	bash -c '(( ${1%.*} >= 1 )) && cmp "$2" "$3"' _ "${out#* }" "$W/expected" "$W/slow"
emulator_fault status huge '"size": 2000000'
"${C[@]}" -o "$W/huge.json" "$SU"
t "fault huge: 2000000 bytes of valid JSON" \
	bash -c '[[ $(stat -c %s "$1") == 2000000 ]] && jq -e ".failures == []" "$1" >/dev/null' _ "$W/huge.json"
emulator_fault status http500 '"count": 2'
out=$(for i in 1 2 3; do "${C[@]}" -o /dev/null -w '%{http_code} ' "$SU"; done)
t "fault count 2: ($out)" test "$out" = "500 500 200 "
emulator_fault '*' http503
out=$("${C[@]}" -o /dev/null -w '%{http_code}' "$UPGRADE_URL/create")
t "fault on method *: ($out)" test "$out" = 503
emulator_fault status http500
emulator_reset
out=$("${C[@]}" -o /dev/null -w '%{http_code}' "$SU")
t "reset clears queued faults ($out)" test "$out" = 200
out=$(emulator_fault status nonsense 2>&1)
t "unknown fault refused by the admin API" test $? != 0

# -------------------------------------------------------------- keep-alive
c0=$(emulator_stats | jq -c '[.connections, .api_connections]')
"${C[@]}" -o /dev/null -o /dev/null -o /dev/null "$SU" "$SU" "$SU"
c1=$(emulator_stats | jq -c '[.connections, .api_connections]')
# the second stats call opens a connection of its own, hence +2 / +1
t "keep-alive: 3 requests in one curl use one connection ($c0 -> $c1)" \
	test "$(jq -n --argjson a "$c0" --argjson b "$c1" '[$b[0]-$a[0], $b[1]-$a[1]]' -c)" = "[2,1]"
curl -sS --max-time 5 -o /dev/null "$SU" 2>/dev/null
rc=$?
t "TLS: a client without the harness CA is refused (rc $rc)" test "$rc" = 60

# -------------------------------------------------------------------- SFTP
"${C[@]}" "$UPGRADE_URL/create" -d contract=M2-sftp -d email=s@f.tp -d target=17.0 -d aim=test \
	-d filename=sftp.dump >"$W/cs.json"
SID=$(jq -r .request.id "$W/cs.json") SKEY=$(jq -r .request.key "$W/cs.json")
SQ="request=$SID&key=$(uri "$SKEY")"
harness_ssh_keygen "$W/id_test" || bail "ssh-keygen"
"${C[@]}" "$UPGRADE_URL/request_sftp_access?$SQ" -F "ssh_keys=@$W/id_test" >"$W/priv.json"
tj "sftp access: a private key is SSH_KEYS:INVALID" "$W/priv.json" \
	'.failures == [{"reason":"SSH_KEYS:INVALID","message":"line 1 is not a public key"}]'
"${C[@]}" "$UPGRADE_URL/request_sftp_access?$SQ" -F "other=x" >"$W/nokeys.json"
tj "sftp access: no ssh_keys is SSH_KEYS:MISSING" "$W/nokeys.json" '.failures[0].reason == "SSH_KEYS:MISSING"'
t "sftp access: refused keys were not installed" test ! -s "$SSHD_AUTHORIZED_KEYS"
{
	echo "# my keys"
	echo
	cat "$W/id_test.pub"
} >"$W/keys"
"${C[@]}" "$UPGRADE_URL/request_sftp_access?$SQ" -F "ssh_keys=@$W/keys" >"$W/sftp.json"
tj "sftp access: connection parameters" "$W/sftp.json" \
	'.failures == [] and .request == {hostname: "127.0.0.1", sftp_port: $port, sftp_user: $user,
	 shared_file: "sftp.dump", request_id: $id, sample_command: "sftp -P \($port) \($user)@127.0.0.1"}' \
	--argjson port "$SSHD_PORT" --arg user "$(id -un)" --argjson id "$SID"
t "sftp access: key installed with a forced internal-sftp command" \
	grep -qF "restrict,command=\"internal-sftp -d $SFTP_ROOT/$SID\" $(cut -d' ' -f1,2 "$W/id_test.pub")" "$SSHD_AUTHORIZED_KEYS"
t "sftp access: empty shared file, mode 0666" test "$(stat -c '%s %a' "$SFTP_ROOT/$SID/sftp.dump")" = "0 666"
head -c $((2 * 1024 * 1024 + 17)) /dev/urandom >"$W/dump2"
SFTP=(sftp -F /dev/null -b - -i "$W/id_test" -o UserKnownHostsFile="$W/known_hosts"
	-o GlobalKnownHostsFile=/dev/null -o StrictHostKeyChecking=yes -o BatchMode=yes
	-o IdentitiesOnly=yes -P "$SSHD_PORT" "$(id -un)@127.0.0.1")
out=$(echo "put $W/dump2 sftp.dump" | SSH_AUTH_SOCK='' "${SFTP[@]}" 2>&1)
if cmp -s "$W/dump2" "$SFTP_ROOT/$SID/sftp.dump"; then
	pass "sftp: put the dump into shared_file"
else
	fail "sftp: put the dump into shared_file" "$out"
fi
"${C[@]}" "$UPGRADE_URL/process?$SQ" >"$W/sp.json"
tj "sftp: process takes the SFTP upload" "$W/sp.json" \
	'.failures == [] and .request.state == "pending" and .request.filesize == "2.00 Mb"'
wait_state "$SID" "$SKEY" done "$W/ss.json" >/dev/null
tj "sftp: request reaches done" "$W/ss.json" '.request.state == "done"'
"${C[@]}" "$UPGRADE_URL/skip_test?$SQ" >"$W/skip.json"
tj "skip_test in done: delivered" "$W/skip.json" '.request.state == "delivered"'
"${C[@]}" "$UPGRADE_URL/skip_test?$SQ" >"$W/skip2.json"
tj "skip_test in delivered: REQUEST:STATE" "$W/skip2.json" '.failures[0].reason == "REQUEST:STATE"'
rm -f "$W/up2"
out=$(echo "get upgraded_sftp.dump $W/up2" | SSH_AUTH_SOCK='' "${SFTP[@]}" 2>&1)
{ printf 'UPGRADED TO 17.0\n'; cat "$W/dump2"; } >"$W/expected2"
if cmp -s "$W/expected2" "$W/up2"; then
	pass "sftp: get upgraded_<filename> = prefix + dump"
else
	fail "sftp: get upgraded_<filename> = prefix + dump" "$out"
fi
"${C[@]}" "$UPGRADE_URL/request_sftp_access?request=$ID&key=$KEYENC" -F "ssh_keys=@$W/id_test.pub" >"$W/dl.json"
tj "sftp access after done (download mode)" "$W/dl.json" '.failures == [] and .request.shared_file == "db_name.dump"'
t "sftp: download-mode dir holds upgraded_db_name.dump" cmp "$W/expected" "$SFTP_ROOT/$ID/upgraded_db_name.dump"
harness_ssh_keygen "$W/other"
printf '[127.0.0.1]:%s %s\n' "$SSHD_PORT" "$(cut -d' ' -f1,2 "$W/other.pub")" >"$W/wrong_known_hosts"
echo "ls" | SSH_AUTH_SOCK='' sftp -F /dev/null -b - -i "$W/id_test" -o UserKnownHostsFile="$W/wrong_known_hosts" \
	-o GlobalKnownHostsFile=/dev/null -o StrictHostKeyChecking=yes -o BatchMode=yes \
	-P "$SSHD_PORT" "$(id -un)@127.0.0.1" >/dev/null 2>&1
rc=$?
t "sftp: another host key in known_hosts is refused (rc $rc)" test "$rc" != 0

# ------------------------------------------------------------- fail/state
"${C[@]}" "$UPGRADE_URL/create" -d contract=M1-x -d email=a@b.c -d target=15.0 -d aim=test \
	-d filename=will_fail.dump >"$W/cf.json"
FID=$(jq -r .request.id "$W/cf.json") FKEY=$(jq -r .request.key "$W/cf.json")
"${C[@]}" -H 'Content-Type: application/octet-stream' --data-binary "@$W/dump2" \
	"$UPGRADE_URL/upload?request=$FID&key=$(uri "$FKEY")" -o /dev/null
"${C[@]}" "$UPGRADE_URL/process" -d "request=$FID" --data-urlencode "key=$FKEY" -o /dev/null
seen=$(wait_state "$FID" "$FKEY" failed "$W/sf.json")
tj "filename containing 'fail' ends failed (saw: $seen)" "$W/sf.json" '.request.state == "failed"'
emulator_set_state "$ID2" done
"${C[@]}" "$UPGRADE_URL/status?request=$ID2&key=$(uri "$KEY2")" >"$W/s2.json"
tj "set_state forces done" "$W/s2.json" '.request.state == "done"'

# -------------------------------------------------------------------- big
if [[ ${SELFTEST_BIG:-0} == 1 ]]; then
	"${C[@]}" "$UPGRADE_URL/create" -d contract=M1-big -d email=a@b.c -d target=16.0 -d aim=test \
		-d filename=big.dump >"$W/cb.json"
	BID=$(jq -r .request.id "$W/cb.json") BKEY=$(jq -r .request.key "$W/cb.json")
	truncate -s 1G "$W/big"
	# --data-binary @file would load the file into curl's memory; -T streams it
	"${C[@]}" --max-time 300 -H 'Content-Type: application/octet-stream' -X POST -T "$W/big" \
		"$UPGRADE_URL/upload?request=$BID&key=$(uri "$BKEY")" >"$W/ub.json" &
	upid=$!
	rss=0
	while kill -0 "$upid" 2>/dev/null; do
		r=$(awk '/VmRSS/ {print $2}' "/proc/$EMULATOR_PID/status")
		((r > rss)) && rss=$r
		sleep 0.2
	done
	wait "$upid"
	tj "big: 1 GiB upload accepted" "$W/ub.json" '.failures == [] and .request.filesize == "1.00 Gb"'
	t "big: emulator RSS stayed under 100 MB during the upload (max ${rss} kB)" test "$rss" -lt 100000
	rm -f "$W/big"
	"${C[@]}" "$UPGRADE_URL/process" -d "request=$BID" --data-urlencode "key=$BKEY" -o /dev/null
	wait_state "$BID" "$BKEY" done "$W/sb.json" >/dev/null
	"${C[@]}" --max-time 300 -o /dev/null -w '%{size_download}' "$(jq -r .request.upgraded_dump_url "$W/sb.json")" \
		>"$W/bigdl" &
	upid=$!
	rss=0
	while kill -0 "$upid" 2>/dev/null; do
		r=$(awk '/VmRSS/ {print $2}' "/proc/$EMULATOR_PID/status")
		((r > rss)) && rss=$r
		sleep 0.2
	done
	wait "$upid"
	t "big: 1 GiB + prefix downloaded ($(cat "$W/bigdl") bytes), RSS max ${rss} kB" \
		test "$(cat "$W/bigdl")" = $((1024 * 1024 * 1024 + 17)) -a "$rss" -lt 100000
fi

# ------------------------------------------------------------- rpc dialect
# shellcheck source=selftest_rpc.bash
source "$here/selftest_rpc.bash"

# ----------------------------------------------------------- harness_stop
# keep an SFTP session open so that sshd has session children to clean up
coproc HOLD { SSH_AUTH_SOCK='' sftp -F /dev/null -b - -i "$W/id_test" -o UserKnownHostsFile="$W/known_hosts" \
	-o GlobalKnownHostsFile=/dev/null -o BatchMode=yes -P "$SSHD_PORT" "$(id -un)@127.0.0.1" >/dev/null 2>&1; }
echo "pwd" >&"${HOLD[1]}"
for ((i = 0; i < 100; i++)); do   # wait for the session to be set up
	(($(harness_descendants "$SSHD_PID" | wc -l) >= 2)) && break
	sleep 0.1
done
mapfile -t tree < <(
	echo "$EMULATOR_PID"
	echo "$SSHD_PID"
	harness_descendants "$SSHD_PID"
)
hd=$HARNESS_DIR
t "an SFTP session is open (sshd has $((${#tree[@]} - 2)) descendants)" test "${#tree[@]}" -gt 2
harness_stop
hold_pid=${HOLD_PID:-}
eval "exec ${HOLD[1]:-9}>&-"
[[ -n $hold_pid ]] && wait "$hold_pid" 2>/dev/null
left=()
for p in "${tree[@]}"; do
	_harness_alive "$p" && left+=("$p")
done
t "harness_stop: none of ${#tree[@]} processes left (${left[*]:-})" test ${#left[@]} = 0
no_process_matching() { ! pgrep -af "$1"; }
t "harness_stop: pgrep finds nothing naming the harness dir" no_process_matching "$hd"
t "harness_stop: the rpc transfer nobody stopped is gone (port $RPC_LEFT_PORT closed)" port_closed "$RPC_LEFT_PORT"
t "harness_stop: HARNESS_DIR removed" test ! -e "$hd"

echo "1..$n"
((failed == 0))
