# SPDX-License-Identifier: Apache-2.0
"""`agentfence crd`: the CustomResourceDefinitions generated from schema/.

    python3 tests/crd/test_crd.py [--update]   (--update rewrites crd.yaml)

1. The output is byte-identical to tests/crd/crd.yaml (golden), and with
   --format json to tests/crd/crd.json (the same objects in a v1 List).
2. Each CRD validates against the apiextensions.k8s.io/v1 CustomResourceDefinition
   schema (tests/schemas/jsonschema, strict: unknown fields refused).
3. Each openAPIV3Schema is structural, by the API server's rules (check_structural).
4. Every property path of schema/ is in the CRD, with schema/'s description
   (what `kubectl explain agentisolation.spec.egress` prints).
5. Every example and every bad case gets the same verdict from the CRD's
   schema as from schema/, except the cases in DIFFERENT, each with its reason.
   The CRD's schema is turned into a JSON Schema as the API server applies it
   with fieldValidation=Strict (to_jsonschema).
"""
import glob
import json
import os
import re
import subprocess
import sys
import unittest

import jsonschema
import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
BIN = os.environ.get("AGENTFENCE", os.path.join(ROOT, "build", "agentfence"))
GOLDEN = os.path.join(HERE, "crd.yaml")
GOLDEN_JSON = os.path.join(HERE, "crd.json")
sys.path.insert(0, os.path.join(ROOT, "tests", "schemas"))
import derive  # noqa: E402  (the upstream ObjectMeta, the strict rule, int-or-string)

API_VERSION = "agentfence.dev/v1alpha1"

# Cases where the CRD and schema/ disagree, and why (a CRD cannot say it,
# see the header of `agentfence crd`); every other case must agree.
DIFFERENT = {
    "tests/golden/004-blocked-everything.profile.yaml": (
        "schema/ valid, CRD invalid",
        "no metadata: a profile file may leave out its name, an object in the cluster "
        "cannot"),
    "tests/bad/019-allow-no-prefix.yaml": (
        "schema/ invalid, CRD valid",
        "1.2.3.4 (no /len) matches the CRD's domain-name pattern: schema/'s lookahead that "
        "wants a letter in the last label sits mid-pattern, and RE2 has none (cut out)"),
    "tests/bad/054-ingress-bad-label.yaml": (
        "schema/ invalid, CRD valid",
        "a bad label key: propertyNames has no OpenAPI equivalent, and a CEL rule over keys "
        "of unbounded length exceeds the API server's cost budget"),
}


def crd_output(*args):
    r = subprocess.run([BIN, "crd", *args], capture_output=True)
    assert r.returncode == 0, r.stderr.decode()
    assert r.stderr == b"", r.stderr.decode()
    return r.stdout


def load_crds(out):
    docs = [d for d in yaml.safe_load_all(out) if d is not None]
    return {d["spec"]["names"]["kind"]: d for d in docs}


def root_schema(crd):
    (version,) = crd["spec"]["versions"]
    return version["schema"]["openAPIV3Schema"]


# --- structural schemas (k8s.io/apiextensions-apiserver, pkg/apiserver/schema) ---

TYPES = {"object", "array", "string", "integer", "number", "boolean"}
JUNCTORS = ("allOf", "anyOf", "oneOf")
# what a logical junctor may not say (structural rule 3)
NOT_IN_JUNCTOR = {"type", "description", "title", "default", "additionalProperties",
                  "nullable", "x-kubernetes-int-or-string", "x-kubernetes-preserve-unknown-fields",
                  "x-kubernetes-embedded-resource", "x-kubernetes-list-type",
                  "x-kubernetes-list-map-keys", "x-kubernetes-map-type"}
# JSON Schema keywords a CRD's OpenAPI v3 has no room for
NOT_OPENAPI = {"$ref", "$defs", "$schema", "$id", "const", "if", "then", "else",
               "propertyNames", "dependentRequired", "prefixItems", "contains",
               "patternProperties", "unevaluatedProperties"}
LOOKAROUND = re.compile(r"\(\?(=|!|<=|<!)")


def python_pattern(p):
    """A Go RE2 pattern in Python's syntax (\\x{HHHH} -> \\uHHHH)."""
    return re.sub(r"\\x\{([0-9A-Fa-f]{4})\}", r"\\u\1", p)


