# SPDX-License-Identifier: Apache-2.0
"""Self-test for tests/apiserver/fakeapi.py.

Run from the repository root:  python3 -m unittest tests/apiserver/test_fakeapi.py
Starts the fake server as a subprocess (TLS, test CA from mkcerts.sh) and
talks to it with http.client / ssl, like agentfence's libcurl client would.
"""

import copy
import http.client
import json
import os
import shutil
import signal
import ssl
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
FAKEAPI = os.path.join(HERE, "fakeapi.py")
MKCERTS = os.path.join(HERE, "mkcerts.sh")
TOKEN = "s3cret-test-token"

APPLY = "application/apply-patch+yaml"


def start_server(tmp, *extra):
    ready = os.path.join(tmp, f"ready-{len(os.listdir(tmp))}")
    log = ready + ".log.jsonl"
    state = ready + ".state.json"
    proc = subprocess.Popen(
        [sys.executable, FAKEAPI, "--certs", os.path.join(tmp, "certs"), "--port", "0",
         "--ready-file", ready, "--log", log, "--state-out", state,
         "--token", TOKEN + "=tester", *extra],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 10
    while not os.path.exists(ready):
        if proc.poll() is not None or time.monotonic() > deadline:
            out = proc.stdout.read().decode() if proc.stdout else ""
            proc.kill()
            raise RuntimeError("fakeapi did not start: " + out)
        time.sleep(0.02)
    with open(ready + ".json") as fh:
        info = json.load(fh)
    with open(ready) as fh:
        assert int(fh.read()) == info["port"]
    info.update(proc=proc, log=log, state=state)
    return info


def stop_server(info):
    proc = info["proc"]
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    if proc.stdout:
        proc.stdout.close()


class Client:
    def __init__(self, port, certdir, token=TOKEN, cert=None, timeout=5):
        self.port = port
        self.ctx = ssl.create_default_context(cafile=os.path.join(certdir, "ca.crt"))
        if cert:
            self.ctx.load_cert_chain(os.path.join(certdir, cert + ".crt"),
                                     os.path.join(certdir, cert + ".key"))
        self.token = token
        self.timeout = timeout
        self.conn = None

    def connect(self):
        self.conn = http.client.HTTPSConnection("127.0.0.1", self.port, context=self.ctx,
                                                timeout=self.timeout)

    def close(self):
        if self.conn:
            self.conn.close()
            self.conn = None

    def request(self, method, path, body=None, ctype=None, headers=None, keep=False):
        if self.conn is None:
            self.connect()
        h = dict(headers or {})
        if self.token:
            h["Authorization"] = "Bearer " + self.token
        if ctype:
            h["Content-Type"] = ctype
        if isinstance(body, (dict, list)):
            body = json.dumps(body)
        if isinstance(body, str):
            body = body.encode()
        try:
            self.conn.request(method, path, body=body, headers=h)
            r = self.conn.getresponse()
            data = r.read()
        finally:
            if not keep:
                self.close()
        ct = r.getheader("Content-Type", "")
        parsed = json.loads(data) if ct.startswith("application/json") else data.decode()
        return r.status, r, parsed

    def apply(self, path, obj, manager="agentfence", extra="", **kw):
        sep = "&" if "?" in path else "?"
        q = f"{sep}fieldManager={manager}" if manager else ""
        return self.request("PATCH", path + q + extra, obj, APPLY, **kw)


def pod(name, image="busybox:1.36", labels=None, **spec):
    s = {"containers": [{"name": "main", "image": image}]}
    s.update(spec)
    o = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name}, "spec": s}
    if labels:
        o["metadata"]["labels"] = labels
    return o


def netpol(name, ns="agents", **spec):
    s = {"podSelector": {"matchLabels": {"app": name}}}
    s.update(spec)
    return {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
            "metadata": {"name": name, "namespace": ns}, "spec": s}


def cegp(name):
    return {"apiVersion": "cilium.io/v2", "kind": "CiliumEgressGatewayPolicy",
            "metadata": {"name": name},
            "spec": {"selectors": [{"podSelector": {"matchLabels": {"app": "a"}}}],
                     "destinationCIDRs": ["0.0.0.0/0"],
                     "egressGateway": {"nodeSelector": {"matchLabels": {"egress": "true"}},
                                       "egressIP": "192.0.2.10"}}}


POD_PATH = "/api/v1/namespaces/agents/pods/"
NP_PATH = "/apis/networking.k8s.io/v1/namespaces/agents/networkpolicies/"
CEGP_PATH = "/apis/cilium.io/v2/ciliumegressgatewaypolicies/"


class FakeApiTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="fakeapi-test-")
        subprocess.run(["sh", MKCERTS, os.path.join(cls.tmp, "certs")], check=True)
        cls.certs = os.path.join(cls.tmp, "certs")
        cls.srv = start_server(cls.tmp)

    @classmethod
    def tearDownClass(cls):
        stop_server(cls.srv)
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def setUp(self):
        self.ctl("POST", "/reset")
        self.ctl("POST", "/config", {"namespaces": ["default", "agents", "kube-system"],
                                     "runtimeclasses": ["kata-fc"], "cilium_installed": True,
                                     "crds_missing": [], "pod_delete_grace_gets": 0,
                                     "anonymous": False})
        self.c = Client(self.srv["port"], self.certs)

    # -- helpers --------------------------------------------------------------
    def ctl(self, method, path, body=None):
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(f"http://127.0.0.1:{self.srv['control_port']}{path}",
                                     data=data, method=method)
        try:
            with urllib.request.urlopen(req, timeout=5) as r:
                return json.loads(r.read())
        except urllib.error.HTTPError as e:
            return json.loads(e.read())

    def seed(self, obj, manager="other", operation="Update"):
        req = urllib.request.Request(
            f"http://127.0.0.1:{self.srv['control_port']}/seed?manager={manager}&operation={operation}",
            data=json.dumps(obj).encode(), method="POST")
        with urllib.request.urlopen(req, timeout=5) as r:
            return json.loads(r.read())

    def log(self):
        return [e for e in self.ctl("GET", "/log") if e.get("event") == "request"]

    def assertStatus(self, body, code, reason):
        self.assertEqual(body["kind"], "Status")
        self.assertEqual(body["apiVersion"], "v1")
        self.assertEqual(body["metadata"], {})
        self.assertEqual(body["status"], "Failure")
        self.assertEqual(body["code"], code)
        self.assertEqual(body.get("reason", ""), reason)

    # -- auth -----------------------------------------------------------------
    def test_auth_token_ok(self):
        code, r, body = self.c.request("GET", "/version")
        self.assertEqual(code, 200)
        self.assertEqual(body["gitVersion"], "v1.31.0")
        self.assertEqual(r.getheader("Content-Type"), "application/json")
        self.assertTrue(r.getheader("Audit-Id"))
        self.assertEqual(self.log()[-1]["auth"], "token")

    def test_auth_missing_and_bad_token_401(self):
        for tok in (None, "wrong-token"):
            c = Client(self.srv["port"], self.certs, token=tok)
            code, r, body = c.request("GET", "/api/v1/namespaces/agents")
            self.assertEqual(code, 401)
            self.assertEqual(body, {"kind": "Status", "apiVersion": "v1", "metadata": {},
                                    "status": "Failure", "message": "Unauthorized",
                                    "reason": "Unauthorized", "code": 401})
        self.assertEqual([e["auth"] for e in self.log()], ["none", "invalid-token"])

    def test_auth_client_cert(self):
        c = Client(self.srv["port"], self.certs, token=None, cert="client")
        code, _, body = c.request("GET", "/api/v1/namespaces/agents")
        self.assertEqual(code, 200)
        self.assertEqual(body["metadata"]["name"], "agents")
        e = self.log()[-1]
        self.assertEqual((e["auth"], e["user"]), ("cert", "agentfence-test"))

    def test_untrusted_client_cert_is_refused(self):
        c = Client(self.srv["port"], self.certs, token=TOKEN, cert="untrusted-client")
        with self.assertRaises((ssl.SSLError, ConnectionError, http.client.HTTPException, OSError)):
            c.request("GET", "/version")

    def test_anonymous_mode(self):
        self.ctl("POST", "/config", {"anonymous": True})
        c = Client(self.srv["port"], self.certs, token=None)
        self.assertEqual(c.request("GET", "/version")[0], 200)
        code, _, body = c.request("GET", "/api/v1/namespaces/agents/pods")
        self.assertEqual(code, 403)
        self.assertEqual(body["message"],
                         'pods is forbidden: User "system:anonymous" cannot list resource "pods" '
                         'in API group "" in the namespace "agents"')

    # -- leases (optimistic concurrency, as a leader election uses them) ------
    def test_lease_create_update_conflict_delete(self):
        path = "/apis/coordination.k8s.io/v1/namespaces/agents/leases"
        lease = {"apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
                 "metadata": {"name": "l", "namespace": "agents"},
                 "spec": {"holderIdentity": "a", "leaseDurationSeconds": 30,
                          "renewTime": "2026-01-02T03:04:05.1234Z"}}
        code, _, b = self.c.request("POST", path, lease, ctype="application/json")
        self.assertEqual(code, 201, b)
        # MicroTime: six digits, UTC
        self.assertEqual(b["spec"]["renewTime"], "2026-01-02T03:04:05.123400Z")
        rv = b["metadata"]["resourceVersion"]
        code, _, b = self.c.request("POST", path, lease, ctype="application/json")
        self.assertStatus(b, 409, "AlreadyExists")
        # an apply patch type is not a body a create takes
        code, _, b = self.c.request("POST", path, lease, ctype="application/apply-patch+yaml")
        self.assertEqual(code, 415)
        upd = json.loads(json.dumps(lease))
        upd["spec"]["holderIdentity"] = "b"
        code, _, b = self.c.request("PUT", path + "/l", upd, ctype="application/json")
        self.assertStatus(b, 422, "Invalid")   # no resourceVersion: no unconditional update
        upd["metadata"]["resourceVersion"] = rv
        code, _, b = self.c.request("PUT", path + "/l", upd, ctype="application/json")
        self.assertEqual((code, b["spec"]["holderIdentity"]), (200, "b"), b)
        code, _, b = self.c.request("PUT", path + "/l", upd, ctype="application/json")
        self.assertStatus(b, 409, "Conflict")  # stale resourceVersion
        self.assertIn("the object has been modified", b["message"])
        new_rv = self.c.request("GET", path + "/l")[2]["metadata"]["resourceVersion"]
        pre = {"kind": "DeleteOptions", "apiVersion": "v1", "preconditions": {"resourceVersion": rv}}
        code, _, b = self.c.request("DELETE", path + "/l", pre, ctype="application/json")
        self.assertStatus(b, 409, "Conflict")
        pre["preconditions"]["resourceVersion"] = new_rv
        code, _, b = self.c.request("DELETE", path + "/l", pre, ctype="application/json")
        self.assertEqual(code, 200, b)
        code, _, b = self.c.request("PUT", path + "/l", upd, ctype="application/json")
        self.assertStatus(b, 404, "NotFound")  # no create on update

    # -- discovery / misc ------------------------------------------------------
    def test_discovery_and_unknown_path(self):
        code, _, body = self.c.request("GET", "/apis")
        self.assertEqual(code, 200)
        self.assertEqual({g["name"] for g in body["groups"]},
                         {"networking.k8s.io", "node.k8s.io", "cilium.io",
                          "policy.networking.k8s.io", "admissionregistration.k8s.io",
                          "coordination.k8s.io"})
        code, _, body = self.c.request("GET", "/apis/admissionregistration.k8s.io/v1")
        self.assertEqual({r["name"]: r["namespaced"] for r in body["resources"]},
                         {"validatingadmissionpolicies": False,
                          "validatingadmissionpolicybindings": False})
        code, _, body = self.c.request("GET", "/apis/cilium.io/v2")
        self.assertEqual({r["name"]: r["namespaced"] for r in body["resources"]},
                         {"ciliumegressgatewaypolicies": False, "ciliumnetworkpolicies": True,
                          "ciliumclusterwidenetworkpolicies": False})
        code, _, body = self.c.request("GET", "/apis/policy.networking.k8s.io/v1alpha2")
        self.assertEqual({r["name"]: r["namespaced"] for r in body["resources"]},
                         {"clusternetworkpolicies": False})
        code, _, body = self.c.request("GET", "/api/v1")
        self.assertIn("pods", [r["name"] for r in body["resources"]])
        code, _, body = self.c.request("GET", "/apis/nothing.example.com/v1/things")
        self.assertEqual(code, 404)
        self.assertEqual(body, {"kind": "Status", "apiVersion": "v1", "metadata": {},
                                "status": "Failure",
                                "message": "the server could not find the requested resource",
                                "reason": "NotFound", "details": {}, "code": 404})

    def test_cilium_not_installed(self):
        self.ctl("POST", "/config", {"cilium_installed": False})
        self.assertEqual(self.c.request("GET", "/apis/cilium.io/v2")[0], 404)
        code, _, body = self.c.apply(CEGP_PATH + "eg", cegp("eg"))
        self.assertEqual(code, 404)
        self.assertEqual(body["message"], "the server could not find the requested resource")
        _, _, body = self.c.request("GET", "/apis")
        self.assertNotIn("cilium.io", [g["name"] for g in body["groups"]])

    def test_namespace_and_runtimeclass_reads(self):
        self.assertEqual(self.c.request("GET", "/api/v1/namespaces/kube-system")[0], 200)
        code, _, body = self.c.request("GET", "/api/v1/namespaces/nope")
        self.assertEqual(code, 404)
        self.assertEqual(body["message"], 'namespaces "nope" not found')
        code, _, body = self.c.request("GET", "/apis/node.k8s.io/v1/runtimeclasses/kata-fc")
        self.assertEqual((code, body["handler"]), (200, "kata-fc"))
        code, _, body = self.c.request("GET", "/apis/node.k8s.io/v1/runtimeclasses/gvisor")
        self.assertEqual(code, 404)
        self.assertEqual(body["message"], 'runtimeclasses.node.k8s.io "gvisor" not found')
        self.assertEqual(body["details"], {"name": "gvisor", "group": "node.k8s.io",
                                           "kind": "runtimeclasses"})

    # -- server-side apply ------------------------------------------------------
    def test_ssa_create_then_update_then_noop(self):
        np = netpol("web", egress=[{"to": [{"ipBlock": {"cidr": "10.0.0.0/8"}}]}])
        code, _, o1 = self.c.apply(NP_PATH + "web", np)
        self.assertEqual(code, 201)
        m = o1["metadata"]
        self.assertTrue(m["uid"])
        self.assertEqual(m["generation"], 1)
        self.assertTrue(m["creationTimestamp"].endswith("Z"))
        mf = m["managedFields"]
        self.assertEqual((mf[0]["manager"], mf[0]["operation"]), ("agentfence", "Apply"))
        self.assertEqual(o1["spec"]["policyTypes"], ["Ingress", "Egress"])  # defaulted
        np["spec"]["egress"][0]["ports"] = [{"port": 443}]
        code, _, o2 = self.c.apply(NP_PATH + "web", np)
        self.assertEqual(code, 200)
        self.assertGreater(int(o2["metadata"]["resourceVersion"]), int(m["resourceVersion"]))
        self.assertEqual(o2["metadata"]["generation"], 2)
        self.assertEqual(o2["metadata"]["uid"], m["uid"])
        self.assertEqual(o2["spec"]["egress"][0]["ports"], [{"port": 443, "protocol": "TCP"}])
        code, _, o3 = self.c.apply(NP_PATH + "web", np)
        self.assertEqual(code, 200)
        self.assertEqual(o3["metadata"]["resourceVersion"], o2["metadata"]["resourceVersion"])
        self.assertEqual([e["write"]["op"] for e in self.log()], ["create", "update", "noop"])

    def test_list_items_are_the_stored_objects(self):
        # the server keeps each stored version's list bytes: they must stay
        # what a GET of it says, through create, update, no-op and a Lease PUT
        np = netpol("web", egress=[{"to": [{"ipBlock": {"cidr": "10.0.0.0/8"}}]}])
        self.assertEqual(self.c.apply(NP_PATH + "web", np)[0], 201)
        self.assertEqual(self.c.apply(POD_PATH + "a", pod("a", labels={"app": "x"}))[0], 201)

        def same():
            for lpath, gpath in (("/apis/networking.k8s.io/v1/namespaces/agents/networkpolicies",
                                  NP_PATH + "web"), ("/api/v1/namespaces/agents/pods", POD_PATH + "a")):
                _, _, lst = self.c.request("GET", lpath)
                _, _, got = self.c.request("GET", gpath)
                got.pop("kind"), got.pop("apiVersion")
                self.assertEqual(lst["items"], [got])
        same()
        np["spec"]["egress"][0]["ports"] = [{"port": 443}]
        self.assertEqual(self.c.apply(NP_PATH + "web", np)[0], 200)
        same()
        self.assertEqual(self.c.apply(NP_PATH + "web", np)[0], 200)   # no-op
        same()

    def test_apply_yaml_body_and_field_removal(self):
        body = ("apiVersion: v1\nkind: Pod\nmetadata:\n  name: y\n  labels:\n    a: '1'\n"
                "    b: '2'\nspec:\n  containers:\n  - name: c\n    image: busybox\n")
        code, _, o = self.c.request("PATCH", POD_PATH + "y?fieldManager=agentfence", body, APPLY)
        self.assertEqual(code, 201, o)
        self.assertEqual(o["metadata"]["labels"], {"a": "1", "b": "2"})
        self.assertEqual(o["status"]["phase"], "Pending")
        # dropping a label from the applied config removes it (sole owner)
        code, _, o = self.c.request("PATCH", POD_PATH + "y?fieldManager=agentfence",
                                    body.replace("    b: '2'\n", ""), APPLY)
        self.assertEqual(code, 200, o)
        self.assertEqual(o["metadata"]["labels"], {"a": "1"})

    def test_apply_request_errors(self):
        code, _, b = self.c.apply(NP_PATH + "x", netpol("x"), manager=None)
        self.assertEqual(code, 422)  # real server: 422 on PatchOptions, not 400
        self.assertStatus(b, 422, "Invalid")
        self.assertEqual(b["message"], 'PatchOptions.meta.k8s.io "" is invalid: fieldManager: '
                                       'Required value: is required for apply patch')
        self.assertEqual(b["details"]["causes"][0]["field"], "fieldManager")
        code, _, b = self.c.apply(NP_PATH + "other-name", netpol("x"))
        self.assertEqual(code, 400)
        self.assertEqual(b["message"], "the name of the object (x) does not match the name on "
                                       "the URL (other-name)")
        code, _, b = self.c.apply(NP_PATH + "x", netpol("x", ns="default"))
        self.assertEqual((code, b["message"]), (400, "the namespace of the provided object does "
                                                     "not match the namespace sent on the request"))
        bad = netpol("x")
        bad["apiVersion"] = "networking.k8s.io/v1beta1"
        code, _, b = self.c.apply(NP_PATH + "x", bad)
        self.assertEqual(code, 400)
        self.assertIn("Incorrect version specified in apply patch", b["message"])
        code, _, b = self.c.request("PATCH", NP_PATH + "x?fieldManager=m", "{}",
                                    "application/merge-patch+json")
        self.assertEqual(code, 415)
        code, _, b = self.c.request("PATCH", NP_PATH + "x?fieldManager=m", "a: [", APPLY)
        self.assertEqual(code, 400)
        self.assertTrue(b["message"].startswith("error decoding YAML"))

    def test_dry_run_persists_nothing(self):
        code, _, o = self.c.apply(NP_PATH + "dry", netpol("dry"), extra="&dryRun=All")
        self.assertEqual(code, 201)
        self.assertTrue(o["metadata"]["uid"])
        self.assertNotIn("resourceVersion", o["metadata"])
        self.assertEqual(self.c.request("GET", NP_PATH + "dry")[0], 404)
        self.assertEqual(self.ctl("GET", "/state")["objects"], [])
        writes = [e for e in self.log() if e["method"] == "PATCH"]
        self.assertTrue(writes[0]["dry_run"])
        self.assertNotIn("write_seq", writes[0]["write"])
        # dry-run still runs admission
        code, _, b = self.c.apply("/api/v1/namespaces/ghost/pods/p", pod("p"), extra="&dryRun=All")
        self.assertEqual(code, 404)

    def test_missing_namespace_404(self):
        code, _, b = self.c.apply("/api/v1/namespaces/ghost/pods/p", pod("p"))
        self.assertEqual(code, 404)
        self.assertStatus(b, 404, "NotFound")
        self.assertEqual(b["message"], 'namespaces "ghost" not found')
        self.assertEqual(b["details"], {"name": "ghost", "kind": "namespaces"})

    def test_runtimeclass_admission(self):
        code, _, b = self.c.apply(POD_PATH + "sbx", pod("sbx", runtimeClassName="gvisor"))
        self.assertEqual(code, 403)
        self.assertStatus(b, 403, "Forbidden")
        self.assertEqual(b["message"], 'pods "sbx" is forbidden: pod rejected: RuntimeClass '
                                       '"gvisor" not found')
        self.assertEqual(b["details"], {"name": "sbx", "kind": "pods"})
        code, _, o = self.c.apply(POD_PATH + "sbx", pod("sbx", runtimeClassName="kata-fc"))
        self.assertEqual(code, 201)

    def test_serviceaccount_admission(self):
        code, _, b = self.c.apply(POD_PATH + "sbx", pod("sbx", serviceAccountName="agentfence-agent"))
        self.assertEqual(code, 403)
        self.assertStatus(b, 403, "Forbidden")
        self.assertEqual(b["message"], 'pods "sbx" is forbidden: error looking up service account '
                                       'agents/agentfence-agent: serviceaccount "agentfence-agent" '
                                       'not found')
        sa = {"apiVersion": "v1", "kind": "ServiceAccount",
              "metadata": {"name": "agentfence-agent", "namespace": "agents"},
              "automountServiceAccountToken": False}
        self.assertEqual(self.c.apply("/api/v1/namespaces/agents/serviceaccounts/agentfence-agent",
                                      sa)[0], 201)
        code, _, o = self.c.apply(POD_PATH + "sbx", pod("sbx", serviceAccountName="agentfence-agent"))
        self.assertEqual(code, 201)
        # no name: the default account, which a controller makes in every namespace
        self.assertEqual(self.c.apply(POD_PATH + "p2", pod("p2"))[0], 201)

    def test_pod_spec_immutable(self):
        self.assertEqual(self.c.apply(POD_PATH + "p", pod("p"))[0], 201)
        code, _, o = self.c.apply(POD_PATH + "p", pod("p", image="busybox:1.37",
                                                      activeDeadlineSeconds=60))
        self.assertEqual(code, 200, o)  # image and activeDeadlineSeconds may change
        self.assertEqual(o["spec"]["containers"][0]["image"], "busybox:1.37")
        changed = pod("p", image="busybox:1.37", activeDeadlineSeconds=60)
        changed["spec"]["containers"][0]["command"] = ["sleep", "1"]
        code, _, b = self.c.apply(POD_PATH + "p", changed)
        self.assertEqual(code, 422)
        self.assertStatus(b, 422, "Invalid")
        self.assertTrue(b["message"].startswith(
            'Pod "p" is invalid: spec: Forbidden: pod updates may not change fields other than '
            '`spec.containers[*].image`,'), b["message"])
        self.assertEqual(b["details"]["causes"][0]["field"], "spec")
        self.assertEqual(b["details"]["causes"][0]["reason"], "FieldValueForbidden")
        code, _, b = self.c.apply(POD_PATH + "p", pod("p", image="busybox:1.37",
                                                      activeDeadlineSeconds=120))
        self.assertEqual(code, 422)
        self.assertIn("must be less than or equal to previous value", b["message"])

    def test_admission_policy_and_binding(self):
        base = "/apis/admissionregistration.k8s.io/v1/"
        vap = {"apiVersion": "admissionregistration.k8s.io/v1", "kind": "ValidatingAdmissionPolicy",
               "metadata": {"name": "p.agents"},
               "spec": {"failurePolicy": "Fail",
                        "matchConstraints": {"resourceRules": [
                            {"apiGroups": [""], "apiVersions": ["v1"], "operations": ["CREATE"],
                             "resources": ["pods"], "scope": "Namespaced"}]},
                        "variables": [{"name": "w", "expression": "true"}],
                        "validations": [{"expression": "variables.w", "message": "m",
                                         "reason": "Forbidden"}]}}
        code, _, o = self.c.apply(base + "validatingadmissionpolicies/p.agents", vap)
        self.assertEqual(code, 201, o)
        self.assertNotIn("namespace", o["metadata"])
        bad = json.loads(json.dumps(vap))
        bad["spec"]["failurePolicy"] = "Deny"
        bad["spec"]["validations"][0]["reason"] = "Nope"
        code, _, b = self.c.apply(base + "validatingadmissionpolicies/p.agents", bad)
        self.assertEqual(code, 422)
        self.assertEqual({c["field"] for c in b["details"]["causes"]},
                         {"spec.failurePolicy", "spec.validations[0].reason"})
        binding = {"apiVersion": "admissionregistration.k8s.io/v1",
                   "kind": "ValidatingAdmissionPolicyBinding", "metadata": {"name": "p.agents"},
                   "spec": {"policyName": "p.agents", "validationActions": ["Deny"],
                            "matchResources": {"namespaceSelector": {"matchLabels": {"a": "b"}}}}}
        code, _, o = self.c.apply(base + "validatingadmissionpolicybindings/p.agents", binding)
        self.assertEqual(code, 201, o)
        binding["spec"]["validationActions"] = ["Deny", "Warn"]
        code, _, b = self.c.apply(base + "validatingadmissionpolicybindings/p.agents", binding)
        self.assertEqual(code, 422)
        binding["spec"]["validationActions"] = ["Deny"]
        binding["spec"]["matchResources"]["selector"] = {}
        code, _, b = self.c.apply(base + "validatingadmissionpolicybindings/p.agents", binding)
        self.assertEqual(code, 500, b)   # an unknown field in an apply patch, as [smm]
        self.assertIn(".spec.matchResources.selector: field not declared in schema", b["message"])

    def test_conflict_and_force(self):
        self.seed(dict(pod("shared", image="nginx:1"), metadata={"name": "shared",
                                                                 "namespace": "agents"}))
        code, _, b = self.c.apply(POD_PATH + "shared", pod("shared", image="nginx:2"))
        self.assertEqual(code, 409)
        self.assertStatus(b, 409, "Conflict")
        self.assertEqual(b["message"], 'Apply failed with 1 conflict: conflict with "other" '
                                       'using v1: .spec.containers')
        self.assertEqual(b["details"]["causes"], [{"reason": "FieldManagerConflict",
                                                   "message": 'conflict with "other" using v1',
                                                   "field": ".spec.containers"}])
        # applying the same value is not a conflict (shared ownership)
        self.assertEqual(self.c.apply(POD_PATH + "shared", pod("shared", image="nginx:1"))[0], 200)
        code, _, o = self.c.apply(POD_PATH + "shared", pod("shared", image="nginx:2"),
                                  extra="&force=true")
        self.assertEqual(code, 200, o)
        owners = {m["manager"]: m for m in o["metadata"]["managedFields"]}
        self.assertIn("f:containers", owners["agentfence"]["fieldsV1"]["f:spec"])
        self.assertNotIn("f:containers", owners.get("other", {}).get("fieldsV1", {}).get("f:spec", {}))

    def test_shared_ownership_and_removal(self):
        def np(labels, **spec):
            o = netpol("n", **spec)
            o["metadata"]["labels"] = labels
            return o
        self.assertEqual(self.c.apply(NP_PATH + "n", np({"a": "1", "b": "2"}), manager="A")[0], 201)
        self.assertEqual(self.c.apply(NP_PATH + "n", np({"b": "2"}), manager="B")[0], 200)
        # A stops applying b, but B still owns it -> it stays
        code, _, o = self.c.apply(NP_PATH + "n", np({"a": "1"}), manager="A")
        self.assertEqual(o["metadata"]["labels"], {"a": "1", "b": "2"})
        code, _, b = self.c.apply(NP_PATH + "n", np({"a": "1", "b": "9"}), manager="A")
        self.assertEqual((code, b["message"]), (409, 'Apply failed with 1 conflict: conflict with '
                                                     '"B": .metadata.labels.b'))
        # both own spec.podSelector; adding egress is not a conflict
        code, _, o = self.c.apply(NP_PATH + "n", np({"a": "1"}, egress=[{"to": [
            {"ipBlock": {"cidr": "192.0.2.0/24"}}]}]), manager="A")
        self.assertEqual(code, 200, o)
        # REAL gotcha kept on purpose: the policyTypes defaulted at creation
        # (["Ingress"]) is not owned by anyone and stays.
        self.assertEqual(o["spec"]["policyTypes"], ["Ingress"])

    def test_validation_422_with_causes(self):
        np = netpol("bad", egress=[{"to": [{"ipBlock": {"cidr": "10.0.0.0/16",
                                                         "except": ["10.1.0.0/24"]}}]}])
        code, _, b = self.c.apply(NP_PATH + "bad", np)
        self.assertEqual(code, 422)
        self.assertStatus(b, 422, "Invalid")
        self.assertEqual(b["message"], 'NetworkPolicy.networking.k8s.io "bad" is invalid: '
                                       'spec.egress[0].to[0].ipBlock.except[0]: Invalid value: '
                                       '"10.1.0.0/24": must be a strict subset of `cidr`')
        self.assertEqual(b["details"], {
            "name": "bad", "group": "networking.k8s.io", "kind": "NetworkPolicy",
            "causes": [{"reason": "FieldValueInvalid",
                        "message": 'Invalid value: "10.1.0.0/24": must be a strict subset of `cidr`',
                        "field": "spec.egress[0].to[0].ipBlock.except[0]"}]})
        code, _, b = self.c.apply(POD_PATH + "Bad_Name", pod("Bad_Name"))
        self.assertEqual(code, 422)
        self.assertIn('metadata.name: Invalid value: "Bad_Name": a lowercase RFC 1123 subdomain',
                      b["message"])
        code, _, b = self.c.apply(POD_PATH + "empty", {"apiVersion": "v1", "kind": "Pod",
                                                       "metadata": {"name": "empty"}, "spec": {}})
        self.assertEqual((code, b["message"]), (422, 'Pod "empty" is invalid: spec.containers: '
                                                     'Required value'))
        bad = cegp("bad")
        bad["spec"]["destinationCIDRs"] = ["not-a-cidr"]
        del bad["spec"]["selectors"]
        code, _, b = self.c.apply(CEGP_PATH + "bad", bad)
        self.assertEqual(code, 422)
        self.assertEqual({c["field"] for c in b["details"]["causes"]},
                         {"spec.selectors", "spec.destinationCIDRs[0]"})

    def test_pod_limits_validation(self):
        """The Pod fields of issue 11 item 7, as the real server validates them."""
        ok = pod("lim", activeDeadlineSeconds=3600, imagePullSecrets=[{"name": "regcred"}],
                 volumes=[{"name": "scratch", "emptyDir": {"sizeLimit": "1Gi"}}])
        ok["spec"]["containers"][0].update(
            volumeMounts=[{"name": "scratch", "mountPath": "/tmp"}],
            env=[{"name": "A", "value": "1"},
                 {"name": "K", "valueFrom": {"secretKeyRef": {"name": "openai", "key": "api-key"}}},
                 {"name": "M", "valueFrom": {"configMapKeyRef": {"name": "cfg", "key": "model",
                                                                 "optional": True}}}],
            resources={"limits": {"ephemeral-storage": "1Gi"}, "requests": {"ephemeral-storage": "1Gi"}})
        code, _, o = self.c.apply(POD_PATH + "lim", ok)
        self.assertEqual(code, 201, o)
        bad = pod("bad", activeDeadlineSeconds=0, imagePullSecrets=[{"name": "r", "key": "x"}],
                  volumes=[{"name": "scratch", "emptyDir": {"sizeLimit": "lots"}},
                           {"name": "scratch"}])
        bad["spec"]["containers"][0].update(
            volumeMounts=[{"name": "other", "mountPath": "/tmp"},
                          {"name": "scratch", "mountPath": "/tmp"}],
            env=[{"name": "A", "value": "1", "valueFrom": {"secretKeyRef": {"name": "s", "key": "k"}}},
                 {"name": "B", "valueFrom": {}},
                 {"name": "C", "valueFrom": {"secretKeyRef": {"name": "s", "key": "k"},
                                             "configMapKeyRef": {"name": "c", "key": ".."}}}])
        code, _, b = self.c.apply(POD_PATH + "bad", bad)
        self.assertEqual(code, 422, b)
        causes = {(c["field"], c["reason"]) for c in b["details"]["causes"]}
        self.assertEqual(causes, {
            ("spec.containers[0].env[0].valueFrom", "FieldValueInvalid"),
            ("spec.containers[0].env[1].valueFrom", "FieldValueInvalid"),
            ("spec.containers[0].env[2].valueFrom", "FieldValueInvalid"),
            ("spec.containers[0].env[2].valueFrom.configMapKeyRef.key", "FieldValueInvalid"),
            ("spec.containers[0].volumeMounts[0].name", "FieldValueNotFound"),
            ("spec.containers[0].volumeMounts[1].mountPath", "FieldValueInvalid"),
            ("spec.volumes[0].emptyDir.sizeLimit", "FieldValueForbidden"),
            ("spec.volumes[1].name", "FieldValueDuplicate"),
            ("spec.volumes[1]", "FieldValueRequired"),
            ("spec.activeDeadlineSeconds", "FieldValueInvalid"),
            ("spec.imagePullSecrets[0]", "FieldValueInvalid")})
        self.assertIn('spec.activeDeadlineSeconds: Invalid value: 0: must be between 1 and '
                      '2147483647, inclusive', b["message"])
        self.assertIn('spec.containers[0].env[0].valueFrom: Invalid value: "": may not be '
                      'specified when `value` is not empty', b["message"])
        self.assertIn('spec.containers[0].volumeMounts[0].name: Not found: "other"', b["message"])

    def test_unknown_and_duplicate_fields(self):
        p = pod("u")
        p["spec"]["foo"] = 1
        code, _, b = self.c.apply(POD_PATH + "u", p)
        self.assertEqual(code, 500)  # SSA always types the patch (no fieldValidation escape)
        self.assertEqual(b["message"], "failed to create typed patch object (/u; /v1, Kind=Pod): "
                                       ".spec.foo: field not declared in schema")
        self.assertNotIn("reason", b)
        # POST (create) honours fieldValidation: Warn by default, Strict -> 400
        code, r, o = self.c.request("POST", "/api/v1/namespaces/agents/pods?fieldManager=t", p,
                                    "application/json")
        self.assertEqual(code, 201, o)
        self.assertEqual(r.getheader("Warning"), '299 - "unknown field \\"spec.foo\\""')
        self.assertNotIn("foo", o["spec"])
        p["metadata"]["name"] = "u2"
        code, _, b = self.c.request("POST", "/api/v1/namespaces/agents/pods?fieldValidation=Strict",
                                    p, "application/json")
        self.assertEqual(code, 400)
        self.assertIn('strict decoding error: unknown field "spec.foo"', b["message"])
        # duplicate keys in an apply body: warning by default, 400 with Strict
        dup = ("apiVersion: v1\nkind: Pod\nmetadata:\n  name: d\nspec:\n  containers:\n"
               "  - name: c\n    image: a\n    image: b\n")
        code, r, o = self.c.request("PATCH", POD_PATH + "d?fieldManager=m", dup, APPLY)
        self.assertEqual(code, 201)
        self.assertEqual(r.getheader("Warning"), '299 - "line 9: key \\"image\\" already set in map"')
        code, _, b = self.c.request("PATCH", POD_PATH + "d2?fieldManager=m&fieldValidation=Strict",
                                    dup.replace("name: d\n", "name: d2\n"), APPLY)
        self.assertEqual(code, 400)

    def test_cegp_cluster_scoped(self):
        body = cegp("eg")
        body["metadata"]["namespace"] = "agents"  # ignored for cluster-scoped kinds
        code, _, o = self.c.apply(CEGP_PATH + "eg", body)
        self.assertEqual(code, 201, o)
        self.assertNotIn("namespace", o["metadata"])
        code, _, lst = self.c.request("GET", "/apis/cilium.io/v2/ciliumegressgatewaypolicies")
        self.assertEqual(lst["kind"], "CiliumEgressGatewayPolicyList")
        self.assertEqual(lst["items"][0]["kind"], "CiliumEgressGatewayPolicy")  # CR lists keep it
        code, _, b = self.c.request("DELETE", CEGP_PATH + "eg")
        self.assertEqual(code, 200)
        self.assertEqual(b["status"], "Success")
        self.assertEqual(b["details"]["kind"], "ciliumegressgatewaypolicies")

    def test_cilium_network_policies(self):
        cnp = {"apiVersion": "cilium.io/v2", "kind": "CiliumNetworkPolicy",
               "metadata": {"name": "isolate-a", "namespace": "agents",
                            "labels": {"agentfence.dev/job-id": "a"}},
               "spec": {"endpointSelector": {"matchLabels": {"app": "a"}},
                        "enableDefaultDeny": {"egress": True, "ingress": True}}}
        path = "/apis/cilium.io/v2/namespaces/agents/ciliumnetworkpolicies/"
        code, _, o = self.c.apply(path + "isolate-a", cnp)
        self.assertEqual((code, o["metadata"]["namespace"]), (201, "agents"), o)
        # namespaced: no cluster-wide item path
        self.assertEqual(self.c.request("GET", "/apis/cilium.io/v2/ciliumnetworkpolicies/"
                                        "isolate-a")[0], 404)
        code, _, lst = self.c.request("GET", path[:-1] + "?labelSelector=agentfence.dev%2Fjob-id%3Da")
        self.assertEqual([i["kind"] for i in lst["items"]], ["CiliumNetworkPolicy"])
        bad = copy.deepcopy(cnp)
        bad["spec"]["nodeSelector"] = {}
        code, _, b = self.c.apply(path + "isolate-a", bad)
        self.assertEqual(code, 422, b)
        self.assertIn("one and only one schema", b["message"])
        ccnp = {"apiVersion": "cilium.io/v2", "kind": "CiliumClusterwideNetworkPolicy",
                "metadata": {"name": "guard.agents", "namespace": "agents"},
                "spec": {"endpointSelector": {}, "ingressDeny": [{"fromEntities": ["world"]}]}}
        code, _, o = self.c.apply("/apis/cilium.io/v2/ciliumclusterwidenetworkpolicies/"
                                  "guard.agents", ccnp)
        self.assertEqual(code, 201, o)
        self.assertNotIn("namespace", o["metadata"])
        code, _, b = self.c.request("DELETE", path + "isolate-a")
        self.assertEqual((code, b["status"]), (200, "Success"))
        self.assertEqual(b["details"]["kind"], "ciliumnetworkpolicies")

    def test_cluster_network_policy(self):
        cnp = {"apiVersion": "policy.networking.k8s.io/v1alpha2", "kind": "ClusterNetworkPolicy",
               "metadata": {"name": "isolate-agents.a"},
               "spec": {"tier": "Admin", "priority": 200,
                        "subject": {"namespaces": {"matchLabels": {"k": "v"}}},
                        "egress": [{"name": "x", "action": "Deny",
                                    "to": [{"networks": ["0.0.0.0/0"]}]}]}}
        path = "/apis/policy.networking.k8s.io/v1alpha2/clusternetworkpolicies/"
        code, _, o = self.c.apply(path + "isolate-agents.a", cnp)
        self.assertEqual(code, 201, o)
        for field, value, text in (("tier", "Top", 'spec.tier: Unsupported value: "Top"'),
                                   ("priority", 1001, "spec.priority in body should be in range"),
                                   ("subject", {"namespaces": {}, "pods": {}},
                                    "must have exactly one of namespaces, pods"),
                                   ("egress", [{"action": "Allow", "to": [{}]}],
                                    'spec.egress[0].action: Unsupported value: "Allow"')):
            bad = copy.deepcopy(cnp)
            bad["spec"][field] = value
            code, _, b = self.c.apply(path + "isolate-agents.a", bad)
            self.assertEqual(code, 422, (field, b))
            self.assertIn(text, b["message"])
        code, _, b = self.c.apply(path + "x", {"apiVersion": cnp["apiVersion"],
                                               "kind": cnp["kind"], "metadata": {"name": "x"},
                                               "spec": {"tier": "Admin", "priority": 1,
                                                        "subject": {"namespaces": {}},
                                                        "bogus": 1}})
        self.assertEqual(code, 500, b)   # unknown field in an apply patch
        self.assertIn(".spec.bogus: field not declared in schema", b["message"])

    def test_crd_not_installed_one_by_one(self):
        cnp_list = "/apis/policy.networking.k8s.io/v1alpha2/clusternetworkpolicies"
        cil_list = "/apis/cilium.io/v2/namespaces/agents/ciliumnetworkpolicies"
        self.assertEqual(self.c.request("GET", cnp_list)[0], 200)
        self.ctl("POST", "/config", {"crds_missing": ["clusternetworkpolicies"]})
        code, _, b = self.c.request("GET", cnp_list)
        self.assertEqual((code, b["details"]), (404, {}))   # no route: the CRD is missing
        self.assertEqual(self.c.request("GET", "/apis/policy.networking.k8s.io/v1alpha2")[0], 404)
        self.assertEqual(self.c.request("GET", cil_list)[0], 200)
        self.ctl("POST", "/config", {"crds_missing": ["ciliumnetworkpolicies"]})
        self.assertEqual(self.c.request("GET", cnp_list)[0], 200)
        self.assertEqual(self.c.request("GET", cil_list)[0], 404)
        # the rest of cilium.io is still served
        code, _, body = self.c.request("GET", "/apis/cilium.io/v2")
        self.assertEqual(sorted(r["name"] for r in body["resources"]),
                         ["ciliumclusterwidenetworkpolicies", "ciliumegressgatewaypolicies"])
        self.assertEqual(self.ctl("GET", "/config")["crds_missing"], ["ciliumnetworkpolicies"])
        self.assertIn("error", self.ctl("POST", "/config", {"crds_missing": ["pods"]}))

    # -- lists / deletes --------------------------------------------------------
    def test_label_selector_list(self):
        for name, labels in (("a", {"app": "x", "tier": "fe"}), ("b", {"app": "y", "tier": "be"}),
                             ("c", {"tier": "fe"}), ("d", {})):
            self.assertEqual(self.c.apply(POD_PATH + name, pod(name, labels=labels or None))[0], 201)
        self.assertEqual(self.c.apply("/api/v1/namespaces/default/pods/e",
                                      pod("e", labels={"app": "x"}))[0], 201)

        def names(sel, path="/api/v1/namespaces/agents/pods"):
            code, _, body = self.c.request("GET", path + "?labelSelector=" + urllib.request.quote(sel))
            self.assertEqual(code, 200, body)
            return [i["metadata"]["name"] for i in body["items"]]
        self.assertEqual(names("app=x"), ["a"])
        self.assertEqual(names("app==x"), ["a"])
        self.assertEqual(names("app!=x"), ["b", "c", "d"])
        self.assertEqual(names("tier in (fe, be)"), ["a", "b", "c"])
        self.assertEqual(names("tier notin (fe)"), ["b", "d"])
        self.assertEqual(names("app"), ["a", "b"])
        self.assertEqual(names("!app"), ["c", "d"])
        self.assertEqual(names("app,tier=fe"), ["a"])
        self.assertEqual(names("tier in (fe,be),!app"), ["c"])
        self.assertEqual(names(""), ["a", "b", "c", "d"])
        self.assertEqual(names("app=x", "/api/v1/pods"), ["a", "e"])
        code, _, body = self.c.request("GET", "/api/v1/pods")
        self.assertEqual(body["kind"], "PodList")
        self.assertNotIn("kind", body["items"][0])  # typed lists omit item kind
        code, _, b = self.c.request("GET", "/api/v1/pods?labelSelector=" +
                                    urllib.request.quote("app in (x"))
        self.assertEqual(code, 400)
        self.assertStatus(b, 400, "BadRequest")

    def test_delete(self):
        self.c.apply(NP_PATH + "np", netpol("np"))
        code, _, b = self.c.request("DELETE", NP_PATH + "np")
        self.assertEqual(code, 200)
        self.assertEqual((b["kind"], b["status"]), ("Status", "Success"))
        self.assertEqual(b["details"]["name"], "np")
        code, _, b = self.c.request("DELETE", NP_PATH + "np")
        self.assertEqual(code, 404)
        self.assertEqual(b["message"], 'networkpolicies.networking.k8s.io "np" not found')
        # pods: the deleted object is returned; immediate by default
        self.c.apply(POD_PATH + "p", pod("p"))
        code, _, b = self.c.request("DELETE", POD_PATH + "p")
        self.assertEqual((code, b["kind"]), (200, "Pod"))
        self.assertEqual(self.c.request("GET", POD_PATH + "p")[0], 404)

    def test_graceful_pod_delete(self):
        self.ctl("POST", "/config", {"pod_delete_grace_gets": 2})
        self.c.apply(POD_PATH + "g", pod("g"))
        code, _, b = self.c.request("DELETE", POD_PATH + "g")
        self.assertEqual(code, 200)
        self.assertIn("deletionTimestamp", b["metadata"])
        self.assertEqual(b["metadata"]["deletionGracePeriodSeconds"], 30)
        for _ in range(2):
            code, _, b = self.c.request("GET", POD_PATH + "g")
            self.assertEqual(code, 200)
            self.assertIn("deletionTimestamp", b["metadata"])
        self.assertEqual(self.c.request("GET", POD_PATH + "g")[0], 404)
        # gracePeriodSeconds=0 deletes immediately even in graceful mode
        self.c.apply(POD_PATH + "h", pod("h"))
        self.c.request("DELETE", POD_PATH + "h?gracePeriodSeconds=0")
        self.assertEqual(self.c.request("GET", POD_PATH + "h")[0], 404)

    # -- faults -----------------------------------------------------------------
    def _fault_roundtrip(self, action, code, reason):
        self.ctl("POST", "/faults", {"action": action, "nth": 2, "method": "GET",
                                     "path": "^/api/v1/namespaces/agents$"})
        self.assertEqual(self.c.request("GET", "/api/v1/namespaces/agents")[0], 200)
        self.assertEqual(self.c.request("GET", "/version")[0], 200)  # not matching, not counted
        got, r, body = self.c.request("GET", "/api/v1/namespaces/agents")
        self.assertEqual(got, code, body)
        self.assertEqual(self.c.request("GET", "/api/v1/namespaces/agents")[0], 200)
        self.ctl("DELETE", "/faults")
        if reason is not None:
            self.assertStatus(body, code, reason)
        return r, body

    def test_fault_status_kinds(self):
        _, b = self._fault_roundtrip("500", 500, "InternalError")
        self.assertTrue(b["message"].startswith("Internal error occurred: "))
        _, b = self._fault_roundtrip("403", 403, "Forbidden")
        self.assertEqual(b["message"], 'namespaces "agents" is forbidden: User "tester" cannot get '
                                       'resource "namespaces" in API group "" at the cluster scope')
        r, b = self._fault_roundtrip("429", 429, "TooManyRequests")
        self.assertEqual(r.getheader("Retry-After"), "1")
        self.assertEqual(b["details"], {"retryAfterSeconds": 1})
        r, b = self._fault_roundtrip("429text", 429, None)
        self.assertEqual(r.getheader("Retry-After"), "1")
        self.assertEqual(b, "Too many requests, please try again later.\n")
        _, b = self._fault_roundtrip("timeout", 504, "Timeout")
        self.assertEqual(b["message"], "Timeout: request did not complete within requested "
                                       "timeout - context deadline exceeded")
        self._fault_roundtrip("503", 503, "ServiceUnavailable")
        faults = [e.get("fault") for e in self.log() if e.get("fault")]
        self.assertEqual(faults, ["500", "403", "429", "429text", "timeout", "503"])

    def test_fault_reset(self):
        self.ctl("POST", "/faults", {"action": "reset", "nth": 1, "method": "PATCH"})
        with self.assertRaises((ConnectionError, http.client.HTTPException, ssl.SSLError, OSError)):
            self.c.apply(NP_PATH + "r", netpol("r"))
        self.c.close()
        self.assertEqual(self.c.apply(NP_PATH + "r", netpol("r"))[0], 201)
        e = self.log()[0]
        self.assertEqual((e["fault"], e["status"]), ("reset", None))
        self.assertNotIn("write", e)  # the faulted request was not processed

    def test_fault_hang(self):
        self.ctl("POST", "/faults", {"action": "hang", "path": "/version"})
        c = Client(self.srv["port"], self.certs, timeout=0.5)
        t0 = time.monotonic()
        with self.assertRaises((TimeoutError, OSError)):
            c.request("GET", "/version")
        self.assertLess(time.monotonic() - t0, 3)
        self.assertEqual(self.c.request("GET", "/version")[0], 200)

    def test_fault_persistent_and_commit(self):
        self.ctl("POST", "/faults", {"action": "500", "always": True, "path": "/pods/",
                                     "method": "PATCH", "commit": True})
        for _ in range(3):
            self.assertEqual(self.c.apply(POD_PATH + "k", pod("k"))[0], 500)
        # commit=true: the write happened although the client saw a 500
        self.assertEqual(self.c.request("GET", POD_PATH + "k")[0], 200)
        self.assertEqual([e["write"]["op"] for e in self.log() if "write" in e],
                         ["create", "noop", "noop"])
        self.assertEqual(self.ctl("GET", "/faults")[0]["fired"], 3)

    def test_fault_from_command_line(self):
        srv = start_server(self.tmp, "--fault", "action=403,nth=1,method=GET,path=^/version$",
                           "--no-cilium", "--no-crd", "clusternetworkpolicies",
                           "--namespace", "only")
        try:
            c = Client(srv["port"], self.certs)
            self.assertEqual(c.request("GET", "/version")[0], 403)
            self.assertEqual(c.request("GET", "/version")[0], 200)
            self.assertEqual(c.request("GET", "/apis/cilium.io/v2")[0], 404)
            self.assertEqual(c.request("GET", "/apis/policy.networking.k8s.io/v1alpha2")[0], 404)
            self.assertEqual(c.request("GET", "/api/v1/namespaces/only")[0], 200)
            self.assertEqual(c.request("GET", "/api/v1/namespaces/default")[0], 404)
        finally:
            stop_server(srv)
        with open(srv["state"]) as fh:  # state dumped on exit
            self.assertEqual(json.load(fh)["namespaces"], ["only"])

    # -- log / transport ----------------------------------------------------------
    def test_log_ordering_and_no_secrets(self):
        self.assertEqual(self.c.apply(NP_PATH + "agent-1", netpol("agent-1"))[0], 201)
        self.assertEqual(self.c.apply(POD_PATH + "agent-1", pod("agent-1"))[0], 201)
        self.assertEqual(self.c.request("GET", POD_PATH + "agent-1")[0], 200)
        with open(self.srv["log"]) as fh:
            raw = fh.read()
        self.assertNotIn(TOKEN, raw)
        entries = [json.loads(line) for line in raw.splitlines()]
        self.assertEqual([e["seq"] for e in entries], [1, 2, 3])
        writes = [e["write"] for e in entries if "write_seq" in e.get("write", {})]
        self.assertEqual([(w["kind"], w["name"], w["write_seq"]) for w in writes],
                         [("NetworkPolicy", "agent-1", 1), ("Pod", "agent-1", 2)])
        e = entries[0]
        self.assertEqual((e["method"], e["content_type"], e["auth"], e["status"]),
                         ("PATCH", APPLY, "token", 201))
        self.assertEqual(e["query"], "fieldManager=agentfence")

    def test_keep_alive(self):
        for i in range(3):
            code, r, _ = self.c.request("GET", "/version", keep=True)
            self.assertEqual(code, 200)
            self.assertEqual(r.version, 11)
        self.c.close()
        self.assertEqual(len({e["conn"] for e in self.log()}), 1)

    def test_state_endpoint(self):
        self.c.apply(NP_PATH + "s", netpol("s"))
        st = self.ctl("GET", "/state")
        self.assertEqual([o["metadata"]["name"] for o in st["objects"]], ["s"])
        self.assertEqual(st["objects"][0]["kind"], "NetworkPolicy")


if __name__ == "__main__":
    unittest.main()
