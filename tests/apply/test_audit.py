# SPDX-License-Identifier: Apache-2.0
"""agentfence audit against the fake API server (tests/apiserver).

Run from the repository root (make builds build/agentfence first):

    python3 -m unittest tests/apply/test_audit.py

Each test puts the four agents of test_apply (modes none, public,
allowlist, gateway, namespace agents) on an empty fake cluster with
`agentfence apply`, changes the cluster the way drift happens, and checks
what `agentfence audit` finds: nothing on a clean cluster (exit 0); each
kind of finding alone and mixed (exit 1), naming the object and the rule;
the same findings, and no duplicates, when the server pages every list one
item at a time and when a continue token expires mid-list (410 Gone); 5xx
faults retried; a persistent fault or an unreadable cluster (exit 3).
"""

import json
import os
import ssl
import sys
import unittest
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import test_apply as ta  # noqa: E402  (the fake server and its harness)

ROOT = ta.ROOT
CILIUM_PROFILE = os.path.join(ROOT, "examples", "profile-cilium.yaml")
CNP_PROFILE = os.path.join(ROOT, "examples", "profile-clusternetworkpolicy.yaml")
PODS = sorted(ta.MODES)


def setUpModule():
    ta.setUpModule()


def tearDownModule():
    ta.tearDownModule()


ALLOW_ALL_EGRESS = {
    "apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
    "metadata": {"name": "allow-all-egress", "namespace": ta.NS},
    "spec": {"podSelector": {}, "policyTypes": ["Egress"], "egress": [{}]},
}


