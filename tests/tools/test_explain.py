# SPDX-License-Identifier: Apache-2.0
"""`agentfence explain` agrees with the independent evaluator (netpol.py).

For every example and every generated case of harness.all_cases() (every
egress mode under every profile of tests/tools/profiles and the default),
`explain --format json` gives each agent's egress and ingress ranges with
their ports.  Each answer is checked against netpol.py run on the compiled
objects (every NetworkPolicy of the stream, so other agents' policies count
as they would) on many sample addresses: the IANA special-purpose rows
(first, middle and last address of each block and the addresses just
outside it), the named metadata and loopback addresses, well-known public
addresses, the profile's cluster ranges and blocked ranges, and the edges
of every range explain itself reports; each on every probe port of
harness.PROBES and the ports the spec names.  The DNS servers are checked
against the profile's DNS Pods.  `--at ADDRESS:PORT` is checked too: the
same verdict, and the rule it names must allow the connection on its own.

Cilium and clusternetworkpolicy cases are test_explain_cilium.py's and
test_explain_cnp.py's (checked against cilium.py and cnp.py).

Prints "explain: queries N, disagreements D" (D must be 0).
"""

from __future__ import annotations

import ipaddress
import json
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import harness as H  # noqa: E402
import netpol as N  # noqa: E402

COUNT = {"queries": 0, "disagreements": 0, "at": 0}
PROTOS = ("TCP", "UDP", "SCTP")


def tearDownModule():
    print(f"\nexplain: queries {COUNT['queries']}, disagreements {COUNT['disagreements']}, "
          f"--at queries {COUNT['at']}", file=sys.stderr)


def explain(case, *extra):
    args = ["explain", "--format", "json"]
    if case.profile_path:
        args += ["--cluster", case.profile_path]
    args += list(extra) + [case.spec_path]
    return H.run(args)


def parse_ports(items):
    """["all"] / ["TCP", "UDP/53", "TCP/1000-2000"] -> [(proto, lo, hi)]"""
    out = []
    for s in items:
        if s == "all":
            out += [(p, 1, 65535) for p in PROTOS]
            continue
        proto, _, rng = s.partition("/")
        if not rng:
            out.append((proto, 1, 65535))
            continue
        lo, _, hi = rng.partition("-")
        out.append((proto, int(lo), int(hi or lo)))
    return out


def ports_have(ports, proto, port):
    return any(p == proto and lo <= port <= hi for p, lo, hi in ports)


class Answer:
    """One agent's explain answer as ranges: [(network, ports)] per direction."""

    def __init__(self, a):
        self.a = a
        self.ranges = {}
        for d in ("egress", "ingress"):
            rs = []
            sec = a[d]
            if d == "egress":
                for fam in ("ipv4", "ipv6"):
                    for r in sec[fam]["ranges"]:
                        rs.append((ipaddress.ip_network(r["cidr"]), parse_ports(r["ports"])))
            else:
                for s in sec["sources"]:
                    try:
                        n = ipaddress.ip_network(s["peer"])
                    except ValueError:
                        continue
                    rs.append((n, parse_ports(s["ports"])))
            self.ranges[d] = rs

    def allows(self, direction, addr, proto, port):
        if not self.a[direction]["isolated"]:
            return True
        return any(addr.version == n.version and addr in n and ports_have(p, proto, port)
                   for n, p in self.ranges[direction])


def common_addresses(case):
    out = set()
    for fam in (4, 6):
        for row in H.iana_rows(fam):
            for n in row.networks:
                out.update(H.sample(n))
                out.update(H.neighbours(n))
    for s in H.NAMED_BLOCKED + H.WELL_KNOWN_PUBLIC:
        out.add(H.addr(s))
    for n, _ in case.profile.blocked_ranges:   # the catalogue, cluster ranges, NAT64 images
        out.update(H.sample(n))
        out.update(H.neighbours(n))
    return out


