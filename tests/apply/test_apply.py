# SPDX-License-Identifier: Apache-2.0
"""agentfence apply / delete against the fake API server (tests/apiserver).

Run from the repository root (make builds build/agentfence first):

    python3 -m unittest discover -s tests/apply -p 'test_*.py'

AGENTFENCE names the binary (default build/agentfence). One fake server
(TLS, test CA from mkcerts.sh) serves every test; each test starts from an
empty cluster (POST /reset) and the default configuration.

With spec.enforcement cilium or clusternetworkpolicy in the cluster profile
(EnforcementTest), each agent namespace has a guard: it must be stored
before any object of the namespace's agents is written, no Pod may exist
without it, delete and prune never remove it, and a missing CRD is named.

The safety claims are checked after every run, from the server's state and
its request log (write_seq is the true commit order):
  * no Pod exists without its NetworkPolicy (and, in gateway mode, its
    CiliumEgressGatewayPolicy);
  * no Pod write happened before its policies were stored;
  * no policy was deleted while its Pod still existed.
A fault (500, 403, 429, reset, hang, 504) is injected at every request
index of a four-agent apply (modes none, public, allowlist, gateway).
"""

import base64
import json
import os
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.error
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
FAKEAPI = os.path.join(ROOT, "tests", "apiserver", "fakeapi.py")
MKCERTS = os.path.join(ROOT, "tests", "apiserver", "mkcerts.sh")
BIN = os.path.abspath(os.environ.get("AGENTFENCE", os.path.join(ROOT, "build", "agentfence")))

TOKEN = "agentfence-test-token"          # the server's default token
EXEC_TOKEN = "exec-plugin-token-7c1d9e"  # only the exec plugin knows it
FILE_TOKEN = "file-token-31f0a2"         # only the token file knows it
SA_TOKEN = "serviceaccount-token-55e8"   # only the in-cluster folder knows it
ALL_TOKENS = [TOKEN, EXEC_TOKEN + "=exec-user", FILE_TOKEN + "=file-user",
              SA_TOKEN + "=system:serviceaccount:agents:agentfence"]

NS = "agents"
MODES = {"job-none": "none", "job-public": "public", "job-allow": "allowlist", "job-gw": "gateway"}


def spec(name, mode, ns=NS, extra=""):
    body = {
        "none": "  egress: {mode: none}\n",
        "public": "  egress: {mode: public}\n",
        "allowlist": "  egress: {mode: allowlist, allow: [140.82.112.0/20], ports: [443]}\n",
        "gateway": "  egress: {mode: gateway, staticIP: 203.0.113.10}\n",
    }[mode]
    return (f"apiVersion: agentfence.dev/v1alpha1\nkind: AgentIsolation\n"
            f"metadata: {{name: {name}, namespace: {ns}}}\n"
            f"spec:\n  image: ghcr.io/acme/agent:1.0\n{body}{extra}")


def specs(agents=MODES, **kw):
    return "---\n".join(spec(n, m, **kw) for n, m in agents.items())


