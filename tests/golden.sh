#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Golden tests: tests/golden/NNN-name.yaml compiled (with NNN-name.profile
# when present, and NNN-name.templates/ as --templates) must give
# NNN-name.out byte for byte; examples/NAME.yaml (with examples/profile-NAME.yaml)
# gives tests/golden/examples/NAME.out. --update rewrites the expected files.
set -u
bin=${1:?usage: golden.sh BINARY [--update]}
update=${2:-}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0 n=0
check() {   # check INPUT EXPECTED [ARGS...]
	in=$1 exp=$2
	shift 2
	n=$((n + 1))
	if ! $bin compile "$@" "$in" >"$tmp/out" 2>"$tmp/err"; then
		echo "FAIL $in: compile failed:"; cat "$tmp/err"; fail=$((fail + 1)); return
	fi
	if [ "$update" = --update ]; then
		mkdir -p "$(dirname "$exp")"
		cp "$tmp/out" "$exp"
	fi
	if ! diff -u "$exp" "$tmp/out"; then
		echo "FAIL $in: output differs from $exp"; fail=$((fail + 1))
	fi
}
for f in tests/golden/*.yaml; do
	[ -f "$f" ] || continue
	case $f in *.profile.yaml) continue ;; esac
	b=${f%.yaml}
	set --
	[ -f "$b.profile.yaml" ] && set -- --cluster "$b.profile.yaml"
	[ -d "$b.templates" ] && set -- "$@" --templates "$b.templates"
	check "$f" "$b.out" "$@"
done
for f in examples/*.yaml; do
	case $f in examples/profile-*) continue ;; esac
	name=$(basename "$f" .yaml)
	set --
	[ -f "examples/profile-$name.yaml" ] && set -- --cluster "examples/profile-$name.yaml"
	check "$f" "tests/golden/examples/$name.out" "$@"
	check "$f" "tests/golden/examples/$name.json" --format json "$@"
done
echo "golden: $n cases, $fail failed"
[ $fail -eq 0 ]
