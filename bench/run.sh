#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# bench/run.sh BINARY: the agentfence benchmark (`make bench`).
#
# bash, not POSIX sh: it needs $EPOCHREALTIME (a microsecond clock without
# a fork) and arrays. `make bench` starts it with sh, so it re-executes
# itself under bash first.
#
# For 1, 1,000, 10,000 and 100,000 agents (inputs from bench/gen.py, cached
# in BUILD/bench/) it runs, in rounds, each under /usr/bin/time for the
# peak RSS (BINARY is copied to BUILD/bench/agentfence-under-test first, so
# a rebuild during the run cannot mix two versions):
#   floor    BUILD/bench/floor FILE           libyaml's event parser alone
#   stdout   BINARY compile FILE >/dev/null
#   outdir   BINARY compile -o DIR FILE       DIR up to date (a rewrite)
#   check    BINARY check -o DIR FILE
#   peer     python3 bench/peer.py FILE       PyYAML + ipaddress + Jinja2
# then bench/report.py prints the medians, ratios and targets (also in
# BUILD/bench/results.md), after the cold one-agent start (bench/cold.py).
#
# Environment:
#   BENCH_SIZES       agent counts (default "1 1000 10000 100000")
#   BENCH_ROUNDS      rounds per size (default 5; 3 from 100,000 agents)
#   BENCH_PEER_MAX    largest size the peer runs at (default 10000: the
#                     peer takes minutes at 100,000)
#   BENCH_COLD_RUNS   runs of the cold-start median (default 50)
#   BENCH_OUTDIR_BASE where the -o folders go (default: a fresh folder in
#                     /dev/shm when it has 2 GiB free, else BUILD/bench;
#                     set it to BUILD/bench to include the disk)
#   BENCH_SKIP_SANITY 1: skip bench/test_peer.py (peer == agentfence)
#   BENCH_APPLY       0: skip the apply benchmark (bench/apply.py: agentfence
#                     apply against kubectl apply --server-side, new and
#                     unchanged, on the test API server)
#   BENCH_APPLY_N     its agent count (default 1000); BENCH_APPLY_ROUNDS its rounds
#   BENCH_AUDIT       0: skip the audit benchmark (bench/audit.py: agentfence
#                     audit of N agent Pods and N NetworkPolicies on the test
#                     API server: wall time, CPU, peak RSS, the server's share)
#   BENCH_AUDIT_N     its agent count (default 10000); BENCH_AUDIT_ROUNDS its rounds
# Exit status: 0 whatever the numbers; 1 when something fails to run. A
# peer that no longer produces agentfence's objects is not run (its
# numbers would compare different work), and the report says so.
if [ -z "${BASH_VERSION:-}" ]; then
	exec bash "$0" "$@"
fi
set -euo pipefail
export LC_ALL=C

