# SPDX-License-Identifier: Apache-2.0
"""`agentfence probe` against a network the test builds itself.

Every run of the probe happens inside a new network namespace (`unshare
-rn`: a user and a network namespace, so it also works without root)
holding only what the case sets up: loopback, a veth pair whose two ends
are both inside, the metadata and cluster addresses assigned to it, and
routes of the kinds a fence produces (a neighbour that swallows every
frame, `prohibit`, `unreachable`, no route at all). No packet can leave
that namespace: it has no other interface and no route out.

Without network namespaces the tests cannot run. Then they fail when run
as root (CI runs as root in a container where `unshare` works, so there a
failure means something broke) and are skipped, loudly, otherwise (user
namespaces are often disabled for unprivileged users).
"""
import os
import shutil
import subprocess
import tempfile
import textwrap
import time
import unittest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.path.abspath(os.environ.get("AGENTFENCE", os.path.join(ROOT, "build", "agentfence")))

# the veth pair: d0 carries the addresses; a frame sent to the fake MAC is
# dropped by d1 (not its address, not promiscuous): a SYN that goes nowhere
SETUP = """\
set -e
PIDS=
ip link set lo up
ip link add d0 type veth peer name d1
ip link set d0 up
ip link set d1 up
blackhole() { ip route add "$1" dev d0; ip neigh add "$2" lladdr 02:00:00:00:00:01 dev d0 nud permanent; }
# listen ADDRESS PORT: a TCP listener, in the background, ready when it returns
listen() {
  python3 -c 'import socket, sys, time
fam = socket.AF_INET6 if ":" in sys.argv[1] else socket.AF_INET
s = socket.socket(fam)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((sys.argv[1], int(sys.argv[2])))
s.listen(64)
open(sys.argv[3], "w").close()
time.sleep(60)' "$1" "$2" "$TMP/ready.$$.$2" </dev/null >/dev/null 2>&1 &
  PIDS="$PIDS $!"
  i=0; while [ ! -e "$TMP/ready.$$.$2" ]; do i=$((i + 1)); [ $i -lt 100 ] || exit 98; sleep 0.05; done
  rm -f "$TMP/ready.$$.$2"
}
"""

BUILTIN = 0  # how many destinations the probe tries with no TARGET and no environment
NETNS = None  # None: not probed yet; "" when usable; else why not


def netns_problem():
    global NETNS
    if NETNS is None:
        if not shutil.which("unshare") or not shutil.which("ip"):
            NETNS = "unshare (util-linux) or ip (iproute2) is missing"
        else:
            r = subprocess.run(["unshare", "-rn", "sh", "-c",
                                "ip link set lo up && ip link add d0 type veth peer name d1"],
                               capture_output=True, text=True)
            NETNS = "" if r.returncode == 0 else \
                f"cannot create a network namespace with a veth pair: {r.stderr.strip()}"
    return NETNS


def setUpModule():
    why = netns_problem()
    if why and os.geteuid() == 0:
        raise RuntimeError(f"tests/probe: {why} (running as root, where it must work)")
    if why:
        raise unittest.SkipTest(f"tests/probe SKIPPED, not run: {why}")
    # the built-in destinations (the catalogue's endpoints), counted from -v
    global BUILTIN
    r = probe("", ["-v", "--wait", "0"])
    BUILTIN = len([x for x in r.lines if ": unreachable: " in x])
    assert r.rc == 0 and BUILTIN >= 8, r.err


class Run:
    def __init__(self, rc, err, secs):
        self.rc, self.err, self.secs = rc, err, secs
        self.lines = err.splitlines()


def probe(script, args, env=None, timeout=30):
    """Run `script` (after SETUP) in a new network namespace, then
    `agentfence probe ARGS`; the probe's exit code, stderr and run time."""
    with tempfile.TemporaryDirectory() as tmp:
        quoted = " ".join("'" + a.replace("'", "'\\''") + "'" for a in args)
        full = SETUP + textwrap.dedent(script) + f"""
set +e
s=$(date +%s%N)
"$AF" probe {quoted} 2>"$TMP/err"
rc=$?
e=$(date +%s%N)
echo $((e - s)) >"$TMP/ns"
[ -z "$PIDS" ] || kill $PIDS 2>/dev/null
exit $rc
"""
        e = {"PATH": os.environ["PATH"], "AF": BIN, "TMP": tmp, "LC_ALL": "C"}
        e.update(env or {})
        r = subprocess.run(["unshare", "-rn", "sh", "-c", full], env=e, capture_output=True,
                           text=True, timeout=timeout)
        if not os.path.exists(os.path.join(tmp, "ns")):
            raise AssertionError(f"the namespace setup failed ({r.returncode}): {r.stderr}")
        with open(os.path.join(tmp, "err")) as f:
            err = f.read()
        with open(os.path.join(tmp, "ns")) as f:
            secs = int(f.read()) / 1e9
    return Run(r.returncode, err, secs)


