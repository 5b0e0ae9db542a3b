"""Differential test of the spec reader: fastread against libyaml.

agentfence reads spec files with compiler/fastread.c, a scanner for a
subset of block YAML, and hands a document to libyaml when fastread gives
up on it; the trees and diagnostics must be exactly libyaml's alone.
gen.py writes a few thousand seeded random streams (most documents inside
the subset, many at its edges or just past them) and ~60 fixed streams
around node.c's first 128 KiB read to a temporary folder, and
build/replay/fuzz_reader (make test-bins; tests/fuzz/fuzz_reader.c says
what it compares) reads each both ways and aborts on a difference.

Two checks:
- no stream reads differently; a failure shows the first input (its path,
  kept in a folder that is not removed, its bytes and both dumps);
- the fast path is really taken: fastread itself reads every document of
  the "subset" streams (FUZZ_READER_STATS=1), so a change that makes it
  give up on spec-like YAML fails here too.

Env: AGENTFENCE (the binary; fuzz_reader is in its folder's replay/),
FUZZ_READER (the tool itself), READER_SEED and READER_COUNT (another
seed or size; the default is fixed, so a failure is reproducible, and
`python3 tests/reader/gen.py DIR SEED COUNT` writes the same streams),
READER_VERBOSE=1 (print the counts and the fast path's share).
"""
import difflib
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gen  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.environ.get("AGENTFENCE", os.path.join(ROOT, "build", "agentfence"))
TOOL = os.environ.get("FUZZ_READER", os.path.join(os.path.dirname(BIN), "replay", "fuzz_reader"))
SEED = int(os.environ.get("READER_SEED", "20260214"))
COUNT = int(os.environ.get("READER_COUNT", "4000"))
BATCH = 500            # inputs per fuzz_reader run
MAX_FAILURES = 10      # inputs kept and named when streams disagree
# Share of the subset streams' documents fastread must read itself. The
# generator writes only what fastread.h calls its subset there, and
# fastread reads all of it.
MIN_FAST_SHARE = 1.0

STATS = re.compile(rb"^fastread: (\d+) of (\d+) documents$", re.M)


def run_tool(paths):
    """fuzz_reader on paths: (exit code, [(F, N)] per input in order, stderr)."""
    env = dict(os.environ, FUZZ_READER_STATS="1")
    r = subprocess.run([TOOL] + paths, env=env, stdout=subprocess.DEVNULL,
                       stderr=subprocess.PIPE, timeout=300)
    stats = [(int(f), int(n)) for f, n in STATS.findall(r.stderr)]
    return r.returncode, stats, r.stderr


def show(data, limit=3000):
    """An input's bytes, readable: lines numbered, escapes for the odd ones."""
    text = data[:limit].decode("latin-1")
    lines = text.split("\n")
    out = ["%4d| %s" % (i + 1, ascii(ln)[1:-1]) for i, ln in enumerate(lines)]
    if len(data) > limit:
        out.append("     ... (%d bytes in all)" % len(data))
    return "\n".join(out)


def dump_diff(err):
    """The difference of fuzz_reader's two dumps ("=== fastread" and
    "=== libyaml" on stderr), as a unified diff; "" if not both there."""
    text = err.decode("latin-1")
    a, b = text.find("=== fastread\n"), text.find("=== libyaml\n")
    if a < 0 or b < a:
        return ""
    fast = text[a:b].splitlines()[1:]
    lib = text[b:].splitlines()[1:]
    lib = [ln for ln in lib if "invariant failed" not in ln]
    d = list(difflib.unified_diff(fast, lib, "fastread", "libyaml", lineterm="", n=3))
    return "\n".join(d[:80] + (["... (%d diff lines)" % len(d)] if len(d) > 80 else []))


