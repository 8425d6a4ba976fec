#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
# Run the platform's own client script, unmodified, against the emulator's
# rpc dialect and the test PostgreSQL: the check that the emulator speaks
# what the real client expects (issue 17).  The project does not ship that
# script and CI has no network: give its path.
#
#   PLATFORM_UPGRADE_PY=/tmp/platform-upgrade.py tests/emulator/platform_check.sh
#
# (e.g. `git --git-dir=<Mint-System/Odoo-Build> show
#  eaad403d:images/odoo-upgrade/bin/upgrade >/tmp/platform-upgrade.py`)
#
# The script makes https://<assigned host> of the bare host the platform
# assigns, i.e. port 443: so this runs in a network namespace of its own
# (unshare -n, root), where the emulator owns 127.0.0.1:443 and nothing
# else on the machine is in the way.  Steps: `test -d src -t 17.0` (dump,
# create, rsync up, process, log, rsync down, restore into src_upgraded,
# filestore merge), `status -t`, `log -t`, `restore -t`, `wipe`, and
# `test -i` of a custom dump, a .sql, a .sql.gz and a .zip.  Prints TAP.
set -u
P=${PLATFORM_UPGRADE_PY:?set PLATFORM_UPGRADE_PY to the platform script}
P=$(realpath "$P")
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
if [[ ${PLATFORM_CHECK_NETNS:-} != 1 ]]; then
	exec env PLATFORM_CHECK_NETNS=1 PLATFORM_UPGRADE_PY="$P" unshare -n bash "${BASH_SOURCE[0]}"
fi
ip link set lo up || exit 1
# shellcheck source=../lib/harness.bash
source "$here/../lib/harness.bash"
# shellcheck source=../lib/pg.bash
source "$here/../lib/pg.bash"
harness_install_traps
n=0 failed=0
t() { # DESC CMD…
	local d=$1
	shift
	n=$((n + 1))
	if "$@"; then echo "ok $n - $d"; else failed=$((failed + 1)) && echo "not ok $n - $d"; fi
}
pg_start && rpc_prepare && emulator_start --port 443 --pending-seconds 1 --progress-seconds 7 || {
	echo "Bail out! set-up"
	exit 1
}
W=$HARNESS_DIR/platform
mkdir -p "$W/tmp" "$W/home" "$W/cwd"
export HOME=$W/home TMPDIR=$W/tmp UPGRADE_SERVER_NAME=https://localhost SSL_VERIFICATION=0
pg_make_odoo src "$HOME/.local/share/Odoo" >/dev/null
pg_sql src "INSERT INTO ir_config_parameter (key, value) VALUES ('database.enterprise_code', 'M123456-abcdef')"
# run NAME ARGS…: the script from $W/cwd, its output in $W/NAME.log; true
# when it exits 0 and says no ERROR (it exits 0 on most errors)
run() {
	local name=$1
	shift
	(cd "$W/cwd" && python3 "$P" "$@" </dev/null >"$W/$name.log" 2>&1) &&
		! grep -q "ERROR\|Traceback" "$W/$name.log" || { sed 's/^/#   /' "$W/$name.log" | tail -n 20; return 1; }
}
t "test -d src -t 17.0 -r src_upgraded" run test test -d src -t 17.0 -r src_upgraded
t "the script showed the platform's log while processing" grep -q "INFO: .*upgrade finished" "$W/test.log"
got="$(pg_sql src_upgraded "SELECT string_agg(DISTINCT latest_version, ',') FROM ir_module_module")"
got+="|$(pg_sql src_upgraded 'SELECT count(*) FROM res_partner')"
t "src_upgraded restored: modules at 17.0.1.0, 500 partners ($got)" test "$got" = "17.0.1.0|500"
t "the filestore merged into src_upgraded, with the upgrade's attachment" test -f \
	"$HOME/.local/share/Odoo/filestore/src_upgraded/$(pg_sql src_upgraded "SELECT store_fname FROM ir_attachment WHERE name = 'upgrade.txt'")"
T=$(emulator_curl /_emulator/rpc | jq -r '.requests[].token' | head -n 1)
status_done() { run status status -t "$T" && grep -q "Request status: DONE" "$W/status.log"; }
t "status -t: DONE" status_done
t "log -t: the platform's log" run log log -t "$T"
t "restore -t -r src_restored" run restore restore -t "$T" -d src -r src_restored
t "restore: src_restored at 17.0.1.0" test "$(pg_sql src_restored "SELECT string_agg(DISTINCT latest_version, ',') FROM ir_module_module")" = 17.0.1.0
t "wipe -t -c -y: the request wiped" run wipe wipe -t "$T" -c M123456-abcdef -y
pg_dump -Fc -f "$W/src.dump" src && pg_dump -f "$W/dump.sql" src && gzip -k "$W/dump.sql" &&
	(cd "$W" && python3 -c 'import zipfile; zipfile.ZipFile("src.zip", "w").write("dump.sql")')
for f in src.dump dump.sql dump.sql.gz src.zip; do
	rm -rf "${W:?}/tmp/"* "$W/upgraded.dump"
	t "test -i $f: uploaded, upgraded, downloaded" run "i-$f" test -i "$W/$f" -c M123456-abcdef -t 17.0
	t "test -i $f: a directory dump came back" test -f "$W/upgraded.dump/toc.dat"
done
echo "1..$n"
((failed == 0))
