# SPDX-License-Identifier: Apache-2.0
"""A small cluster model shared by the policy evaluators (cilium.py, cnp.py).

The evaluators are test oracles: they answer "may this connection happen?"
for hand-built clusters.  This module holds what they have in common and
nothing about any policy language:

* Namespaces (netpol.Namespace: kubernetes.io/metadata.name always set), Pods
  (namespace, labels, addresses, named container ports, host_network, node,
  service account), Nodes (name, labels, addresses), the API server's
  addresses, and a DNS map from names to addresses.  The map may point a name
  at an in-cluster address (DNS rebinding): resolution is whatever the map
  says.
* A destination is a Pod, an IP address (a Pod's, a Node's, the API server's
  or an external one) or a Name (a DNS name, reached at each address it
  resolves to).  World.remotes() turns a destination into the Remote ends a
  connection can actually reach: one per address.
* A host-network Pod has its Node's address; as a remote end it is that Node
  (it has no Pod identity of its own), which is how Cilium and the
  network-policy-api both describe it.
* Decision is the answer: allowed or not, the deciding rule (RuleRef: object
  kind, namespace, name, rule section and index) when one rule decided, and a
  sentence saying why.  bool(decision) is decision.allowed.

fence.Pod subclasses netpol.Pod, so netpol.py's functions accept it.

Owned by the test tools; agentfence's code is never imported here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Dict, Iterable, List, Mapping, Optional, Sequence, Tuple, Union

import os as _os
import sys as _sys
_sys.path.insert(0, _os.path.dirname(_os.path.abspath(__file__)))

import netpol as N  # noqa: E402

IPAddress = N.IPAddress
Namespace = N.Namespace
ip = N.ip


def dns_name(name: str) -> str:
    """A DNS name in the form the evaluators compare: lower case, no trailing dot."""
    name = str(name).strip().lower()
    return name[:-1] if name.endswith(".") and name != "." else name


@dataclass(frozen=True)
class Pod(N.Pod):
    """A Pod.  ips lists every address (dual stack); ip (netpol's field) is the first.

    A host-network Pod shares its Node's addresses: give it node= and no ips."""
    ips: Tuple[str, ...] = ()
    host_network: bool = False
    node: Optional[str] = None
    service_account: str = "default"

    def addresses(self) -> List[IPAddress]:
        return [ip(a) for a in self.ips]


@dataclass(frozen=True)
class Node:
    name: str
    labels: Mapping[str, str] = field(default_factory=dict)
    ips: Tuple[str, ...] = ()

    def addresses(self) -> List[IPAddress]:
        return [ip(a) for a in self.ips]


@dataclass(frozen=True)
class Name:
    """A destination given by DNS name."""
    name: str

    def __post_init__(self):
        object.__setattr__(self, "name", dns_name(self.name))


@dataclass(frozen=True)
class Remote:
    """The other end of one connection, as a policy engine sees it.

    pod: a pod-network Pod owning the address; node: the Node owning it (also
    the case for host-network Pods); apiserver: the address is one of the API
    server's; none of them: an address outside the cluster.  name: the DNS
    name the destination was reached by, if any."""
    address: Optional[IPAddress]
    pod: Optional[Pod] = None
    node: Optional[Node] = None
    apiserver: bool = False
    name: Optional[str] = None

    @property
    def external(self) -> bool:
        return self.pod is None and self.node is None and not self.apiserver

    def describe(self) -> str:
        what = []
        if self.pod is not None:
            what.append(f"pod {self.pod.namespace.name}/{self.pod.name}")
        if self.node is not None:
            what.append(f"node {self.node.name}")
        if self.apiserver:
            what.append("API server")
        if not what:
            what.append("external")
        text = " + ".join(what) + f" {self.address}"
        return f"{self.name} -> {text}" if self.name else text


@dataclass(frozen=True)
class RuleRef:
    """One rule of one policy object: kind, namespace (None if cluster scoped),
    name, section (egress, ingressDeny, specs[1].egress ...) and index in it."""
    kind: str
    namespace: Optional[str]
    name: str
    section: str
    index: int
    rule_name: Optional[str] = None

    def __str__(self) -> str:
        obj = f"{self.namespace}/{self.name}" if self.namespace else self.name
        text = f"{self.kind} {obj} {self.section}[{self.index}]"
        return f"{text} ({self.rule_name})" if self.rule_name else text


@dataclass(frozen=True)
class Decision:
    allowed: bool
    rule: Optional[RuleRef]
    reason: str

    def __bool__(self) -> bool:
        return self.allowed

    def __str__(self) -> str:
        verdict = "allowed" if self.allowed else "denied"
        where = f" by {self.rule}" if self.rule else ""
        return f"{verdict}{where}: {self.reason}"


Destination = Union[Pod, Name, str, IPAddress]


class World:
    """The cluster: built with ns(), pod(), node(), then queried by the evaluators."""

    def __init__(self, apiserver_ips: Sequence[str] = (), dns: Optional[Mapping[str, Sequence[str]]] = None,
                 cluster_name: str = "default"):
        self.namespaces: Dict[str, Namespace] = {}
        self.pods: List[Pod] = []
        self.nodes: Dict[str, Node] = {}
        self.apiserver_ips = [ip(a) for a in apiserver_ips]
        self.dns: Dict[str, List[IPAddress]] = {}
        self.dns_servers: List[Pod] = []
        self.dns_ports: Dict[str, tuple] = {}   # server Pod name -> its DNS ports (default 53)
        self.cluster_name = cluster_name
        for name, addrs in (dns or {}).items():
            self.add_dns(name, addrs)

    # --- building ---

    def ns(self, name: str, labels: Optional[Mapping[str, str]] = None) -> Namespace:
        if name in self.namespaces and labels is None:
            return self.namespaces[name]
        n = Namespace(name, dict(labels or {}))
        self.namespaces[name] = n
        return n

    def node(self, name: str, ips: Iterable[str], labels: Optional[Mapping[str, str]] = None) -> Node:
        n = Node(name, dict(labels or {}), tuple(str(a) for a in ips))
        self.nodes[name] = n
        return n

    def pod(self, namespace: str, name: str, labels: Optional[Mapping[str, str]] = None,
            ips: Iterable[str] = (), node: Optional[str] = None, host_network: bool = False,
            ports: Optional[Mapping[str, tuple]] = None, service_account: str = "default",
            dns_server: bool = False, dns_ports: Sequence[int] = (53,)) -> Pod:
        """A Pod; a host-network Pod takes its node's addresses (node= required)."""
        if host_network:
            if node is None or node not in self.nodes:
                raise ValueError(f"host-network pod {name}: give an existing node")
            ips = self.nodes[node].ips
        ips = tuple(str(a) for a in ips)
        p = Pod(self.ns(namespace), dict(labels or {}), ips[0] if ips else None, name,
                dict(ports or {}), ips, host_network, node, service_account)
        self.pods.append(p)
        if dns_server:
            self.dns_servers.append(p)
            self.dns_ports[p.name] = tuple(int(x) for x in dns_ports)
        return p

    def server_ports(self, server: Pod) -> tuple:
        """The ports a DNS server Pod answers on (OpenShift's: 5353)."""
        return self.dns_ports.get(server.name, (53,))

    def add_dns(self, name: str, addrs: Iterable[str]) -> None:
        self.dns[dns_name(name)] = [ip(a) for a in addrs]

    # --- lookups ---

    def resolve(self, name: str) -> List[IPAddress]:
        return list(self.dns.get(dns_name(name), []))

    def names_for(self, address) -> List[str]:
        """Every DNS name of the map that resolves to address."""
        a = ip(address)
        return sorted(n for n, addrs in self.dns.items() if a in addrs)

    def node_of(self, pod: Pod) -> Optional[Node]:
        return self.nodes.get(pod.node) if pod.node is not None else None

    def remote_at(self, address, name: Optional[str] = None) -> Remote:
        """Who owns address: a pod-network Pod, a Node, the API server, or nobody."""
        a = ip(address)
        pod = next((p for p in self.pods if not p.host_network and a in p.addresses()), None)
        node = next((n for n in self.nodes.values() if a in n.addresses()), None)
        return Remote(a, pod, node, a in self.apiserver_ips, name)

    def remotes(self, dest: Destination) -> List[Remote]:
        """The remote ends a destination stands for (a Name: one per resolved address)."""
        if isinstance(dest, Name):
            return [self.remote_at(a, dest.name) for a in self.resolve(dest.name)]
        if isinstance(dest, N.Pod):
            if getattr(dest, "host_network", False):
                node = self.node_of(dest)
                if node is None:
                    raise ValueError(f"host-network pod {dest.name} has no known node")
                return [self.remote_at(a) for a in node.addresses()]
            addrs = dest.addresses() if isinstance(dest, Pod) else [dest.address()]
            return [Remote(a, dest, None, False, None) for a in addrs if a is not None] or \
                [Remote(None, dest, None, False, None)]
        return [self.remote_at(dest)]
