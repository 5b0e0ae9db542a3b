#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""gen.py N: write a YAML stream of N AgentIsolation specs to stdout.

Deterministic: agent i is a pure function of i (no randomness), so the
same N always gives the same bytes. Agents rotate the egress modes
(public, allowlist, gateway, none) and seven namespaces; names are unique
(job-<hex i>). About one in three non-none agents restricts its egress
ports, one in five takes an ingress rule, one in eleven picks a runtime
class; resources mix quoted and plain quantities, as people write them.
"""
import sys

NAMESPACES = ("agents", "research", "ci-runners", "data-eng", "support-bots",
              "evals", "sandbox")
MODES = ("public", "allowlist", "gateway", "none")
IMAGES = ("ghcr.io/acme/agent-runner:1.4.2", "ghcr.io/acme/agent-runner:1.5.0",
          "registry.example.com/ml/coder:2024.06", "ghcr.io/acme/sandbox:2.0",
          "docker.io/library/python:3.12-slim")
COMMANDS = ("[python, -m, runner]", "[/usr/local/bin/agent]",
            "[sh, -c, exec /app/start]")
TASKS = ("summarize", "triage", "code-review", "translate", "extract", "plan")
MODELS = ("small", "medium", "large", "code-7b")
# (cpu, memory) as written in specs: some quoted, some plain numbers
RESOURCES = (('"500m"', "1Gi"), ("2", "4Gi"), ('"250m"', "512Mi"),
             ("1", '"2Gi"'), ('"1500m"', "3Gi"))
PORTS = ("[443]", "[80, 443]", "[443, 8443]")


def allow_pair(i):
    """Two public CIDRs: a /24 of GitHub's 140.82.112.0/20 and a /16 to /24
    of Fastly's 151.101.0.0/16 (varied so few agents look alike)."""
    github = "140.82.%d.0/24" % (112 + i % 16)
    plen = 16 + (i // 16) % 9                    # /16 .. /24
    third = (i * 37) % 256 & ~((1 << (24 - plen)) - 1) & 0xff  # no host bits
    return github, "151.101.%d.0/%d" % (third, plen)


def static_ip(i):
    """A unicast IPv4 egress address, varied over two /24s."""
    j = i // 4
    net = "203.0.113" if j % 2 else "198.51.100"
    return "%s.%d" % (net, 1 + (j // 2) % 254)


def agent(i):
    ns = NAMESPACES[i % len(NAMESPACES)]
    mode = MODES[i % len(MODES)]
    cpu, mem = RESOURCES[i % len(RESOURCES)]
    out = [
        "---\n"
        "apiVersion: agentfence.dev/v1alpha1\n"
        "kind: AgentIsolation\n"
        "metadata:\n"
        "  name: job-%06x\n"
        "  namespace: %s\n"
        "spec:\n"
        "  image: %s\n"
        "  command: %s\n"
        '  args: ["--task", "%s", "--max-steps", "%d"]\n'
        "  env:\n"
        "  - name: MODEL\n"
        "    value: %s\n"
        "  - name: TASK_ID\n"
        '    value: "%d"\n'
        "  resources:\n"
        "    cpu: %s\n"
        "    memory: %s\n"
        % (i, ns, IMAGES[i % len(IMAGES)], COMMANDS[i % len(COMMANDS)],
           TASKS[i % len(TASKS)], 10 + i % 90, MODELS[i % len(MODELS)], i, cpu, mem)
    ]
    if i % 11 == 10:
        out.append("  runtimeClassName: kata-qemu\n")
    out.append("  egress:\n    mode: %s\n" % mode)
    if mode == "allowlist":
        a, b = allow_pair(i)
        out.append("    allow:\n    - %s\n    - %s\n" % (a, b))
    elif mode == "gateway":
        out.append("    staticIP: %s\n" % static_ip(i))
    if mode != "none" and i % 3 == 0:
        out.append("    ports: %s\n" % PORTS[(i // 3) % len(PORTS)])
    if i % 5 == 0:
        out.append("  ingress:\n"
                   "  - from:\n"
                   "      namespace: monitoring\n"
                   "      podLabels:\n"
                   "        app.kubernetes.io/name: prometheus\n"
                   "    ports: [9090]\n")
    return "".join(out)


def main():
    if len(sys.argv) != 2 or not sys.argv[1].isdigit():
        sys.exit("usage: gen.py N")
    n = int(sys.argv[1])
    w = sys.stdout.write
    chunk = []
    for i in range(n):
        chunk.append(agent(i))
        if len(chunk) == 1000:
            w("".join(chunk))
            chunk.clear()
    w("".join(chunk))


if __name__ == "__main__":
    main()
