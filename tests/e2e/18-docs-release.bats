# SPDX-License-Identifier: GPL-3.0-or-later
# shellcheck shell=bats
# What a user who clones the project gets: `upgrade --version`, docs whose
# links stay inside the repository, a man page, help and README that name
# the same subcommands and options, a release tarball that holds what it
# needs and nothing built, and a Debian package that lintian accepts.
load helpers

TOP=$(cd "$E2E_DIR/../.." && pwd)

# No server is needed here.
setup_file() { :; }
teardown_file() { :; }

# The version configure.ac's AC_INIT gives: the one place it is written.
package_version() {
	sed -n 's/^AC_INIT(\[[^]]*\], \[\([^]]*\)\].*/\1/p' "$TOP/configure.ac"
}

# The release tests build a tarball and a package from a copy of the tree:
# once per CI run (the plain e2e run), and only from a git checkout.
release_only() {
	if [[ ${UPGRADE_SANITIZE:-0} == 1 || $VALGRIND == 1 ]]; then
		skip "runs once, in the plain e2e run"
	fi
	git -C "$TOP" rev-parse --git-dir >/dev/null 2>&1 || skip "not a git checkout"
}

# release_tarball: copy the tree's files (tracked, and new ones not
# ignored) to $BATS_FILE_TMPDIR/src, add stray build output there, and run
# autogen, configure and make dist; sets TARBALL.  Done once per file.
release_tarball() {
	local src=$BATS_FILE_TMPDIR/src
	TARBALL=$BATS_FILE_TMPDIR/bash-upgrade-$(package_version).tar.gz
	[[ -f $TARBALL ]] && return 0
	mkdir -p "$src"
	git -C "$TOP" ls-files -co --exclude-standard -z >"$BATS_FILE_TMPDIR/files0"
	tar -C "$TOP" --null -T "$BATS_FILE_TMPDIR/files0" -cf - | tar -C "$src" -xf -
	tr '\0' '\n' <"$BATS_FILE_TMPDIR/files0" >"$BATS_FILE_TMPDIR/files"
	git -C "$src" init -q
	# what a built tree holds and .gitignore keeps out of git
	local stray
	for stray in tests/unit/test_cli tests/unit/test_cli.o tests/unit/.dirstamp \
		tests/unit/.deps/test_cli.Po tests/emulator/__pycache__/e.pyc bench/out/r.txt \
		tests/tmp/x tests/fuzz/fuzz_cli debian/files debian/bash-upgrade/DEBIAN/control \
		docs/x.log; do
		mkdir -p "$src/$(dirname "$stray")"
		echo "# built" >"$src/$stray" # (a make fragment, for the .Po)
	done
	printf '%s\n' tests/unit/test_cli tests/unit/test_cli.o tests/unit/.dirstamp \
		tests/unit/.deps tests/emulator/__pycache__ bench/out tests/tmp tests/fuzz/fuzz_cli \
		debian/files debian/bash-upgrade docs/x.log >"$BATS_FILE_TMPDIR/stray"
	(cd "$src" && ./autogen.sh && ./configure && make dist) >"$BATS_FILE_TMPDIR/dist.log" 2>&1 || {
		tail -n 30 "$BATS_FILE_TMPDIR/dist.log" >&2
		return 1
	}
	mv "$src/${TARBALL##*/}" "$TARBALL"
}

@test "upgrade --version: the module's, libcurl's, TLS's, libssh2's, libjq's and bash's versions as JSON" {
	run --separate-stderr ucall 'upgrade --version'
	expect_status 0
	one_line
	jqe --arg v "$(package_version)" '.failures == [] and .version.upgrade == $v
		and (.version | keys == ["bash", "curl", "libjq", "libssh2", "tls", "upgrade"])
		and all(.version[]; type == "string" and length > 0)'
	# the libraries the curl tool reports are the same libcurl, TLS library
	# and libssh2 (Debian builds curl against them)
	local curl_v
	curl_v=$(curl --version | head -n 1)
	jqe --arg c "$curl_v" '.version as $v | $c | contains("libcurl/" + $v.curl + " ")
		and contains(" " + $v.tls + " ") and contains(" libssh2/" + $v.libssh2 + " ")'
	# libjq: the jq tool links the same libjq ("jq-1.6")
	jqe --arg j "$(jq --version)" '$j == "jq-" + .version.libjq'
	# bash: the bash that runs the module, as it names itself
	jqe --arg b "$(bash -c 'echo "$BASH_VERSION"')" '.version.bash | startswith($b)'
}

