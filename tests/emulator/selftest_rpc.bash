# SPDX-License-Identifier: GPL-3.0-or-later
# shellcheck shell=bash
# The rpc dialect's part of the emulator's self-test (sourced by
# selftest.sh, which gives it t, tj, fail, $W and a started emulator, after
# rpc_prepare): JSON-RPC with curl and jq, transfers with real rsync over
# OpenSSH's ssh, as platform-rpc.md §2 and §7 say the platform's script
# meets them.  No PostgreSQL here: processing writes the stub dump.
# shellcheck disable=SC2016,SC1010,SC2154,SC2034  # done as a word; here, W, RPC_LEFT_PORT: shared with selftest.sh

RU=${RPC_SSH_USER:?rpc_prepare first}
harness_ssh_keygen "$W/rk"
harness_ssh_keygen "$W/rk_other"
rpc_set() { emulator_curl /_emulator/rpc -H 'Content-Type: application/json' -d "$1" -o /dev/null; }
rpc_view() { emulator_curl /_emulator/rpc; }
rpc_fault() { emulator_fault "rpc/$1" "$2" "${3:-}"; }
rpc_create() { # [CONTRACT [curl args…]]: create with the key $W/rk
	local c=${1:-M123456-abcdef}
	shift $(($# ? 1 : 0))
	rpc_call create "$(jq -cn --arg c "$c" --rawfile k "$W/rk.pub" \
		'{contract: $c, target: "17.0", aim: "test", actuator: "cli",
		  env_vars: ["UPG_AUTOINSTALL=none"], ssh_key: $k, api_version: "0.2"}')" "$@"
}
tok() { jq -cn --arg t "$1" '{token: $t}'; }
port_closed() { ! _harness_port_open "$1"; }
# start_kh TOKEN TYPE OUT: transfer/start; the known_hosts text in OUT.kh
start_kh() {
	rpc_call transfer/start "$(jq -cn --arg t "$1" --arg k "$2" '{token: $t, transfer_type: $k}')" >"$3"
	jq -j '.result.known_hosts // ""' "$3" >"$3.kh"
}

# ------------------------------------------------------------- envelope
rpc_create M123456-unknown >"$W/r-bad.json"
rpc_create M123456-abcdef -D "$W/r-create.h" -w '\n%{http_code} %{content_type} %{size_download}\n' \
	>"$W/r-create.out"
head -n 1 "$W/r-create.out" >"$W/r-create.json"
read -r code ctype size < <(tail -n 1 "$W/r-create.out")
clen=$(tr -d '\r' <"$W/r-create.h" | awk 'tolower($1) == "content-length:" { print $2 }')
t "rpc envelope: HTTP 200, application/json, Content-Length = the body's $size bytes" \
	test "$code $ctype $clen" = "200 application/json $size"
tj "rpc envelope: jsonrpc 2.0, the call's id, an object result" "$W/r-create.json" \
	'.jsonrpc == "2.0" and .id == "not_used" and (.result | type) == "object" and has("error") == false'
tj "rpc create: request_id, a URL-safe token of 58 chars, the bare host localhost, no info for 0.2" \
	"$W/r-create.json" '.result | (.request_id | type) == "number" and (.token | test("^[A-Za-z0-9_-]{58}$"))
	 and .assigned_host_uri == "localhost" and has("info") == false'
tj "rpc create: a bad contract is result.error \"Invalid contract\"" "$W/r-bad.json" \
	'.result == {"error": "Invalid contract"}'
rpc_call create "$(jq -cn '{contract: "M1-a", target: "17.0", aim: "test", env_vars: [], ssh_key: "not a key"}')" \
	>"$W/r-badkey.json"
tj "rpc create: a public key that is not one is a result.error" "$W/r-badkey.json" '.result.error == "Invalid SSH key"'
T=$(jq -r .result.token "$W/r-create.json")
RID=$(jq -r .result.request_id "$W/r-create.json")
DATA=$(rpc_view | jq -r --arg id "$RID" '.requests[$id].data_dir')

rpc_call status "$(tok "$T")" >"$W/r-st.json"
tj "rpc status of a new request: new, host_uri localhost, archived false, no reason" "$W/r-st.json" \
	'.result == {"status": "new", "host_uri": "localhost", "archived": false}'
rpc_call status "$(tok nosuchtoken)" >"$W/r-st-bad.json"
tj "rpc status of an unknown token: result.error" "$W/r-st-bad.json" '.result.error == "Unknown token"'
rpc_call process "$(tok "$T")" >"$W/r-early.json"
tj "rpc process before any upload: result.error, state still new" "$W/r-early.json" \
	'.result.error == "The database dump was not found"'
curl -sS --cacert "$UPGRADE_TEST_CACERT" -H 'Range: bytes=0-' -w '%{http_code} %{size_download}' -o /dev/null \
	"https://localhost:$EMULATOR_PORT/upgrade/request/logs?token=$T" >"$W/r-nolog"
t "rpc logs before any log: an empty 200 (not 416)" test "$(cat "$W/r-nolog")" = "200 0"

# ------------------------------------------------------------- upload
start_kh "$T" upload "$W/r-up.json"
UP=$(jq -r .result.ssh_port "$W/r-up.json")
tj "rpc transfer/start upload: a port, known_hosts [localhost]:port with the host key, no dump_name" \
	"$W/r-up.json" '.result | .ssh_port as $p | ($p | type) == "number" and has("dump_name") == false
	 and (.known_hosts | test("^\\[localhost\\]:" + ($p|tostring) + " ssh-ed25519 [A-Za-z0-9+/=]+\n$"))'
mkdir -p "$W/origin.dump"
head -c 300000 /dev/urandom >"$W/origin.dump/3001.dat"
printf 'PGDMP toc\n' >"$W/origin.dump/toc.dat"
t "rsync up with the script's flags, StrictHostKeyChecking=yes and the returned known_hosts" \
	rpc_rsync "$W/rk" "$W/r-up.json.kh" "$UP" --delete-after --recursive --links --times \
	"$W/origin.dump/" "$RU@localhost:/data/origin.dump"
t "the upload landed in the request's own /data" cmp "$W/origin.dump/3001.dat" "$DATA/origin.dump/3001.dat"
! rpc_rsync "$W/rk_other" "$W/r-up.json.kh" "$UP" -r "$W/origin.dump/" "$RU@localhost:/data/other" \
	>"$W/r-wrongkey.log" 2>&1
t "rsync with another key than create's is refused (publickey), nothing written" \
	bash -c 'grep -q "Permission denied (publickey)" "$1" && test ! -e "$2/other"' _ "$W/r-wrongkey.log" "$DATA"
! rpc_rsync "$W/rk" "$W/r-up.json.kh" "$UP" -r "$W/origin.dump/" "$RU@localhost:/tmp/escaped" \
	>"$W/r-outside.log" 2>&1
t "the gate refuses a path outside /data" \
	bash -c 'grep -q "path outside /data refused" "$1" && test ! -e /tmp/escaped' _ "$W/r-outside.log"
! rpc_rsync "$W/rk" "$W/r-up.json.kh" "$UP" -r "$W/origin.dump/" "$RU@localhost:/data/../x" \
	>"$W/r-dotdot.log" 2>&1
t "the gate refuses a .. under /data" grep -q "path outside /data refused" "$W/r-dotdot.log"
! rpc_rsync "$W/rk" "$W/r-up.json.kh" "$UP" -r --temp-dir=/tmp "$W/origin.dump/" \
	"$RU@localhost:/data/origin.dump" >"$W/r-tempdir.log" 2>&1
t "the gate refuses an option naming a path of its own (--temp-dir=/tmp)" \
	grep -q "an option that names a path or a daemon is refused" "$W/r-tempdir.log"
! SSH_AUTH_SOCK='' ssh -F /dev/null -p "$UP" -o BatchMode=yes -o IdentitiesOnly=yes -o StrictHostKeyChecking=yes \
	-o UserKnownHostsFile="$W/r-up.json.kh" -i "$W/rk" "$RU@localhost" cat /etc/passwd >"$W/r-shell.log" 2>&1
t "the gate runs nothing but rsync --server (a shell command is refused)" \
	bash -c 'grep -q "only rsync --server may run here" "$1" && ! grep -q "^root:" "$1"' _ "$W/r-shell.log"
rpc_call transfer/stop "$(tok "$T")" >"$W/r-stop.json"
tj "rpc transfer/stop: an empty object" "$W/r-stop.json" '.result == {}'
t "transfer/stop stopped that sshd (port $UP closed)" port_closed "$UP"
rpc_set '{"transfer_rate": 0}'
start_kh "$T" upload "$W/r-relay.json"
t "rsync up through the gate's relay (transfer_rate)" \
	rpc_rsync "$W/rk" "$W/r-relay.json.kh" "$(jq -r .result.ssh_port "$W/r-relay.json")" --recursive --times \
	"$W/origin.dump/" "$RU@localhost:/data/relayed"
t "the relayed upload landed whole" cmp "$W/origin.dump/3001.dat" "$DATA/relayed/3001.dat"
for ((i = 0; i < 40; i++)); do
	rpc_view | jq -e --arg t "$T" '.requests[] | select(.token == $t) | .transfer_bytes | length == 1' \
		>/dev/null && break
	sleep 0.05
done
rpc_view >"$W/r-relay-view.json"
tj "transfer_bytes: the relayed session's [IN, OUT], IN at least the files' bytes" "$W/r-relay-view.json" \
	'.requests[] | select(.token == $t) | .transfer_bytes | length == 1 and .[0][0] >= 300010 and .[0][1] > 0' \
	--arg t "$T"
rpc_call transfer/stop "$(tok "$T")" >/dev/null
rpc_set '{"transfer_rate": null}'
rm -rf "$DATA/relayed"

# ------------------------------------------------------------- faulty transfers
rpc_fault transfer/start wrong_known_hosts
start_kh "$T" upload "$W/r-wkh.json"
! rpc_rsync "$W/rk" "$W/r-wkh.json.kh" "$(jq -r .result.ssh_port "$W/r-wkh.json")" -r "$W/origin.dump/" \
	"$RU@localhost:/data/origin.dump" >"$W/r-wkh.log" 2>&1
t "a known_hosts for the wrong key (fault wrong_known_hosts) fails StrictHostKeyChecking" \
	grep -q "Host key verification failed" "$W/r-wkh.log"
rpc_set '{"transfer_timeout": 1}'
start_kh "$T" upload "$W/r-to.json"
TP=$(jq -r .result.ssh_port "$W/r-to.json")
for ((i = 0; i < 100; i++)); do port_closed "$TP" && break; sleep 0.1; done
t "a transfer nobody stops is stopped by its timeout (transfer_timeout 1 s)" port_closed "$TP"
rpc_set '{"transfer_timeout": 300}'

# ------------------------------------------------------------- process, states, log
# the clock's bounds are moved under a processing request (refresh reads
# them at each call): each state is seen whatever the machine's load
rpc_set '{"pending_seconds": 60, "progress_seconds": 60}'
rpc_call process "$(tok "$T")" >"$W/r-proc.json"
rpc_call process "$(tok "$T")" >"$W/r-proc2.json"
tj "rpc process: is_pg_version_compatible true" "$W/r-proc.json" '.result == {"is_pg_version_compatible": true}'
tj "rpc process again: the same answer (idempotent)" "$W/r-proc2.json" '.result == {"is_pg_version_compatible": true}'
rpc_status() { rpc_call status "$(tok "$T")" | jq -r .result.status; }
seen=$(rpc_status)
rpc_set '{"pending_seconds": 0}'
seen+=" $(rpc_status)"
rpc_set '{"progress_seconds": 0}'
for ((i = 0; i < 100; i++)); do # done once the work is written too
	st=$(rpc_status)
	[[ $st == done ]] && break
	sleep 0.1
done
seen+=" $st"
t "rpc states by the clock: pending, progress, done (saw: $seen)" test "$seen" = "pending progress done"
rpc_set '{"pending_seconds": 0.3, "progress_seconds": 0.3}'
LOGURL="https://localhost:$EMULATOR_PORT/upgrade/request/logs?token=$T"
curl -sS --cacert "$UPGRADE_TEST_CACERT" -o "$W/r-log0" "$LOGURL"
LSIZE=$(stat -c %s "$W/r-log0")
curl -sS --cacert "$UPGRADE_TEST_CACERT" -H 'Range: bytes=5-' -D "$W/r-log5.h" -o "$W/r-log5" "$LOGURL"
t "rpc logs: a whole log of $LSIZE bytes that says the upgrade finished" grep -q "upgrade finished" "$W/r-log0"
t "rpc logs Range bytes=5-: 206, Content-Range bytes 5-$((LSIZE - 1))/$LSIZE, the bytes from 5" \
	bash -c 'tr -d "\r" <"$1" | grep -q "^HTTP/1.1 206" && tr -d "\r" <"$1" | grep -qi "^content-range: bytes 5-$3/$4$" &&
		cmp "$2" <(tail -c +6 "$5")' _ "$W/r-log5.h" "$W/r-log5" "$((LSIZE - 1))" "$LSIZE" "$W/r-log0"
for from in "$LSIZE" "$((LSIZE + 100))"; do
	got=$(curl -sS --cacert "$UPGRADE_TEST_CACERT" -H "Range: bytes=$from-" -w '%{http_code} %{size_download}' \
		-o /dev/null "$LOGURL")
	t "rpc logs from byte $from (size $LSIZE): an empty 200" test "$got" = "200 0"
done

# ------------------------------------------------------------- download
rpc_call transfer/start "$(jq -cn --arg t "$T" '{token: $t, transfer_type: "upload"}')" >"$W/r-late.json"
tj "rpc transfer/start upload once done: result.error" "$W/r-late.json" '.result.error | length > 0'
start_kh "$T" download "$W/r-down.json"
DP=$(jq -r .result.ssh_port "$W/r-down.json")
tj "rpc transfer/start download: dump_name upgraded.dump" "$W/r-down.json" '.result.dump_name == "upgraded.dump"'
mkdir -p "$W/down"
t "rsync down with the script's -a --ignore-missing-args of the four paths" \
	rpc_rsync "$W/rk" "$W/r-down.json.kh" "$DP" -a --ignore-missing-args \
	"$RU@localhost:/data/upgraded.dump" "$RU@localhost:/data/filestore" \
	"$RU@localhost:/data/upgrade-report.html" "$RU@localhost:/data/upgrade.log" "$W/down/"
t "down: the directory dump, filestore/, the report and the log" bash -c \
	'test -f "$1/upgraded.dump/toc.dat" -a -f "$1/upgrade-report.html" -a -s "$1/upgrade.log" &&
	 test -n "$(find "$1/filestore" -type f)"' _ "$W/down"
rpc_call transfer/stop "$(tok "$T")" -o /dev/null
t "no token in the emulator's log (masked as token=***)" bash -c '! grep -qF "$1" "$2"' _ "$T" "$EMULATOR_LOG"

# ------------------------------------------------------------- hostile answers
# rpc_fault_check DESC METHOD FAULT EXTRA JQ: one call of METHOD under FAULT
rpc_fault_check() {
	rpc_fault "$2" "$3" "$4"
	rpc_call "$2" "$(tok "$T")" -w '\n%{http_code} %{content_type}\n' >"$W/r-fault.out"
	head -n -1 "$W/r-fault.out" >"$W/r-fault.body"
	jq -Rn --rawfile b "$W/r-fault.body" --arg s "$(tail -n 1 "$W/r-fault.out")" '{body: $b, status: $s}' \
		>"$W/r-fault.json"
	tj "$1" "$W/r-fault.json" "$5" "${@:6}"
}
rpc_fault_check "fault result_error: result.error \"Invalid contract\" in a 200" status result_error '' \
	'(.body | fromjson | .result) == {"error": "Invalid contract"} and (.status | startswith("200 application/json"))'
rpc_fault_check "fault odoo_error: error.data.message, no result" status odoo_error '"message": "Session expired"' \
	'.body | fromjson | .error.data.message == "Session expired" and has("result") == false'
rpc_fault_check "fault html: a 200 text/html maintenance page" status html '' \
	'(.status | startswith("200 text/html")) and (.body | test("maintenance"))'
rpc_fault_check "fault http: a 503 (not 2xx)" status http '"status": 503' '.status | startswith("503 ")'
rpc_fault_check "fault missing: status without host_uri" status missing '"field": "host_uri"' \
	'.body | fromjson | .result | has("host_uri") == false and .status == "done"'
for bad in "evil.example/x" "https://x" "a b"; do
	rpc_fault_check "fault set: host_uri \"$bad\", not a bare host" status set \
		"$(jq -cn --arg v "$bad" '{field: "host_uri", value: $v}')" '.body | fromjson | .result.host_uri == $v' \
		--arg v "$bad"
done
rpc_fault_check "fault set: archived true" status set '"field": "archived", "value": true' \
	'.body | fromjson | .result.archived == true'
rpc_fault create set '"field": "assigned_host_uri", "value": "evil.example/x"'
rpc_create >"$W/r-evilhost.json"
tj "fault set: assigned_host_uri \"evil.example/x\"" "$W/r-evilhost.json" '.result.assigned_host_uri == "evil.example/x"'
for bad in "../upgraded.dump" "a/b"; do
	rpc_fault transfer/start set "$(jq -cn --arg v "$bad" '{field: "dump_name", value: $v}')"
	start_kh "$T" download "$W/r-dn.json"
	tj "fault set: dump_name \"$bad\"" "$W/r-dn.json" '.result.dump_name == $v' --arg v "$bad"
done
rpc_call transfer/stop "$(tok "$T")" -o /dev/null
rpc_fault logs hostile_log
curl -sS --cacert "$UPGRADE_TEST_CACERT" -o "$W/r-hostile" "$LOGURL"
t "fault hostile_log: the log holds bytes that are not UTF-8 and terminal escapes" bash -c \
	'! iconv -f UTF-8 -t UTF-8 "$1" >/dev/null 2>&1 && grep -q $'"'"'\x1b\]0;'"'"' "$1"' _ "$W/r-hostile"
emulator_fault '*' http500
rpc_call status "$(tok "$T")" >"$W/r-v1star.json"
emulator_reset
tj "a v1 fault for * does not touch the rpc dialect" "$W/r-v1star.json" '.result.status == "done"'

# ------------------------------------------------------------- forced states, wipe
rpc_set '{"compatible": false}'
rpc_create >"$W/r-c5.json"
rpc_set '{"compatible": true}'
T5=$(jq -r .result.token "$W/r-c5.json")
D5=$(rpc_view | jq -r --arg id "$(jq .result.request_id "$W/r-c5.json")" '.requests[$id].data_dir')
printf -- '-- a dump\n' >"$D5/origin.sql"
rpc_call process "$(tok "$T5")" >"$W/r-incompat.json"
tj "rpc process of a request made under compatible false: is_pg_version_compatible false" "$W/r-incompat.json" \
	'.result == {"is_pg_version_compatible": false}'
rpc_call create "$(jq -cn --rawfile k "$W/rk.pub" '{contract: "M9-fail", target: "17.0", aim: "test",
	env_vars: ["EMULATOR_FAIL=no space left"], ssh_key: $k}')" >"$W/r-c6.json"
