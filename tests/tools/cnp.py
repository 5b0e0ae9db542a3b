# SPDX-License-Identifier: Apache-2.0
"""An independent evaluator of ClusterNetworkPolicy (policy.networking.k8s.io/v1alpha2).

Written from the CRD field descriptions of network-policy-api v0.2.0 (the
standard and experimental channels), not from agentfence's code, so that it
can serve as an oracle.  Kubernetes NetworkPolicy objects in the same list
form the NetworkPolicy tier.  The cluster is a fence.World.

Tiers, in order: Admin ClusterNetworkPolicies, then NetworkPolicy, then
Baseline ClusterNetworkPolicies, then the default (allow).
* Admin and Baseline: the policies whose subject selects the Pod and that
  have rules for the direction are taken by ascending spec.priority (lower
  first), rules in written order.  The first rule that matches decides:
  Accept allows, Deny denies (both final), Pass skips the rest of the tier
  and goes on with the next tier.
* Policies of one tier with the same priority have no defined order.  When
  two of them match the same connection with different outcomes the
  evaluator raises AmbiguousOrder (a test must not depend on that order);
  when they agree the outcome stands.
* NetworkPolicy tier: if a NetworkPolicy isolates the Pod for the direction,
  NetworkPolicy decides finally (netpol.py: union of allows, else deny);
  otherwise evaluation goes on.  ipBlock versus Pod addresses follows
  netpol.py's worst case (ipblock_matches_pods=True) unless told otherwise.
* Host-network Pods are not subjects (no ClusterNetworkPolicy or
  NetworkPolicy applies to them here: they are allowed everything).

subject: namespaces (a namespace selector: every Pod of those namespaces) or
pods (namespaceSelector AND podSelector).

Peers
* namespaces: every pod-network Pod of the selected namespaces; pods:
  namespaceSelector AND podSelector.  Neither matches host-network Pods.
* nodes (egress): the addresses of the Nodes whose labels match (a
  host-network Pod's address is its Node's).
* networks (egress): CIDRs; they match any address, Pods and Nodes included
  ("cluster-internal traffic will be checked against the rule as well").
* domainNames (egress, Accept rules only): `*.example.com` matches one or
  more whole labels before example.com, not example.com itself; other
  entries match exactly; case-insensitive, trailing dot ignored.  A
  destination matches only when it was reached by such a name (a fence.Name
  destination); an address given as such never does.
* Ingress peers are namespaces and pods only.
* A peer with no field set (or only fields unknown here) is a CRD of another
  version: fail closed.  In an Accept rule it matches nothing; a Deny or Pass
  rule holding it is treated as "Deny all" (CRD: "treat the rule as a 'Deny
  all' rule").

protocols: each entry is one of tcp, udp, sctp (destinationPort number, or
range start..end inclusive; no destinationPort: every port of the protocol)
or destinationNamedPort (the destination Pod's container port of that name;
on ingress the subject Pod's).  Absent or empty: every protocol and port.

Names (a fence.Name destination): reachable iff the Pod may send DNS queries
to some DNS server of the World (UDP or TCP 53; no name filtering exists in
this API) when the World has DNS servers, and some resolved address is
reachable with the name attached.

A DNS server Pod's own ingress, ICMP and L7 are not modelled.

Part of the test tools; agentfence's code is never imported here.
"""

from __future__ import annotations

from typing import Iterable, Mapping, Optional

import os as _os
import sys as _sys
_sys.path.insert(0, _os.path.dirname(_os.path.abspath(__file__)))

import netpol as N  # noqa: E402
import fence as F   # noqa: E402
from fence import Decision, Remote, RuleRef  # noqa: E402

KIND = "ClusterNetworkPolicy"
GROUP = "policy.networking.k8s.io/"
TIERS = ("Admin", "Baseline")
EGRESS_PEERS = ("namespaces", "pods", "nodes", "networks", "domainNames")
INGRESS_PEERS = ("namespaces", "pods")


class AmbiguousOrder(Exception):
    """Two same-priority policies of one tier disagree on a connection."""


def is_cnp(obj: Mapping) -> bool:
    return (isinstance(obj, Mapping) and obj.get("kind") == KIND
            and str(obj.get("apiVersion", "")).startswith(GROUP))


def domain_matches(pattern: str, name: str) -> bool:
    """One domainNames entry against a DNS name."""
    p = F.dns_name(pattern)
    n = F.dns_name(name)
    if p.startswith("*."):
        suffix = p[1:]
        return n.endswith(suffix) and len(n) > len(suffix)
    if "*" in p:
        raise ValueError(f"domainNames {pattern!r}: '*' only as a leading '*.'")
    return n == p


def _selects_pod(subject_like: Mapping, pod: F.Pod) -> bool:
    """subject.pods / peer pods: namespaceSelector AND podSelector."""
    return (N.selector_matches(subject_like.get("namespaceSelector") or {}, pod.namespace.all_labels())
            and N.selector_matches(subject_like.get("podSelector") or {}, pod.labels))


