# SPDX-License-Identifier: Apache-2.0
"""`make install DESTDIR=... PREFIX=/usr` and what it installs:

- exactly the expected files, links and modes;
- the installed binary runs, and runs as the kubectl plugin
  (`kubectl agentfence`, with its usage lines saying so);
- every man page renders with `man -l` without a warning, `mandoc -T lint`
  finds nothing (but the cross references to the pages beside it, which it
  looks for in /usr/share/man only), and each page names every option its
  command's --help lists;
- the bash, zsh and fish completion complete the commands, every option of
  every command, option values and file or folder arguments.

The binary under test is $AGENTFENCE (tests/run.sh sets it); make install
takes it from its build folder (BUILD=that folder), so nothing is rebuilt.
"""
import os
import re
import shutil
import subprocess
import tempfile
import unittest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.path.abspath(os.environ.get("AGENTFENCE", os.path.join(ROOT, "build", "agentfence")))

EXPECTED = {
    "usr/bin/agentfence": 0o755,
    "usr/bin/kubectl-agentfence": "agentfence",
    "usr/share/man/man1/agentfence.1": 0o644,
    "usr/share/man/man1/kubectl-agentfence.1": "agentfence.1",
    "usr/share/bash-completion/completions/agentfence": 0o644,
    "usr/share/bash-completion/completions/kubectl-agentfence": "agentfence",
    "usr/share/zsh/vendor-completions/_agentfence": 0o644,
    "usr/share/fish/vendor_completions.d/agentfence.fish": 0o644,
}


def run(args, **kw):
    return subprocess.run(args, capture_output=True, text=True, timeout=60, **kw)


def commands():
    """The commands, from `agentfence __man --list` (the table)."""
    out = run([BIN, "__man", "--list"]).stdout.split()
    return [p[len("agentfence-"):] for p in out if p.startswith("agentfence-")]


def help_flags(cmd):
    """The flags `agentfence CMD --help` lists: {'--output', '-o', ...}."""
    text = run([BIN, cmd, "--help"]).stdout
    opts = text.split("\noptions:\n", 1)[1].split("\n\n", 1)[0]
    flags = set()
    for line in opts.splitlines():
        m = re.match(r"  (-\w, )?(--[\w-]+)", line)
        if m:
            flags.add(m.group(2))
            if m.group(1):
                flags.add(m.group(1)[:2])
    return flags


