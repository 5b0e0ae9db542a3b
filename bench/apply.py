#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""bench/apply.py BINARY OUTDIR [N]: agentfence apply against kubectl apply --server-side.

Starts the test API server (tests/apiserver/fakeapi.py, TLS with the test
CA of mkcerts.sh, a bearer token), generates N agents (bench/gen.py,
default 1000) and compiles them once (BINARY compile: the same objects
for both tools). Then, in rounds, on an emptied server each time:

  agentfence new        BINARY apply FILE            (every object created)
  agentfence unchanged  BINARY apply FILE            (again: nothing to do)
  kubectl new           kubectl apply --server-side -f OBJECTS
  kubectl unchanged     the same again

kubectl runs with --validate=false (the fake server serves no OpenAPI
document; validation is client work that agentfence does not do either)
and a warm discovery cache (one untimed run first). Prints the medians,
the requests each sent (from the server's log) and the ratio of the
unchanged re-apply times (target: agentfence at least 10x faster); writes
OUTDIR/apply-results.md. Exit 1 when a run fails.

Environment: BENCH_APPLY_ROUNDS (default 3), KUBECTL (default kubectl
on PATH). Where a user has a real cluster, the same comparison is
BINARY apply --kubeconfig K FILE against kubectl --kubeconfig K apply
--server-side -f OBJECTS, run twice each.
"""
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
FAKEAPI = os.path.join(ROOT, "tests", "apiserver", "fakeapi.py")
MKCERTS = os.path.join(ROOT, "tests", "apiserver", "mkcerts.sh")
sys.path.insert(0, HERE)
import gen  # noqa: E402

TOKEN = "agentfence-test-token"


def main():
    if len(sys.argv) not in (3, 4):
        sys.exit("usage: bench/apply.py BINARY OUTDIR [N]")
    binary, out = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
    n = int(sys.argv[3]) if len(sys.argv) == 4 else 1000
    rounds = int(os.environ.get("BENCH_APPLY_ROUNDS", "3"))
    kubectl = os.environ.get("KUBECTL") or shutil.which("kubectl")
    work = os.path.join(out, "apply")
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    certs = os.path.join(work, "certs")
    subprocess.run(["sh", MKCERTS, certs], check=True, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)
    spec = os.path.join(work, f"agents-{n}.yaml")
    with open(spec, "w") as fh:
        subprocess.run([sys.executable, os.path.join(HERE, "gen.py"), str(n)], stdout=fh,
                       check=True)
    objs = os.path.join(work, f"objects-{n}.yaml")
    with open(objs, "w") as fh:
        subprocess.run([binary, "compile", spec], stdout=fh, check=True)
    ready = os.path.join(work, "ready")
    argv = [sys.executable, FAKEAPI, "--certs", certs, "--port", "0", "--ready-file", ready]
    for ns in gen.NAMESPACES + ("default", "kube-system"):
        argv += ["--namespace", ns]
    for rc in ("kata-fc", "kata-qemu"):   # the RuntimeClasses gen.py names
        argv += ["--runtimeclass", rc]
    srv = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 20
        while not os.path.exists(ready):
            if srv.poll() is not None or time.monotonic() > deadline:
                sys.exit("bench: the fake API server did not start")
            time.sleep(0.05)
        with open(ready + ".json") as fh:
            info = json.load(fh)
        run(binary, kubectl, n, rounds, spec, objs, work, out, info)
    finally:
        srv.send_signal(signal.SIGTERM)
        try:
            srv.wait(5)
        except subprocess.TimeoutExpired:
            srv.kill()


def run(binary, kubectl, n, rounds, spec, objs, work, out, info):
    kc = os.path.join(work, "kubeconfig")
    with open(kc, "w") as fh:
        json.dump({"apiVersion": "v1", "kind": "Config", "current-context": "b",
                   "clusters": [{"name": "b", "cluster": {
                       "server": f"https://127.0.0.1:{info['port']}",
                       "certificate-authority": os.path.join(work, "certs", "ca.crt")}}],
                   "contexts": [{"name": "b", "context": {"cluster": "b", "user": "b"}}],
                   "users": [{"name": "b", "user": {"token": TOKEN}}]}, fh)
    os.chmod(kc, 0o600)
    home = os.path.join(work, "home")
    os.makedirs(home, exist_ok=True)
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": home, "LC_ALL": "C"}
    ctl = f"http://127.0.0.1:{info['control_port']}"

    def control(method, path):
        req = urllib.request.Request(ctl + path, method=method, data=b"" if method == "POST" else None)
        with urllib.request.urlopen(req, timeout=60) as r:
            return json.loads(r.read())

    def timed(name, argv):
        seq0 = control("GET", "/log")
        t0 = time.monotonic()
        p = subprocess.run(argv, env=env, capture_output=True, text=True)
        dt = time.monotonic() - t0
        if p.returncode != 0:
            sys.stderr.write(p.stderr[-3000:])
            sys.exit(f"bench: {name} failed (exit {p.returncode}): {' '.join(argv)}")
        log = control("GET", "/log")[len(seq0):]
        reqs = [e for e in log if e.get("event") == "request"]
        return dt, len(reqs), sum(e["method"] == "PATCH" for e in reqs), p.stdout

    af = [binary, "apply", "--kubeconfig", kc, spec]
    kubectl_argv = None
    if kubectl:
        kubectl_argv = [kubectl, "--kubeconfig", kc, "apply", "--server-side", "--validate=false",
                        "-f", objs]
        control("POST", "/reset")
        timed("kubectl warm-up", kubectl_argv)   # discovery cache, page cache
    samples = {}
    for r in range(rounds):
        order = [("agentfence", af), ("kubectl", kubectl_argv)]
        if r % 2:
            order.reverse()
        for tool, argv in order:
            if not argv:
                continue
            control("POST", "/reset")
            for phase in ("new", "unchanged"):
                dt, nreq, npatch, stdout = timed(f"{tool} {phase}", argv)
                samples.setdefault((tool, phase), []).append((dt, nreq, npatch))
                lines = stdout.splitlines()
                if tool == "agentfence" and phase == "unchanged" and \
                        not all(l.endswith(" unchanged") for l in lines):
                    sys.exit("bench: agentfence re-apply wrote something: " + stdout[:500])
    nobj = sum(1 for l in open(objs) if l.startswith("kind: "))
    rows = ["| tool | phase | median s | requests | PATCHes |", "|---|---|---|---|---|"]
    med = {}
    for (tool, phase), s in sorted(samples.items()):
        med[(tool, phase)] = statistics.median(x[0] for x in s)
        rows.append(f"| {tool} | {phase} | {med[(tool, phase)]:.3f} | {s[-1][1]} | {s[-1][2]} |")
    text = [f"apply of {n} agents ({nobj} objects) to the test API server "
            f"(tests/apiserver/fakeapi.py, TLS), {rounds} rounds, median wall time", ""] + rows
    if ("kubectl", "unchanged") in med:
        ratio = med[("kubectl", "unchanged")] / med[("agentfence", "unchanged")]
        ratio_new = med[("kubectl", "new")] / med[("agentfence", "new")]
        text += ["", f"- unchanged re-apply: agentfence {ratio:.1f}x faster than kubectl "
                 f"(target: 10x) -> {'met' if ratio >= 10 else 'NOT met'}",
                 f"- new agents: agentfence {ratio_new:.1f}x kubectl's speed",
                 f"- kubectl: {subprocess.run([kubectl, 'version', '--client'], capture_output=True, text=True).stdout.splitlines()[0]}"]
    else:
        text += ["", "- kubectl not found: no comparison"]
    print("\n".join(text))
    with open(os.path.join(out, "apply-results.md"), "w") as fh:
        fh.write("\n".join(text) + "\n")


if __name__ == "__main__":
    main()
