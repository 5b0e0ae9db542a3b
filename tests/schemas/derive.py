# SPDX-License-Identifier: Apache-2.0
"""Derive the JSON Schemas (draft 2020-12) the tests validate output with,
from the upstream documents in upstream/ (see SOURCES.md).

    python3 tests/schemas/derive.py [OUTDIR]     (default: tests/schemas/jsonschema)

Each kind gets two self-contained files with their references in `$defs`:
NAME.schema.json, as close to upstream as JSON Schema allows, and
NAME.strict.schema.json, which also rejects unknown fields the way
`kubectl --validate=strict` (server-side fieldValidation=Strict) does.

Conversion rules:
1. `#/components/schemas/X` becomes `#/$defs/X`.
2. `x-kubernetes-int-or-string` (CRDs) and a bare `format: int-or-string`
   accept an integer or a string (the v1.35 documents already spell
   IntOrString as oneOf [integer, string]).
3. `format: int32` adds the int32 bounds the API server enforces when it
   decodes the object (unless the schema has its own).
4. At the root: `apiVersion` and `kind` are consts; `apiVersion`, `kind` and
   `metadata` are required. A CRD's `metadata` (just `type: object`) is
   replaced by the v1.35 ObjectMeta.
5. Cilium's `^\\PC*$` (a Go RE2 Unicode class Python's `re` cannot parse)
   becomes an approximate character class, flagged with `$comment`.
6. `format` values stay as they are (validators register `cidr`), and CEL
   `x-kubernetes-validations` stay in place, unenforced.
Strict: `additionalProperties: false` on every object schema that has
`properties`, except under anyOf/oneOf/allOf/not and below
`x-kubernetes-preserve-unknown-fields`.
"""

from __future__ import annotations

import functools
import json
import sys
from pathlib import Path

import yaml

HERE = Path(__file__).resolve().parent
UPSTREAM = HERE / "upstream"
K8S = "kubernetes/v1.35/"
CORE = K8S + "api__v1_openapi.json"
OBJECT_META = "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"

# name: (upstream document, OpenAPI component, apiVersion, kind)
OPENAPI = {
    "pod": (CORE, "io.k8s.api.core.v1.Pod", "v1", "Pod"),
    "serviceaccount": (CORE, "io.k8s.api.core.v1.ServiceAccount", "v1", "ServiceAccount"),
    "networkpolicy": (K8S + "apis__networking.k8s.io__v1_openapi.json",
                      "io.k8s.api.networking.v1.NetworkPolicy",
                      "networking.k8s.io/v1", "NetworkPolicy"),
    "lease": (K8S + "apis__coordination.k8s.io__v1_openapi.json",
              "io.k8s.api.coordination.v1.Lease", "coordination.k8s.io/v1", "Lease"),
    "validatingadmissionpolicy": (
        K8S + "apis__admissionregistration.k8s.io__v1_openapi.json",
        "io.k8s.api.admissionregistration.v1.ValidatingAdmissionPolicy",
        "admissionregistration.k8s.io/v1", "ValidatingAdmissionPolicy"),
    "validatingadmissionpolicybinding": (
        K8S + "apis__admissionregistration.k8s.io__v1_openapi.json",
        "io.k8s.api.admissionregistration.v1.ValidatingAdmissionPolicyBinding",
        "admissionregistration.k8s.io/v1", "ValidatingAdmissionPolicyBinding"),
    "customresourcedefinition": (
        K8S + "apis__apiextensions.k8s.io__v1_openapi.json",
        "io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1.CustomResourceDefinition",
        "apiextensions.k8s.io/v1", "CustomResourceDefinition"),
}

CNP = "network-policy-api/v0.2.0/{channel}.policy.networking.k8s.io_clusternetworkpolicies.yaml"

# name: CRD document (its served and storage version is used)
CRDS = {
    "ciliumegressgatewaypolicy": "cilium/v1.19.4/ciliumegressgatewaypolicies.yaml",
    "ciliumnetworkpolicy": "cilium/v1.19.4/ciliumnetworkpolicies.yaml",
    "ciliumclusterwidenetworkpolicy": "cilium/v1.19.4/ciliumclusterwidenetworkpolicies.yaml",
    # the experimental channel is a superset of the standard one (domainNames peers)
    "clusternetworkpolicy": CNP.format(channel="experimental"),
    "clusternetworkpolicy-standard": CNP.format(channel="standard"),
    "kustomization": "fluxcd/kustomize-controller-v1.9.4/"
                     "kustomize.toolkit.fluxcd.io_kustomizations.yaml",
    "application": "argo-cd/v3.5.1/application-crd.yaml",
    "applicationset": "argo-cd/v3.5.1/applicationset-crd.yaml",
}

