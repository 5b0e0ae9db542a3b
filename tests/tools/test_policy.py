# SPDX-License-Identifier: Apache-2.0
"""Prove, with the independent NetworkPolicy evaluator (netpol.py), what each
compiled agent can and cannot reach.

For every examples/NAME.yaml (with examples/profile-NAME.yaml when present)
and for generated specs of every egress mode under every profile in
tests/tools/profiles/ plus the built-in default, the compiler's YAML stream is
parsed with libyaml and every NetworkPolicy in it is loaded into one simulated
cluster (so other agents' policies could widen ours, as they would).  What the
agent should reach is derived from its spec, its cluster profile and the IANA
special-purpose address registries (harness.BLOCKED_V4/V6, Profile,
expect_egress), never from the compiler's code.

Run from the repository root:
    python3 -m unittest discover -s tests/tools -p 'test_*.py'
"""

from __future__ import annotations

import ipaddress
import re
import sys
import unittest

import os as _os
import sys as _sys
_sys.path.insert(0, _os.path.dirname(_os.path.abspath(__file__)))
from typing import List, Optional

import harness as H
import netpol as N

CHECKS = {"reachability": 0, "assertions": 0}


def _count(kind="assertions", n=1):
    CHECKS[kind] += n


def tearDownModule():
    sys.stderr.write(f"\n[test_policy] {CHECKS['reachability']} reachability queries, "
                     f"{CHECKS['assertions']} other assertions\n")


# ---------------------------------------------------------------------------
# the simulated cluster around one case
# ---------------------------------------------------------------------------

DNS_PORTS = [("UDP", 53), ("TCP", 53), ("UDP", 54), ("TCP", 54), ("TCP", 80), ("UDP", 5353),
             ("TCP", 853), ("TCP", 443), ("UDP", 443)]


