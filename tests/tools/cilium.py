# SPDX-License-Identifier: Apache-2.0
"""An independent evaluator of Cilium network policy (cilium.io/v2).

Written from the CRD field descriptions of CiliumNetworkPolicy and
CiliumClusterwideNetworkPolicy (Cilium v1.19) and Cilium's policy-language
documentation, not from agentfence's code, so that it can serve as an oracle
for what compiled objects allow.  Kubernetes NetworkPolicy objects in the same
list are evaluated the way Cilium enforces them.  The cluster is a
fence.World.

Subjects and identities
* A policy rule (spec, or each entry of specs) applies to the pod-network Pods
  its endpointSelector matches.  A namespaced CiliumNetworkPolicy only ever
  selects Pods of its own namespace; a clusterwide one selects in every
  namespace; {} selects all of them.  Rules with a nodeSelector are host
  policies and never select Pods: they are skipped.  A host-network Pod is not
  a Cilium endpoint: no Pod policy applies to it, everything is allowed.
* A Pod's identity labels are its labels (source k8s), plus
  k8s:io.kubernetes.pod.namespace, k8s:io.cilium.k8s.namespace.labels.<key>
  for each namespace label, k8s:io.cilium.k8s.policy.serviceaccount and
  k8s:io.cilium.k8s.policy.cluster.  A selector key may carry a source prefix
  (k8s:, reserved:, any: ...); a key without one matches any source.
* Other remote ends have a reserved identity: the subject Pod's own Node is
  `host`, any other Node (and a host-network Pod on it) `remote-node`, an API
  server address `kube-apiserver` (an API server on a Node has both), and any
  other address `world`.
* Entities: all (everything), world, cluster (Pods, host, remote-node,
  kube-apiserver), host, remote-node, kube-apiserver.  init, ingress, health,
  unmanaged and none are accepted but match nothing the model has.

Peers (to*/from*)
* toEndpoints/fromEndpoints: label selectors over identities.  In a
  namespaced policy a selector that names no io.kubernetes.pod.namespace key
  and no reserved: key is limited to the policy's namespace.  In a clusterwide
  policy {} means every Cilium-managed endpoint (every pod-network Pod).
* toCIDR/toCIDRSet (cidr + except)/fromCIDR/fromCIDRSet, and the ipBlock of a
  NetworkPolicy, match `world` addresses only: never a Pod or Node address.
  Whether they match an API server address outside the cluster is not
  settled by the documentation; see cidr_matches_apiserver.
* toNodes/fromNodes: the addresses of the Nodes whose labels match.
* toFQDNs (matchName, matchPattern): the `world` addresses that a DNS name
  matched by the selector resolves to, and only when the Pod's DNS traffic is
  seen by the DNS proxy (some allow rule of a Cilium policy selecting the Pod
  reaches a DNS server Pod on port 53 with toPorts[].rules.dns) and the Pod
  may ask that name (see dns_query).  Addresses inside the cluster are never
  matched (CRD: "the ToFQDN rule will not apply to that IP").
* A rule with no peer field and a toPorts list matches every peer (CRD:
  "nil ToEndpoints is implicitly treated as a wildcard selector if ToPorts
  are also specified"); a rule with neither ({}) matches nothing; a peer
  field given as an empty list matches nothing.  toServices, toGroups,
  toRequires, fromGroups, fromRequires and ICMP rules are not modelled: a
  rule using them raises ValueError (icmps: ICMP is outside the queries).

Ports
* toPorts absent or empty: every port of every protocol.  Each entry's ports
  list (absent: every port); protocol ANY, empty or absent means TCP, UDP and
  SCTP; port absent, "" or "0" means every port; endPort makes a range; a
  named port matches the destination Pod's (ingress: the subject Pod's)
  container port of that name.

Verdict, per direction
* Deny rules (egressDeny/ingressDeny: peers and ports as above, no toFQDNs, no
  L7) of every policy selecting the Pod are checked first: a match denies,
  whatever any allow says.
* The direction is default deny when any selecting Cilium rule says so
  (enableDefaultDeny.<direction>, which defaults to true when that rule has a
  non-empty <direction> or <direction>Deny list) or any selecting
  NetworkPolicy lists the direction in its policyTypes.  Otherwise every
  connection not denied is allowed.
* In default deny, a connection is allowed iff some allow rule of some
  selecting policy matches it (union).
* A NetworkPolicy rule matches as netpol.py says, except that ipBlock follows
  the CIDR rule above and pod/namespace selectors never match a host-network
  Pod (it has a host or remote-node identity under Cilium).

DNS (dns_query)
* The query must be allowed at L4 (egress to the server Pod, UDP or TCP 53).
* If a matching allow rule opens that peer and port without L7 DNS rules
  (a NetworkPolicy rule, a Cilium rule without toPorts or without rules.dns),
  the DNS rules are void and every name may be asked (Cilium documentation,
  Layer 7: "the layer 7 portions of the latter rule will have no effect").
* Otherwise the name must match a rules.dns entry of a matching rule.  If the
  Pod is not in default deny for egress, every name may be asked (worst case).
* matchName is exact; matchPattern: `*` is zero or more of [-a-zA-Z0-9_]
  inside one label, a pattern of only stars matches every name, a leading
  `**.` matches one or more whole labels (not the bare suffix).  Case is
  ignored; a trailing dot is implied.  (The CRD's sentence about a leftmost
  `*` without a following `.` matching subdomains contradicts its own example
  2, `*cilium.io` not matching www.cilium.io; the example is followed.)
* The DNS server's own ingress policy is a separate ingress() question.
* A Name destination is reachable iff the Pod may ask some DNS server of the
  World for it (when the World has DNS servers) and some address it resolves
  to is reachable.

Uncertain semantics (cidr_matches_apiserver)
  None (the default) takes the worst case: allow rules match an external API
  server address, deny rules do not, so a test asserting "blocked" holds
  either way.  True/False force one reading for both.

ICMP is not modelled.  The DNS server Pod's ingress side and L7 HTTP rules do
not restrict an egress() answer (a connection allowed at L4 is allowed).

Part of the test tools; agentfence's code is never imported here.
"""