def check_structural(s, path, junctor=False, outer=None, errors=None):
    """Structural-schema violations of s, as 'path: what' strings."""
    errors = [] if errors is None else errors
    if not isinstance(s, dict):
        errors.append(f"{path}: not a schema")
        return errors
    for k in sorted(set(s) & NOT_OPENAPI):
        errors.append(f"{path}: {k} is not allowed in a CRD")
    if s.get("uniqueItems") is True:
        errors.append(f"{path}: uniqueItems: true is not allowed in a CRD")
    if junctor:
        for k in sorted(set(s) & NOT_IN_JUNCTOR):
            errors.append(f"{path}: {k} inside a logical junctor")
        # a junctor may only restrict what the outer schema declares
        for name in s.get("properties", {}):
            if name not in (outer or {}).get("properties", {}):
                errors.append(f"{path}: property {name} in a junctor but not outside")
        if "items" in s and "items" not in (outer or {}):
            errors.append(f"{path}: items in a junctor but not outside")
    else:
        ios = s.get("x-kubernetes-int-or-string") is True
        if ios and "type" in s:
            errors.append(f"{path}: int-or-string with a type")
        if not ios and not s.get("x-kubernetes-preserve-unknown-fields") and \
                s.get("type") not in TYPES:
            errors.append(f"{path}: no type (structural: every node has one)")
        if "properties" in s and "additionalProperties" in s:
            errors.append(f"{path}: additionalProperties beside properties")
        if "additionalProperties" in s and not isinstance(s["additionalProperties"], dict):
            errors.append(f"{path}: additionalProperties must be a schema")
        if s.get("x-kubernetes-list-type") == "set" and \
                s.get("items", {}).get("type") not in ("string", "integer", "number", "boolean"):
            errors.append(f"{path}: list-type set of non-scalars")
    if "exclusiveMinimum" in s and (s["exclusiveMinimum"] is not True or "minimum" not in s):
        errors.append(f"{path}: exclusiveMinimum must be true beside minimum (OpenAPI v3.0)")
    if "pattern" in s:
        p = s["pattern"]
        if LOOKAROUND.search(p) or "\\u" in p:
            errors.append(f"{path}: pattern {p!r} is not Go RE2")
        re.compile(python_pattern(p))
    here = outer if junctor else s
    for name, sub in s.get("properties", {}).items():
        check_structural(sub, f"{path}.{name}", junctor,
                         (here or {}).get("properties", {}).get(name), errors)
    if "items" in s:
        check_structural(s["items"], f"{path}[]", junctor, (here or {}).get("items"), errors)
    if isinstance(s.get("additionalProperties"), dict):
        check_structural(s["additionalProperties"], f"{path}{{}}", junctor, None, errors)
    for j in JUNCTORS:
        for i, sub in enumerate(s.get(j, [])):
            check_structural(sub, f"{path}.{j}[{i}]", True, here, errors)
    if "not" in s:
        check_structural(s["not"], f"{path}.not", True, here, errors)
    return errors


def check_root(s):
    """A custom resource's root: metadata may restrict name and generateName only."""
    meta = s["properties"].get("metadata", {})
    bad = set(meta) - {"type", "properties"} | set(meta.get("properties", {})) - {
        "name", "generateName"}
    return [f"metadata: {k} (only name and generateName may be restricted)" for k in sorted(bad)]


# --- the CRD's schema as the API server applies it, in JSON Schema ---

def openapi_to_jsonschema(s):
    """OpenAPI v3.0 (a CRD's subset) to draft 2020-12."""
    if isinstance(s, list):
        return [openapi_to_jsonschema(x) for x in s]
    if not isinstance(s, dict):
        return s
    out = {}
    for k, v in s.items():
        if k in ("properties",):
            out[k] = {n: openapi_to_jsonschema(x) for n, x in v.items()}
        elif k in ("items", "additionalProperties", "not") + JUNCTORS:
            out[k] = openapi_to_jsonschema(v)
        elif k == "pattern":
            out[k] = python_pattern(v)
        elif k == "x-kubernetes-list-type" and v == "set":
            out["uniqueItems"] = True   # the API server refuses duplicates of a set
        else:
            out[k] = v
    for bound in ("Minimum", "Maximum"):
        if out.pop("exclusive" + bound, False) is True:
            out["exclusive" + bound] = out.pop(bound.lower())
    return derive.convert(out)   # x-kubernetes-int-or-string: anyOf integer, string


# the API server's own ObjectMeta validation: a namespace is a DNS-1123 label
NAMESPACE = {"properties": {"namespace": {"type": "string", "maxLength": 63,
                                          "pattern": "^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"}}}


