#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
# bench/rpc_job.sh -- bench.sh's `rpc` case (issue 17's benchmark): the
# whole job, `upgrade run --database DB --api rpc` against the platform's own
# script `python3 $PLATFORM_UPGRADE_PY test -d DB -t 17.0 -j N`, side by side
# in one run, on the same emulator (rpc dialect, real sshd and rsync, the
# test PostgreSQL doing the upgrade) and the same Odoo-shaped database with
# its filestore.  Prints a Markdown section on stdout, progress on stderr.
#
#   PLATFORM_UPGRADE_PY=/tmp/platform-upgrade.py bash bench/rpc_job.sh MODULE.so
#
# The script builds https://<assigned host> (port 443): like
# tests/emulator/platform_check.sh this re-runs itself in a network
# namespace of its own (unshare -n, root) where the emulator owns
# 127.0.0.1:443.  Without PLATFORM_UPGRADE_PY the script's rows say why
# they are skipped and the builtin is still measured.
#
# Environment: BENCH_RPC_MIB (the database, MiB: 300; 50 with
# BENCH_QUICK=1), BENCH_RPC_FS_MIB (its filestore: 64; 8), BENCH_REPEAT (3),
# BENCH_RPC_JOBS (--jobs of both: 2), BENCH_RPC_INTERVAL (the builtin's
# --interval; unset: its default, 10 s), BENCH_RPC_FAST_INTERVAL (1: a second
# builtin column, run with --interval 1; 0: none), BENCH_KEEP=1 (keep the
# work dir).
#
# Phases.  The builtin: the document's "steps" (its own clock: dump, upload,
# download, restore; each the whole step, its HTTP calls, checks and fsyncs
# included).  The script: its children's lifetimes, taken by wrappers put
# first on its PATH (pg_dump, rsync, createdb, pg_restore record
# EPOCHREALTIME at start and end: microseconds, the wrapper's fork and exec
# included, about a millisecond): dump = pg_dump, upload = the rsync to the
# node, download = the rsync from it, restore = createdb's start to the
# script's exit (pg_restore, the filestore copy and merge, the cleanup).
# Its Python between those children (create, transfer/start and stop,
# process) is in no phase but in the whole job: the script's phases are
# measured to its advantage.  Its log's %(asctime)s (one-second
# resolution) is not used.  Wait-to-done latency, both tools, one clock:
# from the moment the emulator's request could first answer "done"
# (max(worked_at, proc_start + pending + progress seconds), from
# /_emulator/rpc) to the start of the rsync of the download (the same
# wrapper runs for the builtin: its rsync is found on PATH), split at the
# moment a call first found the request done (final_at: the polling) and
# what follows (transfer/start, the node's sshd, rsync's start).
set -u -o pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$here/.." && pwd)
SO=$(realpath "${1:?usage: rpc_job.sh MODULE.so}")
SO_ORIGIN=${BENCH_SO_ORIGIN:-$SO}
PY=${PLATFORM_UPGRADE_PY:-}
[[ -z $PY ]] || PY=$(realpath "$PY")
say() { printf 'bench rpc: %s\n' "$*" >&2; }
die() { say "$*"; exit 2; }

if [[ ${BENCH_RPC_NETNS:-} != 1 ]]; then
	[[ $(id -u) == 0 ]] || die "needs root: a network namespace of its own (unshare -n) with port 443"
	command -v unshare >/dev/null || die "unshare (util-linux) is needed"
	exec env BENCH_RPC_NETNS=1 PLATFORM_UPGRADE_PY="$PY" BENCH_SO_ORIGIN="$SO_ORIGIN" unshare -n bash "${BASH_SOURCE[0]}" "$SO"
fi
ip link set lo up || die "ip link set lo up failed"

if [[ ${BENCH_QUICK:-0} == 1 ]]; then
	MIB=${BENCH_RPC_MIB:-50} FS_MIB=${BENCH_RPC_FS_MIB:-8}
