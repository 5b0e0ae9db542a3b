# SPDX-License-Identifier: Apache-2.0
"""The CI integrations gate a sample repository as they should.

A sample repository (specs, a profile, the folder compiled from them) is
gated three ways, each passing while the folder is current and failing when
a spec changed (exit 1, stale) or is invalid (exit 4):

- the pre-commit hook (.pre-commit-hooks.yaml), run by Debian's pre-commit
  from a .pre-commit-config.yaml that uses this repository, as a local path
  at HEAD (what is committed is what is tested, as in .ci/run);
- the GitHub Action (action.yml): a valid composite action (inputs,
  runs.using, a shell for every step), whose steps' scripts run with the
  inputs substituted, as the runner does (bash -eo pipefail);
- the GitLab CI snippet (docs/ci/gitlab-ci.yml): its before_script and
  script lines run in one shell with its variables, the source cloned from
  this repository at HEAD. Its apt-get line is left out when every package
  it names is installed (it needs the network and root).

Both builds (the action's, the snippet's) are real `make` runs.
"""
import os
import re
import shutil
import subprocess
import tempfile
import unittest

import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.abspath(os.environ.get("AGENTFENCE", os.path.join(ROOT, "build", "agentfence")))
GIT_ENV = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.invalid",
           "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.invalid",
           "GIT_CONFIG_NOSYSTEM": "1", "GIT_CONFIG_GLOBAL": os.devnull,
           "LC_ALL": "C"}


def git(*args, cwd=ROOT):
    return subprocess.run(["git", "-c", "safe.directory=*", *args], cwd=cwd, check=True,
                          capture_output=True, text=True,
                          env={**os.environ, **GIT_ENV}).stdout.strip()


def head():
    """This repository's HEAD, or None outside a git checkout."""
    try:
        return git("rev-parse", "HEAD")
    except (subprocess.CalledProcessError, FileNotFoundError):
        return None


class Sample:
    """A repository gated on `agentfence check`: agents/*.yaml, profile.yaml,
    deploy/agents compiled from them, committed."""

    def __init__(self, base):
        self.dir = os.path.join(base, "sample")
        os.makedirs(os.path.join(self.dir, "agents"))
        shutil.copy(os.path.join(ROOT, "examples", "agents.yaml"), os.path.join(self.dir, "agents"))
        shutil.copy(os.path.join(ROOT, "examples", "eks.yaml"), os.path.join(self.dir, "agents"))
        shutil.copy(os.path.join(ROOT, "examples", "profile-eks.yaml"),
                    os.path.join(self.dir, "profile.yaml"))
        subprocess.run([BIN, "compile", "-q", "--cluster", "profile.yaml", "-o", "deploy/agents",
                        "agents/agents.yaml", "agents/eks.yaml"], cwd=self.dir, check=True)
        git("init", "-q", "-b", "main", cwd=self.dir)
        git("add", "-A", cwd=self.dir)
        git("commit", "-q", "-m", "sample", cwd=self.dir)
        with open(os.path.join(self.dir, "agents", "agents.yaml")) as f:
            self.original = f.read()

    def spec(self, text):
        with open(os.path.join(self.dir, "agents", "agents.yaml"), "w") as f:
            f.write(text)
        git("add", "-A", cwd=self.dir)

    def stale(self):
        """a spec change: one agent's image"""
        assert "image: " in self.original
        self.spec(self.original.replace("image: ", "image: registry.example/other-", 1))

    def invalid(self):
        self.spec(self.original.replace("job-7f3a", "job-bad_", 1))

    def restore(self):
        self.spec(self.original)


def run_shell(script, cwd, env, shell=("bash", "--noprofile", "--norc", "-eo", "pipefail")):
    with tempfile.NamedTemporaryFile("w", suffix=".sh", delete=False) as f:
        f.write(script)
    try:
        return subprocess.run([*shell, f.name], cwd=cwd, env=env, capture_output=True,
                              text=True, timeout=300)
    finally:
        os.unlink(f.name)


def clean_env(**extra):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "RUNNER_", "CI_"))}
    env.update(GIT_ENV)
    env.update(extra)
    return env


