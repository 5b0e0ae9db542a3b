# SPDX-License-Identifier: Apache-2.0
"""Check the shape of what agentfence writes, for every example and every
generated spec (see harness.py):

(a) every object validates against the STRICT JSON Schemas derived from the
    Kubernetes v1.35 OpenAPI documents and the Cilium CRDs (tests/schemas,
    see SOURCES.md there), with a FormatChecker and a `cidr` format;
(b) the YAML stream parsed by libyaml equals the --format json output;
(c) compile -o DIR, then `kubectl kustomize DIR`, yields the same objects;
(d) the output is deterministic (same bytes twice, stdout and -o DIR);
(e) ipBlock except entries: strictly inside their cidr, same family, no
    duplicate or nested entries, canonical text;
(f) the Pod is hardened, objects come in order NetworkPolicy,
    (CiliumEgressGatewayPolicy), Pod per agent, policies in an earlier
    Argo CD sync wave than the Pod; every Pod, and nothing else, carries the
    Argo CD and Flux replace annotations.
"""

from __future__ import annotations

import collections
import ipaddress
import json
import re
import shutil
import subprocess
import sys
import unittest

import os as _os
import sys as _sys
_sys.path.insert(0, _os.path.dirname(_os.path.abspath(__file__)))

import jsonschema
import yaml

import harness as H

CHECKS = {"objects validated": 0, "assertions": 0}


def tearDownModule():
    sys.stderr.write(f"\n[test_output] {CHECKS['objects validated']} objects validated, "
                     f"{CHECKS['assertions']} other assertions\n")


def _count(n=1):
    CHECKS["assertions"] += n


SCHEMA_FILES = {
    "Pod": "pod.strict.schema.json",
    "NetworkPolicy": "networkpolicy.strict.schema.json",
    "CiliumEgressGatewayPolicy": "ciliumegressgatewaypolicy.strict.schema.json",
    "CiliumNetworkPolicy": "ciliumnetworkpolicy.strict.schema.json",
    "CiliumClusterwideNetworkPolicy": "ciliumclusterwidenetworkpolicy.strict.schema.json",
    # the experimental channel: domainNames and nodes peers
    "ClusterNetworkPolicy": "clusternetworkpolicy.strict.schema.json",
    "ServiceAccount": "serviceaccount.strict.schema.json",
    "ValidatingAdmissionPolicy": "validatingadmissionpolicy.strict.schema.json",
    "ValidatingAdmissionPolicyBinding": "validatingadmissionpolicybinding.strict.schema.json",
}

# The objects of one agent, in order, per enforcement (ClusterNetworkPolicy:
# only when the agent has something to say at the Admin tier).
AGENT_KINDS = {
    "networkpolicy": ("NetworkPolicy", None),
    "cilium": ("CiliumNetworkPolicy", None),
    "clusternetworkpolicy": ("NetworkPolicy", "ClusterNetworkPolicy"),
}
GUARD_KINDS = {  # the agents' ServiceAccount first, in every enforcement
    "networkpolicy": ["ServiceAccount"],
    "cilium": ["ServiceAccount", "CiliumClusterwideNetworkPolicy"],
    "clusternetworkpolicy": ["ServiceAccount", "ClusterNetworkPolicy", "ClusterNetworkPolicy"],
}
# with spec.admission, after the network guard
ADMISSION_KINDS = ["ValidatingAdmissionPolicy", "ValidatingAdmissionPolicyBinding"]
CLUSTER_SCOPED = ("CiliumEgressGatewayPolicy", "CiliumClusterwideNetworkPolicy", "ClusterNetworkPolicy")

_VALIDATORS = {}


def format_checker() -> jsonschema.FormatChecker:
    fc = jsonschema.FormatChecker()

    @fc.checks("cidr", raises=(ValueError, TypeError))
    def _cidr(s):
        if not isinstance(s, str):
            return True
        ipaddress.ip_network(s, strict=False)
        return "/" in s

    return fc


def validator(kind: str):
    if kind not in _VALIDATORS:
        path = H.schemas_dir() / SCHEMA_FILES[kind]
        with open(path) as f:
            schema = json.load(f)
        cls = jsonschema.validators.validator_for(schema)
        cls.check_schema(schema)
        _VALIDATORS[kind] = cls(schema, format_checker=format_checker())
    return _VALIDATORS[kind]


MAPPED = ipaddress.ip_network("::ffff:0:0/96")