def start_server(tmp):
    ready = os.path.join(tmp, "ready")
    proc = subprocess.Popen(
        [sys.executable, FAKEAPI, "--certs", os.path.join(tmp, "certs"), "--port", "0",
         "--ready-file", ready, "--log", os.path.join(tmp, "requests.jsonl")],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 15
    while not os.path.exists(ready):
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            raise RuntimeError("fakeapi did not start")
        time.sleep(0.02)
    with open(ready + ".json") as fh:
        info = json.load(fh)
    info["proc"] = proc
    return info


def setUpModule():
    global TMP, CERTS, SRV
    if not os.access(BIN, os.X_OK):
        raise unittest.SkipTest(f"{BIN} is not built (run make)")
    TMP = tempfile.mkdtemp(prefix="agentfence-apply-")
    CERTS = os.path.join(TMP, "certs")
    subprocess.run(["sh", MKCERTS, CERTS], check=True, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)
    SRV = start_server(TMP)


def tearDownModule():
    proc = SRV["proc"]
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(5)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    shutil.rmtree(TMP, ignore_errors=True)


def b64file(path):
    with open(path, "rb") as fh:
        return base64.b64encode(fh.read()).decode()


def read(path):
    with open(path) as fh:
        return fh.read()


class Base(unittest.TestCase):
    def setUp(self):
        self.ctl("POST", "/reset")
        self.ctl("POST", "/config", {"namespaces": ["default", NS, "kube-system"],
                                     "runtimeclasses": ["kata-fc"], "cilium_installed": True,
                                     "crds_missing": [], "pod_delete_grace_gets": 0, "anonymous": False,
                                     "tokens": ALL_TOKENS})
        self.dir = tempfile.mkdtemp(prefix="t-", dir=TMP)
        self.home = os.path.join(self.dir, "home")
        os.mkdir(self.home)
        self.kubeconfig = self.write_kubeconfig("kubeconfig", {"token": TOKEN})
        self.spec = self.write("agents.yaml", specs())

    def tearDown(self):
        shutil.rmtree(self.dir, ignore_errors=True)

    # -- the fake server --------------------------------------------------------
    def ctl(self, method, path, body=None):
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(f"http://127.0.0.1:{SRV['control_port']}{path}",
                                     data=data, method=method)
        try:
            with urllib.request.urlopen(req, timeout=10) as r:
                return json.loads(r.read())
        except urllib.error.HTTPError as e:
            raise AssertionError(f"control {method} {path}: {e.read()!r}")

    def fault(self, **rule):
        self.ctl("POST", "/faults", rule)

    def log(self):
        return sorted((e for e in self.ctl("GET", "/log") if e.get("event") == "request"),
                      key=lambda e: e["seq"])

    def objects(self, sa=False):
        """The stored objects by (kind, namespace, name), but agentfence's
        Leases (test_concurrency checks those) and, unless sa, the agent
        namespaces' ServiceAccounts (guard objects every enforcement makes,
        never deleted: test_service_account_first_and_kept checks them)."""
        return {(o["kind"], o["metadata"].get("namespace", ""), o["metadata"]["name"]): o
                for o in self.ctl("GET", "/state")["objects"]
                if o["kind"] != "Lease" and (sa or o["kind"] != "ServiceAccount")}

    def seed(self, obj, manager="other"):
        req = urllib.request.Request(
            f"http://127.0.0.1:{SRV['control_port']}/seed?manager={manager}&operation=Update",
            data=json.dumps(obj).encode(), method="POST")
        with urllib.request.urlopen(req, timeout=5) as r:
            return json.loads(r.read())

    # -- files ------------------------------------------------------------------
    def write(self, name, text, mode=0o600):
        path = os.path.join(self.dir, name)
        with open(path, "w") as fh:
            fh.write(text)
        os.chmod(path, mode)
        return path

    def write_kubeconfig(self, name, user, cluster=None, mode=0o600, extra_users=None):
        cl = {"server": f"https://127.0.0.1:{SRV['port']}",
              "certificate-authority-data": b64file(os.path.join(CERTS, "ca.crt"))}
        if cluster is not None:
            cl = dict(cluster, server=cl["server"])
        cfg = {"apiVersion": "v1", "kind": "Config", "current-context": "test",
               "clusters": [{"name": "fake", "cluster": cl}],
               "contexts": [{"name": "test", "context": {"cluster": "fake", "user": "me"}}],
               "users": [{"name": "me", "user": user}] + (extra_users or [])}
        # JSON is YAML: the kubeconfig reader takes both
        return self.write(name, json.dumps(cfg, indent=1), mode)

    # -- running agentfence -----------------------------------------------------
    def run_af(self, *args, env=None, kubeconfig=True, timeout=60):
        e = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": self.home, "LC_ALL": "C"}
        e.update(env or {})
        argv = [BIN, *args]
        if kubeconfig and args[0] in ("apply", "delete", "--apply"):
            argv[2:2] = ["--kubeconfig", self.kubeconfig]
        p = subprocess.run(argv, capture_output=True, text=True, env=e, timeout=timeout)
        self.last = (p.returncode, p.stdout, p.stderr)
        return p.returncode, p.stdout, p.stderr

    def apply(self, *args, **kw):
        return self.run_af("apply", *args, self.spec, **kw)

    # -- the safety claims --------------------------------------------------------
    def assertIsolated(self, agents=MODES, ns=NS):
        """No Pod without its policies, and no Pod write before they were stored."""
        objs = self.objects()
        log = self.log()
        writes = sorted((e["write"] for e in log if "write_seq" in e.get("write", {})),
                        key=lambda w: w["write_seq"])
        for name, mode in agents.items():
            need = [("NetworkPolicy", ns, "isolate-" + name)]
            if mode == "gateway":
                need.append(("CiliumEgressGatewayPolicy", "", f"egress-{ns}.{name}"))
            if ("Pod", ns, name) in objs:
                for k in need:
                    self.assertIn(k, objs, f"Pod {name} exists without {k}; {self.last}")
            stored = {}
            for w in writes:
                key = (w["kind"], w["namespace"], w["name"])
                if w["op"] in ("delete", "delete-graceful"):
                    stored.pop(key, None)
                    continue
                stored[key] = w["write_seq"]
                if key == ("Pod", ns, name) and w["op"] in ("create", "update"):
                    for k in need:
                        self.assertIn(k, stored, f"Pod {name} written at write_seq "
                                      f"{w['write_seq']} before {k} was stored; {self.last}")

    def assertPodsGoneFirst(self):
        """No policy deleted while a Pod of its agent still existed (the log
        is read in arrival order: a policy DELETE is sent only after the
        client saw the Pod gone, so the Pod's end comes first)."""
        present = set()
        for e in self.log():
            w = e.get("write") or {}
            key = (e.get("namespace"), e.get("name"))
            if e.get("kind") == "Pod":
                if w.get("op") == "create":
                    present.add(key)
                elif (w.get("op") == "delete" and "write_seq" in w) or e.get("finalized_delete"):
                    present.discard(key)
            elif w.get("op") == "delete" and "write_seq" in w:
                pod = agent_of(e["kind"], e["namespace"], e["name"])
                self.assertNotIn(pod, present, f"{e['kind']} {e['name']} deleted while its Pod "
                                 f"existed; {self.last}")

    def assertNoSecret(self, out, err, *secrets):
        for s in secrets:
            self.assertNotIn(s, out)
            self.assertNotIn(s, err)


def agent_of(kind, ns, name):
    """The (namespace, agent) a per-agent policy belongs to, from its name."""
    if kind in ("NetworkPolicy", "CiliumNetworkPolicy"):
        return (ns, name[len("isolate-"):])
    prefix = "egress-" if kind == "CiliumEgressGatewayPolicy" else "isolate-"
    ns, _, job = name[len(prefix):].partition(".")
    return (ns, job)


def key_fragments(path):
    """Lines of a PEM key body, long enough to be unmistakable."""
    return [l for l in read(path).splitlines() if l and not l.startswith("-----") and len(l) > 20]


class ApplyTest(Base):
    def test_apply_all_modes(self):
        rc, out, err = self.apply()
        self.assertEqual(rc, 0, err)
        self.assertEqual(sorted(out.splitlines()), sorted([
            "networkpolicy/isolate-job-none created", "pod/job-none created",
            "networkpolicy/isolate-job-public created", "pod/job-public created",
            "networkpolicy/isolate-job-allow created", "pod/job-allow created",
            "networkpolicy/isolate-job-gw created", "pod/job-gw created",
            "ciliumegressgatewaypolicy/egress-agents.job-gw created",
            "serviceaccount/agentfence-agent created"]))
        self.assertIn(out.splitlines()[0], ("serviceaccount/agentfence-agent created",))
        self.assertIn("4 agents: 4 applied, 0 failed", err)
        self.assertIsolated()
        log = self.log()
        # GET /version, the lease (GET, POST), 4 lists, the ServiceAccount, 5 policies, 4 Pods, 5
        # policies read back, the lease released
        self.assertEqual(len(log), APPLY_REQUESTS)
        patches = [e for e in log if e["method"] == "PATCH"]
        self.assertEqual(len(patches), 10)
        for e in patches:
            self.assertEqual(e["content_type"], "application/apply-patch+yaml")
            self.assertEqual(e["query"], "fieldManager=agentfence&force=true")
        self.assertEqual({e["auth"] for e in log}, {"token"})
        self.assertEqual([(e["method"], e["status"]) for e in log if e.get("kind") == "Lease"],
                         [("GET", 404), ("POST", 201), ("DELETE", 200)])
        # the objects are the compiler's, labelled
        objs = self.objects()
        for k, o in objs.items():
            labels = o["metadata"]["labels"]
            self.assertEqual(labels["app.kubernetes.io/managed-by"], "agentfence")
        self.assertEqual(objs[("CiliumEgressGatewayPolicy", "", "egress-agents.job-gw")]
                         ["metadata"]["labels"]["agentfence.dev/namespace"], NS)
        self.assertEqual(objs[("NetworkPolicy", NS, "isolate-job-none")]["spec"]["policyTypes"],
                         ["Ingress", "Egress"])
        # connections are reused: fewer connections than requests
        self.assertLess(len({e["conn"] for e in log}), len(log))
        # again: nothing new, every object unchanged, not one PATCH: a LIST
        # per kind (Pods, NetworkPolicies, egress policies) and the lease
        rc, out, err = self.apply()
        self.assertEqual(rc, 0, err)
        self.assertEqual(len(out.splitlines()), 10)
        self.assertTrue(all(l.endswith(" unchanged") for l in out.splitlines()), out)
        again = [e for e in self.log() if e["seq"] > APPLY_REQUESTS]
        self.assertEqual([e for e in again if e.get("kind") not in ("Lease",)
                          and "write" in e], [])
        self.assertEqual(sorted((e["method"], e.get("kind", e["path"]), e.get("name", ""))
                                for e in again),
                         [("DELETE", "Lease", "agentfence"), ("GET", "/version", ""),
                          ("GET", "CiliumEgressGatewayPolicy", ""), ("GET", "Lease", "agentfence"),
                          ("GET", "NetworkPolicy", ""), ("GET", "Pod", ""),
                          ("GET", "ServiceAccount", ""), ("POST", "Lease", "")])

    def test_apply_alias_and_usage(self):
        rc, out, err = self.run_af("--apply", self.spec)
        self.assertEqual(rc, 0, err)
        self.assertEqual(len(out.splitlines()), 10)
        self.assertEqual(self.run_af("apply", kubeconfig=False)[0], 2)
        self.assertEqual(self.run_af("apply", "--bogus", self.spec)[0], 2)
        self.assertEqual(self.run_af("delete", "--prune", self.spec)[0], 2)
        self.assertEqual(self.run_af("apply", "--request-timeout", "soon", self.spec)[0], 2)
        rc, out, _ = self.run_af("--help", kubeconfig=False)
        self.assertIn("agentfence apply", out)
        self.assertIn("3  apply/delete", out)

    def test_service_account_first_and_kept(self):
        """Every Pod runs as its namespace's agentfence-agent ServiceAccount,
        stored before any agent object and never deleted; without it the
        server refuses the Pod (its ServiceAccount admission)."""
        rc, out, err = self.apply()
        self.assertEqual(rc, 0, err)
        objs = self.objects(sa=True)
        sa = objs[("ServiceAccount", NS, "agentfence-agent")]
        self.assertEqual(sa["automountServiceAccountToken"], False)
        self.assertNotIn("annotations", sa["metadata"])
        for name in MODES:
            self.assertEqual(objs[("Pod", NS, name)]["spec"]["serviceAccountName"],
                             "agentfence-agent")
        writes = [e for e in self.log() if e["method"] == "PATCH"]
        first = min(e["seq"] for e in writes if e.get("kind") != "ServiceAccount")
        self.assertTrue(all(e["seq"] < first for e in writes if e.get("kind") == "ServiceAccount"))
        self.assertEqual(self.run_af("delete", self.spec)[0], 0)
        self.assertEqual(list(self.objects(sa=True)), [("ServiceAccount", NS, "agentfence-agent")])
        # a ServiceAccount that cannot be stored: no agent of the namespace is sent
        self.setUp()
        self.fault(action="403", always=True, method="PATCH", path="/serviceaccounts/")
        rc, out, err = self.apply()
        self.assertEqual(rc, 3, err)
        self.assertIn("none of its agents is", err)
        self.assertFalse([k for k in self.objects() if k[0] == "Pod"])

    def test_invalid_spec_sends_nothing(self):
        bad = self.write("bad.yaml", spec("job-ok", "public") + "---\n" +
                         spec("job-bad", "allowlist").replace("140.82.112.0/20", "10.0.0.0/8"))
        rc, out, err = self.run_af("apply", bad)
        self.assertEqual(rc, 1, err)
        self.assertIn("nothing sent", err)
        self.assertEqual(out, "")
        self.assertEqual(self.log(), [])

    def test_dry_run_writes_nothing(self):
        rc, out, err = self.apply("--dry-run")
        self.assertEqual(rc, 0, err)
        self.assertEqual(self.objects(sa=True), {})
        # the Pods cannot be checked: the ServiceAccount they run as is not
        # stored (a real server's admission would refuse them)
        self.assertEqual(len(out.splitlines()), 6)
        self.assertTrue(all(l.endswith(" created (server dry run)") for l in out.splitlines()))
        self.assertEqual(err.count("not checked: the ServiceAccount it runs as does not exist "
                                   "yet"), 4, err)
        self.assertFalse([e for e in self.log() if e.get("kind") == "Pod" and e.get("name")])
        for e in self.log()[1:]:
            if e["method"] != "GET":
                self.assertIn("dryRun=All", e["query"])
                self.assertTrue(e.get("dry_run"), e)
        # a dry run takes no lease: it writes nothing
        self.assertFalse([e for e in self.log() if e.get("kind") == "Lease"])
        # on an applied cluster: the state stays byte for byte
        self.assertEqual(self.apply()[0], 0)
        before = self.ctl("GET", "/state")["objects"]
        # a changed policy, a changed Pod (recreated), two agents pruned: on paper only
        rc, out, err = self.run_af("apply", "--dry-run", "--prune", "--recreate",
                                   self.write("two.yaml", specs({"job-none": "public"}).replace(
                                       "  egress:", "  args: [--v2]\n  egress:")))
        self.assertEqual(rc, 0, err)
        self.assertEqual(self.ctl("GET", "/state")["objects"], before)
        self.assertIn("networkpolicy/isolate-job-none configured (server dry run)", out)
        self.assertIn("pod/job-none deleted (server dry run)", out)
        self.assertIn("pod/job-public deleted (server dry run)", out)
        self.assertIn("networkpolicy/isolate-job-gw deleted (server dry run)", out)
        rc, out, err = self.run_af("delete", "--dry-run", self.spec)
        self.assertEqual(rc, 0, err)
        self.assertEqual(self.ctl("GET", "/state")["objects"], before)

    def test_cilium_missing_gateway_fails_others_applied(self):
        self.ctl("POST", "/config", {"cilium_installed": False})
        rc, out, err = self.apply()
        self.assertEqual(rc, 3, err)
        objs = self.objects()
        for name in ("job-none", "job-public", "job-allow"):
            self.assertIn(("Pod", NS, name), objs)
        self.assertNotIn(("Pod", NS, "job-gw"), objs)
        self.assertIn("CiliumEgressGatewayPolicy CRD (cilium.io/v2) is not installed", err)
        self.assertIn("agent agents/job-gw failed", err)
        self.assertIn("3 applied, 1 failed", err)
        self.assertIsolated()

    def weaken(self, name):
        """Another writer changes the agent's NetworkPolicy: the next apply writes it."""
        self.seed({"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
                   "metadata": {"name": "isolate-" + name, "namespace": NS,
                                "labels": {"app.kubernetes.io/managed-by": "agentfence",
                                           "agentfence.dev/job-id": name}},
                   "spec": {"podSelector": {}}})

    def test_existing_pod_of_failing_agent_is_deleted(self):
        self.assertEqual(self.apply()[0], 0)
        self.weaken("job-public")
        self.ctl("POST", "/config", {"cilium_installed": False})
        self.fault(action="403", always=True, method="PATCH", path="isolate-job-public$")
        rc, out, err = self.apply()
        self.assertEqual(rc, 3, err)
        objs = self.objects()
        self.assertNotIn(("Pod", NS, "job-gw"), objs)
        self.assertNotIn(("Pod", NS, "job-public"), objs)
        self.assertIn(("Pod", NS, "job-none"), objs)
        self.assertIn("pod/job-gw deleted", out)
        self.assertIn("pod/job-public deleted", out)
        self.assertIn("so its Pod was deleted", err)
        self.assertIn("lack permission", err)

    def test_failing_agent_pod_waited_for_with_wait(self):
        self.assertEqual(self.apply()[0], 0)
        self.weaken("job-none")
        self.ctl("POST", "/config", {"pod_delete_grace_gets": 2})
        self.fault(action="403", always=True, method="PATCH", path="isolate-job-none$")
        rc, out, err = self.apply("--wait")
        self.assertEqual(rc, 3, err)
        self.assertNotIn(("Pod", NS, "job-none"), self.objects())
        gets = [e for e in self.log() if e["method"] == "GET" and e.get("name") == "job-none"]
        self.assertEqual([e["status"] for e in gets], [200, 200, 404])

    def test_missing_namespace(self):
        self.spec = self.write("ns.yaml", specs({"job-lost": "public"}, ns="nowhere"))
        rc, out, err = self.apply()
        self.assertEqual(rc, 3, err)
        self.assertIn('namespaces "nowhere" not found', err)
        self.assertIn('namespace "nowhere" does not exist: create it (kubectl create namespace '
                      'nowhere)', err)
        self.assertEqual(self.objects(), {})
        self.assertFalse([e for e in self.log() if e.get("kind") == "Pod" and
                          e["method"] == "PATCH"])

    def test_missing_runtimeclass(self):
        self.spec = self.write("rc.yaml", specs({"job-rc": "public"}).replace(
            "  image:", "  runtimeClassName: kata-qemu\n  image:"))
        rc, out, err = self.apply()
        self.assertEqual(rc, 3, err)
        self.assertIn('pod rejected: RuntimeClass "kata-qemu" not found', err)
        self.assertIn('RuntimeClass "kata-qemu" does not exist on this cluster', err)
        self.assertIn("kubectl get runtimeclass", err)
        objs = self.objects()
        self.assertIn(("NetworkPolicy", NS, "isolate-job-rc"), objs)
        self.assertNotIn(("Pod", NS, "job-rc"), objs)

    def test_changed_pod_reported_and_left(self):
        self.assertEqual(self.apply()[0], 0)
        uid = self.objects()[("Pod", NS, "job-public")]["metadata"]["uid"]
        self.spec = self.write("v2.yaml", specs().replace(
            "  egress: {mode: public}", "  args: [--v2]\n  egress: {mode: public}"))
        rc, out, err = self.apply()
        self.assertEqual(rc, 3, err)
        self.assertIn("spec cannot change in place", err)
        self.assertIn("--recreate", err)
        pod = self.objects()[("Pod", NS, "job-public")]
        self.assertEqual(pod["metadata"]["uid"], uid)
        self.assertNotIn("args", pod["spec"]["containers"][0])
        self.assertIn("3 applied, 1 failed", err)

    def test_recreate_replaces_changed_pod(self):
        self.assertEqual(self.apply()[0], 0)
        self.ctl("POST", "/config", {"pod_delete_grace_gets": 1})
        uid = self.objects()[("Pod", NS, "job-public")]["metadata"]["uid"]
        self.spec = self.write("v2.yaml", specs().replace(
            "  egress: {mode: public}", "  args: [--v2]\n  egress: {mode: public}"))
        rc, out, err = self.apply("--recreate")
        self.assertEqual(rc, 0, err)
        self.assertIn("pod/job-public deleted", out)
        self.assertIn("pod/job-public created", out)
        pod = self.objects()[("Pod", NS, "job-public")]
        self.assertNotEqual(pod["metadata"]["uid"], uid)
        self.assertEqual(pod["spec"]["containers"][0]["args"], ["--v2"])
        # deleted, seen gone, then created
        ev = [(e["method"], e["status"]) for e in self.log()
              if e.get("name") == "job-public" and e["seq"] > APPLY_REQUESTS]
        self.assertEqual(ev, [("PATCH", 422), ("DELETE", 200), ("GET", 200), ("GET", 404),
                              ("PATCH", 201)])
        self.assertIsolated()

    def test_prune_removes_pods_before_policies(self):
        self.assertEqual(self.apply()[0], 0)
        # an agentfence object in a namespace the specs do not name: untouched
        self.seed({"apiVersion": "v1", "kind": "Pod",
                   "metadata": {"name": "job-elsewhere", "namespace": "default",
                                "labels": {"app.kubernetes.io/managed-by": "agentfence",
                                           "agentfence.dev/job-id": "job-elsewhere"}},
                   "spec": {"containers": [{"name": "a", "image": "x:1"}]}})
        # something not managed by agentfence in the same namespace: untouched
        self.seed({"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
                   "metadata": {"name": "someone-else", "namespace": NS,
                                "labels": {"agentfence.dev/job-id": "job-gw"}},
                   "spec": {"podSelector": {}}})
        self.ctl("POST", "/config", {"pod_delete_grace_gets": 2})
        keep = {"job-none": "none", "job-allow": "allowlist"}
        self.spec = self.write("keep.yaml", specs(keep))
        rc, out, err = self.apply("--prune")
        self.assertEqual(rc, 0, err)
        objs = self.objects()
        for name in ("job-public", "job-gw"):
            self.assertNotIn(("Pod", NS, name), objs)
            self.assertNotIn(("NetworkPolicy", NS, "isolate-" + name), objs)
        self.assertNotIn(("CiliumEgressGatewayPolicy", "", "egress-agents.job-gw"), objs)
        for name in keep:
            self.assertIn(("Pod", NS, name), objs)
        self.assertIn(("Pod", "default", "job-elsewhere"), objs)
        self.assertIn(("NetworkPolicy", NS, "someone-else"), objs)
        self.assertIn("2 pruned", err)
        self.assertIn("ciliumegressgatewaypolicy/egress-agents.job-gw deleted", out)
        self.assertPodsGoneFirst()
        lists = [e for e in self.log() if e["method"] == "GET" and not e.get("name")
                 and e["path"] != "/version" and "kind" in e and e["seq"] > APPLY_REQUESTS]
        # before the apply, what is live (Pods, NetworkPolicies); the prune's
        # (Pods, NetworkPolicies, CiliumNetworkPolicies, ClusterNetworkPolicies,
        # CEGPs); before the policies of each pruned agent go, its Pods
        self.assertEqual(sorted(e["kind"] for e in lists),
                         ["CiliumEgressGatewayPolicy", "CiliumNetworkPolicy",
                          "ClusterNetworkPolicy", "NetworkPolicy", "NetworkPolicy"] + ["Pod"] * 4 +
                         ["ServiceAccount"])
        self.assertTrue(all("labelSelector=app.kubernetes.io%2Fmanaged-by%3Dagentfence" in e["query"]
                            for e in lists), lists)

    def test_prune_skips_namespace_it_cannot_list(self):
        self.assertEqual(self.apply()[0], 0)
        self.fault(action="403", always=True, method="GET", path="/pods$")
        self.spec = self.write("keep.yaml", specs({"job-none": "none"}))
        rc, out, err = self.apply("--prune")
        self.assertEqual(rc, 3, err)
        self.assertEqual(len([k for k in self.objects() if k[0] == "Pod"]), 4)
        self.assertIn("so it was not pruned", err)

    def test_delete_pods_before_policies(self):
        self.assertEqual(self.apply()[0], 0)
        self.ctl("POST", "/config", {"pod_delete_grace_gets": 2})
        rc, out, err = self.run_af("delete", self.spec)
        self.assertEqual(rc, 0, err)
        self.assertEqual(self.objects(), {})
        self.assertEqual(len(out.splitlines()), 9)   # the ServiceAccount is kept
        self.assertIn(("ServiceAccount", NS, "agentfence-agent"), self.objects(sa=True))
        self.assertIn("4 agents: 4 deleted, 0 failed", err)
        self.assertPodsGoneFirst()
        # deleting again: nothing there, nothing to say
        rc, out, err = self.run_af("delete", self.spec)
        self.assertEqual((rc, out), (0, ""), err)

    def test_request_counts(self):
        """The fault sweeps below cover every request: APPLY_REQUESTS for an
        apply, DELETE_REQUESTS for a delete."""
        self.assertEqual(self.apply()[0], 0)
        self.assertEqual(len(self.log()), APPLY_REQUESTS)
        self.assertEqual(self.run_af("delete", self.spec)[0], 0)
        log = self.log()[APPLY_REQUESTS:]
        self.assertEqual(len(log), DELETE_REQUESTS)
        self.assertEqual(sorted(e["path"] for e in log if "kind" not in e),
                         ["/apis/cilium.io/v2", "/apis/policy.networking.k8s.io/v1alpha2",
                          "/version"])
        self.assertEqual(sorted(e["kind"] for e in log if e["method"] == "DELETE"
                                and e.get("name") == "isolate-job-gw"),
                         ["CiliumNetworkPolicy", "NetworkPolicy"])
        # each Pod read (the uid it is deleted with), polled until gone; then
        # a list of the agent's Pods before its policies go
        self.assertEqual(sum(bool(e["method"] == "GET" and e.get("kind") == "Pod" and e.get("name"))
                             for e in log), 8)
        self.assertEqual(sum(bool(e["method"] == "GET" and e.get("kind") == "Pod" and not e.get("name"))
                             for e in log), 4)
        pod_deletes = [e for e in log if e["method"] == "DELETE" and e.get("kind") == "Pod"]
        self.assertEqual(len(pod_deletes), 4)
        self.assertTrue(all(e["content_type"] == "application/json" for e in pod_deletes))

    def test_delete_keeps_policies_of_pod_that_does_not_go(self):
        self.assertEqual(self.apply()[0], 0)
        self.ctl("POST", "/config", {"pod_delete_grace_gets": 100000})
        rc, out, err = self.run_af("delete", "--timeout", "1s", self.spec)
        self.assertEqual(rc, 3, err)
        self.assertIn("still terminating after 1 s", err)
        self.assertIn("its policies were kept", err)
        objs = self.objects()
        for name in MODES:
            self.assertIn(("NetworkPolicy", NS, "isolate-" + name), objs)

    def test_retry_after_is_honoured(self):
        self.fault(action="429", nth=2, retry_after=2)
        t0 = time.monotonic()
        rc, out, err = self.apply()
        self.assertEqual(rc, 0, err)
        self.assertGreaterEqual(time.monotonic() - t0, 2.0)
        self.assertIsolated()

    def test_text_429_and_503_are_retried(self):
        self.fault(action="429text", nth=3, retry_after=0)
        self.fault(action="503", nth=6)
        rc, out, err = self.apply()
        self.assertEqual(rc, 0, err)
        self.assertIsolated()

    def test_server_down_fails_clearly(self):
        self.fault(action="reset", always=True)
        rc, out, err = self.apply()
        self.assertEqual(rc, 3, err)
        self.assertIn("cannot connect to the API server", err)
        self.assertIn("nothing applied", err)


def _fault_test(action, nth):
    def test(self):
        rule = {"action": action, "nth": nth}
        args = []
        if action == "hang":
            rule["hang_max"] = 5
            args = ["--request-timeout", "500ms"]
        if action == "429":
            rule["retry_after"] = 1
        self.fault(**rule)
        rc, out, err = self.apply(*args)
        fired = [e for e in self.log() if e.get("fault")]
        self.assertIsolated()
        objs = self.objects()
        pods = {k[2] for k in objs if k[0] == "Pod"}
        hit = fired[0] if fired else {}
        lease_release = hit.get("kind") == "Lease" and hit["method"] == "DELETE"
        live_list = hit.get("method") == "GET" and hit.get("kind") and not hit.get("name")
        if action == "403" and fired and not lease_release and not live_list:
            self.assertEqual(rc, 3, err)
            if hit["path"] == "/version" or hit.get("kind") == "Lease":
                # no lease, nothing written
                self.assertEqual(objs, {})
            elif hit["kind"] == "ServiceAccount":
                # the namespace's guard: none of its agents is applied
                self.assertEqual(pods, set())
                self.assertIn("none of its agents is", err)
            else:
                job = hit["name"]
                job = job[len("isolate-"):] if job.startswith("isolate-") else job
                job = job.split(".", 1)[1] if job.startswith("egress-") else job
                self.assertEqual(pods, set(MODES) - {job})
                self.assertIn(f"agent agents/{job} failed", err)
        else:
            # everything else is retried (a list that cannot be read: its
            # objects are written; a lease not released: it expires)
            self.assertEqual(rc, 0, err)
            self.assertEqual(pods, set(MODES))
    return test


# A clean apply of the four agents makes APPLY_REQUESTS requests
# (test_apply_all_modes checks that); a delete DELETE_REQUESTS
# (test_request_counts): GET /version, the lease (GET, POST, then DELETE),
# 2 discovery GETs (the CRD groups), per agent its Pod read, deleted and
# read until gone (12), a list of its Pods (4), and 16 policy DELETEs (a
# NetworkPolicy, a CiliumNetworkPolicy, a ClusterNetworkPolicy and an
# egress policy name per agent).
APPLY_REQUESTS = 23
DELETE_REQUESTS = 38

# One test per fault kind and request index: every request and one past the end.
for _action in ("500", "403", "429", "reset", "hang", "timeout"):
    for _n in range(1, APPLY_REQUESTS + 2):
        setattr(ApplyTest, f"test_fault_{_action}_at_request_{_n:02d}", _fault_test(_action, _n))


# the discovery documents delete and prune read (a 403 there is not an error:
# every kind is then asked for)
DISCOVERY = ("/apis/cilium.io/v2", "/apis/policy.networking.k8s.io/v1alpha2")


def _delete_fault_test(action, nth):
    def test(self):
        self.assertEqual(self.apply()[0], 0)
        self.fault(action=action, nth=nth)   # counts from here on
        rc, out, err = self.run_af("delete", self.spec)
        fired = [e for e in self.log() if e.get("fault")]
        self.assertPodsGoneFirst()
        objs = self.objects()
        for name, mode in MODES.items():
            if ("Pod", NS, name) in objs:
                self.assertIn(("NetworkPolicy", NS, "isolate-" + name), objs)
        if fired and action == "403" and fired[0]["path"] not in DISCOVERY and \
                not (fired[0].get("kind") == "Lease" and fired[0]["method"] == "DELETE"):
            self.assertEqual(rc, 3, err)
        else:
            # a discovery document that cannot be read: every kind is asked
            # for; a lease that cannot be released expires
            self.assertEqual((rc, objs), (0, {}), err)
    return test


for _action in ("403", "reset"):
    for _n in range(1, DELETE_REQUESTS + 2):
        setattr(ApplyTest, f"test_delete_fault_{_action}_at_request_{_n:02d}",
                _delete_fault_test(_action, _n))


# --- enforcement cilium and clusternetworkpolicy: per-agent policies and guards ---

PROFILES = {
    "cilium": "spec: {enforcement: cilium}\n",
    "clusternetworkpolicy": "spec: {enforcement: clusternetworkpolicy}\n",
    "networkpolicy": "spec: {enforcement: networkpolicy}\n",
}
def SA(ns):
    """The agents' ServiceAccount: the first guard object of every namespace."""
    return ("ServiceAccount", ns, "agentfence-agent")


GUARDS = {  # (kind, name) of a namespace's cluster-scoped guard objects
    "cilium": [("CiliumClusterwideNetworkPolicy", "agentfence-guard.{ns}")],
    "clusternetworkpolicy": [("ClusterNetworkPolicy", "agentfence-guard-egress.{ns}"),
                             ("ClusterNetworkPolicy", "agentfence-guard-ingress.{ns}")],
}


def agent_policies(enf, ns, name, mode):
    """The objects an agent's Pod needs stored before it may run: its own
    policies and its namespace's guard."""
    need = {"cilium": [("CiliumNetworkPolicy", ns, "isolate-" + name)],
            "clusternetworkpolicy": [("NetworkPolicy", ns, "isolate-" + name)],
            "networkpolicy": [("NetworkPolicy", ns, "isolate-" + name)]}[enf]
    if enf == "clusternetworkpolicy" and mode != "public":
        # an agent with any rule (public has none: the guard is its fence)
        need.append(("ClusterNetworkPolicy", "", f"isolate-{ns}.{name}"))
    if mode == "gateway":
        need.append(("CiliumEgressGatewayPolicy", "", f"egress-{ns}.{name}"))
    guard = [SA(ns)] + [(k, "", n.format(ns=ns)) for k, n in GUARDS.get(enf, [])]
    return need, guard


class EnforcementTest(Base):
    def profile(self, enf):
        return self.write(f"profile-{enf}.yaml", "apiVersion: agentfence.dev/v1alpha1\n"
                          "kind: ClusterProfile\nmetadata: {name: p}\n" + PROFILES[enf])

    def apply_enf(self, enf, *args, spec=None):
        return self.run_af("apply", "--cluster", self.profile(enf), *args, spec or self.spec)

    def writes(self):
        return sorted((e["write"] for e in self.log() if "write_seq" in e.get("write", {})),
                      key=lambda w: w["write_seq"])

    def assertFenced(self, enf, agents=MODES, ns=NS):
        """No Pod without its policies and its namespace's guard, now or at
        any write; no object of an agent written before the guard was stored."""
        objs = self.objects(sa=True)
        stored = {}
        guard_kinds = {k for k, _ in GUARDS.get(enf, [])}
        for w in self.writes():
            key = (w["kind"], w["namespace"], w["name"])
            if w["op"] in ("delete", "delete-graceful"):
                stored.pop(key, None)
                continue
            stored[key] = w["write_seq"]
            if w["name"].startswith("agentfence-guard") or key[0] == "ServiceAccount":
                continue
            if key[0] == "Pod":
                name = key[2]
            elif key[0] in guard_kinds | {"CiliumNetworkPolicy", "NetworkPolicy",
                                         "CiliumEgressGatewayPolicy"}:
                name = agent_of(key[0], key[1] or ns, key[2])[1]
            else:
                continue
            if name not in agents:
                continue
            need, guard = agent_policies(enf, ns, name, agents[name])
            for k in guard:
                self.assertIn(k, stored, f"{key} written at write_seq {w['write_seq']} before "
                              f"the guard {k}; {self.last}")
            if key[0] == "Pod" and w["op"] in ("create", "update"):
                for k in need:
                    self.assertIn(k, stored, f"Pod {name} written before {k}; {self.last}")
        for name, mode in agents.items():
            if ("Pod", ns, name) in objs:
                need, guard = agent_policies(enf, ns, name, mode)
                for k in need + guard:
                    self.assertIn(k, objs, f"Pod {name} exists without {k}; {self.last}")

    def test_cilium_apply(self):
        rc, out, err = self.apply_enf("cilium")
        self.assertEqual(rc, 0, err)
        lines = out.splitlines()
        self.assertEqual(sorted(lines[:2]), ["ciliumclusterwidenetworkpolicy/agentfence-guard.agents created",
                                             "serviceaccount/agentfence-agent created"])
        self.assertEqual(sorted(lines[2:]), sorted(
            [f"ciliumnetworkpolicy/isolate-{n} created" for n in MODES] +
            [f"pod/{n} created" for n in MODES] +
            ["ciliumegressgatewaypolicy/egress-agents.job-gw created"]))
        self.assertFenced("cilium")
        objs = self.objects()
        self.assertFalse([k for k in objs if k[0] == "NetworkPolicy"])
        labels = objs[("CiliumClusterwideNetworkPolicy", "", "agentfence-guard.agents")][
            "metadata"]["labels"]
        self.assertEqual(labels, {"app.kubernetes.io/managed-by": "agentfence",
                                  "agentfence.dev/namespace": NS, "agentfence.dev/guard": "true"})
        self.assertEqual(objs[("CiliumNetworkPolicy", NS, "isolate-job-gw")]["metadata"]["labels"]
                         ["agentfence.dev/job-id"], "job-gw")
        # the guard's write ends before any agent object's request starts
        log = self.log()
        guard = [e for e in log if e.get("name", "").startswith("agentfence-guard")]
        self.assertEqual([(e["method"], e["status"]) for e in guard], [("PATCH", 201)])
        # (but the lists of what is live, read first)
        self.assertTrue(all(e["seq"] > guard[0]["seq"] for e in log if e.get("kind") in
                            ("Pod", "CiliumNetworkPolicy", "CiliumEgressGatewayPolicy")
                            and e.get("name")))
        self.assertEqual(len(log), ENF_APPLY_REQUESTS["cilium"])   # the fault sweep relies on it
        # again: every object unchanged, nothing sent but the lists
        rc, out, err = self.apply_enf("cilium")
        self.assertEqual(rc, 0, err)
        self.assertTrue(all(l.endswith(" unchanged") for l in out.splitlines()), out)
        self.assertEqual(len(out.splitlines()), 11)
        self.assertFalse([e for e in self.log()[len(log):] if e["method"] == "PATCH"])

    def test_clusternetworkpolicy_apply(self):
        rc, out, err = self.apply_enf("clusternetworkpolicy")
        self.assertEqual(rc, 0, err)
        lines = out.splitlines()
        self.assertEqual(sorted(lines[:3]), [
            "clusternetworkpolicy/agentfence-guard-egress.agents created",
            "clusternetworkpolicy/agentfence-guard-ingress.agents created",
            "serviceaccount/agentfence-agent created"])
        self.assertEqual(sorted(lines[3:]), sorted(
            [f"networkpolicy/isolate-{n} created" for n in MODES] +
            [f"clusternetworkpolicy/isolate-agents.{n} created" for n in MODES
             if n != "job-public"] +
            [f"pod/{n} created" for n in MODES] +
            ["ciliumegressgatewaypolicy/egress-agents.job-gw created"]))
        self.assertFenced("clusternetworkpolicy")
        cnp = self.objects()[("ClusterNetworkPolicy", "", "isolate-agents.job-allow")]
        self.assertEqual(cnp["metadata"]["labels"]["agentfence.dev/namespace"], NS)
        self.assertEqual(cnp["metadata"]["labels"]["agentfence.dev/job-id"], "job-allow")
        self.assertEqual(len(self.log()), ENF_APPLY_REQUESTS["clusternetworkpolicy"])

    ADMISSION = ("  admission:\n    writers:\n"
                 "    - system:serviceaccount:argocd:argocd-application-controller\n")

    def apply_admission(self, enf, *args):
        path = self.write(f"profile-adm-{enf}.yaml", "apiVersion: agentfence.dev/v1alpha1\n"
                          "kind: ClusterProfile\nmetadata: {name: p}\n"
                          f"spec:\n  enforcement: {enf}\n" + self.ADMISSION)
        return self.run_af("apply", "--cluster", path, *args, self.spec)

    def test_admission_guard_before_every_agent_object(self):
        """With spec.admission, the ValidatingAdmissionPolicy and its binding
        are stored before any object of the namespace's agents is sent, with
        networkpolicy enforcement (no other guard) as with cilium."""
        adm = [("ValidatingAdmissionPolicy", "", "agentfence-admission.agents"),
               ("ValidatingAdmissionPolicyBinding", "", "agentfence-admission.agents")]
        for enf in ("networkpolicy", "cilium"):
            with self.subTest(enf):
                self.setUp()
                rc, out, err = self.apply_admission(enf)
                self.assertEqual(rc, 0, err)
                lines = out.splitlines()
                nguard = 4 if enf == "cilium" else 3
                self.assertEqual(sorted(lines[:nguard]), sorted(
                    ["serviceaccount/agentfence-agent created",
                     "validatingadmissionpolicy/agentfence-admission.agents created",
                     "validatingadmissionpolicybinding/agentfence-admission.agents created"] +
                    (["ciliumclusterwidenetworkpolicy/agentfence-guard.agents created"]
                     if enf == "cilium" else [])))
                self.assertEqual(len(lines), nguard + 9, out)
                objs = self.objects()
                for k in adm:
                    self.assertIn(k, objs)
                    self.assertEqual(objs[k]["metadata"]["labels"]["agentfence.dev/guard"], "true")
                self.assertEqual(objs[adm[1]]["spec"]["policyName"], "agentfence-admission.agents")
                self.assertEqual(objs[adm[1]]["spec"]["matchResources"]["namespaceSelector"],
                                 {"matchLabels": {"kubernetes.io/metadata.name": NS}})
                log = self.log()
                stored = [e for e in log if e.get("kind", "").startswith("ValidatingAdmission")
                          and e["method"] == "PATCH"]
                self.assertEqual(sorted((e["method"], e["status"]) for e in stored),
                                 [("PATCH", 201), ("PATCH", 201)])
                last = max(e["seq"] for e in stored)
                agent = [e for e in log if e.get("kind") in
                         ("Pod", "NetworkPolicy", "CiliumNetworkPolicy", "CiliumEgressGatewayPolicy")
                         and e["method"] == "PATCH"]
                self.assertEqual(len(agent), 9)
                self.assertTrue(all(e["seq"] > last for e in agent), log)
                self.assertFenced(enf)
                # again: unchanged, and delete leaves the guard in place
                rc, out, err = self.apply_admission(enf)
                self.assertEqual(rc, 0, err)
                self.assertTrue(all(l.endswith(" unchanged") for l in out.splitlines()), out)
                rc, out, err = self.run_af("delete", self.spec)
                self.assertEqual(rc, 0, err)
                objs = self.objects()
                self.assertFalse([k for k in objs if k[0] == "Pod"])
                for k in adm:
                    self.assertIn(k, objs)

    def test_admission_guard_refused_sends_no_agent_object(self):
        """A server that refuses the policy (a cluster before 1.30 has no
        admissionregistration.k8s.io/v1 policies) gets no agent object."""
        self.fault(action="403", always=True, method="PATCH",
                   path="validatingadmissionpolicies/")
        rc, out, err = self.apply_admission("networkpolicy")
        self.assertEqual(rc, 3, err)
        self.assertIn("the guard of the namespace could not be applied", err)
        for n in MODES:
            self.assertIn(f"agent agents/{n} failed: its namespace's guard could not "
                          "be applied, so its Pod was not created", err)
        self.assertFalse([k for k in self.objects() if k[0] != "ValidatingAdmissionPolicyBinding"])
        self.assertFalse([e for e in self.log() if e["method"] == "PATCH" and
                          "/agentfence-admission" not in e["path"] and
                          e.get("kind") != "ServiceAccount"])

    def test_guards_of_every_namespace_first(self):
        two = specs({"job-a": "public", "job-b": "none"}) + "---\n" + \
            specs({"job-c": "allowlist"}, ns="default")
        rc, out, err = self.apply_enf("cilium", spec=self.write("two.yaml", two))
        self.assertEqual(rc, 0, err)
        log = self.log()
        guards = [e for e in log if e.get("name", "").startswith("agentfence-guard")]
        self.assertEqual(sorted(e["name"] for e in guards),
                         ["agentfence-guard.agents", "agentfence-guard.default"])
        last = max(e["seq"] for e in guards)
        self.assertTrue(all(e["seq"] > last for e in log
                            if e.get("kind") in ("Pod", "CiliumNetworkPolicy") and e.get("name")))
        self.assertFenced("cilium", {"job-a": "public", "job-b": "none"})
        self.assertFenced("cilium", {"job-c": "allowlist"}, ns="default")

    def test_guard_crd_missing_sends_no_agent_object(self):
        for enf, crd, text in (
                ("cilium", "ciliumclusterwidenetworkpolicies",
                 "the CiliumClusterwideNetworkPolicy CRD (cilium.io/v2) is not installed: "
                 "install Cilium"),
                ("clusternetworkpolicy", "clusternetworkpolicies",
                 "the ClusterNetworkPolicy CRD (policy.networking.k8s.io/v1alpha2) is not "
                 "installed: install the experimental-channel CRDs of "
                 "kubernetes-sigs/network-policy-api v0.2.0")):
            with self.subTest(enf):
                self.setUp()
                self.ctl("POST", "/config", {"crds_missing": [crd]})
                rc, out, err = self.apply_enf(enf)
                self.assertEqual(rc, 3, err)
                self.assertIn(text, err)
                self.assertIn("the guard of the namespace could not be applied", err)
                self.assertIn("4 applied", err.replace("0 applied, 4 failed", "4 applied"))
                for n in MODES:
                    self.assertIn(f"agent agents/{n} failed: its namespace's guard could not "
                                  "be applied, so its Pod was not created", err)
                self.assertEqual(self.objects(), {})
                # nothing of an agent is sent (but the DELETE of a Pod it may have)
                self.assertFalse([e for e in self.log() if e["method"] == "PATCH" and
                                  "/agentfence-guard" not in e["path"] and
                                  e.get("kind") != "ServiceAccount"])
                self.assertEqual({e["method"] for e in self.log() if e.get("kind") == "Pod"
                                  and e.get("name")}, {"DELETE"})

    def test_agent_crd_missing(self):
        # a CiliumNetworkPolicy CRD missing, the clusterwide one present: the
        # guard is stored, every agent fails on its own policy
        self.ctl("POST", "/config", {"crds_missing": ["ciliumnetworkpolicies"]})
        rc, out, err = self.apply_enf("cilium")
        self.assertEqual(rc, 3, err)
        self.assertIn("the CiliumNetworkPolicy CRD (cilium.io/v2) is not installed", err)
        self.assertIn("0 applied, 4 failed", err)
        kinds = {k[0] for k in self.objects()}
        self.assertIn("CiliumClusterwideNetworkPolicy", kinds)
        self.assertFalse(kinds & {"Pod", "CiliumNetworkPolicy"})

    def test_guard_failure_deletes_existing_pods(self):
        self.assertEqual(self.apply_enf("cilium")[0], 0)
        # another writer changed the guard: the next apply writes it
        self.seed({"apiVersion": "cilium.io/v2", "kind": "CiliumClusterwideNetworkPolicy",
                   "metadata": {"name": "agentfence-guard.agents",
                                "labels": {"app.kubernetes.io/managed-by": "agentfence",
                                           "agentfence.dev/namespace": NS,
                                           "agentfence.dev/guard": "true"}},
                   "spec": {"endpointSelector": {}}})
        self.fault(action="403", always=True, method="PATCH", path="agentfence-guard")
        rc, out, err = self.apply_enf("cilium")
        self.assertEqual(rc, 3, err)
        self.assertIn("lack permission", err)
        self.assertFalse([k for k in self.objects() if k[0] == "Pod"])
        for n in MODES:
            self.assertIn(f"pod/{n} deleted", out)
            self.assertIn(f"agent agents/{n} failed: its namespace's guard could not be "
                          "applied, so its Pod was deleted", err)
        self.assertFenced("cilium")

    def test_delete_leaves_guards(self):
        for enf in ("cilium", "clusternetworkpolicy"):
            with self.subTest(enf):
                self.setUp()
                self.assertEqual(self.apply_enf(enf)[0], 0)
                self.ctl("POST", "/config", {"pod_delete_grace_gets": 1})
                rc, out, err = self.run_af("delete", "--cluster", self.profile(enf), self.spec)
                self.assertEqual(rc, 0, err)
                self.assertIn("4 agents: 4 deleted, 0 failed", err)
                self.assertEqual(sorted(self.objects()),
                                 sorted((k, "", n.format(ns=NS)) for k, n in GUARDS[enf]))
                self.assertNotIn("agentfence-guard", out)
                self.assertFalse([e for e in self.log() if e["method"] == "DELETE" and
                                  "agentfence-guard" in e["path"]])
                self.assertPodsGoneFirst()

    def test_delete_finds_objects_of_another_enforcement(self):
        # applied with cilium, deleted with a profile that says networkpolicy:
        # the CiliumNetworkPolicies go too (by name), the guard stays
        self.assertEqual(self.apply_enf("cilium")[0], 0)
        rc, out, err = self.run_af("delete", "--cluster", self.profile("networkpolicy"),
                                   self.spec)
        self.assertEqual(rc, 0, err)
        self.assertEqual(list(self.objects()),
                         [("CiliumClusterwideNetworkPolicy", "", "agentfence-guard.agents")])
        self.assertIn("ciliumnetworkpolicy/isolate-job-none deleted", out)
        self.assertPodsGoneFirst()

    def test_delete_asks_only_for_installed_kinds(self):
        self.spec = self.write("three.yaml", specs({"job-none": "none", "job-public": "public"}))
        self.assertEqual(self.apply()[0], 0)   # networkpolicy enforcement
        self.ctl("POST", "/config", {"cilium_installed": False,
                                     "crds_missing": ["clusternetworkpolicies"]})
        rc, out, err = self.run_af("delete", self.spec)
        self.assertEqual(rc, 0, err)
        self.assertEqual(self.objects(), {})
        deletes = {e["kind"] for e in self.log() if e["method"] == "DELETE" and e["kind"] != "Lease"}
        self.assertEqual(deletes, {"Pod", "NetworkPolicy"})

    def test_prune_keeps_guards_and_takes_other_kinds(self):
        self.assertEqual(self.apply_enf("clusternetworkpolicy")[0], 0)
        keep = {"job-none": "none", "job-allow": "allowlist"}
        rc, out, err = self.apply_enf("clusternetworkpolicy", "--prune",
                                      spec=self.write("keep.yaml", specs(keep)))
        self.assertEqual(rc, 0, err)
        self.assertIn("2 pruned", err)
        objs = self.objects()
        for n in ("job-public", "job-gw"):
            self.assertNotIn(("ClusterNetworkPolicy", "", f"isolate-agents.{n}"), objs)
            self.assertNotIn(("Pod", NS, n), objs)
        for k, n in GUARDS["clusternetworkpolicy"]:
            self.assertIn((k, "", n.format(ns=NS)), objs)
        self.assertFenced("clusternetworkpolicy", keep)
        self.assertPodsGoneFirst()
        # now with cilium: the agents' NetworkPolicies and ClusterNetworkPolicies
        # go once their Pods run under the new policies; no guard is removed
        rc, out, err = self.apply_enf("cilium", "--prune", spec=self.write("keep.yaml",
                                                                             specs(keep)))
        self.assertEqual(rc, 0, err)
        self.assertEqual(sorted(k for k in self.objects() if k[0] != "Pod"), sorted(
            [("CiliumClusterwideNetworkPolicy", "", "agentfence-guard.agents")] +
            [(k, "", n.format(ns=NS)) for k, n in GUARDS["clusternetworkpolicy"]] +
            [("CiliumNetworkPolicy", NS, "isolate-" + n) for n in keep]))

    def test_prune_never_takes_a_guard_labelled_object(self):
        self.assertEqual(self.apply_enf("cilium")[0], 0)
        # even one that also carries a pruned agent's job label
        self.seed({"apiVersion": "policy.networking.k8s.io/v1alpha2",
                   "kind": "ClusterNetworkPolicy",
                   "metadata": {"name": "agentfence-guard-egress.agents",
                                "labels": {"app.kubernetes.io/managed-by": "agentfence",
                                           "agentfence.dev/namespace": NS,
                                           "agentfence.dev/guard": "true",
                                           "agentfence.dev/job-id": "job-gw"}},
                   "spec": {"tier": "Admin", "priority": 100,
                            "subject": {"namespaces": {}}}})
        rc, out, err = self.apply_enf("cilium", "--prune", spec=self.write(
            "keep.yaml", specs({"job-none": "none"})))
        self.assertEqual(rc, 0, err)
        self.assertIn("3 pruned", err)
        objs = self.objects()
        self.assertIn(("ClusterNetworkPolicy", "", "agentfence-guard-egress.agents"), objs)
        self.assertIn(("CiliumClusterwideNetworkPolicy", "", "agentfence-guard.agents"), objs)
        self.assertNotIn(("CiliumEgressGatewayPolicy", "", "egress-agents.job-gw"), objs)

    def test_prune_tolerates_missing_crds(self):
        self.assertEqual(self.apply()[0], 0)
        self.ctl("POST", "/config", {"cilium_installed": False,
                                     "crds_missing": ["clusternetworkpolicies"]})
        self.spec = self.write("keep.yaml", specs({"job-none": "none"}))
        rc, out, err = self.apply("--prune")
        self.assertEqual(rc, 0, err)
        self.assertIn("3 pruned", err)


def _enf_fault_test(enf, action, nth):
    def test(self):
        self.fault(action=action, nth=nth)
        rc, out, err = self.apply_enf(enf)
        fired = [e for e in self.log() if e.get("fault")]
        self.assertFenced(enf)
        pods = {k[2] for k in self.objects() if k[0] == "Pod"}
        hit = fired[0] if fired else {}
        if hit.get("kind") == "Lease" or (hit.get("method") == "GET" and not hit.get("name")
                                          and hit.get("kind")):
            if action == "403" and hit.get("kind") == "Lease" and hit["method"] != "DELETE":
                self.assertEqual((rc, self.objects()), (3, {}), err)   # no lease: nothing
            else:
                # retried, or a list not read (written as usual), or a lease
                # not released (it expires)
                self.assertEqual((rc, pods), (0, set(MODES)), err)
        elif action == "403" and fired and fired[0]["path"] != "/version":
            self.assertEqual(rc, 3, err)
            name = fired[0]["name"]
            if name.startswith("agentfence-guard") or name == "agentfence-agent":
                self.assertEqual(pods, set())
            else:
                job = name if fired[0]["kind"] == "Pod" else \
                    agent_of(fired[0]["kind"], fired[0].get("namespace") or NS, name)[1]
                self.assertEqual(pods, set(MODES) - {job})
        elif action == "403" and fired:
            self.assertEqual((rc, self.objects()), (3, {}), err)
        else:
            self.assertEqual((rc, pods), (0, set(MODES)), err)
    return test


def _enf_delete_fault_test(enf, action, nth):
    def test(self):
        self.assertEqual(self.apply_enf(enf)[0], 0)
        self.fault(action=action, nth=nth)
        rc, out, err = self.run_af("delete", "--cluster", self.profile(enf), self.spec)
        self.assertPodsGoneFirst()
        self.assertFenced(enf)
        guards = sorted((k, "", n.format(ns=NS)) for k, n in GUARDS[enf])
        self.assertEqual(sorted(k for k in self.objects() if k[1] == "" and
                                k[2].startswith("agentfence-guard")), guards)
        fired = [e for e in self.log() if e.get("fault")]
        if fired and action == "403" and fired[0]["path"] not in DISCOVERY and \
                not (fired[0].get("kind") == "Lease" and fired[0]["method"] == "DELETE"):
            self.assertEqual(rc, 3, err)
        else:
            self.assertEqual((rc, sorted(self.objects())), (0, guards), err)
    return test


# apply: cilium makes 25 requests (version, the lease (GET, POST), 5 lists
# (ServiceAccounts, CiliumClusterwideNetworkPolicies, CiliumNetworkPolicies,
# CEGPs, Pods), the ServiceAccount, the guard, 4 CiliumNetworkPolicies, a
# CEGP, 4 Pods, the 5 policies read back, the lease released);
# clusternetworkpolicy 32 (version, the lease, 5 lists, the ServiceAccount,
# 2 guards, 4 NetworkPolicies, 3 ClusterNetworkPolicies (none for public), a
# CEGP, 4 Pods, 8 policies read back, the lease released);
# delete DELETE_REQUESTS (see above). Every index and one past the end.
ENF_APPLY_REQUESTS = {"cilium": 25, "clusternetworkpolicy": 32}
for _enf, _n_apply in ENF_APPLY_REQUESTS.items():
    for _action in ("403", "reset", "500"):
        for _n in range(1, _n_apply + 2):
            setattr(EnforcementTest, f"test_{_enf}_fault_{_action}_at_request_{_n:02d}",
                    _enf_fault_test(_enf, _action, _n))
    for _action in ("403", "reset"):
        for _n in range(1, DELETE_REQUESTS + 2):
            setattr(EnforcementTest, f"test_{_enf}_delete_fault_{_action}_at_request_{_n:02d}",
                    _enf_delete_fault_test(_enf, _action, _n))


class CredentialsTest(Base):
    def test_client_certificate_data(self):
        key = os.path.join(CERTS, "client.key")
        self.kubeconfig = self.write_kubeconfig("kc-cert", {
            "client-certificate-data": b64file(os.path.join(CERTS, "client.crt")),
            "client-key-data": b64file(key)})
        rc, out, err = self.apply("-v")
        self.assertEqual(rc, 0, err)
        self.assertEqual({e["auth"] for e in self.log()}, {"cert"})
        self.assertIn("client certificate", err)
        self.assertNoSecret(out, err, b64file(key), *key_fragments(key))

    def test_client_certificate_files_relative_to_kubeconfig(self):
        for f in ("client.crt", "client.key", "ca.crt"):
            shutil.copy(os.path.join(CERTS, f), os.path.join(self.dir, f))
        os.chmod(os.path.join(self.dir, "client.key"), 0o600)
        self.kubeconfig = self.write_kubeconfig(
            "kc-files", {"client-certificate": "client.crt", "client-key": "client.key"},
            cluster={"certificate-authority": "ca.crt"})
        rc, out, err = self.apply()
        self.assertEqual(rc, 0, err)
        self.assertEqual({e["auth"] for e in self.log()}, {"cert"})
        self.assertNotIn("warning", err)

    def test_token_file(self):
        tf = self.write("token", FILE_TOKEN + "\n", mode=0o644)
        self.kubeconfig = self.write_kubeconfig("kc-tf", {"tokenFile": tf})
        rc, out, err = self.apply("-v")
        self.assertEqual(rc, 0, err)
        self.assertEqual({e["user"] for e in self.log()}, {"file-user"})
        self.assertIn("token file is accessible by group or others (mode 0644)", err)
        self.assertNoSecret(out, err, FILE_TOKEN)

    def test_exec_plugin_v1_token(self):
        info = os.path.join(self.dir, "exec-info.json")
        cred = {"apiVersion": "client.authentication.k8s.io/v1", "kind": "ExecCredential",
                "status": {"token": EXEC_TOKEN, "expirationTimestamp": "2099-01-01T00:00:00Z"}}
        plugin = self.write("plugin.sh", "#!/bin/sh\n"
                            f'printf "%s" "$KUBERNETES_EXEC_INFO" > {info}\n'
                            f'echo "$1 $PLUGIN_ENV" > {info}.args\n'
                            f"cat <<'EOF'\n{json.dumps(cred)}\nEOF\n", mode=0o700)
        self.kubeconfig = self.write_kubeconfig("kc-exec", {"exec": {
            "apiVersion": "client.authentication.k8s.io/v1", "command": plugin,
            "args": ["--cluster-name", "x"], "env": [{"name": "PLUGIN_ENV", "value": "set"}],
            "interactiveMode": "Never", "provideClusterInfo": True}})
        rc, out, err = self.apply("-v")
        self.assertEqual(rc, 0, err)
        self.assertEqual({e["user"] for e in self.log()}, {"exec-user"})
        self.assertIn("exec plugin", err)
        self.assertNoSecret(out, err, EXEC_TOKEN)
        sent = json.loads(read(info))
        self.assertEqual(sent["kind"], "ExecCredential")
        self.assertEqual(sent["apiVersion"], "client.authentication.k8s.io/v1")
        self.assertEqual(sent["spec"]["interactive"], False)
        self.assertEqual(sent["spec"]["cluster"]["server"], f"https://127.0.0.1:{SRV['port']}")
        self.assertEqual(read(info + ".args").strip(), "--cluster-name set")

    def test_exec_plugin_v1beta1_client_certificate(self):
        cred = {"apiVersion": "client.authentication.k8s.io/v1beta1", "kind": "ExecCredential",
                "status": {"clientCertificateData": read(os.path.join(CERTS, "client.crt")),
                           "clientKeyData": read(os.path.join(CERTS, "client.key"))}}
        self.write("cred.json", json.dumps(cred))
        plugin = self.write("plugin.sh", f"#!/bin/sh\ncat {self.dir}/cred.json\n", mode=0o700)
        self.kubeconfig = self.write_kubeconfig("kc-exec", {"exec": {
            "apiVersion": "client.authentication.k8s.io/v1beta1", "command": plugin}})
        rc, out, err = self.apply("-v")
        self.assertEqual(rc, 0, err)
        self.assertEqual({e["auth"] for e in self.log()}, {"cert"})
        self.assertNoSecret(out, err, *key_fragments(os.path.join(CERTS, "client.key")))

    def test_exec_plugin_rerun_after_401(self):
        count = os.path.join(self.dir, "count")
        plugin = self.write("plugin.sh", "#!/bin/sh\n"
                            f"n=$(cat {count} 2>/dev/null || echo 0); echo $((n+1)) > {count}\n"
                            f'if [ "$n" = 0 ]; then t=stale-token-0; else t={EXEC_TOKEN}; fi\n'
                            'printf \'{"apiVersion":"client.authentication.k8s.io/v1",'
                            '"kind":"ExecCredential","status":{"token":"%s"}}\' "$t"\n',
                            mode=0o700)
        self.kubeconfig = self.write_kubeconfig("kc-exec", {"exec": {
            "apiVersion": "client.authentication.k8s.io/v1", "command": plugin,
            "interactiveMode": "Never"}})
        rc, out, err = self.apply("-v")
        self.assertEqual(rc, 0, err)
        self.assertEqual(read(count).strip(), "2")
        self.assertEqual([e["status"] for e in self.log()][:2], [401, 200])
        self.assertNoSecret(out, err, EXEC_TOKEN, "stale-token-0")

    def test_exec_plugin_missing_and_failing(self):
        self.kubeconfig = self.write_kubeconfig("kc-exec", {"exec": {
            "apiVersion": "client.authentication.k8s.io/v1", "command": "no-such-plugin-x",
            "interactiveMode": "Never", "installHint": "install no-such-plugin-x first"}})
        rc, out, err = self.apply()
        self.assertEqual(rc, 3, err)
        self.assertIn('cannot run "no-such-plugin-x"', err)
        self.assertIn("install no-such-plugin-x first", err)
        plugin = self.write("plugin.sh", "#!/bin/sh\necho 'secret-ish garbage' \necho oops >&2\n"
                            "exit 0\n", mode=0o700)
        self.kubeconfig = self.write_kubeconfig("kc-exec2", {"exec": {
            "apiVersion": "client.authentication.k8s.io/v1", "command": plugin,
            "interactiveMode": "Never"}})
        rc, out, err = self.apply()
        self.assertEqual(rc, 3, err)
        self.assertIn("not an ExecCredential", err)
        self.assertNotIn("secret-ish", err)
        self.assertEqual(self.log(), [])

    def test_in_cluster_service_account(self):
        sa = os.path.join(self.dir, "sa")
        os.mkdir(sa)
        with open(os.path.join(sa, "token"), "w") as fh:
            fh.write(SA_TOKEN)
        shutil.copy(os.path.join(CERTS, "ca.crt"), os.path.join(sa, "ca.crt"))
        rc, out, err = self.run_af("apply", "-v", self.spec, kubeconfig=False, env={
            "KUBERNETES_SERVICE_HOST": "127.0.0.1", "KUBERNETES_SERVICE_PORT": str(SRV["port"]),
            "AGENTFENCE_SERVICEACCOUNT_DIR": sa})
        self.assertEqual(rc, 0, err)
        self.assertIn("in-cluster", err)
        self.assertEqual({e["user"] for e in self.log()},
                         {"system:serviceaccount:agents:agentfence"})
        self.assertNoSecret(out, err, SA_TOKEN)

    def test_no_credentials_anywhere(self):
        rc, out, err = self.run_af("apply", self.spec, kubeconfig=False)
        self.assertEqual(rc, 1, err)
        self.assertIn("no kubeconfig", err)

    def test_kubeconfig_env_list_and_context(self):
        other = self.write_kubeconfig("kc-other", {"token": "wrong"})
        # $KUBECONFIG: a missing file, then one with the context "test"; --context picks
        rc, out, err = self.run_af("apply", "--context", "test", self.spec, kubeconfig=False,
                                   env={"KUBECONFIG": f"{self.dir}/missing:{self.kubeconfig}"})
        self.assertEqual(rc, 0, err)
        # the first file that defines a name wins: the wrong token of kc-other
        rc, out, err = self.run_af("apply", self.spec, kubeconfig=False,
                                   env={"KUBECONFIG": f"{other}:{self.kubeconfig}"})
        self.assertEqual(rc, 3, err)
        self.assertIn("rejected the credentials (401 Unauthorized)", err)
        self.assertNoSecret(out, err, TOKEN)
        rc, out, err = self.run_af("apply", "--context", "nope", self.spec)
        self.assertEqual(rc, 1, err)
        self.assertIn('context "nope" is not defined', err)

    def test_world_readable_kubeconfig_warns(self):
        self.kubeconfig = self.write_kubeconfig("kc-open", {"token": TOKEN}, mode=0o644)
        rc, out, err = self.apply()
        self.assertEqual(rc, 0, err)
        self.assertIn("the kubeconfig is accessible by group or others (mode 0644)", err)
        self.assertIn("chmod 600", err)

    def test_insecure_skip_tls_verify_warns(self):
        self.kubeconfig = self.write_kubeconfig("kc-insecure", {"token": TOKEN},
                                                cluster={"insecure-skip-tls-verify": True})
        rc, out, err = self.apply()
        self.assertEqual(rc, 0, err)
        self.assertIn("insecure-skip-tls-verify: the API server's certificate is not checked", err)

    def test_tls_server_name(self):
        ca = b64file(os.path.join(CERTS, "ca.crt"))
        # the certificate names localhost: verified against that name
        self.kubeconfig = self.write_kubeconfig("kc-sni", {"token": TOKEN}, cluster={
            "certificate-authority-data": ca, "tls-server-name": "localhost"})
        self.assertEqual(self.apply()[0], 0, self.last)
        self.kubeconfig = self.write_kubeconfig("kc-sni2", {"token": TOKEN}, cluster={
            "certificate-authority-data": ca, "tls-server-name": "api.example.com"})
        rc, out, err = self.apply()
        self.assertEqual(rc, 3, err)
        self.assertIn("cannot connect to the API server", err)

    def test_wrong_ca_fails_clearly(self):
        self.kubeconfig = self.write_kubeconfig("kc-wrongca", {"token": TOKEN}, cluster={
            "certificate-authority-data": b64file(os.path.join(CERTS, "untrusted-ca.crt"))})
        rc, out, err = self.apply()
        self.assertEqual(rc, 3, err)
        self.assertIn("cannot connect to the API server", err)
        self.assertIn("certificate", err)
        self.assertIn("certificate-authority-data", err)
        self.assertEqual(self.log(), [])
        self.assertNoSecret(out, err, TOKEN)

    def test_untrusted_client_certificate_fails_clearly(self):
        self.kubeconfig = self.write_kubeconfig("kc-badcert", {
            "client-certificate-data": b64file(os.path.join(CERTS, "untrusted-client.crt")),
            "client-key-data": b64file(os.path.join(CERTS, "untrusted-client.key"))})
        rc, out, err = self.apply()
        self.assertEqual(rc, 3, err)
        self.assertIn("cannot connect to the API server", err)

    def test_bad_kubeconfig_is_invalid_input(self):
        self.kubeconfig = self.write_kubeconfig("kc-bad", {"client-key-data": "!!notbase64!!",
                                                           "client-certificate-data": "AAAA"})
        rc, out, err = self.apply()
        self.assertEqual(rc, 1, err)
        self.assertIn("client-key-data: not valid base64", err)
        self.assertNotIn("notbase64", err)
        self.assertEqual(self.log(), [])

    def test_secrets_never_printed_on_failures(self):
        key = os.path.join(CERTS, "client.key")
        self.kubeconfig = self.write_kubeconfig("kc-both", {
            "token": "bad-token-" + EXEC_TOKEN,
            "client-certificate-data": b64file(os.path.join(CERTS, "untrusted-client.crt")),
            "client-key-data": b64file(key)})
        rc, out, err = self.apply("-v")
        self.assertEqual(rc, 3, err)
        self.assertNoSecret(out, err, EXEC_TOKEN, b64file(key), *key_fragments(key))


if __name__ == "__main__":
    unittest.main()
