#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Output folder safety (compile -o DIR), the slow part: run by `make safety`.
#
# kill -9: DIR holds the output of an older run; a compile of AGENTS agents
# (20,000 by default, some added, some removed, every one changed) is killed
# at several moments: while it stages files, and while it moves them in.
# After each kill DIR must hold, for every agent, its whole old file or its
# whole new one, and a kustomization.yaml that is the old or the new one
# and lists only files that exist. The next run must then succeed and leave
# exactly the new output (nothing stale, no staging folder).
#
# A second run while one holds DIR is refused and changes nothing.
#
# Full disk: DIR on a 256 KiB tmpfs (when mount is permitted: root, or
# skipped): a run that cannot write must exit 1 and leave DIR as it was.
set -u
bin=${1:?usage: outdir.sh BINARY}
agents=${AGENTS:-20000}
tmp=$(mktemp -d)
cleanup() {
	mountpoint -q "$tmp/full" 2>/dev/null && umount "$tmp/full"
	rm -rf "$tmp"
}
trap cleanup EXIT
fail=0 n=0
bad() { fail=$((fail + 1)); echo "FAIL: $*"; }

python3 - "$tmp" "$agents" <<'PY'
import sys
tmp, n = sys.argv[1], int(sys.argv[2])
def gen(path, image, skip):
    with open(path, "w") as f:
        for i in range(n):
            if i % skip == 0:
                continue
            f.write("---\napiVersion: agentfence.dev/v1alpha1\nkind: AgentIsolation\n"
                    "metadata: {name: job-%05d, namespace: agents}\nspec:\n  image: %s\n"
                    "  egress: {mode: %s}\n" % (i, image, ("public", "none")[i % 2]))
gen(tmp + "/old.yaml", "ghcr.io/acme/agent:1", 7)
gen(tmp + "/new.yaml", "ghcr.io/acme/agent:2", 11)
PY
"$bin" compile -o "$tmp/ref-old" "$tmp/old.yaml" || { echo "FAIL: old output"; exit 1; }
start=$(date +%s%N)
"$bin" compile -o "$tmp/ref-new" "$tmp/new.yaml" || { echo "FAIL: new output"; exit 1; }
full_ms=$(( ($(date +%s%N) - start) / 1000000 ))
echo "outdir: $agents agents, a clean run takes ${full_ms} ms"

# check DIR after a kill: every file whole (old or new), the list consistent
check_dir() {   # check_dir DIR WHAT
	python3 - "$1" "$tmp/ref-old" "$tmp/ref-new" "$2" <<'PY'
import os, sys
d, old, new, what = sys.argv[1:]
def read(p):
    try:
        with open(p, "rb") as f:
            return f.read()
    except FileNotFoundError:
        return None
errors = []
k = read(os.path.join(d, "kustomization.yaml"))
if k not in (read(os.path.join(old, "kustomization.yaml")), read(os.path.join(new, "kustomization.yaml"))):
    errors.append("kustomization.yaml is neither the old nor the new one")
else:
    listed = [l[2:] for l in k.decode().splitlines() if l.startswith("- ")]
    missing = [f for f in listed if not os.path.exists(os.path.join(d, f))]
    if missing:
        errors.append("kustomization.yaml lists %d missing files, e.g. %s" % (len(missing), missing[0]))
for f in os.listdir(d):
    if f.startswith(".") or f == "kustomization.yaml":
        continue
    got = read(os.path.join(d, f))
    if got not in (read(os.path.join(old, f)), read(os.path.join(new, f))):
        errors.append("%s is neither its old nor its new version" % f)
        break
if errors:
    print("FAIL %s: %s" % (what, "; ".join(errors)))
    sys.exit(1)
PY
}

trial() {   # trial WHAT WAIT-COMMAND
	what=$1
	n=$((n + 1))
	rm -rf "$tmp/out"
	cp -a "$tmp/ref-old" "$tmp/out"
	"$bin" compile -o "$tmp/out" "$tmp/new.yaml" >/dev/null 2>&1 &
	pid=$!
	eval "$2"
	kill -9 $pid 2>/dev/null
	wait $pid 2>/dev/null
	check_dir "$tmp/out" "$what" || fail=$((fail + 1))
	# the next run recovers: exactly the new output, nothing left behind
	if ! "$bin" compile -o "$tmp/out" "$tmp/new.yaml" 2>"$tmp/err"; then
		bad "$what: the run after the kill failed: $(head -3 "$tmp/err")"
	elif ! diff -r "$tmp/ref-new" "$tmp/out" >/dev/null || [ -n "$(ls -A "$tmp/out" | grep '^\.')" ]; then
		bad "$what: the run after the kill did not leave exactly the new output"
	fi
}

# the commit starts once the list (and the journal) are staged: poll for them
staged() {
	for f in "$tmp"/out/.agentfence-*/agentfence-owned "$tmp"/out/.agentfence-*/kustomization.yaml; do
		[ -e "$f" ] && return 0
	done
	return 1
}
in_commit() {   # in_commit EXTRA-SLEEP
	i=0
	while [ $i -lt 3000 ] && ! staged; do
		kill -0 $pid 2>/dev/null || return
		sleep 0.01
		i=$((i + 1))
	done
	sleep "$1"
}

for pct in 5 25 50 75; do
	trial "kill at ${pct}% of a run" "sleep $(awk "BEGIN{print $full_ms * $pct / 100000}")"
done
for extra in 0 0.02 0.05 0.1 0.2; do
	trial "kill ${extra}s into the commit" "in_commit $extra"
done

# one run at a time: a second one, while the first holds DIR, is refused
n=$((n + 1))
cp -a "$tmp/ref-old" "$tmp/busy"
flock "$tmp/busy" sleep 3 &
lock=$!
sleep 0.5
"$bin" compile -o "$tmp/busy" "$tmp/new.yaml" >/dev/null 2>"$tmp/err"
rc=$?
wait $lock
[ $rc -eq 1 ] && grep -q "another agentfence run is writing this folder" "$tmp/err" ||
	bad "a second run on a held folder: exit $rc: $(head -2 "$tmp/err")"
diff -r "$tmp/ref-old" "$tmp/busy" >/dev/null || bad "a refused run changed the folder"

# a full disk
mkdir "$tmp/full"
if mount -t tmpfs -o size=256k tmpfs "$tmp/full" 2>/dev/null; then
	n=$((n + 1))
	"$bin" compile -o "$tmp/full/out" examples/agents.yaml 2>/dev/null || bad "full disk: the first output did not fit"
	cp -a "$tmp/full/out" "$tmp/full-before"
	# fill the disk, then write more than is left
	head -c 1000000 /dev/zero >"$tmp/full/filler" 2>/dev/null
	"$bin" compile -o "$tmp/full/out" "$tmp/new.yaml" >/dev/null 2>"$tmp/err"
	rc=$?
	[ $rc -eq 1 ] || bad "full disk: exit $rc, expected 1"
	grep -q "No space left on device" "$tmp/err" || bad "full disk: no message: $(head -2 "$tmp/err")"
	diff -r "$tmp/full-before" "$tmp/full/out" >/dev/null || bad "full disk: the folder changed"
	[ -z "$(ls -A "$tmp/full/out" | grep '^\.')" ] || bad "full disk: a staging folder was left"
	umount "$tmp/full"
else
	echo "outdir: cannot mount a tmpfs (not root?): full-disk test skipped"
fi
echo "outdir: $n checks, $fail failed"
[ $fail -eq 0 ]
