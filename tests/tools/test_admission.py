# SPDX-License-Identifier: Apache-2.0
"""The admission guard's CEL, run by a real CEL evaluator.

Compiles tests/golden/007-admission (two agent namespaces, two writers) and
hands the emitted ValidatingAdmissionPolicy and ValidatingAdmissionPolicyBinding
objects, with admission requests of every kind the guard is about, to
tests/tools/cel/admit.mjs: an admission engine written from the
admissionregistration.k8s.io/v1 reference (binding namespaceSelector, the
policy's resourceRules with operations, subresources and scope, variables,
validations, failurePolicy) that evaluates the expressions with
@bufbuild/cel under Node. Each request has the verdict it must get; any
other verdict, or an expression that fails to evaluate, fails the test.

The Node packages are installed by the test itself (`npm ci` in
tests/tools/cel, from its package-lock.json) when node_modules is missing.
"""

from __future__ import annotations

import copy
import json
import os
import shutil
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import harness as H

CEL_DIR = H.TOOLS / "cel"
SPEC = H.REPO / "tests" / "golden" / "007-admission.yaml"
PROFILE = H.REPO / "tests" / "golden" / "007-admission.profile.yaml"

WRITER = "system:serviceaccount:argocd:argocd-application-controller"
WRITER2 = "oidc:platform-deployer@example.com"
OTHER = "system:serviceaccount:agents:default"
NS = "agents"

ALLOW, DENY = True, False


def ensure_node_modules():
    node, npm = shutil.which("node"), shutil.which("npm")
    if not node or not npm:
        raise AssertionError("node and npm are needed for the CEL tests "
                             "(apt-get install nodejs npm; tests/deps.sh does as root)")
    if not (CEL_DIR / "node_modules" / "@bufbuild" / "cel").is_dir():
        r = subprocess.run([npm, "ci", "--no-audit", "--no-fund"], cwd=str(CEL_DIR),
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=600)
        if r.returncode != 0:
            raise AssertionError("npm ci in tests/tools/cel failed:\n" + r.stdout.decode(errors="replace"))
    return node


def namespace(name, deleting=False):
    meta = {"name": name, "labels": {"kubernetes.io/metadata.name": name}}
    if deleting:
        meta["deletionTimestamp"] = "2026-01-01T00:00:00Z"
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": meta}


def pod(name, labels=None, volumes=None, ns=NS, ephemeral=None):
    meta = {"name": name, "namespace": ns}
    if labels is not None:
        meta["labels"] = dict(labels)
    spec = {"containers": [{"name": "c", "image": "busybox"}]}
    if volumes is not None:
        spec["volumes"] = volumes
    if ephemeral is not None:
        spec["ephemeralContainers"] = ephemeral
    return {"apiVersion": "v1", "kind": "Pod", "metadata": meta, "spec": spec}


def with_labels(obj, labels):
    o = copy.deepcopy(obj)
    if labels is None:
        o["metadata"].pop("labels", None)
    else:
        o["metadata"]["labels"] = dict(labels)
    return o


def with_volumes(obj, volumes):
    o = copy.deepcopy(obj)
    o["spec"]["volumes"] = volumes
    return o


TOKEN_VOLUME = {"name": "aws-iam-token", "projected": {"sources": [
    {"serviceAccountToken": {"audience": "sts.amazonaws.com", "expirationSeconds": 86400,
                             "path": "token"}}]}}
KUBE_API_ACCESS = {"name": "kube-api-access-x1", "projected": {"sources": [
    {"serviceAccountToken": {"expirationSeconds": 3607, "path": "token"}},
    {"configMap": {"name": "kube-root-ca.crt", "items": [{"key": "ca.crt", "path": "ca.crt"}]}}]}}
CONFIG_VOLUME = {"name": "cfg", "projected": {"sources": [{"configMap": {"name": "settings"}}]}}
EMPTY_PROJECTED = {"name": "nothing", "projected": {}}
SCRATCH = {"name": "scratch", "emptyDir": {}}

