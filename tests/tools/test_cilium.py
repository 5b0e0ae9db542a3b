# SPDX-License-Identifier: Apache-2.0
"""Self-tests of the Cilium evaluator (cilium.py) on hand-written policies,
each case taken from the CiliumNetworkPolicy CRD descriptions and Cilium's
policy-language documentation."""

import unittest

import os as _os
import sys as _sys
_sys.path.insert(0, _os.path.dirname(_os.path.abspath(__file__)))

import cilium as C  # noqa: E402
import fence as F   # noqa: E402
import netpol as N  # noqa: E402

EXAMPLE = "93.184.216.34"
API_EXAMPLE = "93.184.216.35"
DEEP_EXAMPLE = "93.184.216.36"
EVIL = "198.51.100.7"
APISERVER = "203.0.113.10"


def world():
    w = F.World(apiserver_ips=[APISERVER], dns={
        "example.com": [EXAMPLE], "api.example.com": [API_EXAMPLE],
        "a.b.example.com": [DEEP_EXAMPLE], "evil.com": [EVIL],
        "rebind.example.com": ["10.1.1.1"]})
    w.node("n1", ["10.0.0.1"], {"role": "worker"})
    w.node("n2", ["10.0.0.2"], {"role": "control-plane"})
    w.ns("agents", {"team": "ai"})
    w.ns("kube-system")
    w.ns("other")
    w.pod("agents", "agent", {"app": "agent"}, ["10.1.0.5"], node="n1",
          ports={"metrics": ("TCP", 9090)})
    w.pod("kube-system", "dns", {"k8s-app": "kube-dns"}, ["10.1.0.53"], node="n2", dns_server=True)
    w.pod("other", "web", {"app": "web"}, ["10.1.1.1"], node="n2", ports={"http": ("TCP", 8080)})
    w.pod("kube-system", "hostpod", {"app": "hostpod"}, node="n2", host_network=True)
    return w


def pods(w):
    return {p.name: p for p in w.pods}


def cnp(name, ns, spec=None, specs=None):
    obj = {"apiVersion": "cilium.io/v2", "kind": "CiliumNetworkPolicy",
           "metadata": {"name": name, "namespace": ns}}
    if spec is not None:
        obj["spec"] = spec
    if specs is not None:
        obj["specs"] = specs
    return obj


def ccnp(name, spec):
    return {"apiVersion": "cilium.io/v2", "kind": "CiliumClusterwideNetworkPolicy",
            "metadata": {"name": name}, "spec": spec}


def np(name, ns, spec):
    return {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
            "metadata": {"name": name, "namespace": ns}, "spec": spec}


AGENT_SEL = {"matchLabels": {"app": "agent"}}
DNS_PEER = {"matchLabels": {"k8s:io.kubernetes.pod.namespace": "kube-system", "k8s-app": "kube-dns"}}


def dns_rule(*dns):
    """An egress rule to kube-dns on 53 with L7 DNS rules (the DNS proxy)."""
    return {"toEndpoints": [DNS_PEER], "toPorts": [{
        "ports": [{"port": "53", "protocol": "ANY"}], "rules": {"dns": list(dns)}}]}


class Base(unittest.TestCase):
    def setUp(self):
        self.w = world()
        self.p = pods(self.w)
        self.agent = self.p["agent"]

    def ev(self, *policies, **kw):
        return C.Evaluator(self.w, policies, **kw)


