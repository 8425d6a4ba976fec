#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
# bench/bench.sh -- the `upgrade` builtin against curl/jq and OpenSSH sftp,
# side by side, on the same files and the same loopback servers (the test
# harness's platform emulator over HTTPS and a private OpenSSH sshd).
#
#   bash bench/bench.sh            # 1 GiB transfers, 200 status calls
#   bash bench/bench.sh --quick    # 64 MiB, 50 calls
#
# Environment: BENCH_SIZE_MIB (1024; 64 with --quick), BENCH_CALLS (200; 50),
# BENCH_REPEAT (5), BENCH_MEM_CALLS (10000), BENCH_LOADS (= BENCH_CALLS),
# BENCH_SO (the module, default .libs/upgrade.so), BENCH_DIAG=0 (skip the
# diagnostic rows), BENCH_KEEP=1 (keep the work dir and the harness dir),
# BENCH_CASES (the cases to run, e.g. "download sftp-get"; all by default:
# status upload download https-par sftp-put sftp-get sftp-rtt load mem pg rpc),
# BENCH_TOOLS (only these tools' rows in the transfer cases, by key, e.g.
# "ssh b b4": the reference always runs; for trying a change quickly),
# BENCH_BASE_SO (another build of the module, e.g. the last release: the pg
# case's restore gets a row of its own beside this build's, same run),
# BENCH_RTT_MS (30; a list, e.g. "30 100", runs the link cases at each),
# BENCH_RPC_MIB, BENCH_RPC_FS_MIB, BENCH_RPC_JOBS, BENCH_RPC_INTERVAL,
# BENCH_RPC_FAST_INTERVAL and PLATFORM_UPGRADE_PY (the rpc case: the whole
# job against the platform's script, bench/rpc_job.sh; root),
# BENCH_RTT_REPEAT (1), BENCH_RTT_DIAG=1 (diagnostic rows
# over RTT too), BENCH_PAR_WINDOW (https-par's window per connection, bytes:
# 3 MiB), BENCH_PG_MIB (the pg case's database: 300 MiB; 50 with --quick),
# TMPDIR.
# See bench/README.md.
#
# Prints progress on stderr and a Markdown table on stdout.  Exit status 0
# when every measurement ran and verified (a missed goal is not an error),
# 1 when a measurement of the builtin FAILED, 2 on a setup problem.

set -u -o pipefail

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$BENCH_DIR/.." && pwd)

usage() {
	awk 'NR > 1 && !/^#/ { exit } NR > 1 { sub(/^# ?/, ""); print }' "${BASH_SOURCE[0]}"
}

QUICK=0
for arg; do
	case $arg in
	--quick) QUICK=1 ;;
	-h | --help) usage; exit 0 ;;
	*) printf 'bench: unknown argument %s\n' "$arg" >&2; usage >&2; exit 2 ;;
	esac
done
if ((QUICK)); then
	SIZE_MIB=${BENCH_SIZE_MIB:-64} CALLS=${BENCH_CALLS:-50}
else
	SIZE_MIB=${BENCH_SIZE_MIB:-1024} CALLS=${BENCH_CALLS:-200}