class Install(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="af-install-")
        cls.dest = os.path.join(cls.tmp, "root")
        r = run(["make", "-s", "--no-print-directory", "install", "BUILD=" + os.path.dirname(BIN),
                 "DESTDIR=" + cls.dest, "PREFIX=/usr"], cwd=ROOT)
        if r.returncode != 0:
            raise AssertionError("make install failed:\n" + r.stdout + r.stderr)
        cls.cmds = commands()

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def path(self, rel):
        return os.path.join(self.dest, rel)

    def test_layout(self):
        want = dict(EXPECTED)
        for c in self.cmds:
            want[f"usr/share/man/man1/agentfence-{c}.1"] = 0o644
        got = set()
        for d, _, files in os.walk(self.dest):
            for f in files:
                got.add(os.path.relpath(os.path.join(d, f), self.dest))
        self.assertEqual(sorted(got), sorted(want))
        for rel, what in want.items():
            p = self.path(rel)
            if isinstance(what, str):
                self.assertEqual(os.readlink(p), what, rel)
            else:
                self.assertFalse(os.path.islink(p), rel)
                self.assertEqual(os.stat(p).st_mode & 0o777, what, rel)
        self.assertGreaterEqual(len(self.cmds), 7)   # compile ... completion

    def test_uninstall(self):
        dest = os.path.join(self.tmp, "un")
        shutil.copytree(self.dest, dest, symlinks=True)
        open(os.path.join(dest, "usr/bin/other"), "w").close()
        r = run(["make", "-s", "--no-print-directory", "uninstall", "DESTDIR=" + dest, "PREFIX=/usr"],
                cwd=ROOT)
        self.assertEqual(r.returncode, 0, r.stderr)
        left = [os.path.relpath(os.path.join(d, f), dest)
                for d, _, fs in os.walk(dest) for f in fs]
        self.assertEqual(left, ["usr/bin/other"])

    def test_binary_runs(self):
        bin_ = self.path("usr/bin/agentfence")
        r = run([bin_, "version"])
        self.assertEqual((r.returncode, r.stdout), (0, "agentfence 0.1.0\n"))
        ex = os.path.join(ROOT, "examples", "agents.yaml")
        a, b = run([bin_, "compile", ex]), run([BIN, "compile", ex])
        self.assertEqual(a.returncode, 0, a.stderr)
        self.assertEqual(a.stdout, b.stdout)

    def test_kubectl_plugin(self):
        kubectl = shutil.which("kubectl")
        if not kubectl:
            self.skipTest("SKIPPED: kubectl is not installed")
        env = dict(os.environ, PATH=self.path("usr/bin") + os.pathsep + os.environ["PATH"],
                   KUBECONFIG=os.path.join(self.tmp, "no-kubeconfig"))
        r = run([kubectl, "agentfence", "--help"], env=env)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("usage: kubectl agentfence compile ", r.stdout)
        self.assertNotRegex(r.stdout, r"(?m)^ +agentfence ")
        r = run([kubectl, "agentfence", "compile", "--help"], env=env)
        self.assertIn("\n  kubectl agentfence compile ", r.stdout)     # its examples
        r = run([kubectl, "agentfence", "compile", "--bogus"], env=env)
        self.assertEqual(r.returncode, 2)
        self.assertIn("try 'kubectl agentfence compile --help'", r.stderr)
        ex = os.path.join(ROOT, "examples", "agents.yaml")
        r = run([kubectl, "agentfence", "compile", ex], env=env)
        self.assertEqual((r.returncode, r.stdout), (0, run([BIN, "compile", ex]).stdout))
        r = run([kubectl, "plugin", "list"], env=env)
        self.assertIn(self.path("usr/bin/kubectl-agentfence"), r.stdout)

    def man_pages(self):
        d = self.path("usr/share/man/man1")
        return sorted(os.path.join(d, f) for f in os.listdir(d) if not os.path.islink(os.path.join(d, f)))

    def test_man_lint(self):
        if not shutil.which("mandoc"):
            self.skipTest("SKIPPED: mandoc is not installed (make deps)")
        pages = self.man_pages()
        ours = {os.path.basename(p)[:-2] for p in pages}
        r = run(["mandoc", "-T", "lint"] + pages)
        left = []
        for line in (r.stdout + r.stderr).splitlines():
            m = re.search(r"STYLE: referenced manual not found: Xr (\S+) 1( \(\d+ times\))?$", line)
            if not (m and m.group(1) in ours):
                left.append(line)
        self.assertEqual(left, [])
        self.assertEqual(len(pages), len(self.cmds) + 1)

    def test_man_renders(self):
        if not shutil.which("man"):
            self.skipTest("SKIPPED: man is not installed (make deps)")
        env = dict(os.environ, MANWIDTH="80", LC_ALL="C.UTF-8", MAN_KEEP_FORMATTING="")
        for p in self.man_pages():
            r = run(["man", "--warnings", "-l", p], env=env)
            self.assertEqual((r.returncode, r.stderr), (0, ""), p)
            self.assertIn("NAME", r.stdout)
            name = os.path.basename(p)[:-2]
            if name == "agentfence":
                for c in self.cmds:
                    self.assertIn(f"agentfence {c}", r.stdout)
                continue
            text = r.stdout.replace("\u2010\n", "").replace("\u2010", "-")
            cmd = name[len("agentfence-"):]
            for flag in help_flags(cmd):
                self.assertRegex(text, r"(?<![\w-])" + re.escape(flag) + r"(?![\w-])",
                                 f"{name}(1) lacks {flag}")

    # --- completion ---

    def bash(self, *words, cwd=None):
        script = self.path("usr/share/bash-completion/completions/agentfence")
        prog = (". \"$1\"; shift; COMP_WORDS=(\"$@\"); COMP_CWORD=$(($# - 1)); _agentfence; "
                "printf '%s\\n' \"${COMPREPLY[@]}\"")
        r = run(["bash", "--norc", "-c", prog, "bash", script, "agentfence"] + list(words), cwd=cwd)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stderr, "")
        return sorted(w for w in r.stdout.split("\n") if w)

    def scratch(self):
        d = tempfile.mkdtemp(dir=self.tmp)
        os.mkdir(os.path.join(d, "deploy"))
        open(os.path.join(d, "agents.yaml"), "w").close()
        return d

    def test_bash(self):
        d = self.scratch()
        self.assertEqual(self.bash("ap"), ["apply"])
        self.assertEqual(self.bash(""), sorted(self.cmds + ["help", "version"]))
        self.assertEqual(self.bash("compile", "--f"), ["--format"])
        self.assertEqual(self.bash("compile", "--format", ""), ["json", "yaml"])
        self.assertEqual(self.bash("compile", "-o", "", cwd=d), ["deploy"])
        self.assertEqual(self.bash("compile", "--cluster", "a", cwd=d), ["agents.yaml"])
        self.assertEqual(self.bash("compile", "", cwd=d), ["agents.yaml", "deploy"])
        self.assertEqual(self.bash("help", "v"), ["validate", "version"][:1])
        self.assertEqual(self.bash("completion", ""), ["bash", "fish", "zsh"])
        self.assertEqual(self.bash("apply", "--context", ""), [])
        for c in self.cmds:
            self.assertEqual(set(self.bash(c, "-")), help_flags(c), c)

    def test_fish(self):
        if not shutil.which("fish"):
            self.skipTest("SKIPPED: fish is not installed (make deps)")
        script = self.path("usr/share/fish/vendor_completions.d/agentfence.fish")

        def fish(line, cwd=None):
            r = run(["fish", "--no-config", "-c", f"source {script}; complete -C '{line}'"], cwd=cwd)
            self.assertEqual((r.returncode, r.stderr), (0, ""), line)
            return sorted(l.split("\t")[0] for l in r.stdout.splitlines())

        d = self.scratch()
        self.assertEqual(fish("agentfence ap"), ["apply"])
        self.assertEqual(fish("kubectl-agentfence ap"), ["apply"])
        self.assertEqual(fish("agentfence compile --format "), ["json", "yaml"])
        self.assertEqual(fish("agentfence compile -o ", cwd=d), ["deploy/"])
        self.assertEqual(fish("agentfence compile a", cwd=d), ["agents.yaml"])
        self.assertEqual(fish("agentfence help va"), ["validate"])
        self.assertEqual(fish("agentfence completion "), ["bash", "fish", "zsh"])
        for c in self.cmds:
            got = set(fish(f"agentfence {c} --"))
            self.assertEqual(got, {f for f in help_flags(c) if f.startswith("--")}, c)

    def test_zsh(self):
        """zsh parses the script; with _arguments and _describe stubbed, each
        command hands over every option of its --help, with the right value
        completion (a real zsh completion needs a terminal)."""
        if not shutil.which("zsh"):
            self.skipTest("SKIPPED: zsh is not installed (make deps)")
        script = self.path("usr/share/zsh/vendor-completions/_agentfence")
        r = run(["zsh", "-n", script])
        self.assertEqual((r.returncode, r.stderr), (0, ""))
        stub = ("compdef() { print -r -- compdef $@ }; "
                "_describe() { print -rl -- ${(P)${@[-1]}} }; "
                "_arguments() { print -rl -- $@ }; "
                "source $1; shift; words=($@); CURRENT=$#; _agentfence")

        def zsh(*words):
            r = run(["zsh", "-f", "-c", stub, "zsh", script, "agentfence"] + list(words))
            self.assertEqual((r.returncode, r.stderr), (0, ""), words)
            return r.stdout.splitlines()

        first = zsh("")
        self.assertEqual(first[0], "compdef _agentfence agentfence kubectl-agentfence")
        self.assertEqual(sorted(l.split(":")[0] for l in first[1:]),
                         sorted(self.cmds + ["help", "version"]))
        for c in self.cmds:
            specs = zsh(c, "")
            flags = set()
            for s in specs:
                m = re.match(r"(?:\([^)]*\))?(--?[\w-]+)\[", s)   # (-o --output)-o[...
                if m:
                    flags.add(m.group(1))
            self.assertEqual(flags, help_flags(c), c)
        compile_ = zsh("compile", "")
        self.assertIn("--format[output format (default yaml)]:yaml|json:(yaml json)", compile_)
        self.assertIn("*:SPEC:_files", compile_)
        self.assertTrue(any(s.endswith("]:DIR:_files -/") and "--output" in s for s in compile_))


if __name__ == "__main__":
    unittest.main()
