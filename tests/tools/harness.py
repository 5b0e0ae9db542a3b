# SPDX-License-Identifier: Apache-2.0
"""Shared fixtures of the agentfence verification suite (tests/tools).

Everything here is written from the spec format, the cluster-profile format
and the published address registries and API references (cited where used),
not from the compiler's derived logic:

* the binary to test (env AGENTFENCE, default build/agentfence) and the
  JSON Schemas derived from the Kubernetes and CRD documents kept in
  tests/schemas (see tests/schemas/SOURCES.md);
* a model of a ClusterProfile with the compiler's documented defaults;
* our own copy of the catalogue of destinations no agent may reach;
* the corpus of cases: every examples/NAME.yaml (with examples/profile-NAME.yaml
  when present) and generated specs covering every egress mode under several
  profiles (tests/tools/profiles/*.yaml plus the built-in default);
* a model of each agent's spec and of what it should be able to reach.
"""

from __future__ import annotations

import atexit
import functools
import ipaddress
import json
import os
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional, Tuple

import yaml

TOOLS = Path(__file__).resolve().parent
REPO = TOOLS.parents[1]
PROFILES_DIR = TOOLS / "profiles"
EXAMPLES_DIR = REPO / "examples"

JOB_LABEL = "agentfence.dev/job-id"
GUARD_LABEL = "agentfence.dev/guard"
NS_LABEL = "agentfence.dev/namespace"
MANAGED_BY = "app.kubernetes.io/managed-by"
SYNC_WAVE = "argocd.argoproj.io/sync-wave"
CILIUM_NS_LABEL = "io.kubernetes.pod.namespace"

# ---------------------------------------------------------------------------
# binary, schemas, running it
# ---------------------------------------------------------------------------


def binary() -> str:
    b = os.environ.get("AGENTFENCE", "build/agentfence")
    p = Path(b)
    if not p.is_absolute() and not p.exists():
        p = REPO / b
    return str(p)


def schemas_dir() -> Path:
    """The derived JSON Schemas, in the repository (tests/schemas/derive.py)."""
    return REPO / "tests" / "schemas" / "jsonschema"


def run(args: List[str], stdin: Optional[bytes] = None) -> subprocess.CompletedProcess:
    return subprocess.run([binary()] + list(args), input=stdin, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, timeout=60, cwd=str(REPO))


def load_yaml_stream(data) -> list:
    """Every non-empty document of a YAML stream, parsed by libyaml."""
    return [d for d in yaml.load_all(data, Loader=yaml.CSafeLoader) if d is not None]


_TMP = Path(tempfile.mkdtemp(prefix="agentfence-tools-"))
atexit.register(shutil.rmtree, str(_TMP), True)


def tmpdir(name: str) -> Path:
    d = _TMP / name
    if d.exists():
        shutil.rmtree(d)
    d.mkdir(parents=True)
    return d


class CompileError(AssertionError):
    pass


@functools.lru_cache(maxsize=None)
def compile_raw(spec_path: str, profile_path: Optional[str], fmt: str = "yaml") -> bytes:
    args = ["compile"]
    if profile_path:
        args += ["--cluster", profile_path]
    if fmt != "yaml":
        args += ["--format", fmt]
    args.append(spec_path)
    r = run(args)
    if r.returncode != 0:
        raise CompileError(f"agentfence {' '.join(args)} exited {r.returncode}:\n"
                           f"{r.stderr.decode(errors='replace')}")
    return r.stdout


@functools.lru_cache(maxsize=None)
def _compiled_objects(spec_path: str, profile_path: Optional[str]) -> str:
    return json.dumps(load_yaml_stream(compile_raw(spec_path, profile_path)))


def compiled_objects(case: "Case") -> list:
    """A fresh copy of the objects of the YAML stream the compiler writes."""
    return json.loads(_compiled_objects(case.spec_path, case.profile_path))


