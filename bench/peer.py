#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""peer.py SPEC...: agentfence's default-profile compile, the way a platform
team would write it in Python (the benchmark's peer).

Reads the YAML streams with PyYAML's libyaml loader (CSafeLoader),
validates every AgentIsolation the way agentfence does (unknown fields,
DNS-1123 names, label keys and values, quantities, strict CIDRs with
`ipaddress`, overlap with the ranges no agent may reach, staticIP
checks, duplicate agents) and renders the same objects (NetworkPolicy,
CiliumEgressGatewayPolicy in gateway mode, Pod) with Jinja2 templates
(bench/peer_templates/) to stdout. Nothing is written when a spec is
invalid: errors go to stderr and the exit code is 1.

Only the built-in cluster profile (no --cluster, --templates, -o).
"""
import ipaddress
import os
import re
import sys

import jinja2
import yaml

API_VERSION = "agentfence.dev/v1alpha1"
MODES = ("none", "public", "allowlist", "gateway")

# The destinations no agent may reach (agentfence's catalog.c).
BLOCKED_V4 = ["0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16",
              "172.16.0.0/12", "192.0.0.0/24", "192.0.2.0/24", "192.168.0.0/16",
              "198.18.0.0/15", "198.51.100.0/24", "203.0.113.0/24", "224.0.0.0/4",
              "240.0.0.0/4", "168.63.129.16/32"]
BLOCKED_V6 = ["::/128", "::1/128", "::ffff:0:0/96", "64:ff9b::/96", "64:ff9b:1::/48",
              "100::/64", "2001::/23", "2001:db8::/32", "2002::/16", "fc00::/7",
              "fe80::/10", "ff00::/8"]
NEVER = (list(ipaddress.collapse_addresses(map(ipaddress.ip_network, BLOCKED_V4))) +
         list(ipaddress.collapse_addresses(map(ipaddress.ip_network, BLOCKED_V6))))
GLOBAL_V6 = ipaddress.ip_network("2000::/3")
# The public space an agent in public or gateway mode reaches: each block minus
# the never-ranges inside it.
PUBLIC_BLOCKS = [
    {"cidr": str(block), "version": block.version,
     "except": [str(n) for n in NEVER if n.version == block.version and n.subnet_of(block)]}
    for block in (ipaddress.ip_network("0.0.0.0/0"), GLOBAL_V6)
]
# staticIP must be a unicast host address
BAD_STATIC = [(ipaddress.ip_network(c), what) for c, what in (
    ("0.0.0.0/8", 'an unspecified ("this network") address'),
    ("127.0.0.0/8", "a loopback address"),
    ("169.254.0.0/16", "a link-local address"),
    ("224.0.0.0/4", "a multicast address"),
    ("255.255.255.255/32", "the broadcast address"),
    ("240.0.0.0/4", "a reserved address"))]

DEFAULTS = {"namespace": "default", "runtimeClassName": "kata-fc", "cpu": "1", "memory": "1Gi"}

DNS_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?\Z")
QUALIFIED_NAME = re.compile(r"[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?\Z")
ENV_NAME = re.compile(r"[-._a-zA-Z][-._a-zA-Z0-9]{0,252}\Z")
QUANTITY = re.compile(r"([0-9]+(\.[0-9]*)?|\.[0-9]+)"
                      r"(Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E|[eE][-+]?[0-9]+)?\Z")
PREFIX_LEN = re.compile(r"(0|[1-9][0-9]{0,2})\Z")

MAX_LIST = {"allow": 1000, "ports": 64, "ingress": 32, "env": 1000, "args": 1000, "labels": 64}


def dns_subdomain(s):
    return len(s) <= 253 and all(DNS_LABEL.match(p) for p in s.split("."))


def label_key(s):
    prefix, slash, name = s.rpartition("/") if "/" in s else ("", "", s)
    if slash and (not prefix or "/" in prefix or not dns_subdomain(prefix)):
        return False
    return bool(QUALIFIED_NAME.match(name))


def label_value(s):
    return s == "" or bool(QUALIFIED_NAME.match(s))


def type_name(v):
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "a boolean"
    if isinstance(v, int):
        return "an integer"
    if isinstance(v, float):
        return "a number"
    if isinstance(v, dict):
        return "a mapping"
    if isinstance(v, list):
        return "a list"
    return "a string"


class Invalid(Exception):
    """One problem with a field; the checker records it and goes on."""


class Checker:
    """Validates one document and collects its errors."""

    def __init__(self):
        self.errors = []

    def error(self, msg):
        self.errors.append(msg)

    # --- typed getters: raise Invalid (recorded by the caller) on a bad type
    def string(self, v, path, empty_ok=False):
        if not isinstance(v, str):
            raise Invalid("%s: expected a string, got %s" % (path, type_name(v)))
        if not v and not empty_ok:
            raise Invalid("%s: must not be empty" % path)
        return v

    def mapping(self, v, path, allowed=None):
        if not isinstance(v, dict):
            raise Invalid("%s: expected a mapping, got %s" % (path, type_name(v)))
        if allowed:
            for k in v:
                if k not in allowed:
                    self.error('unknown field "%s%s"; expected one of: %s'
                               % (path + "." if path else "", k, ", ".join(allowed)))
        return v

    def seq(self, v, path, limit=None, nonempty=False):
        if not isinstance(v, list):
            raise Invalid("%s: expected a list, got %s" % (path, type_name(v)))
        if limit is not None and (len(v) > limit or (nonempty and not v)):
            raise Invalid("%s: needs %s to %d entries, got %d"
                          % (path, "1" if nonempty else "0", limit, len(v)))
        return v

    def run(self, fn, *args):
        """Call a field reader; record its Invalid and return None."""
        try:
            return fn(*args)
        except Invalid as e:
            self.error(str(e))
            return None

    # --- fields
    def labels(self, v, path):
        self.mapping(v, path)
        if len(v) > MAX_LIST["labels"]:
            raise Invalid("%s: %d labels; the limit is %d" % (path, len(v), MAX_LIST["labels"]))
        out = {}
        for k, val in v.items():
            if not isinstance(k, str) or not label_key(k):
                self.error('%s: "%s" is not a valid label key' % (path, k))
                continue
            val = self.run(self.string, val, "%s.%s" % (path, k), True)
            if val is None:
                continue
            if not label_value(val):
                self.error('%s.%s: "%s" is not a valid label value' % (path, k, val))
                continue
            out[k] = val
        return out

    def ports(self, v, path):
        self.seq(v, path, MAX_LIST["ports"], nonempty=True)
        out = set()
        for i, p in enumerate(v):
            if type(p) is not int:
                self.error("%s[%d]: expected an integer, got %s" % (path, i, type_name(p)))
            elif not 1 <= p <= 65535:
                self.error("%s[%d]: %d is out of range (1 to 65535)" % (path, i, p))
            else:
                out.add(p)
        return sorted(out)

    def quantity(self, v, path):
        # a plain 2 or 0.5 is a number to YAML; Kubernetes takes it as a quantity
        if isinstance(v, bool) or not isinstance(v, (str, int, float)):
            raise Invalid('%s: "%s" is not a positive quantity (like 500m, 2, 1Gi)'
                          % (path, type_name(v)))
        s = str(v)
        m = QUANTITY.match(s)
        if len(s) > 64 or not m or not any(c in "123456789" for c in m.group(1)):
            raise Invalid('%s: "%s" is not a positive quantity (like 500m, 2, 1Gi)' % (path, s))
        return s

    def allow(self, v):
        path = "spec.egress.allow"
        self.seq(v, path, MAX_LIST["allow"], nonempty=True)
        nets = []
        for i, s in enumerate(v):
            p = "%s[%d]" % (path, i)
            s = self.run(self.string, s, p)
            if s is None:
                continue
            addr, slash, plen = s.rpartition("/")
            # ipaddress is lenient where Kubernetes is strict: a bare address,
            # a netmask, "/08" or a zone would pass it
            if not slash or not PREFIX_LEN.match(plen) or "%" in addr or s != s.strip():
                self.error('%s: "%s" is not a CIDR' % (p, s))
                continue
            try:
                net = ipaddress.ip_network(s)
            except ValueError as e:
                if "host bits set" in str(e):
                    try:
                        fixed = ipaddress.ip_network(s, strict=False)
                        self.error('%s: "%s" has bits set past the prefix length; did you mean "%s"?'
                                   % (p, s, fixed))
                        continue
                    except ValueError:
                        pass
                self.error('%s: "%s" is not a CIDR: %s' % (p, s, e))
                continue
            hit = next((n for n in NEVER if n.version == net.version and n.overlaps(net)), None)
            if hit:
                self.error("%s: %s overlaps %s, which no agent may reach" % (p, net, hit))
            elif net.version == 6 and not net.subnet_of(GLOBAL_V6):
                self.error("%s: %s is outside global unicast %s, so it is not public"
                           % (p, net, GLOBAL_V6))
            else:
                nets.append(net)
        v4 = ipaddress.collapse_addresses(n for n in nets if n.version == 4)
        v6 = ipaddress.collapse_addresses(n for n in nets if n.version == 6)
        return [str(n) for n in v4] + [str(n) for n in v6]

    def static_ip(self, v):
        path = "spec.egress.staticIP"
        s = self.string(v, path)
        if "/" in s:
            raise Invalid('%s: "%s" is a CIDR; write the address alone' % (path, s))
        if "%" in s or s != s.strip():
            raise Invalid('%s: "%s" is not an IP address' % (path, s))
        try:
            ip = ipaddress.ip_address(s)
        except ValueError as e:
            raise Invalid('%s: "%s" is not an IP address: %s' % (path, s, e))
        if ip.version != 4:
            raise Invalid('%s: "%s" is IPv6; a Cilium egress gateway takes an IPv4 address'
                          % (path, s))
        for net, what in BAD_STATIC:
            if ip in net:
                raise Invalid("%s: %s is %s, not a unicast host address" % (path, s, what))
        return str(ip)

    def egress(self, eg, ag):
        self.mapping(eg, "spec.egress", ("mode", "allow", "ports", "staticIP", "gateway"))
        if "mode" not in eg:
            raise Invalid("spec.egress.mode is required; expected one of: "
                          "none, public, allowlist, gateway")
        mode = self.string(eg["mode"], "spec.egress.mode")
        if mode not in MODES:
            raise Invalid('spec.egress.mode: "%s" is not a mode; expected one of: '
                          "none, public, allowlist, gateway" % mode)
        ag["mode"] = mode
        for key, want in (("allow", "allowlist"), ("staticIP", "gateway"), ("gateway", "gateway")):
            if key in eg and mode != want:
                self.error("spec.egress.%s is only valid with mode: %s (mode is %s)"
                           % (key, want, mode))
        if mode == "allowlist":
            if "allow" in eg:
                ag["allow"] = self.run(self.allow, eg["allow"])
            else:
                self.error("spec.egress.allow is required with mode: allowlist "
                           "(a non-empty list of public CIDRs)")
        if mode == "gateway":
            if "staticIP" in eg:
                ag["static_ip"] = self.run(self.static_ip, eg["staticIP"])
            else:
                self.error("spec.egress.staticIP is required with mode: gateway")
            ag["gw_selector"] = {"egress-gateway": "true"}
            if "gateway" in eg:
                gw = self.run(self.mapping, eg["gateway"], "spec.egress.gateway", ("nodeSelector",))
                if gw and "nodeSelector" in gw:
                    sel = self.run(self.labels, gw["nodeSelector"],
                                   "spec.egress.gateway.nodeSelector")
                    if sel == {} and gw["nodeSelector"] == {}:
                        self.error("spec.egress.gateway.nodeSelector: must select the gateway "
                                   "nodes (empty matches every node)")
                    elif sel:
                        ag["gw_selector"] = sel
        if "ports" in eg:
            if mode == "none":
                self.error("spec.egress.ports is not valid with mode: none (no egress at all)")
            else:
                ag["ports"] = self.run(self.ports, eg["ports"], "spec.egress.ports")

    def ingress(self, v):
        self.seq(v, "spec.ingress", MAX_LIST["ingress"])
        rules = []
        for i, it in enumerate(v):
            path = "spec.ingress[%d]" % i
            if self.run(self.mapping, it, path, ("from", "ports")) is None:
                continue
            rule = {"namespace": None, "pod_labels": {}, "ports": None}
            if "from" not in it:
                self.error("%s.from is required" % path)
            else:
                frm = self.run(self.mapping, it["from"], path + ".from", ("namespace", "podLabels"))
                if frm is not None:
                    if "namespace" not in frm:
                        self.error("%s.from.namespace is required" % path)
                    else:
                        ns = self.run(self.string, frm["namespace"], path + ".from.namespace")
                        if ns is not None and not DNS_LABEL.match(ns):
                            self.error('%s.from.namespace: "%s" is not a valid namespace name'
                                       % (path, ns))
                        rule["namespace"] = ns
                    if "podLabels" in frm:
                        rule["pod_labels"] = self.run(self.labels, frm["podLabels"],
                                                      path + ".from.podLabels")
            # ports are required: an ingress rule never opens every port
            if "ports" not in it:
                self.error("%s.ports is required" % path)
            else:
                rule["ports"] = self.run(self.ports, it["ports"], path + ".ports")
            rules.append(rule)
        return rules

    def env(self, v):
        self.seq(v, "spec.env", MAX_LIST["env"])
        out, seen = [], set()
        for i, e in enumerate(v):
            path = "spec.env[%d]" % i
            if self.run(self.mapping, e, path, ("name", "value")) is None:
                continue
            name = value = None
            if "name" not in e:
                self.error("%s.name is required" % path)
            else:
                name = self.run(self.string, e["name"], path + ".name")
                if name is not None and not ENV_NAME.match(name):
                    self.error('%s.name: "%s" is not a valid environment variable name'
                               % (path, name))
                elif name in seen:
                    self.error('%s.name: "%s" is set twice' % (path, name))
                seen.add(name)
            if "value" not in e:
                self.error("%s.value is required" % path)
            else:
                value = self.run(self.string, e["value"], path + ".value", True)
            out.append({"name": name, "value": value})
        return out

    def strings(self, v, path):
        self.seq(v, path, MAX_LIST["args"])
        return [self.run(self.string, s, "%s[%d]" % (path, i), True) for i, s in enumerate(v)]

    def spec(self, spec, ag):
        self.mapping(spec, "spec", ("image", "command", "args", "env", "resources",
                                    "runtimeClassName", "egress", "ingress"))
        if "image" not in spec:
            self.error("spec.image is required")
        else:
            image = self.run(self.string, spec["image"], "spec.image")
            if image is not None and any(c in image for c in " \t\n"):
                self.error('spec.image: "%s" contains white space' % image)
            ag["image"] = image
        for key in ("command", "args"):
            if key in spec:
                ag[key] = self.run(self.strings, spec[key], "spec." + key)
        if "env" in spec:
            ag["env"] = self.run(self.env, spec["env"])
        if "resources" in spec:
            res = self.run(self.mapping, spec["resources"], "spec.resources", ("cpu", "memory"))
            for key in ("cpu", "memory"):
                if res and key in res:
                    ag[key] = self.run(self.quantity, res[key], "spec.resources." + key)
        if "runtimeClassName" in spec:
            rc = self.run(self.string, spec["runtimeClassName"], "spec.runtimeClassName")
            if rc is not None and not dns_subdomain(rc):
                self.error('spec.runtimeClassName: "%s" is not a valid RuntimeClass name' % rc)
            ag["runtime_class"] = rc
        if "egress" in spec:
            self.run(self.egress, spec["egress"], ag)
        else:
            # no agent gets a network nobody wrote down
            self.error("spec.egress is required: set egress.mode to none, public, "
                       "allowlist or gateway")
        if "ingress" in spec:
            ag["ingress"] = self.run(self.ingress, spec["ingress"])

    def document(self, doc):
        """The agent of one document (a dict for the templates), or None."""
        self.mapping(doc, "", ("apiVersion", "kind", "metadata", "spec"))
        ag = {"name": None, "namespace": DEFAULTS["namespace"], "image": None, "command": None,
              "args": None, "env": [], "cpu": DEFAULTS["cpu"], "memory": DEFAULTS["memory"],
              "runtime_class": DEFAULTS["runtimeClassName"], "mode": None, "allow": [],
              "static_ip": None, "gw_selector": None, "ports": [], "ingress": []}
        for key, want in (("apiVersion", API_VERSION), ("kind", "AgentIsolation")):
            if key not in doc:
                self.error("%s is required" % key)
                continue
            s = self.run(self.string, doc[key], key)
            if s is not None and s != want:
                self.error('%s: "%s" is not supported; expected %s' % (key, s, want))
        if "metadata" not in doc:
            self.error("metadata is required")
        elif self.run(self.mapping, doc["metadata"], "metadata", ("name", "namespace")) is not None:
            meta = doc["metadata"]
            if "name" not in meta:
                self.error("metadata.name is required")
            else:
                name = self.run(self.string, meta["name"], "metadata.name")
                if name is not None and not DNS_LABEL.match(name):
                    self.error('metadata.name: "%s" is not a valid job id (a DNS-1123 label)'
                               % name)
                ag["name"] = name
            if "namespace" in meta:
                ns = self.run(self.string, meta["namespace"], "metadata.namespace")
                if ns is not None and not DNS_LABEL.match(ns):
                    self.error('metadata.namespace: "%s" is not a valid namespace name' % ns)
                ag["namespace"] = ns
        if "spec" not in doc:
            self.error("spec is required")
        else:
            self.run(self.spec, doc["spec"], ag)
        return None if self.errors else ag


def load_templates():
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                                    "peer_templates")),
        trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True,
        undefined=jinja2.StrictUndefined, autoescape=False)
    return {name: env.get_template(name + ".yaml.j2")
            for name in ("networkpolicy", "egressgatewaypolicy", "pod")}


def main(argv):
    if not argv:
        sys.exit("usage: peer.py SPEC...")
    tmpl = load_templates()
    out, errors, seen = [], 0, {}
    for path in argv:
        name = "<stdin>" if path == "-" else path
        try:
            f = sys.stdin if path == "-" else open(path, encoding="utf-8")
        except OSError as e:
            print("%s: error: cannot open: %s" % (name, e.strerror), file=sys.stderr)
            errors += 1
            continue
        with f:
            try:
                for i, doc in enumerate(yaml.load_all(f, Loader=yaml.CSafeLoader), 1):
                    if doc is None:
                        continue        # an empty document
                    chk = Checker()
                    try:
                        ag = chk.document(doc)
                    except Invalid as e:
                        chk.error(str(e))
                        ag = None
                    for msg in chk.errors:
                        print("%s: document %d: error: %s" % (name, i, msg), file=sys.stderr)
                    errors += len(chk.errors)
                    if ag is None:
                        continue
                    key = (ag["namespace"], ag["name"])
                    if key in seen:
                        print("%s: document %d: error: duplicate agent %s/%s (first defined in "
                              "document %d)" % (name, i, key[0], key[1], seen[key]),
                              file=sys.stderr)
                        errors += 1
                        continue
                    seen[key] = i
                    if errors:
                        continue        # keep checking, stop rendering
                    out.append(tmpl["networkpolicy"].render(a=ag, public_blocks=PUBLIC_BLOCKS))
                    if ag["mode"] == "gateway":
                        out.append(tmpl["egressgatewaypolicy"].render(a=ag))
                    out.append(tmpl["pod"].render(a=ag))
            except yaml.YAMLError as e:
                print("%s: error: invalid YAML: %s" % (name, e), file=sys.stderr)
                errors += 1
    if errors:
        print("peer: %d error%s; nothing written" % (errors, "" if errors == 1 else "s"),
              file=sys.stderr)
        return 1
    sys.stdout.write("".join(out))
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