def edges(answers):
    """The first, middle and last address of every range explain reports, and the
    addresses just outside it."""
    out = set()
    for ans in answers:
        for d in ("egress", "ingress"):
            for n, _ in ans.ranges[d]:
                out.update(H.sample(n))
                out.update(H.neighbours(n))
    return out


def ordered(addrs):
    return sorted(addrs, key=lambda a: (a.version, int(a)))


# FULL=1: every probe port and every case's edges for every agent (about 11
# million queries, 8 minutes); by default each agent gets the common
# addresses, its own edges, and the probe ports below plus its spec's ports.
FULL = os.environ.get("FULL") == "1"
BASE_PORTS = {("TCP", 22), ("UDP", 53), ("SCTP", 443)}


def spec_ports(doc):
    spec = (doc or {}).get("spec") or {}
    eg = {("TCP", int(p)) for p in ((spec.get("egress") or {}).get("ports") or [])}
    eg |= {("UDP", p) for _, p in eg}
    ing = {("TCP", int(p)) for i in spec.get("ingress") or [] for p in i.get("ports") or []}
    return eg, ing


def probe_ports(case, doc):
    if FULL:
        ports = set(H.PROBES) | {("UDP", 5353), ("TCP", 5353)}
        for d in case.docs:
            eg, ing = spec_ports(d)
            ports |= eg | ing
        return {"egress": sorted(ports), "ingress": sorted(ports)}
    eg, ing = spec_ports(doc)
    return {"egress": sorted(BASE_PORTS | eg | ing), "ingress": sorted({("TCP", 22)} | ing)}


def rule_allows(policies, ref, direction, addr, proto, port):
    """The one rule `ref` names allows the connection by itself."""
    for pol in policies:
        md = pol["metadata"]
        if (pol["kind"], md.get("namespace"), md["name"]) == (ref["kind"], ref["namespace"], ref["name"]):
            rule = pol["spec"]["egress" if direction == "egress" else "ingress"][ref["rule"]]
            return N._rule_matches(rule, "to" if direction == "egress" else "from",
                                   md.get("namespace"), addr, proto, port, None, True)
    return False


