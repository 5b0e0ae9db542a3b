# SPDX-License-Identifier: Apache-2.0
"""Self-tests of the ClusterNetworkPolicy evaluator (cnp.py) on hand-written
policies, each case taken from the network-policy-api v0.2.0 CRD
descriptions."""

import unittest

import os as _os
import sys as _sys
_sys.path.insert(0, _os.path.dirname(_os.path.abspath(__file__)))

import cnp as P    # noqa: E402
import fence as F  # noqa: E402
import netpol as N  # noqa: E402

EXAMPLE = "93.184.216.34"
API_EXAMPLE = "93.184.216.35"
DEEP_EXAMPLE = "93.184.216.36"
EVIL = "198.51.100.7"
NSNAME = N.NS_NAME_LABEL


def world():
    w = F.World(apiserver_ips=["203.0.113.10"], dns={
        "example.com": [EXAMPLE], "api.example.com": [API_EXAMPLE],
        "a.b.example.com": [DEEP_EXAMPLE], "evil.com": [EVIL]})
    w.node("n1", ["10.0.0.1"], {"role": "worker"})
    w.node("n2", ["10.0.0.2"], {"role": "control-plane"})
    w.ns("agents", {"team": "ai"})
    w.ns("kube-system")
    w.ns("other")
    w.pod("agents", "agent", {"app": "agent"}, ["10.1.0.5"], node="n1")
    w.pod("kube-system", "dns", {"k8s-app": "kube-dns"}, ["10.1.0.53"], node="n2", dns_server=True)
    w.pod("other", "web", {"app": "web"}, ["10.1.1.1"], node="n2", ports={"http": ("TCP", 8080)})
    w.pod("kube-system", "hostpod", {}, node="n2", host_network=True)
    return w


AGENTS = {"namespaces": {"matchLabels": {NSNAME: "agents"}}}


def cnp(name, tier, priority, egress=None, ingress=None, subject=None):
    spec = {"tier": tier, "priority": priority, "subject": subject or AGENTS}
    if egress is not None:
        spec["egress"] = egress
    if ingress is not None:
        spec["ingress"] = ingress
    return {"apiVersion": "policy.networking.k8s.io/v1alpha2", "kind": "ClusterNetworkPolicy",
            "metadata": {"name": name}, "spec": spec}


def rule(action, *peers, protocols=None, key="to", name=None):
    r = {"action": action, key: list(peers)}
    if protocols is not None:
        r["protocols"] = protocols
    if name is not None:
        r["name"] = name
    return r


def np(name, ns, types, egress=None, ingress=None):
    spec = {"podSelector": {}, "policyTypes": types}
    if egress is not None:
        spec["egress"] = egress
    if ingress is not None:
        spec["ingress"] = ingress
    return {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
            "metadata": {"name": name, "namespace": ns}, "spec": spec}


ALL_V4 = {"networks": ["0.0.0.0/0"]}
DNS_OK = cnp("dns", "Admin", 0, egress=[rule("Accept", {"namespaces": {"matchLabels": {
    NSNAME: "kube-system"}}}, protocols=[{"udp": {"destinationPort": {"number": 53}}}])])
WEB = {"pods": {"namespaceSelector": {}, "podSelector": {"matchLabels": {"app": "web"}}}}


class Base(unittest.TestCase):
    def setUp(self):
        self.w = world()
        self.p = {p.name: p for p in self.w.pods}
        self.agent = self.p["agent"]

    def ev(self, *policies, **kw):
        return P.Evaluator(self.w, policies, **kw)


