# SPDX-License-Identifier: Apache-2.0
"""`agentfence explain` agrees with the independent ClusterNetworkPolicy
evaluator (cnp.py) for `enforcement: clusternetworkpolicy`.

Cases: every case of harness.all_cases() whose profile has that
enforcement, and the clusternetworkpolicy cases of test_fence (the golden
edge case 006-cnp-edge and the generated specs under every profile of
tests/tools/profiles rewritten to clusternetworkpolicy).  For each, explain
--format json runs on the spec, and cnp.Evaluator on the compiled objects
(every ClusterNetworkPolicy and NetworkPolicy of the stream) in a
fence.World made by test_fence.build_world, its Pods taken without
addresses: explain's address ranges are plain addresses (networks rules
match any address, a Pod's included), its selector peers are Pods.

Checked, for every agent:
  * egress and ingress, on test_explain's sample addresses (the IANA rows,
    named and well-known addresses, the profile's ranges, the edges of every
    range explain reports), on the probe ports and the spec's ports;
  * the Pods of the World (DNS Pods, look-alikes, a victim, Prometheus, the
    other agents) on the same ports and the DNS ports, both directions:
    explain's selector peers (dns.servers, pods, ingress sources) whose rule
    peer selects the Pod must hold exactly the ports cnp.py allows;
  * domain names: every domainNames entry of explain's answer, names it
    matches and names it must not, resolving to public, blocked and edge
    addresses: allowed iff explain's ranges or a matching entry's ranges
    allow it (and DNS is reachable);
  * `--at ADDRESS[:PORT]`: the same verdict per protocol, and the rule it
    names decides the connection on its own (Accept, or a NetworkPolicy
    allow).

Prints "explain cnp: queries N, disagreements D" (D must be 0).
"""

from __future__ import annotations

import ipaddress
import json
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import cnp as K  # noqa: E402
import fence as F  # noqa: E402
import harness as H  # noqa: E402
import netpol as N  # noqa: E402
import test_explain as TE  # noqa: E402
import test_fence as TF  # noqa: E402

ENF = "clusternetworkpolicy"
COUNT = {"queries": 0, "disagreements": 0, "cases": 0}
AT_TARGETS = ["169.254.169.254:80", "140.82.112.3:443", "8.8.8.8", "[2606:4700:4700::1111]:443",
              "[2606:50c0:8000::1]:443", "10.0.0.1:53", "93.184.216.34"]


def tearDownModule():
    print(f"\nexplain cnp: queries {COUNT['queries']}, disagreements {COUNT['disagreements']} "
          f"({COUNT['cases']} cases)", file=sys.stderr)


# FULL=1: every guarded case, every sample; by default (about a minute on two
# shared cores: cnp.py takes near a millisecond a query) the examples, the golden
# edge case and six generated profiles, each agent on at most CAP addresses
# spread evenly over the ordered samples.
FULL = os.environ.get("FULL") == "1"
CAP = None if FULL else 150
GENERATED = None if FULL else 6


def cases():
    seen, out, gen = set(), [], 0
    for c in H.all_cases() + TF.guarded_cases():
        if c.profile.enforcement != ENF or os.path.realpath(c.spec_path) in seen:
            continue
        if c.generated:
            gen += 1
            if GENERATED is not None and gen > GENERATED:
                continue
        seen.add(os.path.realpath(c.spec_path))
        out.append(c)
    return out


def spread(items, cap):
    """At most cap of the items, evenly spaced, first and last included."""
    items = list(items)
    if cap is None or len(items) <= cap:
        return items
    step = (len(items) - 1) / (cap - 1)
    return [items[round(i * step)] for i in range(cap)]


def world_of(case):
    """test_fence's World, its pod-network Pods without addresses."""
    w, dns, internal, agents, _ = TF.build_world(case, unlabelled=False)
    out = F.World()
    for ns in w.namespaces.values():
        out.ns(ns.name, dict(ns.labels))
    pods = {}
    for p in w.pods:
        if p.host_network:
            continue
        pods[(p.namespace.name, p.name)] = out.pod(
            p.namespace.name, p.name, dict(p.labels), ports=dict(p.ports),
            dns_server=p in w.dns_servers, dns_ports=w.server_ports(p))
    return out, pods


def find_obj(objs, ref):
    for o in objs:
        md = o.get("metadata") or {}
        if (o.get("kind"), md.get("namespace") or "", md.get("name")) == (ref["kind"], ref["namespace"],
                                                                          ref["name"]):
            return o
    return None


