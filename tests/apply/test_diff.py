# SPDX-License-Identifier: Apache-2.0
"""agentfence diff against the fake API server (tests/apiserver), and
apply's `unchanged` from the resourceVersion a PATCH leaves.

Run from the repository root (make builds build/agentfence first):

    python3 -m unittest discover -s tests/apply -p 'test_diff.py'

diff sends, per object, a GET and a server-side dry-run apply; it must
write nothing (every write request carries dryRun=All, no Lease is
touched), show only what would change, exit 0 (same), 1 (different) or 3
(an error), and leave no temporary folder behind.
"""

import glob
import json
import os
import re
import shutil
import signal
import ssl
import subprocess
import sys
import tempfile
import unittest
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import test_apply as base  # noqa: E402  (its helpers; its tests are not collected here)

NS = base.NS
AGENTS = {"job-none": "none", "job-allow": "allowlist", "job-gw": "gateway"}
NP = "networking.k8s.io.v1.NetworkPolicy"


def setUpModule():
    global TMP, SRV
    if not os.access(base.BIN, os.X_OK):
        raise unittest.SkipTest(f"{base.BIN} is not built (run make)")
    TMP = tempfile.mkdtemp(prefix="agentfence-diff-")
    subprocess.run(["sh", base.MKCERTS, os.path.join(TMP, "certs")], check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    SRV = base.start_server(TMP)
    # the helpers of test_apply read these module globals
    base.TMP, base.CERTS, base.SRV = TMP, os.path.join(TMP, "certs"), SRV


def tearDownModule():
    SRV["proc"].send_signal(signal.SIGTERM)
    try:
        SRV["proc"].wait(5)
    except subprocess.TimeoutExpired:
        SRV["proc"].kill()
        SRV["proc"].wait()
    shutil.rmtree(TMP, ignore_errors=True)


def changes(out):
    """The changed lines of a unified diff (not its file headers)."""
    return [l for l in out.splitlines()
            if l[:1] in "+-" and not l.startswith(("+++ ", "--- "))]


def files(out):
    """The object files a unified diff of two folders names (from its +++ lines)."""
    return [os.path.basename(l.split()[1]) for l in out.splitlines() if l.startswith("+++ ")]


class DiffTest(base.Base):
    def setUp(self):
        super().setUp()
        self.spec = self.write("agents.yaml", base.specs(AGENTS))
        self.tmpdir = os.path.join(self.dir, "tmp")
        os.mkdir(self.tmpdir)

    def diff(self, *args, env=None):
        e = {"TMPDIR": self.tmpdir}
        e.update(env or {})
        rc, out, err = self.run_af("diff", "--kubeconfig", self.kubeconfig, *args, self.spec,
                                   env=e)
        # the LIVE and MERGED folders are gone, whatever happened
        self.assertEqual(os.listdir(self.tmpdir), [], err)
        return rc, out, err

    def assertNoWrite(self, since=0):
        """Nothing but GETs and dry-run applies; no Lease touched, nothing stored."""
        for e in self.log():
            if e["seq"] <= since:
                continue
            self.assertNotEqual(e.get("kind"), "Lease", e)
            if e["method"] == "GET":
                continue
            self.assertEqual(e["method"], "PATCH", e)
            self.assertIn("dryRun=All", e["query"], e)
            self.assertNotIn("write_seq", e.get("write", {}), e)

    def last_seq(self):
        log = self.log()
        return log[-1]["seq"] if log else 0

    def api(self, method, path):
        ctx = ssl.create_default_context(cafile=os.path.join(TMP, "certs", "ca.crt"))
        req = urllib.request.Request(f"https://127.0.0.1:{SRV['port']}{path}", method=method,
                                     headers={"Authorization": "Bearer " + base.TOKEN})
        with urllib.request.urlopen(req, context=ctx, timeout=10) as r:
            return json.loads(r.read())

    def test_create(self):
        """Nothing live: every object is shown whole, added."""
        before = self.objects(sa=True)
        rc, out, err = self.diff()
        self.assertEqual(rc, 1, err)
        self.assertEqual(sorted(files(out)), sorted([
            "v1.ServiceAccount.agents.agentfence-agent",
            f"{NP}.agents.isolate-job-none", "v1.Pod.agents.job-none",
            f"{NP}.agents.isolate-job-allow", "v1.Pod.agents.job-allow",
            f"{NP}.agents.isolate-job-gw", "v1.Pod.agents.job-gw",
            "cilium.io.v2.CiliumEgressGatewayPolicy..egress-agents.job-gw"]))
        self.assertTrue(all(l.startswith("+") for l in changes(out)), out)
        self.assertIn("+kind: NetworkPolicy", out)
        self.assertIn("+  name: isolate-job-allow", out)
        self.assertNotIn("managedFields", out)
        self.assertNotIn("uid:", out)
        # the Pods' ServiceAccount is not stored by a dry run: said, compiled object shown
        self.assertEqual(err.count("not checked by the server: the ServiceAccount"), 3, err)
        self.assertEqual(self.objects(sa=True), before)
        self.assertNoWrite()

    def test_no_change(self):
        rc, _, err = self.apply()
        self.assertEqual(rc, 0, err)
        seq = self.last_seq()
        rc, out, err = self.diff()
        self.assertEqual((rc, out), (0, ""), err)
        self.assertEqual(err, "")
        self.assertNoWrite(seq)
        # one GET and one dry-run apply per object, and GET /version
        n = len([e for e in self.log() if e["seq"] > seq])
        self.assertEqual(n, 1 + 2 * 8)

    def test_change(self):
        """A spec change: that field alone differs (no generation, no resourceVersion)."""
        rc, _, err = self.apply()
        self.assertEqual(rc, 0, err)
        seq = self.last_seq()
        self.write("agents.yaml", base.specs(AGENTS).replace("ports: [443]", "ports: [8443]"))
        rc, out, err = self.diff()
        self.assertEqual(rc, 1, err)
        self.assertEqual(files(out), [f"{NP}.agents.isolate-job-allow"])
        self.assertEqual(changes(out), ["-    - port: 443", "+    - port: 8443"])
        self.assertNoWrite(seq)
        self.assertEqual(self.objects()[("NetworkPolicy", NS, "isolate-job-allow")]["spec"]
                         ["egress"][-1]["ports"][0]["port"], 443)

    def test_missing(self):
        """A policy deleted on the cluster: shown whole, as apply would create it."""
        rc, _, err = self.apply()
        self.assertEqual(rc, 0, err)
        self.api("DELETE", f"/apis/networking.k8s.io/v1/namespaces/{NS}/networkpolicies/"
                 "isolate-job-none")
        rc, out, err = self.diff()
        self.assertEqual(rc, 1, err)
        self.assertEqual(files(out), [f"{NP}.agents.isolate-job-none"])
        self.assertTrue(all(l.startswith("+") for l in changes(out)), out)
        self.assertIn("+  name: isolate-job-none", out)

    def test_pod_image(self):
        """A Pod's image may change in place: the server's dry run says so, no note."""
        rc, _, err = self.apply()
        self.assertEqual(rc, 0, err)
        self.write("agents.yaml", base.specs(AGENTS).replace(
            "image: ghcr.io/acme/agent:1.0\n  egress: {mode: none}",
            "image: ghcr.io/acme/agent:1.1\n  egress: {mode: none}"))
        rc, out, err = self.diff()
        self.assertEqual((rc, err), (1, ""))
        self.assertEqual(files(out), ["v1.Pod.agents.job-none"])
        self.assertEqual(changes(out), ["-  - image: ghcr.io/acme/agent:1.0",
                                        "+  - image: ghcr.io/acme/agent:1.1"])

    def test_pod_immutable(self):
        """A Pod's spec changed: the server refuses the dry run; diff shows it anyway."""
        rc, _, err = self.apply()
        self.assertEqual(rc, 0, err)
        self.write("agents.yaml", "---\n".join(
            base.spec(n, m, extra="  args: [run, --fast]\n" if n == "job-none" else "")
            for n, m in AGENTS.items()))
        seq = self.last_seq()
        rc, out, err = self.diff()
        self.assertEqual(rc, 1, err)
        self.assertEqual(files(out), ["v1.Pod.agents.job-none"])
        # keys sorted as kubectl prints them: args comes first in the container
        self.assertEqual(changes(out), ["-  - image: ghcr.io/acme/agent:1.0", "+  - args:",
                                        "+    - run", '+    - "--fast"',
                                        "+    image: ghcr.io/acme/agent:1.0"])
        self.assertEqual(err, "agentfence: warning: v1.Pod.agents.job-none: its spec changed: "
                         "apply would leave it, apply --recreate would replace it\n")
        self.assertIn(("PATCH", "job-none", 422),
                      [(e["method"], e.get("name"), e["status"]) for e in self.log()
                       if e["seq"] > seq])
        self.assertNoWrite(seq)

    def test_server_error(self):
        rc, _, err = self.apply()
        self.assertEqual(rc, 0, err)
        self.fault(action="403", always=True, method="GET", path="isolate-job-gw$")
        rc, out, err = self.diff()
        self.assertEqual(rc, 3, err)
        self.assertIn("agentfence: error: /apis/networking.k8s.io/v1/namespaces/agents/"
                      "networkpolicies/isolate-job-gw: cannot read the live object: ", err)
        self.assertEqual(out, "")   # the rest is the same

    def test_dry_run_refused(self):
        self.fault(action="500", always=True, method="PATCH", path="isolate-job-none$")
        rc, out, err = self.diff()
        self.assertEqual(rc, 3, err)
        self.assertIn("isolate-job-none: the server's dry run refused it: ", err)
        # the other objects are still shown
        self.assertIn(f"{NP}.agents.isolate-job-allow", out)
        self.assertNotIn(f"{NP}.agents.isolate-job-none", out)

    def test_unreachable(self):
        kc = self.write_kubeconfig("kc2", {"token": "wrong-token"})
        rc, out, err = self.run_af("diff", "--kubeconfig", kc, self.spec,
                                   env={"TMPDIR": self.tmpdir})
        self.assertEqual((rc, out), (3, ""), err)
        self.assertEqual(os.listdir(self.tmpdir), [])

    def test_invalid_spec(self):
        bad = self.write("bad.yaml", "apiVersion: agentfence.dev/v1alpha1\nkind: Nope\n")
        rc, out, err = self.run_af("diff", "--kubeconfig", self.kubeconfig, bad)
        self.assertEqual((rc, out), (3, ""), err)
        self.assertEqual(self.log(), [])

    def test_external_diff(self):
        rc, _, err = self.apply()
        self.assertEqual(rc, 0, err)
        self.write("agents.yaml", base.specs(AGENTS).replace("ports: [443]", "ports: [8443]"))
        rc, out, err = self.diff(env={"AGENTFENCE_EXTERNAL_DIFF": "diff -q",
                                      "KUBECTL_EXTERNAL_DIFF": "false"})
        self.assertEqual(rc, 1, err)
        self.assertRegex(out, r"^Files \S+/LIVE-\w+/networking.k8s.io.v1.NetworkPolicy.agents."
                         r"isolate-job-allow and \S+/MERGED-\w+/\S+ differ\n$")
        rc, out, err = self.diff(env={"KUBECTL_EXTERNAL_DIFF": "diff -q"})
        self.assertEqual(rc, 1, err)
        self.assertTrue(out.startswith("Files "), out)
        # kubectl's rule for arguments; a program failing; a program missing
        rc, out, err = self.diff(env={"AGENTFENCE_EXTERNAL_DIFF": "diff -u;rm"})
        self.assertEqual(rc, 3)
        self.assertIn("$AGENTFENCE_EXTERNAL_DIFF: argument \"-u;rm\" may hold only letters, "
                      "digits, '-' and '='", err)
        rc, out, err = self.diff(env={"AGENTFENCE_EXTERNAL_DIFF": "diff --bogus"})
        self.assertEqual(rc, 3)
        self.assertIn("diff failed (exit status 2)", err)
        rc, out, err = self.diff(env={"AGENTFENCE_EXTERNAL_DIFF": "no-such-diff-program"})
        self.assertEqual(rc, 3)
        # posix_spawnp says ENOENT (under valgrind: the child's exit status 127)
        self.assertRegex(err, r"cannot run no-such-diff-program: No such file or directory|"
                         r"no-such-diff-program failed \(exit status 127\)")

    def test_help(self):
        rc, out, err = self.run_af("diff", "--help")
        self.assertEqual(rc, 0, err)
        self.assertIn("writes nothing and takes no Lease", out)
        for line in ("  0  diff: no difference", "  1  diff: the objects differ from the live ones",
                     "  2  usage error", "  3  diff: an error"):
            self.assertIn(line, out)
        self.assertEqual(self.run_af("diff", kubeconfig=False)[0], 2)
        self.assertEqual(self.run_af("diff", "--prune", self.spec)[0], 2)


class UnchangedTest(base.Base):
    """apply says `unchanged` when a PATCH left the resourceVersion as listed."""

    def setUp(self):
        super().setUp()
        self.spec = self.write("agents.yaml", base.specs(AGENTS))

    def share(self, path, obj):
        """Another manager applies a field agentfence sets, with the same value."""
        ctx = ssl.create_default_context(cafile=os.path.join(TMP, "certs", "ca.crt"))
        req = urllib.request.Request(
            f"https://127.0.0.1:{SRV['port']}{path}?fieldManager=other", method="PATCH",
            data=json.dumps(obj).encode(),
            headers={"Authorization": "Bearer " + base.TOKEN,
                     "Content-Type": "application/apply-patch+yaml"})
        with urllib.request.urlopen(req, context=ctx, timeout=10) as r:
            return json.loads(r.read())

    def test_noop_patch_unchanged(self):
        rc, out, err = self.apply()
        self.assertEqual(rc, 0, err)
        got = self.share(f"/apis/networking.k8s.io/v1/namespaces/{NS}/networkpolicies/"
                         "isolate-job-none",
                         {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
                          "metadata": {"name": "isolate-job-none", "namespace": NS,
                                       "labels": {"app.kubernetes.io/managed-by": "agentfence"}}})
        rv = got["metadata"]["resourceVersion"]
        seq = self.log()[-1]["seq"]
        # the LIST cannot tell (another manager shares a field): a PATCH, which
        # the server takes as a no-op (its resourceVersion stays)
        rc, out, err = self.apply()
        self.assertEqual(rc, 0, err)
        self.assertIn("networkpolicy/isolate-job-none unchanged", out.splitlines())
        self.assertTrue(all(l.endswith(" unchanged") for l in out.splitlines()), out)
        patches = [e for e in self.log() if e["seq"] > seq and e["method"] == "PATCH"]
        self.assertEqual([(e["name"], e["write"]["op"]) for e in patches],
                         [("isolate-job-none", "noop")])
        self.assertEqual(self.objects()[("NetworkPolicy", NS, "isolate-job-none")]
                         ["metadata"]["resourceVersion"], rv)
        # a real change is still "configured"
        self.write("agents.yaml", base.specs(AGENTS).replace("ports: [443]", "ports: [8443]"))
        rc, out, err = self.apply()
        self.assertEqual(rc, 0, err)
        self.assertIn("networkpolicy/isolate-job-allow configured", out.splitlines())
        self.assertIn("networkpolicy/isolate-job-none unchanged", out.splitlines())

    def test_fakeapi_noop_keeps_resource_version(self):
        """The test server, as the real one: a no-op apply stores nothing."""
        rc, out, err = self.apply()
        self.assertEqual(rc, 0, err)
        objs = self.objects()
        path = f"/apis/networking.k8s.io/v1/namespaces/{NS}/networkpolicies/isolate-job-allow"
        o = objs[("NetworkPolicy", NS, "isolate-job-allow")]
        body = {k: v for k, v in o.items() if k != "status"}
        body["metadata"] = {k: v for k, v in o["metadata"].items()
                            if k in ("name", "namespace", "labels", "annotations")}
        ctx = ssl.create_default_context(cafile=os.path.join(TMP, "certs", "ca.crt"))
        req = urllib.request.Request(
            f"https://127.0.0.1:{SRV['port']}{path}?fieldManager=other", method="PATCH",
            data=json.dumps(body).encode(),
            headers={"Authorization": "Bearer " + base.TOKEN,
                     "Content-Type": "application/apply-patch+yaml"})
        with urllib.request.urlopen(req, context=ctx, timeout=10) as r:
            first = json.loads(r.read())
        with urllib.request.urlopen(req, context=ctx, timeout=10) as r:
            second = json.loads(r.read())
        self.assertEqual(first["metadata"]["resourceVersion"],
                         second["metadata"]["resourceVersion"])
        self.assertEqual(self.log()[-1]["write"]["op"], "noop")


if __name__ == "__main__":
    unittest.main()
