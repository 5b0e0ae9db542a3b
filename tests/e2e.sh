#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# End-to-end tests of the binary: the command line contract, -o DIR
# ownership and staging, check (drift), stdin, templates, determinism.
# AGENTFENCE_WRAP (e.g. valgrind) prefixes every run.
set -u
bin=${1:?usage: e2e.sh BINARY}
af() { ${AGENTFENCE_WRAP:-} "$bin" "$@"; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0 n=0
ok() { n=$((n + 1)); }
bad() { n=$((n + 1)); fail=$((fail + 1)); echo "FAIL: $*"; }
expect_rc() {   # expect_rc RC DESCRIPTION -- command...
	want=$1 what=$2
	shift 3
	"$@" >"$tmp/o" 2>"$tmp/e"
	got=$?
	if [ "$got" -eq "$want" ]; then ok; else bad "$what: exit $got, expected $want"; cat "$tmp/e"; fi
}
grep_err() {   # grep_err PATTERN DESCRIPTION
	if grep -q -- "$1" "$tmp/e"; then ok; else bad "$2: stderr lacks '$1'"; cat "$tmp/e"; fi
}
ex=examples/agents.yaml

# --- command line ---
expect_rc 0 "--help" -- af --help
grep -q "exit codes" "$tmp/o" && ok || bad "--help lists exit codes"
expect_rc 0 "--version" -- af --version
grep -q "^agentfence [0-9]" "$tmp/o" && ok || bad "--version prints the version"
expect_rc 2 "no command" -- af
expect_rc 2 "unknown command" -- af frobnicate $ex
grep_err 'unknown command "frobnicate"' "unknown command"
expect_rc 2 "unknown option" -- af compile --bogus $ex
grep_err "unknown option --bogus" "unknown option"
expect_rc 2 "no spec" -- af compile
expect_rc 2 "check without -o" -- af check $ex
expect_rc 2 "bad format" -- af compile --format xml $ex
expect_rc 2 "option without value" -- af compile $ex -o
expect_rc 1 "missing file" -- af compile "$tmp/nope.yaml"
grep_err "nope.yaml: error: cannot open" "missing file message"
expect_rc 1 "a folder as spec" -- af compile examples
expect_rc 1 "missing profile" -- af compile --cluster "$tmp/nope.yaml" $ex

# --- validate writes nothing, compile writes the stream ---
expect_rc 0 "validate" -- af validate $ex
[ -s "$tmp/o" ] && bad "validate wrote output" || ok
expect_rc 0 "compile" -- af compile $ex
[ "$(grep -c '^---$' "$tmp/o")" -eq 10 ] && ok || bad "compile: 10 objects expected (9 + the namespace ServiceAccount)"
cp "$tmp/o" "$tmp/first"
af compile $ex >"$tmp/second"
cmp -s "$tmp/first" "$tmp/second" && ok || bad "compile is not deterministic"
af compile - <$ex >"$tmp/stdin" 2>/dev/null
cmp -s "$tmp/first" "$tmp/stdin" && ok || bad "stdin input gives different output"
printf 'x: [' | af compile - >"$tmp/o" 2>"$tmp/e"
[ $? -eq 1 ] && ok || bad "bad stdin exit code"
grep_err "^<stdin>:" "stdin diagnostics are named <stdin>"
# several files, an empty document and comments only
printf '# nothing here\n---\n' >"$tmp/empty.yaml"
expect_rc 0 "empty documents" -- af compile "$tmp/empty.yaml" $ex
# an error in a later file: nothing written at all
sed 's/job-7f3a/job-bad_/' $ex >"$tmp/later.yaml"
expect_rc 1 "error in second file" -- af compile $ex "$tmp/later.yaml"
[ -s "$tmp/o" ] && bad "output written despite an error" || ok
# stdout to a regular file: written as it goes, taken back on error
python3 -c '
import sys
for i in range(3000):
    print("---\napiVersion: agentfence.dev/v1alpha1\nkind: AgentIsolation\nmetadata: {name: big-%d, namespace: agents}\nspec:\n  image: a\n  egress: {mode: public}" % i)
' >"$tmp/big.yaml"
echo "old content" >"$tmp/out.file"
af compile "$tmp/big.yaml" "$tmp/later.yaml" >>"$tmp/out.file" 2>/dev/null
[ $? -eq 1 ] && ok || bad "large run with a late error: exit code"
[ "$(cat "$tmp/out.file")" = "old content" ] && ok || bad "a failed run left output in the stdout file ($(wc -c <"$tmp/out.file") bytes)"
af compile "$tmp/big.yaml" >"$tmp/out.file" 2>/dev/null && ok || bad "large run to a file"
af compile "$tmp/big.yaml" | cmp -s - "$tmp/out.file" && ok || bad "file and pipe output differ"
af compile "$tmp/big.yaml" "$tmp/later.yaml" 2>/dev/null | wc -c >"$tmp/n"
[ "$(cat "$tmp/n")" -eq 0 ] && ok || bad "a failed run wrote to a pipe"
# the same agents in two files: duplicates across files
expect_rc 1 "duplicates across files" -- af compile $ex $ex
grep_err "duplicate agent agents/job-7f3a (first defined at examples/agents.yaml:3)" "duplicate message"

# --- -o DIR ---
out=$tmp/out
expect_rc 0 "compile -o" -- af compile -o "$out" $ex
[ -f "$out/kustomization.yaml" ] && [ -f "$out/agents.job-7f3a.yaml" ] && ok || bad "-o files"
[ "$(ls "$out" | wc -l)" -eq 6 ] && ok || bad "-o: 4 agents, the namespace guard + kustomization.yaml expected: $(ls -A "$out")"
[ -z "$(ls -A "$out" | grep '^\.')" ] && ok || bad "-o left a staging folder"
expect_rc 0 "check fresh output" -- af check -o "$out" $ex
echo "# edited" >>"$out/agents.job-8c21.yaml"
expect_rc 1 "check edited file" -- af check -o "$out" $ex
grep_err "agents.job-8c21.yaml: error: stale" "check names the stale file"
expect_rc 0 "recompile repairs" -- af compile -o "$out" $ex
expect_rc 0 "check after repair" -- af check -o "$out" $ex
rm "$out/agents.job-91d0.yaml"
expect_rc 1 "check missing file" -- af check -o "$out" $ex
grep_err "agents.job-91d0.yaml: error: missing" "check names the missing file"
af compile -o "$out" $ex 2>/dev/null
# a re-run leaves unchanged files alone and replaces changed ones
ino_same=$(stat -c %i "$out/agents.job-7f3a.yaml")
ino_edit=$(stat -c %i "$out/agents.job-8c21.yaml")
echo "# edited" >>"$out/agents.job-8c21.yaml"
expect_rc 0 "re-run over a current folder" -- af compile -o "$out" $ex
[ "$(stat -c %i "$out/agents.job-7f3a.yaml")" = "$ino_same" ] && ok || bad "an unchanged file was rewritten"
[ "$(stat -c %i "$out/agents.job-8c21.yaml")" != "$ino_edit" ] && ok || bad "an edited file was not replaced"
expect_rc 0 "check after re-run" -- af check -o "$out" $ex
# an agent removed from the input: its file goes, others' files stay
awk 'BEGIN{RS="---\n"; ORS="---\n"} NR<=3' $ex | sed '$d' >"$tmp/three.yaml"
echo "keep me" >"$out/notes.txt"
expect_rc 0 "compile fewer agents" -- af compile -o "$out" "$tmp/three.yaml"
[ ! -f "$out/agents.job-a002.yaml" ] && ok || bad "stale agent file not removed"
[ -f "$out/notes.txt" ] && ok || bad "a file agentfence does not own was removed"
expect_rc 1 "check with more agents" -- af check -o "$out" $ex
# a failed run leaves the old output untouched
cp -r "$out" "$tmp/before"
expect_rc 1 "failed run" -- af compile -o "$out" $ex "$tmp/later.yaml"
diff -r "$tmp/before" "$out" >/dev/null && ok || bad "a failed run changed the output folder"
# refuse to replace what agentfence did not write
mkdir "$tmp/foreign"
echo "resources: [mine.yaml]" >"$tmp/foreign/kustomization.yaml"
expect_rc 1 "foreign kustomization" -- af compile -o "$tmp/foreign" $ex
grep_err "was not written by agentfence" "foreign kustomization message"
mkdir "$tmp/foreign2"
echo "hand-written" >"$tmp/foreign2/agents.job-7f3a.yaml"
expect_rc 1 "foreign agent file" -- af compile -o "$tmp/foreign2" $ex
grep -q hand-written "$tmp/foreign2/agents.job-7f3a.yaml" && ok || bad "foreign file replaced"
expect_rc 1 "check a missing folder" -- af check -o "$tmp/none" $ex
# JSON folders
expect_rc 0 "compile -o json" -- af compile --format json -o "$tmp/json" $ex
python3 -c "import json,sys; [json.load(open(f)) for f in sys.argv[1:]]" "$tmp"/json/*.json && ok || bad "json files parse"
if command -v kubectl >/dev/null; then
	expect_rc 0 "kustomize builds the json folder" -- kubectl kustomize "$tmp/json"
	[ "$(grep -c '^kind: ' "$tmp/o")" -ge 9 ] && ok || bad "kustomize json: objects missing"
fi

# --- templates ---
mkdir "$tmp/tpl"
printf 'apiVersion: v1\nkind: Pod\nspec:\n  hostNetwork: true\n' >"$tmp/tpl/pod.yaml"
expect_rc 1 "template with hostNetwork" -- af compile --templates "$tmp/tpl" $ex
grep_err "pod.yaml:4:16: error: spec.hostNetwork: a template may only set this to false" "hostNetwork message"
printf 'apiVersion: v1\nkind: Pod\nspec:\n  automountServiceAccountToken: true\n  containers:\n  - name: agent\n    securityContext:\n      privileged: true\n' >"$tmp/tpl/pod.yaml"
expect_rc 1 "template with a token and privileged" -- af compile --templates "$tmp/tpl" $ex
grep_err "spec.automountServiceAccountToken: a template may only set this to false" "token message"
grep_err "spec.containers\[0\].securityContext.privileged" "privileged message"
printf 'apiVersion: v1\nkind: Pod\nspec:\n  volumes:\n  - name: h\n    hostPath: {path: /}\n' >"$tmp/tpl/pod.yaml"
expect_rc 1 "template with a hostPath volume" -- af compile --templates "$tmp/tpl" $ex
grep_err "spec.volumes: not allowed in a template" "volumes message"
# init and ephemeral containers would run in the agent's network namespace
# outside agentfence's hardening (the probe is the compiler's own)
printf 'apiVersion: v1\nkind: Pod\nspec:\n  initContainers:\n  - {name: probe, image: x}\n  ephemeralContainers: []\n' >"$tmp/tpl/pod.yaml"
expect_rc 1 "template with init containers" -- af compile --templates "$tmp/tpl" --cluster tests/golden/040-probe.profile.yaml $ex
grep_err "pod.yaml:4:3: error: spec.initContainers: not allowed in a template" "initContainers message"
grep_err "pod.yaml:6:3: error: spec.ephemeralContainers: not allowed in a template" "ephemeralContainers message"
printf 'apiVersion: v1\nkind: Pod\nspec:\n  containers:\n  - name: agent\n    securityContext:\n      readOnlyRootFilesystem: false\n' >"$tmp/tpl/pod.yaml"
expect_rc 1 "template with a writable root" -- af compile --templates "$tmp/tpl" $ex
grep_err "pod.yaml:7:31: error: spec.containers\[0\].securityContext.readOnlyRootFilesystem: a template may only set this to true" "readOnlyRootFilesystem message"
printf 'apiVersion: v1\nkind: Pod\nspec:\n  containers:\n  - name: agent\n    volumeMounts:\n    - {name: scratch, mountPath: /etc}\n' >"$tmp/tpl/pod.yaml"
expect_rc 1 "template with a volume mount" -- af compile --templates "$tmp/tpl" $ex
grep_err "spec.containers\[0\].volumeMounts: not allowed in a template" "volumeMounts message"
printf 'apiVersion: v1\nkind: Pod\nspec:\n  containers:\n  - name: agent\n  - name: sidecar\n' >"$tmp/tpl/pod.yaml"
expect_rc 1 "template with a sidecar" -- af compile --templates "$tmp/tpl" $ex
printf 'apiVersion: v1\nkind: Pod\nmetadata:\n  labels:\n    agentfence.dev/job-id: x\n' >"$tmp/tpl/pod.yaml"
expect_rc 1 "template setting our label" -- af compile --templates "$tmp/tpl" $ex
printf 'apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nspec:\n  podSelector: {}\n' >"$tmp/tpl/networkpolicy.yaml"
rm "$tmp/tpl/pod.yaml"
expect_rc 1 "policy template with a spec" -- af compile --templates "$tmp/tpl" $ex
grep_err "spec: not allowed in a template" "policy spec message"

# --templates DIR that is not a templates folder: an error (exit 1, nothing
# written, nothing sent), never a silent fall-back to the built-in ones
names="pod.yaml, networkpolicy.yaml, egressgatewaypolicy.yaml"
expect_err() {   # expect_err DESCRIPTION LINE...: stderr is exactly these lines
	what=$1
	shift
	printf '%s\n' "$@" >"$tmp/want"
	if cmp -s "$tmp/want" "$tmp/e"; then ok; else bad "$what: stderr differs"; diff -u "$tmp/want" "$tmp/e"; fi
	[ -s "$tmp/o" ] && bad "$what: wrote to stdout" || ok
}
tpl_refused() {   # tpl_refused DESCRIPTION DIR MESSAGE...
	what=$1 dir=$2
	shift 2
	expect_rc 1 "$what" -- af compile --templates "$dir" $ex
	expect_err "$what" "$@" "agentfence: $# error$([ $# -gt 1 ] && echo s); nothing written"
	expect_rc 1 "$what, -o" -- af compile --templates "$dir" -o "$tmp/tplout" $ex
	[ -e "$tmp/tplout" ] && bad "$what: -o made a folder" || ok
	expect_rc 1 "$what, apply" -- af apply --templates "$dir" --kubeconfig "$tmp/nope" $ex
	grep_err "nothing sent to the cluster" "$what, apply"
}
tpl_refused "templates: no such folder" "$tmp/nodir" \
	"$tmp/nodir: error: no such templates folder (--templates takes a folder holding any of $names)"
tpl_refused "templates: a file" "$ex" \
	"$ex: error: not a folder (--templates takes a folder holding any of $names)"
mkdir "$tmp/tpl-empty"
tpl_refused "templates: an empty folder" "$tmp/tpl-empty" \
	"$tmp/tpl-empty: error: holds none of the templates ($names)"
touch "$tmp/tpl-empty/.gitkeep"
tpl_refused "templates: hidden files only" "$tmp/tpl-empty" \
	"$tmp/tpl-empty: error: holds none of the templates ($names)"
mkdir "$tmp/tpl-typo"
cp templates/pod.yaml "$tmp/tpl-typo/pods.yaml"
tpl_refused "templates: a misspelt file" "$tmp/tpl-typo" \
	"$tmp/tpl-typo: error: pods.yaml: not a template agentfence knows (the templates are $names)"
mkdir "$tmp/tpl-mixed" "$tmp/tpl-mixed/old"
cp templates/pod.yaml templates/networkpolicy.yaml "$tmp/tpl-mixed/"
cp templates/pod.yaml "$tmp/tpl-mixed/pod.yml"
tpl_refused "templates: known files beside unknown ones" "$tmp/tpl-mixed" \
	"$tmp/tpl-mixed: error: old: not a template agentfence knows (the templates are $names)" \
	"$tmp/tpl-mixed: error: pod.yml: not a template agentfence knows (the templates are $names)"
# some of the three, and hidden files: fine; the others are the built-in ones
mkdir "$tmp/tpl-some"
cp tests/golden/003-site-template.templates/pod.yaml "$tmp/tpl-some/"
touch "$tmp/tpl-some/.gitkeep"
expect_rc 0 "templates: one file and a hidden one" -- \
	af compile --templates "$tmp/tpl-some" tests/golden/003-site-template.yaml
cmp -s "$tmp/o" tests/golden/003-site-template.out && ok || bad "templates: one file and a hidden one: output differs"
cp templates/*.yaml "$tmp/tpl-some/"
expect_rc 0 "templates: the built-in files" -- af compile --templates "$tmp/tpl-some" $ex
af compile $ex | cmp -s - "$tmp/o" && ok || bad "templates: a copy of templates/ changes the output"

# --- check's exit codes (kubectl diff's: 0 current, 1 stale, 4 invalid input
# or an error) and the summary line of compile -o and check (-q: none) ---
sd=$tmp/sum
expect_rc 0 "summary: compile -o" -- af compile -o "$sd" $ex
expect_err "summary: compile -o, a new folder" "agentfence: 4 agents, 5 files in $sd: 5 new"
expect_rc 0 "summary: compile -o again" -- af compile -o "$sd" $ex
expect_err "summary: compile -o, nothing changed" "agentfence: 4 agents, 5 files in $sd: 5 unchanged"
expect_rc 0 "summary: check" -- af check -o "$sd" $ex
expect_err "summary: check, current" "agentfence: $sd is up to date (4 agents, 5 files)"
expect_rc 0 "summary: compile -q" -- af compile -q -o "$sd" $ex
[ -s "$tmp/e" ] && bad "compile -q printed: $(cat "$tmp/e")" || ok
expect_rc 0 "summary: check --quiet" -- af check --quiet -o "$sd" $ex
[ -s "$tmp/e" ] && bad "check --quiet printed: $(cat "$tmp/e")" || ok
expect_rc 0 "summary: compile to stdout" -- af compile $ex
[ -s "$tmp/e" ] && bad "compile to stdout printed a summary: $(cat "$tmp/e")" || ok
echo "# edited" >>"$sd/agents.job-8c21.yaml"
rm "$sd/agents.job-91d0.yaml"
expect_rc 1 "check: stale" -- af check -o "$sd" $ex
expect_err "check: stale, what and why" \
	"$sd/agents.job-8c21.yaml: error: stale: differs from what compile writes" \
	"$sd/agents.job-91d0.yaml: error: missing: compile would write it" \
	"agentfence: $sd is stale (1 missing, 1 changed); run agentfence compile -o $sd"
expect_rc 1 "check -q: stale" -- af check -q -o "$sd" $ex
[ "$(wc -l <"$tmp/e")" -eq 2 ] && ! grep -q "is stale" "$tmp/e" && ok || bad "check -q: the differences only"
expect_rc 0 "summary: compile -o repairs" -- af compile -o "$sd" $ex
expect_err "summary: compile -o, one new, one changed" "agentfence: 4 agents, 5 files in $sd: 1 new, 1 changed, 3 unchanged"
# an agent gone from the specs: stale (exit 1), then removed
expect_rc 1 "check: an agent no longer in the specs" -- af check -o "$sd" "$tmp/three.yaml"
expect_err "check: an agent no longer in the specs" \
	"$sd/kustomization.yaml: error: stale: differs from what compile writes" \
	"$sd/agents.job-a002.yaml: error: stale: its agent is no longer in the specs" \
	"agentfence: $sd is stale (1 to remove); run agentfence compile -o $sd"
expect_rc 0 "summary: compile -o fewer agents" -- af compile -o "$sd" "$tmp/three.yaml"
expect_err "summary: compile -o, one removed" "agentfence: 3 agents, 4 files in $sd: 1 removed, 4 unchanged"
expect_rc 1 "check: a missing folder is stale" -- af check -o "$tmp/nosuch" $ex
expect_err "check: a missing folder" "$tmp/nosuch: error: no such folder: the output is missing" \
	"agentfence: $tmp/nosuch is stale (missing); run agentfence compile -o $tmp/nosuch"
# invalid input is not "stale": exit 4, whatever the folder holds
expect_rc 4 "check: an invalid spec" -- af check -o "$sd" "$tmp/later.yaml"
grep_err "agentfence: 1 error; nothing written" "check: an invalid spec"
expect_rc 4 "check: an invalid spec, stale folder" -- af check -o "$sd" $ex "$tmp/later.yaml"
expect_rc 4 "check: an invalid spec, missing folder" -- af check -o "$tmp/nosuch" "$tmp/later.yaml"
expect_rc 4 "check: a missing profile" -- af check --cluster "$tmp/nope.yaml" -o "$sd" $ex
expect_rc 4 "check: a missing spec file" -- af check -o "$sd" "$tmp/nope.yaml"
expect_rc 4 "check: -o names a file" -- af check -o $ex $ex
expect_rc 2 "check: a usage error" -- af check -o "$sd" --format xml $ex
expect_rc 1 "compile: an invalid spec is still 1" -- af compile -o "$sd" "$tmp/later.yaml"

echo "e2e: $n checks, $fail failed"
[ $fail -eq 0 ]
