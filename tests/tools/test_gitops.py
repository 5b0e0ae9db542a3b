# SPDX-License-Identifier: Apache-2.0
"""GitOps output: several clusters in one run, the flux layout, and the
Argo CD and Flux examples of examples/gitops/.

Oracles: a multi-cluster folder must equal, byte for byte, the folder a
single-cluster `-o` run with that profile writes; the flux layout's two
folders must hold exactly the objects of the flat layout, the Pods in one
and everything else in the other; `kubectl kustomize` (when on the PATH)
must build every folder written; the Flux Kustomization and Argo CD
ApplicationSet objects must validate against the strict JSON Schemas
derived from their CRDs (tests/schemas/SOURCES.md). A failed run (a bad
profile, a duplicate profile name) must write nothing, in any folder.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import unittest
from pathlib import Path

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import jsonschema
import yaml

import harness as H

EX = H.EXAMPLES_DIR
SPECS = str(EX / "agents.yaml")
EKS = str(EX / "profile-eks.yaml")        # metadata.name prod-eks-us-east-1
GKE = str(EX / "profile-gke.yaml")        # metadata.name prod-gke-europe-west1
IPV6 = str(EX / "profile-ipv6.yaml")      # IPv6 only: agents.yaml's gateway agent fails
CHECKS = {"folders": 0, "assertions": 0}


def tearDownModule():
    sys.stderr.write(f"\n[test_gitops] {CHECKS['folders']} folders built with kubectl kustomize "
                     f"or compared, {CHECKS['assertions']} assertions\n")


def af(cwd: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([os.path.abspath(H.binary())] + list(args), stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, timeout=60, cwd=str(cwd), text=True)


def profile_name(path: str) -> str:
    with open(path) as f:
        return yaml.safe_load(f)["metadata"]["name"]


def tree(d: Path) -> dict:
    """Every file under d (relative path -> bytes)."""
    return {str(p.relative_to(d)): p.read_bytes() for p in sorted(d.rglob("*")) if p.is_file()}


def objects(d: Path, recurse: bool = False) -> list:
    out = []
    for p in sorted(d.rglob("*.yaml") if recurse else d.glob("*.yaml")):
        if p.name != "kustomization.yaml":
            out += H.load_yaml_stream(p.read_text())
    return out


def key(o: dict):
    m = o["metadata"]
    return (o["kind"], m.get("namespace"), m["name"])


def strict(name: str):
    with open(H.schemas_dir() / f"{name}.strict.schema.json") as f:
        schema = json.load(f)
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    return cls(schema)


class Gitops(unittest.TestCase):
    def setUp(self):
        self.root = H.tmpdir(self.id().rsplit(".", 1)[-1])

    def kustomize(self, d: Path) -> list:
        """`kubectl kustomize d`'s objects (None without kubectl)."""
        CHECKS["folders"] += 1
        if not shutil.which("kubectl"):
            return None
        r = subprocess.run(["kubectl", "kustomize", str(d)], stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, timeout=60, text=True)
        self.assertEqual(r.returncode, 0, f"kubectl kustomize {d}: {r.stderr}")
        return H.load_yaml_stream(r.stdout)

    def ok(self, *args, cwd=None):
        r = af(cwd or self.root, *args)
        self.assertEqual(r.returncode, 0, r.stderr)
        return r

    # several clusters ----------------------------------------------------
    def test_multi_cluster_equals_single_runs(self):
        self.ok("compile", "--cluster", EKS, "--cluster", GKE, "-o", "out", SPECS)
        out = self.root / "out"
        names = sorted(p.name for p in out.iterdir())
        self.assertEqual(names, sorted([profile_name(EKS), profile_name(GKE)]))
        for prof in (EKS, GKE):
            single = self.root / ("single-" + profile_name(prof))
            self.ok("compile", "--cluster", prof, "-o", str(single), SPECS)
            got = out / profile_name(prof)
            self.assertEqual(tree(got), tree(single), f"{got} differs from a single run")
            self.assertTrue((got / "kustomization.yaml").exists())
            built = self.kustomize(got)
            if built is not None:
                self.assertEqual(sorted(map(key, built)), sorted(map(key, objects(got))))
            CHECKS["assertions"] += 3
        self.ok("check", "--cluster", EKS, "--cluster", GKE, "-o", "out", SPECS)
        # one stale file in one cluster's folder: check fails and names it
        victim = out / profile_name(GKE) / "agents.job-7f3a.yaml"
        victim.write_text(victim.read_text() + "# edited\n")
        r = af(self.root, "check", "--cluster", EKS, "--cluster", GKE, "-o", "out", SPECS)
        self.assertEqual(r.returncode, 1)
        self.assertIn(f"out/{profile_name(GKE)}/agents.job-7f3a.yaml: error: stale", r.stderr)
        CHECKS["assertions"] += 3

    def test_multi_cluster_all_or_nothing(self):
        # a first good run, then one whose second profile fails: nothing moves
        self.ok("compile", "--cluster", EKS, "--cluster", GKE, "-o", "out", SPECS)
        before = tree(self.root / "out")
        other = self.root / "other.yaml"
        other.write_text(Path(SPECS).read_text().replace("job-", "new-"))
        r = af(self.root, "compile", "--cluster", EKS, "--cluster", IPV6, "-o", "out",
               SPECS, str(other))
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertIn("gateway needs IPv4", r.stderr)
        self.assertIn("nothing written", r.stderr)
        after = tree(self.root / "out")
        self.assertEqual(after, before, "a failed run changed a folder")
        # a first run that fails writes no file at all, in any folder
        r = af(self.root, "compile", "--cluster", EKS, "--cluster", IPV6, "-o", "fresh", SPECS)
        self.assertEqual(r.returncode, 1)
        self.assertEqual(tree(self.root / "fresh") if (self.root / "fresh").exists() else {}, {})
        self.assertEqual([p for p in (self.root / "out").rglob(".agentfence-*")], [])
        CHECKS["assertions"] += 6

    def test_duplicate_profile_name(self):
        copy = self.root / "copy.yaml"
        shutil.copy(EKS, copy)
        r = af(self.root, "compile", "--cluster", EKS, "--cluster", str(copy), "-o", "out", SPECS)
        self.assertEqual(r.returncode, 1)
        name = profile_name(EKS)
        self.assertIn(f"{copy}: error: profile name {name} is already that of {EKS}: both would "
                      f"write out/{name}", r.stderr)
        self.assertEqual(tree(self.root / "out") if (self.root / "out").exists() else {}, {})
        # and a name that cannot be a folder
        bad = self.root / "bad.yaml"
        bad.write_text(Path(GKE).read_text().replace(f"name: {profile_name(GKE)}", "name: a/b"))
        r = af(self.root, "compile", "--cluster", EKS, "--cluster", str(bad), "-o", "out", SPECS)
        self.assertEqual(r.returncode, 1)
        self.assertIn('metadata.name "a/b" is not valid', r.stderr)
        CHECKS["assertions"] += 5

    def test_usage_errors(self):
        cases = [
            (["compile", "--cluster", EKS, "--cluster", GKE, SPECS], "several --cluster profiles need -o DIR"),
            (["validate", "--cluster", EKS, "--cluster", GKE, SPECS], "takes one --cluster profile"),
            (["apply", "--cluster", EKS, "--cluster", GKE, SPECS], "takes one --cluster profile"),
            (["compile", "--cluster", EKS, "--cluster", GKE, "-o", "o", "-"], "read once"),
            (["compile", "--layout", "flux", SPECS], "--layout flux writes folders: it needs -o DIR"),
            (["compile", "--layout", "flux", "-o", str(self.root / "abs"), SPECS], "relative to the repository's root"),
            (["compile", "--layout", "flux", "-o", "../up", SPECS], "relative to the repository's root"),
            (["compile", "--layout", "tree", "-o", "o", SPECS], '"tree" is not flat or flux'),
        ]
        for args, msg in cases:
            r = af(self.root, *args)
            self.assertEqual(r.returncode, 2, f"{args}: {r.stderr}")
            self.assertIn(msg, r.stderr, args)
            CHECKS["assertions"] += 2
        self.assertEqual(list(self.root.iterdir()), [], "a usage error wrote something")

    # the flux layout ------------------------------------------------------
    def check_flux_folder(self, d: Path, rel: str, flat: Path):
        self.assertEqual(sorted(p.name for p in d.iterdir()),
                         ["flux.yaml", "kustomization.yaml", "pods", "policies"])
        pol, pods = objects(d / "policies"), objects(d / "pods")
        self.assertTrue(pods)
        self.assertEqual({o["kind"] for o in pods}, {"Pod"})
        self.assertNotIn("Pod", {o["kind"] for o in pol})
        # the same objects as the flat layout, split
        self.assertEqual(sorted(map(key, pol + pods)), sorted(map(key, objects(flat))))
        flat_by_key = {key(o): o for o in objects(flat)}
        for o in pol + pods:
            self.assertEqual(o, flat_by_key[key(o)])
        flux = H.load_yaml_stream((d / "flux.yaml").read_text())
        v = strict("kustomization")
        for o in flux:
            v.validate(o)
        by = {o["metadata"]["name"]: o for o in flux}
        self.assertEqual(sorted(by), ["agentfence-pods", "agentfence-policies"])
        ps, ks = by["agentfence-policies"]["spec"], by["agentfence-pods"]["spec"]
        self.assertEqual(ps["path"], f"./{rel}/policies")
        self.assertEqual(ks["path"], f"./{rel}/pods")
        self.assertIs(ps["wait"], True)
        self.assertIs(ps["prune"], False)
        self.assertEqual(ks["dependsOn"], [{"name": "agentfence-policies"}])
        self.assertNotIn("dependsOn", ps)
        for o in flux:   # Flux reads path from the repository's root: here, self.root
            self.assertTrue((self.root / o["spec"]["path"]).is_dir(), o["spec"]["path"])
        for sub in (d, d / "policies", d / "pods"):
            built = self.kustomize(sub)
            if built is not None:
                want = flux if sub == d else (pol if sub.name == "policies" else pods)
                self.assertEqual(sorted(map(key, built)), sorted(map(key, want)))
        CHECKS["assertions"] += 14 + len(pol) + len(pods)

    def test_flux_layout(self):
        self.ok("compile", "--cluster", EKS, "-o", "flat", SPECS)
        self.ok("compile", "--layout", "flux", "--cluster", EKS, "-o", "./deploy/agents/", SPECS)
        self.check_flux_folder(self.root / "deploy/agents", "deploy/agents", self.root / "flat")
        self.ok("check", "--layout", "flux", "--cluster", EKS, "-o", "deploy/agents", SPECS)
        # the flat layout is not the flux one: check says so
        r = af(self.root, "check", "--cluster", EKS, "-o", "deploy/agents", SPECS)
        self.assertEqual(r.returncode, 1)
        # flux, several clusters
        self.ok("compile", "--layout", "flux", "--cluster", EKS, "--cluster", GKE, "-o", "multi", SPECS)
        for prof in (EKS, GKE):
            n = profile_name(prof)
            self.ok("compile", "--cluster", prof, "-o", f"flat-{n}", SPECS)
            self.check_flux_folder(self.root / "multi" / n, f"multi/{n}", self.root / f"flat-{n}")
        self.ok("check", "--layout", "flux", "--cluster", EKS, "--cluster", GKE, "-o", "multi", SPECS)
        CHECKS["assertions"] += 1

    # the examples ---------------------------------------------------------
    def test_examples(self):
        appset = yaml.safe_load((EX / "gitops" / "applicationset.yaml").read_text())
        strict("applicationset").validate(appset)
        gen = appset["spec"]["generators"][0]["git"]
        self.assertEqual(gen["directories"], [{"path": "deploy/agents/*"}])
        tmpl = appset["spec"]["template"]["spec"]
        self.assertEqual(tmpl["source"]["path"], "{{.path.path}}")
        self.assertEqual(tmpl["destination"], {"name": "{{.path.basename}}"})
        self.assertIs(appset["spec"]["goTemplate"], True)
        fk = yaml.safe_load((EX / "gitops" / "flux-kustomization.yaml").read_text())
        strict("kustomization").validate(fk)
        self.assertEqual(fk["spec"]["sourceRef"], {"kind": "GitRepository", "name": "flux-system"})
        # what the examples' comments run, from a repository root
        self.ok("compile", "--layout", "flux", "--cluster", EKS, "-o", "deploy/agents", SPECS)
        self.assertTrue((self.root / fk["spec"]["path"] / "flux.yaml").exists())
        self.ok("compile", "--cluster", EKS, "--cluster", GKE, "-o", "apps/agents", SPECS)
        for d in (self.root / "apps/agents").iterdir():
            self.assertTrue((d / "kustomization.yaml").exists())
        CHECKS["assertions"] += 8


if __name__ == "__main__":
    unittest.main()
