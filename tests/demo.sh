#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
# tests/demo.sh -- the whole job against the bundled emulator, step by step:
# create -> upload -> process -> wait -> download, then the same in one
# `upgrade run`, then (with PostgreSQL installed) `upgrade run --database`
# from a live database to the upgraded one.  `make demo` runs it after a
# build.
set -euo pipefail
top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
so=${UPGRADE_SO:-$top/.libs/upgrade.so}
# shellcheck source=tests/lib/harness.bash
source "$top/tests/lib/harness.bash"
harness_install_traps

step() { printf '\n\033[1m$ %s\033[0m\n' "$*" >&2; }

# Today's platform (the rpc dialect) moves dumps by rsync over ssh as the
# user odoo: as root the harness makes that user for the emulator's sshd
# (before the emulator starts), and the last part of the demo runs.
rpc=0
if [[ $(id -u) == 0 ]] && command -v rsync >/dev/null && rpc_prepare; then rpc=1; fi
harness_make_ca
emulator_start --pending-seconds 1 --progress-seconds 1 >/dev/null
export UPGRADE_URL
cd "$HARNESS_DIR"
# a stand-in for a dump: upload looks at the first bytes (a custom dump's magic)
{ printf 'PGDMP'; head -c 4999995 /dev/urandom; } > mydb.dump

enable -f "$so" upgrade
# The emulator's certificate comes from a CA made just now: trust it.
tls=(--cacert "$UPGRADE_TEST_CACERT")

step upgrade create --contract M123456-demo --email me@example.com --target 16.0 --aim test --filename mydb.dump
upgrade create "${tls[@]}" --contract M123456-demo --email me@example.com --target 16.0 --aim test \
  --filename mydb.dump --pretty -q '{failures, request: (.request | {id, state, filename})}'
echo "UPGRADE_REQUEST=$UPGRADE_REQUEST (UPGRADE_KEY is set too)" >&2

step upgrade upload mydb.dump
upgrade upload "${tls[@]}" mydb.dump --pretty -q '{failures, transfer}'

step upgrade process
upgrade process "${tls[@]}" -q '{failures, state: .request.state}' -c

step upgrade wait --interval 0.5
upgrade wait "${tls[@]}" --interval 0.5 -q .request.state -r

step upgrade download -o upgraded.dump
upgrade download "${tls[@]}" -o upgraded.dump --pretty

step "cmp <(printf 'UPGRADED TO 16.0\\n'; cat mydb.dump) upgraded.dump"
cmp <(printf 'UPGRADED TO 16.0\n'; cat mydb.dump) upgraded.dump && echo "the upgraded dump is the emulator's derivation of ours, byte for byte"

step upgrade run --contract M123456-demo --email me@example.com --target 17.0 --aim test --interval 0.5 mydb.dump
upgrade run "${tls[@]}" --contract M123456-demo --email me@example.com --target 17.0 --aim test \
  --interval 0.5 mydb.dump --pretty -q '{failures, state: .request.state, transfer}'
ls -l upgraded_mydb.dump

# From a live PostgreSQL database to the upgraded database beside it, when
# PostgreSQL's server programs are installed (.ci/packages has them): a
# throw-away cluster on a Unix socket, an Odoo-shaped database, one call.
# shellcheck source=tests/lib/pg.bash
source "$top/tests/lib/pg.bash"
if pg_bin_dir >/dev/null 2>&1 && pg_start; then
  pg_make_odoo shop "$HARNESS_DIR/odoo"
  # pg_start made the role, as an operator would once: createuser upgrade_restore
  step "UPGRADE_RESTORE_ROLE=upgrade_restore   # the role that loads the platform's dump: no rights of its own"
  step upgrade run --database shop --data-dir ./odoo --contract M123456-demo --email me@example.com --target 17.0 --aim test --interval 0.5
  upgrade run "${tls[@]}" --database shop --data-dir ./odoo --contract M123456-demo --email me@example.com \
    --target 17.0 --aim test --interval 0.5 --pretty -q '{failures, dump: .dump.file, state: .request.state, restore}' \
    -v shown
  jq . <<<"$shown"
  new=$(jq -r .restore.database <<<"$shown")   # shop_test_17.0_YYYY_MM_DD_HH_MM: said on stderr too
  step "psql -d $new -c 'SELECT name, latest_version FROM ir_module_module'"
  psql -X -d "$new" -c 'SELECT name, latest_version FROM ir_module_module ORDER BY id'
  if ((rpc)); then
    # The rpc platform's node is https://NODE on port 443: --connect-to
    # reaches the emulator's port instead, as curl's option does.
    rpc_args=(--api rpc --url https://localhost --connect-to "localhost:443:127.0.0.1:$EMULATOR_PORT")
    step upgrade run --api rpc --database shop --data-dir ./odoo --contract M123456-demo --target 17.0 --aim test --restore-as shop_rpc -o upgraded_shop_rpc
    upgrade run "${tls[@]}" "${rpc_args[@]}" --database shop --data-dir ./odoo --contract M123456-demo \
      --target 17.0 --aim test --restore-as shop_rpc --interval 0.5 -o upgraded_shop_rpc \
      --pretty -q '{failures, dump: .dump.file, state: .request.status, restore: .restore.database, files}'
  else
    echo "(not root, or no rsync: the rpc dialect's run is skipped)" >&2
  fi
  pg_stop
else
  echo "(no PostgreSQL server programs: the dump-to-restore demo is skipped)" >&2
fi
