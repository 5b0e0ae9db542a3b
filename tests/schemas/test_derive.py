# SPDX-License-Identifier: Apache-2.0
"""The schemas the tests use are what SOURCES.md says they are.

* every file in upstream/ is listed in SOURCES.md with its SHA-256, and has it;
* derive.py, run again into an empty folder, writes exactly the checked-in
  jsonschema/ files (no more, no fewer, byte for byte).

Run from the repository root:
    python3 -m unittest discover -s tests/schemas -p 'test_*.py'
"""

import hashlib
import re
import subprocess
import sys
import tempfile
import unittest
from pathlib import Path

HERE = Path(__file__).resolve().parent
UPSTREAM = HERE / "upstream"
DERIVED = HERE / "jsonschema"

SECTION = re.compile(r"^###.*\(`upstream/([^`]+?)/?`\)\s*$")
ROW = re.compile(r"^\|\s*`([^`/]+)`\s*\|(?:.*\|)?\s*`([0-9a-f]{64})`\s*\|\s*$")


def listed_hashes() -> dict:
    """{path under upstream/: sha256} from SOURCES.md's tables."""
    hashes, folder = {}, None
    for line in (HERE / "SOURCES.md").read_text(encoding="utf-8").splitlines():
        m = SECTION.match(line)
        if m:
            folder = m.group(1)
            continue
        m = ROW.match(line)
        if m and folder:
            hashes[f"{folder}/{m.group(1)}"] = m.group(2)
    return hashes


def files_under(root: Path) -> list:
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())


class Upstream(unittest.TestCase):
    def test_every_copy_is_listed_with_its_hash(self):
        listed = listed_hashes()
        self.assertEqual(sorted(listed), files_under(UPSTREAM),
                         "SOURCES.md must list exactly the files in upstream/")
        for rel, want in listed.items():
            with self.subTest(file=rel):
                got = hashlib.sha256((UPSTREAM / rel).read_bytes()).hexdigest()
                self.assertEqual(got, want, f"upstream/{rel} is not the documented copy")


class Derived(unittest.TestCase):
    def test_derive_reproduces_checked_in_schemas(self):
        with tempfile.TemporaryDirectory(prefix="agentfence-schemas-") as tmp:
            r = subprocess.run([sys.executable, str(HERE / "derive.py"), tmp],
                               capture_output=True, text=True, timeout=300)
            self.assertEqual(r.returncode, 0, r.stderr)
            out = Path(tmp)
            self.assertEqual(files_under(out), files_under(DERIVED),
                             "derive.py and jsonschema/ disagree on the set of files")
            for name in files_under(out):
                with self.subTest(file=name):
                    self.assertTrue((out / name).read_bytes() == (DERIVED / name).read_bytes(),
                                    f"jsonschema/{name} is not what derive.py writes; "
                                    f"run python3 tests/schemas/derive.py")


if __name__ == "__main__":
    unittest.main()