INT32 = {"minimum": -2**31, "maximum": 2**31 - 1}
GO_PRINTABLE = "^\\PC*$"
# Go's \PC (not a control, format, surrogate, private-use or unassigned
# code point) approximated: the C* code points a validator meets in practice.
PRINTABLE = ("^[^\\x00-\\x1f\\x7f-\\x9f\\u00ad\\u0600-\\u0605\\u061c\\u06dd\\u070f"
             "\\u08e2\\u180e\\u200b-\\u200f\\u202a-\\u202e\\u2060-\\u2064\\u2066-\\u206f"
             "\\ufeff\\ufff9-\\ufffb\\ud800-\\udfff\\ue000-\\uf8ff]*$")
PRINTABLE_NOTE = ("pattern approximates Go RE2 ^\\PC*$ (Python re lacks \\p classes): "
                  "rejects Cc, common Cf, surrogates, private use; not unassigned code points")

OPENAPI_NOTE = ("Generated from kubernetes/v1.35 OpenAPI v3 doc. Added by the conversion "
                "(not in upstream): const apiVersion/kind, required apiVersion/kind/metadata, "
                "int32 min/max, int-or-string as anyOf")
OPENAPI_STRICT = ("; additionalProperties:false on every object with properties "
                  "(strict: emulates fieldValidation=Strict)")
CRD_NOTE = ("Generated from {src}. Added by the conversion (not in the CRD): const "
            "apiVersion/kind, required apiVersion/kind, metadata -> Kubernetes v1.35 "
            "ObjectMeta, int32 min/max")
CRD_STRICT = ("; additionalProperties:false on every object with properties unless "
              "x-kubernetes-preserve-unknown-fields (strict: emulates fieldValidation=Strict; "
              "the API server otherwise PRUNES unknown CR fields)")
CRD_CEL = ". x-kubernetes-validations (CEL) rules are NOT enforced by JSON Schema validators."


# Where a schema holds other schemas; every other keyword holds data
# (`default`, `enum`, ...), which no rule may touch.
SCHEMA_MAPS = ("properties", "patternProperties", "$defs")
SCHEMA_LISTS = ("allOf", "anyOf", "oneOf")
SCHEMA_ONE = ("items", "additionalProperties", "not")


def subschemas(key: str, value, fn):
    """value (of keyword key) with fn applied to each schema it holds."""
    if key in SCHEMA_MAPS and isinstance(value, dict):
        return {name: fn(v) for name, v in value.items()}
    if key in SCHEMA_LISTS and isinstance(value, list):
        return [fn(v) for v in value]
    if key in SCHEMA_ONE and isinstance(value, dict):
        return fn(value)
    return value


def convert(schema):
    """Rules 1, 2, 3 and 5 on a copy of an upstream schema."""
    if not isinstance(schema, dict):
        return schema
    out = {k: subschemas(k, v, convert) for k, v in schema.items()}
    if out.get("$ref", "").startswith("#/components/schemas/"):
        out["$ref"] = "#/$defs/" + out["$ref"][len("#/components/schemas/"):]
    int_or_string = (out.get("x-kubernetes-int-or-string") is True
                     or out.get("format") == "int-or-string")
    if int_or_string and not ("type" in out or "anyOf" in out or "oneOf" in out):
        out["anyOf"] = [{"type": "integer"}, {"type": "string"}]
    if out.get("format") == "int32" and out.get("type") == "integer":
        for k, v in INT32.items():
            out.setdefault(k, v)
    if out.get("pattern") == GO_PRINTABLE:
        out["pattern"] = PRINTABLE
        out["$comment"] = PRINTABLE_NOTE
    return out