fi
REPEAT=${BENCH_REPEAT:-5}
MEM_CALLS=${BENCH_MEM_CALLS:-10000}
LOADS=${BENCH_LOADS:-$CALLS}
SO=${BENCH_SO:-$ROOT/.libs/upgrade.so}
ALL_CASES="status upload download https-par sftp-put sftp-get sftp-rtt load mem pg rpc"
RTT_LIST=${BENCH_RTT_MS:-30} # the link cases run once per round trip listed
RTT_MS=${RTT_LIST%% *}
RTT_REPEAT=${BENCH_RTT_REPEAT:-1}
PARALLEL=${BENCH_PARALLEL:-4 8} # the builtin's --parallel rows (besides the default and --parallel 1)
FORWARDER=${BENCH_FORWARDER:-c}
PAR_WINDOW=${BENCH_PAR_WINDOW:-3145728} # Linux's largest default receive window for data (tcp_rmem max 6 MiB, half of it)
RTT_DIAG=${BENCH_RTT_DIAG:-0} # the diagnostic rows over RTT too (curl's put: ~30 s per 64 MiB at 30 ms)
CASES=${BENCH_CASES:-$ALL_CASES}
DIAG=${BENCH_DIAG:-1} # the diagnostic rows (goal "—"): curl/sftp + fsync, sftp with libssh2's algorithms
# What the builtin's libssh2 negotiates with this sshd (plugin/core/ssh/ssh.c
# prefers aes128-ctr and hmac-sha2-256): the diagnostic OpenSSH rows use it.
LIBSSH2_ALGOS='aes128-ctr + hmac-sha2-256'
LIBSSH2_OPTS=(-c aes128-ctr -o MACs=hmac-sha2-256)
TARGET=17.0
PREFIX="UPGRADED TO $TARGET"$'\n' # what the emulator puts before the upgraded dump
SIZE=$((SIZE_MIB * 1048576))
DL_SIZE=$((SIZE + ${#PREFIX}))

say() { printf 'bench: %s\n' "$*" >&2; }
die() { say "$*"; exit 2; }
want() { [[ " $CASES " == *" $1 "* ]]; }
NEED_SERVERS=0 # the emulator, sshd and the data file: every case but pg and rpc
for c in $CASES; do
	[[ " $ALL_CASES " == *" $c "* ]] || die "BENCH_CASES: unknown case '$c' (known: $ALL_CASES)"
	[[ $c == pg || $c == rpc ]] || NEED_SERVERS=1
done
if ((QUICK)); then PG_MIB=${BENCH_PG_MIB:-50}; else PG_MIB=${BENCH_PG_MIB:-300}; fi
LOAD_DELTAS=() MEM_LINE= MEM_FAILED=0

for v in SIZE_MIB CALLS REPEAT MEM_CALLS LOADS RTT_MS RTT_REPEAT PG_MIB PAR_WINDOW; do
	[[ -n ${!v} ]] || die "$v is empty"
	[[ ${!v} =~ ^[1-9][0-9]*$ ]] || die "$v must be a positive integer (got '${!v}')"
done
[[ $RTT_LIST =~ ^[1-9][0-9]*( [1-9][0-9]*)*$ ]] ||
	die "BENCH_RTT_MS must be positive integers separated by spaces (got '$RTT_LIST')"

# ------------------------------------------------------------------ tools
if [[ ! -x /usr/bin/time ]]; then
	say "/usr/bin/time missing: installing the Debian package 'time'"
	if [[ $(id -u) == 0 ]]; then
		apt-get install -y time >/dev/null 2>&1 ||
			{ apt-get update >/dev/null 2>&1 && apt-get install -y time >/dev/null 2>&1; }
	fi
	[[ -x /usr/bin/time ]] || die "/usr/bin/time is needed (apt-get install -y time)"
fi
for t in curl jq sftp ssh-keygen openssl python3 cmp awk; do
	command -v "$t" >/dev/null || die "$t is needed"
done
[[ -x /usr/sbin/sshd ]] || die "/usr/sbin/sshd is needed (openssh-server)"
# The other tools a user would pick are not needed: a missing one is said
# here, in its rows (FAILED: not installed) and under the table.
MISSING=()
declare -A INSTALL=([aria2c]='apt-get install -y aria2' [rclone]='apt-get install -y rclone'
	[lftp]='apt-get install -y lftp')
for t in aria2c rclone lftp; do
	command -v "$t" >/dev/null || MISSING+=("$t (${INSTALL[$t]})")
done
((${#MISSING[@]} == 0)) || say "not installed, their rows will say so: ${MISSING[*]}"
# missing_tool TOOL: TOOL is not installed (the row's failure says so)
missing_tool() { ! command -v "$1" >/dev/null; }
not_installed() { printf '%s is not installed (%s)' "$1" "${INSTALL[$1]}"; }
# The module is copied into the work dir once it loads, so that a rebuild
# by someone else during the run (libtool removes .libs/ first) cannot
# pull it away mid-bench.
so_loads() { [[ -f $1 ]] && bash --norc --noprofile -c 'enable -f "$1" upgrade' _ "$1" 2>/dev/null; }
if ! so_loads "$SO"; then
	say "$SO is missing or does not load: waiting for a build in progress, then building"
	for i in $(seq 1 24); do
		sleep 5
		so_loads "$SO" && break
		if ((i % 6 == 0)) && [[ -z ${BENCH_SO:-} ]]; then
			(cd "$ROOT" && make -j2) >/dev/null 2>&1
			so_loads "$SO" && break
		fi
	done
fi
so_loads "$SO" || die "no loadable module at $SO (build with: cd $ROOT && make -j2)"
SO_ORIGIN="$SO, built $(date -u -r "$SO" '+%Y-%m-%d %H:%M UTC')"

# --------------------------------------------------- work dir and servers
WORK=$(mktemp -d "${TMPDIR:-/tmp}/upgrade-bench.XXXXXX") || die "mktemp failed"
for i in 1 2 3 4 5; do
	cp "$SO" "$WORK/upgrade.so" 2>/dev/null && so_loads "$WORK/upgrade.so" && break
	sleep 5
done
so_loads "$WORK/upgrade.so" || { rm -rf "$WORK"; die "cannot copy $SO"; }
SO=$WORK/upgrade.so
unset HARNESS_DIR
# shellcheck source=../tests/lib/harness.bash
source "$ROOT/tests/lib/harness.bash"

cleanup() {
	local rc=$?
	trap - EXIT
	if [[ -n ${HARNESS_DIR:-} ]]; then
		HARNESS_KEEP=${BENCH_KEEP:-0} harness_stop 2>/dev/null
	fi
	if [[ ${BENCH_KEEP:-0} == 1 ]]; then
		say "kept $WORK"
	else
		rm -rf "$WORK"
	fi
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 129' HUP
trap 'exit 130' INT
trap 'exit 143' TERM

CA= # set once the harness made its CA

# now: a timestamp (bash's EPOCHREALTIME, microseconds, no fork)
now() { printf '%s' "${EPOCHREALTIME/,/.}"; }
# fsub A B: A - B;  fdiv A B: A / B (0 when B is 0)
fsub() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.6f", a - b }'; }
fdiv() { awk -v a="$1" -v b="$2" 'BEGIN { if (b == 0) print 0; else printf "%.6f", a / b }'; }
# median of the numbers given as arguments
median() {
	printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 }
		END { if (NR == 0) { print 0; exit }
		      if (NR % 2) printf "%.6f", v[(NR + 1) / 2];
		      else printf "%.6f", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
# rotated N WORD…: the words rotated left by N-1 (so that no tool always
# runs first, right after another case's I/O)
rotated() {
	local n=$1
	shift
	local -a w=("$@")
	local i c=${#w[@]}
	for ((i = 0; i < c; i++)); do printf '%s\n' "${w[(i + n - 1) % c]}"; done
}
# order_for R REF TOOL…: sets ORDER: for R=0 (the untimed warm-up) only the
# reference tool REF, else the tools rotated by R
order_for() {
	local r=$1 ref=$2
	shift 2
	if ((r == 0)); then
		WARMUP=1 ORDER=("$ref")
	else
		WARMUP=0
		mapfile -t ORDER < <(rotated "$r" "$@")
		local k kept=()
		for k in "${ORDER[@]}"; do
			picked "$k" || [[ $k == "$ref" ]] && kept+=("$k")
		done
		ORDER=("${kept[@]}")
	fi
}
# picked TOOL: BENCH_TOOLS is unset or names TOOL
picked() { [[ -z ${BENCH_TOOLS:-} || " $BENCH_TOOLS " == *" $1 "* ]]; }
run_label() { if (($1 == 0)); then echo "warm-up"; else echo "run $1/$REPEAT"; fi; }
urlencode() { jq -rn --arg v "$1" '$v | @uri'; }

# api_curl METHOD [curl args…]: one API call on the current emulator
api_curl() {
	local m=$1
	shift
	curl -sS --fail-with-body --max-time 60 --cacert "$CA" "$@" "$UPGRADE_URL/$m"
}

# new_request NAMEVAR: a fresh draft request (curl create); sets
# NAMEVAR_ID and NAMEVAR_KEY
new_request() {
	local out id key
	out=$(api_curl create -d contract=M12345-bench -d email=bench@example.com \
		-d target="$TARGET" -d aim=test -d filename=dump.zip) || {
		say "create failed: $out"
		return 1
	}
	id=$(jq -r '.request.id // empty' <<<"$out") key=$(jq -r '.request.key // empty' <<<"$out")
	[[ -n $id && -n $key ]] || { say "create: unexpected answer: $out"; return 1; }
	printf -v "$1_ID" '%s' "$id"
	printf -v "$1_KEY" '%s' "$key"
}

# sftp_access ID KEY PUBFILE: authorise PUBFILE for the request (curl)
sftp_access() {
	local out
	out=$(api_curl request_sftp_access -F request="$1" -F key="$2" -F ssh_keys=@"$3") &&
		[[ $(jq -c .failures <<<"$out") == '[]' ]] || {
		say "request_sftp_access failed: $out"
		return 1
	}
}

# status_count: how many status calls the current emulator has served
status_count() { emulator_stats | jq '.requests.status // 0'; }

# ------------------------------------------------------------- results
declare -A R_SECS R_CPU R_RSS R_FAIL R_CASE R_TOOL R_UNIT R_AMOUNT R_REF R_GOAL
ROWS=()
# row KEY CASE TOOL UNIT AMOUNT REFKEY GOAL
#   UNIT: MiB/s | calls/s | loads/s;  AMOUNT: MiB or calls per run
#   GOAL: ref | info | speedup:X | xfer:X | - (none)
row() {
	ROWS+=("$1")
	R_CASE[$1]=$2 R_TOOL[$1]=$3 R_UNIT[$1]=$4 R_AMOUNT[$1]=$5 R_REF[$1]=$6 R_GOAL[$1]=$7
	R_SECS[$1]='' R_CPU[$1]='' R_RSS[$1]=0 R_FAIL[$1]=''
}
# record KEY SECONDS RSS_KIB [FAILURE]: also the CPU seconds of the last
# measure (M_CPU)
WARMUP=0
record() {
	local k=$1
	if ((WARMUP)); then
		say "  ${R_TOOL[$k]} (warm-up, not recorded): ${4:-$(printf '%.3f s' "$2")}"
		return
	fi
	if [[ -n ${4:-} ]]; then
		[[ -n ${R_FAIL[$k]} ]] || R_FAIL[$k]=$4
		say "  ${R_TOOL[$k]}: FAILED: $4"
		return
	fi
	R_SECS[$k]+="$2 "
	R_CPU[$k]+="${M_CPU:-0} "
	((${3:-0} > ${R_RSS[$k]})) && R_RSS[$k]=$3
	say "  ${R_TOOL[$k]}: $(printf '%.3f' "$2") s, CPU ${M_CPU:-0} s (${M_CPU_SPLIT:-}), peak RSS $(((${3:-0} + 512) / 1024)) MiB"
}

# measure CMD…: run CMD under /usr/bin/time (stdin $M_STDIN, default
# /dev/null); sets M_SECS (wall, measured here), M_RSS (peak KiB of the
# process tree's biggest process), M_CPU (user + system seconds of CMD
# and every process under it that was waited for: the calling shell with
# the builtin, sftp with its ssh, rclone, aria2c, curl), M_RC; output in
# $WORK/m.out, m.err
measure() {
	local t0 t1 rss user sys
	sync
	t0=$(now)
	/usr/bin/time -f '%M %U %S' -o "$WORK/m.rss" "$@" <"${M_STDIN:-/dev/null}" >"$WORK/m.out" 2>"$WORK/m.err"
	M_RC=$?
	t1=$(now)
	M_SECS=$(fsub "$t1" "$t0")
	read -r rss user sys < <(tail -n 1 "$WORK/m.rss" 2>/dev/null)
	M_RSS=${rss:-0} M_CPU=$(awk -v u="${user:-0}" -v s="${sys:-0}" 'BEGIN { printf "%.2f", u + s }')
	M_CPU_SPLIT="user ${user:-0}, system ${sys:-0}"
	[[ $M_RSS =~ ^[0-9]+$ ]] || M_RSS=0
}

# why_failed: a one-line reason from the last measure
why_failed() {
	local what
	what=$(jq -r '[.failures[]? | "\(.reason): \(.message)"] | first // empty' "$WORK/m.out" 2>/dev/null)
	[[ -n $what ]] || what=$(grep -v -e '^Command ' -e "^curl: try " "$WORK/m.err" | head -n 3 | paste -sd ' ')
	[[ -n $what ]] || what=$(tail -n 1 "$WORK/m.out" 2>/dev/null | cut -c1-120)
	case $M_RC in
	137) what="killed (SIGKILL, out of memory?) ${what}" ;;
	esac
	printf 'exit %s: %s' "$M_RC" "${what:-no message}" | tr '\n|' '  ' | cut -c1-160
}

# json_ok: the last measure printed a document with an empty failures list
json_ok() { [[ $(jq -c '.failures' "$WORK/m.out" 2>/dev/null | tail -n 1) == '[]' ]]; }

# builtin_cmd ARGS…: the command line running `upgrade ARGS…` in a fresh bash
builtin_cmd() {
	B_CMD=(bash --norc --noprofile -c 'enable -f "$0" upgrade || exit 99; upgrade "$@"' "$SO" "$@")
}

# expected_cmp FILE: FILE holds the upgraded dump (PREFIX + the data file)
expected_cmp() {
	cmp -s "$1" <(printf '%s' "$PREFIX"; cat "$DATA")
}
# record_download KEY TOOL OUT: record the run just measured, once its exit
# status (and for the builtin, TOOL b, its answer) and OUT's bytes check out
record_download() {
	if ((M_RC != 0)) || { [[ $2 == b* ]] && ! json_ok; }; then
		record "$1" 0 0 "$(why_failed)"
	elif ! expected_cmp "$3"; then
		record "$1" 0 0 "the downloaded bytes differ from the upgraded dump"
	else
		record "$1" "$M_SECS" "$M_RSS"
	fi
}

# ------------------------------------------------------------------ setup
say "work dir $WORK; size ${SIZE_MIB} MiB, ${CALLS} calls, ${REPEAT} repeats"
T_START=$(now)
LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
DATA=$WORK/data.bin
if ((NEED_SERVERS)); then
say "making ${SIZE_MIB} MiB of random bytes"
dd if=/dev/urandom of="$DATA" bs=1M count="$SIZE_MIB" iflag=fullblock status=none ||
	die "cannot write $DATA"
# a custom dump's magic: upload and sftp-put look at the first bytes
printf 'PGDMP' | dd of="$DATA" conv=notrunc status=none || die "cannot write $DATA"
[[ $(stat -c %s "$DATA") == "$SIZE" ]] || die "$DATA has the wrong size"

sshd_prepare || die "sshd_prepare failed"
emulator_start || die "emulator_start failed"
sshd_start || die "sshd_start failed"
CA=$HARNESS_DIR/ca.pem

KH=$WORK/known_hosts
harness_known_hosts "$KH" || die "known_hosts"
harness_ssh_keygen "$WORK/id_put" && harness_ssh_keygen "$WORK/id_get" || die "ssh-keygen failed"
SFTP_USER=$(id -un)
HOST_SHA256=$(ssh-keygen -lf "$SSHD_HOSTKEY_PUB" -E sha256 | awk '{ sub(/^SHA256:/, "", $2); print $2 }')
SFTP_OPTS=(-F /dev/null -o BatchMode=yes -o IdentitiesOnly=yes
	-o IdentityAgent=none -o StrictHostKeyChecking=yes -o GlobalKnownHostsFile=/dev/null
	-o UserKnownHostsFile="$KH")

# S: the request whose status is polled (draft)
new_request S || die "setup: create"
# P: the request the SFTP puts go to (draft, key id_put)
new_request P || die "setup: create"
sftp_access "$P_ID" "$P_KEY" "$WORK/id_put.pub" || die "setup: sftp access"
PUT_REMOTE=$SFTP_ROOT/$P_ID/dump.zip
# D: uploaded once (curl -T), made done: its upgraded dump is what both
# downloads (HTTPS and SFTP, key id_get) fetch
new_request D || die "setup: create"
say "setup: uploading the data once for the download cases"
out=$(curl -sS --fail-with-body --cacert "$CA" -X POST -T "$DATA" \
	-H 'Content-Type: application/octet-stream' \
	"$UPGRADE_URL/upload?request=$D_ID&key=$(urlencode "$D_KEY")") &&
	[[ $(jq -c .failures <<<"$out") == '[]' ]] || die "setup: upload failed: $out"
sftp_access "$D_ID" "$D_KEY" "$WORK/id_get.pub" || die "setup: sftp access"
emulator_set_state "$D_ID" "done" || die "setup: set_state done"
DL_URL=$(api_curl status -d request="$D_ID" --data-urlencode key="$D_KEY" |
	jq -r '.request.upgraded_dump_url // empty')
[[ -n $DL_URL ]] || die "setup: no upgraded_dump_url"
GET_REMOTE=$SFTP_ROOT/$D_ID/upgraded_dump.zip
[[ $(stat -c %s "$GET_REMOTE" 2>/dev/null) == "$DL_SIZE" ]] ||
	die "setup: $GET_REMOTE missing or of the wrong size"
fi # NEED_SERVERS

# ------------------------------------------------- case 1: status × N
if want status; then
# The child scripts print "SECONDS FAILURES" for the N calls only (after
# `enable -f`; the first call's TLS handshake is included).
cat >"$WORK/status_builtin.sh" <<'EOF'
enable -f "$SO" upgrade || { echo "0 enable"; exit 1; }
mode=$1 n=$2 fails=0 s= st=
t0=$EPOCHREALTIME
case $mode in
v)
	for ((i = 0; i < n; i++)); do
		upgrade status -v s --cacert "$CA" && [[ $s == *'"state"'*'"draft"'* ]] || ((fails++))
	done ;;
q)
	for ((i = 0; i < n; i++)); do
		upgrade status -q .request.state -r -v st --cacert "$CA" && [[ $st == draft ]] || ((fails++))
	done ;;
sub)
	for ((i = 0; i < n; i++)); do
		st=$(upgrade status -q .request.state -r --cacert "$CA") && [[ $st == draft ]] || ((fails++))
	done ;;
esac
t1=$EPOCHREALTIME
echo "${t0/,/.} ${t1/,/.} $fails"
EOF
cat >"$WORK/status_curl.sh" <<'EOF'
n=$1 fails=0 st=
t0=$EPOCHREALTIME
for ((i = 0; i < n; i++)); do
	st=$(curl -s --cacert "$CA" "$UPGRADE_URL/status" -d request="$UPGRADE_REQUEST" \
		--data-urlencode key="$UPGRADE_KEY" | jq -r .request.state) && [[ $st == draft ]] || ((fails++))
done
t1=$EPOCHREALTIME
echo "${t0/,/.} ${t1/,/.} $fails"
EOF

# status_case SUFFIX LABEL: the four status rows
status_case() {
	local sfx=$1 label=$2 r k before after t0 t1 fails
	local -a tools=(bv bq bsub curl)
	row "st$sfx-curl" "status ×$CALLS$label" 'curl \| jq pipelines' calls/s "$CALLS" "st$sfx-curl" ref
	row "st$sfx-bv" "status ×$CALLS$label" 'builtin `status -v s`' calls/s "$CALLS" "st$sfx-curl" speedup:20
	row "st$sfx-bq" "status ×$CALLS$label" 'builtin `status -q .request.state -r -v st`' calls/s "$CALLS" "st$sfx-curl" speedup:20
	row "st$sfx-bsub" "status ×$CALLS$label" 'builtin `st=$(status -q … -r)` (subshell)' calls/s "$CALLS" "st$sfx-curl" info
	new_request S || return 1
	for ((r = 1; r <= REPEAT; r++)); do
		say "status${label:+ $label}, run $r/$REPEAT"
		order_for "$r" - "${tools[@]}"
		for k in "${ORDER[@]}"; do
			before=$(status_count)
			case $k in
			bv | bq | bsub)
				measure env SO="$SO" CA="$CA" UPGRADE_URL="$UPGRADE_URL" UPGRADE_REQUEST="$S_ID" \
					UPGRADE_KEY="$S_KEY" bash --norc --noprofile "$WORK/status_builtin.sh" "${k#b}" "$CALLS" ;;
			curl)
				measure env CA="$CA" UPGRADE_URL="$UPGRADE_URL" UPGRADE_REQUEST="$S_ID" \
					UPGRADE_KEY="$S_KEY" bash --norc --noprofile "$WORK/status_curl.sh" "$CALLS" ;;
			esac
			after=$(status_count)
			read -r t0 t1 fails <"$WORK/m.out"
			if ((M_RC != 0)) || [[ $fails != 0 ]]; then
				record "st$sfx-$k" 0 0 "$(why_failed); ${fails:-?} of $CALLS calls failed"
			elif ((after - before != CALLS)); then
				record "st$sfx-$k" 0 0 "the server saw $((after - before)) status calls, not $CALLS"
			else
				record "st$sfx-$k" "$(fsub "$t1" "$t0")" "$M_RSS"
			fi
		done
	done
}

status_case "" ""

fi # status

# ------------------------------------------------- case 2: HTTPS upload
if want upload; then
row up-curlT "HTTPS upload ${SIZE_MIB} MiB" 'curl -X POST -T FILE' MiB/s "$SIZE_MIB" up-curlT ref
row up-b "HTTPS upload ${SIZE_MIB} MiB" 'builtin `upload FILE`' MiB/s "$SIZE_MIB" up-curlT xfer:0.95
row up-curlD "HTTPS upload ${SIZE_MIB} MiB" 'curl --data-binary @FILE (API doc)' MiB/s "$SIZE_MIB" up-curlT info
for ((r = 0; r <= REPEAT; r++)); do
	say "HTTPS upload, $(run_label $r)"
	order_for "$r" curlT b curlT curlD
	for k in "${ORDER[@]}"; do
		new_request U || die "create failed"
		enc=$(urlencode "$U_KEY")
		case $k in
		b)
			builtin_cmd upload "$DATA" --request "$U_ID" --key "$U_KEY" --url "$UPGRADE_URL" \
				--cacert "$CA" -s -c
			measure "${B_CMD[@]}" ;;
		curlT)
			measure curl -sS --cacert "$CA" -X POST -T "$DATA" -H 'Content-Type: application/octet-stream' \
				"$UPGRADE_URL/upload?request=$U_ID&key=$enc" ;;
		curlD)
			measure curl -sS --cacert "$CA" -H 'Content-Type: application/octet-stream' \
				--data-binary @"$DATA" "$UPGRADE_URL/upload?request=$U_ID&key=$enc" ;;
		esac
		orig=$EMULATOR_DATA/$U_ID/original
		if ((M_RC != 0)) || ! json_ok; then
			record "up-$k" 0 0 "$(why_failed)"
		elif ! cmp -s "$DATA" "$orig"; then
			record "up-$k" 0 0 "the server's copy differs from the file"
		else
			record "up-$k" "$M_SECS" "$M_RSS"
		fi
		rm -f "$orig" # the emulator's copy: not needed any more
	done
