# SPDX-License-Identifier: Apache-2.0
"""schema/ and the compiler agree: on every example and every bad case.

Examples (specs and profiles) are valid for both. Every bad case is refused
by the compiler (tests/bad.sh proves the exact message); its first line says
whether the JSON Schema can see the problem too ("# schema: invalid") or
whether only the compiler's semantic checks can ("# schema: valid": host
bits, blocked-range overlaps, duplicates, YAML features). This test holds
the schema to that verdict, so the two cannot drift apart silently.
"""
import glob
import json
import os
import subprocess
import unittest

import jsonschema
import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.environ.get("AGENTFENCE", os.path.join(ROOT, "build", "agentfence"))


def load_schema(name):
    with open(os.path.join(ROOT, "schema", name)) as f:
        s = json.load(f)
    jsonschema.Draft202012Validator.check_schema(s)
    return jsonschema.Draft202012Validator(s)


SPEC = load_schema("agentisolation.schema.json")
PROFILE = load_schema("clusterprofile.schema.json")


def docs(path):
    """The documents of a file, or None when YAML itself refuses it
    (duplicate keys count: the compiler refuses them, PyYAML would not)."""
    try:
        with open(path) as f:
            return [d for d in yaml.load_all(f, Loader=yaml.CSafeLoader) if d is not None]
    except yaml.YAMLError:
        return None


def verdict(path):
    with open(path) as f:
        first = f.readline()
    if path.endswith(".json"):
        return "invalid"
    assert first.startswith("# schema: "), f"{path}: first line must be '# schema: valid|invalid'"
    return first.split(":", 1)[1].strip()


class SchemaAgrees(unittest.TestCase):
    def test_examples_valid_for_both(self):
        for path in sorted(glob.glob(os.path.join(ROOT, "examples", "*.yaml"))):
            validator = PROFILE if os.path.basename(path).startswith("profile-") else SPEC
            with self.subTest(path=path):
                for d in docs(path):
                    errors = [e.message for e in validator.iter_errors(d)]
                    self.assertEqual(errors, [], path)
                if validator is SPEC:
                    prof = os.path.join(ROOT, "examples", "profile-" + os.path.basename(path))
                    args = ["--cluster", prof] if os.path.exists(prof) else []
                    r = subprocess.run([BIN, "validate", *args, path], capture_output=True, text=True)
                    self.assertEqual(r.returncode, 0, r.stderr)

    def test_golden_profiles_valid(self):
        # the profiles of the golden cases and of tests/tools (spec.probe among them)
        paths = sorted(glob.glob(os.path.join(ROOT, "tests", "golden", "*.profile.yaml")) +
                       glob.glob(os.path.join(ROOT, "tests", "tools", "profiles", "*.yaml")))
        self.assertGreater(len(paths), 5)
        for path in paths:
            with self.subTest(path=path):
                for d in docs(path):
                    self.assertEqual([e.message for e in PROFILE.iter_errors(d)], [], path)

    def check_cases(self, pattern, validator):
        n = 0
        for path in sorted(glob.glob(os.path.join(ROOT, pattern))):
            if path.endswith(".err") or path.endswith(".profile.yaml"):
                continue
            n += 1
            with self.subTest(path=path):
                want = verdict(path)
                ds = docs(path)
                if ds is None:
                    schema_ok = False  # not even YAML: nothing to validate
                else:
                    schema_ok = all(validator.is_valid(d) for d in ds)
                self.assertEqual("valid" if schema_ok else "invalid", want,
                                 f"{path}: the schema says {'valid' if schema_ok else 'invalid'}")
        self.assertGreater(n, 10)

    def test_bad_specs(self):
        self.check_cases("tests/bad/*", SPEC)

    def test_bad_profiles(self):
        self.check_cases("tests/bad-profile/*", PROFILE)


if __name__ == "__main__":
    unittest.main()
