#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""fakeapi.py - a small fake kube-apiserver for agentfence tests.

Python 3.11 standard library + PyYAML.  See README.md next to this file for the
options, the control API and the request-log format.

What it serves (HTTPS, HTTP/1.1 keep-alive, JSON only):

  * /version, /healthz, /livez, /readyz, legacy discovery (/api, /apis, ...)
  * namespaces (read-only, configured) and node.k8s.io/v1 RuntimeClasses
    (read-only, configured)
  * pods (v1), networkpolicies (networking.k8s.io/v1) and the CRDs
    ciliumnetworkpolicies (cilium.io/v2, namespaced),
    ciliumclusterwidenetworkpolicies and ciliumegressgatewaypolicies
    (cilium.io/v2, cluster scoped) and clusternetworkpolicies
    (policy.networking.k8s.io/v1alpha2, cluster scoped), each of which can be
    "not installed", and validatingadmissionpolicies and
    validatingadmissionpolicybindings (admissionregistration.k8s.io/v1,
    cluster scoped, built in; stored, not enforced): GET item, GET list (labelSelector / fieldSelector),
    DELETE, POST (create) and PATCH application/apply-patch+yaml (server-side
    apply with managedFields, conflicts, force, dryRun).

Behaviour that mirrors the real server is annotated with "REAL:" comments
that name where it was checked.  Everything marked "FAKE:" is a deliberate
simplification.  References used (all public):

  [status]   kubernetes.io/docs/reference/kubernetes-api/common-definitions/status
  [errors]   k8s.io/apimachinery/pkg/api/errors/errors.go  (NewNotFound,
             NewForbidden, NewInvalid, NewTimeoutError, NewTooManyRequests,
             NewInternalError, NewApplyConflict, NewBadRequest)
  [patch]    k8s.io/apiserver/pkg/endpoints/handlers/patch.go (PatchOptions
             validation, applyPatcher, checkName, namespace check, 201 vs 200)
  [smm]      k8s.io/apiserver/.../managedfields/internal/structuredmerge.go
             ("Incorrect version specified in apply patch", "metadata.
             managedFields must be nil", "failed to create typed patch object")
  [ssa]      kubernetes.io/docs/reference/using-api/server-side-apply
  [kep2885]  kubernetes/enhancements KEP-2885 server-side field validation
             ("For apply patch, server side schema validation already occurs
             and is not optional")
  [netval]   k8s.io/kubernetes/pkg/apis/networking/validation/validation.go
  [rtclass]  k8s.io/kubernetes/plugin/pkg/admission/runtimeclass
             ("pod rejected: RuntimeClass %q not found", admission.NewForbidden)
  [saadm]    k8s.io/kubernetes/plugin/pkg/admission/serviceaccount (runs
             before RuntimeClass; "error looking up service account %s/%s:
             %w", admission.NewForbidden; the `default` account is made by
             a controller, which this server takes as always there)
  [inflight] k8s.io/apiserver/pkg/server/filters/maxinflight.go (429 text body,
             Retry-After)
  [rbac]     k8s.io/apiserver/pkg/endpoints/handlers/responsewriters/errors.go
             (forbiddenMessage)
  [cegp]     cilium/cilium pkg/k8s/apis/cilium.io/client/crds/v2/
             ciliumegressgatewaypolicies.yaml (CRD schema)
  [cnp]      cilium/cilium pkg/k8s/apis/cilium.io/v2 (CiliumNetworkPolicy,
             CiliumClusterwideNetworkPolicy: spec and specs; api.Rule fields)
  [npapi]    kubernetes-sigs/network-policy-api v0.2.0
             apis/v1alpha2/clusternetworkpolicy_types.go (tier, priority
             0-1000, subject with exactly one field, rule actions, MinItems/
             MaxItems)
  [vap]      k8s.io/kubernetes/pkg/apis/admissionregistration/validation/
             validation.go (ValidateValidatingAdmissionPolicy, ...Binding:
             failurePolicy, matchConstraints.resourceRules, validations or
             auditAnnotations, validationActions Deny/Warn/Audit, policyName)
  [wire]     captured real responses (e.g. the 401 body
             {"kind":"Status",...,"message":"Unauthorized","reason":
             "Unauthorized","code":401} with Audit-Id, Cache-Control:
             no-cache, private, Content-Type: application/json)
"""

from __future__ import annotations

import argparse
import base64
import bisect
import copy
import datetime as _dt
import gc
import ipaddress
import json
import os
import re
import select
import signal
import socket
import ssl
import struct
import subprocess
import sys
import threading
import time
import traceback
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import yaml

HERE = os.path.dirname(os.path.abspath(__file__))

# ---------------------------------------------------------------------------
# Resource catalogue
# ---------------------------------------------------------------------------


class Resource:
    def __init__(self, group, version, plural, kind, namespaced, singular,
                 short=(), crd=False, verbs=None, writable=True):
        self.group = group
        self.version = version
        self.plural = plural
        self.kind = kind
        self.namespaced = namespaced
        self.singular = singular
        self.short = list(short)
        self.crd = crd
        self.writable = writable
        self.verbs = verbs or ["create", "delete", "deletecollection", "get",
                               "list", "patch", "update", "watch"]

    @property
    def gv(self):
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def qualified(self):  # schema.GroupResource.String()
        return f"{self.plural}.{self.group}" if self.group else self.plural

    @property
    def group_kind(self):  # schema.GroupKind.String()
        return f"{self.kind}.{self.group}" if self.group else self.kind

    @property
    def gvk_string(self):  # schema.GroupVersionKind.String()
        return f"{self.group}/{self.version}, Kind={self.kind}"

    @property
    def list_kind(self):
        return self.kind + "List"


POD = Resource("", "v1", "pods", "Pod", True, "pod", ["po"])
NETPOL = Resource("networking.k8s.io", "v1", "networkpolicies", "NetworkPolicy",
                  True, "networkpolicy", ["netpol"])
CEGP = Resource("cilium.io", "v2", "ciliumegressgatewaypolicies",
                "CiliumEgressGatewayPolicy", False, "ciliumegressgatewaypolicy",
                ["cegp"], crd=True)
CILIUMNP = Resource("cilium.io", "v2", "ciliumnetworkpolicies", "CiliumNetworkPolicy",
                    True, "ciliumnetworkpolicy", ["cnp", "ciliumnp"], crd=True)
CCNP = Resource("cilium.io", "v2", "ciliumclusterwidenetworkpolicies",
                "CiliumClusterwideNetworkPolicy", False, "ciliumclusterwidenetworkpolicy",
                ["ccnp"], crd=True)
CLUSTERNP = Resource("policy.networking.k8s.io", "v1alpha2", "clusternetworkpolicies",
                     "ClusterNetworkPolicy", False, "clusternetworkpolicy", ["cnp"], crd=True)
VAP = Resource("admissionregistration.k8s.io", "v1", "validatingadmissionpolicies",
               "ValidatingAdmissionPolicy", False, "validatingadmissionpolicy")
VAPB = Resource("admissionregistration.k8s.io", "v1", "validatingadmissionpolicybindings",
                "ValidatingAdmissionPolicyBinding", False, "validatingadmissionpolicybinding")
SERVICEACCOUNT = Resource("", "v1", "serviceaccounts", "ServiceAccount", True, "serviceaccount",
                          ["sa"])
NAMESPACE = Resource("", "v1", "namespaces", "Namespace", False, "namespace",
                     ["ns"], writable=False)
RUNTIMECLASS = Resource("node.k8s.io", "v1", "runtimeclasses", "RuntimeClass",
                        False, "runtimeclass", writable=False)
LEASE = Resource("coordination.k8s.io", "v1", "leases", "Lease", True, "lease")

ALL_RESOURCES = [POD, NETPOL, CEGP, CILIUMNP, CCNP, CLUSTERNP, VAP, VAPB, SERVICEACCOUNT,
                 NAMESPACE, RUNTIMECLASS, LEASE]
WRITABLE = [POD, NETPOL, CEGP, CILIUMNP, CCNP, CLUSTERNP, VAP, VAPB, SERVICEACCOUNT, LEASE]
# the CRDs that can be "not installed" (config crds_missing, --no-crd)
CRDS = [r for r in ALL_RESOURCES if r.crd]

DEFAULT_TOKEN = "agentfence-test-token"
DEFAULT_TOKEN_USER = "agentfence-token-user"

# ---------------------------------------------------------------------------
# Status objects and errors
# ---------------------------------------------------------------------------


def status_body(code, reason, message, details=None, status="Failure"):
    """metav1.Status; key order follows the Go struct (kind, apiVersion,
    metadata, status, message, reason, details, code).  Empty reason/details
    are omitted (omitempty) - REAL: [status], [wire]."""
    body = {"kind": "Status", "apiVersion": "v1", "metadata": {},
            "status": status}
    if message:
        body["message"] = message
    if reason:
        body["reason"] = reason
    if details is not None:
        body["details"] = details
    if code:
        body["code"] = code
    return body


def _details(name="", group="", kind="", uid="", causes=None, retry=0):
    d = {}
    if name:
        d["name"] = name
    if group:
        d["group"] = group
    if kind:
        d["kind"] = kind
    if uid:
        d["uid"] = uid
    if causes:
        d["causes"] = causes
    if retry:
        d["retryAfterSeconds"] = retry
    return d


class ApiError(Exception):
    def __init__(self, code, reason, message, details=None, headers=None):
        super().__init__(message)
        self.code = code
        self.reason = reason
        self.message = message
        self.details = details
        self.headers = headers or {}

    def body(self):
        return status_body(self.code, self.reason, self.message, self.details)


# REAL: [errors] NewNotFound: "%s %q not found", details.kind = *resource*.
def err_not_found(res, name):
    return ApiError(404, "NotFound", f'{res.qualified} "{name}" not found',
                    _details(name, res.group, res.plural))


# REAL: unknown paths answer exactly this, with "details":{} [wire].
def err_no_route():
    return ApiError(404, "NotFound",
                    "the server could not find the requested resource", {})


def err_bad_request(msg):  # REAL: [errors] NewBadRequest (no details)
    return ApiError(400, "BadRequest", msg)


# REAL: [errors] NewForbidden message forms.
def err_forbidden(res_qualified, group, plural, name, why):
    if not res_qualified:
        msg = f"forbidden: {why}"
    elif not name:
        msg = f"{res_qualified} is forbidden: {why}"
    else:
        msg = f'{res_qualified} "{name}" is forbidden: {why}'
    return ApiError(403, "Forbidden", msg, _details(name, group, plural))


def err_internal(msg):  # REAL: [errors] NewInternalError
    return ApiError(500, "InternalError", f"Internal error occurred: {msg}",
                    _details(causes=[{"message": msg}]))


def err_unknown(code, msg):
    """A plain Go error that reached responsewriters: reason Unknown ("" ->
    omitted), code 500.  REAL: apiserver ErrorToAPIStatus default branch."""
    return ApiError(code, "", msg)


def err_method_not_allowed(res, verb):
    return ApiError(405, "MethodNotAllowed",
                    f'{verb} is not supported on resources of kind "{res.qualified}"',
                    _details(group=res.group, kind=res.plural))


# -- field.Error --------------------------------------------------------------

_OMIT = object()
_FIELD_TYPES = {
    # type: (CauseType, text)   REAL: k8s.io/apimachinery/.../field/errors.go
    "required": ("FieldValueRequired", "Required value"),
    "invalid": ("FieldValueInvalid", "Invalid value"),
    "forbidden": ("FieldValueForbidden", "Forbidden"),
    "notsupported": ("FieldValueNotSupported", "Unsupported value"),
    "duplicate": ("FieldValueDuplicate", "Duplicate value"),
    "toolong": ("FieldValueTooLong", "Too long"),
    "notfound": ("FieldValueNotFound", "Not found"),
}


def go_fmt(v):
    """Approximate Go's %v/%q rendering of a bad value in field errors."""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return str(v)
    if isinstance(v, str):
        return json.dumps(v, ensure_ascii=False)
    if v is None:
        return "null"
    if isinstance(v, list) and all(isinstance(x, str) for x in v):
        return "[]string{" + ", ".join(json.dumps(x) for x in v) + "}"
    return json.dumps(v, sort_keys=True)


class FieldErr:
    def __init__(self, typ, field, value=_OMIT, detail=""):
        self.typ = typ
        self.field = field
        self.value = value
        self.detail = detail

    def body(self):  # REAL: field.Error.ErrorBody()
        _, text = _FIELD_TYPES[self.typ]
        if self.typ in ("required", "forbidden", "toolong") or self.value is _OMIT:
            s = text
        else:
            s = f"{text}: {go_fmt(self.value)}"
        if self.detail:
            s += f": {self.detail}"
        return s

    def error(self):
        return f"{self.field}: {self.body()}"

    def cause(self):
        # REAL: StatusCause JSON is {reason, message, field} [wire].
        return {"reason": _FIELD_TYPES[self.typ][0], "message": self.body(),
                "field": self.field}


def err_invalid(group_kind_str, group, kind, name, errs):
    """REAL: [errors] NewInvalid - 422, reason Invalid, message
    '<Kind.group> "<name>" is invalid: <err>' or '[e1, e2]' for several."""
    msgs = []
    for e in errs:  # utilerrors.NewAggregate de-duplicates messages
        m = e.error()
        if m not in msgs:
            msgs.append(m)
    agg = msgs[0] if len(msgs) == 1 else "[" + ", ".join(msgs) + "]"
    return ApiError(422, "Invalid", f'{group_kind_str} "{name}" is invalid: {agg}',
                    _details(name, group, kind, causes=[e.cause() for e in errs]))


def err_invalid_res(res, name, errs):
    return err_invalid(res.group_kind, res.group, res.kind, name, errs)


# ---------------------------------------------------------------------------
# Small helpers
# ---------------------------------------------------------------------------


def now_rfc3339(offset=0):
    t = _dt.datetime.now(_dt.timezone.utc) + _dt.timedelta(seconds=offset)
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def json_bytes(obj):
    # REAL: the Go JSON encoder writes compact JSON followed by "\n".
    return (json.dumps(obj, separators=(",", ":"), ensure_ascii=False) + "\n").encode()


def parse_bool(s, name):
    # Go strconv.ParseBool
    if s in ("1", "t", "T", "TRUE", "true", "True"):
        return True
    if s in ("0", "f", "F", "FALSE", "false", "False", ""):
        return False
    raise err_bad_request(f'invalid value for "{name}": strconv.ParseBool: '
                          f'parsing "{s}": invalid syntax')


def qget(query, key, default=None):
    v = query.get(key)
    return v[-1] if v else default


_DNS1123_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")
_DNS1123_SUBDOMAIN = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")
_QNAME = re.compile(r"([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]")
_LABEL_VALUE = re.compile(r"(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?")

# REAL: k8s.io/apimachinery/pkg/util/validation messages.
MSG_DNS1123_SUBDOMAIN = (
    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric "
    "characters, '-' or '.', and must start and end with an alphanumeric "
    "character (e.g. 'example.com', regex used for validation is "
    "'[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')")
MSG_DNS1123_LABEL = (
    "a lowercase RFC 1123 label must consist of lower case alphanumeric "
    "characters or '-', and must start and end with an alphanumeric character "
    "(e.g. 'my-name',  or '123-abc', regex used for validation is "
    "'[a-z0-9]([-a-z0-9]*[a-z0-9])?')")
MSG_LABEL_VALUE = (
    "a valid label must be an empty string or consist of alphanumeric "
    "characters, '-', '_' or '.', and must start and end with an alphanumeric "
    "character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for "
    "validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')")
MSG_QNAME = (
    "name part must consist of alphanumeric characters, '-', '_' or '.', and "
    "must start and end with an alphanumeric character (e.g. 'MyName',  or "
    "'my.name',  or '123-abc', regex used for validation is "
    "'([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')")


def dns1123_subdomain_errs(v):
    out = []
    if len(v) > 253:
        out.append("must be no more than 253 characters")
    if not _DNS1123_SUBDOMAIN.fullmatch(v):
        out.append(MSG_DNS1123_SUBDOMAIN)
    return out


def dns1123_label_errs(v):
    out = []
    if len(v) > 63:
        out.append("must be no more than 63 characters")
    if not _DNS1123_LABEL.fullmatch(v):
        out.append(MSG_DNS1123_LABEL)
    return out


_CONFIG_KEY = re.compile(r"[-._a-zA-Z0-9]+")
# REAL: resource.ParseQuantity's grammar (sign, number, suffix)
QUANTITY = re.compile(r"[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)(Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E|[eE][+-]?[0-9]+)?")


def config_key_errs(k):
    """REAL: validation.IsConfigMapKey (Secret and ConfigMap keys)."""
    out = []
    if len(k) > 253:
        out.append("must be no more than 253 characters")
    if not _CONFIG_KEY.fullmatch(k):
        out.append("a valid config key must consist of alphanumeric characters, '-', '_' or "
                   "'.' (e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used for "
                   "validation is '[-._a-zA-Z0-9]+')")
    if k == ".":
        out.append("must not be '.'")
    elif k == "..":
        out.append("must not be '..'")
    elif k.startswith(".."):
        out.append("must not start with '..'")
    return out


def qualified_name_errs(k):
    out = []
    name = k
    if "/" in k:
        prefix, _, name = k.partition("/")
        if not prefix or dns1123_subdomain_errs(prefix):
            out.append("prefix part " + MSG_DNS1123_SUBDOMAIN)
    if not name:
        out.append("name part must be non-empty")
    elif len(name) > 63:
        out.append("name part must be no more than 63 characters")
    elif not _QNAME.fullmatch(name):
        out.append(MSG_QNAME)
    return out


def label_value_errs(v):
    out = []
    if not isinstance(v, str):
        return ["must be a string"]
    if len(v) > 63:
        out.append("must be no more than 63 characters")
    if not _LABEL_VALUE.fullmatch(v):
        out.append(MSG_LABEL_VALUE)
    return out


# ---------------------------------------------------------------------------
# Label / field selectors
# ---------------------------------------------------------------------------

_SEL_KEY = r"[A-Za-z0-9][-A-Za-z0-9_./]*"


def _split_top(s):
    parts, depth, cur = [], 0, []
    for ch in s:
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        if ch == "," and depth == 0:
            parts.append("".join(cur))
            cur = []
        else:
            cur.append(ch)
    parts.append("".join(cur))
    return parts


def parse_label_selector(s):
    """Supports: k=v, k==v, k!=v, k in (a,b), k notin (a,b), k, !k, comma-AND.
    Returns a list of (op, key, values).  Errors -> 400 BadRequest.
    FAKE: error texts are shorter than labels.Parse()'s."""
    reqs = []
    if s is None or not s.strip():
        return reqs
    for term in _split_top(s):
        t = term.strip()
        if not t:
            raise err_bad_request(f"unable to parse requirement: found '', expected: identifier (selector {s!r})")
        m = re.fullmatch(rf"(!?)\s*({_SEL_KEY})", t)
        if m:
            reqs.append(("!" if m.group(1) else "exists", m.group(2), []))
            continue
        m = re.fullmatch(rf"({_SEL_KEY})\s*(==|=|!=)\s*([^,=!()\s]*)", t)
        if m:
            op = "!=" if m.group(2) == "!=" else "="
            reqs.append((op, m.group(1), [m.group(3)]))
            continue
        m = re.fullmatch(rf"({_SEL_KEY})\s+(in|notin)\s*\(([^()]*)\)", t)
        if m:
            vals = [v.strip() for v in m.group(3).split(",")]
            reqs.append((m.group(2), m.group(1), vals))
            continue
        raise err_bad_request(f"unable to parse requirement: {t!r} is not a valid label selector requirement")
    for op, key, vals in reqs:
        errs = qualified_name_errs(key)
        if errs:
            raise err_bad_request(f'unable to parse requirement: key: Invalid value: "{key}": {"; ".join(errs)}')
        for v in vals:
            if label_value_errs(v):
                raise err_bad_request(f'unable to parse requirement: values[0][{key}]: Invalid value: "{v}": {MSG_LABEL_VALUE}')
    return reqs


def label_match(reqs, labels):
    labels = labels or {}
    for op, key, vals in reqs:
        has = key in labels
        val = labels.get(key)
        if op == "exists" and not has:
            return False
        if op == "!" and has:
            return False
        if op == "=" and (not has or val != vals[0]):
            return False
        if op == "!=" and has and val == vals[0]:
            return False
        if op == "in" and (not has or val not in vals):
            return False
        if op == "notin" and has and val in vals:
            return False
    return True


def parse_field_selector(s):
    """metadata.name / metadata.namespace with =, ==, != (the fields every
    resource supports).  REAL: other fields -> 400 'field label not supported'."""
    reqs = []
    if not s:
        return reqs
    for term in s.split(","):
        m = re.fullmatch(r"\s*([A-Za-z.]+)\s*(==|=|!=)\s*([^,]*?)\s*", term)
        if not m:
            raise err_bad_request(f"invalid selector: '{s}'; can't understand '{term}'")
        if m.group(1) not in ("metadata.name", "metadata.namespace"):
            raise err_bad_request(f'field label not supported: {m.group(1)}')
        reqs.append((m.group(1).split(".")[1], m.group(2) != "!=", m.group(3)))
    return reqs


def field_match(reqs, meta):
    for key, eq, val in reqs:
        if (meta.get(key, "") == val) != eq:
            return False
    return True


# ---------------------------------------------------------------------------
# YAML/JSON body decoding (apply-patch+yaml accepts both)
# ---------------------------------------------------------------------------

_BaseLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _DupLoader(_BaseLoader):
    """SafeLoader that records duplicate mapping keys (go-yaml reports them as
    'line N: key "k" already set in map') and keeps timestamps as strings
    (sigs.k8s.io/yaml converts YAML to JSON, so timestamps stay strings)."""

    def __init__(self, stream):
        super().__init__(stream)
        self.duplicates = []

    def construct_mapping(self, node, deep=False):
        seen = set()
        for key_node, _ in node.value:
            try:
                k = self.construct_object(key_node, deep=True)
            except Exception:
                continue
            if isinstance(k, (str, int, float, bool)) or k is None:
                if k in seen:
                    self.duplicates.append(
                        f'line {key_node.start_mark.line + 1}: key {json.dumps(str(k))} already set in map')
                seen.add(k)
        return super().construct_mapping(node, deep=deep)


_DupLoader.add_constructor("tag:yaml.org,2002:timestamp",
                           lambda loader, node: loader.construct_scalar(node))


def decode_body(raw):
    """Returns (object, duplicate-key messages).  Raises ValueError."""
    text = raw.decode("utf-8")
    loader = _DupLoader(text)
    try:
        obj = loader.get_single_data() if text.strip() else None
        dups = list(loader.duplicates)
    finally:
        loader.dispose()
    return obj, dups


# ---------------------------------------------------------------------------
# Known-field "schemas" (for SSA's "field not declared in schema")
# ---------------------------------------------------------------------------
# FAKE: only the levels listed are checked; ANY means "not checked below".

ANY = None


def LIST(item):
    return ("list", item)


META_FIELDS = {k: ANY for k in (
    "name", "generateName", "namespace", "selfLink", "uid", "resourceVersion",
    "generation", "creationTimestamp", "deletionTimestamp",
    "deletionGracePeriodSeconds", "labels", "annotations", "ownerReferences",
    "finalizers", "managedFields")}
LABEL_SELECTOR = {"matchLabels": ANY,
                  "matchExpressions": LIST({"key": ANY, "operator": ANY, "values": ANY})}
NP_PEER = {"podSelector": LABEL_SELECTOR, "namespaceSelector": LABEL_SELECTOR,
           "ipBlock": {"cidr": ANY, "except": ANY}}
NP_PORT = {"protocol": ANY, "port": ANY, "endPort": ANY}
SCHEMA_NETPOL = {
    "apiVersion": ANY, "kind": ANY, "metadata": META_FIELDS,
    "spec": {"podSelector": LABEL_SELECTOR, "policyTypes": ANY,
             "ingress": LIST({"ports": LIST(NP_PORT), "from": LIST(NP_PEER)}),
             "egress": LIST({"ports": LIST(NP_PORT), "to": LIST(NP_PEER)})},
    "status": ANY,
}
SCHEMA_CEGP = {  # REAL: [cegp]; egressGateways added by newer Cilium releases
    "apiVersion": ANY, "kind": ANY, "metadata": META_FIELDS,
    "spec": {"selectors": LIST({"podSelector": LABEL_SELECTOR,
                                "namespaceSelector": LABEL_SELECTOR,
                                "nodeSelector": LABEL_SELECTOR}),
             "destinationCIDRs": ANY, "excludedCIDRs": ANY,
             "egressGateway": {"nodeSelector": LABEL_SELECTOR, "interface": ANY,
                               "egressIP": ANY},
             "egressGateways": ANY},
    "status": ANY,
}
CILIUM_RULE = {k: ANY for k in (  # REAL: [cnp] api.Rule
    "endpointSelector", "nodeSelector", "ingress", "ingressDeny", "egress", "egressDeny",
    "labels", "enableDefaultDeny", "description", "log")}
SCHEMA_CILIUM = {"apiVersion": ANY, "kind": ANY, "metadata": META_FIELDS,
                 "spec": CILIUM_RULE, "specs": LIST(CILIUM_RULE), "status": ANY}
CNP_RULE = {"name": ANY, "action": ANY, "from": ANY, "to": ANY, "protocols": ANY}
SCHEMA_CLUSTERNP = {  # REAL: [npapi]
    "apiVersion": ANY, "kind": ANY, "metadata": META_FIELDS,
    "spec": {"tier": ANY, "priority": ANY, "subject": {"namespaces": LABEL_SELECTOR,
                                                       "pods": ANY},
             "ingress": LIST(CNP_RULE), "egress": LIST(CNP_RULE)},
    "status": ANY,
}
CONTAINER_FIELDS = {k: ANY for k in (
    "name", "image", "command", "args", "workingDir", "ports", "envFrom", "env",
    "resources", "resizePolicy", "restartPolicy", "volumeMounts", "volumeDevices",
    "livenessProbe", "readinessProbe", "startupProbe", "lifecycle",
    "terminationMessagePath", "terminationMessagePolicy", "imagePullPolicy",
    "securityContext", "stdin", "stdinOnce", "tty", "targetContainerName")}
POD_SPEC_FIELDS = {k: ANY for k in (
    "volumes", "ephemeralContainers", "restartPolicy",
    "terminationGracePeriodSeconds", "activeDeadlineSeconds", "dnsPolicy",
    "nodeSelector", "serviceAccountName", "serviceAccount",
    "automountServiceAccountToken", "nodeName", "hostNetwork", "hostPID",
    "hostIPC", "shareProcessNamespace", "securityContext", "imagePullSecrets",
    "hostname", "subdomain", "affinity", "schedulerName", "tolerations",
    "hostAliases", "priorityClassName", "priority", "dnsConfig",
    "readinessGates", "runtimeClassName", "enableServiceLinks",
    "preemptionPolicy", "overhead", "topologySpreadConstraints",
    "setHostnameAsFQDN", "os", "hostUsers", "schedulingGates",
    "resourceClaims", "resources")}
POD_SPEC_FIELDS["containers"] = LIST(CONTAINER_FIELDS)
POD_SPEC_FIELDS["initContainers"] = LIST(CONTAINER_FIELDS)
SCHEMA_POD = {"apiVersion": ANY, "kind": ANY, "metadata": META_FIELDS,
              "spec": POD_SPEC_FIELDS, "status": ANY}
RULE_FIELDS = {k: ANY for k in ("apiGroups", "apiVersions", "operations", "resources",
                                 "resourceNames", "scope")}
SCHEMA_VAP = {  # REAL: [vap] ValidatingAdmissionPolicySpec
    "apiVersion": ANY, "kind": ANY, "metadata": META_FIELDS,
    "spec": {"paramKind": ANY, "failurePolicy": ANY, "auditAnnotations": ANY,
             "matchConditions": ANY,
             "matchConstraints": {"namespaceSelector": LABEL_SELECTOR,
                                  "objectSelector": LABEL_SELECTOR,
                                  "resourceRules": LIST(RULE_FIELDS),
                                  "excludeResourceRules": LIST(RULE_FIELDS),
                                  "matchPolicy": ANY},
             "validations": LIST({"expression": ANY, "message": ANY, "reason": ANY,
                                  "messageExpression": ANY}),
             "variables": LIST({"name": ANY, "expression": ANY})},
    "status": ANY,
}
SCHEMA_VAPB = {
    "apiVersion": ANY, "kind": ANY, "metadata": META_FIELDS,
    "spec": {"policyName": ANY, "paramRef": ANY, "validationActions": ANY,
             "matchResources": {"namespaceSelector": LABEL_SELECTOR,
                                "objectSelector": LABEL_SELECTOR,
                                "resourceRules": LIST(RULE_FIELDS),
                                "excludeResourceRules": LIST(RULE_FIELDS),
                                "matchPolicy": ANY}},
}
SCHEMA_SA = {"apiVersion": ANY, "kind": ANY, "metadata": META_FIELDS, "secrets": ANY,
             "imagePullSecrets": ANY, "automountServiceAccountToken": ANY}
SCHEMA_LEASE = {"apiVersion": ANY, "kind": ANY, "metadata": META_FIELDS,
                "spec": {k: ANY for k in (  # REAL: coordination/v1 LeaseSpec
                    "holderIdentity", "leaseDurationSeconds", "acquireTime", "renewTime",
                    "leaseTransitions", "strategy", "preferredHolder")}}
SCHEMAS = {"leases": SCHEMA_LEASE, "serviceaccounts": SCHEMA_SA, "pods": SCHEMA_POD, "networkpolicies": SCHEMA_NETPOL,
           "ciliumegressgatewaypolicies": SCHEMA_CEGP, "ciliumnetworkpolicies": SCHEMA_CILIUM,
           "ciliumclusterwidenetworkpolicies": SCHEMA_CILIUM,
           "clusternetworkpolicies": SCHEMA_CLUSTERNP,
           "validatingadmissionpolicies": SCHEMA_VAP,
           "validatingadmissionpolicybindings": SCHEMA_VAPB}


def unknown_fields(obj, schema, smd_style):
    """Paths of fields not in the schema.  smd_style=True renders them like
    structured-merge-diff (".spec.containers[name=\\"c\\"].foo"), otherwise
    like the JSON decoder ("spec.containers[0].foo")."""
    out = []

    def walk(node, sch, path):
        if sch is ANY:
            return
        if isinstance(sch, tuple):  # list
            if not isinstance(node, list):
                return
            for i, item in enumerate(node):
                if smd_style and isinstance(item, dict) and "name" in item and path.endswith("containers"):
                    seg = f'[name={json.dumps(item["name"])}]'
                else:
                    seg = f"[{i}]"
                walk(item, sch[1], path + seg)
            return
        if not isinstance(node, dict):
            return
        for k, v in node.items():
            p = (path + "." + k) if (path or smd_style) else k
            if k not in sch:
                out.append(p)
            else:
                walk(v, sch[k], p)

    walk(obj, schema, "")
    return out


# ---------------------------------------------------------------------------
# Field ownership (a simplified server-side apply)
# ---------------------------------------------------------------------------
# FAKE: field paths are leaf paths through maps; every list is atomic (owned
# as a whole).  The real server treats e.g. spec.containers as a list keyed
# by name.  Conflict detection, shared ownership, force and removal of
# fields a manager stops applying follow [ssa].

SYSTEM_META = {"name", "namespace", "uid", "resourceVersion", "generation",
               "creationTimestamp", "deletionTimestamp",
               "deletionGracePeriodSeconds", "managedFields", "selfLink"}
IGNORED_TOP = {"apiVersion", "kind", "status"}


def leaves(obj):
    out = {}

    def walk(node, path):
        if isinstance(node, dict) and node:
            for k, v in node.items():
                walk(v, path + (k,))
        else:
            out[path] = node

    for k, v in obj.items():
        if k in IGNORED_TOP:
            continue
        if k == "metadata":
            if isinstance(v, dict):
                for mk, mv in v.items():
                    if mk not in SYSTEM_META:
                        walk(mv, ("metadata", mk))
            continue
        walk(v, (k,))
    return out


def get_path(obj, path):
    node = obj
    for k in path:
        if not isinstance(node, dict) or k not in node:
            return False, None
        node = node[k]
    return True, node


def set_path(obj, path, value):
    node = obj
    for k in path[:-1]:
        if not isinstance(node.get(k), dict):
            node[k] = {}
        node = node[k]
    node[path[-1]] = value


def del_path(obj, path):
    chain = [obj]
    node = obj
    for k in path[:-1]:
        if not isinstance(node, dict) or k not in node:
            return
        node = node[k]
        chain.append(node)
    if isinstance(node, dict):
        node.pop(path[-1], None)
    # prune maps emptied by the removal (never metadata itself)
    for i in range(len(path) - 1, 0, -1):
        parent, key = chain[i - 1], path[i - 1]
        if isinstance(parent.get(key), dict) and not parent[key] and key != "metadata":
            parent.pop(key)
        else:
            break


def _overlap(p, q):
    n = min(len(p), len(q))
    return p[:n] == q[:n]


def _owned_overlap(obj, owned, p):
    """Does owning leaf `owned` touch path `p`?  Same path or something
    below p: yes.  An ancestor of p: only when it is held as a scalar/list
    value - owning a map (e.g. an applied `podSelector: {}`) does not own the
    keys inside it."""
    if owned[:len(p)] == p:
        return True
    if p[:len(owned)] == owned:
        return not isinstance(get_path(obj, owned)[1], dict)
    return False


def path_str(p):
    return "".join("." + k for k in p)


def fields_v1(paths):
    tree = {}
    for p in sorted(paths):
        node = tree
        for k in p:
            node = node.setdefault("f:" + k, {})
    return tree


def print_manager(name, info):
    # REAL: managedfields internal/conflict.go printManager: Update managers
    # are printed with "using <apiVersion>", Apply managers by name only.
    s = json.dumps(name)
    if info["operation"] == "Update":
        s += f" using {info['apiVersion']}"
    return s


def conflict_error(conflicts, managers):
    """REAL: NewConflictError / getConflictMessage (see k3s capture
    'Apply failed with 1 conflict: conflict with "helm" using v1: .data.colour'
    and causes[].reason FieldManagerConflict)."""
    causes = [{"reason": "FieldManagerConflict",
               "message": f"conflict with {print_manager(m, managers[m])}",
               "field": path_str(p)} for m, p in conflicts]
    if len(conflicts) == 1:
        m, p = conflicts[0]
        msg = f"Apply failed with 1 conflict: conflict with {print_manager(m, managers[m])}: {path_str(p)}"
    else:
        lines = []
        for m in sorted({m for m, _ in conflicts}):
            lines.append(f"conflicts with {print_manager(m, managers[m])}:")
            lines.extend(f"- {path_str(p)}" for mm, p in conflicts if mm == m)
        msg = f"Apply failed with {len(conflicts)} conflicts: " + "\n".join(lines)
    return ApiError(409, "Conflict", msg, _details(causes=causes))


# ---------------------------------------------------------------------------
# Defaulting (REAL: SetDefaults_* in pkg/apis/*/v1/defaults.go; a subset)
# ---------------------------------------------------------------------------


def _image_pull_policy(image):
    img = image or ""
    if "@" in img:
        return "IfNotPresent"
    last = img.rsplit("/", 1)[-1]
    tag = last.split(":", 1)[1] if ":" in last else ""
    return "Always" if tag in ("", "latest") else "IfNotPresent"


def default_pod(obj):
    spec = obj.get("spec")
    if not isinstance(spec, dict):
        return
    for key in ("containers", "initContainers"):
        for c in spec.get(key) or []:
            if isinstance(c, dict):
                c.setdefault("resources", {})
                c.setdefault("terminationMessagePath", "/dev/termination-log")
                c.setdefault("terminationMessagePolicy", "File")
                c.setdefault("imagePullPolicy", _image_pull_policy(c.get("image")))
    spec.setdefault("restartPolicy", "Always")
    spec.setdefault("terminationGracePeriodSeconds", 30)
    spec.setdefault("dnsPolicy", "ClusterFirst")
    spec.setdefault("securityContext", {})
    spec.setdefault("schedulerName", "default-scheduler")
    spec.setdefault("enableServiceLinks", True)
    spec.setdefault("priority", 0)  # Priority admission, no class
    spec.setdefault("preemptionPolicy", "PreemptLowerPriority")


def pod_qos(spec):
    req_any, guaranteed = False, True
    for c in spec.get("containers") or []:
        res = (c or {}).get("resources") or {}
        req, lim = res.get("requests") or {}, res.get("limits") or {}
        if req or lim:
            req_any = True
        for r in ("cpu", "memory"):
            if r not in lim or req.get(r, lim.get(r)) != lim.get(r):
                guaranteed = False
    if not req_any:
        return "BestEffort"
    return "Guaranteed" if guaranteed else "Burstable"


def default_netpol(obj):
    spec = obj.get("spec")
    if not isinstance(spec, dict):
        spec = obj["spec"] = {}
    spec.setdefault("podSelector", {})
    for rule_key in ("ingress", "egress"):
        for rule in spec.get(rule_key) or []:
            for port in (rule or {}).get("ports") or []:
                if isinstance(port, dict):
                    port.setdefault("protocol", "TCP")
    # REAL: SetDefaults_NetworkPolicy - no policyTypes => ["Ingress"] plus
    # "Egress" when egress rules exist.  Once stored (unowned) the default
    # sticks, exactly like on a real cluster.
    if not spec.get("policyTypes"):
        pt = ["Ingress"]
        if spec.get("egress"):
            pt.append("Egress")
        spec["policyTypes"] = pt


DEFAULTERS = {"pods": default_pod, "networkpolicies": default_netpol}

# ---------------------------------------------------------------------------
# Validation
# ---------------------------------------------------------------------------


def validate_meta(obj, name_validator=dns1123_subdomain_errs):
    errs = []
    meta = obj.get("metadata") or {}
    name = meta.get("name", "")
    if not name:
        errs.append(FieldErr("required", "metadata.name", detail="name or generateName is required"))
    else:
        for m in name_validator(name):
            errs.append(FieldErr("invalid", "metadata.name", name, m))
    labels = meta.get("labels")
    if isinstance(labels, dict):
        for k, v in labels.items():
            for m in qualified_name_errs(k):
                errs.append(FieldErr("invalid", "metadata.labels", k, m))
            for m in label_value_errs(v):
                errs.append(FieldErr("invalid", "metadata.labels", v, m))
    return errs


def validate_pod(obj):
    errs = validate_meta(obj)
    spec = obj.get("spec")
    if not isinstance(spec, dict):
        spec = {}
    containers = spec.get("containers")
    if not containers:
        errs.append(FieldErr("required", "spec.containers"))
    names = set()
    for key in ("initContainers", "containers"):
        for i, c in enumerate(spec.get(key) or []):
            p = f"spec.{key}[{i}]"
            if not isinstance(c, dict):
                errs.append(FieldErr("invalid", p, c, "must be an object"))
                continue
            n = c.get("name")
            if not n:
                errs.append(FieldErr("required", p + ".name"))
            else:
                for m in dns1123_label_errs(n):
                    errs.append(FieldErr("invalid", p + ".name", n, m))
                if n in names:
                    errs.append(FieldErr("duplicate", p + ".name", n))
                names.add(n)
            if not c.get("image"):
                errs.append(FieldErr("required", p + ".image"))
            errs += validate_env(c.get("env") or [], p + ".env")
            errs += validate_mounts(c.get("volumeMounts") or [], spec, p + ".volumeMounts")
    errs += validate_pod_volumes(spec)
    ads = spec.get("activeDeadlineSeconds")
    # REAL: ValidatePodSpec - InclusiveRangeError(1, math.MaxInt32)
    if ads is not None and (not isinstance(ads, int) or isinstance(ads, bool)
                            or not 1 <= ads <= 2 ** 31 - 1):
        errs.append(FieldErr("invalid", "spec.activeDeadlineSeconds", ads,
                             "must be between 1 and 2147483647, inclusive"))
    for i, ref in enumerate(spec.get("imagePullSecrets") or []):
        # REAL: validateImagePullSecrets - a LocalObjectReference, name only
        if not isinstance(ref, dict) or set(ref) - {"name"}:
            errs.append(FieldErr("invalid", f"spec.imagePullSecrets[{i}]", ref, "only name may be set"))
    rp = spec.get("restartPolicy")
    if rp is not None and rp not in ("Always", "OnFailure", "Never"):
        errs.append(FieldErr("notsupported", "spec.restartPolicy", rp,
                             'supported values: "Always", "OnFailure", "Never"'))
    rc = spec.get("runtimeClassName")
    if rc is not None:
        for m in dns1123_subdomain_errs(str(rc)):
            errs.append(FieldErr("invalid", "spec.runtimeClassName", rc, m))
    return errs


VOLUME_SOURCES = ("hostPath", "emptyDir", "gcePersistentDisk", "awsElasticBlockStore",
                  "gitRepo", "secret", "nfs", "iscsi", "glusterfs", "persistentVolumeClaim",
                  "rbd", "flexVolume", "cinder", "cephfs", "flocker", "downwardAPI", "fc",
                  "azureFile", "configMap", "vsphereVolume", "quobyte", "azureDisk",
                  "photonPersistentDisk", "projected", "portworxVolume", "scaleIO",
                  "storageos", "csi", "ephemeral", "image")


def validate_pod_volumes(spec):
    """REAL: validateVolumes / validateVolumeSource (the parts agentfence's
    Pods use: names, one source each, emptyDir.sizeLimit)."""
    errs, names = [], set()
    for i, v in enumerate(spec.get("volumes") or []):
        p = f"spec.volumes[{i}]"
        if not isinstance(v, dict):
            errs.append(FieldErr("invalid", p, v, "must be an object"))
            continue
        n = v.get("name") or ""
        if not n:
            errs.append(FieldErr("required", p + ".name"))
        else:
            for m in dns1123_label_errs(n):
                errs.append(FieldErr("invalid", p + ".name", n, m))
            if n in names:
                errs.append(FieldErr("duplicate", p + ".name", n))
            names.add(n)
        sources = [k for k in VOLUME_SOURCES if v.get(k) is not None]
        if not sources:
            errs.append(FieldErr("required", p, detail="must specify a volume type"))
        elif len(sources) > 1:
            errs.append(FieldErr("forbidden", p + "." + sources[1],
                                 detail="may not specify more than 1 volume type"))
        ed = v.get("emptyDir")
        if isinstance(ed, dict) and ed.get("sizeLimit") is not None:
            q = str(ed["sizeLimit"])
            if not QUANTITY.fullmatch(q) or q.startswith("-"):
                errs.append(FieldErr("forbidden", p + ".emptyDir.sizeLimit",
                                     detail="SizeLimit field must be a valid resource quantity"))
        if isinstance(ed, dict) and ed.get("medium") not in (None, "", "Memory"):
            errs.append(FieldErr("notsupported", p + ".emptyDir.medium", ed["medium"]))
    return errs


def validate_mounts(mounts, spec, path):
    """REAL: ValidateVolumeMounts - every mount names a volume of the Pod,
    has a mountPath, each path once."""
    errs, seen = [], set()
    vols = {v.get("name") for v in spec.get("volumes") or [] if isinstance(v, dict)}
    for i, m in enumerate(mounts):
        p = f"{path}[{i}]"
        if not isinstance(m, dict):
            errs.append(FieldErr("invalid", p, m, "must be an object"))
            continue
        n = m.get("name") or ""
        if not n:
            errs.append(FieldErr("required", p + ".name"))
        if n not in vols:
            errs.append(FieldErr("notfound", p + ".name", n))
        mp = m.get("mountPath") or ""
        if not mp:
            errs.append(FieldErr("required", p + ".mountPath"))
        if mp in seen:
            errs.append(FieldErr("invalid", p + ".mountPath", mp, "must be unique"))
        seen.add(mp)
    return errs


def _key_selector_errs(ref, path):
    """REAL: validateSecretKeySelector / validateConfigMapKeySelector."""
    errs = []
    if not isinstance(ref, dict):
        return [FieldErr("invalid", path, ref, "must be an object")]
    name = ref.get("name") or ""
    for m in dns1123_subdomain_errs(name) if name else []:
        errs.append(FieldErr("invalid", path + ".name", name, m))
    key = ref.get("key") or ""
    if not key:
        errs.append(FieldErr("required", path + ".key"))
    else:
        for m in config_key_errs(key):
            errs.append(FieldErr("invalid", path + ".key", key, m))
    return errs


def validate_env(env, path):
    """REAL: ValidateEnv / validateEnvVarValueFrom."""
    errs = []
    for i, e in enumerate(env):
        p = f"{path}[{i}]"
        if not isinstance(e, dict):
            errs.append(FieldErr("invalid", p, e, "must be an object"))
            continue
        if not e.get("name"):
            errs.append(FieldErr("required", p + ".name"))
        vf = e.get("valueFrom")
        if vf is None:
            continue
        vf = vf if isinstance(vf, dict) else {}
        n = 0
        for k in ("fieldRef", "resourceFieldRef", "configMapKeyRef", "secretKeyRef", "fileKeyRef"):
            if vf.get(k) is not None:
                n += 1
                if k in ("configMapKeyRef", "secretKeyRef"):
                    errs += _key_selector_errs(vf[k], f"{p}.valueFrom.{k}")
        if n == 0:
            errs.append(FieldErr("invalid", p + ".valueFrom", "", "must specify one of: `fieldRef`, "
                                 "`resourceFieldRef`, `configMapKeyRef` or `secretKeyRef`"))
        elif e.get("value"):
            errs.append(FieldErr("invalid", p + ".valueFrom", "",
                                 "may not be specified when `value` is not empty"))
        elif n > 1:
            errs.append(FieldErr("invalid", p + ".valueFrom", "",
                                 "may not have more than one field specified at a time"))
    return errs


POD_UPDATABLE = ("`spec.containers[*].image`,`spec.initContainers[*].image`,"
                 "`spec.activeDeadlineSeconds`,`spec.tolerations` (only additions to "
                 "existing tolerations),`spec.terminationGracePeriodSeconds` (allow it to "
                 "be set to 1 if it was previously negative)")


def _go_name(k):
    return k[:1].upper() + k[1:]


def validate_pod_update(new, old):
    """REAL: ValidatePodUpdate (pkg/apis/core/validation): munge the fields
    that may change, then require the rest of the spec to be identical."""
    errs = []
    nspec = copy.deepcopy(new.get("spec") or {})
    ospec = old.get("spec") or {}
    # activeDeadlineSeconds: may be set or lowered, never raised or removed
    nad, oad = nspec.get("activeDeadlineSeconds"), ospec.get("activeDeadlineSeconds")
    if nad is not None:
        if not isinstance(nad, int) or nad < 0 or nad > 2 ** 31 - 1:
            errs.append(FieldErr("invalid", "spec.activeDeadlineSeconds", nad,
                                 "must be between 0 and 2147483647, inclusive"))
        elif oad is not None and oad < nad:
            errs.append(FieldErr("invalid", "spec.activeDeadlineSeconds", nad,
                                 "must be less than or equal to previous value"))
    elif oad is not None:
        errs.append(FieldErr("invalid", "spec.activeDeadlineSeconds", None,
                             "must not update from a positive integer to nil value"))
    if errs:
        return errs
    for key in ("containers", "initContainers"):
        nl, ol = nspec.get(key) or [], ospec.get(key) or []
        if len(nl) == len(ol):
            for nc, oc in zip(nl, ol):
                if isinstance(nc, dict) and isinstance(oc, dict):
                    if "image" in oc:
                        nc["image"] = oc["image"]
                    else:
                        nc.pop("image", None)
    if oad is None:
        nspec.pop("activeDeadlineSeconds", None)
    else:
        nspec["activeDeadlineSeconds"] = oad
    # tolerations: additions only (tolerationSeconds of existing may change)
    ntol, otol = nspec.get("tolerations") or [], ospec.get("tolerations") or []

    def _strip(t):
        return {k: v for k, v in (t or {}).items() if k != "tolerationSeconds"}
    if all(any(_strip(o) == _strip(n) for n in ntol) for o in otol):
        if "tolerations" in ospec:
            nspec["tolerations"] = ospec["tolerations"]
        else:
            nspec.pop("tolerations", None)
    # terminationGracePeriodSeconds: only negative -> 1
    ot, nt = ospec.get("terminationGracePeriodSeconds"), nspec.get("terminationGracePeriodSeconds")
    if isinstance(ot, int) and ot < 0 and nt == 1:
        nspec["terminationGracePeriodSeconds"] = ot
    if nspec != ospec:
        # FAKE: the real message ends in a go-cmp diff of core.PodSpec; this
        # renders a short diff of the top-level spec fields that differ.
        diff = ["  core.PodSpec{"]
        for k in sorted(set(nspec) | set(ospec)):
            if nspec.get(k) != ospec.get(k):
                diff.append(f"- \t{_go_name(k)}: {json.dumps(ospec.get(k), sort_keys=True)},")
                diff.append(f"+ \t{_go_name(k)}: {json.dumps(nspec.get(k), sort_keys=True)},")
        diff.append("  }")
        errs.append(FieldErr("forbidden", "spec",
                             detail="pod updates may not change fields other than "
                             + POD_UPDATABLE + "\n" + "\n".join(diff) + "\n"))
    return errs


def _cidr_errs(path, v):
    # REAL: IsValidCIDRForLegacyField message
    try:
        if not isinstance(v, str) or "/" not in v:
            raise ValueError
        return [], ipaddress.ip_network(v, strict=False)
    except ValueError:
        return [FieldErr("invalid", path, v,
                         "must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)")], None


def validate_ip_block(ipb, path):
    """REAL: [netval] ValidateIPBlock."""
    if not isinstance(ipb, dict) or not ipb.get("cidr"):
        return [FieldErr("required", path + ".cidr")]
    errs, net = _cidr_errs(path + ".cidr", ipb["cidr"])
    if net is None:
        return errs
    for i, ex in enumerate(ipb.get("except") or []):
        p = f"{path}.except[{i}]"
        e, exnet = _cidr_errs(p, ex)
        errs += e
        if exnet is None:
            continue
        if (exnet.version != net.version or exnet.network_address not in net
                or net.prefixlen >= exnet.prefixlen):
            errs.append(FieldErr("invalid", p, ex, "must be a strict subset of `cidr`"))
    return errs


def validate_np_port(port, path):
    errs = []
    if not isinstance(port, dict):
        return [FieldErr("invalid", path, port, "must be an object")]
    proto = port.get("protocol")
    if proto is not None and proto not in ("TCP", "UDP", "SCTP"):
        errs.append(FieldErr("notsupported", path + ".protocol", proto,
                             'supported values: "TCP", "UDP", "SCTP"'))
    p, endp = port.get("port"), port.get("endPort")
    if p is not None:
        if isinstance(p, int):
            if not 1 <= p <= 65535:
                errs.append(FieldErr("invalid", path + ".port", p, "must be between 1 and 65535, inclusive"))
            if endp is not None:
                if endp < p:
                    errs.append(FieldErr("invalid", path + ".endPort", p, "must be greater than or equal to `port`"))
                if not 1 <= endp <= 65535:
                    errs.append(FieldErr("invalid", path + ".endPort", endp, "must be between 1 and 65535, inclusive"))
        else:
            if endp is not None:
                errs.append(FieldErr("invalid", path + ".endPort", endp, "may not be specified when `port` is non-numeric"))
            if not isinstance(p, str) or not re.fullmatch(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?", p) or len(p) > 15:
                errs.append(FieldErr("invalid", path + ".port", p,
                                     "must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)"))
    elif endp is not None:
        errs.append(FieldErr("invalid", path + ".endPort", endp, "may not be specified when `port` is not specified"))
    return errs


def validate_np_peer(peer, path):
    if not isinstance(peer, dict):
        return [FieldErr("invalid", path, peer, "must be an object")]
    errs, n = [], 0
    for k in ("podSelector", "namespaceSelector"):
        if peer.get(k) is not None:
            n += 1
    if peer.get("ipBlock") is not None:
        n += 1
        errs += validate_ip_block(peer["ipBlock"], path + ".ipBlock")
    if n == 0:
        errs.append(FieldErr("required", path, detail="must specify a peer"))
    elif n > 1 and peer.get("ipBlock") is not None:
        errs.append(FieldErr("forbidden", path, detail="may not specify both ipBlock and another peer"))
    return errs


def validate_netpol(obj):
    """REAL: [netval] ValidateNetworkPolicy (selector validation omitted)."""
    errs = validate_meta(obj)
    spec = obj.get("spec") or {}
    for rk, pk in (("ingress", "from"), ("egress", "to")):
        for i, rule in enumerate(spec.get(rk) or []):
            rp = f"spec.{rk}[{i}]"
            rule = rule or {}
            for j, port in enumerate(rule.get("ports") or []):
                errs += validate_np_port(port, f"{rp}.ports[{j}]")
            for j, peer in enumerate(rule.get(pk) or []):
                errs += validate_np_peer(peer, f"{rp}.{pk}[{j}]")
    pts = spec.get("policyTypes") or []
    if len(pts) > 2:
        errs.append(FieldErr("invalid", "spec.policyTypes", pts, "may not specify more than two policyTypes"))
    else:
        for i, pt in enumerate(pts):
            if pt not in ("Ingress", "Egress"):
                errs.append(FieldErr("notsupported", f"spec.policyTypes[{i}]", pt,
                                     'supported values: "Ingress", "Egress"'))
    return errs


# REAL: [cegp] items pattern for destinationCIDRs / excludedCIDRs
CEGP_CIDR_PATTERN = (r"^(?:(?:25[0-5]|2[0-4][0-9]|[01]?[0-9][0-9]?)\.){3}"
                     r"(?:25[0-5]|2[0-4][0-9]|[01]?[0-9][0-9]?)\/([0-9]|[1-2][0-9]|3[0-2])$")


def validate_cegp(obj):
    """CRD (structural schema) validation of the fields the CRD requires.
    REAL: [cegp] required: spec.{destinationCIDRs,egressGateway,selectors},
    egressGateway.nodeSelector; CIDR item pattern.  Message format follows
    kube-openapi ("<path> in body should match '<pattern>'")."""
    errs = validate_meta(obj)
    spec = obj.get("spec")
    if spec is None:
        return errs  # spec itself is optional in the CRD schema
    if not isinstance(spec, dict):
        return errs + [FieldErr("invalid", "spec", spec, 'spec in body must be of type object: "' + type(spec).__name__ + '"')]
    for req in ("destinationCIDRs", "egressGateway", "selectors"):
        if req not in spec:
            errs.append(FieldErr("required", f"spec.{req}"))
    gw = spec.get("egressGateway")
    if isinstance(gw, dict) and "nodeSelector" not in gw:
        errs.append(FieldErr("required", "spec.egressGateway.nodeSelector"))
    for key in ("destinationCIDRs", "excludedCIDRs"):
        for i, c in enumerate(spec.get(key) or []):
            p = f"spec.{key}[{i}]"
            if not isinstance(c, str) or not re.match(CEGP_CIDR_PATTERN, c):
                errs.append(FieldErr("invalid", p, c, f"{p} in body should match '{CEGP_CIDR_PATTERN}'"))
    return errs


def validate_cilium(obj):
    """FAKE: the CRD schema's shape only (Cilium checks rules in its agent):
    spec or specs, and each rule selects with exactly one of
    endpointSelector / nodeSelector."""
    errs = validate_meta(obj)
    rules = []
    if obj.get("spec") is not None:
        rules.append(("spec", obj["spec"]))
    for i, r in enumerate(obj.get("specs") or []):
        rules.append((f"specs[{i}]", r))
    if not rules:
        errs.append(FieldErr("required", "spec"))
    for p, r in rules:
        if not isinstance(r, dict):
            errs.append(FieldErr("invalid", p, r, f"{p} in body must be of type object"))
            continue
        n = ("endpointSelector" in r) + ("nodeSelector" in r)
        if n != 1:
            errs.append(FieldErr("invalid", p, _OMIT,
                                 f"{p} in body must validate one and only one schema (oneOf): "
                                 "endpointSelector, nodeSelector"))
    return errs


CNP_ACTIONS = ("Accept", "Deny", "Pass")


def validate_clusternp(obj):
    """REAL: [npapi] the CRD's structural schema: spec, tier (Admin,
    Baseline), priority 0-1000, subject with exactly one field, each rule an
    action and 1-25 peers (each with exactly one field), at most 25 rules."""
    errs = validate_meta(obj)
    spec = obj.get("spec")
    if not isinstance(spec, dict):
        return errs + [FieldErr("required", "spec")]
    for req in ("tier", "priority", "subject"):
        if req not in spec:
            errs.append(FieldErr("required", f"spec.{req}"))
    if "tier" in spec and spec["tier"] not in ("Admin", "Baseline"):
        errs.append(FieldErr("notsupported", "spec.tier", spec["tier"],
                             'supported values: "Admin", "Baseline"'))
    pr = spec.get("priority")
    if "priority" in spec and (not isinstance(pr, int) or isinstance(pr, bool) or
                               not 0 <= pr <= 1000):
        errs.append(FieldErr("invalid", "spec.priority", pr,
                             "spec.priority in body should be in range 0-1000"))
    sub = spec.get("subject")
    if "subject" in spec and (not isinstance(sub, dict) or len(sub) != 1):
        errs.append(FieldErr("invalid", "spec.subject", _OMIT,
                             "must have exactly one of namespaces, pods"))
    for d, peers in (("ingress", "from"), ("egress", "to")):
        rules = spec.get(d) or []
        if len(rules) > 25:
            errs.append(FieldErr("toolong", f"spec.{d}", detail="must have at most 25 items"))
        for i, r in enumerate(rules):
            p = f"spec.{d}[{i}]"
            if not isinstance(r, dict):
                errs.append(FieldErr("invalid", p, r, f"{p} in body must be of type object"))
                continue
            if r.get("action") not in CNP_ACTIONS:
                errs.append(FieldErr("notsupported", f"{p}.action", r.get("action"),
                                     'supported values: "Accept", "Deny", "Pass"'))
            ps = r.get(peers)
            if not isinstance(ps, list) or not 1 <= len(ps) <= 25:
                errs.append(FieldErr("invalid", f"{p}.{peers}", _OMIT,
                                     "must have between 1 and 25 items"))
                continue
            for k, peer in enumerate(ps):
                if not isinstance(peer, dict) or len(peer) != 1:
                    errs.append(FieldErr("invalid", f"{p}.{peers}[{k}]", _OMIT,
                                         "must have exactly one field"))
    return errs


MICROTIME = re.compile(r"^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$")


def lease_times(obj):
    """REAL: MicroTime fields are decoded (a bad one fails the decoding:
    400) and written back as RFC 3339 with exactly six fraction digits, in
    UTC (metav1.MicroTime.MarshalJSON)."""
    spec = obj.get("spec")
    if not isinstance(spec, dict):
        return
    for f in ("acquireTime", "renewTime"):
        v = spec.get(f)
        if v is None:
            continue
        m = MICROTIME.match(v) if isinstance(v, str) else None
        if not m:
            raise err_bad_request(f'Lease in version "v1" cannot be handled as a Lease: parsing '
                                  f'time {json.dumps(v)} as "2006-01-02T15:04:05.000000Z07:00": '
                                  "cannot parse")
        t = _dt.datetime.fromisoformat(m.group(1) + (m.group(3) if m.group(3) != "Z" else "+00:00"))
        frac = (m.group(2) or ".0")[1:]
        t = t.replace(microsecond=int((frac + "000000")[:6])).astimezone(_dt.timezone.utc)
        spec[f] = t.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def validate_lease(obj):
    """REAL: [coordination] ValidateLeaseSpec: durations and transitions
    must not be negative (leaseDurationSeconds must be positive)."""
    errs = validate_meta(obj)
    spec = obj.get("spec") or {}
    d = spec.get("leaseDurationSeconds")
    if d is not None and (not isinstance(d, int) or isinstance(d, bool) or d <= 0):
        errs.append(FieldErr("invalid", "spec.leaseDurationSeconds", d, "must be greater than 0"))
    t = spec.get("leaseTransitions")
    if t is not None and (not isinstance(t, int) or isinstance(t, bool) or t < 0):
        errs.append(FieldErr("invalid", "spec.leaseTransitions", t,
                             "must be greater than or equal to 0"))
    return errs


def validate_vap(obj):
    """REAL: [vap] the checks a policy's shape must pass: failurePolicy Fail
    or Ignore, matchConstraints with resourceRules (each with operations and
    resources), validations or auditAnnotations, each validation an
    expression and a known reason, variables named and with an expression."""
    errs = validate_meta(obj)
    spec = obj.get("spec")
    if not isinstance(spec, dict):
        return errs + [FieldErr("required", "spec")]
    if spec.get("failurePolicy", "Fail") not in ("Fail", "Ignore"):
        errs.append(FieldErr("notsupported", "spec.failurePolicy", spec.get("failurePolicy"),
                             'supported values: "Fail", "Ignore"'))
    rules = (spec.get("matchConstraints") or {}).get("resourceRules")
    if not rules:
        errs.append(FieldErr("required", "spec.matchConstraints.resourceRules"))
    for i, r in enumerate(rules or []):
        for k in ("operations", "resources"):
            if not (r or {}).get(k):
                errs.append(FieldErr("required", f"spec.matchConstraints.resourceRules[{i}].{k}"))
        if (r or {}).get("scope", "*") not in ("*", "Cluster", "Namespaced"):
            errs.append(FieldErr("notsupported", f"spec.matchConstraints.resourceRules[{i}].scope",
                                 r.get("scope"), 'supported values: "*", "Cluster", "Namespaced"'))
    if not spec.get("validations") and not spec.get("auditAnnotations"):
        errs.append(FieldErr("required", "spec.validations",
                             detail="validations or auditAnnotations must contain at least one item"))
    for i, v in enumerate(spec.get("validations") or []):
        if not (v or {}).get("expression"):
            errs.append(FieldErr("required", f"spec.validations[{i}].expression"))
        if (v or {}).get("reason", "Invalid") not in ("Unauthorized", "Forbidden", "Invalid",
                                                     "RequestEntityTooLarge"):
            errs.append(FieldErr("notsupported", f"spec.validations[{i}].reason", v.get("reason"),
                                 'supported values: "Forbidden", "Invalid", '
                                 '"RequestEntityTooLarge", "Unauthorized"'))
    for i, v in enumerate(spec.get("variables") or []):
        if not (v or {}).get("name") or not (v or {}).get("expression"):
            errs.append(FieldErr("required", f"spec.variables[{i}]"))
    return errs


def validate_vapb(obj):
    """REAL: [vap] a binding names its policy and has one or more distinct
    validationActions among Deny, Warn, Audit (Deny and Warn not both)."""
    errs = validate_meta(obj)
    spec = obj.get("spec")
    if not isinstance(spec, dict):
        return errs + [FieldErr("required", "spec")]
    if not spec.get("policyName"):
        errs.append(FieldErr("required", "spec.policyName"))
    acts = spec.get("validationActions") or []
    if not acts:
        errs.append(FieldErr("required", "spec.validationActions"))
    if len(set(acts)) != len(acts) or ("Deny" in acts and "Warn" in acts):
        errs.append(FieldErr("invalid", "spec.validationActions", acts,
                             "must not contain duplicates, nor both Deny and Warn"))
    for i, a in enumerate(acts):
        if a not in ("Deny", "Warn", "Audit"):
            errs.append(FieldErr("notsupported", f"spec.validationActions[{i}]", a,
                                 'supported values: "Audit", "Deny", "Warn"'))
    return errs


VALIDATORS = {"leases": validate_lease, "serviceaccounts": lambda obj: [], "pods": validate_pod,
              "networkpolicies": validate_netpol,
              "ciliumegressgatewaypolicies": validate_cegp,
              "ciliumnetworkpolicies": validate_cilium,
              "ciliumclusterwidenetworkpolicies": validate_cilium,
              "clusternetworkpolicies": validate_clusternp,
              "validatingadmissionpolicies": validate_vap,
              "validatingadmissionpolicybindings": validate_vapb}
DEFAULTERS["leases"] = lease_times

# ---------------------------------------------------------------------------
# Fault injection
# ---------------------------------------------------------------------------

FAULT_ACTIONS = ("500", "403", "429", "429text", "503", "timeout", "reset",
                 "hang", "delay")


class FaultRule:
    _ids = 0

    def __init__(self, spec):
        if not isinstance(spec, dict):
            raise ValueError("fault rule must be an object")
        unknown = set(spec) - {"action", "nth", "count", "always", "method", "path",
                               "commit", "message", "retry_after", "hang_max", "delay"}
        if unknown:
            raise ValueError(f"unknown fault rule keys: {sorted(unknown)}")
        self.action = str(spec.get("action", ""))
        if self.action not in FAULT_ACTIONS:
            raise ValueError(f"fault action must be one of {FAULT_ACTIONS}, got {self.action!r}")
        self.nth = int(spec.get("nth", 1))
        self.count = int(spec.get("count", 1))
        if _truthy(spec.get("always")):
            self.nth, self.count = 1, 0
        if self.nth < 1 or self.count < 0:
            raise ValueError("nth must be >= 1 and count >= 0")
        self.method = spec.get("method")
        self.path = spec.get("path")
        self._mre = re.compile(self.method, re.I) if self.method else None
        self._pre = re.compile(self.path) if self.path else None
        self.commit = _truthy(spec.get("commit"))
        self.message = spec.get("message")
        self.retry_after = int(spec.get("retry_after", 1))
        self.hang_max = float(spec.get("hang_max", 60))
        self.delay = float(spec.get("delay", 1.0 if self.action == "delay" else 0))
        self.matched = 0
        self.fired = 0
        FaultRule._ids += 1
        self.id = FaultRule._ids

    def matches(self, method, path):
        if self._mre and not self._mre.fullmatch(method):
            return False
        if self._pre and not self._pre.search(path):
            return False
        return True

    def to_json(self):
        return {"id": self.id, "action": self.action, "nth": self.nth, "count": self.count,
                "method": self.method, "path": self.path, "commit": self.commit,
                "message": self.message, "retry_after": self.retry_after,
                "hang_max": self.hang_max, "delay": self.delay,
                "matched": self.matched, "fired": self.fired}


def _truthy(v):
    if isinstance(v, str):
        return v.lower() in ("1", "true", "yes", "on")
    return bool(v)


def parse_fault_spec(text):
    """JSON object, or 'key=value,key=value' (values may not contain ',')."""
    text = text.strip()
    if text.startswith("{"):
        return FaultRule(json.loads(text))
    spec = {}
    for part in text.split(","):
        if not part.strip():
            continue
        k, sep, v = part.partition("=")
        if not sep:
            raise ValueError(f"bad fault spec part {part!r} (want key=value)")
        spec[k.strip()] = v.strip()
    return FaultRule(spec)


# ---------------------------------------------------------------------------
# The cluster state
# ---------------------------------------------------------------------------


class Stored:
    def __init__(self, res, obj, managers):
        self.res = res
        self.obj = obj
        self.managers = managers  # name -> {operation, apiVersion, time, fields:set}
        self.fv1 = {}             # name -> its fieldsV1 (a Stored is never changed in place)
        self.item_json = None     # its bytes as a list item, made once (see FakeCluster.list)

    def fields_v1(self, m):
        if m not in self.fv1:
            self.fv1[m] = fields_v1(self.managers[m]["fields"])
        return self.fv1[m]


class Response:
    def __init__(self, code, body=None, headers=None, ctype="application/json", raw=None):
        self.code = code
        self.body = body
        self.headers = headers or {}
        self.ctype = ctype
        self.raw = raw


class Request:
    def __init__(self, method, path, query, raw_query, headers, body, user, groups, auth):
        self.method = method
        self.path = path
        self.query = query
        self.raw_query = raw_query
        self.headers = headers
        self.body = body
        self.user = user
        self.groups = groups
        self.auth = auth
        # filled by routing
        self.res = None
        self.ns = ""
        self.name = ""
        self.verb = ""
        self.dry_run = False
        self.write = None  # dict for the log when state changed / would change
        self.notes = {}


class FakeCluster:
    def __init__(self, *, namespaces, runtimeclasses, cilium_installed=True, crds_missing=(),
                 pod_grace_gets=0, tokens=None, anonymous=False,
                 version="v1.31.0", log_path=None):
        self.lock = threading.RLock()
        self.log_lock = threading.Lock()
        self.objects = {}      # (plural, ns, name) -> Stored
        self.terminating = {}  # key -> remaining GETs before the pod is gone
        self.rv = 0
        self.seq = 0
        self.write_seq = 0
        self.conn_seq = 0
        self.faults = []
        self.log_entries = []
        self.tokens = dict(tokens or {})
        self.anonymous = anonymous
        self.cilium_installed = cilium_installed
        self.crds_missing = set(crds_missing)   # plurals of CRDs not installed
        self.pod_grace_gets = pod_grace_gets
        self.version = version
        self.namespaces = {}
        self.runtimeclasses = {}
        self.set_namespaces(namespaces)
        self.set_runtimeclasses(runtimeclasses)
        # the log starts empty for every server run
        self.log_fh = open(log_path, "w", encoding="utf-8") if log_path else None
        self.port = 0
        self.expire_continue = 0   # the next N LISTs with a continue token get 410
        self.expire_continue_path = ""   # ... whose path this regex finds
        self.list_page_max = 0     # a page holds at most this many items (0: limit)
        self.list_index = {}       # plural -> (rv, keys in etcd order, Stored)

    # -- bookkeeping ----------------------------------------------------------
    def next_rv(self):
        self.rv += 1
        return str(self.rv)

    def next_seq(self):
        with self.lock:
            self.seq += 1
            return self.seq

    def next_conn(self):
        with self.lock:
            self.conn_seq += 1
            return self.conn_seq

    def _sysobj(self, res, name, extra):
        obj = {"kind": res.kind, "apiVersion": res.gv,
               "metadata": {"name": name, "uid": str(uuid.uuid4()),
                            "resourceVersion": self.next_rv(),
                            "creationTimestamp": now_rfc3339()}}
        obj.update(extra)
        return obj

    def set_namespaces(self, names):
        with self.lock:
            keep = {n: o for n, o in self.namespaces.items() if n in names}
            for n in names:
                if n not in keep:
                    o = self._sysobj(NAMESPACE, n, {"spec": {"finalizers": ["kubernetes"]},
                                                   "status": {"phase": "Active"}})
                    o["metadata"]["labels"] = {"kubernetes.io/metadata.name": n}
                    keep[n] = o
            self.namespaces = keep

    def set_runtimeclasses(self, names):
        with self.lock:
            keep = {n: o for n, o in self.runtimeclasses.items() if n in names}
            for n in names:
                if n not in keep:
                    keep[n] = self._sysobj(RUNTIMECLASS, n, {"handler": n})
            self.runtimeclasses = keep

    def reset(self, keep_log=False):
        """Forget objects, faults and the request log (config is kept)."""
        with self.lock:
            self.objects.clear()
            self.terminating.clear()
            self.faults = []
            if keep_log:
                return
            self.seq = 0
            self.write_seq = 0
        with self.log_lock:
            self.log_entries = []
            if self.log_fh:
                self.log_fh.truncate(0)
                self.log_fh.seek(0)

    # -- logging --------------------------------------------------------------
    def log(self, entry):
        with self.log_lock:
            self.log_entries.append(entry)
            if self.log_fh:
                self.log_fh.write(json.dumps(entry, separators=(",", ":")) + "\n")
                self.log_fh.flush()

    # -- faults ---------------------------------------------------------------
    def match_fault(self, method, path):
        with self.lock:
            hit = None
            for r in self.faults:
                if r.matches(method, path):
                    r.matched += 1
                    k = r.matched
                    if k >= r.nth and (r.count == 0 or k < r.nth + r.count) and hit is None:
                        r.fired += 1
                        hit = r
            return hit

    # -- object output --------------------------------------------------------
    def render(self, st, dry_meta=None, deep=True):
        # deep=False shares the stored object's parts: only for output that
        # is serialized before the lock is released (a list)
        obj = copy.deepcopy(st.obj) if deep else dict(st.obj)
        meta = obj.get("metadata", {})
        order = ["name", "generateName", "namespace", "uid", "resourceVersion",
                 "generation", "creationTimestamp", "deletionTimestamp",
                 "deletionGracePeriodSeconds", "labels", "annotations",
                 "ownerReferences", "finalizers"]
        out = {k: meta[k] for k in order if k in meta}
        out.update({k: v for k, v in meta.items() if k not in out})
        mf = [{"manager": m, "operation": i["operation"], "apiVersion": i["apiVersion"],
               "time": i["time"], "fieldsType": "FieldsV1",
               "fieldsV1": st.fields_v1(m) if not deep else fields_v1(i["fields"])}
              for m, i in st.managers.items()]
        if mf:
            out["managedFields"] = mf
        res_obj = {"kind": obj.pop("kind", st.res.kind),
                   "apiVersion": obj.pop("apiVersion", st.res.gv),
                   "metadata": out}
        obj.pop("metadata", None)
        res_obj.update(obj)
        return res_obj

    def dump_state(self):
        with self.lock:
            return {
                "resourceVersion": str(self.rv),
                "objects": [self.render(self.objects[k]) for k in sorted(self.objects)],
                "terminating": {"/".join(k): n for k, n in self.terminating.items()},
                "namespaces": sorted(self.namespaces),
                "runtimeclasses": sorted(self.runtimeclasses),
                "config": self.config_json(),
                "faults": [r.to_json() for r in self.faults],
            }

    def config_json(self):
        return {"namespaces": sorted(self.namespaces),
                "runtimeclasses": sorted(self.runtimeclasses),
                "cilium_installed": self.cilium_installed,
                "crds_missing": sorted(self.crds_missing),
                "pod_delete_grace_gets": self.pod_grace_gets,
                "anonymous": self.anonymous,
                "tokens": len(self.tokens),
                "version": self.version,
                "expire_continue": self.expire_continue,
                "expire_continue_path": self.expire_continue_path,
                "list_page_max": self.list_page_max}

    # -- seeding (control API / --seed) ---------------------------------------
    def seed(self, obj, manager="other", operation="Update"):
        """Store an object as if `manager` had written it (no admission, but
        validated).  Used to set up ownership conflicts."""
        if operation not in ("Apply", "Update"):
            raise ValueError("operation must be Apply or Update")
        if not isinstance(obj, dict):
            raise ValueError("seed object must be a mapping")
        res = None
        for r in WRITABLE:
            if obj.get("kind") == r.kind and obj.get("apiVersion") == r.gv:
                res = r
        if res is None:
            raise ValueError(f"cannot seed {obj.get('apiVersion')}/{obj.get('kind')}")
        meta = obj.setdefault("metadata", {})
        name = meta.get("name")
        ns = meta.get("namespace", "default") if res.namespaced else ""
        if res.namespaced:
            meta["namespace"] = ns
        else:
            meta.pop("namespace", None)
        with self.lock:
            key = (res.plural, ns, name)
            fields = set(leaves(obj))
            new = copy.deepcopy(obj)
            DEFAULTERS.get(res.plural, lambda o: None)(new)
            errs = VALIDATORS[res.plural](new)
            if errs:
                raise err_invalid_res(res, name, errs)
            m = new["metadata"]
            m["uid"] = str(uuid.uuid4())
            m["resourceVersion"] = self.next_rv()
            m["generation"] = 1
            m["creationTimestamp"] = now_rfc3339()
            if res is POD:
                new["status"] = {"phase": "Pending", "qosClass": pod_qos(new.get("spec") or {})}
            st = Stored(res, new, {manager: {"operation": operation, "apiVersion": res.gv,
                                             "time": now_rfc3339(), "fields": fields}})
            self.objects[key] = st
            return self.render(st)

    # ------------------------------------------------------------------------
    # Writes: apply (PATCH apply-patch+yaml) and create (POST)
    # ------------------------------------------------------------------------
    def write(self, req, mode):
        res = req.res
        q = req.query
        # ---- options (REAL: [patch] ValidatePatchOptions -> 422 on
        # PatchOptions.meta.k8s.io; note: a missing fieldManager is 422
        # Invalid on a real server, not 400)
        manager = qget(q, "fieldManager", "")
        opt_errs = []
        if mode == "apply" and not manager:
            opt_errs.append(FieldErr("required", "fieldManager", detail="is required for apply patch"))
        if len(manager) > 128:
            opt_errs.append(FieldErr("toolong", "fieldManager", manager, "must have at most 128 characters"))
        dry = q.get("dryRun", [])
        bad_dry = [d for d in dry if d != "All"]
        if bad_dry:
            opt_errs.append(FieldErr("notsupported", "dryRun", dry, 'supported values: "All"'))
        fv = qget(q, "fieldValidation", "")
        if fv not in ("", "Ignore", "Warn", "Strict"):
            opt_errs.append(FieldErr("notsupported", "fieldValidation", fv,
                                     'supported values: "Ignore", "Strict", "Warn"'))
        force_s = qget(q, "force") if mode == "apply" else None
        opts_kind = "PatchOptions" if mode == "apply" else "CreateOptions"
        if opt_errs:
            raise err_invalid(f"{opts_kind}.meta.k8s.io", "meta.k8s.io", opts_kind, "", opt_errs)
        force = parse_bool(force_s, "force") if force_s is not None else False
        req.dry_run = bool(dry)
        fv = fv or "Warn"  # REAL: Warn is the default since v1.23 [kep2885]
        if mode == "create" and not manager:
            # REAL: managerOrUserAgent - fall back to the User-Agent prefix
            ua = req.headers.get("User-Agent", "") or "unknown"
            manager = ua.split("/")[0] or "unknown"

        # ---- decode body
        try:
            body, dups = decode_body(req.body)
        except (ValueError, yaml.YAMLError, UnicodeDecodeError) as e:
            msg = str(e).replace("\n", " ")
            if mode == "apply":
                raise err_bad_request(f"error decoding YAML: {msg}")
            raise err_bad_request(f"the object provided is unrecognized: {msg}")
        if not isinstance(body, dict):
            got = {list: "array", str: "string", int: "number", float: "number",
                   bool: "bool"}.get(type(body), "null")
            if mode == "apply":
                raise err_bad_request("error decoding YAML: error unmarshaling JSON: while decoding "
                                      f"JSON: json: cannot unmarshal {got} into Go value of type "
                                      "map[string]interface {}")
            raise err_bad_request("the object provided is unrecognized (must be of type " + res.kind + ")")
        warnings = []
        meta = body.get("metadata") if isinstance(body.get("metadata"), dict) else {}

        # ---- apiVersion / kind (REAL: [smm] for apply; create handler for POST)
        if body.get("apiVersion") != res.gv:
            if mode == "apply":
                raise err_bad_request("Incorrect version specified in apply patch. Specified patch "
                                      f"version: {body.get('apiVersion') or ''}, expected: {res.gv}")
            raise err_bad_request(f"the API version in the data ({body.get('apiVersion') or ''}) "
                                  f"does not match the expected API version ({res.gv})")
        if body.get("kind") != res.kind:
            # FAKE: message not verified against a real server for apply.
            raise err_bad_request(f"the kind in the data ({body.get('kind') or ''}) does not match "
                                  f"the expected kind ({res.kind})")
        if mode == "apply" and meta.get("managedFields") is not None:
            raise err_bad_request("metadata.managedFields must be nil")  # REAL: [smm]

        # ---- unknown fields
        if mode == "apply":
            # REAL: [kep2885]/[smm]: apply always types the patch against the
            # schema; unknown fields fail with a plain error -> HTTP 500,
            # reason "" whatever fieldValidation says.
            unk = unknown_fields(body, SCHEMAS[res.plural], smd_style=True)
            if unk:
                gvknn = f"{meta.get('namespace', '')}/{meta.get('name', '')}; {res.gvk_string}"
                if len(unk) == 1:
                    detail = f"{unk[0]}: field not declared in schema"
                else:
                    detail = "errors:\n" + "\n".join(f"  {u}: field not declared in schema" for u in unk)
                raise err_unknown(500, f"failed to create typed patch object ({gvknn}): {detail}")
        else:
            # REAL: POST decodes with the (strict) JSON decoder: Warn ->
            # 'Warning: 299 - "unknown field \"spec.foo\""', Strict -> 400.
            unk = unknown_fields(body, SCHEMAS[res.plural], smd_style=False)
            if unk and fv == "Strict":
                detail = ", ".join(f'unknown field "{u}"' for u in unk)
                raise err_bad_request(f'{res.kind} in version "{res.version}" cannot be handled as a '
                                      f'{res.kind}: strict decoding error: {detail}')
            if unk and fv == "Warn":
                warnings += [f'unknown field "{u}"' for u in unk]
            _drop_paths(body, unk)

        with self.lock:
            return self._write_locked(req, mode, res, body, meta, manager, force, fv, dups, warnings)

    def _write_locked(self, req, mode, res, body, meta, manager, force, fv, dups, warnings):
        ns = req.ns
        if mode == "create":
            name = meta.get("name") or ""
            req.name = name
        else:
            name = req.name
        key = (res.plural, ns if res.namespaced else "", name)
        st = self.objects.get(key)
        if mode == "create" and st is not None:
            # REAL: [errors] NewAlreadyExists
            raise ApiError(409, "AlreadyExists", f'{res.qualified} "{name}" already exists',
                           _details(name, res.group, res.plural))
        old = st.obj if st else None
        managers = copy.deepcopy(st.managers) if st else {}
        current = copy.deepcopy(old) if old else {"apiVersion": res.gv, "kind": res.kind,
                                                   "metadata": {"name": name}}
        if res.namespaced and not old:
            current["metadata"]["namespace"] = ns

        new_leaves = leaves(body)
        if mode == "apply":
            # ---- conflicts (REAL: [ssa]) --------------------------------------
            # A field conflicts when another manager owns it and this apply
            # would change its value.  "Change" is judged on the merged and
            # defaulted result, so server-side defaults inside an (atomic)
            # list do not make an identical value look different.
            tentative = copy.deepcopy(current)
            for p, v in new_leaves.items():
                found, cur = get_path(tentative, p)
                if not (v == {} and isinstance(cur, dict)):
                    set_path(tentative, p, copy.deepcopy(v))
            DEFAULTERS.get(res.plural, lambda o: None)(tentative)
            conflicts = []
            for p, v in new_leaves.items():
                found, cur = get_path(current, p)
                if v == {} and isinstance(cur, dict):
                    continue  # an empty map owns nothing below it
                if found and cur == get_path(tentative, p)[1]:
                    continue  # same value -> shared ownership, no conflict
                for m, info in managers.items():
                    if m == manager:
                        continue
                    for q in info["fields"]:
                        if _owned_overlap(current, q, p):
                            c = (m, q if len(q) >= len(p) else p)
                            if c not in conflicts:
                                conflicts.append(c)
            if conflicts and not force:
                raise conflict_error(conflicts, managers)
            for m, q in conflicts:  # force: ownership moves to the applier
                managers[m]["fields"].discard(q)
                managers[m]["fields"] = {f for f in managers[m]["fields"] if not _overlap(f, q)}
            # ---- fields this manager stopped applying are removed, unless
            # another manager still owns them
            prev = managers.get(manager, {}).get("fields", set())
            for q in prev - set(new_leaves):
                if any(p[:len(q)] == q for p in new_leaves):
                    continue
                if any(_owned_overlap(current, f, q)
                       for m, i in managers.items() if m != manager for f in i["fields"]):
                    continue
                del_path(current, q)
        # ---- merge the applied leaves
        for p, v in new_leaves.items():
            found, cur = get_path(current, p)
            if v == {} and isinstance(cur, dict):
                continue
            set_path(current, p, copy.deepcopy(v))
        DEFAULTERS.get(res.plural, lambda o: None)(current)
        if manager in managers:
            managers[manager].update(operation="Apply" if mode == "apply" else "Update",
                                     apiVersion=res.gv, fields=set(new_leaves))
        else:
            managers[manager] = {"operation": "Apply" if mode == "apply" else "Update",
                                 "apiVersion": res.gv, "time": now_rfc3339(),
                                 "fields": set(new_leaves)}
        managers = {m: i for m, i in managers.items() if i["fields"]}

        # ---- namespace / name checks (REAL: [patch] applyPatch ->
        # EnsureObjectNamespaceMatchesRequestNamespace, then checkName)
        bns = meta.get("namespace")
        if res.namespaced:
            if bns not in (None, "", ns):
                raise err_bad_request("the namespace of the provided object does not match the "
                                      "namespace sent on the request")
        if (meta.get("name") or "") != name:
            raise err_bad_request(f"the name of the object ({meta.get('name') or ''}) does not "
                                  f"match the name on the URL ({name})")

        # ---- strict decoding of duplicate keys (REAL: [patch] applyPatcher
        # checks after the apply; Warn adds warnings)
        if dups:
            if fv == "Strict":
                what = "YAML" if mode == "apply" else "request body"
                raise err_bad_request(f"error strict decoding {what}: error converting YAML to JSON: "
                                      "yaml: unmarshal errors:\n  " + "\n  ".join(dups))
            if fv == "Warn":
                warnings += dups

        creating = old is None
        # ---- mutating admission (REAL: NamespaceLifecycle, then RuntimeClass)
        if creating and res.namespaced and ns not in self.namespaces:
            # REAL: NamespaceLifecycle -> NewNotFound(namespaces, ns)
            raise ApiError(404, "NotFound", f'namespaces "{ns}" not found',
                           _details(ns, "", "namespaces"))
        if creating and res is POD:
            # REAL: [saadm] the ServiceAccount plugin (before RuntimeClass):
            # admission.NewForbidden(a, fmt.Errorf("error looking up service
            # account %s/%s: %w", ns, name, err)), err a NotFound
            sa = (current.get("spec") or {}).get("serviceAccountName") or "default"
            if sa != "default" and ("serviceaccounts", ns, sa) not in self.objects:
                raise err_forbidden(res.qualified, res.group, res.plural, name,
                                    f'error looking up service account {ns}/{sa}: '
                                    f'serviceaccount "{sa}" not found')
            rc = (current.get("spec") or {}).get("runtimeClassName")
            if rc is not None and rc not in self.runtimeclasses:
                # REAL: [rtclass] admission.NewForbidden(a, fmt.Errorf(
                #   "pod rejected: RuntimeClass %q not found", name))
                raise err_forbidden(res.qualified, res.group, res.plural, name,
                                    f'pod rejected: RuntimeClass "{rc}" not found')

        # ---- validation (REAL: strategy Validate / ValidateUpdate -> 422)
        errs = VALIDATORS[res.plural](current)
        if not creating and res is POD:
            errs += validate_pod_update(current, old)
        if errs:
            raise err_invalid_res(res, name, errs)

        # ---- persist (or pretend to, for dryRun=All)
        cm = current["metadata"]
        if creating:
            cm["uid"] = str(uuid.uuid4())
            cm["creationTimestamp"] = now_rfc3339()
            cm["generation"] = 1
            if res is POD:
                current["status"] = {"phase": "Pending", "qosClass": pod_qos(current.get("spec") or {})}
        else:
            def body_of(o):
                return {k: v for k, v in o.items() if k not in ("metadata", "status")}
            if body_of(current) != body_of(old):
                cm["generation"] = int(old["metadata"].get("generation", 1)) + 1
        unchanged = (not creating and current == old
                     and {m: (i["operation"], i["fields"]) for m, i in managers.items()}
                     == {m: (i["operation"], i["fields"]) for m, i in st.managers.items()})
        op = "create" if creating else ("noop" if unchanged else "update")
        req.write = {"kind": res.kind, "namespace": ns if res.namespaced else "",
                     "name": name, "op": op}
        if req.dry_run:
            # REAL: dry-run create gets uid/creationTimestamp but no
            # resourceVersion; dry-run update keeps the stored one.
            if creating:
                cm.pop("resourceVersion", None)
            req.write["dryRun"] = True
            out = self.render(Stored(res, current, managers))
            return Response(201 if creating else 200, out, _warning_headers(warnings))
        if unchanged:
            # REAL: a no-op apply does not write to etcd; RV stays.
            return Response(200, self.render(st), _warning_headers(warnings))
        for m, i in managers.items():
            if m == manager or (st and st.managers.get(m, {}).get("fields") != i["fields"]):
                i["time"] = now_rfc3339()
        cm["resourceVersion"] = self.next_rv()
        new_st = Stored(res, current, managers)
        self.objects[key] = new_st
        self.write_seq += 1
        req.write["write_seq"] = self.write_seq
        req.write["resourceVersion"] = cm["resourceVersion"]
        return self._stored_response(201 if creating else 200, new_st, _warning_headers(warnings))

    # ------------------------------------------------------------------------
    # Update (PUT): only Leases, as a leader election uses them
    # ------------------------------------------------------------------------
    def update(self, req):
        """REAL: [update] for coordination.k8s.io/v1 Lease: optimistic
        concurrency through metadata.resourceVersion. The lease strategy
        refuses unconditional updates (422 when it is missing) and creation
        on update (404); a stale resourceVersion gets 409 Conflict."""
        res = req.res
        manager = qget(req.query, "fieldManager", "") or \
            ((req.headers.get("User-Agent", "") or "unknown").split("/")[0] or "unknown")
        dry = req.query.get("dryRun", [])
        req.dry_run = bool(dry)
        try:
            body, _ = decode_body(req.body)
        except (ValueError, yaml.YAMLError, UnicodeDecodeError) as e:
            raise err_bad_request(f"the object provided is unrecognized: {e}")
        if not isinstance(body, dict) or body.get("kind") != res.kind or body.get("apiVersion") != res.gv:
            raise err_bad_request(f"the object provided is unrecognized (must be of type {res.kind})")
        unk = unknown_fields(body, SCHEMAS[res.plural], smd_style=False)
        _drop_paths(body, unk)
        meta = body.setdefault("metadata", {})
        if (meta.get("name") or "") != req.name:
            raise err_bad_request(f"the name of the object ({meta.get('name') or ''}) does not "
                                  f"match the name on the URL ({req.name})")
        if meta.get("namespace") not in (None, "", req.ns):
            raise err_bad_request("the namespace of the provided object does not match the "
                                  "namespace sent on the request")
        meta["namespace"] = req.ns
        lease_times(body)
        with self.lock:
            key = (res.plural, req.ns, req.name)
            st = self.objects.get(key)
            if st is None:
                raise err_not_found(res, req.name)
            rv = meta.get("resourceVersion")
            if not rv:
                raise err_invalid_res(res, req.name, [FieldErr(
                    "invalid", "metadata.resourceVersion", 0,
                    "must be specified for an update")])
            if rv != st.obj["metadata"].get("resourceVersion"):
                raise ApiError(409, "Conflict",
                               f'Operation cannot be fulfilled on {res.qualified} "{req.name}": '
                               "the object has been modified; please apply your changes to the "
                               "latest version and try again",
                               _details(req.name, res.group, res.plural))
            errs = VALIDATORS[res.plural](body)
            if errs:
                raise err_invalid_res(res, req.name, errs)
            old = st.obj
            new = copy.deepcopy(body)
            nm = new["metadata"]
            for k in ("uid", "creationTimestamp", "generation"):
                if k in old["metadata"]:
                    nm[k] = old["metadata"][k]
                else:
                    nm.pop(k, None)
            nm.pop("managedFields", None)
            managers = copy.deepcopy(st.managers)
            managers[manager] = {"operation": "Update", "apiVersion": res.gv, "time": now_rfc3339(),
                                 "fields": set(leaves(body))}
            req.write = {"kind": res.kind, "namespace": req.ns, "name": req.name, "op": "update"}
            if req.dry_run:
                req.write["dryRun"] = True
                return Response(200, self.render(Stored(res, new, managers)))
            nm["resourceVersion"] = self.next_rv()
            new_st = Stored(res, new, managers)
            self.objects[key] = new_st
            self.write_seq += 1
            req.write["write_seq"] = self.write_seq
            req.write["resourceVersion"] = nm["resourceVersion"]
            return self._stored_response(200, new_st)

    # ------------------------------------------------------------------------
    # Reads and deletes
    # ------------------------------------------------------------------------
    def get(self, req):
        res = req.res
        with self.lock:
            if res is NAMESPACE:
                if req.name not in self.namespaces:
                    raise err_not_found(res, req.name)
                return Response(200, self.namespaces[req.name])
            if res is RUNTIMECLASS:
                if req.name not in self.runtimeclasses:
                    raise err_not_found(res, req.name)
                return Response(200, self.runtimeclasses[req.name])
            key = (res.plural, req.ns, req.name)
            st = self.objects.get(key)
            if st is None:
                raise err_not_found(res, req.name)
            if key in self.terminating:
                if self.terminating[key] > 0:
                    self.terminating[key] -= 1
                else:
                    # FAKE: the "kubelet" finishes the graceful deletion now.
                    self._remove(key)
                    req.notes["finalized_delete"] = True
                    raise err_not_found(res, req.name)
            return Response(200, self.render(st))

    def list(self, req):
        """LIST with the apiserver's paging: items in etcd key order
        (namespace/name), `limit` per page, an opaque `continue` token
        naming the next key (base64 JSON, as the apiserver's), 410 Expired
        for a token that is too old (config expire_continue: the next N
        requests carrying one whose path expire_continue_path finds), 400 for one that does not decode.  The
        server may return fewer than limit (config list_page_max)."""
        res = req.res
        lsel = parse_label_selector(qget(req.query, "labelSelector"))
        fsel = parse_field_selector(qget(req.query, "fieldSelector"))
        limit = qget(req.query, "limit")
        cont = qget(req.query, "continue")
        try:
            limit = int(limit) if limit not in (None, "") else 0
        except ValueError:
            raise err_bad_request(f"invalid limit: {limit!r}") from None
        with self.lock:
            start = ""
            if cont:
                try:
                    tok = json.loads(base64.b64decode(cont, validate=True))
                    start = str(tok["start"])
                except (ValueError, KeyError, TypeError):
                    # REAL: storage.NewInvalidError / "continue key is not valid"
                    raise err_bad_request("continue key is not valid: incorrect encoded start "
                                          "resourceVersion (version meta.k8s.io/v1)") from None
                if self.expire_continue > 0 and re.search(self.expire_continue_path, req.path):
                    self.expire_continue -= 1
                    # REAL: storage errors.NewResourceExpired -> 410 Expired
                    raise ApiError(410, "Expired",
                                   "The provided continue parameter is too old to display a "
                                   "consistent list result. You can start a new list without the "
                                   "continue parameter, or use the continue token in this "
                                   "response to retrieve the remainder of the results. "
                                   "Continuing with the provided token results in an "
                                   "inconsistent list - objects that were created, modified, or "
                                   "deleted between the time the first chunk was returned and "
                                   "now may show up in the list.", {})
            if res is NAMESPACE or res is RUNTIMECLASS:
                objs = self.namespaces if res is NAMESPACE else self.runtimeclasses
                keyed = [(n, lambda o=objs[n]: o) for n in sorted(objs) if n >= start]
            else:
                # REAL: etcd key order, /registry/<resource>/<ns>/<name>; the
                # order is kept until the next write (a paged list of 10,000
                # objects would sort them all for each page)
                idx = self.list_index.get(res.plural)
                if idx is None or idx[0] != self.rv:
                    order = sorted(((k[1] + "/" + k[2] if k[1] else k[2]), st)
                                   for k, st in self.objects.items() if k[0] == res.plural)
                    idx = (self.rv, [k for k, _ in order], [st for _, st in order])
                    self.list_index[res.plural] = idx
                _, keys, sts = idx
                lo = bisect.bisect_left(keys, max(start, req.ns + "/" if req.ns else ""))
                hi = bisect.bisect_left(keys, req.ns + "0") if req.ns else len(keys)  # '0' follows '/'
                keyed = ((keys[i], sts[i]) for i in range(lo, hi))
                start = ""
            page = limit
            if self.list_page_max and (not page or page > self.list_page_max):
                page = self.list_page_max
            items, nxt = [], ""
            for key, o in keyed:
                if isinstance(o, Stored):
                    meta = o.obj.get("metadata", {})
                else:
                    o = o()
                    meta = o.get("metadata", {})
                if not (label_match(lsel, meta.get("labels")) and field_match(fsel, meta)):
                    continue
                if page and len(items) == page:
                    nxt = key
                    break
                if isinstance(o, Stored):
                    items.append(self._list_item(o))
                else:
                    o = dict(o)
                    o.pop("kind", None)   # typed lists omit them (namespaces, runtimeclasses)
                    o.pop("apiVersion", None)
                    items.append(json_bytes(o)[:-1])
            lmeta = {"resourceVersion": str(self.rv)}
            if nxt:
                lmeta["continue"] = base64.b64encode(json.dumps(
                    {"v": "meta.k8s.io/v1", "rv": self.rv, "start": nxt}).encode()).decode()
            head = {"kind": res.list_kind, "apiVersion": res.gv, "metadata": lmeta}
            raw = json_bytes(head)[:-2] + b',"items":[' + b",".join(items) + b"]}\n"
            return Response(200, head, raw=raw)

    def _stored_response(self, code, st, headers=None):
        """The response to a write of st. REAL: the server encodes a new
        object once when it stores it; the same bytes serve as its list item
        later (see list)."""
        out = self.render(st)
        raw = json_bytes(out)
        if st.res.crd:
            st.item_json = raw[:-1]
        else:
            lead = json_bytes({"kind": out["kind"], "apiVersion": out["apiVersion"]})[:-2] + b","
            if raw.startswith(lead):
                st.item_json = b"{" + raw[len(lead):-1]
        return Response(code, out, headers, raw=raw)

    def _list_item(self, st):
        """st as a list item: REAL: kube-apiserver's watch cache keeps each
        object decoded and serializes it in Go; here each stored version (a
        Stored is never changed in place) is serialized once, so a LIST costs
        about what it costs a real server, not json.dumps per object per
        request."""
        if st.item_json is None:
            o = self.render(st, deep=False)
            if not st.res.crd:
                # REAL: typed lists omit kind/apiVersion on items;
                # CR lists (unstructured) keep them.
                o.pop("kind", None)
                o.pop("apiVersion", None)
            st.item_json = json_bytes(o)[:-1]
        return st.item_json

    def seed_many(self, objs, manager="other", operation="Update"):
        """Seed a list of objects (bench: thousands at once, one request)."""
        for o in objs:
            self.seed(o, manager, operation)
        # the store is long-lived: keep the collector from walking it on
        # every request (seconds at 20,000 objects)
        gc.collect()
        gc.freeze()
        return {"seeded": len(objs)}

    def _remove(self, key):
        self.objects.pop(key, None)
        self.terminating.pop(key, None)
        self.next_rv()

    def delete(self, req):
        res = req.res
        q = req.query
        opts = {}
        if req.body.strip():
            try:
                opts, _ = decode_body(req.body)
            except Exception as e:  # noqa: BLE001
                raise err_bad_request(f"the object provided is unrecognized: {e}")
            if not isinstance(opts, dict):
                raise err_bad_request("the object provided is unrecognized (must be of type DeleteOptions)")
        dry = q.get("dryRun", []) or opts.get("dryRun") or []
        if [d for d in dry if d != "All"]:
            raise err_invalid("DeleteOptions.meta.k8s.io", "meta.k8s.io", "DeleteOptions", "",
                              [FieldErr("notsupported", "dryRun", dry, 'supported values: "All"')])
        req.dry_run = bool(dry)
        grace = qget(q, "gracePeriodSeconds")
        grace = int(grace) if grace not in (None, "") else opts.get("gracePeriodSeconds")
        with self.lock:
            key = (res.plural, req.ns, req.name)
            st = self.objects.get(key)
            if st is None:
                raise err_not_found(res, req.name)
            pre = opts.get("preconditions") or {}
            meta = st.obj["metadata"]
            # FAKE: texts follow storage.NewInvalidObjError wrapped in NewConflict
            if pre.get("uid") and pre["uid"] != meta.get("uid"):
                raise ApiError(409, "Conflict",
                               f'Operation cannot be fulfilled on {res.qualified} "{req.name}": '
                               f'Precondition failed: UID in precondition: {pre["uid"]}, '
                               f'UID in object meta: {meta.get("uid")}',
                               _details(req.name, res.group, res.plural))
            if pre.get("resourceVersion") and pre["resourceVersion"] != meta.get("resourceVersion"):
                raise ApiError(409, "Conflict",
                               f'Operation cannot be fulfilled on {res.qualified} "{req.name}": '
                               f'Precondition failed: ResourceVersion in precondition: '
                               f'{pre["resourceVersion"]}, ResourceVersion in object meta: '
                               f'{meta.get("resourceVersion")}',
                               _details(req.name, res.group, res.plural))
            graceful = (res is POD and self.pod_grace_gets > 0 and grace != 0)
            req.write = {"kind": res.kind, "namespace": req.ns, "name": req.name,
                         "op": "delete" if not graceful else "delete-graceful"}
            if req.dry_run:
                req.write["dryRun"] = True
                out = self.render(st)
            elif graceful:
                if key not in self.terminating:
                    g = grace if grace is not None else (st.obj.get("spec") or {}).get(
                        "terminationGracePeriodSeconds", 30)
                    meta["deletionTimestamp"] = now_rfc3339(int(g))
                    meta["deletionGracePeriodSeconds"] = int(g)
                    meta["resourceVersion"] = self.next_rv()
                    self.terminating[key] = self.pod_grace_gets
                    self.write_seq += 1
                    req.write["write_seq"] = self.write_seq
                else:
                    req.write["op"] = "noop"
                out = self.render(st)
            else:
                out = self.render(st)
                self._remove(key)
                self.write_seq += 1
                req.write["write_seq"] = self.write_seq
            if res is POD:
                # REAL: the pods registry sets ReturnDeletedObject: true
                return Response(200, out)
            # REAL: generic store finalizeDelete -> Status Success with
            # details{name, group, kind=<resource>, uid} (no code).
            return Response(200, status_body(0, "", "", _details(
                req.name, res.group, res.plural, meta.get("uid")), status="Success"))


def _drop_paths(obj, paths):
    for p in paths:
        segs = re.findall(r"([^.\[\]]+)|\[(\d+)\]", p)
        node, parent, last = obj, None, None
        ok = True
        for name, idx in segs:
            parent = node
            if idx:
                i = int(idx)
                if not isinstance(node, list) or i >= len(node):
                    ok = False
                    break
                last, node = i, node[i]
            else:
                if not isinstance(node, dict) or name not in node:
                    ok = False
                    break
                last, node = name, node[name]
        if ok and isinstance(parent, dict):
            parent.pop(last, None)


def _warning_headers(warnings):
    # REAL: Warning: 299 - "<text>" (RFC 7234 warn-code 299, agent "-")
    return {"Warning": ["299 - " + json.dumps(w) for w in warnings]} if warnings else {}


# ---------------------------------------------------------------------------
# Routing
# ---------------------------------------------------------------------------

VERB_BY_METHOD = {"GET": "get", "POST": "create", "PATCH": "patch", "PUT": "update",
                  "DELETE": "delete"}


def served_resources(cluster):
    """Every resource but the CRDs that are not installed: cilium.io's all
    when cilium_installed is off, and each one crds_missing names."""
    return [r for r in ALL_RESOURCES
            if not r.crd or (r.plural not in cluster.crds_missing and
                             (r.group != "cilium.io" or cluster.cilium_installed))]


def route(cluster, path):
    """Returns ('resource', res, ns, name, sub) / ('discovery', kind, arg) /
    ('nonresource', name) / None."""
    if path in ("/healthz", "/livez", "/readyz"):
        return ("nonresource", "health")
    if path in ("/version", "/version/"):
        return ("nonresource", "version")
    segs = [s for s in path.split("/") if s]
    if not segs:
        return None
    served = served_resources(cluster)
    groups = {}
    for r in served:
        groups.setdefault(r.group, set()).add(r.version)
    if segs[0] == "api":
        if len(segs) == 1:
            return ("discovery", "api", None)
        group, version, rest = "", segs[1], segs[2:]
        if version not in groups.get("", ()):
            return None
    elif segs[0] == "apis":
        if len(segs) == 1:
            return ("discovery", "apis", None)
        group = segs[1]
        if group == "" or group not in groups:
            return None
        if len(segs) == 2:
            return ("discovery", "group", group)
        version, rest = segs[2], segs[3:]
        if version not in groups[group]:
            return None
    else:
        return None
    if not rest:
        return ("discovery", "resources", (group, version))
    by_plural = {r.plural: r for r in served if r.group == group and r.version == version}
    ns = ""
    if rest[0] == "namespaces" and len(rest) >= 3:
        ns, rest = rest[1], rest[2:]
        res = by_plural.get(rest[0])
        if res is None or not res.namespaced:
            return None
    else:
        res = by_plural.get(rest[0])
        if res is None:
            return None
    name = rest[1] if len(rest) > 1 else ""
    if res.namespaced and not ns and name:
        return None  # e.g. /api/v1/pods/NAME does not exist
    sub = rest[2:]
    if sub:
        return None  # FAKE: no subresources (status, log, eviction, ...)
    return ("resource", res, ns, name)


def discovery(cluster, kind, arg, port):
    served = served_resources(cluster)
    if kind == "api":
        return {"kind": "APIVersions", "versions": ["v1"],
                "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0",
                                                "serverAddress": f"127.0.0.1:{port}"}]}

    def group_obj(g):
        vers = sorted({r.version for r in served if r.group == g})
        gvs = [{"groupVersion": f"{g}/{v}", "version": v} for v in vers]
        return {"name": g, "versions": gvs, "preferredVersion": gvs[0]}
    if kind == "apis":
        gs = sorted({r.group for r in served if r.group})
        return {"kind": "APIGroupList", "apiVersion": "v1", "groups": [group_obj(g) for g in gs]}
    if kind == "group":
        o = group_obj(arg)
        return {"kind": "APIGroup", "apiVersion": "v1", **o}
    group, version = arg
    resources = []
    for r in served:
        if r.group == group and r.version == version:
            verbs = r.verbs if r.writable else ["get", "list", "watch"]
            d = {"name": r.plural, "singularName": r.singular, "namespaced": r.namespaced,
                 "kind": r.kind, "verbs": verbs}
            if r.short:
                d["shortNames"] = r.short
            resources.append(d)
    return {"kind": "APIResourceList", "apiVersion": "v1",
            "groupVersion": f"{group}/{version}" if group else version,
            "resources": resources}


# ---------------------------------------------------------------------------
# HTTP front end
# ---------------------------------------------------------------------------

_tl = threading.local()


class ApiHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive; every response has Content-Length
    server_version = "fakeapi"
    sys_version = ""

    def setup(self):
        self.timeout = self.server.idle_timeout
        super().setup()
        self.conn_id = getattr(_tl, "conn_id", 0)

    def log_message(self, fmt, *args):  # quiet unless --verbose
        if self.server.verbose:
            sys.stderr.write("fakeapi: " + (fmt % args) + "\n")

    # BaseHTTPRequestHandler calls do_<METHOD>
    def do_GET(self):
        self._handle()

    do_POST = do_PATCH = do_PUT = do_DELETE = do_HEAD = do_OPTIONS = do_GET

    # -- body -----------------------------------------------------------------
    def _read_body(self):
        te = (self.headers.get("Transfer-Encoding") or "").lower()
        if "chunked" in te:
            chunks = []
            while True:
                line = self.rfile.readline(65537)
                size = int(line.split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline(65537) not in (b"\r\n", b"\n", b""):
                        pass
                    break
                chunks.append(self.rfile.read(size))
                self.rfile.readline(3)
            return b"".join(chunks)
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n > 0 else b""

    # -- auth -----------------------------------------------------------------
    def _authenticate(self):
        """REAL: union of x509 then bearer token; a presented-but-invalid token
        fails the request (401) even when anonymous auth is on."""
        cluster = self.server.cluster
        presented = []
        cert_user = None
        try:
            pc = self.connection.getpeercert()
        except (ValueError, AttributeError):
            pc = None
        if pc:
            presented.append("cert")
            subj = dict(x[0] for x in pc.get("subject", ()))
            cert_user = (subj.get("commonName", ""),
                         [v for rdn in pc.get("subject", ()) for k, v in rdn if k == "organizationName"])
        authz = self.headers.get("Authorization")
        token = None
        if authz:
            parts = authz.split(None, 1)
            if len(parts) == 2 and parts[0].lower() == "bearer" and parts[1].strip():
                token = parts[1].strip()
                presented.append("token")
        if cert_user:
            return "cert", cert_user[0], cert_user[1], presented
        if token is not None:
            with cluster.lock:
                user = cluster.tokens.get(token)
            if user is None:
                return "invalid-token", None, None, presented
            return "token", user, ["system:authenticated"], presented
        if authz:
            presented.append("malformed-authorization")
        if cluster.anonymous:
            return "none", "system:anonymous", ["system:unauthenticated"], presented
        return "none", None, None, presented

    # -- main -----------------------------------------------------------------
    def _handle(self):
        cluster = self.server.cluster
        t0 = time.monotonic()
        try:
            body = self._read_body()
        except (ValueError, OSError):
            self.close_connection = True
            return
        parts = urlsplit(self.path)
        path = parts.path or "/"
        query = parse_qs(parts.query, keep_blank_values=True)
        seq = cluster.next_seq()
        auth, user, groups, presented = self._authenticate()
        req = Request(self.command, path, query, parts.query, self.headers, body,
                      user, groups, auth)
        entry = {"event": "request", "seq": seq, "conn": self.conn_id,
                 "time": now_rfc3339(), "method": self.command, "path": path,
                 "query": parts.query, "content_type": self.headers.get("Content-Type"),
                 "auth": auth, "user": user}
        if presented and presented != [auth]:
            entry["credentials_presented"] = presented
        try:
            r = route(cluster, path)
            if r and r[0] == "resource":
                _, req.res, req.ns, req.name = r
                entry.update(kind=req.res.kind, namespace=req.ns, name=req.name)
        except Exception:  # noqa: BLE001 - routing must not kill logging
            r = None

        rule = cluster.match_fault(self.command, path)
        if rule is not None:
            entry["fault"] = rule.action
            entry["fault_id"] = rule.id
            if rule.delay:
                time.sleep(rule.delay)

        resp = None
        if rule is None or rule.commit or rule.action == "delay":
            resp = self._dispatch(req, r)
            if req.write:
                entry["write"] = req.write
            if req.dry_run:
                entry["dry_run"] = True
            if req.notes:
                entry.update(req.notes)
        if rule is not None and rule.action != "delay":
            if rule.action == "reset":
                entry["status"] = None
                self._log(entry, t0)
                self._reset()
                return
            if rule.action == "hang":
                entry["status"] = None
                self._log(entry, t0)
                self._hang(rule.hang_max)
                return
            resp = self._fault_response(rule, req)
        self._send(resp, entry, t0)

    def _log(self, entry, t0):
        entry["duration_ms"] = round((time.monotonic() - t0) * 1000, 1)
        self.server.cluster.log(entry)

    def _send(self, resp, entry, t0):
        if resp.raw is not None:
            data = resp.raw
        else:
            data = json_bytes(resp.body)
        entry["status"] = resp.code
        if isinstance(resp.body, dict) and resp.body.get("kind") == "Status":
            entry["reason"] = resp.body.get("reason", "")
            if resp.body.get("message"):
                entry["message"] = resp.body["message"]
        if "Warning" in resp.headers:
            entry["warnings"] = len(resp.headers["Warning"])
        # log before writing so a test that waits for the response always
        # finds the entry
        self._log(entry, t0)
        try:
            self.send_response_only(resp.code)
            # REAL: headers seen on kube-apiserver responses [wire]
            self.send_header("Audit-Id", str(uuid.uuid4()))
            self.send_header("Cache-Control", "no-cache, private")
            self.send_header("Content-Type", resp.ctype)
            for k, v in resp.headers.items():
                for vv in (v if isinstance(v, list) else [v]):
                    self.send_header(k, vv)
            self.send_header("Date", self.date_time_string())
            self.send_header("Content-Length", str(len(data)))
            if self.close_connection:
                self.send_header("Connection", "close")
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(data)
        except OSError:
            self.close_connection = True

    def _reset(self):
        """Close the TCP connection with RST and no response."""
        self.close_connection = True
        try:
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        except OSError:
            pass
        try:
            self.rfile.close()
        except OSError:
            pass
        try:
            self.connection.close()
        except OSError:
            pass

    def _hang(self, hang_max):
        """Never answer; wait until the client goes away (or hang_max, or
        server shutdown), then drop the connection."""
        self.close_connection = True
        deadline = time.monotonic() + hang_max
        sock = self.connection
        stop = self.server.stopping
        while not stop.is_set() and time.monotonic() < deadline:
            try:
                rd, _, _ = select.select([sock], [], [], 0.1)
            except (OSError, ValueError):
                break
            if rd:
                try:
                    data = sock.recv(4096)
                except ssl.SSLWantReadError:
                    continue
                except OSError:
                    break
                if not data:
                    break
        self._reset()

    def _fault_response(self, rule, req):
        msg = rule.message
        if rule.action == "500":
            e = err_internal(msg or "fake fault injected by test")
        elif rule.action == "503":
            e = ApiError(503, "ServiceUnavailable", msg or "the server is currently unable to handle the request", {})
        elif rule.action == "timeout":
            # REAL: filters/timeout.go: NewTimeoutError("request did not
            # complete within requested timeout - context deadline exceeded", 0)
            e = ApiError(504, "Timeout", "Timeout: " + (msg or "request did not complete within "
                         "requested timeout - context deadline exceeded"), {})
        elif rule.action == "429":
            # Status form (as returned e.g. by NewTooManyRequests).  See
            # "429text" for what the max-inflight / APF filters really send.
            e = ApiError(429, "TooManyRequests", msg or "Too many requests, please try again later.",
                         _details(retry=rule.retry_after),
                         headers={"Retry-After": str(rule.retry_after)})
        elif rule.action == "429text":
            # REAL: [inflight] tooManyRequests(): Retry-After + http.Error()
            # -> text/plain body.
            return Response(429, None, {"Retry-After": str(rule.retry_after),
                                        "X-Content-Type-Options": "nosniff"},
                            ctype="text/plain; charset=utf-8",
                            raw=((msg or "Too many requests, please try again later.") + "\n").encode())
        else:  # 403, RBAC style  REAL: [rbac] forbiddenMessage
            user = req.user or "system:anonymous"
            if req.res is not None:
                verb = _verb(req)
                scope = (f' in the namespace "{req.ns}"' if req.ns else " at the cluster scope")
                why = (f'User "{user}" cannot {verb} resource "{req.res.plural}" in API group '
                       f'"{req.res.group}"{scope}')
                if msg:
                    why += ": " + msg
                e = err_forbidden(req.res.qualified, req.res.group, req.res.plural, req.name, why)
            else:
                why = f'User "{user}" cannot {VERB_BY_METHOD.get(req.method, req.method.lower())} path "{req.path}"'
                if msg:
                    why += ": " + msg
                e = err_forbidden("", "", "", "", why)
        return Response(e.code, e.body(), e.headers)

    def _dispatch(self, req, r):
        try:
            return self._dispatch_inner(req, r)
        except ApiError as e:
            return Response(e.code, e.body(), e.headers)
        except Exception as e:  # noqa: BLE001
            traceback.print_exc()
            err = err_internal(f"fakeapi bug: {e!r}")
            return Response(500, err.body())

    def _dispatch_inner(self, req, r):
        cluster = self.server.cluster
        # ---- authentication (REAL: runs before routing; [wire] 401 body)
        if req.user is None:
            raise ApiError(401, "Unauthorized", "Unauthorized")
        anonymous = req.user == "system:anonymous"
        if r is None:
            if anonymous:
                raise _anon_forbidden(req)
            raise err_no_route()
        kind = r[0]
        if kind == "nonresource":
            if r[1] == "health":
                return Response(200, None, ctype="text/plain; charset=utf-8", raw=b"ok")
            return Response(200, _version_info(cluster.version))
        if anonymous:
            # REAL: system:public-info-viewer only covers /healthz, /livez,
            # /readyz and /version for unauthenticated users.
            raise _anon_forbidden(req)
        if kind == "discovery":
            if req.method != "GET":
                raise ApiError(405, "MethodNotAllowed", "the server does not allow this method on the requested resource", {})
            return Response(200, discovery(cluster, r[1], r[2], cluster.port))
        res = req.res
        m = req.method
        if m == "GET":
            if qget(req.query, "watch") not in (None, "", "0", "false"):
                raise err_method_not_allowed(res, "watch")  # FAKE: no watch
            return cluster.get(req) if req.name else cluster.list(req)
        if not res.writable:
            raise err_method_not_allowed(res, VERB_BY_METHOD.get(m, m.lower()))
        if m == "PATCH" and req.name:
            ctype = (req.headers.get("Content-Type") or "").split(";")[0].strip().lower()
            if ctype != "application/apply-patch+yaml":
                # REAL: negotiation.NewUnsupportedMediaTypeError(patchTypes)
                # FAKE: only apply patches are implemented, so only that
                # type is listed / accepted.
                raise ApiError(415, "UnsupportedMediaType",
                               "the body of the request was in an unknown format - accepted "
                               "media types include: application/apply-patch+yaml", {})
            return cluster.write(req, "apply")
        if m in ("POST", "PUT"):
            ctype = (req.headers.get("Content-Type") or "").split(";")[0].strip().lower()
            if ctype not in ("application/json", "application/yaml"):
                # REAL: the create/update handlers negotiate the body's
                # serializer; an apply patch type is not one of them
                raise ApiError(415, "UnsupportedMediaType",
                               f'the body of the request was in an unknown format - accepted '
                               f'media types include: application/json, application/yaml, '
                               f'application/vnd.kubernetes.protobuf', {})
        if m == "POST" and not req.name and (req.ns or not res.namespaced):
            return cluster.write(req, "create")
        if m == "DELETE" and req.name:
            return cluster.delete(req)
        if m == "PUT" and req.name and res is LEASE:
            return cluster.update(req)
        raise err_method_not_allowed(res, VERB_BY_METHOD.get(m, m.lower()) +
                                     ("collection" if m == "DELETE" else ""))


def _verb(req):
    m = req.method
    if m == "GET":
        return "get" if req.name else "list"
    if m == "DELETE":
        return "delete" if req.name else "deletecollection"
    return VERB_BY_METHOD.get(m, m.lower())


def _anon_forbidden(req):
    why = f'User "system:anonymous" cannot {VERB_BY_METHOD.get(req.method, "get")} path "{req.path}"'
    if req.res is not None:
        scope = f' in the namespace "{req.ns}"' if req.ns else " at the cluster scope"
        why = (f'User "system:anonymous" cannot {_verb(req)} resource "{req.res.plural}" '
               f'in API group "{req.res.group}"{scope}')
        return err_forbidden(req.res.qualified, req.res.group, req.res.plural, req.name, why)
    return err_forbidden("", "", "", "", why)


def _version_info(v):
    m = re.match(r"v(\d+)\.(\d+)", v)
    major, minor = (m.group(1), m.group(2)) if m else ("1", "31")
    return {"major": major, "minor": minor, "gitVersion": v,
            "gitCommit": "0000000000000000000000000000000000000000",
            "gitTreeState": "clean", "buildDate": "2024-08-13T07:28:49Z",
            "goVersion": "go1.22.5", "compiler": "gc", "platform": "linux/amd64"}


class TLSApiServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 64

    def __init__(self, addr, cluster, sslctx, idle_timeout=60.0, verbose=False):
        super().__init__(addr, ApiHandler)
        self.cluster = cluster
        self.sslctx = sslctx
        self.idle_timeout = idle_timeout
        self.verbose = verbose
        self.stopping = threading.Event()

    def finish_request(self, request, client_address):
        # The TLS handshake happens here, in the per-connection thread, so a
        # slow or broken client cannot stall the accept loop.
        conn = self.cluster.next_conn()
        _tl.conn_id = conn
        request.settimeout(10)
        # REAL: Go sets TCP_NODELAY on every connection. Without it the body,
        # written after the headers, waits for the client's delayed ACK (40 ms
        # a response for a client that sends one request at a time).
        try:
            request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except OSError:
            pass
        try:
            tls = self.sslctx.wrap_socket(request, server_side=True)
        except (ssl.SSLError, OSError) as e:
            self.cluster.log({"event": "tls_error", "conn": conn, "time": now_rfc3339(),
                              "peer": f"{client_address[0]}:{client_address[1]}",
                              "error": str(e)})
            try:
                request.close()
            except OSError:
                pass
            return
        try:
            self.RequestHandlerClass(tls, client_address, self)
        except (OSError, ssl.SSLError):
            pass
        finally:
            try:
                tls.close()
            except OSError:
                pass

    def handle_error(self, request, client_address):
        if self.verbose:
            super().handle_error(request, client_address)


# ---------------------------------------------------------------------------
# Control server (plain HTTP, 127.0.0.1)
# ---------------------------------------------------------------------------


class ControlHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "fakeapi-control"
    sys_version = ""

    def log_message(self, fmt, *args):
        if self.server.verbose:
            sys.stderr.write("fakeapi-control: " + (fmt % args) + "\n")

    def _reply(self, code, obj):
        data = json_bytes(obj)
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _body(self):
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n else b""

    def do_GET(self):
        c = self.server.cluster
        parts = urlsplit(self.path)
        q = parse_qs(parts.query)
        if parts.path == "/healthz":
            return self._reply(200, {"ok": True})
        if parts.path == "/state":
            return self._reply(200, c.dump_state())
        if parts.path == "/log":
            since = int(qget(q, "since", "0"))
            with c.log_lock:
                entries = [e for e in c.log_entries if not since or e.get("seq", 0) > since]
            return self._reply(200, entries)
        if parts.path == "/faults":
            with c.lock:
                return self._reply(200, [r.to_json() for r in c.faults])
        if parts.path == "/config":
            return self._reply(200, c.config_json())
        return self._reply(404, {"error": "unknown control path"})

    def do_POST(self):
        c = self.server.cluster
        parts = urlsplit(self.path)
        q = parse_qs(parts.query)
        raw = self._body()
        try:
            if parts.path == "/faults":
                spec = json.loads(raw or b"{}")
                specs = spec if isinstance(spec, list) else [spec]
                rules = [FaultRule(s) for s in specs]
                with c.lock:
                    c.faults.extend(rules)
                return self._reply(200, [r.to_json() for r in rules])
            if parts.path == "/seed" and raw.lstrip().startswith(b"["):
                return self._reply(200, c.seed_many(json.loads(raw), qget(q, "manager", "other"),
                                                    qget(q, "operation", "Update")))
            if parts.path == "/seed":
                obj, _ = decode_body(raw)
                out = c.seed(obj, qget(q, "manager", "other"), qget(q, "operation", "Update"))
                return self._reply(200, out)
            if parts.path == "/config":
                cfg = json.loads(raw or b"{}")
                apply_config(c, cfg)
                return self._reply(200, c.config_json())
            if parts.path == "/reset":
                c.reset(keep_log=_truthy(qget(q, "keep_log", "")))
                return self._reply(200, {"ok": True})
            if parts.path == "/shutdown":
                self._reply(200, {"ok": True})
                self.server.shutdown_event.set()
                return None
        except ApiError as e:
            return self._reply(e.code, e.body())
        except (ValueError, KeyError, TypeError, yaml.YAMLError) as e:
            return self._reply(400, {"error": str(e)})
        return self._reply(404, {"error": "unknown control path"})

    def do_DELETE(self):
        c = self.server.cluster
        if urlsplit(self.path).path == "/faults":
            with c.lock:
                c.faults = []
            return self._reply(200, [])
        return self._reply(404, {"error": "unknown control path"})


def apply_config(c, cfg):
    known = {"namespaces", "runtimeclasses", "cilium_installed", "crds_missing",
             "pod_delete_grace_gets", "anonymous", "tokens", "version", "expire_continue",
             "expire_continue_path", "list_page_max"}
    unknown = set(cfg) - known
    if unknown:
        raise ValueError(f"unknown config keys: {sorted(unknown)}")
    with c.lock:
        if "namespaces" in cfg:
            c.set_namespaces(list(cfg["namespaces"]))
        if "runtimeclasses" in cfg:
            c.set_runtimeclasses(list(cfg["runtimeclasses"]))
        if "cilium_installed" in cfg:
            c.cilium_installed = bool(cfg["cilium_installed"])
        if "crds_missing" in cfg:
            c.crds_missing = set(check_crds(cfg["crds_missing"]))
        if "pod_delete_grace_gets" in cfg:
            c.pod_grace_gets = int(cfg["pod_delete_grace_gets"])
        if "anonymous" in cfg:
            c.anonymous = bool(cfg["anonymous"])
        if "tokens" in cfg:
            c.tokens = parse_tokens(cfg["tokens"])
        if "version" in cfg:
            c.version = str(cfg["version"])
        if "expire_continue" in cfg:
            c.expire_continue = int(cfg["expire_continue"])
        if "expire_continue_path" in cfg:
            c.expire_continue_path = str(cfg["expire_continue_path"])
        if "list_page_max" in cfg:
            c.list_page_max = int(cfg["list_page_max"])


def check_crds(plurals):
    known = {r.plural for r in CRDS}
    bad = sorted(set(plurals) - known)
    if bad:
        raise ValueError(f"not a CRD: {bad}; the CRDs are {sorted(known)}")
    return plurals


def parse_tokens(items):
    out = {}
    for t in items:
        tok, sep, user = str(t).partition("=")
        out[tok] = user if sep else DEFAULT_TOKEN_USER
    return out


class ControlServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, addr, cluster, shutdown_event, verbose=False):
        super().__init__(addr, ControlHandler)
        self.cluster = cluster
        self.shutdown_event = shutdown_event
        self.verbose = verbose


# ---------------------------------------------------------------------------
# main
# ---------------------------------------------------------------------------


def build_ssl_context(certdir):
    paths = {n: os.path.join(certdir, n) for n in ("ca.crt", "server.crt", "server.key")}
    missing = [p for p in paths.values() if not os.path.exists(p)]
    if missing:
        raise SystemExit(f"fakeapi: missing {missing}; run tests/apiserver/mkcerts.sh {certdir} "
                         "(or pass --mkcerts)")
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.load_cert_chain(paths["server.crt"], paths["server.key"])
    # Request, but do not require, a client certificate; a presented one must
    # chain to the test CA (like Go's tls.VerifyClientCertIfGiven).
    ctx.load_verify_locations(paths["ca.crt"])
    ctx.verify_mode = ssl.CERT_OPTIONAL
    ctx.set_alpn_protocols(["http/1.1"])
    return ctx


def write_atomic(path, text):
    tmp = f"{path}.tmp.{os.getpid()}"
    with open(tmp, "w", encoding="utf-8") as fh:
        fh.write(text)
    os.replace(tmp, path)


def main(argv=None):
    ap = argparse.ArgumentParser(description="Fake Kubernetes API server for agentfence tests")
    ap.add_argument("--certs", required=True, help="directory with ca.crt, server.crt, server.key")
    ap.add_argument("--mkcerts", action="store_true", help="run mkcerts.sh into --certs if files are missing")
    ap.add_argument("--listen", default="127.0.0.1", help="API listen address (default 127.0.0.1)")
    ap.add_argument("--port", type=int, default=0, help="API port (0 = pick a free one)")
    ap.add_argument("--control-port", type=int, default=0, help="control port on 127.0.0.1 (0 = free)")
    ap.add_argument("--ready-file", help="write the API port here once listening (and JSON to FILE.json)")
    ap.add_argument("--token", action="append", default=None, metavar="TOKEN[=USER]",
                    help=f"accepted bearer token (repeatable; default {DEFAULT_TOKEN})")
    ap.add_argument("--no-default-token", action="store_true", help="accept no token unless --token given")
    ap.add_argument("--anonymous", action="store_true",
                    help="enable anonymous auth (no credentials -> system:anonymous, 403 on resources)")
    ap.add_argument("--namespace", action="append", dest="namespaces", metavar="NS",
                    help="existing namespace (repeatable; default: default, agents, kube-system)")
    ap.add_argument("--runtimeclass", action="append", dest="runtimeclasses", metavar="NAME",
                    help="existing RuntimeClass (repeatable; default: kata-fc)")
    ap.add_argument("--no-runtimeclasses", action="store_true", help="start with no RuntimeClass")
    ap.add_argument("--no-cilium", action="store_true", help="cilium.io CRDs not installed (404s)")
    ap.add_argument("--no-crd", action="append", default=[], metavar="PLURAL",
                    help="that CRD not installed (404s; repeatable): " +
                    ", ".join(r.plural for r in CRDS))
    ap.add_argument("--pod-delete-grace-gets", type=int, default=0, metavar="N",
                    help="graceful pod deletion: the pod stays (with deletionTimestamp) for N GETs")
    ap.add_argument("--fault", action="append", default=[], metavar="SPEC",
                    help="fault rule, JSON or key=value,... (see README)")
    ap.add_argument("--seed", action="append", default=[], metavar="FILE",
                    help="YAML/JSON object(s) to pre-store (multi-document allowed)")
    ap.add_argument("--seed-manager", default="other", help="field manager of seeded objects")
    ap.add_argument("--seed-operation", default="Update", choices=["Update", "Apply"])
    ap.add_argument("--log", help="write one JSON line per request to this file (truncated at start)")
    ap.add_argument("--state-out", help="write the final object state (JSON) here on exit")
    ap.add_argument("--k8s-version", default="v1.31.0", help="gitVersion reported by /version")
    ap.add_argument("--idle-timeout", type=float, default=60.0, help="keep-alive idle timeout (s)")
    ap.add_argument("--verbose", action="store_true")
    a = ap.parse_args(argv)

    if a.mkcerts and not os.path.exists(os.path.join(a.certs, "server.crt")):
        subprocess.run(["sh", os.path.join(HERE, "mkcerts.sh"), a.certs], check=True)
    sslctx = build_ssl_context(a.certs)

    tokens = parse_tokens(a.token if a.token else ([] if a.no_default_token else [DEFAULT_TOKEN]))
    namespaces = a.namespaces or ["default", "agents", "kube-system"]
    rcs = [] if a.no_runtimeclasses else (a.runtimeclasses or ["kata-fc"])
    try:
        crds_missing = check_crds(a.no_crd)
    except ValueError as e:
        raise SystemExit(f"fakeapi: bad --no-crd: {e}")
    cluster = FakeCluster(namespaces=namespaces, runtimeclasses=rcs,
                          cilium_installed=not a.no_cilium,
                          crds_missing=crds_missing,
                          pod_grace_gets=a.pod_delete_grace_gets, tokens=tokens,
                          anonymous=a.anonymous, version=a.k8s_version, log_path=a.log)
    try:
        cluster.faults = [parse_fault_spec(s) for s in a.fault]
    except (ValueError, json.JSONDecodeError) as e:
        raise SystemExit(f"fakeapi: bad --fault: {e}")
    for path in a.seed:
        with open(path, encoding="utf-8") as fh:
            for doc in yaml.safe_load_all(fh):
                if doc:
                    try:
                        cluster.seed(doc, a.seed_manager, a.seed_operation)
                    except ApiError as e:
                        raise SystemExit(f"fakeapi: bad --seed {path}: {e.message}")

    shutdown_event = threading.Event()
    api = TLSApiServer((a.listen, a.port), cluster, sslctx, a.idle_timeout, a.verbose)
    cluster.port = api.server_address[1]
    ctl = ControlServer(("127.0.0.1", a.control_port), cluster, shutdown_event, a.verbose)
    threads = [threading.Thread(target=s.serve_forever, kwargs={"poll_interval": 0.1},
                                daemon=True) for s in (api, ctl)]
    for t in threads:
        t.start()

    def on_signal(signum, frame):
        shutdown_event.set()
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)

    info = {"port": api.server_address[1], "control_port": ctl.server_address[1],
            "pid": os.getpid(), "certs": os.path.abspath(a.certs)}
    if a.ready_file:
        write_atomic(a.ready_file + ".json", json.dumps(info) + "\n")
        write_atomic(a.ready_file, f"{info['port']}\n")  # last: its presence means "ready"
    if a.verbose:
        sys.stderr.write(f"fakeapi: listening {json.dumps(info)}\n")

    while not shutdown_event.wait(0.2):
        pass
    api.stopping.set()
    for s in (api, ctl):
        s.shutdown()
        s.server_close()
    if a.state_out:
        write_atomic(a.state_out, json.dumps(cluster.dump_state(), indent=2) + "\n")
    if cluster.log_fh:
        cluster.log_fh.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