class DefaultDeny(Base):
    def test_no_policy_allows(self):
        ev = self.ev()
        self.assertTrue(ev.egress(self.agent, EVIL, "TCP", 443))
        self.assertTrue(ev.ingress(self.agent, EVIL, "TCP", 443))

    def test_rules_isolate_their_direction_only(self):
        ev = self.ev(cnp("p", "agents", {"endpointSelector": AGENT_SEL,
                                         "egress": [{"toEntities": ["world"]}]}))
        self.assertTrue(ev.egress(self.agent, EVIL, "TCP", 443))
        d = ev.egress(self.agent, self.p["web"], "TCP", 80)
        self.assertFalse(d)
        self.assertIn("default deny", d.reason)
        self.assertTrue(ev.ingress(self.agent, self.p["web"], "TCP", 80))

    def test_enable_default_deny_false(self):
        open_ = cnp("open", "agents", {"endpointSelector": AGENT_SEL,
                                       "enableDefaultDeny": {"egress": False},
                                       "egress": [{"toEntities": ["world"]}]})
        self.assertTrue(self.ev(open_).egress(self.agent, self.p["web"], "TCP", 80))
        # another policy that isolates: open_'s rule still joins the union
        iso = cnp("iso", "agents", {"endpointSelector": {}, "egress": [{"toEndpoints": [DNS_PEER]}]})
        ev = self.ev(open_, iso)
        self.assertFalse(ev.egress(self.agent, self.p["web"], "TCP", 80))
        d = ev.egress(self.agent, EVIL, "TCP", 443)
        self.assertTrue(d)
        self.assertEqual(str(d.rule), "CiliumNetworkPolicy agents/open egress[0]")
        # enableDefaultDeny true with no rules at all isolates
        self.assertFalse(self.ev(cnp("d", "agents", {"endpointSelector": {}, "enableDefaultDeny":
                                                     {"egress": True}})).egress(self.agent, EVIL, "TCP", 1))

    def test_empty_rule_and_ports_only_rule(self):
        ev = self.ev(cnp("p", "agents", {"endpointSelector": {}, "egress": [{}]}))
        self.assertFalse(ev.egress(self.agent, EVIL, "TCP", 443))
        ev = self.ev(cnp("p", "agents", {"endpointSelector": {}, "egress": [
            {"toPorts": [{"ports": [{"port": "443", "protocol": "TCP"}]}]}]}))
        self.assertTrue(ev.egress(self.agent, EVIL, "TCP", 443))
        self.assertTrue(ev.egress(self.agent, "10.0.0.2", "TCP", 443))
        self.assertFalse(ev.egress(self.agent, EVIL, "TCP", 80))
        # an empty peer list selects nothing, even with toPorts
        ev = self.ev(cnp("p", "agents", {"endpointSelector": {}, "egress": [
            {"toEndpoints": [], "toPorts": [{"ports": [{"port": "443"}]}]}]}))
        self.assertFalse(ev.egress(self.agent, EVIL, "TCP", 443))

    def test_host_network_pod_is_not_an_endpoint(self):
        ev = self.ev(ccnp("all", {"endpointSelector": {}, "egress": [{}], "ingress": [{}]}))
        host = self.p["hostpod"]
        self.assertTrue(ev.egress(host, EVIL, "TCP", 1))
        self.assertFalse(ev.egress(self.agent, EVIL, "TCP", 1))


class Deny(Base):
    def test_deny_beats_allow_across_policies(self):
        allow = cnp("allow", "agents", {"endpointSelector": AGENT_SEL, "egress": [{"toEntities": ["all"]}]})
        deny = ccnp("deny", {"endpointSelector": {}, "egressDeny": [
            {"toCIDRSet": [{"cidr": "198.51.100.0/24", "except": ["198.51.100.128/25"]}]}]})
        ev = self.ev(allow, deny)
        d = ev.egress(self.agent, EVIL, "TCP", 443)
        self.assertFalse(d)
        self.assertEqual(str(d.rule), "CiliumClusterwideNetworkPolicy deny egressDeny[0]")
        self.assertTrue(ev.egress(self.agent, "198.51.100.200", "TCP", 443))
        self.assertTrue(ev.egress(self.agent, EXAMPLE, "TCP", 443))

    def test_deny_applies_without_default_deny_and_by_port(self):
        deny = cnp("deny", "agents", {"endpointSelector": {}, "enableDefaultDeny": {"egress": False},
                                      "egressDeny": [{"toPorts": [{"ports": [{"port": "25"}]}]}]})
        ev = self.ev(deny)
        self.assertFalse(ev.egress(self.agent, EVIL, "TCP", 25))
        self.assertFalse(ev.egress(self.agent, self.p["web"], "UDP", 25))
        self.assertTrue(ev.egress(self.agent, EVIL, "TCP", 26))

    def test_ingress_deny(self):
        pol = cnp("p", "agents", {"endpointSelector": {}, "ingress": [{"fromEntities": ["cluster"]}],
                                  "ingressDeny": [{"fromEndpoints": [
                                      {"matchLabels": {"k8s:io.kubernetes.pod.namespace": "other"}}]}]})
        ev = self.ev(pol)
        self.assertFalse(ev.ingress(self.agent, self.p["web"], "TCP", 80))
        self.assertTrue(ev.ingress(self.agent, self.p["dns"], "TCP", 80))
        self.assertFalse(ev.ingress(self.agent, EVIL, "TCP", 80))
        self.assertFalse(ev.connection(self.p["web"], self.agent, "TCP", 80))
        self.assertTrue(ev.connection(self.p["dns"], self.agent, "TCP", 80))