class Tiers(Base):
    def test_no_policy_allows(self):
        d = self.ev().egress(self.agent, EVIL, "TCP", 443)
        self.assertTrue(d)
        self.assertIn("default allow", d.reason)

    def test_admin_beats_networkpolicy(self):
        allow_all = np("all", "agents", ["Egress"], egress=[{}])
        deny = cnp("deny", "Admin", 10, egress=[rule("Deny", ALL_V4)])
        d = self.ev(allow_all, deny).egress(self.agent, EVIL, "TCP", 443)
        self.assertFalse(d)
        self.assertEqual(str(d.rule), "ClusterNetworkPolicy deny egress[0]")
        accept = cnp("acc", "Admin", 10, egress=[rule("Accept", ALL_V4)])
        deny_np = np("none", "agents", ["Egress"])
        self.assertTrue(self.ev(accept, deny_np).egress(self.agent, EVIL, "TCP", 443))

    def test_priority_order(self):
        a = cnp("a", "Admin", 10, egress=[rule("Accept", ALL_V4)])
        b = cnp("b", "Admin", 20, egress=[rule("Deny", ALL_V4)])
        self.assertTrue(self.ev(a, b).egress(self.agent, EVIL, "TCP", 1))
        self.assertTrue(self.ev(b, a).egress(self.agent, EVIL, "TCP", 1))
        a["spec"]["priority"] = 30
        d = self.ev(a, b).egress(self.agent, EVIL, "TCP", 1)
        self.assertFalse(d)
        self.assertEqual(d.rule.name, "b")

    def test_rule_order_within_policy(self):
        pol = cnp("p", "Admin", 1, egress=[
            rule("Deny", {"networks": ["198.51.100.0/24"]}, name="no-evil"), rule("Accept", ALL_V4)])
        ev = self.ev(pol, np("none", "agents", ["Egress"]))
        d = ev.egress(self.agent, EVIL, "TCP", 1)
        self.assertFalse(d)
        self.assertEqual(str(d.rule), "ClusterNetworkPolicy p egress[0] (no-evil)")
        self.assertTrue(ev.egress(self.agent, EXAMPLE, "TCP", 1))

    def test_pass_skips_rest_of_tier_to_networkpolicy(self):
        pas = cnp("pass", "Admin", 1, egress=[rule("Pass", {"networks": ["198.51.100.0/24"]})])
        deny = cnp("deny", "Admin", 2, egress=[rule("Deny", ALL_V4)])
        np_allow = np("np", "agents", ["Egress"], egress=[{"to": [{"ipBlock": {"cidr": "198.51.100.0/24"}}]}])
        ev = self.ev(pas, deny, np_allow)
        d = ev.egress(self.agent, EVIL, "TCP", 1)
        self.assertTrue(d)
        self.assertEqual(d.rule.kind, "NetworkPolicy")
        self.assertFalse(ev.egress(self.agent, EXAMPLE, "TCP", 1))  # not passed: Admin Deny
        # the NetworkPolicy tier isolates and has no rule for it: final deny, Baseline not consulted
        np_other = np("np", "agents", ["Egress"], egress=[{"to": [{"ipBlock": {"cidr": "192.0.2.0/24"}}]}])
        base_accept = cnp("base", "Baseline", 1, egress=[rule("Accept", ALL_V4)])
        d = self.ev(pas, deny, np_other, base_accept).egress(self.agent, EVIL, "TCP", 1)
        self.assertFalse(d)
        self.assertIn("NetworkPolicy tier", d.reason)
        # no NetworkPolicy: on to Baseline
        base_deny = cnp("base", "Baseline", 1, egress=[rule("Deny", ALL_V4)])
        d = self.ev(pas, deny, base_deny).egress(self.agent, EVIL, "TCP", 1)
        self.assertFalse(d)
        self.assertIn("Baseline", d.reason)
        self.assertTrue(self.ev(pas, deny).egress(self.agent, EVIL, "TCP", 1))

    def test_baseline_after_networkpolicy(self):
        base = cnp("base", "Baseline", 1, egress=[rule("Deny", ALL_V4)])
        self.assertFalse(self.ev(base).egress(self.agent, EVIL, "TCP", 1))
        np_allow = np("np", "agents", ["Egress"], egress=[{}])
        self.assertTrue(self.ev(base, np_allow).egress(self.agent, EVIL, "TCP", 1))
        # a NetworkPolicy isolating only Ingress leaves egress to Baseline
        self.assertFalse(self.ev(base, np("i", "agents", ["Ingress"])).egress(self.agent, EVIL, "TCP", 1))
        # Pass in Baseline: default allow
        bpass = cnp("bp", "Baseline", 0, egress=[rule("Pass", ALL_V4)])
        self.assertTrue(self.ev(base, bpass).egress(self.agent, EVIL, "TCP", 1))

    def test_same_priority(self):
        a = cnp("a", "Admin", 5, egress=[rule("Accept", ALL_V4)])
        b = cnp("b", "Admin", 5, egress=[rule("Deny", {"networks": ["198.51.100.0/24"]})])
        ev = self.ev(a, b)
        with self.assertRaises(P.AmbiguousOrder):
            ev.egress(self.agent, EVIL, "TCP", 1)
        self.assertTrue(ev.egress(self.agent, EXAMPLE, "TCP", 1))   # only a matches
        c = cnp("c", "Admin", 5, egress=[rule("Accept", {"networks": ["198.51.100.0/24"]})])
        self.assertTrue(self.ev(a, c).egress(self.agent, EVIL, "TCP", 1))  # they agree

    def test_subject(self):
        deny = cnp("d", "Admin", 1, egress=[rule("Deny", ALL_V4)],
                   subject={"pods": {"namespaceSelector": {"matchLabels": {"team": "ai"}},
                                     "podSelector": {"matchLabels": {"app": "agent"}}}})
        ev = self.ev(deny)
        self.assertFalse(ev.egress(self.agent, EVIL, "TCP", 1))
        self.assertTrue(ev.egress(self.p["web"], EVIL, "TCP", 1))
        other = self.w.pod("agents", "other-app", {"app": "x"}, ["10.1.0.6"], node="n1")
        self.assertTrue(ev.egress(other, EVIL, "TCP", 1))
        ev = self.ev(cnp("d", "Admin", 1, egress=[rule("Deny", ALL_V4)]))
        self.assertFalse(ev.egress(other, EVIL, "TCP", 1))
        everyone = self.ev(cnp("d", "Admin", 1, egress=[rule("Deny", ALL_V4)], subject={"namespaces": {}}))
        self.assertTrue(everyone.egress(self.p["hostpod"], EVIL, "TCP", 1))  # host network: no subject
        self.assertFalse(P.Evaluator.selects(everyone.cnps[0], self.p["hostpod"]))
        self.assertTrue(P.Evaluator.selects(everyone.cnps[0], self.agent))

    def test_invalid_objects(self):
        with self.assertRaises(ValueError):
            self.ev(cnp("x", "Developer", 1))
        with self.assertRaises(ValueError):
            self.ev(cnp("x", "Admin", 1001))