class AuditTest(ta.Base):
    def setUp(self):
        super().setUp()
        self.ctl("POST", "/config", {"expire_continue": 0, "expire_continue_path": "",
                                     "list_page_max": 0})

    # -- helpers ----------------------------------------------------------------
    def api(self, method, path, body=None):
        """A request to the API server, as a cluster admin would send it."""
        ctx = ssl.create_default_context(cafile=os.path.join(ta.CERTS, "ca.crt"))
        req = urllib.request.Request(f"https://127.0.0.1:{ta.SRV['port']}{path}", method=method,
                                     data=json.dumps(body).encode() if body else None,
                                     headers={"Authorization": "Bearer " + ta.TOKEN,
                                              "Content-Type": "application/json"})
        with urllib.request.urlopen(req, context=ctx, timeout=10) as r:
            return json.loads(r.read())

    def applied(self, *args):
        code, out, err = self.run_af("apply", *args, self.spec)
        self.assertEqual(code, 0, (out, err))

    def audit(self, *args, specs=(), json_out=True):
        argv = ["audit", "--kubeconfig", self.kubeconfig, *args]
        if json_out:
            argv += ["--format", "json"]
        code, out, err = self.run_af(*argv, *specs)
        if json_out and code in (0, 1, 3):
            self.report = json.loads(out)
        return code, out, err

    def findings(self, kind=None):
        return [f for f in self.report["findings"] if kind is None or f["finding"] == kind]

    def restore(self, kind, ns, name, mutate):
        """Re-store a live object changed by `mutate` (as kubectl edit would)."""
        obj = self.objects(sa=True)[(kind, ns, name)]
        for k in ("uid", "resourceVersion", "generation", "creationTimestamp", "managedFields"):
            obj["metadata"].pop(k, None)
        obj.pop("status", None)
        mutate(obj)
        self.seed(obj)

    def assertClean(self, code, err):
        self.assertEqual(code, 0, (self.report, err))
        self.assertEqual(self.report["findings"], [])

    # -- clean ------------------------------------------------------------------
    def test_clean(self):
        self.applied()
        code, out, err = self.audit()
        self.assertClean(code, err)
        self.assertEqual(self.report["summary"]["agentPods"], 4)
        self.assertIn("0 findings", err)
        # with the specs: every object is as they compile
        code, out, err = self.audit(specs=[self.spec])
        self.assertClean(code, err)

    def test_clean_table(self):
        self.applied()
        code, out, err = self.audit(json_out=False)
        self.assertEqual((code, out), (0, ""), err)

    def test_other_namespace_not_audited(self):
        """A Pod, and a wide policy, of a namespace with no agent are not the audit's."""
        self.applied()
        self.seed(dict(ALLOW_ALL_EGRESS, metadata={"name": "wide", "namespace": "default"}))
        self.seed({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "web", "namespace": "default"},
                   "spec": {"containers": [{"name": "c", "image": "nginx:1"}]}})
        code, out, err = self.audit()
        self.assertClean(code, err)
        self.assertEqual(self.report["summary"]["pods"], 5)

    # -- each finding alone -------------------------------------------------------
    def test_widens(self):
        self.applied()
        self.seed(ALLOW_ALL_EGRESS)
        code, out, err = self.audit()
        self.assertEqual(code, 1, err)
        got = self.findings()
        self.assertEqual(sorted(f["pod"] for f in got), PODS)
        for f in got:
            self.assertEqual(f["finding"], "widens")
            self.assertEqual(f["object"], {"kind": "NetworkPolicy", "namespace": ta.NS,
                                           "name": "allow-all-egress"})
            self.assertEqual((f["rule"], f["detail"]), ("egress[0]", "{} (every peer, every port)"))
        # the evaluator (reach.h): what the union lets the Pod reach beyond its fence
        reaches = {f["pod"]: f["reaches"] for f in got}
        self.assertEqual(reaches["job-none"], "egress: 0.0.0.0/0 (TCP all,UDP all,SCTP all) ::/0 "
                         "(TCP all,UDP all,SCTP all) every Pod (TCP all,UDP all,SCTP all)")
        # the public fence already allows the public addresses: the blocked ranges remain
        self.assertTrue(reaches["job-public"].startswith(
            "egress: 0.0.0.0/8 (TCP all,UDP all,SCTP all) 10.0.0.0/8 (TCP all,UDP all,SCTP all) "
            "100.64.0.0/10 (TCP all,UDP all,SCTP all) 127.0.0.0/8 (TCP all,UDP all,SCTP all) "), reaches)
        self.assertNotIn(" 8.0.0.0/", reaches["job-public"])

    # -- widens: the union of every policy selecting the Pod, less agentfence's own --
    def netpol(self, name, selector, **spec):
        self.seed({"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
                   "metadata": {"name": name, "namespace": ta.NS},
                   "spec": dict({"podSelector": selector}, **spec)})

    def test_widens_exact_difference(self):
        """Only the rule that adds something is a finding, and `reaches` is A minus B."""
        self.applied()
        self.netpol("db", {"matchLabels": {"agentfence.dev/job-id": "job-allow"}},
                    policyTypes=["Egress"],
                    egress=[{"to": [{"ipBlock": {"cidr": "140.82.112.0/24"}}], "ports": [{"port": 443}]},
                            {"to": [{"ipBlock": {"cidr": "10.1.0.0/16"}},
                                    {"ipBlock": {"cidr": "140.82.112.0/20"}}],
                             "ports": [{"port": 5432}, {"port": 443}]}])
        code, out, err = self.audit()
        self.assertEqual(code, 1, err)
        self.assertEqual([(f["finding"], f["pod"], f["object"]["name"], f["rule"], f["reaches"])
                          for f in self.findings()],
                         [("widens", "job-allow", "db", "egress[1]",
                           "egress: 10.1.0.0/16 (TCP/443,TCP/5432) 140.82.112.0/20 (TCP/5432)")])
        self.assertIn('"10.1.0.0/16"', self.findings()[0]["detail"])

    def test_subset_of_fence_is_no_finding(self):
        """A foreign policy inside the fence (an address range and the DNS peer it already
        allows) adds nothing: no finding, a verbose note."""
        self.applied()
        self.netpol("inside", {"matchLabels": {"agentfence.dev/job-id": "job-allow"}},
                    policyTypes=["Egress"],
                    egress=[{"to": [{"ipBlock": {"cidr": "140.82.112.0/24"}}], "ports": [{"port": 443}]},
                            {"to": [{"namespaceSelector": {"matchLabels": {
                                "kubernetes.io/metadata.name": "kube-system"}},
                                "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}}}],
                             "ports": [{"protocol": "UDP", "port": 53}]}])
        code, out, err = self.audit("-v")
        self.assertClean(code, err)
        self.assertIn(f"{ta.NS}/job-allow: NetworkPolicy {ta.NS}/inside selects it and adds nothing "
                      "to agentfence's objects", err)

    def test_held_back_by_the_fence_shape(self):
        """Public addresses are inside the public and gateway fences: only the allowlist agent
        (and the one with no egress) gains them."""
        self.applied()
        self.netpol("dns-google", {}, policyTypes=["Egress"],
                    egress=[{"to": [{"ipBlock": {"cidr": "8.8.8.0/24"}}]}])
        code, out, err = self.audit()
        self.assertEqual(code, 1, err)
        self.assertEqual(sorted((f["pod"], f["rule"], f["reaches"]) for f in self.findings()),
                         [("job-allow", "egress[0]", "egress: 8.8.8.0/24 (TCP all,UDP all,SCTP all)"),
                          ("job-none", "egress[0]", "egress: 8.8.8.0/24 (TCP all,UDP all,SCTP all)")])

    def test_widens_ingress(self):
        self.applied()
        self.netpol("scrape", {"matchLabels": {"agentfence.dev/job-id": "job-gw"}},
                    ingress=[{"from": [{"ipBlock": {"cidr": "10.0.0.0/8", "except": ["10.9.0.0/16"]}},
                                       {"podSelector": {"matchLabels": {"app": "prometheus"}}}],
                              "ports": [{"port": 9090}, {"port": 9100, "endPort": 9102}]}])
        code, out, err = self.audit()
        self.assertEqual(code, 1, err)
        self.assertEqual([(f["pod"], f["rule"], f["reaches"]) for f in self.findings()],
                         [("job-gw", "ingress[0]",
                           "ingress: 10.0.0.0/13 (TCP/9090,TCP/9100-9102) 10.8.0.0/16 "
                           "(TCP/9090,TCP/9100-9102) 10.10.0.0/15 (TCP/9090,TCP/9100-9102) "
                           "10.12.0.0/14 (TCP/9090,TCP/9100-9102) 10.16.0.0/12 "
                           "(TCP/9090,TCP/9100-9102) 10.32.0.0/11 (TCP/9090,TCP/9100-9102) "
                           "10.64.0.0/10 (TCP/9090,TCP/9100-9102) 10.128.0.0/9 "
                           "(TCP/9090,TCP/9100-9102) the Pods of from[1] (TCP/9090,TCP/9100-9102)")])

    def test_widens_blames_each_rule(self):
        """Two foreign policies: each part of A minus B names the rule that allows it."""
        self.applied()
        self.netpol("a", {"matchLabels": {"agentfence.dev/job-id": "job-none"}}, policyTypes=["Egress"],
                    egress=[{"to": [{"ipBlock": {"cidr": "192.0.2.0/24"}}], "ports": [{"port": 22}]}])
        self.netpol("b", {"matchLabels": {"agentfence.dev/job-id": "job-none"}}, policyTypes=["Egress"],
                    egress=[{"ports": [{"protocol": "UDP", "port": 123}]},
                            {"to": [{"ipBlock": {"cidr": "192.0.2.0/25"}}], "ports": [{"port": 22}]}])
        code, out, err = self.audit()
        self.assertEqual(code, 1, err)
        self.assertEqual(sorted((f["object"]["name"], f["rule"], f["reaches"]) for f in self.findings()),
                         [("a", "egress[0]", "egress: 192.0.2.0/24 (TCP/22)"),
                          ("b", "egress[0]", "egress: 0.0.0.0/0 (UDP/123) ::/0 (UDP/123) "
                           "every Pod (UDP/123)")])

    def test_cilium_union(self):
        """Cilium enforcement: the Pod's own policy is a CiliumNetworkPolicy and the guard a
        CiliumClusterwideNetworkPolicy; a foreign NetworkPolicy opens 10.1.0.0/16 and
        8.8.8.0/24. The guard's egressDeny of 10.0.0.0/8 holds back rule 0: only rule 1
        widens, and by exactly what it adds."""
        self.applied("--cluster", CILIUM_PROFILE)
        self.netpol("db", {"matchLabels": {"agentfence.dev/job-id": "job-allow"}},
                    policyTypes=["Egress"],
                    egress=[{"to": [{"ipBlock": {"cidr": "10.1.0.0/16"}}], "ports": [{"port": 5432}]},
                            {"to": [{"ipBlock": {"cidr": "8.8.8.0/24"}}], "ports": [{"port": 53}]}])
        code, out, err = self.audit("--cluster", CILIUM_PROFILE)
        self.assertEqual(code, 1, err)
        got = [(f["finding"], f["pod"], f["object"]["name"], f["rule"], f["reaches"])
               for f in self.findings()]
        self.assertEqual(got, [("widens", "job-allow", "db", "egress[1]",
                                "egress: 8.8.8.0/24 (TCP/53)")])

    CORP_PROXY = {"apiVersion": "policy.networking.k8s.io/v1alpha2", "kind": "ClusterNetworkPolicy",
                  "metadata": {"name": "corp-proxy"},
                  "spec": {"tier": "Admin", "priority": 10,
                           "subject": {"namespaces": {"matchLabels": {
                               "kubernetes.io/metadata.name": ta.NS}}},
                           "egress": [{"action": "Accept", "to": [{"networks": ["10.8.0.0/16"]}]}]}}

    def test_cluster_scoped(self):
        """A ClusterNetworkPolicy not agentfence's over the agent namespace: its Admin-tier
        Accept comes before every NetworkPolicy, so it widens every agent Pod by exactly
        10.8.0.0/16 (the union is evaluated with the tiers)."""
        self.applied()
        self.seed(self.CORP_PROXY)
        code, out, err = self.audit()
        self.assertEqual(code, 1, err)
        got = self.findings()
        self.assertEqual(sorted((f["pod"], f["object"]["name"], f["rule"], f["reaches"]) for f in got),
                         [(p, "corp-proxy", "egress[0]", "egress: 10.8.0.0/16 (TCP all,UDP all,SCTP all)")
                          for p in PODS])

    def test_not_evaluated(self):
        """A ClusterNetworkPolicy beside Cilium policies is a mix the evaluator does not read:
        audit falls back to the rules, and says so naming the object."""
        self.applied("--cluster", CILIUM_PROFILE)
        self.seed(self.CORP_PROXY)
        code, out, err = self.audit("--cluster", CILIUM_PROFILE)
        self.assertEqual(code, 1, err)
        got = self.findings()
        self.assertEqual(sorted((f["pod"], f["object"]["name"], f["rule"], f["reaches"]) for f in got),
                         [(p, "corp-proxy", "egress[0]", "not evaluated: the evaluator does not read "
                           "ClusterNetworkPolicy corp-proxy yet") for p in PODS])

    # -- exit codes: 0 clean, 1 findings, 3 an error ---------------------------------
    def test_exit_codes(self):
        self.applied()
        code, out, err = self.audit()
        self.assertEqual(code, 0, err)
        self.seed(ALLOW_ALL_EGRESS)
        self.assertEqual(self.audit()[0], 1)
        bad = self.write("bad.yaml", "apiVersion: agentfence.dev/v1alpha1\nkind: AgentIsolation\n"
                         "metadata: {name: x, namespace: agents}\nspec: {egress: {mode: nope}}\n")
        code, out, err = self.audit(specs=[bad], json_out=False)
        self.assertEqual((code, out), (3, ""), err)
        self.assertIn("nothing read from the cluster", err)
        prof = self.write("prof.yaml", "not: [a, profile\n")
        code, out, err = self.audit("--cluster", prof, json_out=False)
        self.assertEqual((code, out), (3, ""), err)
        code, out, err = self.audit("--format", "yaml", json_out=False)
        self.assertEqual(code, 2, err)

    def test_deny_only_policy_does_not_widen(self):
        self.applied()
        self.seed({"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
                   "metadata": {"name": "deny-all", "namespace": ta.NS},
                   "spec": {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}})
        code, out, err = self.audit()
        self.assertClean(code, err)

    def test_widens_one_pod_by_expression(self):
        self.applied()
        self.seed({"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
                   "metadata": {"name": "metrics", "namespace": ta.NS},
                   "spec": {"podSelector": {"matchExpressions": [
                       {"key": "agentfence.dev/job-id", "operator": "In", "values": ["job-gw"]}]},
                       "ingress": [{"ports": [{"port": 9090}]}]}})
        code, out, err = self.audit()
        self.assertEqual(code, 1, err)
        self.assertEqual([(f["pod"], f["rule"]) for f in self.findings()], [("job-gw", "ingress[0]")])
        self.assertIn("9090", self.findings()[0]["detail"])
        self.assertEqual(self.findings()[0]["reaches"], "ingress: 0.0.0.0/0 (TCP/9090) ::/0 (TCP/9090) "
                         "every Pod (TCP/9090)")

    def test_policy_deleted(self):
        self.applied()
        self.api("DELETE", f"/apis/networking.k8s.io/v1/namespaces/{ta.NS}/networkpolicies/isolate-job-public")
        code, out, err = self.audit()
        self.assertEqual(code, 1, err)
        self.assertEqual([(f["finding"], f["pod"]) for f in self.findings()], [("unfenced", "job-public")])
        # with the spec: also the missing object, by name
        code, out, err = self.audit(specs=[self.spec])
        drift = self.findings("drift")
        self.assertEqual([(f["object"]["name"], f["pod"]) for f in drift],
                         [("isolate-job-public", "job-public")])
        self.assertIn("missing", drift[0]["detail"])

    def test_pod_label_edited(self):
        self.applied()
        self.restore("Pod", ta.NS, "job-none",
                     lambda o: o["metadata"]["labels"].update({"agentfence.dev/job-id": "job-x"}))
        code, out, err = self.audit()
        self.assertEqual(code, 1, err)
        self.assertEqual([(f["finding"], f["pod"]) for f in self.findings()], [("unfenced", "job-none")])

    def test_unlabelled_pod_in_agent_namespace(self):
        self.applied()
        self.seed({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "debug", "namespace": ta.NS},
                   "spec": {"containers": [{"name": "c", "image": "busybox:1"}]}})
        code, out, err = self.audit()
        self.assertEqual(code, 1, err)
        self.assertEqual([(f["finding"], f["pod"]) for f in self.findings()], [("unfenced", "debug")])

    def test_agent_pod_alone_in_its_namespace(self):
        """agentfence's Pod where nothing else of agentfence is: it, and the Pods
        listed before it in that namespace, are agent Pods."""
        self.ctl("POST", "/config", {"namespaces": ["default", ta.NS, "kube-system", "lone"]})
        self.applied()
        for name, labels in (("aaa", {}), ("job-lone", {"app.kubernetes.io/managed-by": "agentfence",
                                                        "agentfence.dev/job-id": "job-lone"}),
                             ("zzz", {})):
            self.seed({"apiVersion": "v1", "kind": "Pod",
                       "metadata": {"name": name, "namespace": "lone", "labels": labels},
                       "spec": {"containers": [{"name": "c", "image": "busybox:1"}]}})
        code, out, err = self.audit()
        self.assertEqual(code, 1, err)
        # nothing of agentfence's was applied there: not the agents' ServiceAccount either
        self.assertEqual(sorted((f["finding"], f["pod"] or f["object"]["name"]) for f in self.findings()),
                         [("guard-missing", "agentfence-agent"), ("unfenced", "aaa"),
                          ("unfenced", "job-lone"), ("unfenced", "zzz")])

    def test_spec_changed_after_apply(self):
        self.applied()
        changed = self.write("changed.yaml", ta.specs().replace("140.82.112.0/20", "140.82.112.0/21"))
        code, out, err = self.audit(specs=[changed])
        self.assertEqual(code, 1, err)
        drift = self.findings("drift")
        self.assertEqual([f["object"]["name"] for f in drift], ["isolate-job-allow"])
        self.assertTrue(drift[0]["rule"].startswith(".spec.egress["), drift[0])
        self.assertIn("140.82.112.0/21", drift[0]["detail"])
        self.assertIn("140.82.112.0/20", drift[0]["detail"])
        self.assertEqual(self.findings("widens") + self.findings("unfenced"), [])

    def test_live_field_edited(self):
        """kubectl edit of a field agentfence sets: drift, at that path."""
        self.applied()
        self.restore("NetworkPolicy", ta.NS, "isolate-job-none",
                     lambda o: o["spec"].update({"policyTypes": ["Ingress"]}))
        code, out, err = self.audit(specs=[self.spec])
        self.assertEqual(code, 1, err)
        self.assertEqual([(f["finding"], f["object"]["name"], f["rule"]) for f in self.findings()],
                         [("drift", "isolate-job-none", ".spec.policyTypes")])

    def test_service_account(self):
        """The agents' ServiceAccount (every profile emits it): missing, or mounting a token."""
        self.applied()
        self.restore("ServiceAccount", ta.NS, "agentfence-agent",
                     lambda o: o.update({"automountServiceAccountToken": True}))
        code, out, err = self.audit()
        self.assertEqual(code, 1, err)
        self.assertEqual([(f["finding"], f["namespace"], f["object"], f["rule"], f["detail"])
                          for f in self.findings()],
                         [("drift", ta.NS, {"kind": "ServiceAccount", "namespace": ta.NS,
                                            "name": "agentfence-agent"},
                           ".automountServiceAccountToken",
                           "agentfence sets false (no token mounted), the cluster holds true")])
        self.api("DELETE", f"/api/v1/namespaces/{ta.NS}/serviceaccounts/agentfence-agent")
        code, out, err = self.audit()
        self.assertEqual(code, 1, err)
        self.assertEqual([(f["finding"], f["object"]["name"], f["detail"]) for f in self.findings()],
                         [("guard-missing", "agentfence-agent",
                           "every agent Pod runs as this ServiceAccount; it is missing")])

    def test_guard_deleted_cilium(self):
        self.applied("--cluster", CILIUM_PROFILE)
        code, out, err = self.audit("--cluster", CILIUM_PROFILE)
        self.assertClean(code, err)
        self.api("DELETE", f"/apis/cilium.io/v2/ciliumclusterwidenetworkpolicies/agentfence-guard.{ta.NS}")
        code, out, err = self.audit("--cluster", CILIUM_PROFILE)
        self.assertEqual(code, 1, err)
        self.assertEqual([(f["finding"], f["object"]["kind"], f["object"]["name"]) for f in self.findings()],
                         [("guard-missing", "CiliumClusterwideNetworkPolicy", f"agentfence-guard.{ta.NS}")])

    def test_policy_deleted_guard_is_no_fence(self):
        """The namespace's guard selects every Pod of it: it is not an agent's fence."""
        self.applied("--cluster", CILIUM_PROFILE)
        self.api("DELETE", f"/apis/cilium.io/v2/namespaces/{ta.NS}/ciliumnetworkpolicies/isolate-job-allow")
        code, out, err = self.audit("--cluster", CILIUM_PROFILE)
        self.assertEqual(code, 1, err)
        self.assertEqual([(f["finding"], f["pod"]) for f in self.findings()], [("unfenced", "job-allow")])

    def test_guard_deleted_clusternetworkpolicy(self):
        self.applied("--cluster", CNP_PROFILE)
        code, out, err = self.audit("--cluster", CNP_PROFILE, specs=[self.spec])
        self.assertClean(code, err)
        self.api("DELETE", "/apis/policy.networking.k8s.io/v1alpha2/clusternetworkpolicies/"
                 f"agentfence-guard-ingress.{ta.NS}")
        code, out, err = self.audit("--cluster", CNP_PROFILE)
        self.assertEqual(code, 1, err)
        self.assertEqual([(f["finding"], f["object"]["name"]) for f in self.findings()],
                         [("guard-missing", f"agentfence-guard-ingress.{ta.NS}")])

    def test_mixed(self):
        self.applied("--cluster", CILIUM_PROFILE)
        self.seed(ALLOW_ALL_EGRESS)
        self.api("DELETE", f"/apis/cilium.io/v2/namespaces/{ta.NS}/ciliumnetworkpolicies/isolate-job-public")
        self.api("DELETE", f"/apis/cilium.io/v2/ciliumclusterwidenetworkpolicies/agentfence-guard.{ta.NS}")
        self.restore("Pod", ta.NS, "job-none",
                     lambda o: o["metadata"]["labels"].pop("agentfence.dev/job-id"))
        code, out, err = self.audit("--cluster", CILIUM_PROFILE, specs=[self.spec])
        self.assertEqual(code, 1, err)
        got = sorted((f["finding"], f["pod"] or "", f["object"]["name"]) for f in self.findings())
        # job-public and job-none have no fence (unfenced): nothing to widen
        want = sorted([("widens", p, "allow-all-egress") for p in ("job-allow", "job-gw")] +
                      [("unfenced", "job-public", "job-public"), ("unfenced", "job-none", "job-none"),
                       ("guard-missing", "", f"agentfence-guard.{ta.NS}"),
                       ("drift", "", f"agentfence-guard.{ta.NS}"),
                       ("drift", "job-public", "isolate-job-public"),
                       ("drift", "job-none", "job-none")])
        self.assertEqual(got, want)
        self.mixed = got
        # the table: a header, one line a finding
        code, out, err = self.audit("--cluster", CILIUM_PROFILE, specs=[self.spec], json_out=False)
        self.assertEqual(code, 1)
        lines = out.splitlines()
        self.assertTrue(lines[0].startswith("FINDING"), out)
        self.assertEqual(len(lines), 1 + len(want), out)
        self.assertIn(f"widens         {ta.NS}/job-allow", out)

    # -- paging, 410, faults --------------------------------------------------------
    def widened(self):
        self.applied()
        self.seed(ALLOW_ALL_EGRESS)
        self.api("DELETE", f"/apis/networking.k8s.io/v1/namespaces/{ta.NS}/networkpolicies/isolate-job-gw")

    def expect_widened(self, code, err):
        self.assertEqual(code, 1, err)
        got = sorted((f["finding"], f["pod"]) for f in self.findings())
        # job-gw has no fence left: the wide policy adds nothing to an open Pod
        self.assertEqual(got, sorted([("widens", p) for p in PODS if p != "job-gw"] +
                                     [("unfenced", "job-gw")]))

    def list_requests(self, path):
        """audit's LISTs of the cluster-wide collection `path` (apply lists by namespace)"""
        return [e for e in self.log() if e.get("method") == "GET" and e.get("path") == path]

    def test_paging_one_item_a_page(self):
        self.widened()
        self.ctl("POST", "/config", {"list_page_max": 1})
        code, out, err = self.audit()
        self.expect_widened(code, err)
        # 4 Pods, one a page, and a last empty one is not asked for
        self.assertEqual(len(self.list_requests("/api/v1/pods")), 4)
        self.assertEqual(len(self.list_requests("/apis/networking.k8s.io/v1/networkpolicies")), 4)

    def test_paging_limit_sent(self):
        self.widened()
        code, out, err = self.audit()
        self.expect_widened(code, err)
        reqs = self.list_requests("/api/v1/pods")
        self.assertEqual(len(reqs), 1)
        for e in reqs:
            self.assertIn("limit=500", e.get("query", "") or json.dumps(e), e)

    def expire_mid_list(self, path):
        self.widened()
        self.ctl("POST", "/config", {"list_page_max": 2, "expire_continue": 1,
                                     "expire_continue_path": path})
        code, out, err = self.audit("-v")
        self.expect_widened(code, err)
        self.assertIn("continue token expired (410 Gone): listing again from the start", err)
        self.assertEqual(self.ctl("GET", "/config")["expire_continue"], 0)

    def test_continue_expired_mid_list_pods(self):
        self.expire_mid_list("^/api/v1/pods$")

    def test_continue_expired_mid_list_policies(self):
        self.expire_mid_list("/networkpolicies$")

    def test_continue_expired_mid_list_namespaces(self):
        self.expire_mid_list("^/api/v1/namespaces$")

    def test_continue_always_expired(self):
        self.widened()
        self.ctl("POST", "/config", {"list_page_max": 1, "expire_continue": 1000})
        code, out, err = self.audit()
        self.assertEqual(code, 3, err)
        self.assertIn("expired (410 Gone)", self.report["error"])

    def test_faults_retried(self):
        self.widened()
        self.fault(action="500", method="GET", path="/pods$", count=2)
        self.fault(action="503", method="GET", path="/networkpolicies$", count=1)
        code, out, err = self.audit()
        self.expect_widened(code, err)

    def test_persistent_fault(self):
        self.widened()
        self.fault(action="503", method="GET", path="/pods$", always=True)
        code, out, err = self.audit()
        self.assertEqual(code, 3, err)
        self.assertIn("cannot list Pod", self.report["error"])
        self.assertIn("the audit is incomplete", err)

    def test_forbidden(self):
        self.applied()
        self.fault(action="403", method="GET", path="/networkpolicies$", always=True)
        code, out, err = self.audit(json_out=False)
        self.assertEqual(code, 3, err)
        self.assertIn("cannot list NetworkPolicy: Forbidden", err)

    def test_crds_not_installed(self):
        self.ctl("POST", "/config", {"cilium_installed": False,
                                     "crds_missing": ["clusternetworkpolicies"]})
        self.spec = self.write("agents.yaml", ta.specs({"job-none": "none", "job-public": "public"}))
        self.applied()
        code, out, err = self.audit("-v")
        self.assertClean(code, err)
        self.assertIn("CiliumNetworkPolicy: not served (404): skipped", err)
        self.assertIn("ClusterNetworkPolicy: not served (404): skipped", err)

    def test_unreachable(self):
        kc = self.write_kubeconfig("dead", {"token": ta.TOKEN},
                                   cluster={"server": "https://127.0.0.1:1"})
        with open(kc) as fh:
            cfg = json.load(fh)
        cfg["clusters"][0]["cluster"]["server"] = "https://127.0.0.1:1"
        self.write("dead", json.dumps(cfg))
        code, out, err = self.run_af("audit", "--kubeconfig", kc, "--request-timeout", "2s")
        self.assertEqual(code, 3, err)


if __name__ == "__main__":
    unittest.main()