def ref_rule(objs, ref, direction):
    obj = find_obj(objs, ref)
    rules = ((obj or {}).get("spec") or {}).get(direction) or []
    return obj, (rules[ref["rule"]] if 0 <= ref["rule"] < len(rules) else None)


def sel_matches(objs, item, direction, pod):
    """Does the rule peer an explain selector entry names select the Pod?"""
    ref = item.get("rule")
    if ref is None:
        return False
    obj, rule = ref_rule(objs, ref, direction)
    if rule is None:
        return False
    peers = rule.get("to" if direction == "egress" else "from") or []
    if ref["peer"] < 0:
        return True
    peer = peers[ref["peer"]]
    if K.is_cnp(obj):
        return bool(K.Evaluator._peer(peer, F.Remote(None, pod)))
    return N.peer_matches(peer, ref["namespace"], pod, True)


def rule_decides(objs, ref, direction, remote, proto, port):
    """The rule --at names allows the connection by itself."""
    obj, rule = ref_rule(objs, ref, direction)
    if rule is None:
        return False
    if K.is_cnp(obj):
        ev = K.Evaluator(F.World(), [])
        return ev._rule_outcome(rule, direction, remote, proto, port, None) == "Accept"
    return TE.rule_allows([obj], ref, direction, remote.address, proto, port)


def domain_names(ans):
    out = {"unlisted.example.com", "api.openai.com", "rebind.example.net"}
    for d in ans["egress"].get("domains") or []:
        e = d["name"].rstrip(".")
        if e.startswith("*."):
            out |= {"x." + e[2:], "a.b." + e[2:].upper(), e[2:]}
        else:
            out |= {e, "sub." + e, e.upper() + "."}
    return sorted(out)


def domain_ranges(ans):
    out = []
    for d in ans["egress"].get("domains") or []:
        rs = [(ipaddress.ip_network(r["cidr"]), TE.parse_ports(r["ports"])) for r in d["ranges"]]
        out.append((d["name"], rs))
    return out


