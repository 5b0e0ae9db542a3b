# SPDX-License-Identifier: Apache-2.0
"""The fence holds when others try to widen it (enforcement: cilium and
clusternetworkpolicy), proved with the independent evaluators cilium.py and
cnp.py on the compiler's own output.

Cases: examples/cilium.yaml and examples/clusternetworkpolicy.yaml (with
their profiles), the golden edge cases tests/golden/005-cilium-edge and
006-cnp-edge, and generated specs of every egress mode (DNS-name allowlists
and `dns: false` included) under every profile of tests/tools/profiles/ and
the built-in default, each rewritten with both guarded enforcements.

For every case a simulated cluster (fence.World) holds the agents' Pods,
the DNS Pods, other Pods in kube-system, in other namespaces and in the
agents' own namespaces (a look-alike that carries no agent label), two
nodes (the agents run on the first: Cilium's `host`), a host-network Pod,
the API server and a DNS map in which some names point inside the cluster
(DNS rebinding). Then, for every agent and every scenario:

  compiled     the objects as compiled
  netpol       + a NetworkPolicy in every agent namespace that allows all
  cnp          + a CiliumNetworkPolicy there that allows all (cilium)
  unlabelled   the agents' Pods lose every label
  deleted      every per-agent policy deleted (only the guards remain)
  all          all of the above at once

no internal destination may be reachable: no Pod (the DNS Pods only on port
53), no node or host, no host-network Pod, not the API server, no address
of the blocked catalogue or the profile's ranges (harness.Profile, written
from the IANA registries, not from the compiler), no NAT64 image of one, no
name that resolves to one. What an agent must reach (public addresses,
its allowlist and names, DNS) is checked as compiled; an allowlist agent
must stay inside its allowlist under `netpol` with clusternetworkpolicy
(Admin-tier Deny); with cilium, DNS answers only the listed names.

What the languages cannot hold is not asserted, and README says so: with
Cilium a second policy can widen an allowlist to other public addresses and
void the DNS name filter; ingress from cluster Pods is left to the
per-agent policy.
"""

from __future__ import annotations

import ipaddress
import os
import re
import unittest
from pathlib import Path

import yaml

import os as _os
import sys as _sys
_sys.path.insert(0, _os.path.dirname(_os.path.abspath(__file__)))

import harness as H  # noqa: E402
import fence as F  # noqa: E402
import cilium as C  # noqa: E402
import cnp as K  # noqa: E402

CHECKS = {"queries": 0, "violations": 0, "cases": 0}
ROOT = Path(__file__).resolve().parents[2]
GUARDED = ("cilium", "clusternetworkpolicy")
SCENARIOS = ("compiled", "netpol", "cnp", "unlabelled", "deleted", "all")

# destinations in the DNS map: public (as a resolver would answer) and rebinding
PUBLIC_V4 = "162.159.140.245"
PUBLIC_V6 = "2606:4700::6812:1"
GH_CONTENT = "185.199.108.133"
METADATA = "169.254.169.254"
NAMES = ["api.openai.com", "*.githubusercontent.com", "rebind.example.net"]
PROBE_PORTS = (("TCP", 443), ("TCP", 80), ("UDP", 53), ("TCP", 10250))


def tearDownModule():
    _sys.stderr.write(f"\n[test_fence] {CHECKS['cases']} cases, {CHECKS['queries']} queries, "
                      f"{CHECKS['violations']} violations\n")


# ---------------------------------------------------------------------------
# cases
# ---------------------------------------------------------------------------

def _agent(name, ns, egress):
    return {"apiVersion": "agentfence.dev/v1alpha1", "kind": "AgentIsolation",
            "metadata": {"name": name, "namespace": ns},
            "spec": {"image": "ghcr.io/acme/agent-runner:1.4.2", "egress": egress}}