done

fi # upload

# ----------------------------------------------- case 3: HTTPS download
if want download; then
DL_OUT=$WORK/download.out
row dl-curl "HTTPS download ${SIZE_MIB} MiB" 'curl -o F URL' MiB/s "$((SIZE_MIB))" dl-curl ref
row dl-b "HTTPS download ${SIZE_MIB} MiB" 'builtin `download -o F --force`' MiB/s "$SIZE_MIB" dl-curl xfer:0.95
DL_TOOLS=(b curl)
if ((DIAG)); then
	row dl-curlsync "HTTPS download ${SIZE_MIB} MiB" 'curl -o F URL && sync F (same fsync)' MiB/s "$SIZE_MIB" dl-curl info
	DL_TOOLS+=(curlsync)
fi
for ((r = 0; r <= REPEAT; r++)); do
	say "HTTPS download, $(run_label $r)"
	order_for "$r" curl "${DL_TOOLS[@]}"
	for k in "${ORDER[@]}"; do
		rm -f "$DL_OUT" "$DL_OUT.part"
		case $k in
		b)
			builtin_cmd download -o "$DL_OUT" --force --request "$D_ID" --key "$D_KEY" \
				--url "$UPGRADE_URL" --cacert "$CA" -s -c
			measure "${B_CMD[@]}" ;;
		curl)
			measure curl -sS --fail --cacert "$CA" -o "$DL_OUT" "$DL_URL" ;;
		curlsync)
			measure bash --norc --noprofile -c 'curl -sS --fail --cacert "$1" -o "$2" "$3" && sync "$2"' \
				_ "$CA" "$DL_OUT" "$DL_URL" ;;
		esac
		record_download "dl-$k" "$k" "$DL_OUT"
	done
