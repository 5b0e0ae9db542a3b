#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# The command line's contract: --help, help CMD and CMD --help for every
# command (usage, options, examples, exit codes, 80 columns), version,
# the option table against README's command reference, and the exact
# text and exit code (2) of usage errors.
# AGENTFENCE_WRAP (e.g. valgrind) prefixes every run.
set -u
bin=${1:?usage: cli.sh BINARY}
case $bin in /*) ;; *) bin=$PWD/$bin ;; esac   # the -o ./json case runs from another folder
af() { ${AGENTFENCE_WRAP:-} "$bin" "$@"; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0 n=0
ok() { n=$((n + 1)); }
bad() { n=$((n + 1)); fail=$((fail + 1)); echo "FAIL: $*"; }
ex=examples/agents.yaml
cmds="compile validate check apply delete diff audit probe explain crd"
# the commands README's ## Commands gives a usage line
readme_cmds="compile validate check apply delete diff audit probe explain crd"

# run ARGS...: stdout in $tmp/o, stderr in $tmp/e, exit code in $rc
run() { af "$@" >"$tmp/o" 2>"$tmp/e"; rc=$?; }

# usage_error DESCRIPTION 'EXPECTED STDERR' ARGS...: exit 2, nothing on stdout
usage_error() {
	what=$1 want=$2
	shift 2
	run "$@"
	printf '%s\n' "$want" >"$tmp/want"
	if [ $rc -eq 2 ] && [ ! -s "$tmp/o" ] && cmp -s "$tmp/want" "$tmp/e"; then
		ok
	else
		bad "$what: exit $rc (expected 2), stdout $(wc -c <"$tmp/o") bytes"
		diff -u "$tmp/want" "$tmp/e"
	fi
}

# --- help ---
run --help
[ $rc -eq 0 ] && [ ! -s "$tmp/e" ] && ok || bad "--help: exit $rc or stderr"
cp "$tmp/o" "$tmp/help"
for h in -h help; do
	run $h
	[ $rc -eq 0 ] && cmp -s "$tmp/o" "$tmp/help" && ok || bad "$h differs from --help"
done
for c in $cmds; do
	grep -q "^       agentfence $c \|^usage: agentfence $c " "$tmp/help" && ok || bad "--help lacks the usage of $c"
	grep -q "^  $c " "$tmp/help" && ok || bad "--help lacks the command $c"
done
for code in 0 1 2 3; do
	grep -q "^  $code  " "$tmp/help" && ok || bad "--help lacks exit code $code"
	grep -q "^| $code |" README.md && ok || bad "README's exit codes lack $code"
done
for c in $cmds; do
	run $c --help
	[ $rc -eq 0 ] && [ ! -s "$tmp/e" ] && ok || bad "$c --help: exit $rc or stderr"
	cp "$tmp/o" "$tmp/help.$c"
	for h in "$c -h" "help $c"; do
		run $h
		[ $rc -eq 0 ] && cmp -s "$tmp/o" "$tmp/help.$c" && ok || bad "$h differs from $c --help"
	done
	head -1 "$tmp/help.$c" | grep -q "^usage: agentfence $c \[" && ok || bad "$c --help: no usage line"
	grep -q '^options:$' "$tmp/help.$c" && ok || bad "$c --help: no options"
	grep -q '^  -h, --help  ' "$tmp/help.$c" && ok || bad "$c --help: no -h, --help"
	ne=$(sed -n '/^examples:$/,/^$/p' "$tmp/help.$c" | grep -c "^  agentfence $c ")
	[ "$ne" -ge 1 ] && [ "$ne" -le 3 ] && ok || bad "$c --help: $ne examples, expected 1 to 3"
	grep -q '^  2  usage error$' "$tmp/help.$c" && ok || bad "$c --help: no exit codes"
done
run --apply --help
cmp -s "$tmp/o" "$tmp/help.apply" && ok || bad "--apply --help differs from apply --help"
grep -q '^  3  ' "$tmp/help.compile" && bad "compile --help lists exit code 3" || ok
# check's codes are kubectl diff's: 1 stale, above 1 an error (4: invalid input)
grep -q '^  1  check: the folder is stale' "$tmp/help.check" && ok || bad "check --help: 1 is not stale"
grep -q '^  4  check: invalid input' "$tmp/help.check" && ok || bad "check --help lacks exit code 4"
grep -q '^  4  ' "$tmp/help.compile" && bad "compile --help lists exit code 4" || ok
grep -q '^  4  ' "$tmp/help" && ok || bad "--help lacks exit code 4"
cat "$tmp"/help* | awk 'length > 80 { print; bad = 1 } END { exit bad }' && ok ||
	bad "a help line is wider than 80 columns"

# --- version: the Makefile's VERSION, given with -DAGENTFENCE_VERSION ---
version=$(sed -n 's/^VERSION *:= *//p' Makefile)
for v in version --version; do
	run $v
	[ $rc -eq 0 ] && [ "$(cat "$tmp/o")" = "agentfence $version" ] && ok ||
		bad "$v: exit $rc, printed '$(cat "$tmp/o")', expected 'agentfence $version'"