def name_docs(profile: H.Profile) -> list:
    """Agents that name domains, and one that closes DNS."""
    cidrs = [c for c in ("140.82.112.0/20", "2606:50c0:8000::/46")
             if not H.allow_conflicts(profile, H.net(c)) and
             (H.net(c).version == 6 and profile.ipv6 or H.net(c).version == 4 and (profile.ipv4 or profile.nat64))]
    docs = [_agent("names", "agents", {"mode": "allowlist", "allow": list(NAMES)}),
            _agent("names-ports", "team-b", {"mode": "allowlist", "allow": NAMES[:2] + cidrs,
                                             "ports": [443]})]
    if cidrs:
        docs.append(_agent("no-dns", "agents", {"mode": "allowlist", "allow": cidrs, "dns": False}))
    docs.append(_agent("pub-no-dns", "team-b", {"mode": "public", "dns": False}))
    return docs


_TMP = None


def guarded_cases() -> list:
    global _TMP
    if _TMP is None:
        _TMP = H.tmpdir("fence")
    out = []
    for f in ("cilium", "clusternetworkpolicy"):
        spec, prof = ROOT / "examples" / f"{f}.yaml", ROOT / "examples" / f"profile-{f}.yaml"
        out.append(_case(f"examples/{f}", spec, prof))
    for stem in ("005-cilium-edge", "006-cnp-edge"):
        g = ROOT / "tests" / "golden"
        out.append(_case(f"golden/{stem}", g / f"{stem}.yaml", g / f"{stem}.profile.yaml"))
    for pp in H.profile_paths():
        # the built-in profile as a file: a file must name a range (families
        # fail closed), and 10.0.0.0/8 is in the catalogue anyway: IPv4 only
        base = {"apiVersion": "agentfence.dev/v1alpha1", "kind": "ClusterProfile",
                "metadata": {"name": "default"}, "spec": {"podCIDRs": ["10.0.0.0/8"]}}
        if pp:
            with open(pp) as fh:
                base = yaml.safe_load(fh)
        stem = Path(pp).stem if pp else "default"
        for enf in GUARDED:
            doc = dict(base, spec=dict(base.get("spec") or {}, enforcement=enf))
            ppath = _TMP / f"{stem}-{enf}.profile.yaml"
            with open(ppath, "w") as fh:
                yaml.safe_dump(doc, fh, sort_keys=False)
            prof = H.load_profile(str(ppath))
            docs = H.generated_docs(prof) + name_docs(prof)
            spath = _TMP / f"{stem}-{enf}.yaml"
            H.dump_specs(docs, spath)
            out.append(H.Case(f"generated/{stem}/{enf}", str(spath), str(ppath), prof, docs, True))
    return out


def _case(name, spec, prof):
    with open(spec, "rb") as fh:
        docs = H.load_yaml_stream(fh.read())
    return H.Case(name, str(spec), str(prof), H.load_profile(str(prof)), docs, False)


# ---------------------------------------------------------------------------
# the cluster
# ---------------------------------------------------------------------------

class Addresses:
    """Addresses for Pods and nodes: inside the profile's ranges when it has
    them (so an ipBlock or a CIDR written for them is put to the test), else
    private ranges of the right family."""

    def __init__(self, profile: H.Profile):
        self.next = {}
        fam = 4 if profile.ipv4 else 6
        self.pod = [n for n in profile.pod if n.version == fam] or \
            [H.net("10.244.0.0/16" if fam == 4 else "fd00:10:244::/64")]
        self.node = [n for n in profile.node if n.version == fam] or \
            [H.net("10.250.0.0/16" if fam == 4 else "fd00:10:250::/64")]
        self.fam = fam

    def take(self, kind: str) -> str:
        nets = self.pod if kind == "pod" else self.node
        n = nets[0]
        i = self.next.get(kind, 10)
        self.next[kind] = i + 1
        return str(n.network_address + i)