done
rm -f "$DL_OUT" "$DL_OUT.part"

fi # download

# start_forwarder TARGET_PORT NAME [--window BYTES]: a forwarder adding
# RTT_MS of round trip in front of TARGET_PORT; sets FWD_PORT.  The C one
# (bench/delay_fwd.c, built here) unless BENCH_FORWARDER=python: the
# Python one (tests/lib/delay_proxy.py) tops out near 100 MiB/s, below
# what several streams reach.
start_forwarder() {
	local target=$1 name=$2 i
	shift 2
	local fwd=(python3 "$ROOT/tests/lib/delay_proxy.py")
	if [[ $FORWARDER == c ]]; then
		[[ -x $WORK/delay_fwd ]] || cc -O2 -o "$WORK/delay_fwd" "$ROOT/bench/delay_fwd.c" >&2 ||
			die "cannot build bench/delay_fwd.c (BENCH_FORWARDER=python uses the Python one)"
		fwd=("$WORK/delay_fwd")
	fi
	# The link must not wait for a CPU: on 2 cores the client, sshd and the
	# forwarder share them, and a forwarder at nice 0 waiting its turn holds
	# every byte longer (measured: 4 SFTP streams at 30 ms moved 34 MiB/s
	# with it at nice 0, 60 at nice -10).  Root only.
	[[ $(id -u) == 0 ]] && fwd=(nice -n -15 "${fwd[@]}")
	"${fwd[@]}" --target-port "$target" --delay-ms "$(fdiv "$RTT_MS" 2)" "$@" \
		--port-file "$WORK/$name.port" </dev/null >"$WORK/$name.log" 2>&1 &
	FWD_PID=$!
	harness_track delay_proxy "$FWD_PID"
	for ((i = 0; i < 200; i++)); do
		[[ -s $WORK/$name.port ]] && break
		sleep 0.05
	done
	FWD_PORT=$(<"$WORK/$name.port") || die "the forwarder did not start: $(<"$WORK/$name.log")"
}

# stop_forwarder: the forwarder start_forwarder started last
stop_forwarder() {
	kill "$FWD_PID" 2>/dev/null
	wait "$FWD_PID" 2>/dev/null
	return 0
}

# ------------------------------- case 3b: HTTPS download over a long link
# The download through tests/lib/delay_proxy.py at RTT_MS with at most
# PAR_WINDOW bytes in flight per connection (a TCP window): one stream
# carries PAR_WINDOW per round trip; several streams (download --parallel,
# aria2c -x) carry more.  The emulator hands out the proxy's URL.  Once per
# round trip of BENCH_RTT_MS; the rows' keys are hpRTT-TOOL.
https_par_case() {
	local p=hp$RTT_MS r k
	start_forwarder "$EMULATOR_PORT" "hproxy$RTT_MS" --window "$PAR_WINDOW"
	HPROXY_PORT=$FWD_PORT
	announce_download_port() { # PORT (or null): where status sends downloads
		emulator_curl /_emulator/download_port -H 'Content-Type: application/json' -d "{\"port\": $1}" -o /dev/null
	}
	announce_download_port "$HPROXY_PORT" || die "setup: the emulator did not take the proxy's port"
	PAR_URL=${DL_URL/:$EMULATOR_PORT\//:$HPROXY_PORT/}
	PAR_OUT=$WORK/par.out
	label="HTTPS download ${SIZE_MIB} MiB, ${RTT_MS} ms RTT, $((PAR_WINDOW / 1048576)) MiB window"
	row "$p-curl" "$label" 'curl -o F URL' MiB/s "$SIZE_MIB" "$p-curl" ref
	row "$p-aria" "$label" 'aria2c -x 4 -s 4' MiB/s "$SIZE_MIB" "$p-curl" info
	row "$p-b1" "$label" 'builtin `download --parallel 1`' MiB/s "$SIZE_MIB" "$p-curl" info
	row "$p-b4" "$label" 'builtin `download --parallel 4`' MiB/s "$SIZE_MIB" "$p-curl" speedup:2.0
	row "$p-bd" "$label" 'builtin `download` (default)' MiB/s "$SIZE_MIB" "$p-curl" speedup:2.0
	# issue 19: the default ≥ 1.1× aria2c's 4 connections, at ≤ 32 MiB
	row "$p-bda" "$label" 'builtin `download` (default), against aria2c' MiB/s "$SIZE_MIB" "$p-aria" par:1.1
	HP_TOOLS=(curl aria b1 b4 bd)
	for ((r = 0; r <= RTT_REPEAT; r++)); do
		say "HTTPS download over ${RTT_MS} ms, $(run_label $r)"
		REPEAT=$RTT_REPEAT order_for "$r" curl "${HP_TOOLS[@]}"
		for k in "${ORDER[@]}"; do
			rm -f "$PAR_OUT" "$PAR_OUT.part" "$PAR_OUT.part.meta"
			case $k in
			curl) measure curl -sS --fail --cacert "$CA" -o "$PAR_OUT" "$PAR_URL" ;;
			aria)
				if missing_tool aria2c; then
					record "$p-aria" 0 0 "$(not_installed aria2c)"
					continue
				fi
				measure aria2c -q -x 4 -s 4 --ca-certificate="$CA" --allow-overwrite=true \
					--auto-file-renaming=false -d "$WORK" -o "$(basename "$PAR_OUT")" "$PAR_URL" ;;
			b1 | b4 | bd)
				local_par=()
				[[ $k == b1 ]] && local_par=(--parallel 1)
				[[ $k == b4 ]] && local_par=(--parallel 4)
				builtin_cmd download -o "$PAR_OUT" --force --request "$D_ID" --key "$D_KEY" \
					--url "$UPGRADE_URL" --cacert "$CA" -s -c "${local_par[@]}"
				measure "${B_CMD[@]}" ;;
			esac
			[[ $k == b* ]] && say "  ($(jq -c '.transfer | {streams, in_flight, round_trip_ms}' "$WORK/m.out" 2>/dev/null))"
			record_download "$p-$k" "${k:0:1}" "$PAR_OUT"
			[[ $k == bd ]] && record_download "$p-bda" b "$PAR_OUT"
		done
	done
	rm -f "$PAR_OUT" "$PAR_OUT.part" "$PAR_OUT.part.meta"
	announce_download_port null || die "the emulator did not take its own port back"
	stop_forwarder
}
if want https-par; then
	for RTT_MS in $RTT_LIST; do https_par_case; done
	RTT_MS=${RTT_LIST%% *}