def pod_ips(p: H.Profile) -> list:
    """Pod addresses from the profile's podCIDRs (private and public), or
    private defaults when the profile names none."""
    nets = [n for n in p.pod if n.version in p.families()]
    if not nets:
        nets = [n for n in (H.net("10.244.0.0/16"), H.net("fd00:10:244::/56"))
                if n.version in p.families()]
    out = []
    for n in nets:
        first = int(n.network_address)
        out.append(type(n.network_address)(first + min(5, n.num_addresses - 1)))
        out.append(type(n.network_address)(first + n.num_addresses // 2))
    return out


def ns_obj(ns_name, **labels):
    return N.Namespace(ns_name, labels)


class World:
    """The objects of one compiled case and the Pods around them."""

    def __init__(self, case: H.Case):
        self.case = case
        self.p = case.profile
        self.objs = H.compiled_objects(case)
        self.policies = [o for o in self.objs if N.is_network_policy(o)]
        self.agent_pods = {}
        for ag in case.agents:
            po = H.pod_object(self.objs, ag)
            self.agent_pods[ag.key()] = N.Pod(ns_obj(ag.namespace),
                                              dict(po["metadata"].get("labels") or {}),
                                              None, po["metadata"]["name"])
        self.ips = pod_ips(self.p)

    def evaluator(self, ag: H.Agent) -> N.Evaluator:
        return N.Evaluator(self.policies, self.agent_pods[ag.key()])

    # --- Pods to probe ---------------------------------------------------------
    def dns_pods(self) -> list:
        p = self.p
        lbl = dict(p.dns_labels, **{"pod-template-hash": "5d78c9869d"})
        return [N.Pod(ns_obj(p.dns_namespace), lbl, str(a), "dns") for a in self.ips]

    def lrp_pods(self) -> list:
        """node-local-dns Pods behind a Local Redirect Policy (none without one)."""
        p = self.p
        if not p.lrp_labels:
            return []
        return [N.Pod(ns_obj(p.dns_namespace), dict(p.lrp_labels), str(a), "node-local-dns")
                for a in self.ips]

    def lookalike_dns_pods(self, ag: H.Agent) -> list:
        p = self.p
        out = []
        for a in self.ips:
            # the attacker's copy: same Pod labels, a namespace labelled to look alike
            out.append(N.Pod(ns_obj("evil", name=p.dns_namespace, **{"k8s-app": "kube-dns"}),
                             dict(p.dns_labels), str(a), "evil-dns"))
            out.append(N.Pod(ns_obj(ag.namespace), dict(p.dns_labels), str(a), "own-ns-dns"))
            out.append(N.Pod(ns_obj("default"), dict(p.dns_labels), str(a), "default-dns"))
            # a non-DNS Pod in the DNS namespace
            out.append(N.Pod(ns_obj(p.dns_namespace), {"app": "other"}, str(a), "dns-ns-other"))
        return out

    def other_pods(self, ag: H.Agent) -> list:
        out = []
        for a in self.ips:
            s = str(a)
            out += [
                N.Pod(ns_obj(ag.namespace), {"app": "web"}, s, "same-ns-web"),
                N.Pod(ns_obj(ag.namespace), {}, s, "same-ns-unlabelled"),
                N.Pod(ns_obj("default"), {"app": "db"}, s, "default-db"),
                N.Pod(ns_obj("kube-system"), {"component": "kube-apiserver"}, s, "apiserver"),
                N.Pod(ns_obj("monitoring"), {"app.kubernetes.io/name": "prometheus"}, s, "prom"),
                N.Pod(ns_obj("other-team"), {H.JOB_LABEL: ag.name}, s, "same-job-other-ns"),
            ]
            for key, pod in self.agent_pods.items():
                if key != ag.key():
                    out.append(N.Pod(pod.namespace, dict(pod.labels), s, f"agent {key}"))
        return out


# ---------------------------------------------------------------------------
# the expected behaviour, from the spec and the profile
# ---------------------------------------------------------------------------


def is_dns_pod(p: H.Profile, pod: N.Pod) -> bool:
    return (pod.namespace.name == p.dns_namespace
            and all(pod.labels.get(k) == v for k, v in p.dns_labels.items()))


def is_lrp_pod(p: H.Profile, pod: N.Pod) -> bool:
    """A node-local-dns Pod behind a Cilium Local Redirect Policy (port 53)."""
    return (bool(p.lrp_labels) and pod.namespace.name == p.dns_namespace
            and all(pod.labels.get(k) == v for k, v in p.lrp_labels.items()))


def expect_egress(p: H.Profile, ag: H.Agent, dest, proto: str, port: int) -> Optional[bool]:
    """True/False, or None where the spec says nothing (an address of an IP
    family the cluster does not have)."""
    if ag.mode == "none":
        return False
    if isinstance(dest, N.Pod):
        if is_dns_pod(p, dest) or is_lrp_pod(p, dest):
            return proto in ("UDP", "TCP") and (
                (is_dns_pod(p, dest) and port in p.dns_ports) or (is_lrp_pod(p, dest) and port == 53))
        return False
    a = dest
    if p.nodelocal is not None and a == p.nodelocal:
        return proto in ("UDP", "TCP") and port == 53
    if p.is_blocked(a):
        return False  # in every mode, whatever the allowlist says
    port_ok = ag.ports is None or (proto == "TCP" and port in ag.ports)
    if ag.mode == "public":
        ok = p.is_public(a)
    elif ag.mode == "gateway":
        # the egress gateway carries IPv4 only: IPv6 (NAT64 included) would
        # leave without the static IP, so gateway mode opens public IPv4 only
        ok = p.is_public(a) and a.version == 4
    elif ag.mode == "allowlist":
        ok = any(a.version == n.version and a in n for n in ag.allow)
        if not ok and p.nat64 and a.version == 6 and a in H.NAT64:
            e = H.nat64_embedded(a)
            ok = any(n.version == 4 and e in n for n in ag.allow)
    else:
        raise AssertionError(f"unknown mode {ag.mode}")
    if not ok:
        return False
    if not p.in_family(a):
        return None
    return port_ok


def expect_ingress(ag: H.Agent, src, proto: str, port: int) -> bool:
    if not isinstance(src, N.Pod):
        return False
    for r in ag.ingress:
        if (src.namespace.name == r.namespace
                and all(src.labels.get(k) == v for k, v in r.labels.items())
                and proto == "TCP" and port in r.ports):
            return True
    return False


def probes_for(ag: H.Agent, extra=()) -> list:
    out = list(H.PROBES) + list(extra)
    for prt in ag.ports or []:
        out += [("TCP", prt), ("UDP", prt)]
    return sorted(set(out))


# ---------------------------------------------------------------------------
# the tests
# ---------------------------------------------------------------------------


class Failures:
    def __init__(self, tc, what):
        self.tc, self.what, self.items, self.n = tc, what, [], 0

    def check(self, got, want, desc):
        self.n += 1
        if want is not None and got != want:
            self.items.append(f"{desc}: {'reachable' if got else 'unreachable'}, "
                              f"expected {'reachable' if want else 'unreachable'}")

    def done(self):
        CHECKS["reachability"] += self.n
        if self.items:
            shown = "\n  ".join(self.items[:25])
            more = f"\n  ... and {len(self.items) - 25} more" if len(self.items) > 25 else ""
            self.tc.fail(f"{self.what}: {len(self.items)} of {self.n} checks failed:\n  "
                         f"{shown}{more}")


def pod_desc(pod: N.Pod) -> str:
    return f"Pod {pod.name} {pod.namespace.name} {dict(pod.labels)} ip={pod.ip}"


class _CaseTests:
    """Mixed into one TestCase class per case (see _make_classes)."""

    case: H.Case

    @classmethod
    def setUpClass(cls):
        cls.world = World(cls.case)

    def agents(self):
        return self.case.agents

    def _egress(self, what, ag, dests, probes, mandatory_false=False):
        ev = self.world.evaluator(ag)
        f = Failures(self, f"{what} [{ag.namespace}/{ag.name} mode={ag.mode} ports={ag.ports}]")
        p = self.case.profile
        for d, why in dests:
            for proto, port in probes:
                want = expect_egress(p, ag, d, proto, port)
                if mandatory_false and not (p.nodelocal is not None and d == p.nodelocal
                                            and ag.mode != "none" and proto in ("UDP", "TCP")
                                            and port == 53):
                    # the spec model must agree that these are never reachable
                    self.assertIs(want, False, f"model says {d} ({why}) {proto}/{port} reachable")
                got = ev.egress(d, proto, port)
                dd = pod_desc(d) if isinstance(d, N.Pod) else str(d)
                f.check(got, want, f"egress to {dd} ({why}) {proto}/{port}")
        f.done()

    def test_blocked_ranges_unreachable(self):
        """First, middle and last address of every blocked range (harness
        catalogue, NAT64 rule, profile ranges): unreachable on every probed
        port and protocol, in every mode."""
        p = self.case.profile
        dests = [(a, f"{n} {why}") for n, why in p.blocked_ranges for a in H.sample(n)]
        for ag in self.agents():
            with self.subTest(agent=ag.key()):
                self._egress("blocked ranges", ag, dests, probes_for(ag), mandatory_false=True)

    def test_named_addresses_unreachable(self):
        dests = [(H.addr(a), "named") for a in H.NAMED_BLOCKED + [H.NODELOCAL_DEFAULT]]
        for ag in self.agents():
            with self.subTest(agent=ag.key()):
                self._egress("named addresses", ag, dests, probes_for(ag), mandatory_false=True)

    def test_nodelocal_dns(self):
        """169.254.20.10 (or the profile's nodeLocal): port 53 only, only when
        the profile names it, never in mode none; :80 never."""
        p = self.case.profile
        targets = {H.addr(H.NODELOCAL_DEFAULT)}
        if p.nodelocal is not None:
            targets.add(p.nodelocal)
        for ag in self.agents():
            ev = self.world.evaluator(ag)
            for t in targets:
                for proto in ("UDP", "TCP"):
                    want = p.nodelocal == t and ag.mode != "none"
                    self.assertEqual(ev.egress(t, proto, 53), want,
                                     f"{ag.key()} {t} {proto}/53")
                    self.assertFalse(ev.egress(t, proto, 54), f"{ag.key()} {t} {proto}/54")
                self.assertFalse(ev.egress(t, "TCP", 80), f"{ag.key()} {t} TCP/80")
                self.assertFalse(ev.egress(t, "TCP", 443), f"{ag.key()} {t} TCP/443")
                _count(n=5)

    def test_neighbours_of_blocked_ranges(self):
        """first-1 and last+1 of each blocked range: reachable in public and
        gateway mode when public (IPv4 outside every blocked range; IPv6 in
        2000::/3 outside every blocked range, or with NAT64 the image of a
        public IPv4 address), for the profile's families; otherwise not."""
        p = self.case.profile
        dests = []
        for n, why in p.blocked_ranges:
            for a in H.neighbours(n):
                dests.append((a, f"next to {n} ({'public' if p.is_public(a) else 'not public'})"))
        for ag in self.agents():
            with self.subTest(agent=ag.key()):
                self._egress("neighbours of blocked ranges", ag, dests, probes_for(ag))

    def test_well_known_public(self):
        p = self.case.profile
        dests = [(H.addr(a), "well-known public") for a in H.WELL_KNOWN_PUBLIC]
        if p.nat64:
            dests += [(H.NAT64.network_address + int(H.addr(a)), f"NAT64 image of {a}")
                      for a in H.WELL_KNOWN_PUBLIC if ":" not in a]
        for ag in self.agents():
            with self.subTest(agent=ag.key()):
                # the model's claims checked by hand, so the model cannot hide a gap
                for a, _ in dests:
                    if not p.in_family(a):
                        continue
                    for proto, port in (("TCP", 443), ("TCP", 22), ("UDP", 22)):
                        want = expect_egress(p, ag, a, proto, port)
                        if ag.mode in ("public", "gateway"):
                            # public unless the profile blocks it (edge-wide blocks 0.0.0.0/1);
                            # gateway mode: IPv4 only
                            hand = ((ag.mode == "public" or a.version == 4)
                                    and not p.is_blocked(a)
                                    and not (a in H.NAT64 and p.is_blocked(H.nat64_embedded(a)))
                                    and (ag.ports is None or (proto == "TCP" and port in ag.ports)))
                            self.assertEqual(want, hand, f"model {a} {proto}/{port}")
                        elif ag.mode == "none":
                            self.assertIs(want, False)
                        _count()
                self._egress("well-known public addresses", ag, dests, probes_for(ag))

    def test_allowlist(self):
        """Only the allowed CIDRs (and their NAT64 images with nat64) are
        reachable, on the allowed ports; just outside them is not."""
        p = self.case.profile
        for ag in self.agents():
            if ag.mode != "allowlist":
                continue
            with self.subTest(agent=ag.key()):
                dests = []
                for n in ag.allow:
                    dests += [(a, f"in allow {n}") for a in H.sample(n)]
                    dests += [(a, f"next to allow {n}") for a in H.neighbours(n)]
                    if p.nat64 and n.version == 4:
                        img = H.nat64_image(n)
                        dests += [(a, f"in NAT64 image {img} of allow {n}") for a in H.sample(img)]
                        dests += [(a, f"next to NAT64 image {img}") for a in H.neighbours(img)]
                # hand-checked: every allowed sample is reachable on an allowed port
                ev = self.world.evaluator(ag)
                port = ag.ports[0] if ag.ports else 443
                for a, why in dests:
                    if why.startswith("in ") and p.in_family(a) and not p.is_blocked(a):
                        self.assertTrue(ev.egress(a, "TCP", port), f"{a} ({why}) TCP/{port}")
                        _count()
                self._egress("allowlist", ag, dests, probes_for(ag))

    def test_dns(self):
        """DNS: UDP/TCP on the profile's DNS ports (53, 5353 on OpenShift)
        only, only to Pods with the profile's DNS labels in the profile's DNS
        namespace; never in mode none."""
        p = self.case.profile
        for ag in self.agents():
            with self.subTest(agent=ag.key()):
                ev = self.world.evaluator(ag)
                for d in self.world.dns_pods():
                    for proto in ("UDP", "TCP"):
                        for port in p.dns_ports:
                            self.assertEqual(ev.egress(d, proto, port), ag.mode != "none",
                                             f"{pod_desc(d)} {proto}/{port}")
                            _count()
                for d in self.world.lrp_pods():
                    for proto in ("UDP", "TCP"):
                        self.assertEqual(ev.egress(d, proto, 53), ag.mode != "none",
                                         f"{pod_desc(d)} {proto}/53")
                        _count()
                dests = [(d, "DNS Pod") for d in self.world.dns_pods()]
                dests += [(d, "node-local-dns Pod") for d in self.world.lrp_pods()]
                dests += [(d, "look-alike DNS Pod") for d in self.world.lookalike_dns_pods(ag)]
                self._egress("DNS", ag, dests, sorted(set(DNS_PORTS + probes_for(ag))))

    def test_other_pods_unreachable(self):
        for ag in self.agents():
            with self.subTest(agent=ag.key()):
                dests = [(d, "other Pod") for d in self.world.other_pods(ag)]
                self._egress("other Pods", ag, dests, probes_for(ag), mandatory_false=True)

    def test_ingress(self):
        """Closed from everything unless spec.ingress allows it, and then only
        from the named namespace's Pods with those labels, on those TCP ports."""
        w = self.world
        for ag in self.agents():
            with self.subTest(agent=ag.key()):
                ev = w.evaluator(ag)
                srcs = []
                rule_ports = set()
                for r in ag.ingress:
                    lbl = dict(r.labels, extra="x")
                    for a in w.ips[:2]:
                        s = str(a)
                        srcs += [
                            N.Pod(ns_obj(r.namespace), lbl, s, "allowed source"),
                            N.Pod(ns_obj(r.namespace), {"app": "other"}, s, "rule ns, other labels"),
                            N.Pod(ns_obj(ag.namespace), lbl, s, "rule labels, agent ns"),
                            N.Pod(ns_obj("evil", name=r.namespace), lbl, s, "rule labels, look-alike ns"),
                        ]
                        if len(r.labels) > 1:
                            k0 = sorted(r.labels)[0]
                            part = {k: v for k, v in r.labels.items() if k != k0}
                            srcs.append(N.Pod(ns_obj(r.namespace), part, s, "rule ns, partial labels"))
                    rule_ports.update(r.ports)
                    # hand-checked: the allowed source reaches every rule port over TCP
                    src = N.Pod(ns_obj(r.namespace), lbl, None, "allowed source")
                    for prt in r.ports:
                        self.assertTrue(ev.ingress(src, "TCP", prt),
                                        f"ingress from {pod_desc(src)} TCP/{prt}")
                        _count()
                srcs += [d for d in w.other_pods(ag)]
                srcs += w.dns_pods()
                ips = [H.addr(a) for a in H.WELL_KNOWN_PUBLIC + ["10.0.0.1", "192.168.1.1",
                                                                "169.254.169.254", "::1"]]
                ips += list(w.ips)
                probes = set(H.PROBES) | {("TCP", x) for x in [9090, 9100, 8080, 8081]}
                probes |= {(pr, x) for x in rule_ports for pr in ("TCP", "UDP", "SCTP")}
                probes |= {("TCP", x + 1) for x in rule_ports}
                f = Failures(self, f"ingress [{ag.namespace}/{ag.name}]")
                for s in srcs + ips:
                    for proto, port in sorted(probes):
                        want = expect_ingress(ag, s, proto, port)
                        d = pod_desc(s) if isinstance(s, N.Pod) else str(s)
                        f.check(ev.ingress(s, proto, port), want, f"ingress from {d} {proto}/{port}")
                f.done()

    def test_policy_selects_exactly_its_agent(self):
        w = self.world
        groups = H.group_objects(w.objs)
        pods = {}
        for g in groups:
            for o in g:
                if o.get("kind") == "Pod":
                    m = o["metadata"]
                    pods[(m["namespace"], m["name"])] = N.Pod(ns_obj(m["namespace"]),
                                                              dict(m.get("labels") or {}),
                                                              None, m["name"])
        for g in groups:
            nps = [o for o in g if o.get("kind") == "NetworkPolicy"]
            own = [o for o in g if o.get("kind") == "Pod"]
            self.assertEqual(len(nps), 1, f"group {[o.get('kind') for o in g]}")
            self.assertEqual(len(own), 1, f"group {[o.get('kind') for o in g]}")
            np_, m = nps[0], own[0]["metadata"]
            own_key = (m["namespace"], m["name"])
            selected = {k for k, pod in pods.items() if N.selects(np_, pod)}
            self.assertEqual(selected, {own_key},
                             f"{np_['metadata']['name']} selects {sorted(selected)}")
            types = N.policy_types(np_)
            self.assertIn("Ingress", types, np_["metadata"]["name"])
            self.assertIn("Egress", types, np_["metadata"]["name"])
            # an identically-labelled Pod in another namespace is not selected
            twin = N.Pod(ns_obj("other-team"), dict(pods[own_key].labels), None, "twin")
            self.assertFalse(N.selects(np_, twin))
            _count(n=5)
        for key, pod in pods.items():
            self.assertTrue(N.is_isolated(w.policies, pod, "Egress"), key)
            self.assertTrue(N.is_isolated(w.policies, pod, "Ingress"), key)
            _count(n=2)
        self.assertEqual(len(pods), len(self.case.agents))

    def test_egress_gateway(self):
        w = self.world
        all_cegp = [o for o in w.objs if o.get("kind") == "CiliumEgressGatewayPolicy"]
        names = [o["metadata"]["name"] for o in all_cegp]
        self.assertEqual(len(names), len(set(names)), f"CiliumEgressGatewayPolicy names {names}")
        gw_agents = [ag for ag in self.agents() if ag.mode == "gateway"]
        self.assertEqual(len(all_cegp), len(gw_agents))
        for ag in gw_agents:
            with self.subTest(agent=ag.key()):
                pod = w.agent_pods[ag.key()]
                mine = [o for o in all_cegp if cegp_selects(o, pod)]
                self.assertEqual(len(mine), 1, f"{len(mine)} egress gateway policies select "
                                               f"{ag.key()}")
                c = mine[0]
                gw = c["spec"]["egressGateway"]
                self.assertEqual(str(gw.get("egressIP")), ag.static_ip)
                self.assertEqual(ipaddress.ip_address(str(gw["egressIP"])),
                                 ipaddress.ip_address(ag.static_ip))
                if ag.gw_selector:
                    self.assertEqual(gw["nodeSelector"].get("matchLabels"), ag.gw_selector)
                self.assertTrue(gw.get("nodeSelector"), "an empty nodeSelector matches every node")
                # the same labels in another namespace, or another agent: not selected
                for other_ns in ["other-team", "evil"] + H.GEN_NAMESPACES:
                    if other_ns == ag.namespace:
                        continue
                    twin = N.Pod(ns_obj(other_ns), dict(pod.labels), None, "twin")
                    self.assertFalse(cegp_selects(c, twin), f"{c['metadata']['name']} selects "
                                                            f"{ag.name} in {other_ns}")
                for key, other in w.agent_pods.items():
                    if key != ag.key():
                        self.assertFalse(cegp_selects(c, other),
                                         f"{c['metadata']['name']} selects agent {key}")
                _count(n=6)
        # the same job id in two namespaces: two distinct names
        by_job = {}
        for ag in gw_agents:
            by_job.setdefault(ag.name, []).append(ag)
        for job, ags in by_job.items():
            if len(ags) > 1:
                nm = {[o for o in all_cegp if cegp_selects(o, w.agent_pods[a.key()])][0]
                      ["metadata"]["name"] for a in ags}
                self.assertEqual(len(nm), len(ags), f"job {job}: {nm}")
                _count()


def cegp_selects(cegp: dict, pod: N.Pod) -> bool:
    """Cilium's view: endpoint labels carry io.kubernetes.pod.namespace;
    a namespaceSelector matches the namespace's labels."""
    labels = dict(pod.labels)
    labels[H.CILIUM_NS_LABEL] = pod.namespace.name
    for sel in (cegp.get("spec") or {}).get("selectors") or []:
        ps, nss = sel.get("podSelector"), sel.get("namespaceSelector")
        if ps is not None and not N.selector_matches(ps, labels):
            continue
        if nss is not None and not N.selector_matches(nss, pod.namespace.all_labels()):
            continue
        return True
    return False


def _make_classes():
    out = {}
    for case in H.all_cases():
        if case.profile.enforcement == "cilium":
            continue   # no NetworkPolicy: test_fence.py evaluates these with cilium.py
        slug = re.sub(r"[^A-Za-z0-9]+", "_", case.name).strip("_")
        name = f"Policy_{slug}"
        out[name] = type(name, (_CaseTests, unittest.TestCase), {"case": case})
    return out


globals().update(_make_classes())


class Nat64ImageOfAllowlist(unittest.TestCase):
    """With nat64: true, an allowlist's IPv4 entry is also reachable through
    its NAT64 image in 64:ff9b::/96.  That image must stay out of the
    profile's IPv6 never-reachable ranges, as public mode keeps it out.

    COMPILER BUG found by this test (agentfence 0.1.0, not fixed here; the
    test is kept as it is and fails until the compiler is fixed):
      input:    --cluster tests/tools/profiles/nat64-blocked-image.yaml
                (nat64: true, blockedCIDRs [64:ff9b::8c52:7000/120, ...])
                spec egress {mode: allowlist, allow: [140.82.112.0/20]}
      expected: 64:ff9b::8c52:7000/120 unreachable (refuse the entry, or
                carve the blocked range out of the NAT64 image)
      got:      ipBlock {cidr: 64:ff9b::8c52:7000/116} with no except, so
                64:ff9b::8c52:7001 is reachable on every port.
    The same with profiles/overlapping.yaml, whose podCIDRs hold the whole
    64:ff9b::/96: the allowlist still opens 64:ff9b::8c52:7000/116.
    Either fix (exit 1, or an except) passes this test."""

    CASES = [
        ("nat64-blocked-image.yaml", ["140.82.112.0/20"]),
        ("nat64-blocked-image.yaml", ["8.8.8.0/24", "8.8.4.0/24"]),
        ("nat64-blocked-image.yaml", ["8.8.8.8/32"]),
        ("overlapping.yaml", ["140.82.112.0/20"]),
    ]

    def test_nat64_image_stays_out_of_profile_ranges(self):
        for prof_name, allow in self.CASES:
            with self.subTest(profile=prof_name, allow=allow):
                prof_path = str(H.PROFILES_DIR / prof_name)
                p = H.load_profile(prof_path)
                d = H.tmpdir("nat64-image")
                sp = d / "spec.yaml"
                H.dump_specs([H._agent("img", "agents", {"mode": "allowlist", "allow": allow})], sp)
                r = H.run(["compile", "--cluster", prof_path, str(sp)])
                if r.returncode == 1:
                    continue  # refusing the entry is a correct answer
                self.assertEqual(r.returncode, 0, r.stderr.decode(errors="replace"))
                objs = H.load_yaml_stream(r.stdout)
                policies = [o for o in objs if N.is_network_policy(o)]
                po = [o for o in objs if o.get("kind") == "Pod"][0]
                ev = N.Evaluator(policies, N.Pod(ns_obj("agents"), po["metadata"]["labels"]))
                bad = []
                for c in allow:
                    img = H.nat64_image(H.net(c))
                    for b in H.allow_conflicts(p, H.net(c)):
                        inter = b if b.subnet_of(img) else img if img.subnet_of(b) else None
                        if inter is None:
                            continue
                        for a in H.sample(inter):
                            for proto, port in H.PROBES:
                                CHECKS["reachability"] += 1
                                if ev.egress(a, proto, port):
                                    bad.append(f"{a} {proto}/{port} (in {b}, image of {c})")
                self.assertEqual(bad[:10], [], f"{len(bad)} blocked NAT64 destinations reachable")


class CompileRefusals(unittest.TestCase):
    """Inputs the compiler must refuse (exit 1, nothing on stdout)."""

    def _refused(self, docs, profile=None):
        d = H.tmpdir("refused")
        sp = d / "spec.yaml"
        H.dump_specs(docs, sp)
        args = ["compile"] + (["--cluster", profile] if profile else []) + [str(sp)]
        r = H.run(args)
        self.assertEqual(r.returncode, 1, r.stderr.decode(errors="replace"))
        self.assertEqual(r.stdout, b"")

    def test_gateway_needs_ipv4(self):
        self._refused([H._agent("gw", "agents", {"mode": "gateway", "staticIP": "203.0.113.10"})],
                      str(H.PROFILES_DIR / "ipv6-only-nat64.yaml"))

    def test_allow_blocked_range(self):
        for c in ["10.1.0.0/16", "169.254.169.254/32", "0.0.0.0/0", "fd00::/8", "2001:db8::/48",
                  "64:ff9b::a9fe:a9fe/128", "::ffff:0:0/96", "168.63.129.16/32"]:
            with self.subTest(cidr=c):
                self._refused([H._agent("a", "agents", {"mode": "allowlist", "allow": [c]})])

    def test_duplicate_agent(self):
        a = H._agent("twice", "agents", {"mode": "public"})
        b = H._agent("twice", "agents", {"mode": "none"})
        self._refused([a, b])

    def test_allow_blocked_ipv4_on_nat64_ipv6_only(self):
        """On an IPv6-only cluster with NAT64 an IPv4 allow entry is reached
        through NAT64, so the IPv4 catalogue still applies."""
        prof = str(H.PROFILES_DIR / "ipv6-only-nat64.yaml")
        for c in ["10.0.0.0/8", "169.254.169.254/32", "0.0.0.0/0", "100.100.100.200/32"]:
            with self.subTest(cidr=c):
                self._refused([H._agent("a", "agents", {"mode": "allowlist", "allow": [c]})], prof)

    def test_allow_profile_range(self):
        prof = str(H.PROFILES_DIR / "public-cluster.yaml")
        for c in ["34.0.0.0/24", "34.0.0.0/8", "2600:1f00::/48", "44.200.0.0/16"]:
            with self.subTest(cidr=c):
                self._refused([H._agent("a", "agents", {"mode": "allowlist", "allow": [c]})], prof)


if __name__ == "__main__":
    unittest.main()