META = "169.254.169.254:80 (cloud metadata: AWS, GCP, Azure, OCI, OpenStack)"


class Verdicts(unittest.TestCase):
    """Each way a connect ends, and the verdict it gives."""

    def test_listener_on_metadata_is_reachable(self):
        r = probe("ip addr add 169.254.169.254/32 dev d0\nlisten 169.254.169.254 80\n",
                  ["--wait", "0"])
        self.assertEqual(r.rc, 1, r.err)
        self.assertIn(f"agentfence probe: reachable: {META}", r.lines)
        self.assertTrue(r.lines[-1].startswith(f"agentfence probe: 1 of {BUILTIN} destinations "
                                               "reachable after "), r.lines[-1])
        self.assertEqual(len([x for x in r.lines if ": reachable: " in x]), 1, r.err)

    def test_refused_is_reachable(self):
        # the addresses exist, nothing listens: a RST comes back
        r = probe("""
            ip addr add 169.254.170.2/32 dev d0
            ip -6 addr add fd00:ec2::254/128 dev d0 nodad
            """, ["-v", "--wait", "0"])
        self.assertEqual(r.rc, 1, r.err)
        self.assertIn("agentfence probe: reachable: 169.254.170.2:80 "
                      "(AWS ECS task metadata and credentials): Connection refused", r.lines)
        self.assertIn("agentfence probe: reachable: [fd00:ec2::254]:80 "
                      "(AWS instance metadata over IPv6): Connection refused", r.lines)

    def test_dropped_is_unreachable(self):
        # routed into the veth to a neighbour that drops it: no answer at all
        r = probe("blackhole 10.0.0.0/16 10.0.0.1\n",
                  ["-v", "--timeout", "300ms", "--wait", "0", "10.0.0.1:80=pod range"])
        self.assertEqual(r.rc, 0, r.err)
        self.assertIn("agentfence probe: unreachable: 10.0.0.1:80 (pod range): no answer in time", r.lines)
        self.assertEqual(r.lines[-1], f"agentfence probe: all {BUILTIN + 1} destinations unreachable")
        self.assertGreaterEqual(r.secs, 0.3)

    def test_rejects_and_no_route_are_unreachable(self):
        r = probe("""
            ip route add prohibit 10.1.0.0/16
            ip route add unreachable 10.2.0.0/16
            """, ["-v", "--wait", "0", "10.1.0.1:80=prohibit", "10.2.0.1:443", "10.3.0.1:80=no route"])
        self.assertEqual(r.rc, 0, r.err)
        self.assertIn("agentfence probe: unreachable: 10.1.0.1:80 (prohibit): Permission denied", r.lines)
        self.assertIn("agentfence probe: unreachable: 10.2.0.1:443: No route to host", r.lines)
        self.assertIn("agentfence probe: unreachable: 10.3.0.1:80 (no route): Network is unreachable",
                      r.lines)
        self.assertIn(f"agentfence probe: unreachable: {META}: Network is unreachable", r.lines)
        self.assertLess(r.secs, 0.5, "no connect should have waited for its timeout")

    def test_loopback_target(self):
        r = probe("listen 127.0.0.1 8080\n", ["--wait", "0", "127.0.0.1:8080=a loopback listener",
                                               "[::1]:8081"])
        self.assertEqual(r.rc, 1, r.err)
        self.assertIn("agentfence probe: reachable: 127.0.0.1:8080 (a loopback listener)", r.lines)
        self.assertIn("agentfence probe: reachable: [::1]:8081", r.lines)

    def test_parallel(self):
        # 40 destinations that all time out take one timeout, not forty
        targets = [f"10.0.{i // 200}.{i % 200 + 2}:80" for i in range(40)]
        r = probe("blackhole 10.0.0.0/16 10.0.0.2\n" + "".join(
            f"ip neigh replace {t[:-3]} lladdr 02:00:00:00:00:01 dev d0 nud permanent\n"
            for t in targets), ["--timeout", "1s", "--wait", "0", *targets])
        self.assertEqual(r.rc, 0, r.err)
        self.assertEqual(r.lines[-1], f"agentfence probe: all {BUILTIN + 40} destinations unreachable")
        self.assertGreaterEqual(r.secs, 1.0)
        self.assertLess(r.secs, 3.0, "the connects ran one after another")