class TestExplainCnp(unittest.TestCase):

    def check(self, bad, want, got, what):
        COUNT["queries"] += 1
        if bool(want) != bool(got):
            COUNT["disagreements"] += 1
            bad.append(f"{what}: explain {bool(got)}, cnp.py {want}")

    def test_agrees_with_cnp(self):
        cs = cases()
        self.assertGreater(len(cs), 5)
        if os.environ.get("CNP_CASES"):   # a quicker run while debugging
            cs = cs[:int(os.environ["CNP_CASES"])]
        bad = []
        for case in cs:
            COUNT["cases"] += 1
            if os.environ.get("CNP_CASES"):
                print(f"{case.name}: {len(case.agents)} agents, {COUNT['queries']} queries so far",
                      file=sys.stderr, flush=True)
            r = TE.explain(case)
            self.assertEqual(r.returncode, 0, f"{case.name}: {r.stderr.decode()}")
            doc = json.loads(r.stdout)
            self.assertEqual(doc["enforcement"], ENF)
            objs = H.compiled_objects(case)
            w, pods = world_of(case)
            ev = K.Evaluator(w, objs)
            wn = F.World()
            ev_names = K.Evaluator(wn, objs)
            answers = [TE.Answer(a) for a in doc["agents"]]
            self.assertEqual(len(answers), len(case.agents), case.name)
            common = TE.common_addresses(case)
            docs = {((d.get("metadata") or {}).get("namespace"), (d.get("metadata") or {}).get("name")): d
                    for d in case.docs if isinstance(d, dict)}
            for ans in answers:
                ns, name = ans.a["namespace"], ans.a["name"]
                me = pods[(ns, name)]
                who = f"{case.name} {ns}/{name}"
                self.assertFalse([x for x in ans.a["warnings"] if "undefined" in x], who)
                dranges = domain_ranges(ans.a)
                dedges = {a for _, rs in dranges for n, _ in rs
                                         for a in H.sample(n) + H.neighbours(n)}
                addrs = spread(TE.ordered(common | TE.edges([ans]) | dedges), CAP)
                ports = TE.probe_ports(case, docs.get((ns, name)))
                # addresses
                for d in ("egress", "ingress"):
                    fn = ev.egress if d == "egress" else ev.ingress
                    for a in addrs:
                        for proto, port in ports[d]:
                            self.check(bad, fn(me, str(a), proto, port), ans.allows(d, a, proto, port),
                                       f"{who} {d} {a} {proto}/{port}")
                # Pods, by selector
                eg, ing = ans.a["egress"], ans.a["ingress"]
                dports = [(p, n) for n in case.profile.dns_ports for p in ("UDP", "TCP")]
                for (pns, pname), other in sorted(pods.items()):
                    if other is me:
                        continue
                    for d in ("egress", "ingress"):
                        items = (eg["dns"]["servers"] + eg["pods"]) if d == "egress" else ing["sources"]
                        iso = eg["isolated"] if d == "egress" else ing["isolated"]
                        fn = ev.egress if d == "egress" else ev.ingress
                        for proto, port in sorted(set(ports[d]) | set(dports)):
                            got = not iso or any(
                                "rule" in s and TE.ports_have(TE.parse_ports(s["ports"]), proto, port)
                                and sel_matches(objs, s, d, other) for s in items)
                            self.check(bad, fn(me, other, proto, port), got,
                                       f"{who} {d} pod {pns}/{pname} {proto}/{port}")
                # domain names (DNS itself is the DNS Pods' check above: here the World
                # has no DNS server, so every name resolves)
                naddrs = spread(TE.ordered({H.addr(x) for x in H.NAMED_BLOCKED + H.WELL_KNOWN_PUBLIC}
                                    | {n.network_address for n, _ in case.profile.blocked_ranges}
                                    | {a for _, rs in dranges for n, _ in rs for a in H.neighbours(n)}),
                                CAP and CAP // 3)
                for n in spread(domain_names(ans.a), CAP and 6):
                    mine = [rs for e, rs in dranges if K.domain_matches(e, n)]
                    for a in naddrs:
                        wn.add_dns(n, [str(a)])
                        dp = [p for rs in mine for net, p in rs if a.version == net.version and a in net]
                        for proto, port in ports["egress"]:
                            got = ans.allows("egress", a, proto, port) or any(
                                TE.ports_have(p, proto, port) for p in dp)
                            self.check(bad, ev_names.egress(me, F.Name(n), proto, port), got,
                                       f"{who} name {n} -> {a} {proto}/{port}")
                    wn.dns.pop(F.dns_name(n), None)
            # --at
            ev_at = K.Evaluator(F.World(), objs)
            for t in AT_TARGETS:
                r = TE.explain(case, "--at", t)
                self.assertEqual(r.returncode, 0, f"{case.name} {t}: {r.stderr.decode()}")
                at = json.loads(r.stdout)
                a = ipaddress.ip_address(at["address"])
                for ag in at["agents"]:
                    me = pods[(ag["namespace"], ag["name"])]
                    via = {TE.parse_ports(x["ports"])[0][0]: x for x in ag["via"]}
                    for proto in TE.PROTOS:
                        if at["port"]:
                            checks = [at["port"]]
                        elif proto in via:
                            checks = [x for _, lo, hi in TE.parse_ports(via[proto]["ports"]) for x in (lo, hi)]
                        else:
                            checks = [p for pr, p in H.PROBES if pr == proto] or [443]
                        for port in checks:
                            want = ev_at.egress(me, str(a), proto, port)
                            what = f"{case.name} --at {t} {ag['namespace']}/{ag['name']} {proto}/{port}"
                            self.check(bad, want, proto in via, what)
                            if want and proto in via and "rule" in via[proto] and not rule_decides(
                                    objs, via[proto]["rule"], "egress", F.Remote(a), proto, port):
                                COUNT["disagreements"] += 1
                                bad.append(f"{what}: the rule {via[proto]['rule']} does not decide it")
                    self.assertEqual(ag["reachable"], bool(via))
        self.assertEqual(bad[:20], [], f"{len(bad)} disagreements")
        if not os.environ.get("CNP_CASES"):
            self.assertGreater(COUNT["queries"], 100000)

    def test_table(self):
        case = [c for c in cases() if c.name.startswith("examples/clusternetworkpolicy")][0]
        r = H.run(["explain", "--cluster", case.profile_path, case.spec_path])
        self.assertEqual(r.returncode, 0, r.stderr.decode())
        out = r.stdout.decode()
        self.assertIn("names       api.anthropic.com (TCP/443); *.pypi.org (TCP/443)", out)
        self.assertIn("IPv6        2606:50c0:8000::/46, TCP/443", out)
        self.assertIn("(ClusterNetworkPolicy does not filter DNS)", out)
        r = H.run(["explain", "--cluster", case.profile_path, "--at", "[2606:50c0:8000::1]:443",
                   case.spec_path])
        self.assertIn("TCP/443 by ClusterNetworkPolicy isolate-agents.job-f00d egress rule 0",
                      r.stdout.decode())


if __name__ == "__main__":
    unittest.main()