def closure(components: dict, roots: list) -> dict:
    """The components the roots need, transitively, in name order."""
    need, todo = set(), list(roots)
    while todo:
        name = todo.pop()
        if name in need:
            continue
        need.add(name)
        todo.extend(refs(components[name]))
    return {name: convert(components[name]) for name in sorted(need)}


def refs(node):
    """The component names a schema refers to."""
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/components/schemas/"):
            yield ref[len("#/components/schemas/"):]
        for v in node.values():
            yield from refs(v)
    elif isinstance(node, list):
        for v in node:
            yield from refs(v)


def strict(schema):
    """additionalProperties: false on every object schema with properties."""
    if not isinstance(schema, dict) or schema.get("x-kubernetes-preserve-unknown-fields"):
        return schema
    out = {k: v if k in SCHEMA_LISTS or k == "not" else subschemas(k, v, strict)
           for k, v in schema.items()}
    if "properties" in out:
        out.setdefault("additionalProperties", False)
    return out


@functools.lru_cache(maxsize=None)
def load(rel: str):
    """An upstream document, parsed (shared: callers copy before changing)."""
    with open(UPSTREAM / rel, encoding="utf-8") as f:
        return json.load(f) if rel.endswith(".json") else yaml.safe_load(f)


def header(file: str, title: str, note: str) -> dict:
    return {"$schema": "https://json-schema.org/draft/2020-12/schema",
            "$id": "urn:agent-isolation:schemas:" + file,
            "title": title, "$comment": note}


def from_openapi(file: str, doc: str, component: str, api_version: str, kind: str,
                 is_strict: bool) -> dict:
    out = header(file, f"{kind} ({api_version}) from Kubernetes v1.35 OpenAPI v3 component "
                       f"{component}",
                 OPENAPI_NOTE + (OPENAPI_STRICT if is_strict else "") + ".")
    out["allOf"] = [{"$ref": "#/$defs/" + component}]
    out["properties"] = {"apiVersion": {"const": api_version}, "kind": {"const": kind}}
    out["required"] = ["apiVersion", "kind", "metadata"]
    # the root stays open: its allOf brings the object's own properties
    defs = closure(load(doc)["components"]["schemas"], [component])
    out["$defs"] = subschemas("$defs", defs, strict) if is_strict else defs
    return out


def from_crd(file: str, src: str, is_strict: bool) -> dict:
    crd = load(src)
    spec = crd["spec"]
    version = next(v for v in spec["versions"] if v.get("served") and v.get("storage"))
    api_version = f"{spec['group']}/{version['name']}"
    kind = spec["names"]["kind"]
    note = CRD_NOTE.format(src=src) + (CRD_STRICT if is_strict else "") + CRD_CEL
    out = header(file, f"{kind} ({api_version}, scope {spec['scope']}) from CRD "
                       f"{crd['metadata']['name']}", note)
    body = convert(version["schema"]["openAPIV3Schema"])
    body["properties"]["apiVersion"]["const"] = api_version
    body["properties"]["kind"]["const"] = kind
    body["properties"]["metadata"] = {"$ref": "#/$defs/" + OBJECT_META}
    required = ["apiVersion", "kind", "metadata"]
    body["required"] = required + [r for r in body.get("required", []) if r not in required]
    defs = closure(load(CORE)["components"]["schemas"], [OBJECT_META])
    if is_strict:
        body, defs = strict(body), subschemas("$defs", defs, strict)
    out.update(body)
    out["$defs"] = defs
    return out


def derive() -> dict:
    """{file name: schema} for every kind, both variants."""
    files = {}
    for is_strict in (False, True):
        suffix = ".strict.schema.json" if is_strict else ".schema.json"
        for name, (doc, component, api_version, kind) in OPENAPI.items():
            files[name + suffix] = from_openapi(name + suffix, doc, component, api_version,
                                                kind, is_strict)
        for name, src in CRDS.items():
            files[name + suffix] = from_crd(name + suffix, src, is_strict)
    return files


def render(schema: dict) -> str:
    return json.dumps(schema, indent=1, ensure_ascii=True) + "\n"


def main(argv: list) -> int:
    out = Path(argv[1]) if len(argv) > 1 else HERE / "jsonschema"
    out.mkdir(parents=True, exist_ok=True)
    for file, schema in sorted(derive().items()):
        (out / file).write_text(render(schema), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
