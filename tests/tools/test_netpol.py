# SPDX-License-Identifier: Apache-2.0
"""Self-tests of the NetworkPolicy evaluator (netpol.py) on hand-written
policies, each case taken from the documented NetworkPolicy semantics."""

import unittest

import os as _os
import sys as _sys
_sys.path.insert(0, _os.path.dirname(_os.path.abspath(__file__)))

import netpol as N


def np(name, ns, pod_selector, types=None, ingress=None, egress=None):
    spec = {"podSelector": pod_selector}
    if types is not None:
        spec["policyTypes"] = types
    if ingress is not None:
        spec["ingress"] = ingress
    if egress is not None:
        spec["egress"] = egress
    return {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
            "metadata": {"name": name, "namespace": ns}, "spec": spec}


APP = N.make_pod("prod", {"app": "api", "tier": "be"}, "10.1.0.5", "api")


class Selection(unittest.TestCase):
    def test_no_policy_allows_everything(self):
        self.assertTrue(N.egress_allowed([], APP, "8.8.8.8", "TCP", 443))
        self.assertTrue(N.ingress_allowed([], APP, "8.8.8.8", "UDP", 1))

    def test_policy_in_other_namespace_does_not_apply(self):
        pol = np("deny", "other", {}, ["Ingress", "Egress"])
        self.assertTrue(N.egress_allowed([pol], APP, "8.8.8.8", "TCP", 443))

    def test_empty_pod_selector_selects_namespace(self):
        pol = np("deny", "prod", {}, ["Egress"])
        self.assertFalse(N.egress_allowed([pol], APP, "8.8.8.8", "TCP", 443))
        self.assertTrue(N.ingress_allowed([pol], APP, "8.8.8.8", "TCP", 443))

    def test_policy_types_default(self):
        # no policyTypes, no egress section: Ingress only
        pol = np("p", "prod", {"matchLabels": {"app": "api"}})
        self.assertEqual(N.policy_types(pol), ["Ingress"])
        self.assertTrue(N.egress_allowed([pol], APP, "1.1.1.1", "TCP", 80))
        self.assertFalse(N.ingress_allowed([pol], APP, "1.1.1.1", "TCP", 80))
        # an egress section adds Egress
        pol = np("p", "prod", {}, egress=[{"to": [{"ipBlock": {"cidr": "1.1.1.0/24"}}]}])
        self.assertEqual(N.policy_types(pol), ["Ingress", "Egress"])
        self.assertTrue(N.egress_allowed([pol], APP, "1.1.1.1", "TCP", 80))
        self.assertFalse(N.egress_allowed([pol], APP, "1.1.2.1", "TCP", 80))
        # an empty egress list does not
        pol = np("p", "prod", {}, egress=[])
        self.assertEqual(N.policy_types(pol), ["Ingress"])

    def test_union_of_policies(self):
        deny = np("deny", "prod", {}, ["Egress"])
        allow = np("allow", "prod", {"matchLabels": {"app": "api"}}, ["Egress"],
                   egress=[{"to": [{"ipBlock": {"cidr": "0.0.0.0/0"}}]}])
        self.assertFalse(N.egress_allowed([deny], APP, "8.8.8.8", "TCP", 443))
        self.assertTrue(N.egress_allowed([deny, allow], APP, "8.8.8.8", "TCP", 443))

    def test_empty_rule_allows_all(self):
        pol = np("all", "prod", {}, ["Egress"], egress=[{}])
        self.assertTrue(N.egress_allowed([pol], APP, "::1", "SCTP", 9))