else
	MIB=${BENCH_RPC_MIB:-300} FS_MIB=${BENCH_RPC_FS_MIB:-64}
fi
REPEAT=${BENCH_REPEAT:-3}
JOBS=${BENCH_RPC_JOBS:-2}
INTERVAL=${BENCH_RPC_INTERVAL:-}
FAST=${BENCH_RPC_FAST_INTERVAL:-1}
[[ $FAST =~ ^[0-9]+(\.[0-9]+)?$ ]] || die "BENCH_RPC_FAST_INTERVAL must be a number of seconds (got '$FAST')"
PEND=1 PROG=1 # the emulator's pending and progress seconds (processing itself takes longer)
for v in MIB FS_MIB REPEAT JOBS; do
	[[ ${!v} =~ ^[1-9][0-9]*$ ]] || die "$v must be a positive integer (got '${!v}')"
done
for t in rsync pg_dump pg_restore createdb psql python3 jq /usr/bin/time; do
	command -v "$t" >/dev/null || die "$t is needed"
done
SKIP_WHY=
if [[ -z $PY ]]; then
	SKIP_WHY="PLATFORM_UPGRADE_PY is not set: the project does not ship the platform's script (images/odoo-upgrade/bin/upgrade of Mint-System/Odoo-Build@eaad403d); give its path"
elif [[ ! -r $PY ]]; then
	SKIP_WHY="PLATFORM_UPGRADE_PY=$PY is not readable"
fi
[[ -z $SKIP_WHY ]] || say "the script's rows are skipped: $SKIP_WHY"

