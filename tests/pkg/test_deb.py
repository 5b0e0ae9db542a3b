# SPDX-License-Identifier: Apache-2.0
"""The Debian package (debian/), built as a user would build it:

- `dpkg-buildpackage -b -us -uc` in a copy of the repository (the files git
  knows, as they are in the working tree; never in the working tree
  itself) gives agentfence_VERSION_ARCH.deb;
- its Depends (from dpkg-shlibdeps) names libyaml, libjansson and libcurl;
- unpacked with `dpkg -x` into a scratch root, the binary runs and compiles
  the example byte for byte as the binary under test does, and the package
  holds the plugin link, the man pages and the three completions;
- lintian reports no error (its warnings are printed).

Slow (a full build): skipped for a sanitizer build ($AGENTFENCE from
make asan or ubsan), which the package never ships.
"""
import os
import re
import shutil
import subprocess
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.dirname(HERE))
from test_dockerfile import sanitized  # noqa: E402  (tests/: one definition of "sanitizer build")

BIN = os.path.abspath(os.environ.get("AGENTFENCE", os.path.join(ROOT, "build", "agentfence")))


def version():
    with open(os.path.join(ROOT, "Makefile")) as f:
        return re.search(r"^VERSION\s*:=\s*(\S+)", f.read(), re.M).group(1)


def copy_repo(dest):
    """The files git tracks (and new ones it does not ignore), as they are now."""
    r = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                       cwd=ROOT, capture_output=True, text=True)
    if r.returncode != 0:
        shutil.copytree(ROOT, dest, symlinks=True, ignore=shutil.ignore_patterns("build", "out"))
        return
    for rel in filter(None, r.stdout.split("\0")):
        src = os.path.join(ROOT, rel)
        if not os.path.lexists(src):
            continue        # deleted in the working tree
        os.makedirs(os.path.join(dest, os.path.dirname(rel)), exist_ok=True)
        shutil.copy2(src, os.path.join(dest, rel), follow_symlinks=False)


class Deb(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = None
        if sanitized(BIN):
            raise unittest.SkipTest(f"SKIPPED: {BIN} is a sanitizer build; the package ships "
                                    "the release build (and rebuilding it here is slow)")
        missing = [t for t in ("dpkg-buildpackage", "dh", "fakeroot", "lintian") if not shutil.which(t)]
        if missing:
            raise unittest.SkipTest(f"SKIPPED: {' '.join(missing)} not installed (make deps)")
        cls.tmp = tempfile.mkdtemp(prefix="af-deb-")
        src = os.path.join(cls.tmp, "agentfence")
        copy_repo(src)
        env = dict(os.environ, DEB_BUILD_OPTIONS="parallel=2")
        r = subprocess.run(["nice", "dpkg-buildpackage", "-b", "-us", "-uc"], cwd=src, env=env,
                           capture_output=True, text=True, timeout=600)
        cls.log = r.stdout + r.stderr
        if r.returncode != 0:
            raise AssertionError("dpkg-buildpackage failed:\n" + cls.log[-4000:])
        arch = subprocess.run(["dpkg", "--print-architecture"], capture_output=True,
                              text=True).stdout.strip()
        cls.deb = os.path.join(cls.tmp, f"agentfence_{version()}_{arch}.deb")

    @classmethod
    def tearDownClass(cls):
        if cls.tmp:
            shutil.rmtree(cls.tmp, ignore_errors=True)

    def test_depends(self):
        r = subprocess.run(["dpkg-deb", "-f", self.deb, "Depends", "Version", "Package"],
                           capture_output=True, text=True, check=True)
        fields = dict(l.split(": ", 1) for l in r.stdout.splitlines())
        self.assertEqual((fields["Package"], fields["Version"]), ("agentfence", version()))
        deps = [d.strip().split(" ")[0] for d in fields["Depends"].split(",")]
        for lib in ("libyaml-0-2", "libjansson4", "libcurl4"):
            self.assertIn(lib, deps)
        r = subprocess.run(["dpkg-deb", "-I", self.deb], capture_output=True, text=True, check=True)
        self.assertRegex(r.stdout, r"Depends: .*libyaml.*")

    def test_unpacked_runs(self):
        root = os.path.join(self.tmp, "root")
        subprocess.run(["dpkg", "-x", self.deb, root], check=True)
        bin_ = os.path.join(root, "usr/bin/agentfence")
        r = subprocess.run([bin_, "version"], capture_output=True, text=True)
        self.assertEqual((r.returncode, r.stdout), (0, f"agentfence {version()}\n"))
        ex = os.path.join(ROOT, "examples", "agents.yaml")
        a = subprocess.run([bin_, "compile", ex], capture_output=True, text=True)
        b = subprocess.run([BIN, "compile", ex], capture_output=True, text=True)
        self.assertEqual((a.returncode, a.stdout), (0, b.stdout))
        self.assertEqual(os.readlink(os.path.join(root, "usr/bin/kubectl-agentfence")), "agentfence")
        for rel in ("usr/share/man/man1/agentfence.1.gz", "usr/share/man/man1/agentfence-compile.1.gz",
                    "usr/share/bash-completion/completions/agentfence",
                    "usr/share/zsh/vendor-completions/_agentfence",
                    "usr/share/fish/vendor_completions.d/agentfence.fish",
                    "usr/share/doc/agentfence/copyright"):
            self.assertTrue(os.path.isfile(os.path.join(root, rel)), rel)

    def test_lintian(self):
        r = subprocess.run(["lintian", self.deb], capture_output=True, text=True, timeout=300)
        tags = [l for l in r.stdout.splitlines() if re.match(r"[EWIXP]: ", l)]
        for t in tags:
            print("lintian:", t, file=sys.stderr)
        self.assertEqual([t for t in tags if t.startswith("E: ")], [])


if __name__ == "__main__":
    unittest.main()