class Peers(Base):
    def test_networks_match_pod_and_node_addresses(self):
        ev = self.ev(cnp("d", "Admin", 1, egress=[rule("Deny", {"networks": ["10.0.0.0/8"]})]))
        self.assertFalse(ev.egress(self.agent, self.p["web"], "TCP", 80))
        self.assertFalse(ev.egress(self.agent, "10.0.0.2", "TCP", 80))
        self.assertFalse(ev.egress(self.agent, self.p["hostpod"], "TCP", 80))
        self.assertTrue(ev.egress(self.agent, EVIL, "TCP", 80))
        v6 = self.ev(cnp("d", "Admin", 1, egress=[rule("Deny", {"networks": ["::/0"]})]))
        self.assertTrue(v6.egress(self.agent, self.p["web"], "TCP", 80))

    def test_namespaces_and_pods_peers(self):
        ns = self.ev(cnp("d", "Admin", 1, egress=[rule("Deny", {"namespaces": {"matchLabels": {
            NSNAME: "kube-system"}}})]))
        self.assertFalse(ns.egress(self.agent, self.p["dns"], "UDP", 53))
        self.assertTrue(ns.egress(self.agent, self.p["hostpod"], "UDP", 53))   # host network excluded
        self.assertTrue(ns.egress(self.agent, self.p["web"], "UDP", 53))
        pods = self.ev(cnp("d", "Admin", 1, egress=[rule("Deny", WEB)]))
        self.assertFalse(pods.egress(self.agent, self.p["web"], "TCP", 80))
        self.assertFalse(pods.egress(self.agent, "10.1.1.1", "TCP", 80))       # the Pod's address
        self.assertTrue(pods.egress(self.agent, self.p["dns"], "TCP", 80))

    def test_nodes_peer(self):
        ev = self.ev(cnp("d", "Admin", 1, egress=[rule("Deny", {"nodes": {"matchLabels": {
            "role": "control-plane"}}})]))
        self.assertFalse(ev.egress(self.agent, "10.0.0.2", "TCP", 6443))
        self.assertFalse(ev.egress(self.agent, self.p["hostpod"], "TCP", 6443))
        self.assertTrue(ev.egress(self.agent, "10.0.0.1", "TCP", 6443))
        self.assertTrue(ev.egress(self.agent, self.p["dns"], "TCP", 6443))     # a Pod on that node

    def test_domain_names(self):
        allow = cnp("allow", "Admin", 1, egress=[rule("Accept", {"domainNames": ["*.example.com", "evil.com"]})])
        deny = cnp("deny", "Admin", 2, egress=[rule("Deny", ALL_V4)])
        ev = self.ev(allow, deny, DNS_OK)
        self.assertTrue(ev.egress(self.agent, F.Name("api.example.com"), "TCP", 443))
        self.assertTrue(ev.egress(self.agent, F.Name("A.B.Example.com."), "TCP", 443))
        self.assertFalse(ev.egress(self.agent, F.Name("example.com"), "TCP", 443))
        self.assertTrue(ev.egress(self.agent, F.Name("evil.com"), "TCP", 443))
        self.assertFalse(ev.egress(self.agent, API_EXAMPLE, "TCP", 443))       # address: no name
        self.assertFalse(ev.egress(self.agent, EVIL, "TCP", 443))
        self.assertTrue(P.domain_matches("*.kubernetes.io", "latest.blog.kubernetes.io"))
        self.assertFalse(P.domain_matches("*.kubernetes.io", "kubernetes.io"))
        self.assertFalse(P.domain_matches("*.kubernetes.io", "evilkubernetes.io"))
        self.assertFalse(P.domain_matches("kubernetes.io", "www.kubernetes.io"))
        self.assertTrue(P.domain_matches("Kubernetes.IO.", "kubernetes.io"))

    def test_name_needs_dns(self):
        allow = cnp("allow", "Admin", 1, egress=[rule("Accept", {"domainNames": ["*.example.com"]})])
        deny = cnp("deny", "Admin", 2, egress=[rule("Deny", ALL_V4)])   # blocks the DNS server too
        self.assertFalse(self.ev(allow, deny).egress(self.agent, F.Name("api.example.com"), "TCP", 443))
        ev = self.ev(allow, deny, DNS_OK)
        self.assertTrue(ev.egress(self.agent, F.Name("api.example.com"), "TCP", 443))
        self.assertTrue(ev.dns_query(self.agent, self.p["dns"], "anything.at.all"))
        self.assertFalse(ev.dns_query(self.agent, self.p["dns"], "x", "TCP"))

    def test_domain_names_only_in_accept(self):
        ev = self.ev(cnp("d", "Admin", 1, egress=[rule("Deny", {"domainNames": ["evil.com"]})]))
        with self.assertRaises(ValueError):
            ev.egress(self.agent, F.Name("evil.com"), "TCP", 1)

    def test_empty_peer_fails_closed(self):
        acc = self.ev(cnp("a", "Admin", 1, egress=[rule("Accept", {})]),
                      np("none", "agents", ["Egress"]))
        self.assertFalse(acc.egress(self.agent, EVIL, "TCP", 1))      # Accept matches nothing
        for action in ("Deny", "Pass"):
            ev = self.ev(cnp("x", "Admin", 1, egress=[rule(action, {"future": {}}, protocols=[
                {"tcp": {"destinationPort": {"number": 9}}}])]))
            d = ev.egress(self.agent, self.p["web"], "UDP", 53)
            self.assertFalse(d, action)
            self.assertEqual(d.rule.name, "x")
        # an empty peer beside a real one in an Accept rule: the real one still matches
        ok = self.ev(cnp("a", "Admin", 1, egress=[rule("Accept", {}, ALL_V4)]), np("none", "agents", ["Egress"]))
        self.assertTrue(ok.egress(self.agent, EVIL, "TCP", 1))


