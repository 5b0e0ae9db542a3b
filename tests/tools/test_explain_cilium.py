# SPDX-License-Identifier: Apache-2.0
"""`agentfence explain` agrees with the independent Cilium evaluator (cilium.py).

Cases: every case of harness.all_cases() whose profile has enforcement
cilium, and test_fence's guarded cilium cases (examples/cilium.yaml, the
golden edge case 005-cilium-edge, and generated specs of every egress mode,
DNS-name allowlists included, under every profile rewritten to cilium).  For
each, test_fence.build_world makes the cluster (the agents' Pods, DNS Pods,
nodes, the API server) and cilium.Evaluator runs on the compiled objects.

Checked for every agent:
* addresses: explain's egress.ipv4/ipv6 ranges and ingress address sources
  mean `world` addresses (outside the cluster).  Every sample address of
  test_explain (the IANA rows, named and well-known addresses, the profile's
  ranges, the edges of every range explain reports) that is a world address
  of that World is checked on test_explain's ports (FULL=1: every probe
  port), egress and ingress, against the evaluator in a World
  without a DNS map (toFQDNs answer for names, below);
* names: each sample name (the spec's names and patterns, their suffix and
  deeper names, unrelated names) may be resolved iff explain's DNS servers
  are reachable and (anyName or a listed name or pattern matches it), as
  cilium.Evaluator.may_resolve says;
* the DNS Pods are named as servers iff they are reachable on a DNS port;
* `--at ADDRESS[:PORT]`: the same verdict per protocol.

By default every agent of the hand-written cases and every 8th agent of
each generated case (the offset rotates with the case, so each agent kind
is met under some profile) are checked on test_explain's ports, in about a
minute; FULL=1 checks every agent on every probe port (5.7 million
queries, about 12 minutes).

Prints "explain cilium: cases C, queries N, disagreements D" (D must be 0).
"""

from __future__ import annotations

import ipaddress
import json
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import harness as H  # noqa: E402
import cilium as C  # noqa: E402
import test_explain as TE  # noqa: E402
import test_fence as TF  # noqa: E402
import fence as F  # noqa: E402

COUNT = {"queries": 0, "disagreements": 0, "cases": 0}
AT_TARGETS = ["169.254.169.254:80", "140.82.112.3:443", "8.8.8.8", "[2606:4700:4700::1111]:443",
              "151.101.1.1:443", "162.159.140.245:443"]
OTHER_NAMES = ["example.org", "evil.example.com", "api.openai.com.evil.net", "openai.com",
               "localhost", "kubernetes.default.svc.cluster.local"]


def tearDownModule():
    print(f"\nexplain cilium: cases {COUNT['cases']}, queries {COUNT['queries']}, "
          f"disagreements {COUNT['disagreements']}", file=sys.stderr)


def cilium_cases():
    seen, out = set(), []
    for c in H.all_cases() + TF.guarded_cases():
        if c.profile.enforcement == "cilium" and (c.spec_path, c.profile_path) not in seen:
            seen.add((c.spec_path, c.profile_path))
            out.append(c)
    return out


def sample_names(case):
    out = set(OTHER_NAMES)
    for ag in case.agents:
        for n in ag.names:
            base = n.lstrip("*.")
            out |= {base, "a." + base, "a.b." + base, "x" + base, base + ".evil.net"}
            if not n.startswith("*"):
                out.add(n)
    return sorted(out)


# FULL=1: every agent and every probe port in both directions (many
# minutes); by default the
# ports of test_explain (TCP/22, UDP/53, SCTP/443 and the spec's own egress;
# ingress TCP/22 and the spec's ingress ports).
FULL = os.environ.get("FULL") == "1"
FULL_CASES = True
# Without FULL, each generated case checks every STRIDE-th agent, starting
# at an offset that rotates with the case: every agent kind is checked under
# some profile, in about a minute.
STRIDE = 8


def ports_for(case, doc):
    if FULL:
        eg, ing = TE.spec_ports(doc)
        ports = sorted(set(H.PROBES) | eg | ing | {("UDP", 5353)})
        return {"egress": ports, "ingress": ports}
    return TE.probe_ports(case, doc)


def evaluator_for(world, objs, pod):
    """cilium.Evaluator on the objects whose rules select pod: the others
    decide nothing for it (deny, default deny and allow all need selection),
    and leaving them out makes each query several times faster."""
    mine = []
    for o in objs:
        one = C.Evaluator(world, [o])
        if any(one._selects(r, pod) for r in one.rules):
            mine.append(o)
    return C.Evaluator(world, mine)


def decide(ev, src, direction, a, proto, port):
    """cilium.py's verdict for a world address (the Remote egress() and
    ingress() would build for it, without the World's scan for an owner)."""
    return ev._decide(src, direction, F.Remote(a), proto, port)