class Identities(Base):
    def test_cidr_never_matches_pods_or_nodes(self):
        ev = self.ev(cnp("p", "agents", {"endpointSelector": {}, "egress": [
            {"toCIDR": ["10.0.0.0/8"]}, {"toCIDRSet": [{"cidr": "0.0.0.0/0"}]}]}))
        self.assertFalse(ev.egress(self.agent, self.p["web"], "TCP", 80))
        self.assertFalse(ev.egress(self.agent, "10.1.1.1", "TCP", 80))
        self.assertFalse(ev.egress(self.agent, "10.0.0.2", "TCP", 80))
        self.assertFalse(ev.egress(self.agent, self.p["hostpod"], "TCP", 80))
        self.assertTrue(ev.egress(self.agent, "10.200.0.1", "TCP", 80))  # unowned: world
        self.assertTrue(ev.egress(self.agent, EVIL, "TCP", 80))

    def test_networkpolicy_ipblock_under_cilium(self):
        pol = np("p", "agents", {"podSelector": {}, "policyTypes": ["Egress"],
                                 "egress": [{"to": [{"ipBlock": {"cidr": "0.0.0.0/0"}}]}]})
        ev = self.ev(pol)
        self.assertTrue(ev.egress(self.agent, EVIL, "TCP", 443))
        self.assertFalse(ev.egress(self.agent, self.p["web"], "TCP", 443))
        # the plain NetworkPolicy oracle's worst case says the opposite
        self.assertTrue(N.egress_allowed([pol], self.agent, self.p["web"], "TCP", 443))
        sel = np("s", "agents", {"podSelector": {}, "policyTypes": ["Egress"],
                                 "egress": [{"to": [{"namespaceSelector": {}}]}]})
        ev = self.ev(sel)
        self.assertTrue(ev.egress(self.agent, self.p["web"], "TCP", 443))
        self.assertFalse(ev.egress(self.agent, self.p["hostpod"], "TCP", 443))
        self.assertFalse(ev.egress(self.agent, EVIL, "TCP", 443))

    def test_apiserver_cidr_flag(self):
        allow = cnp("p", "agents", {"endpointSelector": {}, "egress": [{"toCIDR": ["203.0.113.0/24"]}]})
        self.assertTrue(self.ev(allow).egress(self.agent, APISERVER, "TCP", 443))
        self.assertTrue(self.ev(allow, cidr_matches_apiserver=True).egress(self.agent, APISERVER, "TCP", 443))
        self.assertFalse(self.ev(allow, cidr_matches_apiserver=False).egress(self.agent, APISERVER, "TCP", 443))
        deny = cnp("d", "agents", {"endpointSelector": {}, "egress": [{"toEntities": ["kube-apiserver"]}],
                                   "egressDeny": [{"toCIDR": ["203.0.113.0/24"]}]})
        self.assertTrue(self.ev(deny).egress(self.agent, APISERVER, "TCP", 443))
        self.assertFalse(self.ev(deny, cidr_matches_apiserver=True).egress(self.agent, APISERVER, "TCP", 443))
        d = self.ev(allow, deny).egress(self.agent, "203.0.113.11", "TCP", 443)   # world: denied
        self.assertFalse(d)
        self.assertEqual(d.rule.section, "egressDeny")

    def test_entities(self):
        def reach(entities, dest):
            ev = self.ev(cnp("p", "agents", {"endpointSelector": {}, "egress": [{"toEntities": entities}]}))
            return bool(ev.egress(self.agent, dest, "TCP", 1))
        self.assertTrue(reach(["host"], "10.0.0.1"))          # agent runs on n1
        self.assertFalse(reach(["host"], "10.0.0.2"))
        self.assertTrue(reach(["remote-node"], "10.0.0.2"))
        self.assertTrue(reach(["remote-node"], self.p["hostpod"]))
        self.assertFalse(reach(["remote-node"], "10.0.0.1"))
        self.assertTrue(reach(["kube-apiserver"], APISERVER))
        self.assertFalse(reach(["kube-apiserver"], "10.0.0.2"))
        for dest in (self.p["web"], "10.0.0.1", "10.0.0.2", APISERVER):
            self.assertTrue(reach(["cluster"], dest), dest)
        self.assertFalse(reach(["cluster"], EVIL))
        self.assertTrue(reach(["world"], EVIL))
        self.assertFalse(reach(["world"], APISERVER))
        self.assertFalse(reach(["world"], self.p["web"]))
        self.assertTrue(reach(["all"], EVIL))
        self.assertFalse(reach(["health", "init", "ingress", "unmanaged", "none"], self.p["web"]))
        with self.assertRaises(ValueError):
            reach(["galaxy"], EVIL)

    def test_apiserver_on_a_node(self):
        w = self.w
        w.apiserver_ips.append(F.ip("10.0.0.2"))
        ev = self.ev(cnp("p", "agents", {"endpointSelector": {}, "egress": [{"toEntities": ["kube-apiserver"]}]}))
        self.assertTrue(ev.egress(self.agent, "10.0.0.2", "TCP", 6443))
        self.assertFalse(ev.egress(self.agent, "10.0.0.1", "TCP", 6443))
        ev = self.ev(cnp("p", "agents", {"endpointSelector": {}, "egress": [{"toCIDR": ["10.0.0.2/32"]}]}))
        self.assertFalse(ev.egress(self.agent, "10.0.0.2", "TCP", 6443))

    def test_to_nodes(self):
        ev = self.ev(cnp("p", "agents", {"endpointSelector": {}, "egress": [
            {"toNodes": [{"matchLabels": {"role": "control-plane"}}]}]}))
        self.assertTrue(ev.egress(self.agent, "10.0.0.2", "TCP", 1))
        self.assertTrue(ev.egress(self.agent, self.p["hostpod"], "TCP", 1))
        self.assertFalse(ev.egress(self.agent, "10.0.0.1", "TCP", 1))
        self.assertFalse(ev.egress(self.agent, self.p["web"], "TCP", 1))