unset HARNESS_DIR
# shellcheck source=../tests/lib/harness.bash
source "$ROOT/tests/lib/harness.bash"
# shellcheck source=../tests/lib/pg.bash
source "$ROOT/tests/lib/pg.bash"
W=$(mktemp -d "${TMPDIR:-/tmp}/upgrade-bench-rpc.XXXXXX") || die "mktemp failed"
chmod 755 "$W"
cleanup() {
	local rc=$?
	trap - EXIT
	pg_stop 2>/dev/null
	HARNESS_KEEP=${BENCH_KEEP:-0} harness_stop 2>/dev/null
	if [[ ${BENCH_KEEP:-0} == 1 ]]; then say "kept $W"; else rm -rf "$W"; fi
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 129' HUP
trap 'exit 130' INT
trap 'exit 143' TERM

now() { printf '%s' "${EPOCHREALTIME/,/.}"; }
median() {
	printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 }
		END { if (NR == 0) { print ""; exit }
		      if (NR % 2) printf "%.3f", v[(NR + 1) / 2];
		      else printf "%.3f", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

T_START=$(now)
LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
pg_start && rpc_prepare && emulator_start --port 443 --pending-seconds "$PEND" --progress-seconds "$PROG" ||
	die "set-up failed (pg_start, rpc_prepare, emulator_start --port 443)"
CA=$HARNESS_DIR/ca.pem

# ------------------------------------------------------ the database
DB=bench CONTRACT=M123456-abcdef
ODOO=$W/odoo # the data dir: filestore/DB
say "making the Odoo-shaped database $DB (~${MIB} MiB) and a ${FS_MIB} MiB filestore"
pg_make_odoo "$DB" "$ODOO" >/dev/null || die "pg_make_odoo failed"
ROWS=$((MIB * 1048576 / 420))
pg_sql "$DB" "INSERT INTO ir_config_parameter (key, value) VALUES ('database.enterprise_code', '$CONTRACT');
	CREATE TABLE mail_message (id serial PRIMARY KEY, model varchar, res_id int, author_id int,
		date timestamp, subject varchar, body text);
	INSERT INTO mail_message (model, res_id, author_id, date, subject, body)
		SELECT 'res.partner', g % 500 + 1, g % 97 + 1, timestamp '2020-01-01' + g * interval '1 minute',
			'Message ' || g, '<p>' || md5(g::text) || ' ' || md5((g * 7)::text) || ' ' || md5((g * 13)::text)
			|| ' ' || md5((g * 17)::text) || ' ' || md5((g * 19)::text) || ' ' || md5((g * 23)::text) || '</p>'
		FROM generate_series(1, $ROWS) g;
	CREATE INDEX mail_message_res_idx ON mail_message (model, res_id);
	CREATE INDEX mail_message_date_idx ON mail_message (date);" >/dev/null || die "cannot grow $DB"
# the filestore: files of 512 KiB (random bytes), each an attachment
n=$((FS_MIB * 2)) vals=()
for ((i = 0; i < n; i++)); do
	head -c 524288 /dev/urandom >"$W/att" || die "cannot write $W/att"
	sha=$(sha1sum "$W/att" | cut -c1-40)
	mkdir -p "$ODOO/filestore/$DB/${sha:0:2}"
	mv "$W/att" "$ODOO/filestore/$DB/${sha:0:2}/$sha"
	vals+=("('blob$i.bin', '${sha:0:2}/$sha', '$sha', 524288)")
done
(IFS=,; pg_sql "$DB" "INSERT INTO ir_attachment (name, store_fname, checksum, file_size) VALUES ${vals[*]}") >/dev/null ||
	die "cannot insert the attachments"
DB_MIB=$(pg_sql "$DB" "SELECT pg_database_size('$DB') / 1048576")
FS_FILES=$(find "$ODOO/filestore/$DB" -type f | wc -l)
MSGS=$(pg_sql "$DB" "SELECT count(*) FROM mail_message")
say "database $DB: ${DB_MIB} MiB, $MSGS messages; filestore $FS_FILES files, $(du -sm "$ODOO/filestore/$DB" | cut -f1) MiB"
chmod -R a+rX "$ODOO"

# ------------------------------------------ wrappers: the children's lifetimes
WRAP=$W/wrap PHASES=$W/phases.log
mkdir -p "$WRAP"
for t in pg_dump pg_restore createdb rsync; do
	real=$(command -v "$t")
	cat >"$WRAP/$t" <<EOF
#!/bin/bash
t0=\$EPOCHREALTIME
$(printf '%q' "$real") "\$@"
rc=\$?
printf '%s %s %s %s %s\n' $t "\${t0/,/.}" "\${EPOCHREALTIME/,/.}" "\$rc" "\$*" >>$(printf '%q' "$PHASES")
exit \$rc
EOF
	chmod 755 "$WRAP/$t"
done
chmod 666 "$PHASES" 2>/dev/null || { : >"$PHASES" && chmod 666 "$PHASES"; }

# phases_of: from $PHASES, "DUMP UPLOAD DOWNLOAD DL_START RESTORE_START
# PG_RESTORE": the seconds of pg_dump, of the rsyncs to the node, of those
# from it, the first download's start, createdb's start (- when absent),
# the seconds of pg_restore
phases_of() {
	awk '
		$1 == "rsync" && / --version/ { next }
		{ d = $3 - $2 }
		$1 == "pg_dump" { dump += d; nd++ }
		$1 == "createdb" && !cs { cs = $2 }
		$1 == "pg_restore" && !cs { cs = $2 }
		$1 == "pg_restore" { rst += d; nr++ }
		$1 == "rsync" {
			# the node is the side named USER@HOST:PATH: last (upload) or before it (download)
			if ($NF ~ /^[^ \/]*@[^ \/]*:/) { up += d; nu++ }
			else { for (i = 5; i < NF; i++) if ($i ~ /^[^ \/]*@[^ \/]*:/) { down += d; nn++; if (!ds) ds = $2; break } }
		}
		function v(x, n) { return n ? sprintf("%.3f", x) : "-" }
		END { printf "%s %s %s %s %s %s\n", v(dump, nd), v(up, nu), v(down, nn), ds ? ds : "-", cs ? cs : "-", v(rst, nr) }' "$PHASES"
}

# finished_at: "FINISHED SEEN" of the newest request: when it could first
# have answered "done" (its output written, the emulator's pending and
# progress seconds over), when a call first found it done
finished_at() {
	emulator_curl /_emulator/rpc | jq -r --argjson p "$PEND" --argjson g "$PROG" '
		[.requests[]] | max_by(.request_id) |
		if .worked_at == null or .proc_start == null then "- -"
		else "\([.worked_at, .proc_start + $p + $g] | max) \(.final_at // "-")" end'
}
# latency3 START FIN SEEN: "TOTAL POLL START_DL" in seconds (- when unknown)
latency3() {
	awk -v a="$1" -v f="$2" -v s="$3" 'function d(x, y) { return (x == "-" || y == "-") ? "-" : sprintf("%.3f", x - y) }
		BEGIN { print d(a, f), d(s, f), d(a, s) }'
}

# check_restored NEW: NEW is the upgraded database with every row and file
check_restored() {
	local new=$1 got
	got=$(pg_sql "$new" "SELECT string_agg(DISTINCT latest_version, ',') FROM ir_module_module WHERE state = 'installed'")
	[[ $got == 17.0.1.0 ]] || { echo "modules at '$got', not 17.0.1.0"; return 1; }
	got=$(pg_sql "$new" "SELECT count(*) FROM mail_message")
	[[ $got == "$MSGS" ]] || { echo "$got messages, not $MSGS"; return 1; }
	got=$(find "$ODOO/filestore/$new" -type f 2>/dev/null | wc -l)
	((got == FS_FILES + 1)) || { echo "$got files in the filestore of $new, not $((FS_FILES + 1))"; return 1; }
}

# -------------------------------------------------------------- runs
declare -A S # S[tool.phase]: the seconds of the runs, space-separated
FAILS=()
RUNLINES=()
add() { S[$1.$2]+="$3 "; }

run_builtin() { # R KEY [INTERVAL]
	local r=$1 k=$2 iv=${3:-} d=$W/$2$1 new=$2${1}_new t0 t1 rc doc hwm tree
	mkdir -p "$d/home" "$d/tmp" "$d/state"
	: >"$PHASES"
	t0=$(now)
	(cd "$d" && env HOME="$d/home" TMPDIR="$d/tmp" XDG_STATE_HOME="$d/state" PATH="$WRAP:$PATH" \
		/usr/bin/time -f '%M' -o "$d/time" bash --norc --noprofile -c '
		enable -f "$0" upgrade || exit 99
		upgrade run --database "$1" --restore-as "$2" --jobs "$3" --data-dir "$4" --api rpc \
			--url https://localhost --cacert "$5" --contract "$6" --target 17.0 --aim test -c ${7:+--interval "$7"} >doc.json
		rc=$?
		while read -r k v u; do [[ $k == VmHWM: ]] && echo "$v" >hwm; done </proc/$$/status
		exit $rc' "$SO" "$DB" "$new" "$JOBS" "$ODOO" "$CA" "$CONTRACT" "$iv" </dev/null 2>"$d/stderr")
	rc=$?
	t1=$(now)
	doc=$d/doc.json
	local why=
	if ((rc != 0)) || [[ $(jq -c .failures "$doc" 2>/dev/null) != '[]' ]]; then
		why="exit $rc: $(jq -r '[.failures[]? | "\(.reason): \(.message)"] | first // empty' "$doc" 2>/dev/null | cut -c1-200) $(tail -n 2 "$d/stderr" | tr '\n' ' ')"
	else
		why=$(check_restored "$new") || true
	fi
	if [[ -n $why ]]; then
		FAILS+=("builtin${iv:+ --interval $iv} run $r: $why")
		say "builtin run $r FAILED: $why"
	else
		local wall fin seen ph dump up down ds cs prs lat poll sdl
		wall=$(awk -v a="$t1" -v b="$t0" 'BEGIN { printf "%.3f", a - b }')
		read -r fin seen < <(finished_at)
		read -r dump up down ds cs prs < <(phases_of)
		read -r lat poll sdl < <(latency3 "$ds" "$fin" "$seen")
		hwm=$(cat "$d/hwm" 2>/dev/null) tree=$(tail -n 1 "$d/time")
		add "$k" whole "$wall"
		for ph in dump upload download restore wait process create; do
			add "$k" "$ph" "$(jq -r --arg p "$ph" '.steps[$p] // "-"' "$doc")"
		done
		add "$k" cdump "$dump" && add "$k" cupload "$up" && add "$k" cdownload "$down" && add "$k" prs "$prs"
		add "$k" latency "$lat" && add "$k" poll "$poll" && add "$k" sdl "$sdl"
		add "$k" hwm "$hwm" && add "$k" tree "$tree"
		RUNLINES+=("builtin${iv:+ --interval $iv} run $r: whole $wall s; steps $(jq -c .steps "$doc"); children: pg_dump $dump s, rsync up $up s, rsync down $down s, pg_restore $prs s; wait-to-done latency $lat s ($poll s until a status call found it done, $sdl s from there to rsync's start); shell VmHWM $hwm KiB, largest process (GNU time) $tree KiB")
		say "${RUNLINES[-1]}"
	fi
	pg_sql postgres "DROP DATABASE IF EXISTS \"$new\"" >/dev/null
	rm -rf "$ODOO/filestore/$new" "$d"
}

run_script() { # R
	local r=$1 d=$W/s$1 new=s${1}_new t0 t1 rc
	mkdir -p "$d/home/.local/share" "$d/tmp" "$d/cwd"
	ln -s "$ODOO" "$d/home/.local/share/Odoo"
	: >"$PHASES"
	t0=$(now)
	(cd "$d/cwd" && env HOME="$d/home" TMPDIR="$d/tmp" UPGRADE_SERVER_NAME=https://localhost SSL_VERIFICATION=0 \
		PATH="$WRAP:$PATH" /usr/bin/time -f '%M' -o "$d/time" \
		python3 "$PY" test -d "$DB" -t 17.0 -j "$JOBS" -r "$new" </dev/null >"$d/log" 2>&1)
	rc=$?
	t1=$(now)
	local why=
	if ((rc != 0)) || grep -q "ERROR\|Traceback" "$d/log"; then
		why="exit $rc: $(grep -m 2 "ERROR\|Error" "$d/log" | tr '\n' ' ' | cut -c1-200)"
	else
		why=$(check_restored "$new") || true
	fi
	if [[ -n $why ]]; then
		FAILS+=("script run $r: $why")
		say "script run $r FAILED: $why"
	else
		local wall fin seen dump up down ds cs prs lat poll sdl restore tree
		wall=$(awk -v a="$t1" -v b="$t0" 'BEGIN { printf "%.3f", a - b }')
		read -r fin seen < <(finished_at)
		read -r dump up down ds cs prs < <(phases_of)
		read -r lat poll sdl < <(latency3 "$ds" "$fin" "$seen")
		restore=$(awk -v a="$t1" -v b="$cs" 'BEGIN { if (b == "-") print "-"; else printf "%.3f", a - b }')
		tree=$(tail -n 1 "$d/time")
		add s whole "$wall" && add s dump "$dump" && add s upload "$up" && add s download "$down"
		add s prs "$prs" && add s restore "$restore" && add s latency "$lat" && add s poll "$poll" && add s sdl "$sdl" && add s tree "$tree"
		RUNLINES+=("script run $r: whole $wall s; pg_dump $dump s, rsync up $up s, rsync down $down s, pg_restore $prs s, createdb to exit $restore s; wait-to-done latency $lat s ($poll s until a status call found it done, $sdl s from there to rsync's start); largest process (GNU time) $tree KiB")
		say "${RUNLINES[-1]}"
	fi
	pg_sql postgres "DROP DATABASE IF EXISTS \"$new\"" >/dev/null
	rm -rf "$ODOO/filestore/$new" "$d"
}

for ((r = 1; r <= REPEAT; r++)); do
	order=(b)
	[[ $FAST == 0 ]] || order+=(f)
	[[ -n $SKIP_WHY ]] || order+=(s)
	((r % 2)) || mapfile -t order < <(printf '%s\n' "${order[@]}" | tac)
	for k in "${order[@]}"; do
		say "run $r/$REPEAT: $k (load $(cut -d' ' -f1-3 /proc/loadavg))"
		case $k in
		b) run_builtin "$r" b "$INTERVAL" ;;
		f) run_builtin "$r" f "$FAST" ;;
		s) run_script "$r" ;;
		esac
	done
	# the emulator's copies of this round's dumps: not needed any more
	emulator_curl /_emulator/rpc | jq -r '.requests[].data_dir' | while read -r dd; do
		[[ -n $dd && -d $dd ]] && find "$dd" -mindepth 1 -delete
	done