class Protocols(Base):
    def test_ports(self):
        pol = cnp("a", "Admin", 1, egress=[rule("Accept", ALL_V4, protocols=[
            {"tcp": {"destinationPort": {"number": 443}}},
            {"udp": {"destinationPort": {"range": {"start": 5000, "end": 5010}}}},
            {"sctp": {}},
            {"destinationNamedPort": "http"}])])
        ev = self.ev(pol, np("none", "agents", ["Egress"]))
        ok = lambda dest, proto, port: bool(ev.egress(self.agent, dest, proto, port))
        self.assertTrue(ok(EVIL, "TCP", 443))
        self.assertFalse(ok(EVIL, "UDP", 443))
        self.assertTrue(ok(EVIL, "UDP", 5000))
        self.assertTrue(ok(EVIL, "UDP", 5010))
        self.assertFalse(ok(EVIL, "UDP", 5011))
        self.assertTrue(ok(EVIL, "SCTP", 7))
        self.assertTrue(ok(self.p["web"], "TCP", 8080))   # named port of the destination Pod
        self.assertFalse(ok(self.p["web"], "TCP", 8081))
        self.assertFalse(ok(EVIL, "TCP", 8080))

    def test_no_protocols_match_all(self):
        ev = self.ev(cnp("d", "Admin", 1, egress=[rule("Deny", ALL_V4)]))
        for proto in ("TCP", "UDP", "SCTP"):
            self.assertFalse(ev.egress(self.agent, EVIL, proto, 65535))