class Scope(Base):
    def test_namespaced_subject(self):
        pol = cnp("p", "other", {"endpointSelector": {}, "egress": [{}]})
        ev = self.ev(pol)
        self.assertTrue(ev.egress(self.agent, EVIL, "TCP", 1))
        self.assertFalse(ev.egress(self.p["web"], EVIL, "TCP", 1))
        # even a selector naming another namespace stays in the policy's own
        pol = cnp("p", "other", {"endpointSelector": {"matchLabels": {
            "k8s:io.kubernetes.pod.namespace": "agents"}}, "egress": [{}]})
        self.assertTrue(self.ev(pol).egress(self.agent, EVIL, "TCP", 1))

    def test_clusterwide_subject(self):
        ev = self.ev(ccnp("p", {"endpointSelector": {}, "egress": [{}]}))
        self.assertFalse(ev.egress(self.agent, EVIL, "TCP", 1))
        self.assertFalse(ev.egress(self.p["web"], EVIL, "TCP", 1))
        ev = self.ev(ccnp("p", {"endpointSelector": {"matchLabels": {
            "io.cilium.k8s.namespace.labels.team": "ai"}}, "egress": [{}]}))
        self.assertFalse(ev.egress(self.agent, EVIL, "TCP", 1))
        self.assertTrue(ev.egress(self.p["web"], EVIL, "TCP", 1))

    def test_namespaced_peer_scope(self):
        web = {"matchLabels": {"app": "web"}}
        ev = self.ev(cnp("p", "agents", {"endpointSelector": {}, "egress": [{"toEndpoints": [web]}]}))
        self.assertFalse(ev.egress(self.agent, self.p["web"], "TCP", 80))
        twin = self.w.pod("agents", "web2", {"app": "web"}, ["10.1.0.9"], node="n1")
        self.assertTrue(ev.egress(self.agent, twin, "TCP", 80))
        ev = self.ev(cnp("p", "agents", {"endpointSelector": {}, "egress": [{"toEndpoints": [
            {"matchLabels": {"app": "web", "k8s:io.kubernetes.pod.namespace": "other"}}]}]}))
        self.assertTrue(ev.egress(self.agent, self.p["web"], "TCP", 80))
        self.assertFalse(ev.egress(self.agent, twin, "TCP", 80))
        # a matchExpressions on the namespace key lifts the limit too
        ev = self.ev(cnp("p", "agents", {"endpointSelector": {}, "egress": [{"toEndpoints": [
            {"matchExpressions": [{"key": "io.kubernetes.pod.namespace", "operator": "Exists"}]}]}]}))
        self.assertTrue(ev.egress(self.agent, self.p["web"], "TCP", 80))
        # {} in a namespaced policy: the namespace's Pods only
        ev = self.ev(cnp("p", "agents", {"endpointSelector": {}, "egress": [{"toEndpoints": [{}]}]}))
        self.assertTrue(ev.egress(self.agent, twin, "TCP", 80))
        self.assertFalse(ev.egress(self.agent, self.p["web"], "TCP", 80))
        self.assertFalse(ev.egress(self.agent, EVIL, "TCP", 80))

    def test_clusterwide_peer_scope(self):
        ev = self.ev(ccnp("p", {"endpointSelector": {}, "egress": [{"toEndpoints": [{"matchLabels": {
            "app": "web"}}]}]}))
        self.assertTrue(ev.egress(self.agent, self.p["web"], "TCP", 80))
        ev = self.ev(ccnp("p", {"endpointSelector": {}, "egress": [{"toEndpoints": [{}]}]}))
        self.assertTrue(ev.egress(self.agent, self.p["web"], "TCP", 80))
        self.assertFalse(ev.egress(self.agent, EVIL, "TCP", 80))
        self.assertFalse(ev.egress(self.agent, "10.0.0.2", "TCP", 80))

    def test_reserved_selector_is_not_namespace_limited(self):
        ev = self.ev(cnp("p", "agents", {"endpointSelector": {}, "egress": [{"toEndpoints": [
            {"matchLabels": {"reserved:remote-node": ""}}]}]}))
        self.assertTrue(ev.egress(self.agent, "10.0.0.2", "TCP", 1))
        self.assertFalse(ev.egress(self.agent, "10.0.0.1", "TCP", 1))

    def test_label_sources(self):
        ident = C.Evaluator(self.w, []).identity(F.Remote(F.ip("10.1.1.1"), self.p["web"]), self.agent)
        self.assertTrue(C.endpoint_selector_matches({"matchLabels": {"k8s:app": "web"}}, ident))
        self.assertTrue(C.endpoint_selector_matches({"matchLabels": {"any:app": "web"}}, ident))
        self.assertTrue(C.endpoint_selector_matches({"matchLabels": {"app": "web"}}, ident))
        self.assertFalse(C.endpoint_selector_matches({"matchLabels": {"reserved:app": "web"}}, ident))
        self.assertTrue(C.endpoint_selector_matches({"matchLabels": {
            "k8s:io.cilium.k8s.namespace.labels.kubernetes.io/metadata.name": "other"}}, ident))
        self.assertTrue(C.endpoint_selector_matches({"matchLabels": {
            "io.cilium.k8s.policy.serviceaccount": "default"}}, ident))

    def test_specs_list(self):
        pol = cnp("p", "agents", specs=[
            {"endpointSelector": {"matchLabels": {"app": "nobody"}}, "egress": [{}]},
            {"endpointSelector": AGENT_SEL, "egress": [{"toEntities": ["world"]}]}])
        d = self.ev(pol).egress(self.agent, EVIL, "TCP", 1)
        self.assertTrue(d)
        self.assertEqual(str(d.rule), "CiliumNetworkPolicy agents/p specs[1].egress[0]")
        self.assertFalse(self.ev(pol).egress(self.agent, self.p["web"], "TCP", 1))

    def test_unmodelled_fields_raise(self):
        ev = self.ev(cnp("p", "agents", {"endpointSelector": {}, "egress": [
            {"toServices": [{"k8sService": {"serviceName": "x"}}]}]}))
        with self.assertRaises(ValueError):
            ev.egress(self.agent, EVIL, "TCP", 1)