def build_world(case: H.Case, unlabelled: bool):
    p = case.profile
    addrs = Addresses(p)
    apiserver = "192.168.255.10" if addrs.fam == 4 else "fd00:ffff::10"
    w = F.World(apiserver_ips=[apiserver])
    node_a = [addrs.take("node")]
    if p.nodelocal is not None:
        node_a.append(str(p.nodelocal))     # NodeLocal DNSCache listens on every node
    w.node("node-a", node_a)
    w.node("node-b", [addrs.take("node")])
    w.ns(p.dns_namespace)
    dns = w.pod(p.dns_namespace, "coredns", dict(p.dns_labels), ips=[addrs.take("pod")],
                node="node-b", dns_server=True, dns_ports=p.dns_ports)
    if p.lrp_labels:
        # NodeLocal DNSCache behind a Local Redirect Policy: a DNS server Pod on 53
        w.pod(p.dns_namespace, "node-local-dns", dict(p.lrp_labels), ips=[addrs.take("pod")],
              node="node-a", dns_server=True, dns_ports=(53,))
    internal = {"kube-dns-lookalike": w.pod(p.dns_namespace, "metrics", {"k8s-app": "metrics-server"},
                                            ips=[addrs.take("pod")], node="node-b"),
                "victim": w.pod("victim", "db", {"app": "db"}, ips=[addrs.take("pod")], node="node-b"),
                "prometheus": w.pod("monitoring", "prometheus",
                                    {"app.kubernetes.io/name": "prometheus", "app": "scraper",
                                     "tier": "ops"}, ips=[addrs.take("pod")], node="node-b"),
                "host-network": w.pod("kube-system", "node-exporter", {"app": "node-exporter"},
                                      node="node-b", host_network=True)}
    agents = {}
    for ag in case.agents:
        labels = {} if unlabelled else {H.JOB_LABEL: ag.name, H.MANAGED_BY: "agentfence"}
        agents[ag.key()] = w.pod(ag.namespace, ag.name, labels, ips=[addrs.take("pod")], node="node-a")
        key = f"lookalike/{ag.namespace}"
        if key not in internal:
            # a Pod in an agent namespace that is no agent (agent namespaces hold agents only)
            internal[key] = w.pod(ag.namespace, "lookalike-" + ag.namespace[:40],
                                  {"app": "lookalike"}, ips=[addrs.take("pod")], node="node-a")
    # DNS: public answers, and rebinding into the cluster and the metadata service
    w.add_dns("api.openai.com", [PUBLIC_V4, PUBLIC_V6])
    w.add_dns("raw.githubusercontent.com", [GH_CONTENT])
    w.add_dns("rebind.example.net", [METADATA, str(dns.ips[0])])
    w.add_dns("deep.rebind.githubusercontent.com", [METADATA, internal["victim"].ips[0], apiserver])
    w.add_dns("example.org", [PUBLIC_V4])
    return w, dns, internal, agents, apiserver


def blocked_samples(p: H.Profile) -> list:
    """Addresses of the blocked ranges (first, middle, last), in the profile's families."""
    out = set()
    for n, _ in p.blocked_ranges:
        for a in H.sample(n):
            out.add(a)
    return sorted(out, key=lambda a: (a.version, int(a)))


# ---------------------------------------------------------------------------
# scenarios
# ---------------------------------------------------------------------------

def hostile(objs: list, scenario: str, namespaces: set, enforcement: str) -> list:
    out = list(objs)
    if scenario in ("deleted", "all"):
        out = [o for o in out if H.is_guard(o) or o.get("kind") not in
               ("NetworkPolicy", "CiliumNetworkPolicy", "ClusterNetworkPolicy")]
    if scenario in ("netpol", "all"):
        for ns in sorted(namespaces):
            out.append({"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
                        "metadata": {"name": "allow-everything", "namespace": ns},
                        "spec": {"podSelector": {}, "policyTypes": ["Ingress", "Egress"],
                                 "ingress": [{}], "egress": [{}]}})
    if scenario in ("cnp", "all") and enforcement == "cilium":
        for ns in sorted(namespaces):
            out.append({"apiVersion": "cilium.io/v2", "kind": "CiliumNetworkPolicy",
                        "metadata": {"name": "allow-everything", "namespace": ns},
                        "spec": {"endpointSelector": {},
                                 "egress": [{"toEntities": ["all"]}],
                                 "ingress": [{"fromEntities": ["all"]}]}})
    return out


def evaluator(enforcement: str, world, objs):
    if enforcement == "cilium":
        return C.Evaluator(world, objs)
    return K.Evaluator(world, objs)


# ---------------------------------------------------------------------------
# the tests
# ---------------------------------------------------------------------------