class Evaluator:
    """The tiered verdict for one World and one list of objects.

    Objects other than ClusterNetworkPolicy and NetworkPolicy are ignored."""

    def __init__(self, world: F.World, policies: Iterable[Mapping], ipblock_matches_pods: bool = True):
        self.world = world
        policies = list(policies)
        self.cnps = [p for p in policies if is_cnp(p)]
        self.nps = [p for p in policies if N.is_network_policy(p)]
        self.ipblock_matches_pods = ipblock_matches_pods
        for p in self.cnps:
            spec = p.get("spec") or {}
            if spec.get("tier") not in TIERS:
                raise ValueError(f"{self._name(p)}: tier must be Admin or Baseline")
            prio = spec.get("priority")
            if not isinstance(prio, int) or not 0 <= prio <= 1000:
                raise ValueError(f"{self._name(p)}: priority must be 0..1000")

    @staticmethod
    def _name(p: Mapping) -> str:
        return (p.get("metadata") or {}).get("name", "")

    # --- subjects ---

    @staticmethod
    def selects(policy: Mapping, pod: F.Pod) -> bool:
        if getattr(pod, "host_network", False):
            return False
        subject = (policy.get("spec") or {}).get("subject") or {}
        if subject.get("namespaces") is not None:
            return N.selector_matches(subject["namespaces"], pod.namespace.all_labels())
        if subject.get("pods") is not None:
            return _selects_pod(subject["pods"], pod)
        raise ValueError("subject: set namespaces or pods")

    # --- peers and protocols ---

    @staticmethod
    def _peer(peer: Mapping, remote: Remote) -> Optional[bool]:
        """True/False; None when the peer sets no field known here (fail closed)."""
        if peer.get("namespaces") is not None:
            return remote.pod is not None and N.selector_matches(
                peer["namespaces"], remote.pod.namespace.all_labels())
        if peer.get("pods") is not None:
            return remote.pod is not None and _selects_pod(peer["pods"], remote.pod)
        if peer.get("nodes") is not None:
            return remote.node is not None and N.selector_matches(peer["nodes"], remote.node.labels)
        if peer.get("networks") is not None:
            return remote.address is not None and any(
                N.ipblock_matches({"cidr": c}, remote.address) for c in peer["networks"])
        if peer.get("domainNames") is not None:
            return remote.name is not None and any(domain_matches(d, remote.name) for d in peer["domainNames"])
        return None

    @staticmethod
    def _protocols(protocols, protocol: str, port: int, named_on: Optional[F.Pod]) -> bool:
        if not protocols:
            return True
        for p in protocols:
            if p.get("destinationNamedPort") is not None:
                want = p["destinationNamedPort"]
                if named_on is not None and want in named_on.ports:
                    nproto, num = named_on.ports[want]
                    if nproto.upper() == protocol and int(num) == port:
                        return True
                continue
            for proto in ("tcp", "udp", "sctp"):
                if p.get(proto) is None or proto.upper() != protocol:
                    continue
                dp = p[proto].get("destinationPort")
                if dp is None:
                    return True
                if dp.get("number") is not None and int(dp["number"]) == port:
                    return True
                rng = dp.get("range")
                if rng is not None and int(rng["start"]) <= port <= int(rng["end"]):
                    return True
        return False

    def _rule_outcome(self, rule: Mapping, direction: str, remote: Remote, protocol: str, port: int,
                      named_on: Optional[F.Pod]) -> Optional[str]:
        """The action this rule applies to the connection, or None if it does not match."""
        action = rule.get("action")
        if action not in ("Accept", "Deny", "Pass"):
            raise ValueError(f"action {action!r}")
        peers = rule.get("to" if direction == "egress" else "from") or []
        known = EGRESS_PEERS if direction == "egress" else INGRESS_PEERS
        matched = False
        for peer in peers:
            if action != "Accept" and peer.get("domainNames") is not None:
                raise ValueError("domainNames is only allowed in Accept rules")
            unknown = not any(peer.get(k) is not None for k in known)
            if unknown:
                if action != "Accept":
                    return "Deny"  # fail closed: a Deny all rule
                continue
            if self._peer(peer, remote):
                matched = True
        if matched and self._protocols(rule.get("protocols"), protocol, port, named_on):
            return action
        return None

    def _policy_outcome(self, policy: Mapping, direction: str, remote: Remote, protocol: str, port: int,
                        named_on: Optional[F.Pod]):
        for i, rule in enumerate((policy.get("spec") or {}).get(direction) or []):
            action = self._rule_outcome(rule, direction, remote, protocol, port, named_on)
            if action is not None:
                return action, RuleRef(KIND, None, self._name(policy), direction, i, rule.get("name"))
        return None

    def _tier(self, tier: str, subject: F.Pod, direction: str, remote: Remote, protocol: str, port: int,
              named_on: Optional[F.Pod]):
        """(action, RuleRef) of the first deciding rule of the tier, or None."""
        pols = [p for p in self.cnps if (p.get("spec") or {}).get("tier") == tier
                and (p.get("spec") or {}).get(direction) and self.selects(p, subject)]
        for prio in sorted({p["spec"]["priority"] for p in pols}):
            same = sorted((p for p in pols if p["spec"]["priority"] == prio), key=self._name)
            outcomes = [o for o in (self._policy_outcome(p, direction, remote, protocol, port, named_on)
                                    for p in same) if o is not None]
            if not outcomes:
                continue
            if len({a for a, _ in outcomes}) > 1:
                raise AmbiguousOrder(f"{tier} priority {prio}: " + ", ".join(
                    f"{ref} says {a}" for a, ref in outcomes))
            return outcomes[0]
        return None

    def _np_tier(self, subject: F.Pod, direction: str, remote: Remote, protocol: str, port: int,
                 named_on: Optional[F.Pod]) -> Optional[Decision]:
        ptype = direction.capitalize()
        isolating = [p for p in self.nps if N.selects(p, subject) and ptype in N.policy_types(p)]
        if not isolating:
            return None
        peer = remote.pod if remote.pod is not None else remote.address
        peers_key = "to" if direction == "egress" else "from"
        for pol in isolating:
            ns = N.policy_namespace(pol)
            for i, r in enumerate((pol.get("spec") or {}).get(direction) or []):
                r = r or {}
                peers = r.get(peers_key)
                if peers and (peer is None or not any(
                        N.peer_matches(pr, ns, peer, self.ipblock_matches_pods) for pr in peers)):
                    continue
                if N.port_matches(r.get("ports"), protocol, port, named_on):
                    ref = RuleRef("NetworkPolicy", ns, (pol.get("metadata") or {}).get("name", ""), direction, i)
                    return Decision(True, ref, "NetworkPolicy tier allows")
        names = ", ".join(f"{N.policy_namespace(p)}/{(p.get('metadata') or {}).get('name', '')}"
                          for p in isolating)
        return Decision(False, None, f"NetworkPolicy tier: isolated by {names}, no rule allows")

    def _decide(self, subject: F.Pod, direction: str, remote: Remote, protocol: str, port: int) -> Decision:
        protocol = protocol.upper()
        port = int(port)
        if getattr(subject, "host_network", False):
            return Decision(True, None, f"{subject.name} is host-network: no policy applies")
        named_on = remote.pod if direction == "egress" else subject
        what = f"{remote.describe()} {protocol}/{port}"
        hit = self._tier("Admin", subject, direction, remote, protocol, port, named_on)
        if hit is not None and hit[0] != "Pass":
            return Decision(hit[0] == "Accept", hit[1], f"Admin tier {hit[0]} {what}")
        np = self._np_tier(subject, direction, remote, protocol, port, named_on)
        if np is not None:
            return np
        hit = self._tier("Baseline", subject, direction, remote, protocol, port, named_on)
        if hit is not None and hit[0] != "Pass":
            return Decision(hit[0] == "Accept", hit[1], f"Baseline tier {hit[0]} {what}")
        return Decision(True, None, f"no tier decides {what}: default allow")

    # --- queries ---

    def dns_query(self, src: F.Pod, server: F.Pod, name: str, protocol: str = "UDP",
                  port: int = 53) -> Decision:
        """May src send DNS queries to server?  This API filters no names: name is unused
        beyond the message."""
        d = self.egress(src, server, protocol, port)
        return Decision(d.allowed, d.rule, f"query for {F.dns_name(name)}: {d.reason}")

    def may_resolve(self, src: F.Pod, name: str) -> Decision:
        tried = []
        for server in self.world.dns_servers:
            for proto in ("UDP", "TCP"):
                for port in self.world.server_ports(server):
                    d = self.dns_query(src, server, name, proto, port)
                    if d.allowed:
                        return d
                    tried.append(d)
        if not tried:
            return Decision(True, None, "the World has no DNS server")
        return tried[0]

    def egress(self, src: F.Pod, dest: F.Destination, protocol: str, port: int) -> Decision:
        """May src open a connection to dest (a Pod, an address, or a fence.Name)?
        Only the source side: the destination Pod's ingress is ingress()."""
        remotes = self.world.remotes(dest)
        if isinstance(dest, F.Name):
            if not remotes:
                return Decision(False, None, f"{dest.name} does not resolve")
            res = self.may_resolve(src, dest.name)
            if not res.allowed:
                return res
        out = [self._decide(src, "egress", r, protocol, port) for r in remotes]
        return next((d for d in out if d.allowed), out[0])

    def ingress(self, dst: F.Pod, source, protocol: str, port: int) -> Decision:
        """May source (a Pod or an address) open a connection to dst?"""
        out = [self._decide(dst, "ingress", r, protocol, port) for r in self.world.remotes(source)]
        return next((d for d in out if d.allowed), out[0])

    def connection(self, src: F.Pod, dst: F.Pod, protocol: str, port: int) -> Decision:
        """Pod to Pod: src's egress and dst's ingress must both allow it."""
        e = self.egress(src, dst, protocol, port)
        if not e.allowed:
            return e
        i = self.ingress(dst, src, protocol, port)
        return i if not i.allowed else e