class Ports(Base):
    def test_ports(self):
        ev = self.ev(cnp("p", "agents", {"endpointSelector": {}, "egress": [{"toEntities": ["all"], "toPorts": [
            {"ports": [{"port": "443", "protocol": "TCP"}, {"port": "53"},
                       {"port": "8000", "endPort": 8010, "protocol": "TCP"}, {"port": "0", "protocol": "SCTP"},
                       {"port": "metrics"}]}]}]}))
        ok = lambda dest, proto, port: bool(ev.egress(self.agent, dest, proto, port))
        self.assertTrue(ok(EVIL, "TCP", 443))
        self.assertFalse(ok(EVIL, "UDP", 443))
        for proto in ("TCP", "UDP", "SCTP"):                # no protocol: ANY
            self.assertTrue(ok(EVIL, proto, 53))
        self.assertTrue(ok(EVIL, "TCP", 8010))
        self.assertFalse(ok(EVIL, "TCP", 8011))
        self.assertTrue(ok(EVIL, "SCTP", 9))                 # port 0: every port
        self.assertFalse(ok(EVIL, "TCP", 9))
        self.assertFalse(ok(EVIL, "TCP", 9090))              # named port: only on a Pod declaring it
        self.assertTrue(ok(self.agent, "TCP", 9090))

    def test_ingress_named_port_is_the_subjects(self):
        ev = self.ev(cnp("p", "agents", {"endpointSelector": {}, "ingress": [
            {"fromEntities": ["world"], "toPorts": [{"ports": [{"port": "metrics", "protocol": "TCP"}]}]}]}))
        self.assertTrue(ev.ingress(self.agent, EVIL, "TCP", 9090))
        self.assertFalse(ev.ingress(self.agent, EVIL, "TCP", 8080))


