#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-3.0-or-later
# Stress: many calls in one shell (memory must stay flat) and many whole
# jobs at once from background jobs of one shell (every result byte-exact).
# Under valgrind or the sanitizers the counts shrink (they are 20-50x
# slower) and resident memory is theirs, not ours: the leak checks there
# are their own reports.
load helpers

@test "10,000 status -v calls in one shell: resident memory grows by less than 1 MiB" {
	api_create
	local calls=10000
	instrumented && calls=300
	run --separate-stderr ucall '
		rss() { awk "/^VmRSS/ {print \$2}" /proc/$$/status; }
		for ((i = 0; i < 200; i++)); do upgrade status --cacert "$CA" -v st -q .request.state -r || exit 1; done
		before=$(rss)
		for ((i = 0; i < $1; i++)); do upgrade status --cacert "$CA" -v st -q .request.state -r || exit 1; done
		after=$(rss)
		echo "{\"state\": \"$st\", \"before\": $before, \"after\": $after}"' "$calls"
	expect_status 0
	jqe '.state == "draft"'
	echo "# RSS before $(jq .before <<<"$output") KiB, after $calls calls $(jq .after <<<"$output") KiB" >&3
	instrumented || jqe '.after - .before < 1024'
	# one connection for all of them
	[[ $(stat_get .api_connections) -le 2 ]]
}

@test "50 whole jobs at once from background jobs of one shell, each byte-exact" {
	local jobs=50
	instrumented && jobs=4
	cd "$BATS_TEST_TMPDIR"
	for ((i = 0; i < jobs; i++)); do dump_bytes $((100000 + i * 997)) >"db$i.dump"; done
	run --separate-stderr ucall '
		for ((i = 0; i < $1; i++)); do
			upgrade run --cacert "$CA" --contract M123-abc --email t@example.com --target 16.0 --aim test \
				--interval 0.2 -s -q .request.state -r "db$i.dump" >"out$i" 2>"err$i" &
		done
		failed=0
		for job in $(jobs -p); do wait "$job" || failed=$((failed + 1)); done
		echo "failed=$failed"' "$jobs"
	expect_status 0
	[[ $output == failed=0 ]] || { show; cat err* >&2; false; }
	for ((i = 0; i < jobs; i++)); do
		[[ $(cat "out$i") == done ]]
		cmp <(printf 'UPGRADED TO 16.0\n'; cat "db$i.dump") "upgraded_db$i.dump"
		job_closed "db$i.dump.upgrade.json"
	done
}