@test "upgrade version takes -q, -r and -v like every subcommand, and sends nothing" {
	run --separate-stderr ucall 'UPGRADE_URL=https://127.0.0.1:1/v1 upgrade version -q .version.libssh2 -r'
	expect_status 0
	[[ $output =~ ^[0-9]+\.[0-9]+ ]] || { show; false; }
	# -v assigns; "bash" is the running bash's own version, not $BASH_VERSION
	run --separate-stderr ucall 'BASH_VERSION=0.0; upgrade --version -q .version.bash -r -v v; echo "[$v]"'
	expect_status 0
	[[ $output == "[$(bash -c 'echo "$BASH_VERSION"')]" ]] || { show; false; }
}

@test "--version with another subcommand is a usage error; upgrade help version documents it" {
	run --separate-stderr ucall 'upgrade status --version'
	expect_status 2
	expect_reason CLIENT:USAGE
	run --separate-stderr ucall 'upgrade help version'
	expect_status 0
	[[ $output == *"upgrade --version"* && $output == *libssh2* ]] || { show; false; }
}

@test "every relative link in README.md and docs/*.md resolves to a file of the repository" {
	local doc link target bad=0 n=0
	for doc in "$TOP"/README.md "$TOP"/docs/*.md; do
		# [text](target) and [text]: target, less URLs and in-page anchors
		while IFS= read -r link; do
			link=${link%%#*}
			[[ -z $link || $link == *://* || $link == mailto:* ]] && continue
			n=$((n + 1))
			target=$(realpath -m "$(dirname "$doc")/$link")
			if [[ $target != "$TOP"/* || ! -e $target ]]; then
				echo "${doc#"$TOP"/}: link '$link' does not resolve inside the repository" >&2
				bad=1
			fi
		done < <(grep -oE '\]\([^) ]+\)|^\[[^]]+\]: *[^ ]+' "$doc" | sed -E 's/^\]\(//; s/\)$//; s/^\[[^]]+\]: *//')
		# nor may prose point outside (`../shared/…`)
		if grep -n '\.\./shared' "$doc" >&2; then
			echo "${doc#"$TOP"/} names a file outside the repository" >&2
			bad=1
		fi
	done
	[[ $n -gt 0 && $bad == 0 ]]
}

@test "the help, the man page, README.md and the parser name the same subcommands and options" {
	local subs
	subs=$(python3 "$TOP/tests/lib/doc_terms.py" cli "$TOP/plugin/bash/cli.c" | sed -n 's/^sub //p')
	[[ -n $subs ]]
	run --separate-stderr ubash 'help upgrade; for c in '"${subs//$'\n'/ }"'; do upgrade help "$c" || exit; done'
	expect_status 0
	printf '%s\n' "$output" >"$BATS_TEST_TMPDIR/help.txt"
	local kind file diffs=0
	python3 "$TOP/tests/lib/doc_terms.py" cli "$TOP/plugin/bash/cli.c" >"$BATS_TEST_TMPDIR/cli.terms"
	for kind in help man readme; do
		case $kind in
		help) file=$BATS_TEST_TMPDIR/help.txt ;;
		man) file=$TOP/man/upgrade.1.in ;;
		readme) file=$TOP/README.md ;;
		esac
		python3 "$TOP/tests/lib/doc_terms.py" "$kind" "$file" >"$BATS_TEST_TMPDIR/$kind.terms"
		# "<" the parser has it, the document does not; ">" the other way round
		if ! diff "$BATS_TEST_TMPDIR/cli.terms" "$BATS_TEST_TMPDIR/$kind.terms" >"$BATS_TEST_TMPDIR/$kind.diff"; then
			echo "the parser (<) and $kind (>) differ:" >&2
			cat "$BATS_TEST_TMPDIR/$kind.diff" >&2
			diffs=1
		fi
	done
	[[ $diffs == 0 ]]
	# and the completion offers every subcommand and option
	local t
	while read -r _ t; do
		grep -qE -- "(^|[ \"|(])$t([ \"|)]|$)" "$TOP/completion/upgrade" || { echo "completion lacks $t" >&2; diffs=1; }
	done <"$BATS_TEST_TMPDIR/cli.terms"
	[[ $diffs == 0 ]]
}

@test "the man page renders without a warning and covers exit codes, environment and files" {
	command -v groff >/dev/null || skip "groff is not installed"
	sed "s/@PACKAGE_VERSION@/$(package_version)/" "$TOP/man/upgrade.1.in" >"$BATS_TEST_TMPDIR/upgrade.1"
	run groff -man -ww -z "$BATS_TEST_TMPDIR/upgrade.1"
	[[ $status == 0 && -z $output ]] || { show; false; }
	local sh
	for sh in NAME SYNOPSIS DESCRIPTION SUBCOMMANDS OPTIONS OUTPUT "EXIT STATUS" ENVIRONMENT FILES; do
		grep -q "^\.SH \"*$sh" "$TOP/man/upgrade.1.in" || { echo "no $sh section" >&2; false; }
	done
	for code in 0 1 2 3 4 5 128+N; do
		grep -qx "\.B $code" "$TOP/man/upgrade.1.in" || { echo "exit code $code missing" >&2; false; }
	done
}

