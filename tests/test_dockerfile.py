# SPDX-License-Identifier: Apache-2.0
"""The Dockerfile, without docker (there is none where the tests run):

- two stages, built on debian:bookworm, run on distroless (no shell) as
  user 65532, with agentfence as the entrypoint;
- RUNTIME_PKGS are exactly the Debian packages of the libraries the built
  binary links (readelf NEEDED, located with ldd, owned per dpkg -S),
  glibc aside (the base image brings it);
- every source folder the Makefile compiles, the templates and embed.sh
  are copied into the build stage;
- the Dockerfile's own library step, run here into a folder, gathers a
  closure that is enough: the binary runs from a root holding only that
  folder plus glibc (what the distroless base adds), with no shell.
"""
import os
import re
import shutil
import subprocess
import tempfile
import unittest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.abspath(os.environ.get("AGENTFENCE", os.path.join(ROOT, "build", "agentfence")))
GLIBC = re.compile(r"/(libc|libm|libdl|libpthread|librt|libresolv)\.so|/ld-linux")


def sanitized(binary):
    """A sanitizer build (make asan, ubsan): it links the sanitizer's runtime
    and its C++ support, which the release image never ships."""
    dyn = subprocess.run(["readelf", "-d", binary], capture_output=True, text=True).stdout
    if re.search(r"\[lib(asan|ubsan|tsan|lsan)\.so", dyn):
        return True
    syms = subprocess.run(["readelf", "-s", "-W", binary], capture_output=True, text=True).stdout
    return bool(re.search(r"__(asan_init|ubsan_handle_|tsan_init)", syms))


def dockerfile():
    with open(os.path.join(ROOT, "Dockerfile")) as f:
        text = f.read()
    # join continued lines, drop comments
    return re.sub(r"\\\n", " ", "\n".join(l for l in text.splitlines() if not l.lstrip().startswith("#")))


def stages(text):
    out = []
    for line in text.splitlines():
        if line.startswith("FROM "):
            out.append([line])
        elif out and line.strip():
            out[-1].append(line)
    return out


def ldd(binary):
    r = subprocess.run(["ldd", binary], capture_output=True, text=True, check=True)
    libs = {}
    for line in r.stdout.splitlines():
        m = re.match(r"\s*(\S+) => (/\S+)", line)
        if m:
            libs[m.group(1)] = m.group(2)
        m = re.match(r"\s*(/\S*ld-linux\S*)", line)
        if m:
            libs[os.path.basename(m.group(1))] = m.group(1)
    return libs


def package_of(path):
    cands = [path, os.path.realpath(path)]
    for p in list(cands):
        cands.append(p[4:] if p.startswith("/usr/") else "/usr" + p)
    for p in cands:
        r = subprocess.run(["dpkg", "-S", p], capture_output=True, text=True)
        if r.returncode == 0:
            return r.stdout.split(":", 1)[0]
    raise AssertionError(f"no Debian package owns {path}")


class Dockerfile(unittest.TestCase):
    def setUp(self):
        self.text = dockerfile()
        self.stages = stages(self.text)

    def test_stages_user_entrypoint(self):
        self.assertEqual(len(self.stages), 2)
        build, run = self.stages
        self.assertRegex(build[0], r"^FROM debian:bookworm AS build$")
        self.assertRegex(run[0], r"^FROM gcr\.io/distroless/base-debian12:nonroot$")
        self.assertIn("USER 65532:65532", run)
        self.assertIn('ENTRYPOINT ["/agentfence"]', run)
        for line in run:
            self.assertFalse(line.startswith("RUN "), f"the run stage has no shell: {line}")
        self.assertTrue(any(l.startswith("COPY --from=build /rootfs/ /") for l in run))

    def test_runtime_packages_match_the_binary(self):
        if sanitized(BIN):
            self.skipTest(f"SKIPPED: {BIN} is a sanitizer build; the image ships the release "
                          "build, which make test checks")
        m = re.search(r'^ARG RUNTIME_PKGS="([^"]*)"', self.text, re.M)
        self.assertTrue(m, "no ARG RUNTIME_PKGS")
        declared = set(m.group(1).split())
        needed = re.findall(r"\(NEEDED\).*\[(.+)\]",
                            subprocess.run(["readelf", "-d", BIN], capture_output=True, text=True,
                                           check=True).stdout)
        self.assertIn("libcurl.so.4", needed)
        paths = ldd(BIN)
        pkgs = {package_of(paths[n]) for n in needed}
        pkgs = {p for p in pkgs if p != "libc6"}   # the distroless base's
        # the OpenSSL flavour of libcurl is libcurl4 (libcurl3-gnutls is another)
        self.assertEqual(declared, pkgs)

    def test_sources_copied(self):
        with open(os.path.join(ROOT, "Makefile")) as f:
            mk = f.read()
        srcs = re.search(r"^SRCS := .*\$\(wildcard ([^)]*)\)", mk, re.M).group(1).split()
        folders = {s.split("/")[0] for s in srcs}
        self.assertIn("probe", folders)
        copied = set(re.findall(r"^COPY (\S+)", self.stages[0] and "\n".join(self.stages[0]), re.M))
        for d in sorted(folders) + ["templates", "schema"]:   # both embedded at build time
            self.assertIn(f"{d}/", copied, f"the build stage does not copy {d}/")
        self.assertIn("tests/embed.sh", copied)
        self.assertIn("Makefile", copied)

    def test_library_step_is_enough(self):
        if sanitized(BIN):
            self.skipTest(f"SKIPPED: {BIN} is a sanitizer build; the image ships the release "
                          "build, which make test checks")
        (step,) = [l for l in self.stages[0] if l.startswith("RUN ") and "ldd build/agentfence" in l]
        if not shutil.which("unshare") or not shutil.which("chroot"):
            self.skipTest("SKIPPED: unshare or chroot is missing")
        with tempfile.TemporaryDirectory() as tmp:
            root = os.path.join(tmp, "rootfs")
            work = os.path.join(tmp, "src")
            os.makedirs(os.path.join(work, "build"))
            shutil.copy(BIN, os.path.join(work, "build", "agentfence"))
            r = subprocess.run(["sh", "-ec", step[4:].replace("/rootfs", root)], cwd=work,
                               capture_output=True, text=True)
            self.assertEqual(r.returncode, 0, r.stderr)
            copied = os.listdir(os.path.join(root, "usr", "lib",
                                             subprocess.run(["gcc", "-print-multiarch"], capture_output=True,
                                                            text=True).stdout.strip()))
            self.assertIn("libcurl.so.4", copied)
            self.assertFalse([c for c in copied if GLIBC.search("/" + c)], "glibc is the base image's")
            # what distroless adds: glibc (same paths as here)
            for name, path in ldd(BIN).items():
                if GLIBC.search(path):
                    dest = root + path
                    os.makedirs(os.path.dirname(dest), exist_ok=True)
                    shutil.copy(path, dest)
            self.assertFalse(os.path.exists(os.path.join(root, "bin", "sh")))
            r = subprocess.run(["unshare", "-r", "chroot", root, "/agentfence", "version"],
                               capture_output=True, text=True)
            if r.returncode != 0 and "unshare" in r.stderr and os.geteuid() != 0:
                self.skipTest(f"SKIPPED: no user namespace here: {r.stderr.strip()}")
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertRegex(r.stdout, r"^agentfence \d+\.\d+\.\d+\n$")


if __name__ == "__main__":
    unittest.main()