done

# --- the option table, README and --help agree ---
# every option of the table (compiler/main.c) is in README and in some CMD --help
names=$(sed -n 's/^	\[OPT_[A-Z_]*\] = { "\([a-z-]*\)".*/\1/p' compiler/main.c)
[ "$(echo "$names" | wc -w)" -ge 14 ] && ok || bad "cannot read the option table of compiler/main.c"
for o in $names; do
	grep -q -- "--$o\b" README.md && ok || bad "README does not name --$o"
	cat "$tmp"/help.* | grep -q -- "--$o\b" && ok || bad "no --help lists --$o"
done
# README's usage line of each command (## Commands) lists the same options
# as that command's usage line
sed -n '/^## Commands/,/^SPEC is/p' README.md | awk '
	/^    agentfence [a-z]/ { c = $2 }
	/^    / && c { for (i = 1; i <= NF; i++) if ($i ~ /^\[?-/) { o = $i; gsub(/[][]/, "", o); print c, o } }
	/^$/ { c = "" }' >"$tmp/readme"
for c in $readme_cmds; do
	grep "^$c " "$tmp/readme" | cut -d' ' -f2 | sort >"$tmp/want"
	[ -s "$tmp/want" ] && ok || bad "README's ## Commands has no usage line for $c"
	sed -n '1,/^$/p' "$tmp/help.$c" | tr ' ' '\n' | grep '^\[*-' | tr -d '[]' | sort >"$tmp/got"
	if cmp -s "$tmp/want" "$tmp/got"; then ok; else
		bad "$c: README's usage and $c --help list different options"
		diff -u "$tmp/want" "$tmp/got"
	fi
	# every option of the usage line is explained under options:
	for o in $(cat "$tmp/got"); do
		grep -q -- "^  \(-., \)*$o\b" "$tmp/help.$c" && ok || bad "$c --help does not explain $o"
	done
done

# --- usage errors: the exact message, exit 2 ---
try() { echo "try 'agentfence $1 --help'"; }
usage_error "unknown option" "agentfence: compile: unknown option --foo
$(try compile)" compile --foo $ex
usage_error "unknown option with a value" "agentfence: compile: unknown option --foo
$(try compile)" compile --foo=bar $ex
usage_error "unknown short option" "agentfence: compile: unknown option -x
$(try compile)" compile -x $ex
usage_error "an abbreviated option" "agentfence: compile: unknown option --clus (did you mean --cluster?)
$(try compile)" compile --clus examples/profile-eks.yaml $ex
usage_error "an option of another command" "agentfence: delete: unknown option --prune (it is an option of apply)
$(try delete)" delete --prune $ex
usage_error "crd with an operand" "agentfence: crd: takes no operands (given: agents.yaml)
try 'agentfence crd --help'" crd agents.yaml
usage_error "an option two commands spell alike" "agentfence: compile: unknown option --wait (it is an option of apply, delete, probe)
$(try compile)" compile --wait $ex
usage_error "-o for validate" "agentfence: validate: unknown option -o (it is an option of compile, check)
$(try validate)" validate -o "$tmp/out" $ex
usage_error "a value for a flag" "agentfence: apply: option --dry-run takes no value (given: --dry-run=client)
$(try apply)" apply --dry-run=client $ex
usage_error "a missing value" "agentfence: compile: option -o needs a value (-o DIR)
$(try compile)" compile $ex -o
usage_error "a missing long value" "agentfence: compile: option --cluster needs a value (--cluster PROFILE)
$(try compile)" compile $ex --cluster
usage_error "-o json" "agentfence: compile: -o takes a folder, not a format: use --format json (for a folder named json, write -o ./json)
$(try compile)" compile -o json $ex
usage_error "-o yaml" "agentfence: check: -o takes a folder, not a format: use --format yaml (for a folder named yaml, write -o ./yaml)
$(try check)" check -o yaml $ex
usage_error "bad format" "agentfence: compile: --format: \"xml\" is not yaml or json
$(try compile)" compile --format xml $ex
usage_error "bad audit format" "agentfence: audit: --format: \"yaml\" is not table or json
$(try audit)" audit --format yaml
usage_error "an option of apply for audit" "agentfence: audit: unknown option --dry-run (it is an option of apply, delete)
$(try audit)" audit --dry-run
usage_error "bad duration" "agentfence: apply: --timeout: \"soon\" is not a duration (e.g. 30s, 1m30s, 500ms, 1h)
$(try apply)" apply --timeout soon $ex
# durations in Go's form (duration.c; its unit test holds Go's own table)
for d in 1d 1S "1 s" 1.2.3s 1m- ms; do
	usage_error "duration $d" "agentfence: delete: --request-timeout: \"$d\" is not a duration (e.g. 30s, 1m30s, 500ms, 1h)
$(try delete)" delete --request-timeout "$d" $ex
done
for d in 0 0s -1s 24h1ms 86401 99999999999999999999; do
	usage_error "duration $d out of range" "agentfence: apply: --timeout: \"$d\" is out of range (more than 0, at most 24h)
$(try apply)" apply --timeout "$d" $ex
done
usage_error "probe --wait out of range" "agentfence: probe: --wait: \"-1s\" is out of range (more than 0 or 0, at most 24h)
$(try probe)" probe --wait -1s
# accepted: the run gets past the options to the (missing) kubeconfig, exit 1
for d in 30 1m30s 1h 1.5s 300ms 2h45m 24h .5s 1h2m3s4ms5us6ns 10µs; do
	run apply --kubeconfig "$tmp/none" --timeout "$d" --request-timeout "$d" $ex
	[ $rc -eq 1 ] && grep -q "$tmp/none" "$tmp/e" && ok || { bad "duration $d refused: exit $rc"; cat "$tmp/e"; }
done
# kubectl's -o words: refused unless such a folder exists
for w in wide name jsonpath='{.items}' go-template='{{.}}' custom-columns=NAME:.metadata.name; do
	usage_error "-o $w" "agentfence: compile: -o takes a folder, not a format: agentfence writes yaml or json, chosen with --format (for a folder named $w, write -o ./$w)
$(try compile)" compile -o "$w" $ex
done
mkdir -p "$tmp/cwd2/wide"
(cd "$tmp/cwd2" && af compile -q -o wide "$OLDPWD/$ex" >/dev/null 2>&1) && [ -f "$tmp/cwd2/wide/kustomization.yaml" ] &&
	ok || bad "compile -o wide refused although the folder wide exists"
usage_error "check without -o" "agentfence: check: needs -o DIR
$(try check)" check $ex
usage_error "no spec" "agentfence: compile: no SPEC given (a file, or - for standard input)
$(try compile)" compile
usage_error "unknown command" "agentfence: unknown command \"frobnicate\"
try 'agentfence --help'" frobnicate $ex
usage_error "help of an unknown command" "agentfence: help: unknown command \"frobnicate\"
try 'agentfence --help'" help frobnicate
usage_error "version with arguments" "agentfence: version takes no arguments" version $ex
run
[ $rc -eq 2 ] && [ ! -s "$tmp/o" ] && head -1 "$tmp/e" | grep -qx 'agentfence: a command is required' &&
	grep -q '^usage: agentfence compile ' "$tmp/e" && ok || bad "no command: exit $rc, or no usage on stderr"
# a folder named json is fine when it does not look like a format
mkdir "$tmp/cwd"
(cd "$tmp/cwd" && af compile -o ./json "$OLDPWD/$ex" >/dev/null 2>&1) && [ -f "$tmp/cwd/json/kustomization.yaml" ] &&
	ok || bad "compile -o ./json did not write the folder json"
# options after the specs, and --opt=value, still work
run compile $ex --format=json
[ $rc -eq 0 ] && head -c 1 "$tmp/o" | grep -q '{' && ok || bad "compile SPEC --format=json"

echo "cli: $n checks, $fail failed"
[ $fail -eq 0 ]