@test "the first hour's docs: README at most 250 lines; the man page's EXAMPLES and upgrade help run show run, --continue and --database; the man page names libpq and libarchive" {
	local lines
	lines=$(wc -l <"$TOP/README.md")
	((lines <= 250)) || { echo "README.md has $lines lines" >&2; false; }
	local man ex
	man=$(sed 's/\\-/-/g' "$TOP/man/upgrade.1.in")
	ex=$(sed -n '/^\.SH EXAMPLES/,/^\.SH /p' <<<"$man")
	grep -q '^upgrade run --target .* prod\.dump$' <<<"$ex"
	grep -q '^upgrade run --continue prod\.dump$' <<<"$ex"
	grep -q '^upgrade run --database prod ' <<<"$ex"
	sed -n '/^\.SH DESCRIPTION/,/^\.SH /p' <<<"$man" | grep -q 'libpq, libarchive'
	run --separate-stderr ubash 'upgrade help run'
	expect_status 0
	ex=$(sed -n '/^Examples:$/,/^$/p' <<<"$output")
	grep -q '^  upgrade run --target .* prod\.dump ' <<<"$ex"
	grep -q '^  upgrade run --continue prod\.dump ' <<<"$ex"
	grep -q '^  upgrade run --database prod ' <<<"$ex"
}

# make_suites VAR: the suites Makefile.am gives VAR (every definition of
# it, on one line).
make_suites() {
	sed -n "s/^$1 = //p" "$TOP/Makefile.am" | tr '\n' ' '
}

@test "the test commands agree: README's is make check (no instrumented pass), .ci/run runs it then make check-instrumented, HACKING says so" {
	# the README's two commands end with the test command, make check
	[[ $(sed -n '/^## Two commands/,/^## /p' "$TOP/README.md" | grep -v '^#' | sed -n '/^```bash/,/^```/p' | grep -v '^```' | tail -n 1) == "make check" ]]
	grep -q '`make check-instrumented`' "$TOP/README.md"
	grep -q '`make check`' "$TOP/HACKING.md"
	grep -q '`make check-instrumented`' "$TOP/HACKING.md"
	# make check: unit, emulator, the plain pass and fuzzing, no instrumented pass
	local check instrumented
	check=$(make_suites CHECK_SUITES)
	[[ " $check " == *" unit "* && " $check " == *" emulator "* && " $check " == *" e2e "* && " $check " == *" fuzz "* ]]
	[[ " $check " != *" e2e-sanitizers "* && " $check " != *" e2e-valgrind "* ]]
	instrumented=$(make_suites INSTRUMENTED_SUITES)
	[[ " $instrumented " == *" e2e-sanitizers "* && " $instrumented " == *" e2e-valgrind "* ]]
	grep -q '^check-instrumented:' "$TOP/Makefile.am"
	grep -q 'tests/run $(INSTRUMENTED_SUITES)$' "$TOP/Makefile.am"
	# .ci/run: make check, then make check-instrumented
	local order
	order=$(grep -oE '^make (check|check-instrumented) ' "$TOP/.ci/run" | tr -d '\n')
	[[ $order == "make check make check-instrumented " ]] || { echo ".ci/run runs: $order" >&2; false; }
}

@test "the version is written once: debian/changelog's upstream version is AC_INIT's" {
	local deb
	deb=$(sed -n '1s/^[^(]*(\([^)-]*\)-[^)]*).*/\1/p' "$TOP/debian/changelog")
	[[ -n $deb && $deb == "$(package_version)" ]] || {
		echo "debian/changelog has '$deb', configure.ac '$(package_version)'" >&2
		false
	}
}