fi # https-par

# measure_sftp BATCH IDENTITY PORT [OPTION…]: measure OpenSSH's sftp
# running the commands in BATCH, logged in with IDENTITY
measure_sftp() {
	local batch=$1 id=$2 port=$3
	shift 3
	M_STDIN=$batch measure env SSH_AUTH_SOCK= \
		sftp -b - -i "$id" "${SFTP_OPTS[@]}" -P "$port" "$@" "$SFTP_USER@127.0.0.1"
}

# measure_curl_sftp IDENTITY PORT REMOTE CURL-OPTION…: measure the curl
# tool's sftp:// (libcurl 7.88 driving the same libssh2 1.10 as the
# builtin), the alternative weighed in the SFTP design notes of docs/design.md
CURL_SFTP_TOOL='curl sftp:// (libcurl + libssh2, as the builtin)'
measure_curl_sftp() {
	local id=$1 port=$2 remote=$3
	shift 3
	measure curl -sS --key "$id" --pubkey "$id.pub" --hostpubsha256 "$HOST_SHA256" "$@" \
		"sftp://$SFTP_USER@127.0.0.1:$port/~/$remote"
}

# The other tools a user would pick, when installed (not CI dependencies:
# bench/README.md has the apt-get line).  OTHER_PUT/OTHER_GET: their keys.
OTHER_PUT=(sshT) OTHER_GET=(sshT) # OpenSSH sftp tuned for long links
# 256 requests of 255 KiB: -B 262144 is refused by OpenSSH 9.2's sftp for
# a put ("Outbound message too long 262169": the 25-byte header on top of
# 256 KiB passes its 256 KiB message limit)
SFTP_TUNED=(-R 256 -B 261120)
# lftp and rclone: their rows are there whether installed or not (a
# missing one's row says so)
OTHER_PUT+=(lftp rclone) OTHER_GET+=(lftp lftp4 rclone rclone4)
# absent KEY: KEY's program is not installed: its row (P-KEY) says so
absent() {
	local bin
	case $2 in lftp*) bin=lftp ;; rclone*) bin=rclone ;; *) return 1 ;; esac
	missing_tool "$bin" || return 1
	record "$1-$2" 0 0 "$(not_installed "$bin")"
}
# lftp_cmd PORT IDENTITY COMMANDS: lftp over sftp with OpenSSH's ssh as
# its transport (lftp's sftp runs ssh -s sftp), the same host-key trust.
lftp_cmd() {
	L_CMD=(env SSH_AUTH_SOCK= lftp -e "set sftp:connect-program 'ssh -a -x -i $2 ${SFTP_OPTS[*]}'; set net:max-retries 1; $3; bye"
		-u "$SFTP_USER," -p "$1" "sftp://127.0.0.1")
}
# rclone_remote PORT IDENTITY PATH: an on-the-fly rclone sftp remote
rclone_remote() {
	printf ':sftp,host=127.0.0.1,port=%s,user=%s,key_file=%s,known_hosts_file=%s:%s' "$1" "$SFTP_USER" "$2" "$KH" "$3"
}
# rclone on its own: no config file, no agent
RCLONE=(env SSH_AUTH_SOCK= RCLONE_CONFIG=/dev/null rclone -q --retries 1 --low-level-retries 1)
# parallel_rows P CASE VERB: the builtin's --parallel rows for the case
parallel_rows() {
	local p=$1 case=$2 verb=$3 goal=$4 n
	row "$p-b1" "$case" "builtin \`$verb --parallel 1\` (one stream)" MiB/s "$SIZE_MIB" "$p-ssh" info
	TOOLS+=(b1)
	for n in $PARALLEL; do
		row "$p-b$n" "$case" "builtin \`$verb --parallel $n\`" MiB/s "$SIZE_MIB" "$p-ssh" "$goal"
		TOOLS+=("b$n")
	done
}
# other_rows P CASE KEY…: rows for the other tools
other_rows() {
	local p=$1 case=$2 k tool
	shift 2
	for k in "$@"; do
		case $k in
		sshT) tool="OpenSSH sftp tuned (\`${SFTP_TUNED[*]}\`)" ;;
		lftp) tool='lftp `put`/`get`' ;;
		lftp4) tool='lftp `pget -n 4`' ;;
		rclone) tool='rclone copyto (sftp backend)' ;;
		rclone4) tool='rclone copyto --multi-thread-streams 4' ;;
		esac
		row "$p-$k" "$case" "$tool" MiB/s "$SIZE_MIB" "$p-ssh" info
		TOOLS+=("$k")
	done
}

# ------------------------------------------------------ case 4: SFTP put
# sftp_put_case P LABEL PORT DIAG GOAL: the SFTP put rows, keys P-tool,
# through PORT; GOAL is the builtin row's (see row)
sftp_put_case() {
	local p=$1 label=$2 port=$3 diag=$4 goal=$5 r k
	row "$p-ssh" "SFTP put ${SIZE_MIB} MiB$label" 'OpenSSH sftp `put`' MiB/s "$SIZE_MIB" "$p-ssh" ref
	row "$p-b" "SFTP put ${SIZE_MIB} MiB$label" 'builtin `sftp-put FILE`' MiB/s "$SIZE_MIB" "$p-ssh" "$goal"
	TOOLS=(b ssh)
	parallel_rows "$p" "SFTP put ${SIZE_MIB} MiB$label" sftp-put "$goal"
	other_rows "$p" "SFTP put ${SIZE_MIB} MiB$label" "${OTHER_PUT[@]}"
	PUT_TOOLS=("${TOOLS[@]}")
	if ((diag)); then
		row "$p-sshaes" "SFTP put ${SIZE_MIB} MiB$label" "OpenSSH sftp \`put\`, $LIBSSH2_ALGOS" MiB/s "$SIZE_MIB" "$p-ssh" info
		row "$p-curl" "SFTP put ${SIZE_MIB} MiB$label" "$CURL_SFTP_TOOL -T FILE" MiB/s "$SIZE_MIB" "$p-ssh" info
		PUT_TOOLS+=(sshaes curl)
	fi
	printf 'put "%s" dump.zip\n' "$DATA" >"$WORK/put.batch"
	for ((r = 0; r <= REPEAT; r++)); do
		say "SFTP put$label, $(run_label $r)"
		order_for "$r" ssh "${PUT_TOOLS[@]}"
		for k in "${ORDER[@]}"; do
			absent "$p" "$k" && continue
			: >"$PUT_REMOTE" # empty, so that resuming has nothing to skip
			case $k in
			b)
				builtin_cmd sftp-put "$DATA" --identity "$WORK/id_put" --known-hosts "$KH" \
					--request "$P_ID" --key "$P_KEY" --url "$UPGRADE_URL" --cacert "$CA" -s -c
				measure "${B_CMD[@]}" ;;
			b[0-9]*)
				builtin_cmd sftp-put "$DATA" --identity "$WORK/id_put" --known-hosts "$KH" --parallel "${k#b}" \
					--request "$P_ID" --key "$P_KEY" --url "$UPGRADE_URL" --cacert "$CA" -s -c
				measure "${B_CMD[@]}" ;;
			lftp)
				lftp_cmd "$port" "$WORK/id_put" "put $DATA -o dump.zip"
				measure "${L_CMD[@]}" ;;
			rclone)
				measure "${RCLONE[@]}" copyto "$DATA" "$(rclone_remote "$port" "$WORK/id_put" dump.zip)" ;;
			ssh)
				measure_sftp "$WORK/put.batch" "$WORK/id_put" "$port" ;;
			sshT)
				measure_sftp "$WORK/put.batch" "$WORK/id_put" "$port" "${SFTP_TUNED[@]}" ;;
			sshaes)
				measure_sftp "$WORK/put.batch" "$WORK/id_put" "$port" "${LIBSSH2_OPTS[@]}" ;;
			curl)
				measure_curl_sftp "$WORK/id_put" "$port" dump.zip -T "$DATA" ;;
			esac
			if ((M_RC != 0)) || { [[ $k == b* ]] && ! json_ok; }; then
				record "$p-$k" 0 0 "$(why_failed)"
			elif ! cmp -s "$DATA" "$PUT_REMOTE"; then
				record "$p-$k" 0 0 "the remote file differs from the local one"
			else
				record "$p-$k" "$M_SECS" "$M_RSS"
			fi
		done
	done
	: >"$PUT_REMOTE"
}
if want sftp-put; then
	sftp_put_case sp "" "$SSHD_PORT" "$DIAG" xfer:1.0
