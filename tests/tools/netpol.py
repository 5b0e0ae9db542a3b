# SPDX-License-Identifier: Apache-2.0
"""An independent evaluator of Kubernetes NetworkPolicy (networking.k8s.io/v1).

Written from the NetworkPolicy API semantics as the Kubernetes documentation
states them (NetworkPolicySpec, NetworkPolicyPeer, IPBlock, NetworkPolicyPort,
LabelSelector), not from agentfence's code, so that it can serve as an oracle
for what the compiled objects allow:

* A Pod is isolated for a direction iff at least one NetworkPolicy in the
  Pod's namespace selects it (spec.podSelector; an empty selector selects every
  Pod of the namespace) and lists that direction in its policyTypes.
  policyTypes, when absent or empty, defaults to ["Ingress"] plus "Egress" when
  the policy has a non-empty egress list (the API server's defaulting).
* A non-isolated direction allows everything.  An isolated one allows a
  connection iff at least one rule of at least one selecting policy (of that
  type) matches it: allows are unioned across rules and policies.
* A rule matches when one of its peers matches (an absent or empty to/from
  list matches every peer) and one of its ports matches (an absent or empty
  ports list matches every port and protocol).
* Peers: ipBlock matches an address inside cidr and outside every except entry
  (same address family only); namespaceSelector + podSelector in one peer are
  ANDed; podSelector alone means the policy's own namespace; namespaceSelector
  alone means every Pod of the selected namespaces; an empty selector ({})
  matches everything.
* Ports: protocol defaults to TCP; port absent matches every port of that
  protocol; endPort makes [port, endPort] inclusive; a named port matches only
  a Pod peer that declares that container port name (with that protocol).
* LabelSelector: matchLabels and matchExpressions (In, NotIn, Exists,
  DoesNotExist) are ANDed.  NotIn and DoesNotExist match a missing key.

Whether an ipBlock also matches the IP address of an in-cluster Pod depends on
the network plugin (Cilium: no; several others: yes).  The evaluator takes the
worst case by default (``ipblock_matches_pods=True``): a Pod peer is reachable
when its selectors match OR its IP falls in an ipBlock, so a test that asserts
"unreachable" holds on every plugin.
"""

from __future__ import annotations

import functools
import ipaddress
from dataclasses import dataclass, field
from typing import Iterable, Mapping, Optional, Sequence, Union

NS_NAME_LABEL = "kubernetes.io/metadata.name"

IPAddress = Union[ipaddress.IPv4Address, ipaddress.IPv6Address]


def ip(value) -> IPAddress:
    """An ipaddress address from a string or an address."""
    if isinstance(value, (ipaddress.IPv4Address, ipaddress.IPv6Address)):
        return value
    return ipaddress.ip_address(str(value))


@dataclass(frozen=True)
class Namespace:
    """A namespace; the API server always sets kubernetes.io/metadata.name."""
    name: str
    labels: Mapping[str, str] = field(default_factory=dict)

    def all_labels(self) -> dict:
        merged = dict(self.labels)
        merged[NS_NAME_LABEL] = self.name  # immutable, set by the API server
        return merged


@dataclass(frozen=True)
class Pod:
    """A Pod: its namespace, labels, optional IP and named container ports.

    ports maps a container port name to (protocol, number)."""
    namespace: Namespace
    labels: Mapping[str, str] = field(default_factory=dict)
    ip: Optional[str] = None
    name: str = "pod"
    ports: Mapping[str, tuple] = field(default_factory=dict)

    def address(self) -> Optional[IPAddress]:
        return ip(self.ip) if self.ip is not None else None


def make_pod(namespace: Union[str, Namespace], labels=None, pod_ip=None, name="pod",
             ns_labels=None, ports=None) -> Pod:
    if isinstance(namespace, str):
        namespace = Namespace(namespace, dict(ns_labels or {}))
    return Pod(namespace, dict(labels or {}), None if pod_ip is None else str(pod_ip), name,
               dict(ports or {}))


# --- label selectors ---------------------------------------------------------