class Peers(unittest.TestCase):
    def test_ipblock_except_and_family(self):
        pol = np("p", "prod", {}, ["Egress"], egress=[{"to": [{"ipBlock": {
            "cidr": "0.0.0.0/0", "except": ["10.0.0.0/8", "169.254.169.254/32"]}}]}])
        ok = lambda a: N.egress_allowed([pol], APP, a, "TCP", 443)
        self.assertTrue(ok("8.8.8.8"))
        self.assertFalse(ok("10.255.255.255"))
        self.assertTrue(ok("11.0.0.0"))
        self.assertFalse(ok("169.254.169.254"))
        self.assertTrue(ok("169.254.169.253"))
        self.assertFalse(ok("2001:4860:4860::8888"))  # IPv4 block, IPv6 address
        self.assertFalse(ok("::ffff:8.8.8.8"))        # IPv4-mapped is IPv6

    def test_ns_and_pod_selector_anded(self):
        peer = {"namespaceSelector": {"matchLabels": {N.NS_NAME_LABEL: "kube-system"}},
                "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}}}
        pol = np("p", "prod", {}, ["Egress"], egress=[{"to": [peer]}])
        dns = N.make_pod("kube-system", {"k8s-app": "kube-dns"})
        evil = N.make_pod("evil", {"k8s-app": "kube-dns"}, ns_labels={"name": "kube-system"})
        other = N.make_pod("kube-system", {"k8s-app": "metrics"})
        self.assertTrue(N.egress_allowed([pol], APP, dns, "UDP", 53))
        self.assertFalse(N.egress_allowed([pol], APP, evil, "UDP", 53))
        self.assertFalse(N.egress_allowed([pol], APP, other, "UDP", 53))
        # separate peers are ORed: the same selectors now match more
        pol2 = np("p", "prod", {}, ["Egress"], egress=[{"to": [
            {"namespaceSelector": peer["namespaceSelector"]},
            {"podSelector": peer["podSelector"]}]}])
        self.assertTrue(N.egress_allowed([pol2], APP, other, "UDP", 53))
        same_ns = N.make_pod("prod", {"k8s-app": "kube-dns"})
        self.assertTrue(N.egress_allowed([pol2], APP, same_ns, "UDP", 53))
        self.assertFalse(N.egress_allowed([pol2], APP, evil, "UDP", 53))

    def test_pod_selector_alone_is_own_namespace(self):
        pol = np("p", "prod", {}, ["Egress"], egress=[{"to": [{"podSelector": {}}]}])
        self.assertTrue(N.egress_allowed([pol], APP, N.make_pod("prod", {}), "TCP", 1))
        self.assertFalse(N.egress_allowed([pol], APP, N.make_pod("dev", {}), "TCP", 1))

    def test_empty_namespace_selector_is_every_namespace(self):
        pol = np("p", "prod", {}, ["Egress"], egress=[{"to": [{"namespaceSelector": {}}]}])
        self.assertTrue(N.egress_allowed([pol], APP, N.make_pod("dev", {"x": "y"}), "TCP", 1))
        self.assertFalse(N.egress_allowed([pol], APP, "10.0.0.1", "TCP", 1))

    def test_ipblock_matches_pod_ip_worst_case(self):
        pol = np("p", "prod", {}, ["Egress"], egress=[{"to": [{"ipBlock": {"cidr": "34.0.0.0/8"}}]}])
        pod = N.make_pod("dev", {}, "34.1.2.3")
        self.assertTrue(N.egress_allowed([pol], APP, pod, "TCP", 1))
        self.assertFalse(N.egress_allowed([pol], APP, pod, "TCP", 1, ipblock_matches_pods=False))

    def test_match_expressions(self):
        sel = {"matchExpressions": [
            {"key": "tier", "operator": "In", "values": ["be", "db"]},
            {"key": "env", "operator": "NotIn", "values": ["dev"]},
            {"key": "app", "operator": "Exists"},
            {"key": "debug", "operator": "DoesNotExist"}]}
        self.assertTrue(N.selector_matches(sel, {"tier": "be", "app": "x"}))
        self.assertTrue(N.selector_matches(sel, {"tier": "db", "app": "x", "env": "prod"}))
        self.assertFalse(N.selector_matches(sel, {"tier": "fe", "app": "x"}))
        self.assertFalse(N.selector_matches(sel, {"tier": "be", "app": "x", "env": "dev"}))
        self.assertFalse(N.selector_matches(sel, {"tier": "be"}))
        self.assertFalse(N.selector_matches(sel, {"tier": "be", "app": "x", "debug": "1"}))
        with self.assertRaises(ValueError):
            N.selector_matches({"matchExpressions": [{"key": "a", "operator": "Gt"}]}, {})


class Ports(unittest.TestCase):
    def test_ports(self):
        pol = np("p", "prod", {}, ["Egress"], egress=[{"ports": [
            {"port": 443}, {"protocol": "UDP", "port": 53},
            {"protocol": "TCP", "port": 8000, "endPort": 8010}, {"protocol": "SCTP"}]}])
        ok = lambda proto, port: N.egress_allowed([pol], APP, "8.8.8.8", proto, port)
        self.assertTrue(ok("TCP", 443))
        self.assertFalse(ok("UDP", 443))   # protocol defaults to TCP
        self.assertTrue(ok("UDP", 53))
        self.assertFalse(ok("TCP", 53))
        self.assertTrue(ok("TCP", 8000))
        self.assertTrue(ok("TCP", 8010))
        self.assertFalse(ok("TCP", 8011))
        self.assertTrue(ok("SCTP", 1))     # no port: every port of the protocol

    def test_named_port(self):
        pol = np("p", "prod", {}, ["Egress"], egress=[{"ports": [{"port": "metrics"}]}])
        pod = N.make_pod("dev", {}, ports={"metrics": ("TCP", 9090)})
        self.assertTrue(N.egress_allowed([pol], APP, pod, "TCP", 9090))
        self.assertFalse(N.egress_allowed([pol], APP, pod, "TCP", 9091))
        self.assertFalse(N.egress_allowed([pol], APP, "8.8.8.8", "TCP", 9090))


class Ingress(unittest.TestCase):
    def test_ingress_from(self):
        pol = np("p", "prod", {"matchLabels": {"app": "api"}}, ["Ingress"], ingress=[{
            "from": [{"namespaceSelector": {"matchLabels": {N.NS_NAME_LABEL: "monitoring"}},
                      "podSelector": {"matchLabels": {"app": "prom"}}}],
            "ports": [{"protocol": "TCP", "port": 9090}]}])
        prom = N.make_pod("monitoring", {"app": "prom"})
        self.assertTrue(N.ingress_allowed([pol], APP, prom, "TCP", 9090))
        self.assertFalse(N.ingress_allowed([pol], APP, prom, "TCP", 9091))
        self.assertFalse(N.ingress_allowed([pol], APP, N.make_pod("prod", {"app": "prom"}), "TCP", 9090))
        self.assertFalse(N.ingress_allowed([pol], APP, "10.0.0.1", "TCP", 9090))
        self.assertTrue(N.egress_allowed([pol], APP, "10.0.0.1", "TCP", 9090))
        self.assertTrue(N.connection_allowed([pol], prom, APP, "TCP", 9090))


if __name__ == "__main__":
    unittest.main()