fi

# ------------------------------------------------------ case 4: SFTP get
# sftp_get_case P LABEL PORT DIAG GOAL [RCLONE_GOAL]: the SFTP get rows,
# keys P-tool, through PORT; GOAL is the builtin row's (see row);
# RCLONE_GOAL, a row of the default against rclone's 4 streams
sftp_get_case() {
	local p=$1 label=$2 port=$3 diag=$4 goal=$5 rgoal=${6:-} r k
	GET_OUT=$WORK/sftp-get.out
	row "$p-ssh" "SFTP get ${SIZE_MIB} MiB$label" 'OpenSSH sftp `get`' MiB/s "$SIZE_MIB" "$p-ssh" ref
	row "$p-b" "SFTP get ${SIZE_MIB} MiB$label" 'builtin `sftp-get -o F --force`' MiB/s "$SIZE_MIB" "$p-ssh" "$goal"
	TOOLS=(b ssh)
	parallel_rows "$p" "SFTP get ${SIZE_MIB} MiB$label" sftp-get "$goal"
	other_rows "$p" "SFTP get ${SIZE_MIB} MiB$label" "${OTHER_GET[@]}"
	[[ -n $rgoal ]] && row "$p-bvr" "SFTP get ${SIZE_MIB} MiB$label" \
		'builtin `sftp-get` (default), against rclone 4 streams' MiB/s "$SIZE_MIB" "$p-rclone4" "$rgoal"
	GET_TOOLS=("${TOOLS[@]}")
	if ((diag)); then
		row "$p-sshsync" "SFTP get ${SIZE_MIB} MiB$label" 'OpenSSH sftp `get` && sync F (same fsync)' MiB/s "$SIZE_MIB" "$p-ssh" info
		row "$p-sshaes" "SFTP get ${SIZE_MIB} MiB$label" "OpenSSH sftp \`get\`, $LIBSSH2_ALGOS" MiB/s "$SIZE_MIB" "$p-ssh" info
		row "$p-curl" "SFTP get ${SIZE_MIB} MiB$label" "$CURL_SFTP_TOOL -o F" MiB/s "$SIZE_MIB" "$p-ssh" info
		GET_TOOLS+=(sshsync sshaes curl)
	fi
	printf 'get upgraded_dump.zip "%s"\n' "$GET_OUT" >"$WORK/get.batch"
	for ((r = 0; r <= REPEAT; r++)); do
		say "SFTP get$label, $(run_label $r)"
		order_for "$r" ssh "${GET_TOOLS[@]}"
		for k in "${ORDER[@]}"; do
			absent "$p" "$k" && continue
			rm -f "$GET_OUT" "$GET_OUT.part" "$GET_OUT.part.meta"
			case $k in
			b)
				builtin_cmd sftp-get -o "$GET_OUT" --force --identity "$WORK/id_get" --known-hosts "$KH" \
					--request "$D_ID" --key "$D_KEY" --url "$UPGRADE_URL" --cacert "$CA" -s -c
				measure "${B_CMD[@]}" ;;
			b[0-9]*)
				builtin_cmd sftp-get -o "$GET_OUT" --force --identity "$WORK/id_get" --known-hosts "$KH" --parallel "${k#b}" \
					--request "$D_ID" --key "$D_KEY" --url "$UPGRADE_URL" --cacert "$CA" -s -c
				measure "${B_CMD[@]}" ;;
			lftp)
				lftp_cmd "$port" "$WORK/id_get" "get upgraded_dump.zip -o $GET_OUT"
				measure "${L_CMD[@]}" ;;
			lftp4)
				lftp_cmd "$port" "$WORK/id_get" "pget -n 4 upgraded_dump.zip -o $GET_OUT"
				measure "${L_CMD[@]}" ;;
			rclone)
				measure "${RCLONE[@]}" copyto "$(rclone_remote "$port" "$WORK/id_get" upgraded_dump.zip)" "$GET_OUT" ;;
			rclone4)
				measure "${RCLONE[@]}" copyto --multi-thread-streams 4 --multi-thread-cutoff 1M \
					"$(rclone_remote "$port" "$WORK/id_get" upgraded_dump.zip)" "$GET_OUT" ;;
			ssh)
				measure_sftp "$WORK/get.batch" "$WORK/id_get" "$port" ;;
			sshT)
				measure_sftp "$WORK/get.batch" "$WORK/id_get" "$port" "${SFTP_TUNED[@]}" ;;
			sshsync)
				M_STDIN=$WORK/get.batch measure env SSH_AUTH_SOCK= bash --norc --noprofile -c \
					'sftp "$@" && sync "$0"' "$GET_OUT" \
					-b - -i "$WORK/id_get" "${SFTP_OPTS[@]}" -P "$port" "$SFTP_USER@127.0.0.1" ;;
			sshaes)
				measure_sftp "$WORK/get.batch" "$WORK/id_get" "$port" "${LIBSSH2_OPTS[@]}" ;;
			curl)
				measure_curl_sftp "$WORK/id_get" "$port" upgraded_dump.zip -o "$GET_OUT" ;;
			esac
			record_download "$p-$k" "$k" "$GET_OUT"
			[[ $k == b && -n $rgoal ]] && record_download "$p-bvr" b "$GET_OUT"
		done
	done
	rm -f "$GET_OUT" "$GET_OUT.part"
}
if want sftp-get; then
	sftp_get_case sg "" "$SSHD_PORT" "$DIAG" xfer:1.0
fi

# ----------------------------------- case 4b: SFTP over a link with latency
# The same put and get through tests/lib/delay_proxy.py, which holds every
# chunk RTT_MS/2 in each direction.  On loopback the CPU decides the speed;
# on a real link it is how much each tool keeps in flight, which this shows.
# Once per round trip of BENCH_RTT_MS; the rows' keys are rpRTT-TOOL and
# rgRTT-TOOL.
sftp_rtt_case() {
	start_forwarder "$SSHD_PORT" "proxy$RTT_MS"
	PROXY_PORT=$FWD_PORT
	printf '[127.0.0.1]:%s %s\n' "$PROXY_PORT" "$(cut -d' ' -f1,2 "$SSHD_HOSTKEY_PUB")" >>"$KH"
	announce_sftp_port() { # PORT: what request_sftp_access hands out
		emulator_curl /_emulator/sftp_port -H 'Content-Type: application/json' -d "{\"port\": $1}" -o /dev/null
	}
	announce_sftp_port "$PROXY_PORT" || die "setup: the emulator did not take the proxy's port"
	# Issue 19's goals for the default: put ≥ 2× OpenSSH, get ≥ 1.3×
	# rclone's 4 streams, peak RSS ≤ 32 MiB (par:X; filling a link takes
	# its bandwidth-delay product in flight, plugin/core/ssh/sftp.c sizes
	# the buffers from the round trip).
	REPEAT=$RTT_REPEAT sftp_put_case "rp$RTT_MS" ", ${RTT_MS} ms RTT" "$PROXY_PORT" "$RTT_DIAG" par:2.0
	REPEAT=$RTT_REPEAT sftp_get_case "rg$RTT_MS" ", ${RTT_MS} ms RTT" "$PROXY_PORT" "$RTT_DIAG" par:1.0 par:1.3
	announce_sftp_port "$SSHD_PORT" || die "the emulator did not take sshd's port back"
	stop_forwarder
}
if want sftp-rtt; then
	for RTT_MS in $RTT_LIST; do sftp_rtt_case; done
	RTT_MS=${RTT_LIST%% *}
fi

# ------------------------------------------------- case 5: enable -f time
if want load; then
cat >"$WORK/loads.sh" <<'EOF'
n=$1 what=$2 fails=0
t0=$EPOCHREALTIME
if [[ $what == bare ]]; then
	for ((i = 0; i < n; i++)); do bash --norc -c : || ((fails++)); done
else
	for ((i = 0; i < n; i++)); do bash --norc -c 'enable -f "$0" upgrade' "$SO" || ((fails++)); done
fi
t1=$EPOCHREALTIME
echo "${t0/,/.} ${t1/,/.} $fails"
EOF
row ld-bare "load ×$LOADS" 'bash --norc -c :' loads/s "$LOADS" ld-bare ref
row ld-b "load ×$LOADS" "bash --norc -c 'enable -f upgrade.so upgrade'" loads/s "$LOADS" ld-bare -
for ((r = 1; r <= REPEAT; r++)); do
	say "enable -f load time, run $r/$REPEAT"
	declare -A lt=()
	for k in bare b; do
		measure env SO="$SO" bash --norc --noprofile "$WORK/loads.sh" "$LOADS" "$k"
		read -r t0 t1 fails <"$WORK/m.out"
		if ((M_RC != 0)) || [[ $fails != 0 ]]; then
			record "ld-$k" 0 0 "$(why_failed); ${fails:-?} of $LOADS failed"
		else
			lt[$k]=$(fsub "$t1" "$t0")
			record "ld-$k" "${lt[$k]}" "$M_RSS"
		fi
	done
	if [[ -n ${lt[bare]:-} && -n ${lt[b]:-} ]]; then
		LOAD_DELTAS+=("$(awk -v a="${lt[b]}" -v b="${lt[bare]}" -v n="$LOADS" 'BEGIN { printf "%.4f", (a - b) * 1000 / n }')")
	fi
	unset lt
