# SPDX-License-Identifier: GPL-3.0-or-later
# shellcheck shell=bash
# Test harness for the `upgrade` builtin: a loopback emulator of the upgrade
# platform (tests/emulator/upgrade_emulator.py), a private CA for its TLS
# certificate, and a private sshd for the SFTP paths.
#
# Source it from bats files or plain bash scripts:
#
#     source "$BATS_TEST_DIRNAME/../lib/harness.bash"
#     harness_make_ca          # optional: emulator_start calls it if needed
#     sshd_prepare             # only for SFTP tests; BEFORE emulator_start,
#     emulator_start           #   so the emulator learns the SFTP root/port
#     sshd_start               # after emulator_start (or before: it only
#                              #   needs sshd_prepare's files)
#     harness_install_traps    # plain scripts: harness_stop on EXIT, and
#                              #   INT/TERM/HUP turned into exit so it runs
#                              # (bats: call harness_stop from teardown[_file])
#
# Order: sshd_prepare must come before emulator_start (the emulator is started
# with --sftp-root/--sftp-port/--authorized-keys taken from the SSHD_* and
# SFTP_ROOT variables that sshd_prepare exports); sshd_start can come at any
# point after sshd_prepare.  Without sshd_prepare the emulator answers
# request_sftp_access with SFTP:UNAVAILABLE.
#
# All state lives under $HARNESS_DIR (mktemp -d under ${TMPDIR:-/tmp}); every
# process started is recorded in $HARNESS_DIR/pids so that harness_stop, also
# when run from another process than the one that started them (bats
# setup_file/teardown_file), can stop them with their descendants.
# HARNESS_KEEP=1 keeps the directory (logs: emulator-*/log, sshd/sshd.log).
#
# Functions never call `exit`; they return non-zero and print why on stderr.
# They are safe under `set -eu` (bats runs tests with errexit).

HARNESS_LIB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
EMULATOR_PY=${EMULATOR_PY:-$(cd "$HARNESS_LIB_DIR/../emulator" && pwd)/upgrade_emulator.py}
HARNESS_PYTHON=${PYTHON3:-python3}

_harness_err() { printf 'harness: %s\n' "$*" >&2; }

# harness_init: create $HARNESS_DIR (done implicitly by every function).
harness_init() {
	if [[ -n ${HARNESS_DIR:-} && -d $HARNESS_DIR ]]; then
		return 0
	fi
	HARNESS_DIR=$(mktemp -d "${TMPDIR:-/tmp}/upgrade-harness.XXXXXX") || return 1
	export HARNESS_DIR
	: >"$HARNESS_DIR/pids"
	return 0
}

# harness_track KIND PID: have harness_stop stop PID (and its descendants).
harness_track() {
	harness_init || return 1
	printf '%s %s\n' "$1" "$2" >>"$HARNESS_DIR/pids"
}

# _harness_alive PID: true if PID exists and is not a zombie.
_harness_alive() {
	local st
	[[ -r /proc/$1/stat ]] || return 1
	st=$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f1) || return 1
	[[ -n $st && $st != Z ]]
}

# harness_descendants PID: all descendants of PID, one per line.
harness_descendants() {
	ps -eo pid=,ppid= 2>/dev/null | awk -v root="$1" '
		{ parent[$1] = $2 }
		END {
			mark[root] = 1
			do {
				changed = 0
				for (p in parent)
					if (!(p in mark) && (parent[p] in mark)) { mark[p] = 1; changed = 1 }
			} while (changed)
			for (p in mark) if (p != root) print p
		}'
}