[ $# -eq 1 ] || { echo "usage: bench/run.sh BINARY" >&2; exit 2; }
[ -x "$1" ] || { echo "bench: $1: no such program (run make first)" >&2; exit 1; }
build=$(cd "$(dirname "$1")" && pwd)
here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
out=$build/bench
floor=$out/floor
mkdir -p "$out"
# measure a copy: a rebuild during the run must not mix two versions
bin=$out/agentfence-under-test
cp "$1" "$bin"
sizes=${BENCH_SIZES:-1 1000 10000 100000}
peer_max=${BENCH_PEER_MAX:-10000}
cold_runs=${BENCH_COLD_RUNS:-50}
# the -o folders: on a tmpfs when there is one with room (2 GiB), so a slow
# disk's writeback neither decides the -o numbers nor leaks into the others
if [ -n "${BENCH_OUTDIR_BASE:-}" ]; then
	outdirs=$BENCH_OUTDIR_BASE
elif [ -w /dev/shm ] && [ "$(df -Pk /dev/shm | awk 'NR == 2 { print $4 }')" -gt 2097152 ]; then
	outdirs=/dev/shm/agentfence-bench.$$
	trap 'rm -rf "$outdirs"' EXIT
else
	outdirs=$out
fi
mkdir -p "$outdirs"

# --- tools: GNU time (package `time`), the floor
if [ ! -x /usr/bin/time ]; then
	if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
		echo "bench: installing GNU time"
		DEBIAN_FRONTEND=noninteractive apt-get install -y -q time >/dev/null ||
			{ apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q time >/dev/null; }
	fi
	[ -x /usr/bin/time ] || { echo "bench: needs /usr/bin/time: apt-get install time" >&2; exit 1; }
fi
make -s --no-print-directory -C "$root" BUILD="$build" "$floor"

# --- the machine
{
	echo "- machine: $(nproc) CPUs, $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1), Linux $(uname -r)"
	echo "- agentfence: $("$bin" --version), $1 (sha256 $(sha256sum < "$bin" | cut -c1-12))"
	echo "- peer: Python $(python3 -c 'import sys, yaml, jinja2; print(sys.version.split()[0], "PyYAML", yaml.__version__, "(libyaml: %s)" % yaml.__with_libyaml__, "Jinja2", jinja2.__version__)')"
	echo "- -o folders in: $outdirs ($(stat -f -c %T "$outdirs"))"
	echo "- load average at start: $(cut -d" " -f1-3 /proc/loadavg) (other work on the machine skews the numbers)"
	echo "- date: $(date -u '+%Y-%m-%d %H:%M UTC')"
} > "$out/machine.txt"
cat "$out/machine.txt"
echo

# --- inputs (regenerated when gen.py changes)
: > "$out/inputs.tsv"
for n in $sizes; do
	f=$out/agents-$n.yaml
	if [ ! -s "$f" ] || [ "$here/gen.py" -nt "$f" ]; then
		echo "bench: generating $n agents"
		python3 "$here/gen.py" "$n" > "$f.tmp" && mv "$f.tmp" "$f"
	fi
	printf '%s\t%s\n' "$n" "$(wc -c < "$f")" >> "$out/inputs.tsv"
done

# --- sanity: the peer must produce agentfence's objects, or the race means nothing
if [ "${BENCH_SKIP_SANITY:-0}" != 1 ]; then
	if python3 "$here/test_peer.py" "$bin" 100 > "$out/test_peer.log" 2>&1; then
		echo "bench: peer sanity check: same objects as agentfence ($(grep -c '^ok' "$out/test_peer.log") cases)"
	else
		tail -n 20 "$out/test_peer.log"
		echo "bench: the peer no longer matches agentfence (bench/test_peer.py, the log in" \
		     "$out/test_peer.log): it does not do the same work, so it is not run and its" \
		     "numbers are left out; fix one of them" >&2
		peer_max=-1
	fi
fi

# measure SIZE NAME ROUND CMD...: one timed run, appended to samples.tsv
samples=$out/samples.tsv
: > "$samples"
measure() {
	local size=$1 name=$2 round=$3 t0 t1 kib
	shift 3
	t0=${EPOCHREALTIME/./}
	if ! /usr/bin/time -f '%e %M' -o "$out/time.txt" "$@" > /dev/null 2> "$out/stderr.txt"; then
		echo "bench: $name failed at $size agents: $*" >&2
		cat "$out/stderr.txt" "$out/time.txt" >&2
		exit 1
	fi
	t1=${EPOCHREALTIME/./}
	read -r _ kib < "$out/time.txt"   # %e (10 ms steps) unused: the stopwatch is finer
	printf '%s\t%s\t%s\t%s\t%s\n' "$size" "$name" "$round" "$((t1 - t0))" "$kib" >> "$samples"
}

# --- the rounds: every command once per round, the order rotating
for n in $sizes; do
	f=$out/agents-$n.yaml
	dir=$outdirs/out-$n
	rounds=${BENCH_ROUNDS:-$([ "$n" -ge 100000 ] && echo 3 || echo 5)}
	names=(floor stdout outdir check)
	if [ "$n" -le "$peer_max" ]; then names+=(peer); fi
	declare -A cmd=(
		[floor]="$floor $f"
		[stdout]="$bin compile $f"
		[outdir]="$bin compile -o $dir $f"
		[check]="$bin check -o $dir $f"
		[peer]="python3 $here/peer.py $f"
	)
	echo "bench: $n agents, $rounds rounds: ${names[*]}"
	# warm-up, not timed: page cache, and DIR written once so -o is a rewrite
	rm -rf "$dir"
	for c in floor stdout outdir check; do
		${cmd[$c]} > /dev/null
	done
	if [ "$n" -le 1000 ] && [ "$n" -le "$peer_max" ]; then ${cmd[peer]} > /dev/null; fi
	for ((r = 0; r < rounds; r++)); do
		for ((i = 0; i < ${#names[@]}; i++)); do
			c=${names[(i + r) % ${#names[@]}]}
			# shellcheck disable=SC2086 # the command is words, paths without spaces
			measure "$n" "$c" "$r" ${cmd[$c]}
			# written data goes out now, untimed, not during the next command
			if [ "$c" = outdir ]; then sync; fi
		done
	done
	rm -rf "$dir"
done

# --- cold start: one agent, fresh processes
one=$out/agents-1.yaml
[ -s "$one" ] || python3 "$here/gen.py" 1 > "$one"
echo "bench: cold start, $cold_runs runs each"
{
	printf 'true\t%s\n' "$(python3 "$here/cold.py" "$cold_runs" /bin/true)"
	printf 'floor\t%s\n' "$(python3 "$here/cold.py" "$cold_runs" "$floor" "$one")"
	printf 'stdout\t%s\n' "$(python3 "$here/cold.py" "$cold_runs" "$bin" compile "$one")"
	if [ "$peer_max" -ge 1 ]; then
		printf 'peer\t%s\n' "$(python3 "$here/cold.py" "$((cold_runs < 20 ? cold_runs : 20))" python3 "$here/peer.py" "$one")"
	fi
} > "$out/cold.tsv"

echo
python3 "$here/report.py" "$out"
echo "bench: wrote $out/results.md (raw runs: $samples)"

# --- apply to the test API server, against kubectl apply --server-side
if [ "${BENCH_APPLY:-1}" != 0 ]; then
	echo
	echo "bench: apply of ${BENCH_APPLY_N:-1000} agents, new and unchanged (bench/apply.py)"
	python3 "$here/apply.py" "$bin" "$out" "${BENCH_APPLY_N:-1000}"
	echo "bench: wrote $out/apply-results.md"
fi

# --- audit of a large cluster on the test API server
if [ "${BENCH_AUDIT:-1}" != 0 ]; then
	echo
	echo "bench: audit of ${BENCH_AUDIT_N:-10000} agent Pods and NetworkPolicies (bench/audit.py)"
	python3 "$here/audit.py" "$bin" "$out" "${BENCH_AUDIT_N:-10000}"
	echo "bench: wrote $out/audit-results.md"
fi