from __future__ import annotations

import re
from typing import Dict, Iterable, List, Mapping, Optional, Sequence, Tuple

import os as _os
import sys as _sys
_sys.path.insert(0, _os.path.dirname(_os.path.abspath(__file__)))

import netpol as N  # noqa: E402
import fence as F   # noqa: E402
from fence import Decision, Remote, RuleRef  # noqa: E402

CNP = "CiliumNetworkPolicy"
CCNP = "CiliumClusterwideNetworkPolicy"
NP = "NetworkPolicy"

NS_KEY = "io.kubernetes.pod.namespace"
SOURCES = {"k8s", "any", "reserved", "container", "unspec", "cidr", "fqdn", "cilium-generated"}
ENTITIES = {"all", "world", "cluster", "host", "remote-node", "kube-apiserver",
            "init", "ingress", "health", "unmanaged", "none"}
PROTOCOLS = ("TCP", "UDP", "SCTP")

UNMODELLED_EGRESS = ("toServices", "toGroups", "toRequires", "icmps")
UNMODELLED_INGRESS = ("fromGroups", "fromRequires", "icmps")


# --- label selectors with sources ------------------------------------------------

def _split_key(key: str) -> Tuple[str, str]:
    if ":" in key:
        src, rest = key.split(":", 1)
        if src in SOURCES:
            return src, rest
    return "any", key


def _selector_keys(selector: Optional[Mapping]) -> List[str]:
    selector = selector or {}
    keys = list((selector.get("matchLabels") or {}).keys())
    keys += [e["key"] for e in selector.get("matchExpressions") or []]
    return keys


def _lookup(identity: Mapping[Tuple[str, str], str], key: str) -> Optional[str]:
    src, k = _split_key(key)
    for (s, kk), v in identity.items():
        if kk == k and (src == "any" or s == src):
            return v
    return None


def endpoint_selector_matches(selector: Optional[Mapping], identity: Mapping[Tuple[str, str], str]) -> bool:
    """A label selector whose keys may carry a source prefix, over (source, key) labels."""
    view = {}
    for key in _selector_keys(selector):
        v = _lookup(identity, key)
        if v is not None:
            view[key] = v
    return N.selector_matches(selector, view)


def _is_empty_selector(selector: Optional[Mapping]) -> bool:
    return not _selector_keys(selector)


# --- DNS patterns ---------------------------------------------------------------------

_DNS_CHARS = "[-a-z0-9_]"