# ---------------------------------------------------------------------------
# addresses
# ---------------------------------------------------------------------------

net = functools.lru_cache(maxsize=None)(lambda s: ipaddress.ip_network(s, strict=True))
addr = ipaddress.ip_address

GLOBAL_V6 = net("2000::/3")  # global unicast (RFC 4291, IANA IPv6 Address Space)
NAT64 = net("64:ff9b::/96")  # well-known NAT64 prefix (RFC 6052)
V4_ALL = net("0.0.0.0/0")
V6_ALL = net("::/0")

# The catalogue of destinations that are never public, written from the IANA
# IPv4 and IPv6 Special-Purpose Address Registries (RFC 6890) and the RFCs
# they cite, plus the cloud metadata endpoints their providers document (AWS
# IMDS, GCP and Azure metadata servers, Azure WireServer, Alibaba Cloud and
# Oracle Cloud metadata). NAT64 (64:ff9b::/96, RFC 6052) is handled apart:
# its image of a blocked IPv4 range is blocked too.
BLOCKED_V4 = [
    ("0.0.0.0/8", "this network; 0.0.0.0 reaches the local host"),  # RFC 791, RFC 1122
    ("10.0.0.0/8", "private"),  # RFC 1918
    ("100.64.0.0/10", "CGNAT (Alibaba metadata 100.100.100.200)"),  # RFC 6598
    ("127.0.0.0/8", "loopback"),  # RFC 1122
    ("169.254.0.0/16", "link-local: cloud metadata"),  # RFC 3927
    ("172.16.0.0/12", "private"),  # RFC 1918
    ("192.0.0.0/24", "IETF protocol assignments (Oracle metadata 192.0.0.192)"),  # RFC 6890
    ("192.168.0.0/16", "private"),  # RFC 1918
    ("198.18.0.0/15", "benchmarking"),  # RFC 2544
    ("224.0.0.0/4", "multicast"),  # RFC 5771
    ("240.0.0.0/4", "reserved, broadcast"),  # RFC 1112, RFC 919
    ("192.0.2.0/24", "documentation TEST-NET-1"),  # RFC 5737
    ("198.51.100.0/24", "documentation TEST-NET-2"),  # RFC 5737
    ("203.0.113.0/24", "documentation TEST-NET-3"),  # RFC 5737
    ("168.63.129.16/32", "Azure WireServer"),  # Azure docs: "What is IP address 168.63.129.16?"
]
BLOCKED_V6 = [
    ("::/128", "unspecified = local host"),  # RFC 4291
    ("::1/128", "loopback"),  # RFC 4291
    ("::ffff:0:0/96", "IPv4-mapped"),  # RFC 4291
    ("64:ff9b:1::/48", "local-use NAT64"),  # RFC 8215
    ("100::/64", "discard-only"),  # RFC 6666
    ("2001::/23", "IETF protocol assignments incl. Teredo"),  # RFC 2928
    ("2001::/32", "Teredo (embeds an IPv4 address)"),  # RFC 4380
    ("2001:db8::/32", "documentation"),  # RFC 3849
    ("2002::/16", "6to4 (embeds an IPv4 address)"),  # RFC 3056
    ("fc00::/7", "unique local (AWS fd00:ec2::254, GCP fd20:ce::254)"),  # RFC 4193
    ("fe80::/10", "link-local"),  # RFC 4291
    ("ff00::/8", "multicast"),  # RFC 4291
]


# The IANA special-purpose registries themselves, as saved in tests/data
# (provenance in tests/data/SOURCES.md). Every row whose "Globally
# Reachable" is not True (False, N/A, or blank for a terminated row) joins
# the blocked lists above, so this oracle follows the registry files, not
# the compiler's catalogue.
DATA_DIR = REPO / "tests" / "data"
IANA_FILES = {4: DATA_DIR / "iana-ipv4-special.csv", 6: DATA_DIR / "iana-ipv6-special.csv"}


