#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Every test after the unit tests (which `make test` runs first).
set -u
bin=${1:?usage: run.sh BINARY}
export AGENTFENCE="$bin"
status=0
run() {
	echo "== $*"
	"$@" || { echo "FAILED: $*"; status=1; }
}
run sh tests/golden.sh "$bin"
run sh tests/bad.sh "$bin"
run sh tests/e2e.sh "$bin"
run sh tests/cli.sh "$bin"
run sh tests/fuzz/replay.sh "$bin"
run python3 -m unittest discover -s tests/diff -p 'test_*.py'
run python3 -m unittest discover -s tests -p 'test_*.py'
run python3 -m unittest discover -s tests/schemas -p 'test_*.py'
run python3 -m unittest discover -s tests/crd -p 'test_*.py'
run python3 -m unittest discover -s tests/tools -p 'test_*.py'
run python3 -m unittest discover -s tests/probe -p 'test_*.py'
run python3 -m unittest discover -s tests/pkg -p 'test_*.py'
[ -d tests/apiserver ] && run python3 -m unittest discover -s tests/apiserver -p 'test_*.py'
[ -d tests/apply ] && run python3 -m unittest discover -s tests/apply -p 'test_*.py'
[ $status -eq 0 ] && echo "ALL TESTS PASSED" || echo "SOME TESTS FAILED"
exit $status