def dns_pattern_regex(pattern: str) -> str:
    """matchPattern as an anchored regular expression over a name without trailing dot."""
    p = F.dns_name(pattern)
    if re.fullmatch(r"\*+", p):
        return rf"^{_DNS_CHARS}+(\.{_DNS_CHARS}+)*$"
    out = "^"
    m = re.match(r"\*{2,}\.", p)
    if m:
        out += rf"{_DNS_CHARS}+(\.{_DNS_CHARS}+)*\."
        p = p[m.end():]
    for c in p:
        if c == "*":
            if not out.endswith(f"{_DNS_CHARS}*"):
                out += f"{_DNS_CHARS}*"
        elif c == ".":
            out += r"\."
        elif re.fullmatch(_DNS_CHARS, c):
            out += c
        else:
            raise ValueError(f"matchPattern {pattern!r}: character {c!r} not allowed")
    return out + "$"


def dns_selector_matches(sel: Mapping, name: str) -> bool:
    """One FQDNSelector / PortRuleDNS entry (matchName or matchPattern) against a name."""
    name = F.dns_name(name)
    if sel.get("matchName"):
        return F.dns_name(sel["matchName"]) == name
    if sel.get("matchPattern"):
        return re.match(dns_pattern_regex(sel["matchPattern"]), name) is not None
    raise ValueError(f"DNS selector without matchName or matchPattern: {sel!r}")


# --- policies ------------------------------------------------------------------------------

class _Rule:
    """One Cilium rule (a spec) or one NetworkPolicy, with where it came from."""

    def __init__(self, kind: str, namespace: Optional[str], name: str, prefix: str, spec: Mapping):
        self.kind = kind
        self.namespace = namespace
        self.name = name
        self.prefix = prefix
        self.spec = spec

    def ref(self, section: str, index: int) -> RuleRef:
        return RuleRef(self.kind, self.namespace, self.name, self.prefix + section, index)

    def __str__(self) -> str:
        obj = f"{self.namespace}/{self.name}" if self.namespace else self.name
        return f"{self.kind} {obj}"


def _load(policies: Iterable[Mapping]) -> List[_Rule]:
    rules = []
    for obj in policies:
        kind = obj.get("kind")
        meta = obj.get("metadata") or {}
        name = meta.get("name", "")
        if kind == NP:
            if N.is_network_policy(obj):
                rules.append(_Rule(NP, N.policy_namespace(obj), name, "", obj))
            continue
        if kind not in (CNP, CCNP) or not str(obj.get("apiVersion", "")).startswith("cilium.io/"):
            continue
        ns = (meta.get("namespace") or "default") if kind == CNP else None
        if obj.get("spec"):
            rules.append(_Rule(kind, ns, name, "", obj["spec"]))
        for i, spec in enumerate(obj.get("specs") or []):
            rules.append(_Rule(kind, ns, name, f"specs[{i}].", spec))
    return rules


