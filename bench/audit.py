#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""bench/audit.py BINARY OUTDIR [N]: agentfence audit of a large cluster.

Starts the test API server (tests/apiserver/fakeapi.py, TLS with the test
CA of mkcerts.sh, a bearer token), generates N agents (bench/gen.py,
default 10000), compiles them once and seeds the server's store directly
(one control request, not one API request per object) with every agent's
Pod and NetworkPolicy and each namespace's ServiceAccount: N Pods and N
NetworkPolicies in gen.py's seven namespaces, and policies agentfence did
not write (foreign_policies): in each namespace one selecting every Pod
that lets Prometheus scrape port 9090 (inside the fence of the one agent
in five whose spec allows that, a widening of the others), and N/100
selecting one agent each that open 10.1.0.0/16 on TCP 5432: every agent
Pod is evaluated under the union of the policies selecting it. Then, in rounds, it runs

  BINARY audit --kubeconfig K          (exit 1: the widens findings)

and measures its wall time, CPU time and peak RSS (GNU time), and the
time the server spent answering (the sum of its requests' duration_ms
from its log: the audit's LISTs are sequential, so the rest is the
client's). Prints the medians; writes OUTDIR/audit-results.md. Exit 1
when a run fails. Environment: BENCH_AUDIT_ROUNDS (default 3).
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
        sys.exit("usage: bench/audit.py BINARY OUTDIR [N]")
    binary, out = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
    n = int(sys.argv[3]) if len(sys.argv) == 4 else 10000
    rounds = int(os.environ.get("BENCH_AUDIT_ROUNDS", "3"))
    work = os.path.join(out, "audit")
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    certs = os.path.join(work, "certs")
    subprocess.run(["sh", MKCERTS, certs], check=True, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)
    spec = os.path.join(work, f"agents-{n}.yaml")
    with open(spec, "w") as fh:
        subprocess.run([sys.executable, os.path.join(HERE, "gen.py"), str(n)], stdout=fh,
                       check=True)
    objs = json.loads(subprocess.run([binary, "compile", "--format", "json", spec],
                                     capture_output=True, check=True).stdout)["items"]
    seed = [o for o in objs if o["kind"] in ("Pod", "NetworkPolicy", "ServiceAccount")]
    seed += foreign_policies(seed)
    ready = os.path.join(work, "ready")
    argv = [sys.executable, FAKEAPI, "--certs", certs, "--port", "0", "--ready-file", ready,
            "--log", os.path.join(work, "requests.jsonl")]
    for ns in gen.NAMESPACES + ("default", "kube-system"):
        argv += ["--namespace", ns]
    srv = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 20
        while not os.path.exists(ready):
            if srv.poll() is not None or time.monotonic() > deadline:
                sys.exit("bench: the fake API server did not start")
            time.sleep(0.05)
        with open(ready + ".json") as fh:
            info = json.load(fh)
        run(binary, n, rounds, seed, work, out, info)
    finally:
        srv.send_signal(signal.SIGTERM)
        try:
            srv.wait(5)
        except subprocess.TimeoutExpired:
            srv.kill()


def foreign_policies(seed):
    """Policies of someone else's: one a namespace over every Pod, one a hundred agents."""
    out = []
    for ns in gen.NAMESPACES:
        out.append({"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
                    "metadata": {"name": "prometheus-scrape", "namespace": ns},
                    "spec": {"podSelector": {}, "policyTypes": ["Ingress"], "ingress": [{
                        "from": [{"namespaceSelector": {"matchLabels": {
                            "kubernetes.io/metadata.name": "monitoring"}},
                            "podSelector": {"matchLabels": {"app.kubernetes.io/name": "prometheus"}}}],
                        "ports": [{"protocol": "TCP", "port": 9090}]}]}})
    pods = [o for o in seed if o["kind"] == "Pod"]
    for i, pod in enumerate(pods[::100]):
        out.append({"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
                    "metadata": {"name": f"db-access-{i}", "namespace": pod["metadata"]["namespace"]},
                    "spec": {"podSelector": {"matchLabels": {
                        "agentfence.dev/job-id": pod["metadata"]["labels"]["agentfence.dev/job-id"]}},
                        "policyTypes": ["Egress"],
                        "egress": [{"to": [{"ipBlock": {"cidr": "10.1.0.0/16"}}],
                                    "ports": [{"protocol": "TCP", "port": 5432}]}]}})
    return out


def run(binary, n, rounds, seed, work, out, info):
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

    def control(method, path, body=None):
        req = urllib.request.Request(ctl + path, method=method, data=body)
        with urllib.request.urlopen(req, timeout=600) as r:
            return json.loads(r.read())

    t0 = time.monotonic()
    control("POST", "/seed?manager=agentfence&operation=Apply", json.dumps(seed).encode())
    seeded = time.monotonic() - t0
    npods = sum(o["kind"] == "Pod" for o in seed)
    nnp = sum(o["kind"] == "NetworkPolicy" for o in seed)
    samples = []
    for _ in range(rounds):
        nlog = len(control("GET", "/log"))
        outp, errp = os.path.join(work, "audit.out"), os.path.join(work, "audit.err")
        timep = os.path.join(work, "audit.time")
        with open(outp, "w") as fo, open(errp, "w") as fe:
            t0 = time.monotonic()
            # GNU time: the audit's own peak RSS and CPU (a child of this
            # large Python process would inherit its RSS until exec)
            p = subprocess.run(["/usr/bin/time", "-f", "%M %U %S", "-o", timep, binary, "audit",
                                "--kubeconfig", kc], env=env, stdout=fo, stderr=fe)
            dt = time.monotonic() - t0
        with open(outp) as fo, open(errp) as fe, open(timep) as ft:
            stdout, stderr = fo.read(), fe.read()
            kib, usr, sy = ft.read().split()[-3:]
        if p.returncode != 1:
            sys.stderr.write(stdout[-2000:] + stderr[-2000:])
            sys.exit(f"bench: audit failed (exit {p.returncode})")
        reqs = [e for e in control("GET", "/log")[nlog:] if e.get("event") == "request"]
        server = sum(e.get("duration_ms", 0) for e in reqs) / 1000
        samples.append((dt, server, len(reqs), stderr.strip().splitlines()[-1], int(kib),
                        float(usr) + float(sy)))
    rss_kib = max(s[4] for s in samples)
    cpu = statistics.median(s[5] for s in samples)
    med = statistics.median(s[0] for s in samples)
    med_srv = statistics.median(s[1] for s in samples)
    text = [f"audit of {npods} agent Pods and {nnp} NetworkPolicies on the test API server "
            f"(tests/apiserver/fakeapi.py, TLS), {rounds} rounds, median", "",
            "| wall s | server s | audit CPU s | peak RSS MiB | requests |", "|---|---|---|---|---|",
            f"| {med:.2f} | {med_srv:.2f} | {cpu:.2f} | {rss_kib / 1024:.1f} | "
            f"{samples[-1][2]} |", "",
            f"- {nnp - npods} of the policies are not agentfence's (foreign_policies); "
            f"findings: {stdout.count(chr(10)) - 1 if stdout else 0}",
            "- server: the sum of the requests' duration_ms in its log (the LISTs are "
            "sequential: the server's share of the wall time); audit CPU: agentfence's user + "
            "system time (GNU time), independent of other load on the machine",
            f"- load average after: {open('/proc/loadavg').read().split()[0]}",
            f"- seeding the store took {seeded:.1f} s (one control request; not timed above)",
            f"- agentfence said: {samples[-1][3]}"]
    print("\n".join(text))
    with open(os.path.join(out, "audit-results.md"), "w") as fh:
        fh.write("\n".join(text) + "\n")


if __name__ == "__main__":
    main()