CNP = {"apiVersion": "cilium.io/v2", "kind": "CiliumNetworkPolicy",
       "metadata": {"name": "allow-everything", "namespace": NS},
       "spec": {"endpointSelector": {}, "egress": [{"toEntities": ["all"]}]}}
ALLOW_ALL_NP = {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
                "metadata": {"name": "allow-everything", "namespace": NS},
                "spec": {"podSelector": {}, "policyTypes": ["Egress"], "egress": [{}]}}


def sa(name, annotations=None, ns=NS):
    meta = {"name": name, "namespace": ns}
    if annotations:
        meta["annotations"] = annotations
    return {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": meta,
            "automountServiceAccountToken": False}


RESOURCES = {  # kind: (group, version, resource)
    "Pod": ("", "v1", "pods"),
    "NetworkPolicy": ("networking.k8s.io", "v1", "networkpolicies"),
    "CiliumNetworkPolicy": ("cilium.io", "v2", "ciliumnetworkpolicies"),
    "ServiceAccount": ("", "v1", "serviceaccounts"),
    "ConfigMap": ("", "v1", "configmaps"),
}


def request(op, obj=None, old=None, user=OTHER, sub="", ns=None, deleting=False, groups=None):
    ref = obj if obj is not None else old
    kind = ref["kind"]
    group, version, resource = RESOURCES[kind]
    ns = ns or ref["metadata"].get("namespace") or NS
    return {"operation": op, "group": group, "version": version, "resource": resource,
            "kind": kind, "subResource": sub, "namespace": ns,
            "namespaceObject": namespace(ns, deleting), "name": ref["metadata"]["name"],
            "username": user, "groups": groups or ["system:authenticated"],
            "object": None if op == "DELETE" else obj,
            "oldObject": None if op == "CREATE" else old}


class AdmissionCELTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.node = ensure_node_modules()
        r = H.run(["compile", "--format", "json", "--cluster", str(PROFILE), str(SPEC)])
        if r.returncode != 0:
            raise AssertionError(r.stderr.decode(errors="replace"))
        cls.objs = json.loads(r.stdout)["items"]
        cls.agent_pod = next(o for o in cls.objs if o["kind"] == "Pod"
                             and o["metadata"]["namespace"] == NS)
        cls.agent_np = next(o for o in cls.objs if o["kind"] == "NetworkPolicy"
                            and o["metadata"]["namespace"] == NS)

    def evaluate(self, objs, cases):
        reqs = []
        for i, (what, req, _) in enumerate(cases):
            reqs.append(dict(req, id=i))
        r = subprocess.run([self.node, str(CEL_DIR / "admit.mjs")],
                           input=json.dumps({"objects": objs, "requests": reqs}).encode(),
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=120,
                           cwd=str(CEL_DIR))
        self.assertEqual(r.returncode, 0, r.stderr.decode(errors="replace"))
        return json.loads(r.stdout)

    def cases(self):
        P = self.agent_pod
        labels = P["metadata"]["labels"]
        job = labels["agentfence.dev/job-id"]
        plain = pod("web", {"app": "web"})
        bare = pod("bare")
        added = dict(labels, **{"agentfence.dev/extra": "1"})
        removed = {k: v for k, v in labels.items() if k != "agentfence.dev/job-id"}
        altered = dict(labels, **{"agentfence.dev/job-id": job + "-other"})
        same_plus = dict(labels, app="x")
        NP = self.agent_np
        NP2 = copy.deepcopy(NP)
        NP2["spec"]["egress"] = [{}]
        CNP2 = copy.deepcopy(CNP)
        CNP2["spec"]["egress"] = [{"toCIDR": ["10.0.0.0/8"]}]
        agent_sa = sa("agentfence-agent")
        role_sa = sa("agentfence-agent", {"eks.amazonaws.com/role-arn": "arn:aws:iam::1:role/x"})
        eph = [{"name": "debugger", "image": "busybox"}]
        other_ns_pod = pod("job-x", {"agentfence.dev/job-id": "job-x"}, ns="elsewhere")
        return [
            # NetworkPolicies and CiliumNetworkPolicies: writers only
            ("NetworkPolicy create, writer", request("CREATE", NP, user=WRITER), ALLOW),
            ("NetworkPolicy create, second writer", request("CREATE", NP, user=WRITER2), ALLOW),
            ("NetworkPolicy create, other", request("CREATE", ALLOW_ALL_NP), DENY),
            ("NetworkPolicy update, writer", request("UPDATE", NP2, NP, user=WRITER), ALLOW),
            ("NetworkPolicy update, other", request("UPDATE", NP2, NP), DENY),
            ("NetworkPolicy delete, writer", request("DELETE", old=NP, user=WRITER), ALLOW),
            ("NetworkPolicy delete, other", request("DELETE", old=NP), DENY),
            ("NetworkPolicy delete, other, namespace being deleted",
             request("DELETE", old=NP, deleting=True,
                     user="system:serviceaccount:kube-system:namespace-controller"), ALLOW),
            ("NetworkPolicy update, other, namespace being deleted",
             request("UPDATE", NP2, NP, deleting=True), DENY),
            ("NetworkPolicy create, other, in the system:masters group",
             request("CREATE", ALLOW_ALL_NP, user="kubernetes-admin",
                     groups=["system:masters", "system:authenticated"]), DENY),
            ("NetworkPolicy create, other, in a namespace without the guard",
             request("CREATE", with_ns(ALLOW_ALL_NP, "elsewhere")), ALLOW),
            ("CiliumNetworkPolicy create, writer", request("CREATE", CNP, user=WRITER), ALLOW),
            ("CiliumNetworkPolicy create, other", request("CREATE", CNP), DENY),
            ("CiliumNetworkPolicy update, other", request("UPDATE", CNP2, CNP), DENY),
            ("CiliumNetworkPolicy delete, other", request("DELETE", old=CNP), DENY),
            ("CiliumNetworkPolicy delete, writer", request("DELETE", old=CNP, user=WRITER), ALLOW),
            # Pods: agentfence.dev/ labels
            ("agent Pod create, writer", request("CREATE", P, user=WRITER), ALLOW),
            ("agent Pod create, other", request("CREATE", P), DENY),
            ("Pod with only agentfence.dev/extra, other",
             request("CREATE", pod("sneaky", {"agentfence.dev/extra": "1"})), DENY),
            ("Pod with agentfence.dev/namespace, other",
             request("CREATE", pod("sneaky", {"agentfence.dev/namespace": NS})), DENY),
            ("Pod without agentfence labels, other", request("CREATE", plain), ALLOW),
            ("Pod without labels at all, other", request("CREATE", bare), ALLOW),
            ("Pod with a look-alike label key, other",
             request("CREATE", pod("x", {"example.com/agentfence.dev/job-id": "x",
                                         "agentfence.dev": "x"})), ALLOW),
            ("agent Pod update, same labels, other", request("UPDATE", P, P), ALLOW),
            ("agent Pod update, non-agentfence label added, other",
             request("UPDATE", with_labels(P, same_plus), P), ALLOW),
            ("agent Pod update, agentfence label added, other",
             request("UPDATE", with_labels(P, added), P), DENY),
            ("agent Pod update, job-id removed, other",
             request("UPDATE", with_labels(P, removed), P), DENY),
            ("agent Pod update, every label removed, other",
             request("UPDATE", with_labels(P, None), P), DENY),
            ("agent Pod update, job-id altered, other",
             request("UPDATE", with_labels(P, altered), P), DENY),
            ("agent Pod update, job-id altered, writer",
             request("UPDATE", with_labels(P, altered), P, user=WRITER), ALLOW),
            ("plain Pod update, agentfence label added, other",
             request("UPDATE", with_labels(plain, {"app": "web", "agentfence.dev/job-id": job}),
                     plain), DENY),
            ("bare Pod update, agentfence label added, other",
             request("UPDATE", with_labels(bare, {"agentfence.dev/job-id": job}), bare), DENY),
            ("bare Pod update, still no labels, other", request("UPDATE", bare, bare), ALLOW),
            ("agent Pod status update, same labels, kubelet",
             request("UPDATE", P, P, user="system:node:ip-10-0-0-1", sub="status"), ALLOW),
            ("agent Pod status update, job-id removed, other",
             request("UPDATE", with_labels(P, removed), P, sub="status"), DENY),
            ("agent Pod delete, other (not guarded)", request("DELETE", old=P), ALLOW),
            ("Pod with agentfence labels in a namespace without the guard, other",
             request("CREATE", other_ns_pod), ALLOW),
            # ephemeral containers: nobody, on agent Pods
            ("ephemeral container on an agent Pod, other",
             request("UPDATE", with_eph(P, eph), P, sub="ephemeralcontainers"), DENY),
            ("ephemeral container on an agent Pod, writer",
             request("UPDATE", with_eph(P, eph), P, user=WRITER, sub="ephemeralcontainers"), DENY),
            ("ephemeral container on a plain Pod, other",
             request("UPDATE", with_eph(plain, eph), plain, sub="ephemeralcontainers"), ALLOW),
            ("ephemeral container on a Pod without labels, other",
             request("UPDATE", with_eph(bare, eph), bare, sub="ephemeralcontainers"), ALLOW),
            # projected service account tokens: nobody, on agent Pods
            ("agent Pod with a projected token volume, writer",
             request("CREATE", with_volumes(P, [SCRATCH, TOKEN_VOLUME]), user=WRITER), DENY),
            ("agent Pod with kube-api-access, writer",
             request("CREATE", with_volumes(P, [KUBE_API_ACCESS]), user=WRITER), DENY),
            ("agent Pod with a projected configMap volume, writer",
             request("CREATE", with_volumes(P, [CONFIG_VOLUME]), user=WRITER), ALLOW),
            ("agent Pod with an empty projected volume, writer",
             request("CREATE", with_volumes(P, [EMPTY_PROJECTED]), user=WRITER), ALLOW),
            ("agent Pod with an emptyDir, writer",
             request("CREATE", with_volumes(P, [SCRATCH]), user=WRITER), ALLOW),
            ("agent Pod with a projected token volume, update, writer",
             request("UPDATE", with_volumes(P, [TOKEN_VOLUME]), with_volumes(P, [TOKEN_VOLUME]),
                     user=WRITER), DENY),
            ("plain Pod with a projected token volume, other",
             request("CREATE", with_volumes(plain, [TOKEN_VOLUME])), ALLOW),
            ("Pod without labels with kube-api-access, other",
             request("CREATE", with_volumes(bare, [KUBE_API_ACCESS])), ALLOW),
            # the agents' ServiceAccount
            ("agentfence-agent create, writer", request("CREATE", agent_sa, user=WRITER), ALLOW),
            ("agentfence-agent create, other", request("CREATE", agent_sa), DENY),
            ("agentfence-agent role-arn annotation, other",
             request("UPDATE", role_sa, agent_sa), DENY),
            ("agentfence-agent update, writer", request("UPDATE", agent_sa, agent_sa, user=WRITER),
             ALLOW),
            ("agentfence-agent delete, other", request("DELETE", old=agent_sa), DENY),
            ("agentfence-agent delete, other, namespace being deleted",
             request("DELETE", old=agent_sa, deleting=True), ALLOW),
            ("default ServiceAccount role-arn annotation, other",
             request("UPDATE", sa("default", {"eks.amazonaws.com/role-arn": "x"}), sa("default")),
             ALLOW),
            ("agentfence-agent in a namespace without the guard, other",
             request("UPDATE", sa("agentfence-agent", {"a": "b"}, ns="elsewhere"),
                     sa("agentfence-agent", ns="elsewhere")), ALLOW),
            # what the policy does not look at
            ("ConfigMap create, other",
             request("CREATE", {"apiVersion": "v1", "kind": "ConfigMap",
                                "metadata": {"name": "c", "namespace": NS}}), ALLOW),
        ]

    def test_requests(self):
        cases = self.cases()
        out = self.evaluate(self.objs, cases)
        self.assertEqual(len(out), len(cases))
        bad = []
        for (what, req, want), got in zip(cases, out):
            if got["errors"]:
                bad.append(f"{what}: variable errors {got['errors']}")
            errs = [d for d in got["denials"] if d.get("error")]
            if errs:
                bad.append(f"{what}: expression errors {errs}")
            if got["allowed"] != want:
                bad.append(f"{what}: {'allowed' if got['allowed'] else 'denied'}, expected "
                           f"{'allowed' if want else 'denied'} ({got['denials']})")
            guarded = req["namespace"] in (NS, "research")
            if not want:
                # refused by the namespace's own policy, with its message and reason
                names = {d["policy"] for d in got["denials"]}
                if names != {f"agentfence-admission.{req['namespace']}"}:
                    bad.append(f"{what}: denied by {names}")
                for d in got["denials"]:
                    if not d["message"].startswith(
                            f"agentfence admission guard of namespace {req['namespace']}: ") \
                            or d.get("reason") != "Forbidden":
                        bad.append(f"{what}: message {d}")
            if not guarded and got["policies"]:
                bad.append(f"{what}: policies {got['policies']} applied outside their namespace")
        n_allow = sum(1 for c in cases if c[2])
        sys.stderr.write(f"\n[test_admission] {len(cases)} admission requests "
                         f"({n_allow} allowed, {len(cases) - n_allow} denied), "
                         f"{len(bad)} wrong\n")
        self.assertEqual(bad, [])

    def test_every_validation_refuses_something(self):
        """Each validation, replaced by `true`, lets through a request the
        cases expect denied: no validation is dead weight, and the cases
        reach every one."""
        cases = self.cases()
        pol = next(o for o in self.objs if o["kind"] == "ValidatingAdmissionPolicy"
                   and o["metadata"]["name"] == f"agentfence-admission.{NS}")
        nval = len(pol["spec"]["validations"])
        self.assertEqual(nval, 5)
        for i in range(nval):
            objs = copy.deepcopy(self.objs)
            p = next(o for o in objs if o["kind"] == "ValidatingAdmissionPolicy"
                     and o["metadata"]["name"] == f"agentfence-admission.{NS}")
            p["spec"]["validations"][i]["expression"] = "true"
            out = self.evaluate(objs, cases)
            flipped = [c[0] for c, g in zip(cases, out) if g["allowed"] != c[2]]
            with self.subTest(validation=i):
                self.assertTrue(flipped, f"validation {i} refuses nothing the cases try")

    def test_binding_selects_its_namespace_only(self):
        bindings = [o for o in self.objs if o["kind"] == "ValidatingAdmissionPolicyBinding"]
        self.assertEqual(sorted(b["metadata"]["name"] for b in bindings),
                         ["agentfence-admission.agents", "agentfence-admission.research"])
        for b in bindings:
            ns = b["metadata"]["labels"]["agentfence.dev/namespace"]
            self.assertEqual(b["spec"]["policyName"], f"agentfence-admission.{ns}")
            self.assertEqual(b["spec"]["validationActions"], ["Deny"])
            self.assertEqual(b["spec"]["matchResources"],
                             {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": ns}}})
        pols = [o for o in self.objs if o["kind"] == "ValidatingAdmissionPolicy"]
        for p in pols:
            self.assertEqual(p["spec"]["failurePolicy"], "Fail")
            writer = [v for v in p["spec"]["variables"] if v["name"] == "writer"][0]
            self.assertEqual(writer["expression"],
                             f"request.userInfo.username in ['{WRITER}', '{WRITER2}']")


def with_ns(obj, ns):
    o = copy.deepcopy(obj)
    o["metadata"]["namespace"] = ns
    return o


def with_eph(obj, eph):
    o = copy.deepcopy(obj)
    o["spec"]["ephemeralContainers"] = eph
    return o


if __name__ == "__main__":
    unittest.main()