done

fi # load

# -------------------------------------------------------- memory growth
if want mem; then
cat >"$WORK/memgrowth.sh" <<'EOF'
enable -f "$SO" upgrade || { echo "enable failed"; exit 1; }
# rss VAR: VAR=VmRSS in KiB, read without forking
rss() { local k v u; while read -r k v u; do [[ $k == VmRSS: ]] && { printf -v "$1" %s "$v"; return; }; done </proc/$$/status; }
n=$1 fails=0 s=
for ((i = 0; i < 10; i++)); do upgrade status -v s --cacert "$CA" || ((fails++)); done
rss before
t0=$EPOCHREALTIME
for ((i = 0; i < n; i++)); do
	upgrade status -v s --cacert "$CA" || ((fails++))
	((i == n / 10)) && rss tenth
done
t1=$EPOCHREALTIME
rss after
echo "$before ${tenth:-$before} $after $fails ${t0/,/.} ${t1/,/.}"
EOF
say "memory growth: $MEM_CALLS status calls in one shell"
new_request M || die "create failed"
measure env SO="$SO" CA="$CA" UPGRADE_URL="$UPGRADE_URL" UPGRADE_REQUEST="$M_ID" UPGRADE_KEY="$M_KEY" \
	bash --norc --noprofile "$WORK/memgrowth.sh" "$MEM_CALLS"
read -r m_before m_tenth m_after m_fails m_t0 m_t1 <"$WORK/m.out"
if ((M_RC != 0)) || [[ ${m_fails:-x} != 0 ]]; then
	MEM_LINE="memory growth: FAILED ($(why_failed); ${m_fails:-?} calls failed)"
	MEM_FAILED=1
else
	growth=$((m_after - m_before))
	MEM_LINE=$(printf 'memory growth: %d × `upgrade status -v s` in one shell (%.2f ms/call): VmRSS %d KiB before (after 10 warm-up calls), %d KiB after %d calls, %d KiB after all: growth %d KiB (goal < 1024 KiB: %s)' \
		"$MEM_CALLS" "$(awk -v a="$m_t1" -v b="$m_t0" -v n="$MEM_CALLS" 'BEGIN { print (a - b) * 1000 / n }')" \
		"$m_before" "$m_tenth" "$((MEM_CALLS / 10 + 1))" "$m_after" "$growth" \
		"$( ((growth < 1024)) && echo met || echo missed)")
	MEM_FAILED=0
fi
say "$MEM_LINE"

fi # mem

# ------------------------------------------ case: PostgreSQL dump/restore
# `upgrade dump` against pg_dump -Fc, and `upgrade restore` of the
# platform's zip (dump.sql streamed into psql) against unzip + psql -f, on
# a database of PG_MIB MiB made here, in a throw-away cluster.
if want pg; then
# shellcheck source=../tests/lib/pg.bash
source "$ROOT/tests/lib/pg.bash"
pg_start || die "pg_start failed"
say "pg: making a database of about ${PG_MIB} MiB"
createdb -T template0 -E UTF8 bench || die "createdb failed"
pg_sql bench "CREATE TABLE big AS SELECT g AS id, md5(g::text) AS k, repeat(md5(g::text), 6) AS payload
	FROM generate_series(1, $((PG_MIB * 1048576 / 280))) g; ALTER TABLE big ADD PRIMARY KEY (id)" ||
	die "cannot fill the database"
PG_SIZE_MIB=$(pg_sql bench "SELECT pg_database_size('bench') / 1048576")
say "pg: database size ${PG_SIZE_MIB} MiB"
pg_dump -Fp --no-owner bench >"$WORK/dump.sql" || die "pg_dump -Fp failed"
make_zip "$WORK/upgraded.zip" dump.sql="$WORK/dump.sql" || die "cannot make the zip"
rm -f "$WORK/dump.sql"
ZIP_MIB=$(( $(stat -c %s "$WORK/upgraded.zip") / 1048576 ))
row pgd-ref "dump ${PG_SIZE_MIB} MiB database" 'pg_dump -Fc -f F' MiB/s "$PG_SIZE_MIB" pgd-ref ref
row pgd-sync "dump ${PG_SIZE_MIB} MiB database" 'pg_dump -Fc -f F && sync F (same fsync)' MiB/s "$PG_SIZE_MIB" pgd-ref info
row pgd-b "dump ${PG_SIZE_MIB} MiB database" 'builtin `dump -o F --force`' MiB/s "$PG_SIZE_MIB" pgd-ref speedup:0.95
row pgr-ref "restore zip (${ZIP_MIB} MiB) into a new database" 'createdb && unzip && psql -1 -f dump.sql' MiB/s "$PG_SIZE_MIB" pgr-ref ref
row pgr-b "restore zip (${ZIP_MIB} MiB) into a new database" 'builtin `restore ZIP --database NEW`' MiB/s "$PG_SIZE_MIB" pgr-ref speedup:1.0
PGR_TOOLS=(b ref)
if [[ -n ${BENCH_BASE_SO:-} ]]; then
	cp "$BENCH_BASE_SO" "$WORK/base.so" && so_loads "$WORK/base.so" || die "cannot load BENCH_BASE_SO=$BENCH_BASE_SO"
	row pgr-base "restore zip (${ZIP_MIB} MiB) into a new database" 'builtin of BENCH_BASE_SO `restore ZIP --database NEW`' \
		MiB/s "$PG_SIZE_MIB" pgr-ref info
	PGR_TOOLS+=(base)
fi
for ((r = 0; r <= REPEAT; r++)); do
	say "pg dump, $(run_label $r)"
	order_for "$r" ref b ref sync
	for k in "${ORDER[@]}"; do
		rm -f "$WORK/pg.dump"
		case $k in
		b)
			builtin_cmd dump --database bench -o "$WORK/pg.dump" --force -s -c
			measure "${B_CMD[@]}" ;;
		ref)
			measure pg_dump -Fc --no-owner -f "$WORK/pg.dump" bench ;;
		sync)
			measure bash --norc --noprofile -c 'pg_dump -Fc --no-owner -f "$1" bench && sync "$1"' _ "$WORK/pg.dump" ;;
		esac
		if ((M_RC != 0)) || { [[ $k == b ]] && ! json_ok; } || [[ $(head -c 5 "$WORK/pg.dump") != PGDMP ]]; then
			record "pgd-$k" 0 0 "$(why_failed)"
		else
			record "pgd-$k" "$M_SECS" "$M_RSS"
		fi
	done
	say "pg restore, $(run_label $r)"
	order_for "$r" ref "${PGR_TOOLS[@]}"
	for k in "${ORDER[@]}"; do
		dropdb --if-exists restored
		case $k in
		b)
			builtin_cmd restore "$WORK/upgraded.zip" --database restored -s -c
			measure "${B_CMD[@]}" ;;
		base)
			SO=$WORK/base.so builtin_cmd restore "$WORK/upgraded.zip" --database restored -s -c
			measure "${B_CMD[@]}" ;;
		ref)
			measure bash --norc --noprofile -c 'd=$(mktemp -d "$1/unzip.XXXXXX") && cd "$d" &&
				createdb -T template0 -E UTF8 restored && unzip -q "$2" dump.sql &&
				psql -X -q -v ON_ERROR_STOP=1 --single-transaction -d restored -f dump.sql >/dev/null
				rc=$?; rm -rf "$d"; exit $rc' _ "$WORK" "$WORK/upgraded.zip" ;;
		esac
		if ((M_RC != 0)) || { [[ $k != ref ]] && ! json_ok; }; then
			record "pgr-$k" 0 0 "$(why_failed)"
		elif [[ $(pg_sql restored 'SELECT count(*) FROM big') != $(pg_sql bench 'SELECT count(*) FROM big') ]]; then
			record "pgr-$k" 0 0 "the restored table differs"
		else
			record "pgr-$k" "$M_SECS" "$M_RSS"
		fi
	done
done
[[ -z $(find "$WORK" -name dump.sql) ]] || say "pg: a dump.sql was left on disk"
dropdb --if-exists restored
pg_stop

fi # pg