def to_jsonschema(crd):
    """The stored object's schema: the CRD's, strict (fieldValidation=Strict: unknown
    fields are errors), apiVersion and kind as the API server routes them, metadata
    the v1.35 ObjectMeta (strict too) with the API server's checks of name (required)
    and namespace, plus the CRD's own restriction of name."""
    kind = crd["spec"]["names"]["kind"]
    plain = openapi_to_jsonschema(root_schema(crd))
    body = derive.strict(plain)
    body["properties"]["apiVersion"]["const"] = API_VERSION
    body["properties"]["kind"]["const"] = kind
    body["properties"]["metadata"] = {   # ObjectMeta is strict; the CRD's part only restricts
        "allOf": [{"$ref": "#/$defs/" + derive.OBJECT_META}, plain["properties"]["metadata"],
                  NAMESPACE],
        "required": ["name"]}
    body["required"] = ["apiVersion", "kind", "metadata"] + body.get("required", [])
    defs = derive.closure(derive.load(derive.CORE)["components"]["schemas"], [derive.OBJECT_META])
    body["$defs"] = derive.subschemas("$defs", defs, derive.strict)
    body["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    jsonschema.Draft202012Validator.check_schema(body)
    return jsonschema.Draft202012Validator(body)


def schema_dir_validator(name):
    with open(os.path.join(ROOT, "schema", name)) as f:
        return jsonschema.Draft202012Validator(json.load(f))


def docs(path):
    """A file's documents, or None when YAML itself refuses it (as test_schema.py)."""
    try:
        with open(path) as f:
            return [d for d in yaml.load_all(f, Loader=yaml.CSafeLoader) if d is not None]
    except yaml.YAMLError:
        return None


def verdict(validator, ds):
    if ds is None:
        return "invalid"
    return "valid" if all(validator.is_valid(d) for d in ds) else "invalid"


# --- schema/'s property paths and descriptions ---

def resolve(s, defs):
    while isinstance(s, dict) and "$ref" in s:
        target = dict(defs[s["$ref"].split("/")[-1]])
        target.update({k: v for k, v in s.items() if k != "$ref"})
        s = target
    return s


def paths(s, defs, prefix=""):
    """(path, description) of every property schema/ declares, merged allOf included."""
    s = resolve(s, defs)
    for m in s.get("allOf", []):
        yield from paths({k: v for k, v in resolve(m, defs).items() if k == "properties"},
                         defs, prefix)
    for name, sub in s.get("properties", {}).items():
        sub = resolve(sub, defs)
        p = prefix + name
        yield p, sub.get("description")
        yield from paths(sub, defs, p + ".")
    if "items" in s:
        yield from paths(s["items"], defs, prefix)


def lookup(s, path):
    """The CRD schema node at a dotted path (arrays crossed as kubectl explain does)."""
    for name in path.split("."):
        while s.get("type") == "array":
            s = s["items"]
        s = s.get("properties", {}).get(name)
        if s is None:
            return None
    return s


class Crd(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.out = crd_output()
        cls.crds = load_crds(cls.out)
        cls.schema_dir = {"AgentIsolation": schema_dir_validator("agentisolation.schema.json"),
                          "ClusterProfile": schema_dir_validator("clusterprofile.schema.json")}
        cls.stored = {k: to_jsonschema(v) for k, v in cls.crds.items()}

    def test_golden(self):
        with open(GOLDEN, "rb") as f:
            want = f.read()
        self.assertEqual(self.out.decode(), want.decode(),
                         "agentfence crd differs from tests/crd/crd.yaml "
                         "(python3 tests/crd/test_crd.py --update)")
        self.assertEqual(crd_output(), self.out, "the output is not deterministic")
        with open(GOLDEN_JSON, "rb") as f:
            want = f.read()
        out = crd_output("--format", "json")
        self.assertEqual(out.decode(), want.decode(), "agentfence crd --format json differs "
                         "from tests/crd/crd.json (python3 tests/crd/test_crd.py --update)")
        doc = json.loads(out)
        self.assertEqual((doc["apiVersion"], doc["kind"]), ("v1", "List"))
        self.assertEqual(doc["items"], list(self.crds.values()))

    def test_kinds_and_scope(self):
        self.assertEqual(sorted(self.crds), ["AgentIsolation", "ClusterProfile"])
        for kind, scope in (("AgentIsolation", "Namespaced"), ("ClusterProfile", "Cluster")):
            spec = self.crds[kind]["spec"]
            self.assertEqual(spec["group"], "agentfence.dev")
            self.assertEqual(spec["scope"], scope)
            self.assertEqual(self.crds[kind]["metadata"]["name"],
                             spec["names"]["plural"] + ".agentfence.dev")
            (v,) = spec["versions"]
            self.assertEqual((v["name"], v["served"], v["storage"]), ("v1alpha1", True, True))

    def test_valid_crd(self):
        path = os.path.join(ROOT, "tests", "schemas", "jsonschema",
                            "customresourcedefinition.strict.schema.json")
        with open(path) as f:
            v = jsonschema.Draft202012Validator(json.load(f))
        for kind, crd in self.crds.items():
            with self.subTest(kind=kind):
                self.assertEqual([f"{list(e.absolute_path)}: {e.message}"
                                  for e in v.iter_errors(crd)], [])

    def test_structural(self):
        for kind, crd in self.crds.items():
            with self.subTest(kind=kind):
                s = root_schema(crd)
                self.assertEqual(check_structural(s, kind) + check_root(s), [])

    def test_checker_catches(self):
        """The structural checker refuses what JSON Schema allows and a CRD does not."""
        bad = [
            {"type": "object", "properties": {"a": {"$ref": "#/$defs/x"}}},
            {"type": "object", "properties": {"a": {"enum": ["x"]}}},
            {"type": "object", "properties": {"a": {"type": "string"}},
             "additionalProperties": False},
            {"type": "object", "properties": {"a": {"type": "string"}},
             "anyOf": [{"properties": {"b": {"type": "string"}}}]},
            {"type": "object", "properties": {"a": {"type": "string"}},
             "anyOf": [{"properties": {"a": {"type": "string"}}}]},
            {"type": "string", "pattern": "^(?!x)y$"},
            {"type": "array", "uniqueItems": True, "items": {"type": "string"}},
            {"type": "integer", "exclusiveMinimum": 0},
        ]
        for s in bad:
            with self.subTest(s=s):
                self.assertNotEqual(check_structural(s, "x"), [])

    def test_explain_paths(self):
        """kubectl explain agentisolation.PATH prints these: every path of schema/
        is there, with schema/'s description."""
        for kind, name in (("AgentIsolation", "agentisolation.schema.json"),
                           ("ClusterProfile", "clusterprofile.schema.json")):
            with open(os.path.join(ROOT, "schema", name)) as f:
                src = json.load(f)
            root = root_schema(self.crds[kind])
            n = 0
            for path, desc in paths(src["properties"]["spec"], src["$defs"], "spec."):
                n += 1
                with self.subTest(kind=kind, path=path):
                    node = lookup(root, path)
                    self.assertIsNotNone(node, path)
                    self.assertEqual(node.get("description"), desc, path)
            self.assertGreater(n, 20)
        egress = lookup(root_schema(self.crds["AgentIsolation"]), "spec.egress")
        self.assertIn("mode", egress["description"])
        self.assertIn("allowlist", lookup(root_schema(self.crds["AgentIsolation"]),
                                          "spec.egress.mode")["description"])

    def test_examples(self):
        for path in sorted(glob.glob(os.path.join(ROOT, "examples", "*.yaml"))):
            kind = "ClusterProfile" if os.path.basename(path).startswith("profile-") \
                else "AgentIsolation"
            with self.subTest(path=path):
                for d in docs(path):
                    self.assertEqual([e.message for e in self.stored[kind].iter_errors(d)], [])
                    self.assertTrue(self.schema_dir[kind].is_valid(d))

    def test_golden_profiles(self):
        """The profiles of the golden cases and of tests/tools, as test_schema.py checks them."""
        paths = sorted(glob.glob(os.path.join(ROOT, "tests", "golden", "*.profile.yaml")) +
                       glob.glob(os.path.join(ROOT, "tests", "tools", "profiles", "*.yaml")))
        self.assertGreater(len(paths), 5)
        seen = {}
        for path in paths:
            ds = docs(path)
            want = verdict(self.schema_dir["ClusterProfile"], ds)
            got = verdict(self.stored["ClusterProfile"], ds)
            if want != got:
                seen[os.path.relpath(path, ROOT)] = f"schema/ {want}, CRD {got}"
        self.assertEqual(seen, {k: v[0] for k, v in DIFFERENT.items()
                                if not k.startswith("tests/bad")})

    def test_bad_cases(self):
        seen = {}
        for pattern, kind in (("tests/bad/*", "AgentIsolation"),
                              ("tests/bad-profile/*", "ClusterProfile")):
            n = 0
            for path in sorted(glob.glob(os.path.join(ROOT, pattern))):
                if path.endswith(".err") or path.endswith(".profile.yaml"):
                    continue
                n += 1
                ds = docs(path)
                rel = os.path.relpath(path, ROOT)
                want, got = verdict(self.schema_dir[kind], ds), verdict(self.stored[kind], ds)
                if want != got:
                    seen[rel] = f"schema/ {want}, CRD {got}"
            self.assertGreater(n, 10)
        self.assertEqual(seen, {k: v[0] for k, v in DIFFERENT.items()
                                if k.startswith("tests/bad")})


def update():
    with open(GOLDEN, "wb") as f:
        f.write(crd_output())
    with open(GOLDEN_JSON, "wb") as f:
        f.write(crd_output("--format", "json"))


if __name__ == "__main__":
    if sys.argv[1:] == ["--update"]:
        update()
    else:
        unittest.main()