def canonical(text: str) -> str:
    """ipaddress's compressed form; IPv4-mapped IPv6 written ::ffff:a.b.c.d."""
    n = ipaddress.ip_network(text, strict=True)
    if n.version == 6 and n.prefixlen >= 96 and n.network_address in MAPPED:
        v4 = ipaddress.IPv4Address(int(n.network_address) & 0xFFFFFFFF)
        return f"::ffff:{v4}/{n.prefixlen}"
    return n.compressed


class KyamlLoader(yaml.CSafeLoader):
    """libyaml with the YAML 1.2 core schema, for kubectl's (go-yaml) output:
    there a plain =, <<, yes, on, 1_000 or 2001-01-01 is a string, unlike in
    PyYAML's YAML 1.1 resolution."""


KyamlLoader.yaml_implicit_resolvers = {}
for _tag, _rx, _first in (
        ("tag:yaml.org,2002:null", r"^(?:~|null|Null|NULL|)$", ["~", "n", "N", ""]),
        ("tag:yaml.org,2002:bool", r"^(?:true|True|TRUE|false|False|FALSE)$", list("tTfF")),
        ("tag:yaml.org,2002:int", r"^(?:[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+)$",
         list("-+0123456789")),
        ("tag:yaml.org,2002:float",
         r"^(?:[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?"
         r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$", list("-+.0123456789"))):
    KyamlLoader.add_implicit_resolver(_tag, re.compile(_rx), _first)


def _core_int(loader, node):
    v = loader.construct_scalar(node)
    if v.startswith("0o"):
        return int(v[2:], 8)
    if v.startswith("0x"):
        return int(v[2:], 16)
    return int(v, 10)


def _core_float(loader, node):
    v = loader.construct_scalar(node).lower()
    if v.endswith(".inf"):
        return float("-inf") if v.startswith("-") else float("inf")
    if v == ".nan":
        return float("nan")
    return float(v)


KyamlLoader.add_constructor("tag:yaml.org,2002:int", _core_int)
KyamlLoader.add_constructor("tag:yaml.org,2002:float", _core_float)


def canon_json(o) -> str:
    return json.dumps(o, sort_keys=True, separators=(",", ":"))


def ip_blocks(obj):
    spec = obj.get("spec") or {}
    for direction, key in (("egress", "to"), ("ingress", "from")):
        for i, rule in enumerate(spec.get(direction) or []):
            for j, peer in enumerate(rule.get(key) or []):
                if peer.get("ipBlock") is not None:
                    yield f"{direction}[{i}].{key}[{j}]", peer["ipBlock"]


# Argo CD "Sync Options": Replace=true alone is a PUT (refused for a changed
# Pod); with Force=true it deletes and recreates. Flux kustomize-controller:
# force: enabled recreates an object whose apply failed on an immutable field.
REPLACE_ANNOTATIONS = {
    "argocd.argoproj.io/sync-options": "Force=true,Replace=true",
    "kustomize.toolkit.fluxcd.io/force": "enabled",
}


class _OutputTests:
    case: H.Case

    @classmethod
    def setUpClass(cls):
        cls.raw = H.compile_raw(cls.case.spec_path, cls.case.profile_path)
        cls.objs = H.compiled_objects(cls.case)

    def _compile(self, *extra):
        args = ["compile"]
        if self.case.profile_path:
            args += ["--cluster", self.case.profile_path]
        args += list(extra) + [self.case.spec_path]
        r = H.run(args)
        self.assertEqual(r.returncode, 0, r.stderr.decode(errors="replace"))
        return r

    # (a) ----------------------------------------------------------------------
    def test_a_strict_schemas(self):
        self.assertTrue(self.objs, "no objects")
        for i, o in enumerate(self.objs):
            kind = o.get("kind")
            with self.subTest(object=i, kind=kind, name=(o.get("metadata") or {}).get("name")):
                self.assertIn(kind, SCHEMA_FILES, f"unexpected kind {kind}")
                errs = sorted(validator(kind).iter_errors(o), key=lambda e: list(e.path))
                self.assertEqual([f"{'/'.join(map(str, e.path))}: {e.message}" for e in errs], [])
                CHECKS["objects validated"] += 1

    # (b) ----------------------------------------------------------------------
    def test_b_yaml_equals_json(self):
        raw = H.compile_raw(self.case.spec_path, self.case.profile_path, "json")
        doc = json.loads(raw)
        if isinstance(doc, dict) and doc.get("kind") == "List":
            self.assertEqual(doc.get("apiVersion"), "v1")
            items = doc.get("items")
        else:
            self.assertIsInstance(doc, list, "JSON output is neither a List nor an array")
            items = doc
        yaml_objs = H.load_yaml_stream(self.raw)
        self.assertEqual(len(yaml_objs), len(items))
        for i, (a, b) in enumerate(zip(yaml_objs, items)):
            self.assertEqual(a, b, f"object {i} differs between YAML and JSON")
        _count(len(items) + 1)

    # (c) ----------------------------------------------------------------------
    @unittest.skipUnless(shutil.which("kubectl"), "kubectl is not installed")
    def test_c_kustomize(self):
        d = H.tmpdir("kustomize-" + re.sub(r"\W+", "_", self.case.name))
        out = d / "out"
        self._compile("-o", str(out))
        self.assertTrue((out / "kustomization.yaml").is_file())
        r = subprocess.run(["kubectl", "kustomize", str(out)], stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, timeout=60)
        self.assertEqual(r.returncode, 0, r.stderr.decode(errors="replace"))
        got = collections.Counter(canon_json(o) for o in yaml.load_all(r.stdout, Loader=KyamlLoader)
                                  if o is not None)
        want = collections.Counter(canon_json(o) for o in self.objs)
        self.assertEqual(got, want, "kubectl kustomize DIR differs from the stdout stream")
        # every file in DIR is listed in the kustomization
        with open(out / "kustomization.yaml", "rb") as f:
            k = yaml.load(f, Loader=yaml.CSafeLoader)
        files = sorted(p.name for p in out.iterdir() if p.name != "kustomization.yaml")
        self.assertEqual(sorted(k.get("resources") or []), files)
        _count(3)

    # (d) ----------------------------------------------------------------------
    def test_d_deterministic(self):
        for fmt in (["--format", "yaml"], ["--format", "json"]):
            a = self._compile(*fmt).stdout
            b = self._compile(*fmt).stdout
            self.assertEqual(a, b, f"two runs differ ({fmt[1]})")
        self.assertEqual(self._compile().stdout, self.raw)
        d = H.tmpdir("determinism-" + re.sub(r"\W+", "_", self.case.name))
        trees = []
        for k in ("one", "two"):
            self._compile("-o", str(d / k))
            trees.append({p.relative_to(d / k).as_posix(): p.read_bytes()
                          for p in sorted((d / k).rglob("*")) if p.is_file()})
        self.assertEqual(trees[0], trees[1], "two runs of -o DIR differ")
        _count(4)

    # (e) ----------------------------------------------------------------------
    def test_e_ipblocks(self):
        for o in self.objs:
            if o.get("kind") != "NetworkPolicy":
                continue
            name = o["metadata"]["name"]
            for where, blk in ip_blocks(o):
                with self.subTest(policy=name, peer=where, cidr=blk.get("cidr")):
                    cidr_s = blk["cidr"]
                    self.assertIsInstance(cidr_s, str)
                    self.assertEqual(cidr_s, canonical(cidr_s), "cidr not canonical")
                    cidr = ipaddress.ip_network(cidr_s)
                    exc = blk.get("except")
                    if exc is None:
                        continue
                    self.assertIsInstance(exc, list)
                    self.assertTrue(exc, "empty except list")
                    nets = []
                    for e in exc:
                        self.assertEqual(e, canonical(e), "except entry not canonical")
                        n = ipaddress.ip_network(e)
                        self.assertEqual(n.version, cidr.version, f"{e}: other family than {cidr}")
                        self.assertTrue(n.subnet_of(cidr) and n != cidr,
                                        f"{e} not strictly inside {cidr}")
                        nets.append(n)
                        _count(3)
                    self.assertEqual(len(set(nets)), len(nets), f"duplicate entries in {exc}")
                    for a in nets:
                        for b in nets:
                            if a != b:
                                self.assertFalse(a.subnet_of(b), f"{a} lies inside {b}")
        for o in self.objs:
            if o.get("kind") == "CiliumEgressGatewayPolicy":
                for key in ("destinationCIDRs", "excludedCIDRs"):
                    for c in (o["spec"].get(key) or []):
                        self.assertEqual(c, canonical(c), f"{key} entry not canonical")
                        _count()

    # (f) ----------------------------------------------------------------------
    def test_f_pod_hardening(self):
        for ag in self.case.agents:
            with self.subTest(agent=ag.key()):
                pod = H.pod_object(self.objs, ag)
                meta, spec = pod["metadata"], pod["spec"]
                self.assertEqual(meta.get("namespace"), ag.namespace)
                labels = meta.get("labels") or {}
                self.assertEqual(labels.get(H.JOB_LABEL), ag.name)
                self.assertEqual(labels.get(H.MANAGED_BY), "agentfence")
                psc = spec.get("securityContext") or {}
                self.assertIs(spec.get("automountServiceAccountToken"), False)
                self.assertEqual(spec.get("serviceAccountName"), "agentfence-agent")
                self.assertIs(spec.get("enableServiceLinks"), False)
                self.assertEqual(spec.get("restartPolicy"), "Never")
                rc = spec.get("runtimeClassName")
                self.assertIsInstance(rc, str)
                self.assertTrue(rc, "empty runtimeClassName makes the Pod unschedulable")
                self.assertEqual(rc, ag.runtime_class)
                for host in ("hostNetwork", "hostPID", "hostIPC", "hostUsers"):
                    if host == "hostUsers":
                        self.assertNotEqual(spec.get(host), True)
                    else:
                        self.assertFalse(spec.get(host, False), host)
                for v in spec.get("volumes") or []:
                    self.assertNotIn("hostPath", v)
                containers = (spec.get("initContainers") or []) + spec.get("containers", [])
                self.assertTrue(spec.get("containers"))
                images = [c.get("image") for c in spec["containers"]]
                self.assertIn(ag.doc["spec"]["image"], images)
                for c in containers:
                    csc = c.get("securityContext") or {}
                    non_root = csc.get("runAsNonRoot", psc.get("runAsNonRoot"))
                    self.assertIs(non_root, True, f"{c.get('name')}: runAsNonRoot")
                    self.assertIs(csc.get("allowPrivilegeEscalation"), False, c.get("name"))
                    self.assertNotEqual(csc.get("privileged"), True)
                    self.assertIn("ALL", (csc.get("capabilities") or {}).get("drop") or [])
                    self.assertFalse((csc.get("capabilities") or {}).get("add"))
                    seccomp = (csc.get("seccompProfile") or psc.get("seccompProfile") or {})
                    self.assertEqual(seccomp.get("type"), "RuntimeDefault")
                    if "runAsUser" in csc or "runAsUser" in psc:
                        self.assertNotEqual(csc.get("runAsUser", psc.get("runAsUser")), 0)
                    for p in c.get("ports") or []:
                        self.assertNotIn("hostPort", p)
                    lim = (c.get("resources") or {}).get("limits") or {}
                    self.assertTrue(lim.get("cpu"), f"{c.get('name')}: no cpu limit")
                    self.assertTrue(lim.get("memory"), f"{c.get('name')}: no memory limit")
                agent_c = [c for c in spec["containers"] if c.get("image") == ag.doc["spec"]["image"]][0]
                lim = agent_c["resources"]["limits"]
                res = ag.doc["spec"].get("resources") or {}
                self.assertEqual(str(lim["cpu"]), str(res.get("cpu", self.case.profile.cpu)))
                self.assertEqual(str(lim["memory"]), str(res.get("memory", self.case.profile.memory)))
                if "command" in ag.doc["spec"]:
                    self.assertEqual(agent_c.get("command"), [str(x) for x in ag.doc["spec"]["command"]])
                if "args" in ag.doc["spec"]:
                    self.assertEqual(agent_c.get("args"), [str(x) for x in ag.doc["spec"]["args"]])
                if "env" in ag.doc["spec"]:
                    want = [{"name": str(e["name"]), "value": str(e["value"])} if "value" in e
                            else {"name": str(e["name"]), "valueFrom": e["valueFrom"]}
                            for e in ag.doc["spec"]["env"]]
                    self.assertEqual(agent_c.get("env"), want)
                self.check_pod_limits(ag, spec, agent_c)
                _count(30)
                self.check_probe(spec, agent_c)

    def check_probe(self, spec, agent_c):
        """The probe init container: only with spec.probe, the agent's
        securityContext, and one target per cluster range (its first host
        address, computed here with ipaddress)."""
        prof = self.case.profile
        inits = spec.get("initContainers") or []
        if not prof.probe:
            self.assertEqual(inits, [])
            return
        self.assertEqual([c["name"] for c in inits], ["probe"])
        c = inits[0]
        self.assertEqual(c["image"], prof.probe["image"])
        self.assertNotIn("command", c)   # the image's entrypoint is agentfence
        wait = prof.probe.get("waitSeconds", 30)
        self.assertEqual(c["args"][:3], ["probe", "--wait", f"{wait}s" if wait else "0"])
        want = []
        for lst, port, what in ((prof.pod, 80, "pod range"), (prof.service, 443, "service range"),
                                (prof.node, 10250, "node range")):
            for net in lst:
                host = net.network_address + (1 if net.num_addresses > 2 else 0)
                addr = f"[{host}]" if net.version == 6 else str(host)
                want.append(f"{addr}:{port}={what} {net}")
        self.assertEqual(c["args"][3:], want)
        self.assertEqual(c["env"], [{"name": "AGENTFENCE_NODE_IP",
                                     "valueFrom": {"fieldRef": {"fieldPath": "status.hostIP"}}}])
        self.assertEqual(c["securityContext"], agent_c["securityContext"])
        _count(7)

    def check_pod_limits(self, ag, spec, agent_c):
        """ephemeral-storage, activeDeadlineSeconds, the read-only root and
        its scratch volume, valueFrom, imagePullSecrets (issue 11 item 7)."""
        prof, s = self.case.profile, ag.doc["spec"]
        res = agent_c["resources"]
        want = str((s.get("resources") or {}).get("ephemeralStorage", prof.ephemeral))
        self.assertEqual(res["limits"].get("ephemeral-storage"), want)
        self.assertEqual(res["requests"].get("ephemeral-storage"), want, "limits = requests")
        self.assertEqual(res["limits"], res["requests"], "Guaranteed QoS: limits = requests")
        self.assertEqual(spec.get("activeDeadlineSeconds"),
                         s.get("activeDeadlineSeconds", prof.deadline))
        csc = agent_c.get("securityContext") or {}
        if prof.read_only_root:
            self.assertIs(csc.get("readOnlyRootFilesystem"), True)
        else:
            self.assertNotIn("readOnlyRootFilesystem", csc)
        vols = spec.get("volumes") or []
        mounts = agent_c.get("volumeMounts") or []
        if "scratch" in s or prof.read_only_root:
            sc = s.get("scratch") or {}
            self.assertEqual(vols, [{"name": "scratch",
                                     "emptyDir": {"sizeLimit": str(sc.get("sizeLimit", want))}}])
            self.assertEqual(mounts, [{"name": "scratch", "mountPath": sc.get("mountPath", "/tmp")}])
        else:
            self.assertEqual((vols, mounts), ([], []))
        for e in agent_c.get("env") or []:
            self.assertEqual(len({"value", "valueFrom"} & set(e)), 1, e)
            if "valueFrom" in e:
                (kind, ref), = e["valueFrom"].items()
                self.assertIn(kind, ("secretKeyRef", "configMapKeyRef"))
                self.assertLessEqual(set(ref), {"name", "key", "optional"})
        if "imagePullSecrets" in s:
            self.assertEqual(spec.get("imagePullSecrets"), [{"name": n} for n in s["imagePullSecrets"]])
        else:
            self.assertNotIn("imagePullSecrets", spec)
        image = s["image"]
        if prof.require_digest or "@" in image:
            self.assertRegex(image, r"^[^@\s]+@(sha256:[0-9a-f]{64}|sha512:[0-9a-f]{128})$")
        _count(12)

    def test_f_order_and_sync_waves(self):
        groups = H.group_objects(self.objs)
        seen = set()
        for g in groups:
            kinds = [o.get("kind") for o in g]
            first, admin = AGENT_KINDS[self.case.profile.enforcement]
            allowed = [[first] + mid + gw + ["Pod"] for mid in ([], [admin] if admin else [])
                       for gw in ([], ["CiliumEgressGatewayPolicy"])]
            self.assertIn(kinds, allowed, f"objects of one agent out of order: {kinds}")
            pod = g[-1]
            key = (pod["metadata"]["namespace"], H.job_of(pod))
            ag = [a for a in self.case.agents if a.key() == key]
            self.assertEqual(len(ag), 1, f"no agent for {key}")
            ag = ag[0]
            self.assertNotIn(key, seen)
            seen.add(key)
            self.assertEqual("CiliumEgressGatewayPolicy" in kinds, ag.mode == "gateway",
                             f"{key}: CiliumEgressGatewayPolicy iff gateway mode")
            for o in g:
                m = o["metadata"]
                self.assertEqual((m.get("labels") or {}).get(H.MANAGED_BY), "agentfence",
                                 f"{o['kind']} {m.get('name')}")
                self.assertEqual(H.job_of(o), ag.name, f"{o['kind']} {m.get('name')}")
                if o["kind"] not in CLUSTER_SCOPED:
                    self.assertEqual(m.get("namespace"), ag.namespace)
                else:
                    self.assertNotIn("namespace", m, f"{o['kind']} is cluster-scoped")
                    self.assertEqual((m.get("labels") or {}).get(H.NS_LABEL), ag.namespace)
                wave = (m.get("annotations") or {}).get(H.SYNC_WAVE)
                self.assertIsInstance(wave, str, f"{o['kind']} {m.get('name')}: sync-wave")
                self.assertRegex(wave, r"^-?[0-9]+$")
                _count(5)
            pod_wave = int(pod["metadata"]["annotations"][H.SYNC_WAVE])
            for o in g[:-1]:
                self.assertLess(int(o["metadata"]["annotations"][H.SYNC_WAVE]), pod_wave,
                                f"{o['kind']} {o['metadata']['name']} not before its Pod")
        self.assertEqual(seen, {a.key() for a in self.case.agents})
        # a guard per agent namespace, before the first object of its namespace
        want = GUARD_KINDS[self.case.profile.enforcement] + (
            ADMISSION_KINDS if self.case.profile.writers else [])
        namespaces = {a.namespace for a in self.case.agents}
        for ns in namespaces:
            gs = [i for i, o in enumerate(self.objs) if H.is_guard(o)
                  and o["metadata"]["labels"].get(H.NS_LABEL) == ns]
            self.assertEqual([self.objs[i]["kind"] for i in gs], want, f"guard of {ns}")
            first = min(i for i, o in enumerate(self.objs) if not H.is_guard(o) and
                        (o["metadata"].get("namespace") == ns or
                         (o["metadata"].get("labels") or {}).get(H.NS_LABEL) == ns))
            for i in gs:
                o = self.objs[i]
                self.assertLess(i, first, f"guard {o['metadata']['name']} after an agent of {ns}")
                self.assertNotIn(H.JOB_LABEL, o["metadata"]["labels"])
                self.assertEqual(o["metadata"]["labels"].get(H.MANAGED_BY), "agentfence")
                if o["kind"] == "ServiceAccount":
                    # no annotation at all (no cloud identity), no token
                    self.assertEqual(o["metadata"].get("namespace"), ns)
                    self.assertEqual(o["metadata"]["name"], "agentfence-agent")
                    self.assertNotIn("annotations", o["metadata"])
                    self.assertIs(o.get("automountServiceAccountToken"), False)
                    continue
                self.assertNotIn("namespace", o["metadata"])
                self.assertEqual(o["metadata"]["annotations"].get(H.SYNC_WAVE), "-2")
                _count(5)
        self.assertEqual(len(H.guards(self.objs)), len(want) * len(namespaces))
        # replace (delete and recreate) on every Pod, on nothing else: a
        # policy replaced would leave its Pod unfenced for a moment
        for o in self.objs:
            ann = o["metadata"].get("annotations") or {}
            got = {k: ann.get(k) for k in REPLACE_ANNOTATIONS if k in ann}
            if o["kind"] == "Pod":
                self.assertEqual(got, REPLACE_ANNOTATIONS, f"Pod {o['metadata']['name']}")
            else:
                self.assertEqual(got, {}, f"{o['kind']} {o['metadata']['name']} may be replaced")
            _count()
        # object names are unique per kind and namespace
        names = [(o["kind"], o["metadata"].get("namespace"), o["metadata"]["name"]) for o in self.objs]
        self.assertEqual(len(names), len(set(names)), "duplicate object names")
        _count(2)


DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
LABEL_NAME = re.compile(r"^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$")
LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")


def label_key_ok(k: str) -> bool:
    prefix, _, name = k.rpartition("/")
    if prefix and (len(prefix) > 253 or not DNS_SUBDOMAIN.match(prefix)):
        return False
    return 0 < len(name) <= 63 and bool(LABEL_NAME.match(name))


def label_value_ok(v) -> bool:
    return isinstance(v, str) and len(v) <= 63 and bool(LABEL_VALUE.match(v))


def selectors(o):
    """Every LabelSelector of an object, with a path."""
    spec = o.get("spec") or {}
    if o.get("kind") == "NetworkPolicy":
        yield "spec.podSelector", spec.get("podSelector")
        for direction, key in (("egress", "to"), ("ingress", "from")):
            for i, rule in enumerate(spec.get(direction) or []):
                for j, peer in enumerate(rule.get(key) or []):
                    for sk in ("podSelector", "namespaceSelector"):
                        if peer.get(sk) is not None:
                            yield f"{direction}[{i}].{key}[{j}].{sk}", peer[sk]
    elif o.get("kind") == "CiliumEgressGatewayPolicy":
        for i, sel in enumerate(spec.get("selectors") or []):
            for sk in ("podSelector", "namespaceSelector"):
                if sel.get(sk) is not None:
                    yield f"selectors[{i}].{sk}", sel[sk]
        yield "egressGateway.nodeSelector", (spec.get("egressGateway") or {}).get("nodeSelector")


class _NamesTests:
    case: H.Case

    def test_g_names_and_labels(self):
        """What the API server would reject although the schemas accept it:
        names, label keys and values, selector labels."""
        for o in H.compiled_objects(self.case):
            m = o["metadata"]
            with self.subTest(kind=o["kind"], name=m.get("name")):
                name = m["name"]
                self.assertLessEqual(len(name), 63 if o["kind"] == "Pod" else 253)
                self.assertRegex(name, DNS_SUBDOMAIN)
                if "namespace" in m:
                    self.assertLessEqual(len(m["namespace"]), 63)
                    self.assertRegex(m["namespace"], DNS_LABEL)
                for k, v in (m.get("labels") or {}).items():
                    self.assertTrue(label_key_ok(k), f"label key {k!r}")
                    self.assertTrue(label_value_ok(v), f"label {k}: value {v!r}")
                for k, v in (m.get("annotations") or {}).items():
                    self.assertIsInstance(v, str, f"annotation {k}")
                for where, sel in selectors(o):
                    self.assertIsInstance(sel, dict, where)
                    for k, v in (sel.get("matchLabels") or {}).items():
                        self.assertTrue(label_key_ok(k), f"{where}: key {k!r}")
                        self.assertTrue(label_value_ok(v), f"{where}: {k}: value {v!r}")
                _count(6)

    def test_g_stdin_same_bytes(self):
        """SPEC given as - (standard input) compiles to the same bytes."""
        args = ["compile"]
        if self.case.profile_path:
            args += ["--cluster", self.case.profile_path]
        with open(self.case.spec_path, "rb") as f:
            r = H.run(args + ["-"], stdin=f.read())
        self.assertEqual(r.returncode, 0, r.stderr.decode(errors="replace"))
        self.assertEqual(r.stdout, H.compile_raw(self.case.spec_path, self.case.profile_path))
        _count()


def _make_classes():
    out = {}
    for case in H.all_cases():
        slug = re.sub(r"[^A-Za-z0-9]+", "_", case.name).strip("_")
        name = f"Output_{slug}"
        out[name] = type(name, (_OutputTests, _NamesTests, unittest.TestCase), {"case": case})
    return out


globals().update(_make_classes())


class Canonical(unittest.TestCase):
    """The canonical-form helper itself."""

    def test_canonical(self):
        self.assertEqual(canonical("2001:db8::/32"), "2001:db8::/32")
        self.assertEqual(canonical("10.0.0.0/8"), "10.0.0.0/8")
        self.assertEqual(canonical("::ffff:10.0.0.0/104"), "::ffff:10.0.0.0/104")
        self.assertEqual(canonical("::ffff:a00:0/104"), "::ffff:10.0.0.0/104")
        self.assertNotEqual(canonical("2001:DB8::/32"), "2001:DB8::/32")
        with self.assertRaises(ValueError):
            canonical("10.0.0.1/8")

    def test_cidr_format(self):
        fc = format_checker()
        self.assertTrue(fc.conforms("10.0.0.0/8", "cidr"))
        self.assertFalse(fc.conforms("10.0.0.1", "cidr"))
        self.assertFalse(fc.conforms("10.0.0.0/33", "cidr"))


if __name__ == "__main__":
    unittest.main()