class Wait(unittest.TestCase):
    def test_fence_arrives_during_wait(self):
        # the metadata address answers, then goes away after 1 s (the CNI
        # enforcing the policy late): the probe waits for it and succeeds
        r = probe("""
            ip addr add 169.254.169.254/32 dev d0
            listen 169.254.169.254 80
            (sleep 1; ip addr del 169.254.169.254/32 dev d0) </dev/null >/dev/null 2>&1 &
            """, ["--timeout", "300ms", "--wait", "10s"])
        self.assertEqual(r.rc, 0, r.err)
        self.assertEqual(r.lines[0], f"agentfence probe: 1 of {BUILTIN} destinations reachable; "
                         "waiting up to 10000ms for the fence")
        self.assertEqual(r.lines[-1], f"agentfence probe: all {BUILTIN} destinations unreachable")
        self.assertGreaterEqual(r.secs, 0.9)
        self.assertLess(r.secs, 5.0)

    def test_fence_never_arrives(self):
        r = probe("ip addr add 169.254.169.254/32 dev d0\nlisten 169.254.169.254 80\n",
                  ["--timeout", "300ms", "--wait", "2s"])
        self.assertEqual(r.rc, 1, r.err)
        self.assertIn(f"agentfence probe: reachable: {META}", r.lines)
        self.assertGreaterEqual(r.secs, 2.0)
        self.assertLess(r.secs, 4.5)

    def test_no_wait_is_one_round(self):
        r = probe("ip addr add 169.254.169.254/32 dev d0\nlisten 169.254.169.254 80\n",
                  ["--wait", "0"])
        self.assertEqual(r.rc, 1, r.err)
        self.assertNotIn("waiting", r.err)
        self.assertLess(r.secs, 1.0)


class EnvSources(unittest.TestCase):
    def test_api_server_and_node(self):
        r = probe("""
            ip addr add 10.96.0.1/32 dev d0
            ip addr add 10.0.5.6/32 dev d0
            listen 10.96.0.1 6443
            """, ["--wait", "0"],
            env={"KUBERNETES_SERVICE_HOST": "10.96.0.1", "KUBERNETES_SERVICE_PORT": "6443",
                 "AGENTFENCE_NODE_IP": "10.0.5.6"})
        self.assertEqual(r.rc, 1, r.err)
        self.assertIn("agentfence probe: reachable: 10.96.0.1:6443 "
                      "(API server, from KUBERNETES_SERVICE_HOST)", r.lines)
        # nothing on 10250 here: refused, which proves the path open
        self.assertIn("agentfence probe: reachable: 10.0.5.6:10250 "
                      "(kubelet, from AGENTFENCE_NODE_IP)", r.lines)

    def test_ipv6_api_server_default_port_fenced(self):
        r = probe("ip -6 route add unreachable fd00:96::/64\n", ["-v", "--wait", "0"],
                  env={"KUBERNETES_SERVICE_HOST": "fd00:96::1", "AGENTFENCE_NODE_IP": ""})
        self.assertEqual(r.rc, 0, r.err)
        self.assertIn("agentfence probe: unreachable: [fd00:96::1]:443 "
                      "(API server, from KUBERNETES_SERVICE_HOST): No route to host", r.lines)
        self.assertFalse([x for x in r.lines if "AGENTFENCE_NODE_IP" in x], "an empty variable adds nothing")

    def test_bad_env(self):
        for env, want in (({"KUBERNETES_SERVICE_HOST": "kubernetes.default"},
                           'agentfence: probe: $KUBERNETES_SERVICE_HOST="kubernetes.default": not an IP address'),
                          ({"KUBERNETES_SERVICE_HOST": "10.96.0.1", "KUBERNETES_SERVICE_PORT": "https"},
                           'agentfence: probe: $KUBERNETES_SERVICE_PORT="https": not a port (1 to 65535)'),
                          ({"AGENTFENCE_NODE_IP": "10.0.0.1/32"},
                           'agentfence: probe: $AGENTFENCE_NODE_IP="10.0.0.1/32": not an IP address')):
            with self.subTest(env=env):
                r = probe("", ["--wait", "0"], env=env)
                self.assertEqual(r.rc, 2, r.err)
                self.assertEqual(r.lines, [want, "try 'agentfence probe --help'"])