class TestExplain(unittest.TestCase):

    def test_agrees_with_netpol(self):
        cases = H.all_cases()
        self.assertGreater(len(cases), 10)
        bad = []
        for case in cases:
            if case.profile.enforcement != "networkpolicy":
                continue   # test_explain_cilium.py, test_explain_cnp.py
            r = explain(case)
            self.assertEqual(r.returncode, 0, f"{case.name}: {r.stderr.decode()}")
            doc = json.loads(r.stdout)
            self.assertEqual(doc["kind"], "Explanation")
            objs = H.compiled_objects(case)
            policies = [o for o in objs if N.is_network_policy(o)]
            answers = [Answer(a) for a in doc["agents"]]
            self.assertEqual(len(answers), len(case.agents), case.name)
            common = common_addresses(case)
            all_edges = edges(answers) if FULL else None
            docs = {((d.get("metadata") or {}).get("namespace"), (d.get("metadata") or {}).get("name")): d
                    for d in case.docs if isinstance(d, dict)}
            dns_pod = N.make_pod(case.profile.dns_namespace, case.profile.dns_labels)
            for ans in answers:
                ns, name = ans.a["namespace"], ans.a["name"]
                pod_obj = [o for o in objs if o["kind"] == "Pod" and o["metadata"]["namespace"] == ns
                           and o["metadata"]["name"] == name][0]
                pod = N.make_pod(ns, pod_obj["metadata"].get("labels") or {})
                mine = [p for p in policies if N.policy_namespace(p) == ns and N.selects(p, pod)]
                addrs = ordered(common | (all_edges if FULL else edges([ans])))
                ports = probe_ports(case, docs.get((ns, name)))
                for d in ("egress", "ingress"):
                    fn = N.egress_allowed if d == "egress" else N.ingress_allowed
                    for a in addrs:
                        for proto, port in ports[d]:
                            want = fn(mine, pod, a, proto, port)
                            got = ans.allows(d, a, proto, port)
                            COUNT["queries"] += 1
                            if want != got:
                                COUNT["disagreements"] += 1
                                bad.append(f"{case.name} {ns}/{name} {d} {a} {proto}/{port}: "
                                           f"explain {got}, netpol.py {want}")
                # DNS servers: explain names some iff the DNS Pods are reachable on a DNS port
                for dport in case.profile.dns_ports:
                    want = N.egress_allowed(mine, pod, dns_pod, "UDP", dport)
                    sels = [s for s in ans.a["egress"]["dns"]["servers"] + ans.a["egress"]["pods"]
                            if s["peer"].startswith(("pods", "every"))]
                    got = bool(sels) or not ans.a["egress"]["isolated"]
                    COUNT["queries"] += 1
                    if want != got:
                        COUNT["disagreements"] += 1
                        bad.append(f"{case.name} {ns}/{name} DNS Pods UDP/{dport}: "
                                   f"explain {got}, netpol.py {want}")
        self.assertEqual(bad[:20], [], f"{len(bad)} disagreements")
        self.assertGreater(COUNT["queries"], 500000)

    def test_at(self):
        targets = ["169.254.169.254:80", "140.82.112.3:443", "8.8.8.8", "[2606:4700:4700::1111]:443"]
        bad = []
        for case in H.all_cases():
            if case.profile.enforcement != "networkpolicy":
                continue
            objs = H.compiled_objects(case)
            policies = [o for o in objs if N.is_network_policy(o)]
            for t in targets:
                r = explain(case, "--at", t)
                self.assertEqual(r.returncode, 0, f"{case.name} {t}: {r.stderr.decode()}")
                doc = json.loads(r.stdout)
                a = ipaddress.ip_address(doc["address"])
                port = doc["port"]
                for ag in doc["agents"]:
                    ns, name = ag["namespace"], ag["name"]
                    pod_obj = [o for o in objs if o["kind"] == "Pod" and o["metadata"]["namespace"] == ns
                               and o["metadata"]["name"] == name][0]
                    pod = N.make_pod(ns, pod_obj["metadata"].get("labels") or {})
                    mine = [p for p in policies if N.policy_namespace(p) == ns]
                    via = {parse_ports(w["ports"])[0][0]: w for w in ag["via"]}
                    for proto in PROTOS:
                        if port:
                            checks = [port]
                        elif proto in via:   # any port: each range it lists, at both ends
                            checks = [x for _, lo, hi in parse_ports(via[proto]["ports"]) for x in (lo, hi)]
                        else:
                            checks = [p for pr, p in H.PROBES if pr == proto] or [443]
                        for cport in checks:
                            want = N.egress_allowed(mine, pod, a, proto, cport)
                            COUNT["at"] += 1
                            if want != (proto in via):
                                bad.append(f"{case.name} --at {t} {ns}/{name} {proto}/{cport}: "
                                           f"explain {proto in via}, netpol.py {want}")
                            elif want and "rule" in via[proto] and not rule_allows(
                                    mine, via[proto]["rule"], "egress", a, proto, cport):
                                bad.append(f"{case.name} --at {t} {ns}/{name} {proto}/{cport}: the rule "
                                           f"{via[proto]['rule']} does not allow it")
                    self.assertEqual(ag["reachable"], bool(via))
        self.assertEqual(bad[:20], [], f"{len(bad)} --at disagreements")

    def test_table(self):
        case = [c for c in H.all_cases() if c.name == "examples/agents.yaml"][0]
        r = H.run(["explain", case.spec_path])
        self.assertEqual(r.returncode, 0, r.stderr.decode())
        out = r.stdout.decode()
        self.assertNotIn("\033[", out)   # not a terminal: no colour
        self.assertIn("public IPv4 except", out)
        self.assertIn("140.82.112.0/20, TCP/443", out)
        self.assertIn("203.0.113.10", out)
        r = H.run(["explain", "--at", "nonsense", case.spec_path])
        self.assertEqual(r.returncode, 2)


if __name__ == "__main__":
    unittest.main()