def names_allowed(ans, name):
    dns = ans["egress"]["dns"]
    if not dns["servers"] and ans["egress"]["isolated"]:
        return False
    if dns["anyName"]:
        return True
    return any(C.dns_selector_matches({"matchPattern": p}, name) for p in dns["names"])


class TestExplainCilium(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.cases = cilium_cases()

    def test_agrees_with_cilium(self):
        self.assertGreater(len(self.cases), 5 if FULL_CASES else 0)
        bad = []

        def check(want, got, what):
            COUNT["queries"] += 1
            if bool(want) != bool(got):
                COUNT["disagreements"] += 1
                bad.append(f"{what}: explain {bool(got)}, cilium.py {bool(want)}")

        for ci, case in enumerate(self.cases):
            r = TE.explain(case)
            self.assertEqual(r.returncode, 0, f"{case.name}: {r.stderr.decode()}")
            doc = json.loads(r.stdout)
            self.assertEqual(doc["enforcement"], "cilium")
            COUNT["cases"] += 1
            objs = H.compiled_objects(case)
            world, dns_pod, _, pods, _ = TF.build_world(case, False)
            ev_names = C.Evaluator(world, objs)
            world_ip, _, _, pods_ip, _ = TF.build_world(case, False)
            world_ip.dns.clear()   # addresses alone: toFQDNs answer for names
            answers = [TE.Answer(a) for a in doc["agents"]]
            self.assertEqual(len(answers), len(case.agents), case.name)
            common = TE.common_addresses(case)
            docs = {((d.get("metadata") or {}).get("namespace"), (d.get("metadata") or {}).get("name")): d
                    for d in case.docs if isinstance(d, dict)}
            names = sample_names(case)
            owned = {}

            def external(a):
                if a not in owned:
                    owned[a] = world_ip.remote_at(a).external
                return owned[a]

            for i, ans in enumerate(answers):
                if case.generated and not FULL and i % STRIDE != ci % STRIDE:
                    continue   # a rotating share of each generated case's agents
                ns, name = ans.a["namespace"], ans.a["name"]
                self.assertEqual(ans.a["egress"]["addresses"], "world")
                src = pods_ip[(ns, name)]
                ev = evaluator_for(world_ip, objs, src)
                addrs = [a for a in TE.ordered(common | TE.edges([ans])) if external(a)]
                ports = ports_for(case, docs.get((ns, name)))
                tag = f"{case.name} {ns}/{name}"
                for d in ("egress", "ingress"):
                    for a in addrs:
                        for proto, port in ports[d]:
                            check(decide(ev, src, d, a, proto, port), ans.allows(d, a, proto, port),
                                  f"{tag} {d} {a} {proto}/{port}")
                nsrc = pods[(ns, name)]
                for n in names:
                    check(ev_names.may_resolve(nsrc, n), names_allowed(ans.a, n), f"{tag} resolve {n}")
                for dport in case.profile.dns_ports:
                    sels = ans.a["egress"]["dns"]["servers"]
                    check(ev.egress(src, dns_pod, "UDP", dport),
                          bool(sels) or not ans.a["egress"]["isolated"], f"{tag} DNS Pod UDP/{dport}")
        self.assertEqual(bad[:20], [], f"{len(bad)} disagreements")
        self.assertGreater(COUNT["queries"], 100000 if FULL_CASES else 0)

    def test_at(self):
        bad = []
        for case in self.cases:
            objs = H.compiled_objects(case)
            world, _, _, pods, _ = TF.build_world(case, False)
            world.dns.clear()
            ev = C.Evaluator(world, objs)
            for t in AT_TARGETS:
                r = TE.explain(case, "--at", t)
                self.assertEqual(r.returncode, 0, f"{case.name} {t}: {r.stderr.decode()}")
                doc = json.loads(r.stdout)
                a = ipaddress.ip_address(doc["address"])
                if not world.remote_at(a).external:
                    continue
                port = doc["port"]
                for ag in doc["agents"]:
                    src = pods[(ag["namespace"], ag["name"])]
                    via = {TE.parse_ports(w["ports"])[0][0]: w for w in ag["via"]}
                    for proto in TE.PROTOS:
                        if port:
                            checks = [port]
                        elif proto in via:
                            checks = [x for _, lo, hi in TE.parse_ports(via[proto]["ports"]) for x in (lo, hi)]
                        else:
                            checks = [p for pr, p in H.PROBES if pr == proto] or [443]
                        for cport in checks:
                            want = bool(ev.egress(src, str(a), proto, cport))
                            COUNT["queries"] += 1
                            if want != (proto in via):
                                COUNT["disagreements"] += 1
                                bad.append(f"{case.name} --at {t} {ag['namespace']}/{ag['name']} "
                                           f"{proto}/{cport}: explain {proto in via}, cilium.py {want}")
                    self.assertEqual(ag["reachable"], bool(via))
        self.assertEqual(bad[:20], [], f"{len(bad)} --at disagreements")


if __name__ == "__main__":
    unittest.main()
