#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Install the Debian packages agentfence needs when run as root; otherwise
# print the one apt-get line to run. Also checks the Python test modules.
missing=
for p in "$@"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' ||
		missing="$missing $p"
done
if [ -n "$missing" ]; then
	if [ "$(id -u)" = 0 ]; then
		echo "deps: installing$missing"
		export DEBIAN_FRONTEND=noninteractive
		apt-get install -y -q $missing >/dev/null ||
			{ apt-get update -q >/dev/null && apt-get install -y -q $missing >/dev/null; } ||
			{ echo "deps: apt-get install failed" >&2; exit 1; }
	else
		echo "deps: missing packages; run:" >&2
		echo "  sudo apt-get install -y$missing" >&2
		exit 1
	fi
fi
# the admission guard's CEL test runs @bufbuild/cel (tests/tools/cel) under Node
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
	if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
		echo "deps: installing nodejs npm"
		DEBIAN_FRONTEND=noninteractive apt-get install -y -q nodejs npm >/dev/null ||
			echo "deps: note: apt-get install nodejs npm failed; the CEL tests will fail" >&2
	else
		echo "deps: note: node or npm not found; the CEL tests will fail (apt-get install nodejs npm)" >&2
	fi
fi
command -v kubectl >/dev/null || echo "deps: note: kubectl not found; the kustomize tests will fail" >&2
python3 -c 'import yaml, jsonschema' 2>/dev/null || {
	if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
		apt-get install -y -q python3-yaml python3-jsonschema >/dev/null
	fi
	python3 -c 'import yaml, jsonschema' 2>/dev/null || {
		echo "deps: python3 needs PyYAML and jsonschema (apt-get install python3-yaml python3-jsonschema)" >&2
		exit 1
	}
}
exit 0