class Evaluator:
    """Cilium's verdicts for one World and one list of policy objects.

    Objects other than CiliumNetworkPolicy, CiliumClusterwideNetworkPolicy and
    NetworkPolicy are ignored, so a whole rendered manifest can be passed."""

    def __init__(self, world: F.World, policies: Iterable[Mapping],
                 cidr_matches_apiserver: Optional[bool] = None):
        self.world = world
        self.rules = _load(policies)
        self.cidr_matches_apiserver = cidr_matches_apiserver

    # --- identities ---

    def identity(self, remote: Remote, subject: F.Pod) -> Dict[Tuple[str, str], str]:
        """The (source, key) -> value labels of a remote end, seen from subject's node."""
        if remote.pod is not None:
            return self._pod_identity(remote.pod)
        ident = {}
        if remote.node is not None:
            ident[("reserved", "host" if remote.node.name == subject.node else "remote-node")] = ""
        if remote.apiserver:
            ident[("reserved", "kube-apiserver")] = ""
        if not ident:
            ident[("reserved", "world")] = ""
        return ident

    def _pod_identity(self, pod: F.Pod) -> Dict[Tuple[str, str], str]:
        ident = {("k8s", k): str(v) for k, v in pod.labels.items()}
        ident[("k8s", NS_KEY)] = pod.namespace.name
        for k, v in pod.namespace.all_labels().items():
            ident[("k8s", "io.cilium.k8s.namespace.labels." + k)] = str(v)
        ident[("k8s", "io.cilium.k8s.policy.serviceaccount")] = getattr(pod, "service_account", "default")
        ident[("k8s", "io.cilium.k8s.policy.cluster")] = self.world.cluster_name
        return ident

    def entities(self, remote: Remote, subject: F.Pod) -> set:
        if remote.pod is not None:
            return {"all", "cluster"}
        ents = {"all"}
        if remote.node is not None:
            ents |= {"cluster", "host" if remote.node.name == subject.node else "remote-node"}
        if remote.apiserver:
            ents |= {"cluster", "kube-apiserver"}
        if len(ents) == 1:
            ents.add("world")
        return ents

    # --- selection ---

    @staticmethod
    def _is_endpoint(pod: F.Pod) -> bool:
        return not getattr(pod, "host_network", False)

    def _selects(self, rule: _Rule, pod: F.Pod) -> bool:
        """Does the rule apply to pod (a Cilium endpoint: _decide has checked)?"""
        if rule.kind == NP:
            return N.selects(rule.spec, pod)
        if rule.spec.get("nodeSelector") is not None:
            return False
        sel = rule.spec.get("endpointSelector")
        if sel is None:
            raise ValueError(f"{rule}: neither endpointSelector nor nodeSelector")
        if rule.kind == CNP and pod.namespace.name != rule.namespace:
            return False
        return endpoint_selector_matches(sel, self._pod_identity(pod))

    def _default_deny(self, rule: _Rule, direction: str) -> bool:
        if rule.kind == NP:
            return direction.capitalize() in N.policy_types(rule.spec)
        edd = rule.spec.get("enableDefaultDeny") or {}
        if edd.get(direction) is not None:
            return bool(edd[direction])
        return bool(rule.spec.get(direction) or rule.spec.get(direction + "Deny"))

    # --- peers ---

    def _cidr_applies(self, remote: Remote, deny: bool) -> bool:
        """Can a CIDR-type peer (toCIDR, toCIDRSet, ipBlock, toFQDNs) match this remote at all?"""
        if remote.address is None or remote.pod is not None or remote.node is not None:
            return False
        if remote.apiserver:
            fixed = self.cidr_matches_apiserver
            return fixed if fixed is not None else not deny
        return True

    def _cidr_matches(self, remote: Remote, cidrs: Sequence, deny: bool) -> bool:
        """toCIDR entries (strings) or toCIDRSet/ipBlock entries (cidr + except)."""
        if not self._cidr_applies(remote, deny):
            return False
        for c in cidrs:
            block = {"cidr": c} if isinstance(c, str) else c
            if "cidr" not in block:
                raise ValueError(f"CIDR rule without cidr (cidrGroupRef is not modelled): {c!r}")
            if N.ipblock_matches(block, remote.address):
                return True
        return False

    def _endpoints_match(self, rule: _Rule, selectors: Sequence, remote: Remote, subject: F.Pod) -> bool:
        ident = self.identity(remote, subject)
        for sel in selectors:
            sel = sel or {}
            keys = _selector_keys(sel)
            reserved = any(_split_key(k)[0] == "reserved" for k in keys)
            names_ns = any(_split_key(k)[1] == NS_KEY for k in keys)
            if rule.kind == CNP and not reserved and not names_ns:
                if remote.pod is None or remote.pod.namespace.name != rule.namespace:
                    continue
            if rule.kind == CCNP and _is_empty_selector(sel):
                if remote.pod is not None:
                    return True
                continue
            if endpoint_selector_matches(sel, ident):
                return True
        return False

    def _fqdn_matches(self, subject: F.Pod, selectors: Sequence, remote: Remote) -> bool:
        if not self._cidr_applies(remote, deny=False):
            return False
        for name in self.world.names_for(remote.address):
            if any(dns_selector_matches(s, name) for s in selectors) and self._learns(subject, name):
                return True
        return False

    def _peer_matches(self, rule: _Rule, r: Mapping, direction: str, remote: Remote,
                      subject: F.Pod, deny: bool) -> bool:
        pre = "to" if direction == "egress" else "from"
        for key in (UNMODELLED_EGRESS if direction == "egress" else UNMODELLED_INGRESS):
            if r.get(key):
                raise ValueError(f"{rule}: {key} is not modelled")
        fields = ["Endpoints", "Entities", "CIDR", "CIDRSet", "Nodes"] + (
            ["FQDNs"] if direction == "egress" and not deny else [])
        present = [f for f in fields if r.get(pre + f) is not None]
        if not present:
            return bool(r.get("toPorts"))
        for f in present:
            val = r[pre + f]
            if f == "Endpoints" and self._endpoints_match(rule, val, remote, subject):
                return True
            if f == "Entities":
                unknown = set(val) - ENTITIES
                if unknown:
                    raise ValueError(f"{rule}: unknown entities {sorted(unknown)}")
                if set(val) & self.entities(remote, subject):
                    return True
            if f in ("CIDR", "CIDRSet") and self._cidr_matches(remote, val, deny):
                return True
            if f == "Nodes" and remote.node is not None and any(endpoint_selector_matches(
                    s or {}, {("k8s", k): str(v) for k, v in remote.node.labels.items()}) for s in val):
                return True
            if f == "FQDNs" and self._fqdn_matches(subject, val, remote):
                return True
        return False

    # --- ports ---

    @staticmethod
    def _port_matches(pp: Mapping, protocol: str, port: int, named_on: Optional[F.Pod]) -> bool:
        proto = (pp.get("protocol") or "ANY").upper()
        if proto not in ("ANY",) + PROTOCOLS:
            return False
        if proto != "ANY" and proto != protocol:
            return False
        want = pp.get("port")
        if want is None or str(want) in ("", "0"):
            return True
        want = str(want)
        if not want.isdigit():
            if named_on is None or want not in named_on.ports:
                return False
            nproto, num = named_on.ports[want]
            return nproto.upper() == protocol and int(num) == port
        lo = int(want)
        hi = int(pp["endPort"]) if pp.get("endPort") else lo
        return lo <= port <= hi

    def _port_rules(self, r: Mapping, protocol: str, port: int, named_on: Optional[F.Pod]) -> Optional[list]:
        """None if toPorts does not admit protocol/port, else the matching PortRules
        ([] when toPorts is absent: every port, no L7)."""
        to_ports = r.get("toPorts")
        if not to_ports:
            return []
        hits = []
        for pr in to_ports:
            ports = pr.get("ports")
            if not ports or any(self._port_matches(pp, protocol, port, named_on) for pp in ports):
                hits.append(pr)
        return hits or None

    # --- NetworkPolicy under Cilium ---

    def _np_rule_matches(self, rule: _Rule, r: Mapping, direction: str, remote: Remote,
                         protocol: str, port: int, named_on: Optional[F.Pod]) -> bool:
        peers = r.get("to" if direction == "egress" else "from")
        if peers and not any(self._np_peer(rule, pr, remote) for pr in peers):
            return False
        return N.port_matches(r.get("ports"), protocol, port, named_on)

    def _np_peer(self, rule: _Rule, pr: Mapping, remote: Remote) -> bool:
        if pr.get("ipBlock") is not None:
            return self._cidr_matches(remote, [pr["ipBlock"]], deny=False)
        # selectors match pod-network Pods only (N.peer_matches: no Pod, no match)
        return N.peer_matches(pr, rule.namespace, remote.pod)

    # --- the verdict at one remote end ---

    def _allow_hits(self, subject: F.Pod, direction: str, remote: Remote, protocol: str, port: int):
        """Every (RuleRef, matching PortRules or None for a NetworkPolicy rule) that allows."""
        named_on = remote.pod if direction == "egress" else subject
        hits = []
        for rule in self.rules:
            if not self._selects(rule, subject):
                continue
            if rule.kind == NP:
                if direction.capitalize() not in N.policy_types(rule.spec):
                    continue
                for i, r in enumerate((rule.spec.get("spec") or {}).get(direction) or []):
                    if self._np_rule_matches(rule, r or {}, direction, remote, protocol, port, named_on):
                        hits.append((rule.ref(direction, i), None))
                continue
            for i, r in enumerate(rule.spec.get(direction) or []):
                r = r or {}
                prs = self._port_rules(r, protocol, port, named_on)
                if prs is not None and self._peer_matches(rule, r, direction, remote, subject, deny=False):
                    hits.append((rule.ref(direction, i), prs))
        return hits

    def _decide(self, subject: F.Pod, direction: str, remote: Remote, protocol: str, port: int,
                want_hits: bool = False):
        protocol = protocol.upper()
        port = int(port)
        if not self._is_endpoint(subject):
            d = Decision(True, None, f"{subject.name} is host-network: not a Cilium endpoint")
            return (d, [], False) if want_hits else d
        named_on = remote.pod if direction == "egress" else subject
        selecting = [r for r in self.rules if self._selects(r, subject)]
        for rule in selecting:
            if rule.kind == NP:
                continue
            for i, r in enumerate(rule.spec.get(direction + "Deny") or []):
                r = r or {}
                if self._port_rules(r, protocol, port, named_on) is not None and \
                        self._peer_matches(rule, r, direction, remote, subject, deny=True):
                    d = Decision(False, rule.ref(direction + "Deny", i),
                                 f"deny rule matches {remote.describe()} {protocol}/{port}")
                    return (d, [], True) if want_hits else d
        isolated = [r for r in selecting if self._default_deny(r, direction)]
        hits = self._allow_hits(subject, direction, remote, protocol, port)
        if not isolated:
            d = Decision(True, hits[0][0] if hits else None,
                         f"no policy puts {subject.name} in default deny for {direction}")
        elif hits:
            d = Decision(True, hits[0][0], f"allows {remote.describe()} {protocol}/{port}")
        else:
            d = Decision(False, None, f"default deny for {direction} ({', '.join(map(str, isolated))}); "
                         f"no allow rule matches {remote.describe()} {protocol}/{port}")
        return (d, hits, bool(isolated)) if want_hits else d

    # --- DNS ---

    def _dns(self, src: F.Pod, server: F.Pod, name: str, protocol: str, port: int):
        """(Decision, proxied): may src ask server for name, and is the query seen by the proxy."""
        name = F.dns_name(name)
        out = []
        for remote in self.world.remotes(server):
            d, hits, isolated = self._decide(src, "egress", remote, protocol, port, want_hits=True)
            if not d.allowed:
                out.append((d, False))
                continue
            l7 = [(ref, pr) for ref, prs in hits for pr in (prs or []) if (pr.get("rules") or {}).get("dns")]
            proxied = bool(l7)
            plain = [ref for ref, prs in hits
                     if prs is None or not prs or any(not (pr.get("rules") or {}).get("dns") for pr in prs)]
            if not isolated:
                out.append((Decision(True, d.rule, f"{src.name} not in default deny for egress: "
                                     f"every name may be asked"), proxied))
            elif plain:
                out.append((Decision(True, plain[0], "an L4 rule without DNS rules opens the DNS "
                                     "server port: L7 DNS rules void, every name may be asked"), proxied))
            else:
                ok = [ref for ref, pr in l7 if any(dns_selector_matches(s, name) for s in pr["rules"]["dns"])]
                if ok:
                    out.append((Decision(True, ok[0], f"DNS rule matches {name}"), proxied))
                else:
                    out.append((Decision(False, l7[0][0], f"the DNS proxy refuses {name}: no DNS rule "
                                         "matches"), proxied))
        allowed = [o for o in out if o[0].allowed]
        return (allowed or out)[0]

    def _learns(self, subject: F.Pod, name: str) -> bool:
        """Does the DNS proxy see subject resolve name (so toFQDNs learns its addresses)?"""
        for server in self.world.dns_servers:
            for proto in ("UDP", "TCP"):
                for port in self.world.server_ports(server):
                    d, proxied = self._dns(subject, server, name, proto, port)
                    if d.allowed and proxied:
                        return True
        return False

    def dns_query(self, src: F.Pod, server: F.Pod, name: str, protocol: str = "UDP",
                  port: int = 53) -> Decision:
        """May src ask the DNS server Pod for name (egress side only)?"""
        return self._dns(src, server, name, protocol.upper(), int(port))[0]

    def may_resolve(self, src: F.Pod, name: str) -> Decision:
        """May src ask some DNS server of the World for name (UDP or TCP, on
        the server's DNS ports)?"""
        tried = []
        for server in self.world.dns_servers:
            for proto in ("UDP", "TCP"):
                for port in self.world.server_ports(server):
                    d = self.dns_query(src, server, name, proto, port)
                    if d.allowed:
                        return d
                    tried.append(d)
        if not tried:
            return Decision(True, None, "the World has no DNS server: names are not filtered")
        return tried[0]

    # --- queries ---

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
        remotes = self.world.remotes(source)
        out = [self._decide(dst, "ingress", r, protocol, port) for r in remotes]
        return next((d for d in out if d.allowed), out[0])

    def connection(self, src: F.Pod, dst: F.Pod, protocol: str, port: int) -> Decision:
        """Pod to Pod: src's egress and dst's ingress must both allow it."""
        e = self.egress(src, dst, protocol, port)
        if not e.allowed:
            return e
        i = self.ingress(dst, src, protocol, port)
        return i if not i.allowed else e
