# SPDX-License-Identifier: Apache-2.0
"""Site templates cannot weaken the agent through metadata or tolerations.

Every family of the `forbidden` table in compiler/tmpl.c is walked by CASES
below: a real `agentfence compile --templates DIR` run with a pod.yaml that
sets one key must exit 1 with exactly that key's message at its line and
column, write nothing, and the same key in a harmless place (a label where
only annotations matter) or a harmless key must compile, and reach the Pod.
The table's keys are read from the C source only to prove that CASES covers
every row; what is refused is judged on the binary's runs.

Run from the repository root:
    python3 -m unittest tests/tools/test_templates.py
"""

from __future__ import annotations

import os
import re
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import harness as H  # noqa: E402

SPEC = str(H.REPO / "examples" / "agents.yaml")

# (labels or annotations, key, the family the error names): each is refused.
REFUSED = [
    ("annotations", "agentfence.dev/job-id", "agentfence's own key"),
    ("labels", "agentfence.dev/job-id", "agentfence's own key"),
    ("labels", "agentfence.dev/guard", "agentfence's own key"),
    ("annotations", "agentfence.dev/anything", "agentfence's own key"),
    ("labels", "app.kubernetes.io/managed-by", "agentfence's own key"),
    ("annotations", "k8s.v1.cni.cncf.io/networks", "Multus network attachment"),
    ("annotations", "container.apparmor.security.beta.kubernetes.io/agent", "AppArmor override"),
    ("annotations", "seccomp.security.alpha.kubernetes.io/pod", "seccomp override"),
    ("annotations", "container.seccomp.security.alpha.kubernetes.io/agent", "seccomp override"),
    ("annotations", "io.katacontainers.config.runtime.disable_new_netns", "Kata runtime configuration"),
    ("annotations", "io.katacontainers.config.hypervisor.kernel_params", "Kata runtime configuration"),
    ("annotations", "cni.projectcalico.org/ipv4pools", "Calico address selection"),
    ("annotations", "cni.projectcalico.org/ipAddrsNoIpam", "Calico address selection"),
    ("annotations", "ipam.cilium.io/ip-pool", "Cilium IP pool selection"),
    ("annotations", "ipam.antrea.io/ippools", "Antrea address selection"),
    ("annotations", "k8s.ovn.org/pod-networks", "OVN-Kubernetes address selection"),
    ("annotations", "ovn.kubernetes.io/ip_address", "Kube-OVN address selection"),
    ("annotations", "sidecar.istio.io/inject", "Istio sidecar injection"),
    ("labels", "sidecar.istio.io/inject", "Istio sidecar injection"),
    ("labels", "istio.io/rev", "Istio sidecar injection"),
    ("annotations", "linkerd.io/inject", "Linkerd proxy injection"),
    ("labels", "kuma.io/sidecar-injection", "Kuma sidecar injection"),
    ("annotations", "kuma.io/sidecar-injection", "Kuma sidecar injection"),
    ("annotations", "consul.hashicorp.com/connect-inject", "Consul sidecar injection"),
    # agentfence sets them on Pods only: a policy replaced would unfence its Pod
    ("annotations", "argocd.argoproj.io/sync-options", "Argo CD sync option"),
    ("annotations", "kustomize.toolkit.fluxcd.io/force", "Flux force apply"),
    # the API server lowercases nothing, but a CNI may compare loosely: so do we
    ("annotations", "K8s.V1.Cni.Cncf.Io/networks", "Multus network attachment"),
]

# Harmless: these compile, and the Pod carries them.
ALLOWED = [
    ("annotations", "prometheus.io/scrape"),
    ("annotations", "cluster-autoscaler.kubernetes.io/safe-to-evict"),
    ("labels", "team"),
    ("labels", "linkerd.io/inject"),                  # Linkerd reads the annotation only
    ("labels", "k8s.v1.cni.cncf.io/networks"),        # Multus reads the annotation only
    ("annotations", "agentfence.devx/note"),          # not agentfence.dev/
    ("annotations", "sidecar.istio.io/injected-by"),  # an exact key, not a prefix
]

TOLERATIONS_REFUSED = [
    "- operator: Exists",
    "- operator: Exists\n    effect: NoSchedule",
    "- key: \"\"\n    operator: Exists\n    effect: NoExecute",
]
TOLERATIONS_ALLOWED = [
    "- key: sandbox\n    operator: Exists",
    "- key: sandbox\n    operator: Equal\n    value: kata\n    effect: NoSchedule",
]


def table_keys() -> list:
    text = (H.REPO / "compiler" / "tmpl.c").read_text()
    body = re.search(r"\} forbidden\[\] = \{(.*?)\n\};", text, re.S).group(1)
    return re.findall(r'\{ "([^"]+)", (ANNOT|BOTH),', body)


def pod_template(where: str, key: str, value: str = '"true"') -> str:
    return (f"apiVersion: v1\nkind: Pod\nmetadata:\n  {where}:\n    keep: \"yes\"\n"
            f"    {key}: {value}\nspec:\n  priorityClassName: agents\n")


def compile_with(test, name: str, text: str, filename: str = "pod.yaml"):
    d = H.tmpdir("tmpl-" + re.sub(r"[^a-z0-9]+", "-", name.lower())[:60])
    (d / filename).write_text(text)
    r = H.run(["compile", "--templates", str(d), SPEC])
    return d / filename, r