@test "the licence is one: LICENSE is the GPL-3, debian/copyright says GPL-3.0-or-later, every source file carries its SPDX line" {
	cmp -s "$TOP/LICENSE" /usr/share/common-licenses/GPL-3 || { echo "LICENSE is not the GPL-3's text" >&2; false; }
	grep -qx 'License: GPL-3.0-or-later' "$TOP/debian/copyright" || { echo "debian/copyright names another licence" >&2; false; }
	git -C "$TOP" rev-parse --git-dir >/dev/null 2>&1 || skip "not a git checkout"
	local f missing=()
	while IFS= read -r f; do
		head -3 "$TOP/$f" | grep -q 'SPDX-License-Identifier: GPL-3.0-or-later' || missing+=("$f")
	done < <(git -C "$TOP" ls-files -- '*.c' '*.h' '*.py' '*.bash' '*.bats' '*.sh' '*.am' '*.ac')
	(( ${#missing[@]} == 0 )) || { printf 'no SPDX line: %s\n' "${missing[@]}" >&2; false; }
}

@test "make dist: the tarball holds every file of the tree and no build output" {
	release_only
	release_tarball
	local top=bash-upgrade-$(package_version) f missing=0
	tar -tzf "$TARBALL" | sed "s|^$top/||" | sort >"$BATS_FILE_TMPDIR/in-tarball"
	# every file of the tree (sources, tests, bench, docs, debian, man, .ci)
	while IFS= read -r f; do
		[[ $f == .gitignore ]] && continue
		grep -qxF -- "$f" "$BATS_FILE_TMPDIR/in-tarball" || { echo "missing from the tarball: $f" >&2; missing=1; }
	done <"$BATS_FILE_TMPDIR/files"
	# and none of what a build leaves behind
	while IFS= read -r f; do
		if awk -v f="$f" '$0 == f || index($0, f "/") == 1 { hit = 1 } END { exit !hit }' \
			"$BATS_FILE_TMPDIR/in-tarball"; then
			echo "build output in the tarball: $f" >&2
			missing=1
		fi
	done <"$BATS_FILE_TMPDIR/stray"
	[[ $missing == 0 ]]
	# what configure needs is there, so the tarball builds without autotools
	grep -qx configure "$BATS_FILE_TMPDIR/in-tarball"
	grep -qx Makefile.in "$BATS_FILE_TMPDIR/in-tarball"
}

@test "the Debian package: the builtin in /usr/lib/bash, completion, man page, README, library dependencies, what it recommends; no dpkg-shlibdeps warning; lintian has no error" {
	release_only
	command -v dpkg-buildpackage >/dev/null && command -v lintian >/dev/null ||
		skip "dpkg-dev or lintian is not installed"
	release_tarball
	local build=$BATS_FILE_TMPDIR/deb
	mkdir -p "$build"
	tar -C "$build" -xzf "$TARBALL"
	# nocheck: make check ran the unit tests already in this CI run
	(cd "$build"/bash-upgrade-* && DEB_BUILD_OPTIONS="nocheck parallel=$(nproc)" dpkg-buildpackage -us -uc -b) \
		>"$build/build.log" 2>&1 || { tail -n 40 "$build/build.log" >&2; false; }
	local deb
	deb=$(echo "$build"/bash-upgrade_*.deb)
	[[ -f $deb ]]
	dpkg-deb -c "$deb" | awk '{print $1, $NF}' >"$build/contents"
	grep -qx -- '-rw-r--r-- ./usr/lib/bash/upgrade' "$build/contents"
	grep -qx -- '-rw-r--r-- ./usr/share/bash-completion/completions/upgrade' "$build/contents"
	grep -qx -- '-rw-r--r-- ./usr/share/man/man1/upgrade.1.gz' "$build/contents"
	grep -qE -- '^-rw-r--r-- ./usr/share/doc/bash-upgrade/README\.md(\.gz)?$' "$build/contents"
	run grep -E '\.(la|so)$' "$build/contents"
	[[ $status == 1 ]] || { echo "libtool leftovers: $output" >&2; false; }
	# dh computed the libraries it needs
	local depends
	depends=$(dpkg-deb -f "$deb" Depends)
	[[ $depends == *libcurl4* && $depends == *libssh2-1* && $depends == *libjq1* && $depends == *libpq5* &&
		$depends == *libarchive13* && $depends == *bash* ]] || {
		echo "Depends: $depends" >&2
		false
	}
	# dump, restore and run --database need PostgreSQL's programs; the rpc
	# dialect rsync over ssh
	local recommends
	recommends=$(dpkg-deb -f "$deb" Recommends)
	[[ $recommends == *postgresql-client* && $recommends == *rsync* && $recommends == *openssh-client* ]] || {
		echo "Recommends: $recommends" >&2
		false
	}
	# a plugin's undefined bash symbols are expected, not warned about
	if grep -n 'dpkg-shlibdeps: warning' "$build/build.log" >&2; then
		false
	fi
	# the packaged module loads by name and knows its version
	dpkg-deb -x "$deb" "$build/root"
	run bash --norc -c 'BASH_LOADABLES_PATH=$1; enable -f upgrade upgrade && upgrade --version -q .version.upgrade -r' _ \
		"$build/root/usr/lib/bash"
	[[ $status == 0 && $output == "$(package_version)" ]] || { show; false; }
	run lintian --fail-on error "$build"/bash-upgrade_*.changes
	[[ $status == 0 ]] || { show; false; }
}