class ReaderDiff(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        if not os.access(TOOL, os.X_OK):
            raise AssertionError("%s not built (make test-bins)" % TOOL)
        cls.tmp = tempfile.mkdtemp(prefix="reader-")
        cls.streams = gen.streams(SEED, COUNT)
        cls.paths = []
        for name, data, _ in cls.streams:
            p = os.path.join(cls.tmp, name)
            with open(p, "wb") as f:
                f.write(data)
            cls.paths.append(p)
        cls.stats = {}       # path -> (F, N)
        cls.failures = []    # (path, exit code, stderr)
        t0 = time.monotonic()
        for i in range(0, len(cls.paths), BATCH):
            if len(cls.failures) >= MAX_FAILURES:
                break
            cls.run_batch(cls.paths[i:i + BATCH])
        cls.seconds = time.monotonic() - t0

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)

    @classmethod
    def run_batch(cls, paths):
        """Run paths; on an abort, find the input that failed (its stats
        line is the last printed, or none if it crashed before), record it
        and go on with the inputs after it."""
        while paths:
            rc, stats, err = run_tool(paths)
            for p, st in zip(paths, stats):
                cls.stats[p] = st
            if rc == 0:
                if len(stats) != len(paths):
                    raise AssertionError("fuzz_reader printed %d stats lines for %d inputs"
                                         % (len(stats), len(paths)))
                return
            k = max(0, len(stats) - 1)
            while k < len(paths):
                rc1, st1, err1 = run_tool([paths[k]])
                if rc1 != 0:
                    break
                if st1:
                    cls.stats[paths[k]] = st1[0]
                k += 1
            if k == len(paths):
                raise AssertionError("fuzz_reader failed (%d) on the batch but on no input "
                                     "alone:\n%s" % (rc, err.decode("latin-1")[-3000:]))
            cls.failures.append((paths[k], rc1, err1))
            if len(cls.failures) >= MAX_FAILURES:
                return
            paths = paths[k + 1:]

    def test_same_trees(self):
        """Every stream reads the same with fastread as with libyaml alone."""
        if not self.failures:
            return
        keep = tempfile.mkdtemp(prefix="reader-failures-")
        for p, _, _ in self.failures:
            shutil.copy(p, keep)
        p, rc, err = self.failures[0]
        with open(p, "rb") as f:
            data = f.read()
        more = "".join("\n  " + os.path.join(keep, os.path.basename(q))
                       for q, _, _ in self.failures)
        self.fail("fastread and libyaml disagree on %s%s (seed %d; inputs kept:%s)\n"
                  "--- input %s\n%s\n--- the dumps' difference:\n%s\n--- fuzz_reader (%s):\n%s"
                  % (os.path.basename(p), "" if len(self.failures) == 1 else
                     " and %d more%s" % (len(self.failures) - 1,
                                         "" if len(self.failures) < MAX_FAILURES else " (stopped)"),
                     SEED, more, os.path.join(keep, os.path.basename(p)), show(data),
                     dump_diff(err), "signal %d" % -rc if rc < 0 else "exit %d" % rc,
                     err.decode("latin-1")[-4000:]))

    def test_fast_path_taken(self):
        """fastread itself reads the documents that are in its subset."""
        if self.failures:
            self.skipTest("streams read differently (test_same_trees); the count is incomplete")
        fast = total = 0
        missed = []
        for (name, data, subset), p in zip(self.streams, self.paths):
            if not subset or p not in self.stats:
                continue
            f, n = self.stats[p]
            fast += min(f, n)
            total += n
            if f < n:
                missed.append((name, data, f, n))
        self.assertGreater(total, COUNT // 2, "too few subset documents were read")
        share = fast / total
        if os.environ.get("READER_VERBOSE"):
            everything = sum(min(f, n) for f, n in self.stats.values())
            print("\nreader: %d streams, %d documents (%d in subset streams), fastread read "
                  "%.2f%% of the subset's and %.2f%% of all, in %.1fs"
                  % (len(self.paths), sum(n for _, n in self.stats.values()), total, 100 * share,
                     100 * everything / max(1, sum(n for _, n in self.stats.values())),
                     self.seconds), file=sys.stderr)
        if share < MIN_FAST_SHARE:
            name, data, f, n = missed[0]
            self.fail("fastread read %d of %d documents of the subset streams (%.2f%%, want "
                      "%.2f%%); it gave up in %d streams, the first: %s (%d of %d)\n%s"
                      % (fast, total, 100 * share, 100 * MIN_FAST_SHARE, len(missed), name,
                         f, n, show(data)))


if __name__ == "__main__":
    unittest.main()