class _FenceTests:
    case: H.Case

    @classmethod
    def setUpClass(cls):
        cls.objs = H.compiled_objects(cls.case)
        cls.enf = cls.case.profile.enforcement
        CHECKS["cases"] += 1

    def q(self, decision, want: bool, what: str):
        CHECKS["queries"] += 1
        if bool(decision) != want:
            CHECKS["violations"] += 1
            self.fail(f"{what}: expected {'allowed' if want else 'denied'}, got {decision}")

    def _scenarios(self):
        namespaces = {a.namespace for a in self.case.agents}
        for sc in SCENARIOS:
            if sc == "cnp" and self.enf != "cilium":
                continue
            world, dns, internal, pods, api = build_world(self.case, sc in ("unlabelled", "all"))
            yield sc, world, dns, internal, pods, api, evaluator(
                self.enf, world, hostile(self.objs, sc, namespaces, self.enf))

    def test_nothing_internal(self):
        p = self.case.profile
        samples = blocked_samples(p)
        for sc, world, dns, internal, pods, api, ev in self._scenarios():
            for ag in self.case.agents:
                src = pods[ag.key()]
                tag = f"{sc}: {ag.namespace}/{ag.name}"
                with self.subTest(scenario=sc, agent=ag.key()):
                    for label, pod in internal.items():
                        for proto, port in PROBE_PORTS:
                            self.q(ev.egress(src, pod, proto, port), False, f"{tag} -> {label} {proto}/{port}")
                    for proto, port in (("TCP", 8080), ("TCP", 9153), ("UDP", 5353), ("UDP", 53)):
                        if port in p.dns_ports:
                            continue   # its DNS port (5353 on OpenShift)
                        self.q(ev.egress(src, dns, proto, port), False, f"{tag} -> DNS Pod {proto}/{port}")
                    for other in pods.values():
                        if other is not src:
                            self.q(ev.egress(src, other, "TCP", 443), False, f"{tag} -> agent {other.name}")
                    for node in world.nodes.values():
                        for a in node.ips:
                            for proto, port in (("TCP", 10250), ("TCP", 22), ("TCP", 443)):
                                self.q(ev.egress(src, a, proto, port), False, f"{tag} -> node {node.name} {a} {port}")
                    for proto, port in (("TCP", 443), ("TCP", 6443)):
                        self.q(ev.egress(src, api, proto, port), False, f"{tag} -> API server {api}")
                    for a in samples:
                        self.q(ev.egress(src, str(a), "TCP", 443), False, f"{tag} -> blocked {a}")
                    for n in ("rebind.example.net", "deep.rebind.githubusercontent.com"):
                        for proto, port in (("TCP", 443), ("TCP", 80)):
                            self.q(ev.egress(src, F.Name(n), proto, port), False, f"{tag} -> {n} (rebinding)")

    def test_ingress(self):
        """From outside the cluster's Pods (Cilium), from every Pod (ClusterNetworkPolicy)
        but what a spec opens, whatever else is there."""
        for sc, world, dns, internal, pods, api, ev in self._scenarios():
            for ag in self.case.agents:
                dst = pods[ag.key()]
                opened = {(r.namespace, port) for r in ag.ingress for port in r.ports}
                with self.subTest(scenario=sc, agent=ag.key()):
                    if self.enf == "cilium":
                        # Cilium: outside the cluster's Pods (other Pods: README)
                        sources = [world.nodes["node-b"].ips[0], "198.51.100.99", PUBLIC_V4]
                    else:
                        # ClusterNetworkPolicy ingress peers are Pods only (README)
                        sources = [internal["victim"], internal["prometheus"]]
                        sources += [o for o in pods.values() if o is not dst]
                    for s in sources:
                        for port in (8080, 9090, 22):
                            if isinstance(s, F.Pod) and (s.namespace.name, port) in opened and \
                                    sc in ("compiled", "netpol"):
                                continue   # what the spec opens (its labels are checked elsewhere)
                            self.q(ev.ingress(dst, s, "TCP", port), False,
                                   f"{sc}: {s if isinstance(s, str) else s.name} -> {ag.name} {port}")

    def test_reaches_what_it_should(self):
        """As compiled: public space, the allowlist and its names, DNS."""
        p = self.case.profile
        world, dns, internal, pods, api = build_world(self.case, False)
        ev = evaluator(self.enf, world, self.objs)
        for ag in self.case.agents:
            src = pods[ag.key()]
            ports = ag.ports or [443]
            tag = f"{ag.namespace}/{ag.name}"
            with self.subTest(agent=ag.key()):
                # DNS
                listed = "api.openai.com" in ag.names
                if ag.mode == "none" or not ag.dns:
                    want_dns = False
                elif self.enf == "cilium" and ag.mode == "allowlist":
                    want_dns = listed
                else:
                    want_dns = True
                self.q(ev.may_resolve(src, "api.openai.com"), want_dns, f"{tag} resolves api.openai.com")
                if self.enf == "cilium" and ag.mode == "allowlist":
                    self.q(ev.may_resolve(src, "exfil.example.org"), False,
                           f"{tag} resolves a name its allowlist does not list")
                # public addresses
                for a in ("1.1.1.1", "2606:4700:4700::1111"):
                    v = ipaddress.ip_address(a)
                    if ag.mode in ("public", "gateway"):
                        want = p.is_public(v) and p.in_family(v) and not (ag.mode == "gateway" and v.version == 6)
                    else:
                        want = False
                    self.q(ev.egress(src, a, "TCP", ports[0]), want, f"{tag} -> {a}")
                # the allowlist
                if ag.mode == "allowlist":
                    for n in ag.allow:
                        smp = H.sample(n)
                        a = smp[len(smp) // 2]
                        if p.in_family(a):
                            self.q(ev.egress(src, str(a), "TCP", ports[0]), True, f"{tag} -> allowed {a}")
                    def public(name):   # some answer the profile leaves public
                        return any(p.is_public(a) and p.in_family(a) for a in world.resolve(name))
                    if listed:
                        self.q(ev.egress(src, F.Name("api.openai.com"), "TCP", ports[0]),
                               public("api.openai.com"), f"{tag} -> api.openai.com")
                    if "*.githubusercontent.com" in ag.names:
                        self.q(ev.egress(src, F.Name("raw.githubusercontent.com"), "TCP", ports[0]),
                               public("raw.githubusercontent.com"), f"{tag} -> raw.githubusercontent.com")
                    self.q(ev.egress(src, F.Name("example.org"), "TCP", ports[0]), False,
                           f"{tag} -> example.org (not listed)")

    def test_allowlist_holds_against_netpol(self):
        """clusternetworkpolicy: an Admin-tier Deny after the agent's Accepts keeps an
        allowlist agent inside its allowlist when a NetworkPolicy allows everything."""
        if self.enf != "clusternetworkpolicy":
            self.skipTest("Cilium deny rules take no toFQDNs (README)")
        namespaces = {a.namespace for a in self.case.agents}
        world, dns, internal, pods, api = build_world(self.case, False)
        ev = evaluator(self.enf, world, hostile(self.objs, "netpol", namespaces, self.enf))
        for ag in self.case.agents:
            if ag.mode not in ("allowlist", "none", "gateway"):
                continue
            src = pods[ag.key()]
            with self.subTest(agent=ag.key()):
                if ag.mode != "gateway":
                    self.q(ev.egress(src, "1.1.1.1", "TCP", 443), False, f"{ag.name} -> 1.1.1.1 under netpol")
                    self.q(ev.egress(src, F.Name("example.org"), "TCP", 443), False,
                           f"{ag.name} -> example.org under netpol")
                self.q(ev.egress(src, "2606:4700:4700::1111", "TCP", 443), False,
                       f"{ag.name} -> public IPv6 under netpol")


def _make_classes():
    out = {}
    for case in guarded_cases():
        slug = re.sub(r"[^A-Za-z0-9]+", "_", case.name).strip("_")
        name = f"Fence_{slug}"
        out[name] = type(name, (_FenceTests, unittest.TestCase), {"case": case})
    return out


globals().update(_make_classes())


if __name__ == "__main__":
    unittest.main()
