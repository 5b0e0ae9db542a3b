#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Bad inputs: each file of tests/bad/ (a spec) and tests/bad-profile/ (a
# --cluster file) must be refused with exit 1, the exact message of its
# .err file, and nothing written: not on stdout, not in an -o folder.
# --update rewrites the .err files (review the diff!).
set -u
bin=${1:?usage: bad.sh BINARY [--update]}
update=${2:-}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0 n=0
for f in tests/bad/*.yaml tests/bad/*.json tests/bad-profile/*.yaml; do
	[ -f "$f" ] || continue
	case $f in *.profile.yaml) continue ;; esac
	n=$((n + 1))
	exp=${f%.*}.err
	case $f in
	tests/bad-profile/*) set -- --cluster "$f" examples/agents.yaml ;;
	*) set -- "$f" ;;
	esac
	# a case may bring its own cluster profile: NNN-name.profile.yaml
	[ -f "${f%.*}.profile.yaml" ] && set -- --cluster "${f%.*}.profile.yaml" "$@"
	$bin compile "$@" >"$tmp/stdout" 2>"$tmp/stderr"
	rc=$?
	if [ "$update" = --update ]; then
		cp "$tmp/stderr" "$exp"
	fi
	if [ $rc -ne 1 ]; then
		echo "FAIL $f: exit $rc, expected 1"; fail=$((fail + 1)); continue
	fi
	if [ -s "$tmp/stdout" ]; then
		echo "FAIL $f: wrote to stdout on error"; fail=$((fail + 1)); continue
	fi
	if ! diff -u "$exp" "$tmp/stderr"; then
		echo "FAIL $f: message differs from $exp"; fail=$((fail + 1)); continue
	fi
	# the same with -o: no folder, no file
	rm -rf "$tmp/out"
	$bin compile -o "$tmp/out" "$@" >/dev/null 2>&1
	rc=$?
	if [ $rc -ne 1 ] || [ -n "$(ls -A "$tmp/out" 2>/dev/null)" ]; then
		echo "FAIL $f: -o exit $rc or files written: $(ls -A "$tmp/out" 2>/dev/null)"
		fail=$((fail + 1))
	fi
done
echo "bad inputs: $n cases, $fail failed"
[ $fail -eq 0 ]