done

# -------------------------------------------------------------- table
med() { # TOOL PHASE
	local v=${S[$1.$2]:-}
	# shellcheck disable=SC2086
	[[ -z ${v// /} || " $v" == *" -"* ]] && { echo -; return; }
	median $v
}
ratio() { awk -v s="$1" -v b="$2" 'BEGIN { if (s == "-" || b == "-" || b <= 0) print "-"; else printf "%.2f", s / b }'; }
verdict() { # RATIO GOAL
	[[ $1 == - ]] && { echo "—"; return; }
	if awk -v r="$1" -v g="$2" 'BEGIN { exit !(r >= g) }'; then echo "met (≥ $2×)"; else echo "**missed** (≥ $2×)"; fi
}
mib() { awk -v k="$1" 'BEGIN { if (k == "-") print "-"; else printf "%.1f", k / 1024 }'; }
B_NAME="builtin --interval $INTERVAL"
[[ -n $INTERVAL ]] || B_NAME="builtin (defaults: the rpc pace, 1 s, 2 s, then every 3 s)"
echo
echo "### rpc: the whole job against the platform's script"
echo
printf '%s\n' "\`upgrade run --database $DB --api rpc --jobs $JOBS\` ($SO_ORIGIN) against" \
	"\`python3 platform-upgrade.py test -d $DB -t 17.0 -j $JOBS\`$([[ -n $PY ]] && printf ' (%s, sha256 %s…)' "$PY" "$(sha256sum "$PY" | cut -c1-12)"), $(date -u '+%Y-%m-%d %H:%M UTC')," \
	"$(nproc) CPUs; database $DB ${DB_MIB} MiB ($MSGS messages), filestore $FS_FILES files ($(( (FS_FILES * 512 + 1023) / 1024 )) MiB);" \
	"median of $REPEAT runs (no warm-up; the order reverses every run); emulator pending ${PEND} s, progress ${PROG} s" \
	"(its processing, a restore and a pg_dump -Fd in the same PostgreSQL, takes longer);" \
	"load average $LOAD_START at the start, $(cut -d' ' -f1-3 /proc/loadavg) at the end."
if [[ -n $SKIP_WHY ]]; then
	echo
	echo "The script's rows are skipped: $SKIP_WHY."
fi
cols=(b)
[[ $FAST == 0 ]] || cols+=(f)
echo
if [[ $FAST == 0 ]]; then
	echo "| phase | $B_NAME s | script s | ratio (script s / builtin s) | goal |"
	echo '|---|---:|---:|---:|---|'
else
	echo "| phase | $B_NAME s | builtin --interval $FAST s | script s | ratio, defaults (script s / builtin s) | ratio, --interval $FAST | goal (defaults) |"
	echo '|---|---:|---:|---:|---:|---:|---|'
fi
# KEY (the builtin's) | SCRIPT KEY | NAME | GOAL (empty: a part of the line above; info: none)
rows=(
	'whole|whole|whole job (wall)|1.2'
	'cdump|dump|dump: the pg_dump process (same measure for both)|1.0'
	'dump|dump|… the builtin'"'"'s document step "dump" (pg_dump, its checks, the fsync) against the same|info'
	'cupload|upload|upload: the rsync process (same measure for both)|1.0'
	'upload|upload|… the builtin'"'"'s step "upload" (transfer/start, rsync, transfer/stop) against the same|info'
	'latency|latency|wait-to-done latency (platform done → download rsync starts; same clock for both)|1.0'
	'poll|poll|… of which: until a status call found it done (polling)|'
	'sdl|sdl|… of which: from there to the rsync (transfer/start, node sshd)|'
	'cdownload|download|download: the rsync process (same measure for both)|1.0'
	'download|download|… the builtin'"'"'s step "download" (transfer/start, rsync, checks, transfer/stop) against the same|info'
	'restore|restore|restore (the builtin'"'"'s step "restore"; the script: createdb'"'"'s start to its exit, pg_restore and the filestore merge included)|1.0'
	'prs|prs|… of which: the pg_restore process (same measure for both)|'
)
for spec in "${rows[@]}"; do
	IFS='|' read -r ph sph name goal <<<"$spec"
	s=$(med s "$sph")
	[[ -n $SKIP_WHY ]] && s=skipped
	line="| $name"
	for c in "${cols[@]}"; do line+=" | $(med "$c" "$ph")"; done
	line+=" | $s"
	first=
	for c in "${cols[@]}"; do
		rt=-
		[[ -n $SKIP_WHY ]] || rt=$(ratio "$s" "$(med "$c" "$ph")")
		[[ -n $first ]] || first=$rt
		if [[ $rt == - ]]; then line+=" | —"; else line+=" | ${rt}×"; fi
	done
	case $goal in
	'') line+=" | — (a part of the line above) |" ;;
	info) line+=" | — (no goal: not the same measure) |" ;;
	*) line+=" | $(verdict "$first" "$goal") |" ;;
	esac
	echo "$line"