class Dns(Base):
    def fqdn_policy(self, dns_rules, fqdns):
        return cnp("p", "agents", {"endpointSelector": AGENT_SEL, "egress": [
            dns_rules, {"toFQDNs": fqdns, "toPorts": [{"ports": [{"port": "443", "protocol": "TCP"}]}]}]})

    def test_fqdn_needs_the_dns_proxy(self):
        pol = self.fqdn_policy(dns_rule({"matchPattern": "*"}), [{"matchName": "example.com"}])
        ev = self.ev(pol)
        self.assertTrue(ev.egress(self.agent, EXAMPLE, "TCP", 443))
        self.assertTrue(ev.egress(self.agent, F.Name("Example.COM."), "TCP", 443))
        self.assertFalse(ev.egress(self.agent, EXAMPLE, "TCP", 80))
        self.assertFalse(ev.egress(self.agent, API_EXAMPLE, "TCP", 443))
        self.assertFalse(ev.egress(self.agent, F.Name("evil.com"), "TCP", 443))
        # the same DNS rule without rules.dns: no proxy, toFQDNs learns nothing
        plain = {"toEndpoints": [DNS_PEER], "toPorts": [{"ports": [{"port": "53", "protocol": "ANY"}]}]}
        ev = self.ev(self.fqdn_policy(plain, [{"matchName": "example.com"}]))
        self.assertTrue(ev.dns_query(self.agent, self.p["dns"], "example.com"))
        self.assertFalse(ev.egress(self.agent, EXAMPLE, "TCP", 443))
        # the proxy must let the name through
        ev = self.ev(self.fqdn_policy(dns_rule({"matchName": "api.example.com"}), [{"matchPattern": "*"}]))
        self.assertTrue(ev.egress(self.agent, API_EXAMPLE, "TCP", 443))
        self.assertFalse(ev.egress(self.agent, EXAMPLE, "TCP", 443))

    def test_fqdn_never_matches_cluster_addresses(self):
        ev = self.ev(self.fqdn_policy(dns_rule({"matchPattern": "*"}), [{"matchPattern": "*.example.com"}]))
        self.assertFalse(ev.egress(self.agent, F.Name("rebind.example.com"), "TCP", 443))
        self.assertFalse(ev.egress(self.agent, self.p["web"], "TCP", 443))
        self.assertTrue(ev.egress(self.agent, F.Name("api.example.com"), "TCP", 443))

    def test_l7_dns_restricts_names(self):
        ev = self.ev(cnp("p", "agents", {"endpointSelector": {}, "egress": [
            dns_rule({"matchName": "example.com"}), {"toEntities": ["world"]}]}))
        self.assertTrue(ev.dns_query(self.agent, self.p["dns"], "example.com"))
        d = ev.dns_query(self.agent, self.p["dns"], "evil.com", "TCP")
        self.assertFalse(d)
        self.assertEqual(str(d.rule), "CiliumNetworkPolicy agents/p egress[0]")
        self.assertFalse(ev.dns_query(self.agent, self.p["dns"], "example.com", port=5353))
        # a name destination needs the name; the same address is reachable directly
        self.assertFalse(ev.egress(self.agent, F.Name("evil.com"), "TCP", 443))
        self.assertTrue(ev.egress(self.agent, EVIL, "TCP", 443))
        self.assertTrue(ev.egress(self.agent, F.Name("example.com"), "TCP", 443))

    def test_l4_rule_voids_l7(self):
        base = cnp("p", "agents", {"endpointSelector": {}, "egress": [dns_rule({"matchName": "example.com"})]})
        l4 = np("dns", "agents", {"podSelector": {}, "policyTypes": ["Egress"], "egress": [
            {"to": [{"namespaceSelector": {"matchLabels": {N.NS_NAME_LABEL: "kube-system"}}}],
             "ports": [{"protocol": "UDP", "port": 53}]}]})
        ev = self.ev(base, l4)
        d = ev.dns_query(self.agent, self.p["dns"], "evil.com")
        self.assertTrue(d)
        self.assertEqual(d.rule.kind, "NetworkPolicy")
        # TCP 53 is not opened by the NetworkPolicy: the DNS rules still hold there
        self.assertFalse(ev.dns_query(self.agent, self.p["dns"], "evil.com", "TCP"))
        # a Cilium rule to the server with no toPorts opens every port without L7
        other = ccnp("o", {"endpointSelector": {}, "egress": [{"toEndpoints": [DNS_PEER]}]})
        self.assertTrue(self.ev(base, other).dns_query(self.agent, self.p["dns"], "evil.com", "TCP"))
        # a rule to another peer does not
        web = ccnp("o", {"endpointSelector": {}, "egress": [{"toEndpoints": [{"matchLabels": {"app": "web"}}]}]})
        self.assertFalse(self.ev(base, web).dns_query(self.agent, self.p["dns"], "evil.com"))

    def test_not_default_deny_asks_anything(self):
        ev = self.ev(cnp("p", "agents", {"endpointSelector": {}, "enableDefaultDeny": {"egress": False},
                                         "egress": [dns_rule({"matchName": "example.com"})]}))
        self.assertTrue(ev.dns_query(self.agent, self.p["dns"], "evil.com"))

    def test_patterns(self):
        m = lambda pat, name: C.dns_selector_matches({"matchPattern": pat}, name)
        self.assertTrue(m("*.cilium.io", "www.cilium.io"))
        self.assertFalse(m("*.cilium.io", "cilium.io"))
        self.assertFalse(m("*.cilium.io", "a.b.cilium.io"))
        self.assertTrue(m("**.cilium.io", "a.b.cilium.io"))
        self.assertTrue(m("**.cilium.io", "app.cilium.io"))
        self.assertFalse(m("**.cilium.io", "cilium.io"))
        self.assertFalse(m("**.cilium.io", "evilcilium.io"))
        self.assertTrue(m("*cilium.io", "cilium.io"))
        self.assertTrue(m("*cilium.io", "sub-cilium.io"))
        self.assertFalse(m("*cilium.io", "www.cilium.io"))
        self.assertTrue(m("sub*.cilium.io", "subdomain.cilium.io"))
        self.assertFalse(m("sub*.cilium.io", "www.cilium.io"))
        self.assertTrue(m("*", "a.b.c"))
        self.assertTrue(m("WWW.Cilium.IO.", "www.cilium.io"))
        self.assertFalse(m("www.cilium.io", "wwwxcilium.io"))   # '.' is literal
        n = lambda pat, name: C.dns_selector_matches({"matchName": pat}, name)
        self.assertTrue(n("Example.com", "example.com."))
        self.assertFalse(n("example.com", "www.example.com"))
        with self.assertRaises(ValueError):
            m("exa$mple.com", "example.com")

    def test_patterns_through_the_proxy(self):
        ev = self.ev(cnp("p", "agents", {"endpointSelector": {}, "egress": [
            dns_rule({"matchPattern": "*.example.com"})]}))
        self.assertTrue(ev.dns_query(self.agent, self.p["dns"], "api.example.com"))
        self.assertFalse(ev.dns_query(self.agent, self.p["dns"], "a.b.example.com"))
        self.assertFalse(ev.dns_query(self.agent, self.p["dns"], "example.com"))
        ev = self.ev(cnp("p", "agents", {"endpointSelector": {}, "egress": [
            dns_rule({"matchPattern": "**.example.com"})]}))
        self.assertTrue(ev.dns_query(self.agent, self.p["dns"], "a.b.example.com"))
        self.assertFalse(ev.dns_query(self.agent, self.p["dns"], "example.com"))


if __name__ == "__main__":
    unittest.main()
