# SPDX-License-Identifier: Apache-2.0
"""Concurrent agentfence runs against the fake API server (tests/apiserver).

    python3 -m unittest discover -s tests/apply -p 'test_concurrency.py'

AGENTFENCE names the binary (default build/agentfence); CONC_ROUNDS the
rounds of the race (default 24).

The race: apply, delete and apply --prune of the same agents, started
together, round after round, with a delay injected at a different request
index each round (the Nth request the server receives sleeps 0.15 s, so
each round interleaves the three runs differently). After every round the
server's write log (write_seq: the true commit order) is replayed: at no
moment may a Pod exist while one of its policies does not. Without the
namespace lease and the read-back / precondition checks this fails (the
interleaving of issue 12: delete removes the Pod, apply stores the policy
and creates the Pod anew, delete removes the policy).

Also: a run waits for a lease another run holds and says who holds it;
takes over a lease its holder stopped renewing; gives up after --timeout;
delete keeps the policies of a Pod re-created by another writer (the uid
precondition); apply deletes the Pod it wrote when another writer deleted
a policy meanwhile (the read-back).
"""

import json
import os
import shutil
import signal
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import test_apply as base  # noqa: E402  (its helpers; its tests are not collected here)

ROUNDS = int(os.environ.get("CONC_ROUNDS", "24"))
AGENTS = {"job-none": "none", "job-public": "public", "job-gw": "gateway"}
NS = base.NS


def need(name, mode):
    n = [("NetworkPolicy", NS, "isolate-" + name)]
    if mode == "gateway":
        n.append(("CiliumEgressGatewayPolicy", "", f"egress-{NS}.{name}"))
    return n


def unfenced_moments(log, agents=AGENTS):
    """The write_seqs after which a Pod existed without one of its policies."""
    writes = sorted((e["write"] for e in log if "write_seq" in e.get("write", {})),
                    key=lambda w: w["write_seq"])
    live, bad = set(), []
    for w in writes:
        key = (w["kind"], w["namespace"], w["name"])
        if w["op"] == "delete":
            live.discard(key)
        elif w["op"] in ("create", "update"):
            live.add(key)
        for name, mode in agents.items():
            if ("Pod", NS, name) in live and any(k not in live for k in need(name, mode)):
                bad.append((w["write_seq"], name))
    return bad


def setUpModule():
    global TMP, SRV
    if not os.access(base.BIN, os.X_OK):
        raise unittest.SkipTest(f"{base.BIN} is not built (run make)")
    TMP = tempfile.mkdtemp(prefix="agentfence-conc-")
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