class Usage(unittest.TestCase):
    CASES = (
        (["10.0.0.1"], '"10.0.0.1": expected ADDRESS:PORT or [IPv6]:PORT, with an optional =LABEL'),
        (["fd00::1:80"], '"fd00::1:80": expected ADDRESS:PORT or [IPv6]:PORT, with an optional =LABEL'),
        (["[fd00::1]80"], '"[fd00::1]80": expected ADDRESS:PORT or [IPv6]:PORT, with an optional =LABEL'),
        (["10.0.0.1:0"], '"10.0.0.1:0": not a port (1 to 65535)'),
        (["10.0.0.1:65536"], '"10.0.0.1:65536": not a port (1 to 65535)'),
        (["10.0.0.1:080"], '"10.0.0.1:080": not a port (1 to 65535)'),
        (["10.0.0.01:80"], '"10.0.0.01:80": not an IP address'),
        (["metadata.google.internal:80"], '"metadata.google.internal:80": not an IP address'),
        (["10.0.0.1:80=a\tb"], '"10.0.0.1:80=a\tb": the label is longer than 120 characters or not printable'),
        (["--timeout", "soon"], '--timeout: "soon" is not a duration (e.g. 30s, 1m30s, 500ms, 1h)'),
        (["--wait", "-1s"], '--wait: "-1s" is out of range (more than 0 or 0, at most 24h)'),
        (["--cluster", "p.yaml"],
         "unknown option --cluster (it is an option of compile, validate, check, apply, delete, "
         "diff, audit, explain)"),
        (["--dry-run"], "unknown option --dry-run (it is an option of apply, delete)"),
    )

    def test_usage_errors(self):
        for args, want in self.CASES:
            with self.subTest(args=args):
                r = probe("", args)
                self.assertEqual(r.rc, 2, r.err)
                self.assertEqual(r.lines, [f"agentfence: probe: {want}", "try 'agentfence probe --help'"])
                self.assertLess(r.secs, 0.5, "a usage error must not probe")

    def test_duplicates_are_probed_once(self):
        r = probe("", ["-v", "--wait", "0", "169.254.169.254:80=again", "10.9.0.1:80=x", "10.9.0.1:80=y"])
        self.assertEqual(r.rc, 0, r.err)
        self.assertEqual(r.lines[-1], f"agentfence probe: all {BUILTIN + 1} destinations unreachable")
        self.assertEqual(len([x for x in r.lines if "10.9.0.1:80" in x]), 1)


class CompiledPod(unittest.TestCase):
    """The init container the compiler writes, run as written."""

    PROFILE = textwrap.dedent("""\
        apiVersion: agentfence.dev/v1alpha1
        kind: ClusterProfile
        metadata: {name: probe-test}
        spec:
          podCIDRs: [10.0.0.0/16, "fd00:10::/56"]
          serviceCIDRs: [172.20.0.0/16]
          nodeCIDRs: [192.168.0.0/24]
          probe: {image: "example.invalid/agentfence:test", waitSeconds: 1}
        """)
    SPEC = textwrap.dedent("""\
        apiVersion: agentfence.dev/v1alpha1
        kind: AgentIsolation
        metadata: {name: a, namespace: agents}
        spec: {image: x, egress: {mode: public}}
        """)

    def init_args(self):
        import yaml
        with tempfile.TemporaryDirectory() as tmp:
            for name, text in (("p.yaml", self.PROFILE), ("a.yaml", self.SPEC)):
                with open(os.path.join(tmp, name), "w") as f:
                    f.write(text)
            out = subprocess.run([BIN, "compile", "--cluster", os.path.join(tmp, "p.yaml"),
                                  os.path.join(tmp, "a.yaml")], capture_output=True, text=True,
                                 check=True).stdout
        pod = [d for d in yaml.safe_load_all(out) if d and d["kind"] == "Pod"][0]
        (c,) = pod["spec"]["initContainers"]
        self.assertEqual(c["args"][0], "probe")
        return c["args"][1:]

    def test_fenced_pod_passes(self):
        args = self.init_args()
        self.assertIn("10.0.0.1:80=pod range 10.0.0.0/16", args)
        r = probe("blackhole 10.0.0.0/16 10.0.0.1\n", args, env={"AGENTFENCE_NODE_IP": "192.168.0.7"})
        self.assertEqual(r.rc, 0, r.err)

    def test_open_pod_range_fails(self):
        r = probe("ip addr add 10.0.0.1/32 dev d0\nip -6 addr add fd00:10::1/128 dev d0 nodad\n",
                  self.init_args())
        self.assertEqual(r.rc, 1, r.err)
        self.assertIn("agentfence probe: reachable: 10.0.0.1:80 (pod range 10.0.0.0/16)", r.lines)
        self.assertIn("agentfence probe: reachable: [fd00:10::1]:80 (pod range fd00:10::/56)", r.lines)
        self.assertGreaterEqual(r.secs, 1.0, "waitSeconds: 1 was not honoured")


if __name__ == "__main__":
    unittest.main()