@unittest.skipUnless(os.path.exists(BIN), "no binary: build first")
class TestPreCommit(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        if not shutil.which("pre-commit"):
            raise unittest.SkipTest("no pre-commit (Debian package pre-commit; make test installs it)")
        cls.rev = head()
        if not cls.rev:
            raise unittest.SkipTest("not a git checkout")
        cls.tmp = tempfile.mkdtemp()
        cls.sample = Sample(cls.tmp)
        cls.bindir = os.path.join(cls.tmp, "bin")
        os.makedirs(cls.bindir)
        os.symlink(BIN, os.path.join(cls.bindir, "agentfence"))   # language: system: on PATH
        config = {"repos": [{"repo": ROOT, "rev": cls.rev, "hooks": [{
            "id": "agentfence-check",
            "args": ["--cluster", "profile.yaml", "-o", "deploy/agents",
                     "agents/agents.yaml", "agents/eks.yaml"]}]}]}
        with open(os.path.join(cls.sample.dir, ".pre-commit-config.yaml"), "w") as f:
            yaml.safe_dump(config, f)
        git("add", "-A", cwd=cls.sample.dir)
        cls.env = clean_env(PATH=cls.bindir + os.pathsep + os.environ.get("PATH", ""),
                            PRE_COMMIT_HOME=os.path.join(cls.tmp, "cache"))

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def tearDown(self):
        self.sample.restore()

    def pre_commit(self, *args):
        return subprocess.run(["pre-commit", *args], cwd=self.sample.dir, env=self.env,
                              capture_output=True, text=True, timeout=300)

    def test_manifest_valid(self):
        r = self.pre_commit("validate-manifest", os.path.join(ROOT, ".pre-commit-hooks.yaml"))
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        with open(os.path.join(ROOT, ".pre-commit-hooks.yaml")) as f:
            hook, = yaml.safe_load(f)
        self.assertEqual((hook["id"], hook["entry"], hook["language"], hook["pass_filenames"]),
                         ("agentfence-check", "agentfence check", "system", False))

    def test_current_passes(self):
        r = self.pre_commit("run", "--all-files")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertRegex(r.stdout, r"agentfence check\.+Passed")

    def test_changed_spec_fails(self):
        self.sample.stale()
        r = self.pre_commit("run", "--all-files")
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        self.assertRegex(r.stdout, r"agentfence check\.+Failed")
        self.assertIn("- exit code: 1", r.stdout)
        self.assertIn("deploy/agents is stale", r.stdout)

    def test_invalid_spec_fails(self):
        self.sample.invalid()
        r = self.pre_commit("run", "--all-files")
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        self.assertIn("- exit code: 4", r.stdout)
        self.assertIn('"job-bad_" is not a valid job id', r.stdout)


@unittest.skipUnless(os.path.exists(BIN), "no binary: build first")
class TestAction(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        with open(os.path.join(ROOT, "action.yml")) as f:
            cls.action = yaml.safe_load(f)
        cls.tmp = tempfile.mkdtemp()
        cls.sample = Sample(cls.tmp)
        cls.runner_temp = os.path.join(cls.tmp, "runner")
        os.makedirs(cls.runner_temp)
        cls.env = clean_env(GITHUB_ACTION_PATH=ROOT, RUNNER_TEMP=cls.runner_temp,
                            GITHUB_WORKSPACE=cls.sample.dir)
        cls.built = None

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def tearDown(self):
        self.sample.restore()

    def test_composite(self):
        a = self.action
        self.assertTrue(a.get("name") and a.get("description"))
        self.assertEqual(a["runs"]["using"], "composite")
        self.assertEqual(set(a["inputs"]), {"specs", "output", "profile", "templates", "format"})
        for name, i in a["inputs"].items():
            self.assertTrue(i.get("description"), name)
            self.assertEqual(i.get("required", False), name in ("specs", "output"), name)
        used = set()
        for step in a["runs"]["steps"]:
            self.assertTrue(step.get("name"))
            self.assertEqual(step.get("shell"), "bash", step["name"])   # composite: required
            self.assertIn("run", step)
            text = yaml.safe_dump(step)
            used |= set(re.findall(r"\$\{\{\s*inputs\.([a-z_-]+)\s*\}\}", text))
            # inputs reach scripts through env only: no ${{ }} inside run (injection)
            self.assertNotIn("${{", step["run"], step["name"])
        self.assertEqual(used, set(a["inputs"]))

    def run_steps(self, **inputs):
        """The steps in order, each in bash -eo pipefail with ${{ inputs.X }}
        substituted (the defaults for those not given); the build only once."""
        values = {k: v.get("default", "") for k, v in self.action["inputs"].items()}
        values.update(inputs)
        sub = lambda s: re.sub(r"\$\{\{\s*inputs\.([a-z_-]+)\s*\}\}",
                               lambda m: values[m.group(1)], str(s))
        last = None
        for i, step in enumerate(self.action["runs"]["steps"]):
            if i < 2 and TestAction.built is not None:
                continue   # install and build: done by an earlier test
            env = dict(self.env)
            env.update({k: sub(v) for k, v in step.get("env", {}).items()})
            last = run_shell(sub(step["run"]), self.sample.dir, env)
            if i < 2:
                self.assertEqual(last.returncode, 0, step["name"] + ": " + last.stdout + last.stderr)
                if i == 1:
                    TestAction.built = last
            elif last.returncode:
                break
        return last

    def check(self, **inputs):
        base = {"specs": "agents/*.yaml", "output": "deploy/agents", "profile": "profile.yaml"}
        base.update(inputs)
        return self.run_steps(**base)

    def test_current_passes(self):
        r = self.check()
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn("deploy/agents is up to date (6 agents", r.stderr)

    def test_changed_spec_fails(self):
        self.sample.stale()
        r = self.check()
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        self.assertIn("::error::deploy/agents is stale", r.stdout)

    def test_invalid_spec_fails(self):
        self.sample.invalid()
        r = self.check()
        self.assertEqual(r.returncode, 4, r.stdout + r.stderr)
        self.assertNotIn("::error::", r.stdout)

    def test_wrong_profile_fails(self):
        # the folder was compiled with profile.yaml: without it, it is stale
        r = self.check(profile="")
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)


@unittest.skipUnless(os.path.exists(BIN), "no binary: build first")
class TestGitLab(unittest.TestCase):
    APT = ("ca-certificates", "git", "gcc", "make", "libc6-dev", "libyaml-dev", "libjansson-dev",
           "libcurl4-openssl-dev")

    @classmethod
    def setUpClass(cls):
        with open(os.path.join(ROOT, "docs", "ci", "gitlab-ci.yml")) as f:
            cls.doc = yaml.safe_load(f)
        cls.rev = head()
        cls.tmp = tempfile.mkdtemp()
        cls.sample = Sample(cls.tmp)
        cls.built = False

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def tearDown(self):
        self.sample.restore()

    def test_job(self):
        job = self.doc["agentfence-check"]
        self.assertEqual(set(job) - {"stage"}, {"image", "variables", "before_script", "script"})
        self.assertTrue(job["image"].startswith("debian:"))
        apt = job["before_script"][0]
        self.assertTrue(apt.startswith("apt-get update"))
        self.assertEqual(set(self.APT), set(apt.split(" install ")[1].split()) -
                         {"-y", "-q", "--no-install-recommends", ">/dev/null"})
        for line in job["before_script"] + job["script"]:
            for var in re.findall(r"\$\{?(AGENTFENCE_[A-Z_]+)", line):
                self.assertIn(var, job["variables"], line)

    def run_job(self, **variables):
        if not self.rev:
            self.skipTest("not a git checkout")
        missing = [p for p in self.APT
                   if subprocess.run(["dpkg", "-s", p], capture_output=True).returncode]
        if missing:
            self.skipTest("packages missing (the snippet's apt-get needs root and network): "
                          + " ".join(missing))
        job = self.doc["agentfence-check"]
        env = clean_env(**{k: str(v) for k, v in job["variables"].items()})
        src = os.path.join(self.tmp, "agentfence-src")
        env.update(AGENTFENCE_REPO=ROOT, AGENTFENCE_REF=self.rev, AGENTFENCE_SRC=src,
                   AGENTFENCE_SPECS="agents/*.yaml", AGENTFENCE_OUTPUT="deploy/agents",
                   AGENTFENCE_PROFILE="profile.yaml")
        env.update(variables)
        lines = job["before_script"][1:]
        if TestGitLab.built:
            lines = ['export PATH="$AGENTFENCE_SRC/build:$PATH"']
        # GitLab: every line of before_script and script in one shell, stopping at a failure
        r = run_shell("\n".join(lines + job["script"]) + "\n", self.sample.dir, env)
        TestGitLab.built = TestGitLab.built or os.path.exists(os.path.join(src, "build", "agentfence"))
        return r

    def test_current_passes(self):
        r = self.run_job()
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn("deploy/agents is up to date (6 agents", r.stderr)

    def test_changed_spec_fails(self):
        self.sample.stale()
        r = self.run_job()
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        self.assertIn("deploy/agents is stale", r.stderr)

    def test_invalid_spec_fails(self):
        self.sample.invalid()
        r = self.run_job()
        self.assertEqual(r.returncode, 4, r.stdout + r.stderr)


if __name__ == "__main__":
    unittest.main()