class Ingress(Base):
    def test_ingress_peers(self):
        pol = cnp("i", "Admin", 1, ingress=[
            rule("Accept", {"namespaces": {"matchLabels": {NSNAME: "kube-system"}}}, key="from"),
            rule("Deny", {"namespaces": {}}, key="from")])
        ev = self.ev(pol)
        self.assertTrue(ev.ingress(self.agent, self.p["dns"], "TCP", 80))
        d = ev.ingress(self.agent, self.p["web"], "TCP", 80)
        self.assertFalse(d)
        self.assertEqual(str(d.rule), "ClusterNetworkPolicy i ingress[1]")
        self.assertTrue(ev.ingress(self.agent, EVIL, "TCP", 80))              # no peer matches addresses
        self.assertTrue(ev.ingress(self.agent, self.p["hostpod"], "TCP", 80))
        self.assertFalse(ev.connection(self.p["web"], self.agent, "TCP", 80))
        self.assertTrue(ev.egress(self.p["web"], self.agent, "TCP", 80))

    def test_ingress_named_port_is_the_subjects(self):
        web_subject = {"pods": {"namespaceSelector": {}, "podSelector": {"matchLabels": {"app": "web"}}}}
        pol = cnp("i", "Admin", 1, subject=web_subject, ingress=[
            rule("Deny", {"namespaces": {}}, key="from", protocols=[{"destinationNamedPort": "http"}])])
        ev = self.ev(pol)
        self.assertFalse(ev.ingress(self.p["web"], self.agent, "TCP", 8080))
        self.assertTrue(ev.ingress(self.p["web"], self.agent, "TCP", 80))


if __name__ == "__main__":
    unittest.main()