# ------------------------------- case: the whole job against the platform's script
# bench/rpc_job.sh (issue 17): `upgrade run --database DB --api rpc` against
# the platform's script `test -d DB`, in a network namespace of its own
# (root) where an emulator of its own owns port 443.  Its section is
# printed after the table.
RPC_MD=
if want rpc; then
	say "rpc: the whole job against the platform's script (bench/rpc_job.sh)"
	RPC_MD=$WORK/rpc.md
	BENCH_QUICK=$QUICK BENCH_REPEAT=${BENCH_REPEAT:-3} BENCH_SO_ORIGIN="$SO_ORIGIN" \
		bash "$BENCH_DIR/rpc_job.sh" "$SO" >"$RPC_MD"
	rpc_rc=$?
	case $rpc_rc in
	0) ;;
	1) BUILTIN_RPC_FAILED=1 ;;
	*) printf '\n### rpc: the whole job against the platform\x27s script\n\nFAILED: set-up (exit %s; see stderr)\n' "$rpc_rc" >>"$RPC_MD" ;;
	esac
fi

# ------------------------------------------------------------------ table
fmt() { awk -v v="$1" -v d="${2:-2}" 'BEGIN { printf "%.*f", d, v }'; }
rate_of() { # KEY: amount / median seconds
	local k=$1 med
	# shellcheck disable=SC2086
	med=$(median ${R_SECS[$k]})
	fdiv "${R_AMOUNT[$k]}" "$med"
}

BUILTIN_FAILED=0
echo
printf '%s\n' "Benchmark of the \`upgrade\` builtin ($SO_ORIGIN), $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) CPUs, \
$(uname -r); transfers ${SIZE_MIB} MiB, status ${CALLS} calls, median of ${REPEAT} runs; \
curl $(curl --version | awk 'NR == 1 { print $2 }'), $(ssh -V 2>&1 | cut -d, -f1); \
load average $LOAD_START at the start, $(cut -d' ' -f1-3 /proc/loadavg) at the end."
if ((${#MISSING[@]})); then
	echo
	echo "Not installed (their rows say so): ${MISSING[*]}."
fi
if ((${#ROWS[@]})); then
echo
echo "CPU s/GiB: the client's user + system seconds (the calling shell with the builtin, or the tool's"
echo "processes: sftp and its ssh, rclone, aria2c, curl), median of the runs, per GiB moved."
echo
fi
((${#ROWS[@]})) && echo '| case | tool | seconds | MiB/s or calls/s | CPU s/GiB | peak RSS MiB | ratio vs reference | goal |'
((${#ROWS[@]})) && echo '|---|---|---:|---:|---:|---:|---:|---|'
for k in "${ROWS[@]}"; do
	ref=${R_REF[$k]} goal=${R_GOAL[$k]} unit=${R_UNIT[$k]}
	[[ $k == *-* && $ref != "$k" ]] && ! picked "${k#*-}" && [[ -z ${R_SECS[$k]// /} ]] && continue
	if [[ -n ${R_FAIL[$k]} || -z ${R_SECS[$k]// /} ]]; then
		verdict=
		case $goal in
		speedup:* | xfer:* | par:*) verdict='**missed** (FAILED)'; BUILTIN_FAILED=1 ;;
		ref) verdict='reference (FAILED)' ;;
		*) verdict='failed' ;;
		esac
		printf '| %s | %s | FAILED | — | — | — | — | %s: %s |\n' "${R_CASE[$k]}" "${R_TOOL[$k]}" "$verdict" \
			"${R_FAIL[$k]:-not run}"
		continue
	fi
	# shellcheck disable=SC2086
	secs=$(median ${R_SECS[$k]})
	rate=$(fdiv "${R_AMOUNT[$k]}" "$secs")
	rss_mib=$(awk -v k="${R_RSS[$k]}" 'BEGIN { printf "%.1f", k / 1024 }')
	cpu=—
	# shellcheck disable=SC2086
	[[ $unit == MiB/s ]] && cpu=$(fmt "$(fdiv "$(median ${R_CPU[$k]})" "$(fdiv "${R_AMOUNT[$k]}" 1024)")" 2)
	ratio=— ratio_num=
	if [[ $ref != "$k" && -z ${R_FAIL[$ref]} && -n ${R_SECS[$ref]// /} ]]; then
		ratio_num=$(fdiv "$rate" "$(rate_of "$ref")")
		ratio="$(fmt "$ratio_num" 2)×"
	elif [[ $ref == "$k" ]]; then
		ratio="1.00× (ref)"
	fi
	if [[ $k == ld-b ]] && ((${#LOAD_DELTAS[@]})); then
		# shellcheck disable=SC2068
		ratio="+$(fmt "$(median ${LOAD_DELTAS[@]})" 2) ms per load"
	fi
	case $goal in
	ref) verdict=reference ;;
	info | -) verdict='— (no goal)' ;;
	speedup:*)
		want=${goal#speedup:}
		if [[ -z $ratio_num ]]; then
			verdict="? (reference failed; goal ≥ ${want}×)"
		elif awk -v r="$ratio_num" -v w="$want" 'BEGIN { exit !(r >= w) }'; then
			verdict="met (≥ ${want}×)"
		else
			verdict="**missed** (≥ ${want}×)"
		fi ;;
	xfer:* | par:*) # the ratio, and peak RSS < 16 MiB (xfer), ≤ 32 MiB (par: issue 19's link goals)
		want=${goal#*:} why=()
		if [[ $goal == xfer:* ]]; then
			rss_ok=$((R_RSS[$k] < 16 * 1024)) rss_goal='< 16 MiB' rss_miss='RSS ≥ 16 MiB'
		else
			rss_ok=$((R_RSS[$k] <= 32 * 1024)) rss_goal='≤ 32 MiB' rss_miss='RSS > 32 MiB'
		fi
		if [[ -z $ratio_num ]]; then
			why+=("reference failed")
		elif ! awk -v r="$ratio_num" -v w="$want" 'BEGIN { exit !(r >= w) }'; then
			why+=("throughput < ${want}×")
		fi
		((rss_ok)) || why+=("$rss_miss")
		if ((${#why[@]} == 0)); then
			verdict="met (≥ ${want}×, $rss_goal)"
		else
			verdict="**missed**: $(IFS=,; echo "${why[*]}" | sed 's/,/, /g') (goal ≥ ${want}×, $rss_goal)"
		fi ;;
	esac
	printf '| %s | %s | %s | %s %s | %s | %s | %s | %s |\n' "${R_CASE[$k]}" "${R_TOOL[$k]}" "$(fmt "$secs" 3)" \
		"$(fmt "$rate" 1)" "$unit" "$cpu" "$rss_mib" "$ratio" "$verdict"
done
if [[ -n ${R_SECS[st-bv]:-} ]]; then
	# shellcheck disable=SC2086
	per_call=$(awk -v s="$(median ${R_SECS[st-bv]})" -v n="$CALLS" 'BEGIN { printf "%.2f", s * 1000 / n }')
	echo
	echo "One kept-alive \`upgrade status -v s\` call: $per_call ms."
	if awk -v p="$per_call" 'BEGIN { exit !(p >= 20) }'; then
		echo "(20 ms or more per call on a kept-alive connection: the signature of a server that"
		echo "writes headers and body separately without TCP_NODELAY, so that Nagle waits for the"
		echo "client's delayed ACK, about 40 ms; see bench/README.md.)"
	fi
fi
if ((${#ROWS[@]})); then
echo
echo "Seconds of every run, in run order (the tools' order rotates from run to run; an untimed"
echo "warm-up transfer precedes each transfer case):"
echo
fi
for k in "${ROWS[@]}"; do
	printf -- '- %s, %s: %s%s%s\n' "${R_CASE[$k]}" "${R_TOOL[$k]}" \
		"$(for v in ${R_SECS[$k]}; do printf '%.3f ' "$v"; done)" "${R_CPU[$k]:+(CPU s: ${R_CPU[$k]% }) }" \
		"${R_FAIL[$k]:+FAILED: ${R_FAIL[$k]}}"
done
echo
if ((${#LOAD_DELTAS[@]})); then
	# shellcheck disable=SC2068
	printf 'enable -f load time: %s ms per load (median of %d; runs: %s ms)\n' \
		"$(fmt "$(median ${LOAD_DELTAS[@]})" 3)" "${#LOAD_DELTAS[@]}" "${LOAD_DELTAS[*]}"
elif want load; then
	echo 'enable -f load time: FAILED'
fi
if [[ -n $MEM_LINE ]]; then
	echo
	echo "$MEM_LINE"
fi
[[ -z $RPC_MD ]] || cat "$RPC_MD"
echo
printf 'wall time of the whole bench: %.0f s\n' "$(fsub "$(now)" "$T_START")"
((MEM_FAILED)) && BUILTIN_FAILED=1
((${BUILTIN_RPC_FAILED:-0})) && BUILTIN_FAILED=1
exit $((BUILTIN_FAILED ? 1 : 0))
