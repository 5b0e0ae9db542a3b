#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""test_peer.py BINARY [N]: is the peer a fair peer?

The benchmark compares agentfence with bench/peer.py; that only means
something if both do the same work. This checks, with the default
profile:
  - same objects: `BINARY compile` and `peer.py` on gen.py's N agents
    (default 100), on examples/agents.yaml and on a few edge cases, parsed
    with PyYAML and compared (semantic equality, not bytes);
  - same refusals: on specs agentfence rejects, the peer exits 1 too and
    writes nothing (and it accepts what agentfence accepts).
Prints one line per case; exits 1 on the first mismatch's report.
"""
import os
import subprocess
import sys
import tempfile

import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
PEER = [sys.executable, os.path.join(HERE, "peer.py")]

BASE = """\
apiVersion: agentfence.dev/v1alpha1
kind: AgentIsolation
metadata:
  name: {name}
  namespace: edge
spec:
{body}"""
IMAGE = "  image: ghcr.io/acme/agent-runner:1.4.2\n"

# valid specs that exercise normalization and optional fields
GOOD = {
    "merge-and-v6": "  egress:\n    mode: allowlist\n    allow: [140.82.120.0/21, 140.82.112.0/21,"
                    " 2606:50c0:8000::/46, 151.101.0.0/16, 151.101.64.0/18]\n    ports: [443, 80, 443]",
    "gateway-selector": "  egress:\n    mode: gateway\n    staticIP: 34.1.2.3\n"
                        "    gateway:\n      nodeSelector: {pool: egress, zone: a}",
    "empty-args": "  command: [run]\n  args: []\n  env:\n  - {name: EMPTY, value: ''}\n"
                  "  resources: {cpu: 0.5, memory: 256Mi}\n  runtimeClassName: kata.qemu\n"
                  "  egress: {mode: none}",
    "ingress-all-pods": "  egress: {mode: public}\n  ingress:\n  - from: {namespace: ops}\n"
                        "    ports: [8080, 22]\n  - from: {namespace: mon, podLabels: {}}\n"
                        "    ports: [9090]",
}

# invalid specs: both must refuse them
BAD = {
    "unknown-field": "  foo: 1\n  egress: {mode: none}",
    "host-bits": "  egress: {mode: allowlist, allow: [140.82.112.1/20]}",
    "blocked-overlap": "  egress: {mode: allowlist, allow: [10.1.0.0/16]}",
    "cover-blocked": "  egress: {mode: allowlist, allow: [128.0.0.0/1]}",
    "bare-address": "  egress: {mode: allowlist, allow: [140.82.112.1]}",
    "netmask": "  egress: {mode: allowlist, allow: [140.82.112.0/255.255.240.0]}",
    "prefix-leading-zero": "  egress: {mode: allowlist, allow: [140.82.112.0/020]}",
    "octet-leading-zero": "  egress: {mode: allowlist, allow: [140.082.112.0/20]}",
    "v6-not-global": "  egress: {mode: allowlist, allow: ['4000::/3']}",
    "v6-zone": "  egress: {mode: allowlist, allow: ['2606:50c0::%eth0/32']}",
    "allow-empty": "  egress: {mode: allowlist, allow: []}",
    "static-multicast": "  egress: {mode: gateway, staticIP: 224.0.0.1}",
    "static-broadcast": "  egress: {mode: gateway, staticIP: 255.255.255.255}",
    "static-cidr": "  egress: {mode: gateway, staticIP: 34.1.2.3/32}",
    "static-v6": "  egress: {mode: gateway, staticIP: '2606:50c0::1'}",
    "static-leading-zero": "  egress: {mode: gateway, staticIP: 34.1.2.03}",
    "static-missing": "  egress: {mode: gateway}",
    "static-wrong-mode": "  egress: {mode: public, staticIP: 34.1.2.3}",
    "port-zero": "  egress: {mode: public, ports: [0]}",
    "port-string": "  egress: {mode: public, ports: ['443']}",
    "ports-with-none": "  egress: {mode: none, ports: [443]}",
    "env-twice": "  env: [{name: A, value: x}, {name: A, value: y}]\n  egress: {mode: none}",
    "env-bad-name": "  env: [{name: 1A, value: x}]\n  egress: {mode: none}",
    "env-int-value": "  env: [{name: A, value: 1}]\n  egress: {mode: none}",
    "cpu-zero": "  resources: {cpu: '0'}\n  egress: {mode: none}",
    "no-egress": "  command: [x]",
    "bad-mode": "  egress: {mode: open}",
    "ingress-no-ports": "  egress: {mode: none}\n  ingress: [{from: {namespace: ops}}]",
    "bad-label": "  egress: {mode: none}\n  ingress: [{from: {namespace: ops, podLabels: {'-x': y}},"
                 " ports: [1]}]",
    "image-space": "  egress: {mode: none}\n  image: 'a b'",
    "no-image": "  egress: {mode: none}",
}


def spec(name, body):
    """One document: BASE with the default image unless the body sets one."""
    image = "" if "image:" in body or name == "no-image" else IMAGE
    return BASE.format(name=name, body=image + body)


def run(cmd):
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    return p.returncode, p.stdout


def parse(text):
    return [d for d in yaml.load_all(text, Loader=yaml.CSafeLoader) if d is not None]


def first_diff(a, b, path=""):
    """Where two parsed trees differ, as a path (None when equal)."""
    if type(a) is not type(b):
        return "%s: %r vs %r" % (path or "/", a, b)
    if isinstance(a, dict):
        for k in sorted(set(a) | set(b), key=str):
            if k not in a or k not in b:
                return "%s.%s: only in %s" % (path, k, "agentfence" if k in a else "peer")
            d = first_diff(a[k], b[k], "%s.%s" % (path, k))
            if d:
                return d
        return None
    if isinstance(a, list):
        for i, (x, y) in enumerate(zip(a, b)):
            d = first_diff(x, y, "%s[%d]" % (path, i))
            if d:
                return d
        if len(a) != len(b):
            return "%s: %d vs %d items" % (path, len(a), len(b))
        return None
    return None if a == b else "%s: %r vs %r" % (path, a, b)


def same_objects(binary, path, label):
    rc1, out1 = run([binary, "compile", path])
    rc2, out2 = run(PEER + [path])
    if rc1 != 0 or rc2 != 0:
        return "%s: exit codes agentfence %d, peer %d" % (label, rc1, rc2)
    a, b = parse(out1), parse(out2)
    for i, (x, y) in enumerate(zip(a, b)):
        d = first_diff(x, y)
        if d:
            return "%s: object %d (%s %s): %s" % (label, i, x.get("kind"),
                                                  x.get("metadata", {}).get("name"), d)
    if len(a) != len(b):
        return "%s: %d objects vs %d" % (label, len(a), len(b))
    print("ok   same objects: %s (%d objects)" % (label, len(a)))
    return None


def main():
    if len(sys.argv) not in (2, 3):
        sys.exit("usage: test_peer.py BINARY [N]")
    binary, n = sys.argv[1], int(sys.argv[2]) if len(sys.argv) == 3 else 100
    failures = []
    with tempfile.TemporaryDirectory() as tmp:
        gen = os.path.join(tmp, "gen.yaml")
        with open(gen, "w") as f:
            subprocess.run([sys.executable, os.path.join(HERE, "gen.py"), str(n)], stdout=f,
                           check=True)
        cases = [(gen, "gen.py %d" % n), (os.path.join(ROOT, "examples", "agents.yaml"),
                                          "examples/agents.yaml")]
        for name, body in GOOD.items():
            p = os.path.join(tmp, name + ".yaml")
            with open(p, "w") as f:
                f.write(spec(name, body))
            cases.append((p, "edge " + name))
        for path, label in cases:
            err = same_objects(binary, path, label)
            if err:
                print("FAIL " + err)
                failures.append(err)
        for name, body in BAD.items():
            p = os.path.join(tmp, name + ".yaml")
            with open(p, "w") as f:
                f.write(spec(name, body))
            (rc1, out1), (rc2, out2) = run([binary, "compile", p]), run(PEER + [p])
            if rc1 == 1 and rc2 == 1 and not out1 and not out2:
                print("ok   both refuse: %s" % name)
            else:
                err = "refusal %s: agentfence exit %d (%d bytes out), peer exit %d (%d bytes out)" % (
                    name, rc1, len(out1), rc2, len(out2))
                print("FAIL " + err)
                failures.append(err)
        # a duplicate agent across documents
        p = os.path.join(tmp, "dup.yaml")
        with open(p, "w") as f:
            doc = spec("twice", "  egress: {mode: none}\n")
            f.write(doc + "---\n" + doc)
        (rc1, _), (rc2, _) = run([binary, "compile", p]), run(PEER + [p])
        if rc1 == rc2 == 1:
            print("ok   both refuse: duplicate agent")
        else:
            failures.append("duplicate agent: agentfence %d, peer %d" % (rc1, rc2))
            print("FAIL " + failures[-1])
    if failures:
        print("test_peer: %d failure%s" % (len(failures), "" if len(failures) == 1 else "s"))
        return 1
    print("test_peer: the peer matches agentfence")
    return 0


if __name__ == "__main__":
    sys.exit(main())