T6=$(jq -r .result.token "$W/r-c6.json")
D6=$(rpc_view | jq -r --arg id "$(jq .result.request_id "$W/r-c6.json")" '.requests[$id].data_dir')
printf -- '-- a dump\n' >"$D6/origin.sql"
rpc_call process "$(tok "$T6")" -o /dev/null
for ((i = 0; i < 100; i++)); do
	rpc_call status "$(tok "$T6")" >"$W/r-fail6.json"
	[[ $(jq -r .result.status "$W/r-fail6.json") == failed ]] && break
	sleep 0.1
done
tj "env_vars EMULATOR_FAIL=<reason>: processing ends failed with that reason" "$W/r-fail6.json" \
	'.result.status == "failed" and .result.reason == "no space left"'
rpc_create >"$W/r-c2.json"
T2=$(jq -r .result.token "$W/r-c2.json")
emulator_curl /_emulator/rpc_state -H 'Content-Type: application/json' \
	-d "$(jq -cn --arg t "$T2" '{token: $t, state: "failed", reason: "emulated failure"}')" -o /dev/null
rpc_call status "$(tok "$T2")" >"$W/r-failed.json"
tj "rpc_state: failed with its reason" "$W/r-failed.json" \
	'.result == {"status": "failed", "host_uri": "localhost", "archived": false, "reason": "emulated failure"}'
