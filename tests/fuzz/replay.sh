#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Replay every saved fuzz input: tests/fuzz/corpus/T/ and every crash ever
# found (tests/fuzz/crashes/T/), through the replay driver of each target T
# built beside BINARY (make test-bins: BUILD/replay/T). A crash or a broken
# invariant fails the run.
set -u
bin=${1:?usage: replay.sh BINARY}
dir=$(dirname "$bin")/replay
fail=0 n=0
for t in tests/fuzz/fuzz_*.c; do
	t=$(basename "$t" .c)
	n=$((n + 1))
	if [ ! -x "$dir/$t" ]; then
		echo "FAIL $t: $dir/$t not built (make test-bins)"; fail=$((fail + 1)); continue
	fi
	set --
	for d in tests/fuzz/corpus/$t tests/fuzz/crashes/$t; do
		[ -d "$d" ] && set -- "$@" "$d"
	done
	[ $# -gt 0 ] || continue
	if ! "$dir/$t" "$@" >/dev/null; then
		echo "FAIL $t: replay of $* crashed or broke an invariant"; fail=$((fail + 1))
	fi
done
echo "fuzz replay: $n targets, $fail failed"
[ $fail -eq 0 ]