done
line="| peak RSS of the shell (VmHWM of the bash running the builtin)"
for c in "${cols[@]}"; do line+=" | $(mib "$(med "$c" hwm)") MiB"; done
hwm_max=$(printf '%s\n' ${S[b.hwm]:-} ${S[f.hwm]:-} | sort -n | tail -n 1)
line+=" | — | —"
[[ $FAST == 0 ]] || line+=" | —"
line+=" | $(awk -v k="${hwm_max:--}" 'BEGIN { if (k == "-") print "—"; else if (k <= 32768) print "met (≤ 32 MiB, every run)"; else print "**missed** (≤ 32 MiB)" }') |"
echo "$line"
line="| largest process of the job (GNU time %M: the shell, pg_dump, pg_restore, rsync, ssh; python3 and its children)"
for c in "${cols[@]}"; do line+=" | $(mib "$(med "$c" tree)") MiB"; done
line+=" | $(mib "$(med s tree)") MiB | —"
[[ $FAST == 0 ]] || line+=" | —"
line+=" | — (no goal) |"
echo "$line"
echo
for c in "${cols[@]}"; do
	echo "The builtin's other steps ($([[ $c == b ]] && echo defaults || echo "--interval $FAST"), document, median): create $(med "$c" create) s, process $(med "$c" process) s, wait $(med "$c" wait) s."
done
echo
echo "Every run:"
echo
for l in "${RUNLINES[@]}"; do echo "- $l"; done
for f in "${FAILS[@]}"; do echo "- FAILED: $f"; done
echo
printf 'wall time of the rpc case: %.0f s\n' "$(awk -v a="$(now)" -v b="$T_START" 'BEGIN { print a - b }')"
# exit 1 when the builtin failed a run
for f in "${FAILS[@]}"; do [[ $f == builtin* ]] && exit 1; done
exit 0