rpc_call wipe "$(jq -cn --arg t "$T" '{token: $t, contract: "M999-other"}')" >"$W/r-wipe-bad.json"
tj "rpc wipe with another contract than the token's: result.error" "$W/r-wipe-bad.json" \
	'.result.error == "Invalid contract"'
rpc_call wipe "$(jq -cn --arg t "$T" '{token: $t, contract: "M123456-abcdef"}')" >"$W/r-wipe.json"
tj "rpc wipe: every request of the contract wiped, failed empty" "$W/r-wipe.json" \
	'.result.failed == [] and (.result.wiped | index($a) and index($b))' \
	--argjson a "$RID" --argjson b "$(jq .result.request_id "$W/r-c2.json")"
rpc_call status "$(tok "$T")" >"$W/r-arch.json"
tj "after wipe: status archived true" "$W/r-arch.json" '.result.archived == true'
t "after wipe: the request's /data is gone" test ! -e "$DATA"
rpc_call transfer/start "$(jq -cn --arg t "$T" '{token: $t, transfer_type: "download"}')" >"$W/r-arch-tr.json"
tj "after wipe: transfer/start is a result.error" "$W/r-arch-tr.json" '.result.error | test("archived")'

# ------------------------------------------------------------- through PostgreSQL
# shellcheck source=../lib/pg.bash
source "$here/../lib/pg.bash"
if pg_bin_dir >/dev/null 2>&1 && pg_start >"$W/pg.log" 2>&1; then
	rpc_set "$(jq -cn --arg h "$PGHOST" --arg u "$PGUSER" --arg p "$PGPORT" '{pghost: $h, pguser: $u, pgport: $p}')"
	pg_make_odoo rpcsrc "$W/odoo" >/dev/null
	pg_dump -Fd -f "$W/pg.dump" rpcsrc
	rpc_create M7-pg >"$W/r-pg.json"
	TP=$(jq -r .result.token "$W/r-pg.json")
	start_kh "$TP" upload "$W/r-pgup.json"
	rpc_rsync "$W/rk" "$W/r-pgup.json.kh" "$(jq -r .result.ssh_port "$W/r-pgup.json")" --delete-after \
		--recursive --links --times "$W/pg.dump/" "$RU@localhost:/data/origin.dump"
	rpc_call transfer/stop "$(tok "$TP")" -o /dev/null
	rpc_call process "$(tok "$TP")" -o /dev/null
	for ((i = 0; i < 600; i++)); do
		st=$(rpc_call status "$(tok "$TP")" | jq -r .result.status)
		[[ $st == done || $st == failed ]] && break
		sleep 0.1
	done
	start_kh "$TP" download "$W/r-pgdown.json"
	mkdir -p "$W/pgdown"
	rpc_rsync "$W/rk" "$W/r-pgdown.json.kh" "$(jq -r .result.ssh_port "$W/r-pgdown.json")" -a \
		--ignore-missing-args "$RU@localhost:/data/upgraded.dump" "$RU@localhost:/data/filestore" "$W/pgdown/"
	rpc_call transfer/stop "$(tok "$TP")" -o /dev/null
	createdb -T template0 rpcnew && pg_restore --no-owner -d rpcnew "$W/pgdown/upgraded.dump"
	got="$(pg_sql rpcnew "SELECT string_agg(DISTINCT latest_version, ',') FROM ir_module_module")"
	got+="|$(pg_sql rpcnew 'SELECT count(*) FROM res_partner')"
	NEWF=$(pg_sql rpcnew "SELECT store_fname FROM ir_attachment WHERE name = 'upgrade.txt'")
	t "through PostgreSQL ($st): the upgraded directory dump restores, every module at 17.0.1.0, 500 partners ($got)" \
		test "$got" = "17.0.1.0|500"
	t "through PostgreSQL: the attachment the upgrade added has its file in filestore/ ($NEWF)" \
		test -n "$NEWF" -a -f "$W/pgdown/filestore/$NEWF"
	t "through PostgreSQL: the scratch database is dropped" \
		test "$(pg_sql postgres "SELECT count(*) FROM pg_database WHERE datname LIKE 'emu_upgrade_%'")" = 0
	pg_stop
else
	pass "through PostgreSQL # SKIP no PostgreSQL to start ($(tail -n 1 "$W/pg.log" 2>/dev/null))"
fi

# left open on purpose: harness_stop must stop it (checked in selftest.sh)
rpc_create M8-left >"$W/r-left.json"
start_kh "$(jq -r .result.token "$W/r-left.json")" upload "$W/r-leftup.json"
RPC_LEFT_PORT=$(jq -r .result.ssh_port "$W/r-leftup.json")
