#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Allocation-failure walk: BINARY is built with -DAF_FAILMALLOC (and ASan;
# make alloc builds build/failmalloc/agentfence). A full compile of
# examples/agents.yaml makes COUNT allocations (AGENTFENCE_FAIL_ALLOC=0
# prints it); for every N in 1..COUNT the Nth one fails, and the run must
# end cleanly: exit 1 with an error message and nothing written (stdout
# empty; an -o folder exactly as it was, no staging folder left), or exit 0
# with the complete, correct output when the failure was absorbed. Never a
# signal, never a sanitizer or leak report. Walked on: the YAML
# stream on stdout, an -o folder holding an older output, the same with
# two --cluster profiles and --layout flux (every folder), JSON on stdout,
# examples/eks.yaml with its --cluster profile, the probe init
# container's golden case (tests/golden/040-probe), `agentfence crd`, and
# `agentfence explain` under each enforcement (every 7th to 29th allocation).
set -u
bin=${1:?usage: alloc.sh BINARY}
export ASAN_OPTIONS=detect_leaks=1:exitcode=86 UBSAN_OPTIONS=halt_on_error=1:exitcode=87
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
ex=examples/agents.yaml
aex=$PWD/$ex
case $bin in /*) abin=$bin ;; *) abin=$PWD/$bin ;; esac
fail=0 runs=0 absorbed=0

count() {   # count ARGS...: the allocations of a clean run
	AGENTFENCE_FAIL_ALLOC=0 "$abin" "$@" 2>&1 >/dev/null | sed -n 's/^xalloc: \([0-9]*\) calls$/\1/p'
}
bad() { fail=$((fail + 1)); echo "FAIL N=$n $mode: $*"; sed 's/^/    /' "$tmp/e" | head -20; }

# common checks of one run: no signal, no sanitizer, an error message on exit 1
verdict() {   # verdict RC
	rc=$1
	runs=$((runs + 1))
	if [ "$rc" -ge 128 ] || [ "$rc" -eq 86 ] || [ "$rc" -eq 87 ] ||
	   grep -q -e 'Sanitizer' -e 'runtime error' "$tmp/e"; then
		bad "exit $rc (crash or sanitizer report)"; return 1
	fi
	if [ "$rc" -ne 0 ] && [ "$rc" -ne 1 ]; then
		bad "exit $rc, expected 0 or 1"; return 1
	fi
	if [ "$rc" -eq 1 ] && ! grep -q 'error' "$tmp/e"; then
		bad "exit 1 without an error message"; return 1
	fi
	[ "$rc" -eq 0 ] && absorbed=$((absorbed + 1))
	return 0
}

cmd=compile
walk_stdout() {   # walk_stdout MODE SPEC ARGS...: $cmd (compile) ARGS... SPEC
	mode=$1 spec=$2
	shift 2
	"$bin" $cmd "$@" $spec >"$tmp/want" 2>"$tmp/e" || { bad "clean run failed"; return; }
	total=$(count $cmd "$@" $spec)
	[ -n "$total" ] && [ "$total" -gt 0 ] || { echo "FAIL $mode: no allocation count"; fail=$((fail + 1)); return; }
	n=1
	while [ $n -le "$total" ]; do
		AGENTFENCE_FAIL_ALLOC=$n "$bin" $cmd "$@" $spec >"$tmp/o" 2>"$tmp/e"
		if verdict $?; then
			if [ "$rc" -eq 1 ] && [ -s "$tmp/o" ]; then
				bad "exit 1 but wrote to stdout"
			elif [ "$rc" -eq 0 ] && ! cmp -s "$tmp/want" "$tmp/o"; then
				bad "exit 0 with output that differs from a clean run"
			fi
		fi
		n=$((n + ${step:-1}))
	done
	if [ "${step:-1}" -gt 1 ]; then
		echo "alloc: $mode: every ${step}th of $total allocations walked"
	else
		echo "alloc: $mode: $total allocations walked"
	fi
}

walk_dir() {   # walk_dir MODE ARGS...: compile ARGS -o out, run in $tmp (flux needs a relative -o)
	mode=$1
	shift
	# the folder holds an older output: three of the four agents, one changed
	awk 'BEGIN{RS="---\n"; ORS="---\n"} NR<=3' $ex | sed '$d' | sed 's/500m/250m/' >"$tmp/old.yaml"
	rm -rf "$tmp/old" "$tmp/new" "$tmp/count"
	(cd "$tmp" && "$abin" compile "$@" -o old old.yaml) 2>"$tmp/e" || { bad "old output"; return; }
	(cd "$tmp" && "$abin" compile "$@" -o new "$aex") 2>"$tmp/e" || { bad "clean run failed"; return; }
	total=$(cd "$tmp" && count compile "$@" -o count "$aex")
	[ -n "$total" ] && [ "$total" -gt 0 ] || { echo "FAIL $mode: no allocation count"; fail=$((fail + 1)); return; }
	n=1
	while [ $n -le "$total" ]; do
		rm -rf "$tmp/out"
		cp -a "$tmp/old" "$tmp/out"
		(cd "$tmp" && AGENTFENCE_FAIL_ALLOC=$n "$abin" compile "$@" -o out "$aex") >"$tmp/o" 2>"$tmp/e"
		if verdict $?; then
			if [ "$rc" -eq 1 ] && ! diff -r "$tmp/old" "$tmp/out" >/dev/null; then
				bad "exit 1 but the folder changed: $(diff -rq "$tmp/old" "$tmp/out" | head -3)"
			elif [ "$rc" -eq 0 ] && ! diff -r "$tmp/new" "$tmp/out" >/dev/null; then
				bad "exit 0 but the folder is not the new output: $(diff -rq "$tmp/new" "$tmp/out" | head -3)"
			elif [ -s "$tmp/o" ]; then
				bad "wrote to stdout with -o"
			fi
		fi
		n=$((n + 1))
	done
	echo "alloc: $mode: $total allocations walked"
}

walk_stdout yaml $ex
walk_dir -o
# several profiles, flux layout: one folder per profile, each with policies/ and pods/
walk_dir "-o, flux, two profiles" --layout flux --cluster "$PWD/examples/profile-eks.yaml" \
	--cluster "$PWD/examples/profile-gke.yaml"
walk_stdout json $ex --format json
walk_stdout profile examples/eks.yaml --cluster examples/profile-eks.yaml
walk_stdout probe tests/golden/040-probe.yaml --cluster tests/golden/040-probe.profile.yaml \
	--templates tests/golden/040-probe.templates
# agentfence crd: the embedded schemas parsed and converted (no SPEC)
cmd=crd walk_stdout crd ""
# explain: the evaluator's summaries and --at (every 7th allocation: a full
# walk of these runs is about 15,000 runs)
cmd=explain step=7 walk_stdout "explain, json" $ex --format json
cmd=explain step=7 walk_stdout "explain --at" $ex --at 169.254.169.254:80
# the Cilium and ClusterNetworkPolicy evaluators (about 13,000 and 34,000
# allocations: every 11th and every 29th)
cmd=explain step=11 walk_stdout "explain, cilium" examples/cilium.yaml --format json \
	--cluster examples/profile-cilium.yaml
cmd=explain step=29 walk_stdout "explain, clusternetworkpolicy" examples/clusternetworkpolicy.yaml \
	--format json --cluster examples/profile-clusternetworkpolicy.yaml
echo "alloc: $runs runs, $absorbed absorbed (exit 0, complete output), $fail failed"
[ $fail -eq 0 ]