def selector_matches(selector: Optional[Mapping], labels: Mapping[str, str]) -> bool:
    """Standard LabelSelector semantics; None and {} both match everything here
    (callers handle "absent" where absence means something else)."""
    if not selector:
        return True
    for k, v in (selector.get("matchLabels") or {}).items():
        if labels.get(k) != str(v):
            return False
    for expr in selector.get("matchExpressions") or []:
        key = expr["key"]
        op = expr["operator"]
        values = [str(x) for x in (expr.get("values") or [])]
        present = key in labels
        if op == "In":
            if not values:
                raise ValueError("matchExpressions: In needs values")
            if not present or labels[key] not in values:
                return False
        elif op == "NotIn":
            if not values:
                raise ValueError("matchExpressions: NotIn needs values")
            if present and labels[key] in values:
                return False
        elif op == "Exists":
            if values:
                raise ValueError("matchExpressions: Exists takes no values")
            if not present:
                return False
        elif op == "DoesNotExist":
            if values:
                raise ValueError("matchExpressions: DoesNotExist takes no values")
            if present:
                return False
        else:
            raise ValueError(f"matchExpressions: unknown operator {op!r}")
    return True


# --- ipBlock -------------------------------------------------------------------

@functools.lru_cache(maxsize=65536)
def _net(text: str):
    return ipaddress.ip_network(str(text), strict=False)


def ipblock_matches(ipblock: Mapping, addr) -> bool:
    """addr lies in ipBlock.cidr and in none of ipBlock.except (same family)."""
    addr = ip(addr)
    cidr = _net(ipblock["cidr"])
    if cidr.version != addr.version or addr not in cidr:
        return False
    for ex in ipblock.get("except") or []:
        exn = _net(ex)
        if exn.version == addr.version and addr in exn:
            return False
    return True


# --- ports -----------------------------------------------------------------------

def port_matches(ports: Optional[Sequence[Mapping]], protocol: str, port: int,
                 dest_pod: Optional[Pod] = None) -> bool:
    """An absent or empty ports list matches everything."""
    if not ports:
        return True
    protocol = protocol.upper()
    for p in ports:
        proto = (p.get("protocol") or "TCP").upper()
        if proto != protocol:
            continue
        if "port" not in p or p["port"] is None:
            return True
        want = p["port"]
        if isinstance(want, str) and not want.isdigit():
            # a named port resolves against the Pod peer's container ports
            if dest_pod is not None and want in dest_pod.ports:
                nproto, num = dest_pod.ports[want]
                if nproto.upper() == protocol and int(num) == port:
                    return True
            continue
        lo = int(want)
        hi = int(p["endPort"]) if p.get("endPort") is not None else lo
        if lo <= port <= hi:
            return True
    return False


# --- peers and rules ----------------------------------------------------------------

Peer = Union[Pod, str, ipaddress.IPv4Address, ipaddress.IPv6Address]


def peer_matches(peer_rule: Mapping, policy_ns: str, peer: Peer,
                 ipblock_matches_pods: bool = True) -> bool:
    """Does one NetworkPolicyPeer entry match the remote end of a connection?"""
    if "ipBlock" in peer_rule and peer_rule["ipBlock"] is not None:
        if isinstance(peer, Pod):
            a = peer.address()
            return ipblock_matches_pods and a is not None and ipblock_matches(peer_rule["ipBlock"], a)
        return ipblock_matches(peer_rule["ipBlock"], peer)
    has_ns = "namespaceSelector" in peer_rule and peer_rule["namespaceSelector"] is not None
    has_pod = "podSelector" in peer_rule and peer_rule["podSelector"] is not None
    if not has_ns and not has_pod:
        # an empty peer ({}) is rejected by the API server; match nothing
        return False
    if not isinstance(peer, Pod):
        return False  # selectors only ever match Pods
    if has_ns:
        if not selector_matches(peer_rule["namespaceSelector"], peer.namespace.all_labels()):
            return False
    elif peer.namespace.name != policy_ns:
        return False
    if has_pod and not selector_matches(peer_rule["podSelector"], peer.labels):
        return False
    return True


def _rule_matches(rule: Optional[Mapping], peers_key: str, policy_ns: str, peer: Peer,
                  protocol: str, port: int, dest_pod: Optional[Pod],
                  ipblock_matches_pods: bool) -> bool:
    rule = rule or {}
    peers = rule.get(peers_key)
    if peers:
        if not any(peer_matches(pr, policy_ns, peer, ipblock_matches_pods) for pr in peers):
            return False
    return port_matches(rule.get("ports"), protocol, port, dest_pod)