class TestForbiddenKeys(unittest.TestCase):
    def test_policy_never_replaced(self):
        # the replace annotations on a policy template: refused too
        for key, value in (("argocd.argoproj.io/sync-options", "Force=true,Replace=true"),
                           ("kustomize.toolkit.fluxcd.io/force", "enabled")):
            text = ("apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata:\n"
                    f"  annotations:\n    {key}: {value}\n")
            path, r = compile_with(self, "policy-" + key, text, "networkpolicy.yaml")
            self.assertEqual(r.returncode, 1, r.stderr.decode())
            self.assertIn(f"{path}:5:5: error: metadata.annotations.{key}: a template may not "
                          "set this key", r.stderr.decode())

    def test_every_row_has_a_case(self):
        rows = table_keys()
        self.assertGreaterEqual(len(rows), 17)
        for key, where in rows:
            prefix = key.endswith(("/", "."))
            hits = [c for c in REFUSED if (c[1].lower().startswith(key) if prefix else c[1] == key)]
            self.assertTrue(hits, f"no case refuses the row {key}")
            if where == "BOTH":
                self.assertTrue([c for c in hits if c[0] == "labels"], f"no label case for {key}")

    def test_refused(self):
        for where, key, family in REFUSED:
            with self.subTest(where=where, key=key):
                path, r = compile_with(self, f"{where}-{key}", pod_template(where, key))
                self.assertEqual(r.returncode, 1, r.stderr.decode())
                self.assertEqual(r.stdout, b"")
                lines = r.stderr.decode().splitlines()
                self.assertEqual(len(lines), 2, lines)
                self.assertTrue(lines[0].startswith(
                    f"{path}:6:5: error: metadata.{where}.{key}: a template may not set this "
                    f"key: {family}; "), lines[0])
                self.assertEqual(lines[1], "agentfence: 1 error; nothing written")

    def test_every_error_reported(self):
        text = ("apiVersion: v1\nkind: Pod\nmetadata:\n  labels:\n    istio.io/rev: canary\n"
                "  annotations:\n    k8s.v1.cni.cncf.io/networks: macvlan\n"
                "    io.katacontainers.config_path: /tmp/x\nspec:\n  tolerations:\n"
                "  - operator: Exists\n")
        path, r = compile_with(self, "all-at-once", text)
        self.assertEqual(r.returncode, 1)
        lines = r.stderr.decode().splitlines()
        self.assertEqual([ln.split(": error:")[0] for ln in lines[:-1]],
                         [f"{path}:5:5", f"{path}:7:5", f"{path}:8:5", f"{path}:11:5"])
        self.assertEqual(lines[-1], "agentfence: 4 errors; nothing written")

    def test_policy_templates_too(self):
        text = ("apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata:\n  labels:\n"
                "    agentfence.dev/guard: \"true\"\n")
        path, r = compile_with(self, "netpol-own-label", text, "networkpolicy.yaml")
        self.assertEqual(r.returncode, 1)
        self.assertIn(f"{path}:5:5: error: metadata.labels.agentfence.dev/guard: a template may "
                      "not set this key: agentfence's own key", r.stderr.decode())

    def test_allowed(self):
        for where, key in ALLOWED:
            with self.subTest(where=where, key=key):
                _, r = compile_with(self, f"ok-{where}-{key}", pod_template(where, key, '"v1"'))
                self.assertEqual(r.returncode, 0, r.stderr.decode())
                pods = [o for o in H.load_yaml_stream(r.stdout) if o.get("kind") == "Pod"]
                self.assertTrue(pods)
                for p in pods:
                    self.assertEqual(p["metadata"][where].get(key), "v1")


class TestTolerations(unittest.TestCase):
    def _pod(self, tol: str) -> str:
        return f"apiVersion: v1\nkind: Pod\nspec:\n  tolerations:\n  {tol}\n"

    def test_tolerate_everything_refused(self):
        for tol in TOLERATIONS_REFUSED:
            with self.subTest(tol=tol):
                path, r = compile_with(self, "tol-" + tol, self._pod(tol))
                self.assertEqual(r.returncode, 1)
                self.assertEqual(r.stdout, b"")
                self.assertEqual(r.stderr.decode().splitlines()[0],
                                 f"{path}:5:5: error: spec.tolerations[0]: operator Exists without "
                                 "a key tolerates every taint (control-plane, unhealthy and other "
                                 "teams' nodes too); name the key")

    def test_keyed_tolerations_allowed(self):
        for tol in TOLERATIONS_ALLOWED:
            with self.subTest(tol=tol):
                _, r = compile_with(self, "tol-ok-" + tol, self._pod(tol))
                self.assertEqual(r.returncode, 0, r.stderr.decode())
                pod = next(o for o in H.load_yaml_stream(r.stdout) if o.get("kind") == "Pod")
                self.assertEqual(pod["spec"]["tolerations"][0]["key"], "sandbox")

    def test_not_a_list(self):
        path, r = compile_with(self, "tol-map", "apiVersion: v1\nkind: Pod\nspec:\n  tolerations: {}\n")
        self.assertEqual(r.returncode, 1)
        self.assertIn(f"{path}:4:16: error: spec.tolerations: expected a list of tolerations",
                      r.stderr.decode())


if __name__ == "__main__":
    unittest.main()
