# SPDX-License-Identifier: Apache-2.0
"""docs/editors.md: every example it gives works in this repository.

The modelines name the file they belong in and a schema path relative to
it: both exist, the schema's title is the example's kind, and the file
really is of that kind. The VS Code settings name schemas that exist. Each
schema has the $id and title an editor shows. A modeline is a comment: the
compiler's output is the same with one.
"""
import json
import os
import re
import subprocess
import unittest

import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.abspath(os.environ.get("AGENTFENCE", os.path.join(ROOT, "build", "agentfence")))
DOC = os.path.join(ROOT, "docs", "editors.md")
MODELINE = re.compile(r"^# yaml-language-server: \$schema=(\S+)$", re.M)


def blocks(lang):
    with open(DOC) as f:
        return re.findall(r"^```" + lang + r"\n(.*?)^```$", f.read(), re.M | re.S)


class TestEditors(unittest.TestCase):
    def test_schemas_have_id_and_title(self):
        for name in ("agentisolation", "clusterprofile"):
            with open(os.path.join(ROOT, "schema", name + ".schema.json")) as f:
                s = json.load(f)
            self.assertTrue(s["$id"].endswith("/" + name + ".schema.json"), s["$id"])
            self.assertRegex(s["title"], r"^(AgentIsolation|ClusterProfile) \(agentfence\.dev/v1alpha1\)$")

    def test_modelines(self):
        found = 0
        for b in blocks("yaml"):
            m = MODELINE.search(b)
            if not m:
                continue
            found += 1
            first = b.splitlines()[0]
            self.assertTrue(first.startswith("# "), b)
            path = os.path.join(ROOT, first[2:])
            self.assertTrue(os.path.isfile(path), "the example's file does not exist: " + first)
            schema = os.path.normpath(os.path.join(os.path.dirname(path), m.group(1)))
            self.assertTrue(os.path.isfile(schema), "the modeline's schema does not exist: " + m.group(1))
            kind = yaml.safe_load(b)["kind"]
            with open(schema) as f:
                self.assertTrue(json.load(f)["title"].startswith(kind + " "), (kind, schema))
            with open(path) as f:
                self.assertEqual(next(yaml.safe_load_all(f))["kind"], kind, path)
        self.assertEqual(found, 2)

    def test_vscode_settings(self):
        b, = blocks("json")
        schemas = json.loads(b)["yaml.schemas"]
        self.assertEqual(len(schemas), 2)
        for path in schemas:
            self.assertTrue(os.path.isfile(os.path.join(ROOT, path)), path)

    @unittest.skipUnless(os.path.exists(BIN), "no binary: build first")
    def test_modeline_is_a_comment(self):
        spec = os.path.join(ROOT, "examples", "agents.yaml")
        with open(spec) as f:
            text = f.read()
        plain = subprocess.run([BIN, "compile", "-"], input=text, capture_output=True, text=True)
        self.assertEqual(plain.returncode, 0, plain.stderr)
        marked = subprocess.run([BIN, "compile", "-"], capture_output=True, text=True,
                                input="# yaml-language-server: $schema=../schema/agentisolation.schema.json\n" + text)
        self.assertEqual((marked.returncode, marked.stdout), (0, plain.stdout))


if __name__ == "__main__":
    unittest.main()