def policy_types(policy: Mapping) -> list:
    spec = policy.get("spec") or {}
    types = spec.get("policyTypes")
    if types:
        return list(types)
    types = ["Ingress"]
    if spec.get("egress"):
        types.append("Egress")
    return types


def is_network_policy(obj: Mapping) -> bool:
    return (isinstance(obj, Mapping) and obj.get("kind") == "NetworkPolicy"
            and str(obj.get("apiVersion", "")).startswith("networking.k8s.io/"))


def policy_namespace(policy: Mapping) -> str:
    return (policy.get("metadata") or {}).get("namespace") or "default"


def selects(policy: Mapping, pod: Pod) -> bool:
    """Does this NetworkPolicy apply to the Pod (namespace + podSelector)?"""
    if not is_network_policy(policy):
        return False
    if policy_namespace(policy) != pod.namespace.name:
        return False
    spec = policy.get("spec") or {}
    return selector_matches(spec.get("podSelector") or {}, pod.labels)


def _allowed(policies: Iterable[Mapping], pod: Pod, direction: str, peer: Peer,
             protocol: str, port: int, ipblock_matches_pods: bool) -> bool:
    if not isinstance(peer, Pod):
        peer = ip(peer)
    rules_key = "egress" if direction == "Egress" else "ingress"
    peers_key = "to" if direction == "Egress" else "from"
    isolated = False
    for pol in policies:
        if not selects(pol, pod) or direction not in policy_types(pol):
            continue
        isolated = True
        ns = policy_namespace(pol)
        dest_pod = peer if (direction == "Egress" and isinstance(peer, Pod)) else (
            pod if direction == "Ingress" else None)
        for rule in (pol.get("spec") or {}).get(rules_key) or []:
            if _rule_matches(rule, peers_key, ns, peer, protocol, port, dest_pod,
                             ipblock_matches_pods):
                return True
    return not isolated


def egress_allowed(policies: Iterable[Mapping], pod: Pod, dest: Peer, protocol: str, port: int,
                   ipblock_matches_pods: bool = True) -> bool:
    """May `pod` open a connection to dest (an IP address or a Pod) on protocol/port?

    Only the source side is evaluated (the destination Pod's own ingress
    isolation is a separate question; see connection_allowed)."""
    return _allowed(list(policies), pod, "Egress", dest, protocol, int(port), ipblock_matches_pods)


def ingress_allowed(policies: Iterable[Mapping], pod: Pod, source: Peer, protocol: str, port: int,
                    ipblock_matches_pods: bool = True) -> bool:
    """May source (an IP address or a Pod) open a connection to `pod` on protocol/port?"""
    return _allowed(list(policies), pod, "Ingress", source, protocol, int(port), ipblock_matches_pods)


def connection_allowed(policies: Iterable[Mapping], src: Pod, dst: Pod, protocol: str, port: int,
                       ipblock_matches_pods: bool = True) -> bool:
    """Pod-to-Pod: the source's egress AND the destination's ingress must allow it."""
    policies = list(policies)
    return (egress_allowed(policies, src, dst, protocol, port, ipblock_matches_pods)
            and ingress_allowed(policies, dst, src, protocol, port, ipblock_matches_pods))


def is_isolated(policies: Iterable[Mapping], pod: Pod, direction: str) -> bool:
    return any(selects(p, pod) and direction in policy_types(p) for p in policies)


class Evaluator:
    """The same semantics, with the Pod's selecting policies computed once."""

    def __init__(self, policies: Iterable[Mapping], pod: Pod, ipblock_matches_pods: bool = True):
        self.pod = pod
        self.ipblock_matches_pods = ipblock_matches_pods
        self.policies = [p for p in policies if selects(p, pod)]

    def egress(self, dest: Peer, protocol: str, port: int) -> bool:
        return _allowed(self.policies, self.pod, "Egress", dest, protocol, int(port),
                        self.ipblock_matches_pods)

    def ingress(self, source: Peer, protocol: str, port: int) -> bool:
        return _allowed(self.policies, self.pod, "Ingress", source, protocol, int(port),
                        self.ipblock_matches_pods)