@dataclass
class IanaRow:
    family: int
    block: str        # as written, footnote marks included
    name: str
    rfc: str
    reachable: str    # the "Globally Reachable" cell, as written
    networks: list    # the address blocks of the row (one row may hold two)

    @property
    def globally_reachable(self) -> bool:
        return self.reachable.split(" [")[0] == "True"


def iana_rows(family: int) -> List[IanaRow]:
    import csv
    with open(IANA_FILES[family], newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    out = []
    for r in rows:
        block = r["Address Block"]
        nets = [net(re.sub(r"\s*\[\d+\]$", "", b.strip())) for b in block.split(",")]
        out.append(IanaRow(family, block, r["Name"], " ".join(r["RFC"].split()),
                           r["Globally Reachable"], nets))
    return out


for _fam, _lst in ((4, BLOCKED_V4), (6, BLOCKED_V6)):
    for _row in iana_rows(_fam):
        if not _row.globally_reachable:
            _lst.extend((str(n), f"IANA: {_row.name} (Globally Reachable: {_row.reachable or 'blank'})")
                        for n in _row.networks if str(n) not in {c for c, _ in _lst})

# Named addresses that must never be reachable (metadata services, loopback,
# their IPv6 disguises).
NAMED_BLOCKED = [
    "169.254.169.254", "169.254.170.2", "169.254.170.23", "100.100.100.200", "192.0.0.192",
    "169.254.169.253", "169.254.169.123", "169.254.42.42", "168.63.129.16",
    "fd00:ec2::254", "fd00:ec2::23", "fd20:ce::254", "fd00:c1::a9fe:a9fe",
    "64:ff9b::a9fe:a9fe", "::ffff:169.254.169.254", "2002:a9fe:a9fe::1",
    "2001:0:a9fe:a9fe::1", "::", "::1", "0.0.0.0", "127.0.0.1",
]
WELL_KNOWN_PUBLIC = ["8.8.8.8", "1.1.1.1", "140.82.112.3", "2606:4700:4700::1111",
                     "2001:4860:4860::8888"]
NODELOCAL_DEFAULT = "169.254.20.10"

# (protocol, port) pairs probed wherever "every port and protocol" is claimed
PROBES: List[Tuple[str, int]] = [
    ("TCP", 1), ("TCP", 22), ("TCP", 53), ("TCP", 80), ("TCP", 443), ("TCP", 6443),
    ("TCP", 8080), ("TCP", 65535), ("UDP", 53), ("UDP", 123), ("UDP", 443), ("SCTP", 443),
]


def nat64_image(n4: ipaddress.IPv4Network) -> ipaddress.IPv6Network:
    """The NAT64 image of an IPv4 range inside 64:ff9b::/96 (RFC 6052)."""
    base = int(NAT64.network_address) | int(n4.network_address)
    return ipaddress.IPv6Network((base, 96 + n4.prefixlen))


def nat64_embedded(a: ipaddress.IPv6Address) -> ipaddress.IPv4Address:
    return ipaddress.IPv4Address(int(a) & 0xFFFFFFFF)


def sample(n) -> list:
    """First, middle and last address of a range."""
    first, last = int(n.network_address), int(n.broadcast_address)
    cls = type(n.network_address)
    return sorted({cls(first), cls(first + (last - first) // 2), cls(last)})


def neighbours(n) -> list:
    """The addresses just outside a range (first-1, last+1) that exist."""
    cls = type(n.network_address)
    top = (1 << n.max_prefixlen) - 1
    out = []
    if int(n.network_address) > 0:
        out.append(cls(int(n.network_address) - 1))
    if int(n.broadcast_address) < top:
        out.append(cls(int(n.broadcast_address) + 1))
    return out


# ---------------------------------------------------------------------------
# cluster profile
# ---------------------------------------------------------------------------


@dataclass
class Profile:
    path: Optional[str]
    name: str
    ipv4: bool = True
    ipv6: bool = True
    nat64: bool = False
    pod: list = field(default_factory=list)
    service: list = field(default_factory=list)
    node: list = field(default_factory=list)
    blocked: list = field(default_factory=list)
    dns_namespace: str = "kube-system"
    dns_labels: Dict[str, str] = field(default_factory=lambda: {"k8s-app": "kube-dns"})
    dns_ports: List[int] = field(default_factory=lambda: [53])
    # dns.localRedirect.podLabels: node-local-dns Pods (in dns_namespace) on 53
    lrp_labels: Dict[str, str] = field(default_factory=dict)
    nodelocal: Optional[ipaddress._BaseAddress] = None
    default_namespace: str = "default"
    runtime_class: str = "kata-fc"
    cpu: str = "1"
    memory: str = "1Gi"
    ephemeral: str = "1Gi"           # defaults.resources.ephemeralStorage
    deadline: int = 86400            # defaults.activeDeadlineSeconds
    read_only_root: bool = True      # defaults.readOnlyRootFilesystem
    require_digest: bool = False     # images.requireDigest
    enforcement: str = "networkpolicy"
    writers: List[str] = field(default_factory=list)   # spec.admission.writers
    probe: Optional[dict] = None     # spec.probe: {image, waitSeconds}

    def families(self) -> set:
        return {v for v, on in ((4, self.ipv4), (6, self.ipv6)) if on}

    def cluster_ranges(self) -> list:
        return [(n, f"profile {kind}") for kind, lst in
                (("podCIDRs", self.pod), ("serviceCIDRs", self.service),
                 ("nodeCIDRs", self.node), ("blockedCIDRs", self.blocked)) for n in lst]

    # --- what is never reachable -------------------------------------------------
    @functools.cached_property
    def blocked_ranges(self) -> list:
        """(network, why) for every range no agent may reach, in every mode."""
        out = [(net(c), w) for c, w in BLOCKED_V4 + BLOCKED_V6] + self.cluster_ranges()
        if self.nat64:
            v4 = [(n, w) for n, w in out if n.version == 4]
            out += [(nat64_image(n), f"NAT64 image of {n} ({w})") for n, w in v4]
        else:
            out.append((NAT64, "NAT64 prefix without NAT64 in the cluster"))
        return out

    @functools.cached_property
    def _blocked_by_family(self):
        return {4: [n for n, _ in self.blocked_ranges if n.version == 4],
                6: [n for n, _ in self.blocked_ranges if n.version == 6]}

    def is_blocked(self, a) -> bool:
        return any(a in n for n in self._blocked_by_family[a.version])

    def is_public(self, a) -> bool:
        """Reachable in public mode: IPv4 outside every blocked
        range; IPv6 inside global unicast 2000::/3 outside every blocked range,
        or (with NAT64) the NAT64 image of a public IPv4 address."""
        if self.is_blocked(a):
            return False
        if a.version == 4:
            return True
        if a in NAT64:
            return self.nat64 and not self.is_blocked(nat64_embedded(a))
        return a in GLOBAL_V6

    def in_family(self, a) -> bool:
        return a.version in self.families()


def load_profile(path: Optional[str]) -> Profile:
    if path is None:
        # the built-in profile names no range: IPv4 only (its private space
        # is in the catalogue), IPv6 closed
        return Profile(None, "default", ipv6=False)
    with open(path, "rb") as f:
        doc = yaml.load(f, Loader=yaml.CSafeLoader)
    spec = doc.get("spec") or {}
    p = Profile(str(path), (doc.get("metadata") or {}).get("name") or Path(path).stem)
    p.nat64 = bool(spec.get("nat64", False))
    p.enforcement = str(spec.get("enforcement", "networkpolicy"))
    p.writers = [str(w) for w in (spec.get("admission") or {}).get("writers") or []]
    for key, attr in (("podCIDRs", "pod"), ("serviceCIDRs", "service"),
                      ("nodeCIDRs", "node"), ("blockedCIDRs", "blocked")):
        setattr(p, attr, [net(c) for c in spec.get(key) or []])
    # families fail closed: IPv6 only where the profile names an IPv6 range;
    # IPv4 (whose private space the catalogue holds) unless only IPv6 is named
    named = {n.version for n, _ in p.cluster_ranges()}
    if "ipFamilies" in spec:
        fams = spec["ipFamilies"] or []
        p.ipv4, p.ipv6 = "IPv4" in fams, "IPv6" in fams
        if p.ipv6 and 6 not in named:
            raise ValueError(f"{path}: IPv6 is open with no IPv6 range named")
    else:
        p.ipv4, p.ipv6 = 4 in named or 6 not in named, 6 in named
    dns = spec.get("dns") or {}
    p.dns_namespace = dns.get("namespace", p.dns_namespace)
    if dns.get("podLabels"):
        p.dns_labels = {str(k): str(v) for k, v in dns["podLabels"].items()}
    if dns.get("localRedirect"):
        p.lrp_labels = {str(k): str(v) for k, v in dns["localRedirect"]["podLabels"].items()}
    if dns.get("ports"):
        p.dns_ports = sorted({int(x) for x in dns["ports"]})
    if dns.get("nodeLocal"):
        p.nodelocal = addr(dns["nodeLocal"])
    d = spec.get("defaults") or {}
    p.default_namespace = d.get("namespace", p.default_namespace)
    p.runtime_class = d.get("runtimeClassName", p.runtime_class)
    res = d.get("resources") or {}
    p.cpu = str(res.get("cpu", p.cpu))
    p.memory = str(res.get("memory", p.memory))
    p.probe = spec.get("probe")
    p.ephemeral = str(res.get("ephemeralStorage", p.ephemeral))
    p.deadline = int(d.get("activeDeadlineSeconds", p.deadline))
    p.read_only_root = bool(d.get("readOnlyRootFilesystem", p.read_only_root))
    p.require_digest = bool((spec.get("images") or {}).get("requireDigest", False))
    return p


# ---------------------------------------------------------------------------
# agent spec model
# ---------------------------------------------------------------------------


@dataclass
class IngressRule:
    namespace: str
    labels: Dict[str, str]
    ports: List[int]


@dataclass
class Agent:
    name: str
    namespace: str
    mode: str
    allow: list          # the CIDR entries of egress.allow
    names: List[str]     # the DNS-name entries of egress.allow ("*.x" included)
    dns: bool            # egress.dns
    ports: Optional[List[int]]
    ingress: List[IngressRule]
    static_ip: Optional[str]
    gw_selector: Optional[Dict[str, str]]
    runtime_class: str
    doc: dict

    def key(self):
        return (self.namespace, self.name)


def is_name(entry) -> bool:
    """An allow entry that is a DNS name rather than a CIDR."""
    try:
        net(str(entry))
        return False
    except ValueError:
        return True


def agent_from_doc(doc: dict, profile: Profile) -> Agent:
    meta = doc.get("metadata") or {}
    spec = doc.get("spec") or {}
    eg = spec.get("egress") or {}
    ingress = []
    for r in spec.get("ingress") or []:
        fr = r.get("from") or {}
        ingress.append(IngressRule(str(fr["namespace"]),
                                   {str(k): str(v) for k, v in (fr.get("podLabels") or {}).items()},
                                   sorted({int(x) for x in r.get("ports") or []})))
    gw = (eg.get("gateway") or {}).get("nodeSelector")
    return Agent(
        name=str(meta["name"]),
        namespace=str(meta.get("namespace") or profile.default_namespace),
        mode=str(eg.get("mode")),
        allow=[net(str(c)) for c in eg.get("allow") or [] if not is_name(c)],
        names=[str(c) for c in eg.get("allow") or [] if is_name(c)],
        dns=bool(eg.get("dns", True)) and str(eg.get("mode")) != "none",
        ports=sorted({int(x) for x in eg["ports"]}) if eg.get("ports") else None,
        ingress=ingress,
        static_ip=str(eg["staticIP"]) if eg.get("staticIP") is not None else None,
        gw_selector={str(k): str(v) for k, v in gw.items()} if gw else None,
        runtime_class=str(spec.get("runtimeClassName") or profile.runtime_class),
        doc=doc,
    )


# ---------------------------------------------------------------------------
# cases
# ---------------------------------------------------------------------------


@dataclass
class Case:
    name: str
    spec_path: str
    profile_path: Optional[str]
    profile: Profile
    docs: list
    generated: bool

    @functools.cached_property
    def agents(self) -> List[Agent]:
        return [agent_from_doc(d, self.profile) for d in self.docs
                if isinstance(d, dict) and d.get("kind") == "AgentIsolation"]


def example_cases() -> List[Case]:
    out = []
    for f in sorted(EXAMPLES_DIR.glob("*.yaml")) + sorted(EXAMPLES_DIR.glob("*.yml")):
        if f.name.startswith("profile-"):
            continue
        prof = EXAMPLES_DIR / f"profile-{f.stem}.yaml"
        pp = str(prof) if prof.exists() else None
        with open(f, "rb") as fh:
            docs = load_yaml_stream(fh.read())
        out.append(Case(f"examples/{f.name}", str(f), pp, load_profile(pp), docs, False))
    return out


def profile_paths() -> List[Optional[str]]:
    return [None] + [str(p) for p in sorted(PROFILES_DIR.glob("*.yaml"))]


ALLOW_V4 = ["140.82.112.0/20", "185.199.108.153/32"]
ALLOW_V6 = ["2606:50c0:8000::/46", "2a04:4e42:200::1/128"]
STATIC_IPS = {"agents": "203.0.113.10", "team-b": "198.51.100.20"}
GEN_NAMESPACES = ["agents", "team-b"]
TRICKY_LABELS = ["yes", "null", "1_000", "0b101", "2001-01-01", "true", "012", "1.0", "on", "0x1F"]
TRICKY_STRINGS = [
    "-m", "*", "&a", "!t", "%x", "@y", "`z", "{", "[", "|", ">", "'", '"', "? q", "---", "...",
    "#c", "a: b", "- x", "", " lead", "trail ", "tab\there", "line1\nline2", "\u00fcn\u00ef",
    "null", "~", "yes", "No", "ON", "off", "true", "False", "0x1F", "0o17", "012", "1_000", "0b101",
    "1.0", "1e3", ".inf", "-.Inf", ".NaN", "2001-01-01", "12:30:00", "=", "<<", "\\", "\u2028",
    "\x01", "\x1b[0m", "trailing newline\n", "\ttab first",
]
# Not "\x7f": the compiler writes it correctly escaped ("\x7f"), but
# `kubectl kustomize` (kyaml/go-yaml 5.5) then fails with "control characters
# are not allowed" while re-encoding it, so test (c) cannot hold for it.
LONG_NAME = "long-" + "j" * 57 + "9"
LONG_NS = "ns-" + "n" * 59 + "0"


# PyYAML writes YAML 1.1; the compiler reads YAML 1.2, where 0o17 and 1e3 are
# numbers.  Quote every string that either version would resolve otherwise.
_YAML12_SPECIAL = re.compile(
    r"^(~|null|Null|NULL|true|True|TRUE|false|False|FALSE"
    r"|[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+"
    r"|[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?"
    r"|[-+]?\.(inf|Inf|INF)|\.(nan|NaN|NAN))$")


class SpecDumper(yaml.SafeDumper):
    pass


def _repr_str(dumper, s):
    if _YAML12_SPECIAL.match(s):
        return dumper.represent_scalar("tag:yaml.org,2002:str", s, style='"')
    return yaml.SafeDumper.represent_str(dumper, s)


SpecDumper.add_representer(str, _repr_str)


def dump_specs(docs, path):
    with open(path, "w") as f:
        yaml.dump_all(docs, f, Dumper=SpecDumper, sort_keys=False, allow_unicode=False)


def _agent(name, ns, egress, ingress=None, **extra):
    doc = {"apiVersion": "agentfence.dev/v1alpha1", "kind": "AgentIsolation",
           "metadata": {"name": name}, "spec": {"image": "ghcr.io/acme/agent-runner:1.4.2"}}
    if ns is not None:
        doc["metadata"]["namespace"] = ns
    doc["spec"]["egress"] = egress
    if ingress:
        doc["spec"]["ingress"] = ingress
    doc["spec"].update(extra)
    return doc


def allow_conflicts(profile: Profile, n) -> list:
    """Blocked ranges an allow entry (or, with NAT64, its NAT64 image) overlaps."""
    targets = [n]
    if profile.nat64 and n.version == 4:
        targets.append(nat64_image(n))
    return [b for t in targets for b, _ in profile.blocked_ranges
            if b.version == t.version and b.overlaps(t)]


def generated_docs(profile: Profile, gateway: bool = True) -> list:
    """Every egress mode, with and without egress.ports, with and without
    ingress, the same job ids in two namespaces."""
    allow = []
    if profile.ipv4 or profile.nat64:
        allow += ALLOW_V4
    if profile.ipv6:
        allow += ALLOW_V6
    # the compiler rightly refuses an allow entry that overlaps a blocked
    # range (CompileRefusals tests that); keep only the entries it must accept
    allow = [c for c in allow if not allow_conflicts(profile, net(c))]
    prom = [{"from": {"namespace": "monitoring",
                      "podLabels": {"app.kubernetes.io/name": "prometheus"}}, "ports": [9090]},
            {"from": {"namespace": "ci", "podLabels": {}}, "ports": [8081, 8080]}]
    scrape = [{"from": {"namespace": "monitoring", "podLabels": {"app": "scraper", "tier": "ops"}},
               "ports": [9100]}]
    docs = []
    for ns in GEN_NAMESPACES:
        docs += [
            _agent("pub", ns, {"mode": "public"}),
            _agent("pub-ports", ns, {"mode": "public", "ports": [443, 8443]}),
            _agent("pub-ingress", ns, {"mode": "public"}, prom,
                   resources={"cpu": "500m", "memory": "256Mi"}),
            _agent("none", ns, {"mode": "none"}),
            _agent("none-ingress", ns, {"mode": "none"}, scrape, runtimeClassName="kata-qemu"),
        ]
        if allow:
            docs += [
                _agent("allow", ns, {"mode": "allowlist", "allow": list(allow)}),
                _agent("allow-ports", ns, {"mode": "allowlist", "allow": list(allow),
                                           "ports": [443]}, scrape),
            ]
        if gateway and profile.ipv4:
            docs += [
                _agent("gw", ns, {"mode": "gateway", "staticIP": STATIC_IPS[ns]}),
                _agent("gw-ports", ns, {"mode": "gateway", "staticIP": STATIC_IPS[ns],
                                        "ports": [443, 80],
                                        "gateway": {"nodeSelector": {"egress-gateway": "true",
                                                                     "zone": "a"}}}, prom),
            ]
    # an agent in the profile's default namespace
    docs.append(_agent("dflt", None, {"mode": "public"}))
    # strings a YAML 1.1 reader would take for something else, in every field
    # that carries user text (the YAML and JSON outputs must agree on them)
    docs.append(_agent("quoting", "agents", {"mode": "none"}, [
        {"from": {"namespace": "monitoring", "podLabels": dict(zip("abcdefghij", TRICKY_LABELS))},
         "ports": [9090]}],
        image="registry.example.com:5000/a/b@sha256:" + "0123456789abcdef" * 4,
        command=list(TRICKY_STRINGS), args=["--", "-"],
        env=[{"name": f"V{i}", "value": v} for i, v in enumerate(TRICKY_STRINGS[:24])]))
    # the Pod limits: ephemeral storage, a deadline, a scratch volume, env
    # from a Secret and a ConfigMap, pull secrets
    docs.append(_agent("limits", "agents", {"mode": "public"},
                       resources={"cpu": "250m", "memory": "512Mi", "ephemeralStorage": "3Gi"},
                       activeDeadlineSeconds=3600,
                       scratch={"sizeLimit": "200Mi", "mountPath": "/work"},
                       imagePullSecrets=["regcred", "mirror.creds"],
                       env=[{"name": "PLAIN", "value": "1"},
                            {"name": "OPENAI_API_KEY",
                             "valueFrom": {"secretKeyRef": {"name": "openai", "key": "api-key"}}},
                            {"name": "MODEL", "valueFrom": {"configMapKeyRef": {
                                "name": "agent.config", "key": "model_name", "optional": True}}}]))
    docs.append(_agent("scratch-default", "team-b", {"mode": "none"}, scratch={}))
    # the longest names a job id and a namespace may have (63 characters)
    long_mode = ({"mode": "gateway", "staticIP": "192.0.2.77"} if gateway and profile.ipv4
                 else {"mode": "public", "ports": [65535, 1]})
    docs.append(_agent(LONG_NAME, LONG_NS, long_mode, [
        {"from": {"namespace": LONG_NS, "podLabels": {"example.com/" + "k" * 63: "v" * 63}},
         "ports": [1, 65535]}]))
    return docs


_GEN_DIR = None


def generated_cases() -> List[Case]:
    global _GEN_DIR
    if _GEN_DIR is None:
        _GEN_DIR = tmpdir("generated")
    out = []
    for pp in profile_paths():
        prof = load_profile(pp)
        docs = generated_docs(prof)
        stem = Path(pp).stem if pp else "default"
        spath = _GEN_DIR / f"gen-{stem}.yaml"
        dump_specs(docs, spath)
        out.append(Case(f"generated/{stem}", str(spath), pp, prof, docs, True))
    return out


@functools.lru_cache(maxsize=None)
def _all_cases():
    return example_cases() + generated_cases()


def all_cases() -> List[Case]:
    return list(_all_cases())


# ---------------------------------------------------------------------------
# grouping the output per agent
# ---------------------------------------------------------------------------


def job_of(obj: dict) -> Optional[str]:
    return ((obj.get("metadata") or {}).get("labels") or {}).get(JOB_LABEL)


def is_guard(obj: dict) -> bool:
    return ((obj.get("metadata") or {}).get("labels") or {}).get(GUARD_LABEL) == "true"


AGENT_POLICIES = ("NetworkPolicy", "CiliumNetworkPolicy")


def group_objects(objs: list) -> list:
    """Split the stream into per-agent groups, each starting at the agent's
    policy: [[NetworkPolicy | CiliumNetworkPolicy, (ClusterNetworkPolicy),
    (CiliumEgressGatewayPolicy), Pod], ...]. Guard objects (a namespace's,
    not an agent's) are left out: guards() lists them."""
    groups = []
    for o in objs:
        if is_guard(o):
            continue
        if o.get("kind") in AGENT_POLICIES or not groups:
            groups.append([])
        groups[-1].append(o)
    return groups


def guards(objs: list) -> list:
    return [o for o in objs if is_guard(o)]


def pod_object(objs: list, agent: Agent) -> dict:
    found = [o for o in objs if o.get("kind") == "Pod"
             and o["metadata"].get("namespace") == agent.namespace
             and (job_of(o) == agent.name or o["metadata"].get("name") == agent.name)]
    if len(found) != 1:
        raise AssertionError(f"{len(found)} Pods for agent {agent.namespace}/{agent.name}")
    return found[0]