# _harness_kill_tree SIGNAL PID [GRACE_SECONDS]: signal PID and every
# descendant (collected first: sshd's session children call setsid(), so a
# process-group kill would miss them); after GRACE seconds SIGKILL survivors.
_harness_kill_tree() {
	local sig=$1 root=$2 grace=${3:-3} p i alive
	local -a all
	mapfile -t all < <(harness_descendants "$root")
	all=("$root" "${all[@]}")
	for p in "${all[@]}"; do
		kill "-$sig" "$p" 2>/dev/null || true
	done
	for ((i = 0; i < grace * 20; i++)); do
		alive=0
		for p in "${all[@]}"; do
			_harness_alive "$p" && { alive=1; break; }
		done
		((alive)) || break
		sleep 0.05
	done
	for p in "${all[@]}"; do
		if _harness_alive "$p"; then kill -KILL "$p" 2>/dev/null || true; fi
	done
	for p in "${all[@]}"; do
		wait "$p" 2>/dev/null || true # reap if it is our child; no-op otherwise
	done
	return 0
}

# harness_free_port: print a free loopback TCP port.
harness_free_port() {
	"$HARNESS_PYTHON" -c 'import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])
s.close()'
}

# _harness_port_open PORT: true if 127.0.0.1:PORT accepts connections.
_harness_port_open() {
	(exec 9<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# harness_make_ca: CA + server cert for 127.0.0.1/localhost signed by it
# ($HARNESS_DIR/ca.pem, ca.key, server.pem, server.key), an unrelated
# self-signed cert for the same names (rogue.pem/rogue.key), and a cert signed
# by the CA but only for another name (wronghost.pem/wronghost.key,
# SAN DNS:wrong.invalid) for hostname-verification tests.
harness_make_ca() {
	harness_init || return 1
	local d=$HARNESS_DIR log=$HARNESS_DIR/openssl.log
	local ec=(-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes)
	{
		openssl req -x509 "${ec[@]}" -keyout "$d/ca.key" -out "$d/ca.pem" \
			-days 3 -subj "/CN=upgrade harness CA" \
			-addext "basicConstraints=critical,CA:TRUE" \
			-addext "keyUsage=critical,keyCertSign,cRLSign" &&
			_harness_leaf server "IP:127.0.0.1,DNS:localhost" &&
			_harness_leaf wronghost "DNS:wrong.invalid" &&
			openssl req -x509 "${ec[@]}" -keyout "$d/rogue.key" -out "$d/rogue.pem" \
				-days 3 -subj "/CN=127.0.0.1" \
				-addext "subjectAltName=IP:127.0.0.1,DNS:localhost" \
				-addext "basicConstraints=critical,CA:FALSE"
	} >"$log" 2>&1 || {
		_harness_err "openssl failed:"
		cat "$log" >&2
		return 1
	}
	chmod 600 "$d"/*.key
	return 0
}

_harness_leaf() { # NAME SAN
	local d=$HARNESS_DIR n=$1
	printf '%s\n' "subjectAltName=$2" "basicConstraints=critical,CA:FALSE" \
		"keyUsage=critical,digitalSignature,keyEncipherment" \
		"extendedKeyUsage=serverAuth" >"$d/$n.ext"
	openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
		-keyout "$d/$n.key" -out "$d/$n.csr" -subj "/CN=${2#*:}" &&
		openssl x509 -req -in "$d/$n.csr" -CA "$d/ca.pem" -CAkey "$d/ca.key" \
			-set_serial "0x$(openssl rand -hex 8)" -days 3 \
			-extfile "$d/$n.ext" -out "$d/$n.pem"
}

# emulator_start [extra emulator args…]: start the emulator over HTTPS with the
# harness CA's server cert (extra args come last and so override, e.g.
# `--plain`, `--cert "$HARNESS_DIR/rogue.pem" --key "$HARNESS_DIR/rogue.key"`,
# `--pending-seconds 5`).  Data under $HARNESS_DIR/emulator-$EMULATOR_NAME
# (EMULATOR_NAME defaults to "main"; use another name to run a second one).
# Exports UPGRADE_URL, EMULATOR_URL, EMULATOR_PORT, EMULATOR_PID, EMULATOR_LOG,
# EMULATOR_DATA, EMULATOR_TLS (cacert|insecure|plain) and UPGRADE_TEST_CACERT.
emulator_start() {
	harness_init || return 1
	[[ -f $HARNESS_DIR/ca.pem ]] || harness_make_ca || return 1
	local name=${EMULATOR_NAME:-main}
	local dir=$HARNESS_DIR/emulator-$name
	mkdir -p "$dir/data" || return 1
	local portfile=$dir/port scheme=https tls=cacert a
	local -a tlsargs=(--cert "$HARNESS_DIR/server.pem" --key "$HARNESS_DIR/server.key")
	local -a sftpargs=()
	for a in "$@"; do
		case $a in
		--plain) scheme=http tls=plain tlsargs=() ;;
		--cert | --cert=*) [[ $tls == plain ]] || tls=insecure ;;
		esac
	done
	if [[ -n ${SFTP_ROOT:-} && -n ${SSHD_PORT:-} ]]; then
		sftpargs=(--sftp-root "$SFTP_ROOT" --sftp-port "$SSHD_PORT"
			--sftp-host 127.0.0.1 --authorized-keys "$SSHD_AUTHORIZED_KEYS")
	fi
	# a client slowed down UPGRADE_TIME_SCALE times (valgrind) is as slow
	# to speak: the idle and handshake bound scale with it
	local idle
	idle=$(awk -v s="${UPGRADE_TIME_SCALE:-1}" 'BEGIN { printf "%g\n", 30 * s }')
	rm -f "$portfile"
	"$HARNESS_PYTHON" "$EMULATOR_PY" --data-dir "$dir/data" "${tlsargs[@]}" \
		--port-file "$portfile" --idle-timeout "$idle" "${sftpargs[@]}" "$@" \
		</dev/null >>"$dir/log" 2>&1 3>&- &
	local pid=$! i port=
	disown "$pid" 2>/dev/null || true # no "Killed" job reports; still reaped
	harness_track emulator "$pid"
	for ((i = 0; i < 200; i++)); do
		[[ -s $portfile ]] && { port=$(<"$portfile"); break; }
		_harness_alive "$pid" || break
		sleep 0.05
	done
	if [[ -z $port ]]; then
		_harness_err "emulator did not start; log $dir/log:"
		tail -n 30 "$dir/log" >&2
		_harness_kill_tree TERM "$pid" 1
		return 1
	fi
	export EMULATOR_PID=$pid EMULATOR_PORT=$port EMULATOR_TLS=$tls
	export EMULATOR_URL=$scheme://127.0.0.1:$port
	export UPGRADE_URL=$EMULATOR_URL/database/v1
	export UPGRADE_TEST_CACERT=$HARNESS_DIR/ca.pem
	export EMULATOR_LOG=$dir/log EMULATOR_DATA=$dir/data
	for ((i = 0; i < 100; i++)); do
		if emulator_curl /_emulator/stats -o /dev/null 2>/dev/null; then
			return 0
		fi
		sleep 0.1
	done
	_harness_err "emulator on port $port does not answer; log $dir/log:"
	tail -n 30 "$dir/log" >&2
	return 1
}

# emulator_stop: stop the emulator started last (EMULATOR_PID).
emulator_stop() {
	[[ -n ${EMULATOR_PID:-} ]] || return 0
	_harness_kill_tree TERM "$EMULATOR_PID" 3
	return 0
}

# emulator_restart [extra args…]: stop it and start it again on the same port
# with the same data dir (requests survive: they are persisted on disk).
emulator_restart() {
	local port=${EMULATOR_PORT:?emulator not started}
	emulator_stop
	emulator_start --port "$port" "$@"
}

# emulator_curl PATH [curl args…]: curl the emulator (admin or API) with the
# right TLS options; fails on HTTP >= 400 (body still printed).
emulator_curl() {
	local path=$1
	shift
	local -a tls=()
	case ${EMULATOR_TLS:-cacert} in
	cacert) tls=(--cacert "$HARNESS_DIR/ca.pem") ;;
	insecure) tls=(-k) ;;
	esac
	curl -sS --fail-with-body --max-time 30 "${tls[@]}" "$@" "${EMULATOR_URL:?emulator not started}$path"
}

# emulator_fault METHOD FAULT [JSON-EXTRA]: queue a fault.  JSON-EXTRA is an
# object ('{"count":2,"after_bytes":1000}') or its inside ('"count":2').
emulator_fault() {
	local extra=${3:-} body
	[[ -n $extra ]] || extra='{}'
	[[ $extra == \{* ]] || extra="{$extra}"
	body=$(jq -cn --arg m "$1" --arg f "$2" --argjson x "$extra" \
		'{method: $m, fault: $f} + $x') || return 2
	emulator_curl /_emulator/faults -H 'Content-Type: application/json' \
		-d "$body" -o /dev/null
}

# emulator_reset [stats]: drop queued faults (and zero the counters if "stats").
emulator_reset() {
	local body='{}'
	[[ ${1:-} == stats ]] && body='{"stats":true}'
	emulator_curl /_emulator/reset -H 'Content-Type: application/json' \
		-d "$body" -o /dev/null
}

# emulator_download_limits JSON: the emulator's download limits,
# {"max_concurrent": K, "rate": BYTES_PER_S} (its docstring); '{}' (or
# emulator_reset) lifts them.
emulator_download_limits() {
	emulator_curl /_emulator/downloads -H 'Content-Type: application/json' -d "$1" -o /dev/null
}

# emulator_stats: print the counters as JSON.
emulator_stats() { emulator_curl /_emulator/stats; }

# emulator_requests: print the emulator's internal view of all requests.
emulator_requests() { emulator_curl /_emulator/requests; }

# emulator_set_state ID STATE: force a request's state (sticky: a forced
# pending/progress never advances; done/delivered write the upgraded files).
emulator_set_state() {
	emulator_curl /_emulator/set_state -H 'Content-Type: application/json' \
		-d "$(jq -cn --argjson r "$1" --arg s "$2" '{request: $r, state: $s}')" \
		-o /dev/null
}

# _harness_await_port_file FILE PID TRIES WHAT LOG: wait (TRIES × 50 ms)
# until FILE holds the port a server wrote, or PID is gone; else say that
# WHAT did not start, with LOG's tail.
_harness_await_port_file() {
	local file=$1 pid=$2 tries=$3 what=$4 log=$5 i
	for ((i = 0; i < tries; i++)); do
		[[ -s $file ]] && return 0
		_harness_alive "$pid" || break
		sleep 0.05
	done
	[[ -s $file ]] && return 0
	_harness_err "$what did not start; log $log:"
	tail -n 30 "$log" >&2
	return 1
}

# delay_proxy_start TARGET_PORT [ARGS…]: tests/lib/delay_proxy.py on a free
# loopback port, forwarding to 127.0.0.1:TARGET_PORT with ARGS (--delay-ms,
# --rate-kib, --max-connections, …: see its docstring); harness_stop stops
# it.  Sets DELAY_PROXY_PORT and DELAY_PROXY_PID (SIGUSR1: delay_proxy_unslow).
delay_proxy_start() {
	local target=$1 dir
	shift
	harness_init || return 1
	dir=$(mktemp -d "$HARNESS_DIR/delay_proxy.XXXXXX") || return 1
	"$HARNESS_PYTHON" "$HARNESS_LIB_DIR/delay_proxy.py" --target-port "$target" \
		--port-file "$dir/port" "$@" </dev/null >>"$dir/log" 2>&1 3>&- &
	local pid=$!
	harness_track delay_proxy "$pid"
	# python's start takes seconds on a loaded machine
	_harness_await_port_file "$dir/port" "$pid" 600 delay_proxy "$dir/log" || return 1
	DELAY_PROXY_PORT=$(<"$dir/port") DELAY_PROXY_PID=$pid DELAY_PROXY_DIR=$dir
}

# delay_proxy_unslow: the last delay proxy started takes every connection
# from now on at full speed (same port, same delay); returns once it has.
delay_proxy_unslow() {
	local i
	kill -USR1 "${DELAY_PROXY_PID:?no delay proxy started}" || return 1
	for ((i = 0; i < 200; i++)); do
		[[ -e $DELAY_PROXY_DIR/port.unslowed ]] && return 0
		sleep 0.05
	done
	_harness_err "delay_proxy did not lift its rate"
	return 1
}

# hostile_start: the scriptable hostile server (tests/lib/hostile_server.py)
# on loopback, TLS with the harness CA.  Exports HOSTILE_URL (its base,
# https://127.0.0.1:PORT) and HOSTILE_PORT.  Script it with hostile_script.
hostile_start() {
	harness_init || return 1
	[[ -f $HARNESS_DIR/ca.pem ]] || harness_make_ca || return 1
	local dir=$HARNESS_DIR/hostile
	mkdir -p "$dir" || return 1
	rm -f "$dir/port"
	"$HARNESS_PYTHON" "$HARNESS_LIB_DIR/hostile_server.py" --cert "$HARNESS_DIR/server.pem" \
		--key "$HARNESS_DIR/server.key" --port-file "$dir/port" </dev/null >>"$dir/log" 2>&1 3>&- &
	local pid=$!
	disown "$pid" 2>/dev/null || true
	harness_track hostile "$pid"
	_harness_await_port_file "$dir/port" "$pid" 200 "hostile server" "$dir/log" || return 1
	export HOSTILE_PORT=$(<"$dir/port")
	export HOSTILE_URL=https://127.0.0.1:$HOSTILE_PORT HOSTILE_LOG=$dir/log
	export UPGRADE_TEST_CACERT=$HARNESS_DIR/ca.pem
}

# hostile_curl PATH [curl args]: an admin call to the hostile server.
hostile_curl() {
	local path=$1
	shift
	curl -sS --fail-with-body --max-time 30 --cacert "$HARNESS_DIR/ca.pem" "$@" \
		"${HOSTILE_URL:?hostile server not started}$path"
}

# hostile_script JSON: replace the server's rules (and forget its log).
hostile_script() {
	hostile_curl /_hostile/reset -X POST -o /dev/null &&
		hostile_curl /_hostile/script -H 'Content-Type: application/json' --data-binary "$1" -o /dev/null
}

# hostile_log: the requests the server saw since the last script, as JSON.
hostile_log() { hostile_curl /_hostile/log; }

# sshd_prepare: host key, sftp root, empty authorized_keys and sshd_config
# under $HARNESS_DIR/sshd.  Exports SSHD_PORT, SSHD_HOSTKEY_PUB, SFTP_ROOT,
# SSHD_AUTHORIZED_KEYS, SSHD_CONFIG.
sshd_prepare() {
	harness_init || return 1
	local d=$HARNESS_DIR/sshd
	mkdir -p "$d" "$HARNESS_DIR/sftp-root" || return 1
	if [[ ! -f $d/host_ed25519 ]]; then
		ssh-keygen -q -t ed25519 -N '' -C harness-host -f "$d/host_ed25519" </dev/null ||
			return 1
	fi
	SSHD_PORT=$(harness_free_port) || return 1
	export SSHD_PORT SSHD_HOSTKEY_PUB=$d/host_ed25519.pub
	export SFTP_ROOT=$HARNESS_DIR/sftp-root SSHD_AUTHORIZED_KEYS=$d/authorized_keys
	export SSHD_CONFIG=$d/sshd_config
	: >"$SSHD_AUTHORIZED_KEYS"
	chmod 600 "$SSHD_AUTHORIZED_KEYS"
	cat >"$SSHD_CONFIG" <<-EOF
		ListenAddress 127.0.0.1
		Port $SSHD_PORT
		HostKey $d/host_ed25519
		PidFile $d/sshd.pid
		AuthorizedKeysFile $SSHD_AUTHORIZED_KEYS
		StrictModes no
		PasswordAuthentication no
		KbdInteractiveAuthentication no
		PubkeyAuthentication yes
		UsePAM no
		PermitRootLogin yes
		Subsystem sftp internal-sftp
		LogLevel VERBOSE
		PrintMotd no
	EOF
	if [[ $(id -u) == 0 ]]; then
		mkdir -p /run/sshd && chmod 755 /run/sshd
	fi
	/usr/sbin/sshd -t -f "$SSHD_CONFIG" || {
		_harness_err "sshd -t refused $SSHD_CONFIG"
		return 1
	}
	return 0
}

# sshd_start: run sshd in the foreground (-D -e) in the background; log in
# $HARNESS_DIR/sshd.log; waits (≤10 s) until the port accepts connections.
# Exports SSHD_PID.
sshd_start() {
	[[ -n ${SSHD_CONFIG:-} && -f $SSHD_CONFIG ]] || {
		_harness_err "sshd_start: run sshd_prepare first"
		return 1
	}
	/usr/sbin/sshd -D -e -f "$SSHD_CONFIG" </dev/null >>"$HARNESS_DIR/sshd.log" 2>&1 3>&- &
	local pid=$! i
	disown "$pid" 2>/dev/null || true
	harness_track sshd "$pid"
	export SSHD_PID=$pid
	for ((i = 0; i < 200; i++)); do
		_harness_port_open "$SSHD_PORT" && return 0
		_harness_alive "$pid" || break
		sleep 0.05
	done
	_harness_err "sshd did not start; log $HARNESS_DIR/sshd.log:"
	tail -n 20 "$HARNESS_DIR/sshd.log" >&2
	return 1
}

# sshd_stop: SIGTERM sshd and its session processes (SIGKILL after 3 s).
sshd_stop() {
	[[ -n ${SSHD_PID:-} ]] || return 0
	_harness_kill_tree TERM "$SSHD_PID" 3
	return 0
}

# sshd_kill: SIGKILL sshd and every descendant (its sessions) at once.
sshd_kill() {
	[[ -n ${SSHD_PID:-} ]] || return 0
	_harness_kill_tree KILL "$SSHD_PID" 1
	return 0
}

# harness_known_hosts FILE: write a known_hosts line for [127.0.0.1]:$SSHD_PORT.
harness_known_hosts() {
	local key
	key=$(cut -d' ' -f1,2 "${SSHD_HOSTKEY_PUB:?run sshd_prepare first}") || return 1
	printf '[127.0.0.1]:%s %s\n' "$SSHD_PORT" "$key" >"$1"
}

# harness_ssh_keygen FILE: new ed25519 key pair FILE/FILE.pub, no passphrase.
harness_ssh_keygen() {
	rm -f "$1" "$1.pub"
	ssh-keygen -q -t ed25519 -N '' -C harness-client -f "$1" </dev/null
}

# harness_sftp KEYFILE [sftp args…]: OpenSSH sftp to the harness sshd as the
# current user, trusting only the harness host key, no user config, no agent.
# Example: printf 'put a b\n' | harness_sftp key -b -
harness_sftp() {
	local key=$1
	shift
	[[ -f $HARNESS_DIR/known_hosts ]] || harness_known_hosts "$HARNESS_DIR/known_hosts"
	SSH_AUTH_SOCK='' sftp -F /dev/null -i "$key" -P "$SSHD_PORT" \
		-o BatchMode=yes -o IdentitiesOnly=yes -o IdentityAgent=none \
		-o StrictHostKeyChecking=yes -o GlobalKnownHostsFile=/dev/null \
		-o UserKnownHostsFile="$HARNESS_DIR/known_hosts" \
		-o ConnectTimeout=10 "$@" "$(id -un)@127.0.0.1"
}

# rpc_prepare: what the emulator's rpc dialect needs for its transfers, BEFORE
# emulator_start (the emulator picks its ssh user when it starts).  As root
# (CI): the platform's ssh user `odoo` (a system user, made once, with a
# real shell for sshd's ForceCommand and '*' as its password so that sshd
# does not count it as locked), and $HARNESS_DIR made traversable (0711) so
# that its sessions reach the request directories under it.  Not root: the
# rpc sshd can only log in the current user, so clients must use
# $RPC_SSH_USER instead of odoo.  Needs rsync.  Exports RPC_SSH_USER.
rpc_prepare() {
	harness_init || return 1
	command -v rsync >/dev/null || { _harness_err "rpc_prepare: rsync is not installed"; return 1; }
	if [[ $(id -u) != 0 ]]; then
		RPC_SSH_USER=$(id -un)
		export RPC_SSH_USER
		return 0
	fi
	if ! getent passwd odoo >/dev/null; then
		useradd --system --create-home --home-dir /var/lib/odoo-upgrade-emulator \
			--shell /bin/bash odoo 2>/dev/null || getent passwd odoo >/dev/null || {
			_harness_err "rpc_prepare: useradd odoo failed"
			return 1
		}
	fi
	usermod -p '*' odoo || return 1
	chmod 711 "$HARNESS_DIR" || return 1
	export RPC_SSH_USER=odoo
}

# rpc_call METHOD PARAMS-JSON [curl args…]: one JSON-RPC call, as the
# platform's script makes it, to the emulator's rpc dialect
# (https://localhost:PORT/upgrade/request/METHOD); the answer's body on
# stdout.
rpc_call() {
	local m=$1 body
	body=$(jq -cn --argjson p "$2" '{jsonrpc: "2.0", method: "not_used", params: $p, id: "not_used"}') ||
		return 2
	shift 2
	curl -sS --max-time 30 --cacert "$HARNESS_DIR/ca.pem" -H 'Content-Type: application/json' \
		-d "$body" "$@" "https://localhost:${EMULATOR_PORT:?emulator not started}/upgrade/request/$m"
}

# rpc_rsync KEY KNOWN_HOSTS PORT rsync-args…: rsync over OpenSSH's ssh as the
# platform's script runs it (-p PORT, IdentitiesOnly, StrictHostKeyChecking
# =yes, that known_hosts alone), no user config, no agent.
rpc_rsync() {
	local key=$1 kh=$2 port=$3
	shift 3
	SSH_AUTH_SOCK='' rsync --rsh="ssh -F /dev/null -p $port -o BatchMode=yes -o IdentitiesOnly=yes \
-o StrictHostKeyChecking=yes -o GlobalKnownHostsFile=/dev/null -o UserKnownHostsFile=$kh -i $key" "$@"
}

# harness_install_traps: for plain scripts (not bats): run harness_stop on
# EXIT, and make SIGINT/SIGTERM/SIGHUP exit (bash skips the EXIT trap when an
# untrapped signal kills it, e.g. under `timeout`).
harness_install_traps() {
	trap harness_stop EXIT
	trap 'exit 129' HUP
	trap 'exit 130' INT
	trap 'exit 143' TERM
}

# harness_stop: stop everything started (emulators, sshd and its sessions,
# anything given to harness_track), then remove $HARNESS_DIR unless
# HARNESS_KEEP=1.  Idempotent.
harness_stop() {
	local kind pid
	[[ -n ${HARNESS_DIR:-} && -d $HARNESS_DIR ]] || return 0
	if [[ -f $HARNESS_DIR/pids ]]; then
		# newest first
		while read -r kind pid; do
			[[ -n $pid ]] || continue
			if [[ $kind == sshd ]]; then
				_harness_kill_tree TERM "$pid" 2
			else
				_harness_kill_tree TERM "$pid" 3
			fi
		done < <(tac "$HARNESS_DIR/pids")
	fi
	if [[ ${HARNESS_KEEP:-0} == 1 ]]; then
		_harness_err "kept $HARNESS_DIR"
	else
		rm -rf "$HARNESS_DIR"
	fi
	unset HARNESS_DIR EMULATOR_PID EMULATOR_PORT EMULATOR_URL UPGRADE_URL \
		UPGRADE_TEST_CACERT EMULATOR_LOG EMULATOR_DATA EMULATOR_TLS \
		SSHD_PID SSHD_PORT SSHD_HOSTKEY_PUB SFTP_ROOT SSHD_AUTHORIZED_KEYS SSHD_CONFIG
	return 0
}