class ConcurrencyTest(base.Base):
    def setUp(self):
        super().setUp()
        self.spec = self.write("agents.yaml", base.specs(AGENTS))

    def start(self, *args):
        argv = [base.BIN, args[0], "--kubeconfig", self.kubeconfig, *args[1:]]
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": self.home, "LC_ALL": "C"}
        return subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                env=env)

    def api(self, method, path):
        ctx = ssl.create_default_context(cafile=os.path.join(TMP, "certs", "ca.crt"))
        req = urllib.request.Request(f"https://127.0.0.1:{SRV['port']}{path}", method=method,
                                     headers={"Authorization": "Bearer " + base.TOKEN})
        with urllib.request.urlopen(req, context=ctx, timeout=10) as r:
            return json.loads(r.read())

    def test_apply_delete_prune_race(self):
        keep = self.write("keep.yaml", base.specs({"job-none": "none"}))
        bad_rounds, total = [], 0
        for rnd in range(ROUNDS):
            self.ctl("POST", "/reset")
            rc, _, err = self.run_af("apply", self.spec)
            self.assertEqual(rc, 0, err)
            start = len(self.log())
            # one delayed request, at a different index each round
            self.fault(action="delay", delay=0.15, nth=start + 1 + rnd % 30)
            procs = [self.start("apply", self.spec), self.start("delete", self.spec),
                     self.start("apply", "--prune", keep)]
            outs = [p.communicate(timeout=120) for p in procs]
            for p, (out, err) in zip(procs, outs):
                self.assertIn(p.returncode, (0, 3), err)
                self.assertNotIn("Sanitizer", err)
            bad = unfenced_moments(self.log())
            total += len(bad)
            if bad:
                bad_rounds.append((rnd, bad))
        self.assertEqual(bad_rounds, [], f"{total} unfenced moments in {len(bad_rounds)} of "
                         f"{ROUNDS} rounds")

    def seed_lease(self, holder, duration):
        self.seed({"apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
                   "metadata": {"name": "agentfence", "namespace": NS},
                   "spec": {"holderIdentity": holder, "leaseDurationSeconds": duration,
                            "renewTime": "2026-01-01T00:00:00.000000Z"}})

    def test_waits_for_a_held_lease_then_gives_up(self):
        self.seed_lease("ci-7/4242/abcdef", 3600)
        t0 = time.monotonic()
        rc, out, err = self.run_af("apply", "--timeout", "1s", self.spec)
        self.assertEqual(rc, 3, err)
        self.assertGreaterEqual(time.monotonic() - t0, 1.0)
        self.assertIn("waiting for the lease coordination.k8s.io/agentfence, held by "
                      "ci-7/4242/abcdef", err)
        self.assertIn("still holds the lease", err)
        self.assertIn("not applied: its namespace's lease was not taken", err)
        self.assertEqual(self.objects(), {})
        self.assertFalse([e for e in self.log() if e["method"] == "PATCH"])

    def test_takes_over_an_expired_lease(self):
        # its holder stopped renewing: after its duration by our clock it is ours
        self.seed_lease("crashed/1/000000", 1)
        rc, out, err = self.run_af("apply", self.spec)
        self.assertEqual(rc, 0, err)
        self.assertIn("took over the lease of crashed/1/000000", err)
        self.assertEqual({k[2] for k in self.objects() if k[0] == "Pod"}, set(AGENTS))
        puts = [e for e in self.log() if e.get("kind") == "Lease" and e["method"] == "PUT"]
        self.assertEqual(puts[0]["status"], 200)
        # released at the end
        self.assertNotIn("Lease", {o["kind"] for o in self.ctl("GET", "/state")["objects"]})

    def test_second_run_waits_for_the_first(self):
        # the first run is slow (every Pod write takes 1 s): the second waits
        self.fault(action="delay", delay=1, always=True, method="PATCH", path="/pods/")
        first = self.start("apply", self.spec)
        time.sleep(0.5)
        second = self.start("delete", self.spec)
        out1, err1 = first.communicate(timeout=60)
        out2, err2 = second.communicate(timeout=60)
        self.assertEqual((first.returncode, second.returncode), (0, 0), err1 + err2)
        self.assertIn("waiting for the lease", err2)
        self.assertEqual(self.objects(), {})
        self.assertEqual(unfenced_moments(self.log()), [])

    def test_delete_keeps_policies_of_a_recreated_pod(self):
        self.assertEqual(self.run_af("apply", self.spec)[0], 0)
        pod = self.objects()[("Pod", NS, "job-none")]
        # the DELETE of job-none's Pod is slow; meanwhile another writer
        # replaces the Pod (a new uid)
        self.fault(action="delay", delay=1.5, method="DELETE", path="/pods/job-none$")
        p = self.start("delete", self.spec)
        time.sleep(0.7)
        self.seed({"apiVersion": "v1", "kind": "Pod",
                   "metadata": {"name": "job-none", "namespace": NS,
                                "labels": pod["metadata"]["labels"]},
                   "spec": {"containers": [{"name": "agent", "image": "x:1"}]}})
        out, err = p.communicate(timeout=60)
        self.assertEqual(p.returncode, 3, err)
        self.assertIn("another writer replaced the Pod", err)
        objs = self.objects()
        self.assertIn(("Pod", NS, "job-none"), objs)
        self.assertIn(("NetworkPolicy", NS, "isolate-job-none"), objs)
        self.assertNotIn(("Pod", NS, "job-public"), objs)
        self.assertEqual(unfenced_moments(self.log()), [])

    def test_apply_deletes_its_pod_when_a_policy_went_meanwhile(self):
        # the read-back of job-none's policy is slow; meanwhile another
        # writer (no lease) deletes the policy
        self.fault(action="delay", delay=1.5, method="GET", path="/networkpolicies/isolate-job-none$")
        p = self.start("apply", self.spec)
        deadline = time.monotonic() + 10
        while ("Pod", NS, "job-none") not in self.objects() and time.monotonic() < deadline:
            time.sleep(0.05)
        self.api("DELETE", f"/apis/networking.k8s.io/v1/namespaces/{NS}/networkpolicies/"
                 "isolate-job-none")
        out, err = p.communicate(timeout=60)
        self.assertEqual(p.returncode, 3, err)
        self.assertIn("missing right after its Pod was written", err)
        self.assertIn("so the Pod was deleted", err)
        self.assertNotIn(("Pod", NS, "job-none"), self.objects())
        self.assertIn(("Pod", NS, "job-public"), self.objects())


if __name__ == "__main__":
    unittest.main()
