// SPDX-License-Identifier: Apache-2.0
// An admission engine for ValidatingAdmissionPolicy + Binding
// (admissionregistration.k8s.io/v1), written from the API reference, with
// a real CEL evaluator (@bufbuild/cel) for the expressions.
//
//   node admit.mjs < {"objects": [...], "requests": [...]}
//
// objects: the policies and bindings (other kinds are ignored). requests:
// {id, operation, group, version, resource, subResource, namespace,
// namespaceObject, name, username, groups, object, oldObject}. Writes, per
// request, {id, allowed, denials: [{policy, message, error?}]}.
//
// What it implements (and what it refuses to guess: it throws):
// - a binding applies its policy (policyName) when its matchResources
//   namespaceSelector (matchLabels, matchExpressions) selects the request's
//   namespace; its resourceRules, when present, must match too;
// - a policy sees the request when one matchConstraints.resourceRules entry
//   matches: apiGroups, apiVersions, operations ("*" wildcards), resources
//   ("res", "res/sub", "*", "res/*", "*/sub", "*/*"), scope
//   (Namespaced|Cluster|*), resourceNames; excludeResourceRules,
//   matchConditions, paramKind and selectors in matchConstraints are
//   refused;
// - variables (in order, each seeing the ones before), then every
//   validation: true passes, false denies with its message, an error or a
//   non-boolean counts as a failure, which failurePolicy Fail (the default)
//   turns into a denial and Ignore into a pass;
// - validationActions: only Deny is implemented.
// `object` is null on DELETE, `oldObject` on CREATE, as the API server binds
// them. A variable that fails to evaluate is reported as an error of the
// request (stricter than the API server, which evaluates them lazily).
import { run } from "@bufbuild/cel";
import { readFileSync } from "node:fs";

function toCel(v) {
	if (Array.isArray(v)) return v.map(toCel);
	if (v !== null && typeof v === "object")
		return new Map(Object.entries(v).map(([k, x]) => [k, toCel(x)]));
	if (typeof v === "number" && Number.isInteger(v)) return BigInt(v);
	return v;
}

function isCelError(v) {
	return v instanceof Error || (v && typeof v === "object" && v.constructor &&
		/Error/.test(v.constructor.name));
}

function selects(sel, labels) {
	if (sel === undefined || sel === null) return true;
	for (const k of Object.keys(sel)) {
		if (k !== "matchLabels" && k !== "matchExpressions")
			throw new Error(`label selector field ${k}`);
	}
	labels = labels || {};
	for (const [k, v] of Object.entries(sel.matchLabels || {}))
		if (labels[k] !== v) return false;
	for (const e of sel.matchExpressions || []) {
		const has = Object.prototype.hasOwnProperty.call(labels, e.key);
		switch (e.operator) {
		case "In": if (!has || !e.values.includes(labels[e.key])) return false; break;
		case "NotIn": if (has && e.values.includes(labels[e.key])) return false; break;
		case "Exists": if (!has) return false; break;
		case "DoesNotExist": if (has) return false; break;
		default: throw new Error(`selector operator ${e.operator}`);
		}
	}
	return true;
}

const star = (list, v) => (list || []).includes("*") || (list || []).includes(v);

function resourceMatches(list, res, sub) {
	const full = sub ? `${res}/${sub}` : res;
	for (const r of list || []) {
		if (r === "*/*" || r === full) return true;
		if (r === "*" && !sub) return true;
		const [a, b] = r.split("/");
		if (b !== undefined && sub && ((a === res && b === "*") || (a === "*" && b === sub)))
			return true;
	}
	return false;
}

function ruleMatches(rule, q) {
	for (const k of Object.keys(rule))
		if (!["apiGroups", "apiVersions", "operations", "resources", "scope",
			"resourceNames"].includes(k))
			throw new Error(`rule field ${k}`);
	const scope = rule.scope || "*";
	if (scope === "Namespaced" && !q.namespace) return false;
	if (scope === "Cluster" && q.namespace) return false;
	if (rule.resourceNames && rule.resourceNames.length && !rule.resourceNames.includes(q.name))
		return false;
	return star(rule.apiGroups, q.group) && star(rule.apiVersions, q.version) &&
		star(rule.operations, q.operation) && resourceMatches(rule.resources, q.resource, q.subResource);
}

function policyMatches(policy, q) {
	const mc = policy.spec.matchConstraints || {};
	for (const k of Object.keys(mc))
		if (!["resourceRules", "matchPolicy"].includes(k))
			throw new Error(`matchConstraints.${k} is not implemented`);
	for (const k of ["matchConditions", "paramKind"])
		if (policy.spec[k]) throw new Error(`spec.${k} is not implemented`);
	return (mc.resourceRules || []).some((r) => ruleMatches(r, q));
}

function bindingMatches(binding, q) {
	const mr = binding.spec.matchResources || {};
	for (const k of Object.keys(mr))
		if (!["namespaceSelector", "objectSelector", "resourceRules", "matchPolicy"].includes(k))
			throw new Error(`binding matchResources.${k} is not implemented`);
	const nsLabels = q.namespaceObject ? (q.namespaceObject.metadata || {}).labels : null;
	if (q.namespace && !selects(mr.namespaceSelector, nsLabels)) return false;
	const objLabels = ((q.object || q.oldObject || {}).metadata || {}).labels;
	if (!selects(mr.objectSelector, objLabels)) return false;
	if (mr.resourceRules && !mr.resourceRules.some((r) => ruleMatches(r, q))) return false;
	return true;
}

function evaluate(policy, q) {
	const request = {
		kind: { group: q.group, version: q.version, kind: q.kind || "" },
		resource: { group: q.group, version: q.version, resource: q.resource },
		subResource: q.subResource || "",
		name: q.name || "",
		namespace: q.namespace || "",
		operation: q.operation,
		userInfo: { username: q.username, groups: q.groups || [] },
		dryRun: false,
	};
	const vars = new Map();
	const env = {
		object: q.operation === "DELETE" ? null : toCel(q.object),
		oldObject: q.operation === "CREATE" ? null : toCel(q.oldObject),
		request: toCel(request),
		namespaceObject: q.namespace ? toCel(q.namespaceObject) : null,
		params: null,
		variables: vars,
	};
	const denials = [];
	const errors = [];
	for (const v of policy.spec.variables || []) {
		const r = run(v.expression, env);
		if (isCelError(r)) {
			errors.push(`variable ${v.name}: ${r.message}`);
			continue;
		}
		vars.set(v.name, r);
	}
	const fail = (policy.spec.failurePolicy || "Fail") === "Fail";
	for (const val of policy.spec.validations || []) {
		let r;
		try {
			r = run(val.expression, env);
		} catch (e) {
			r = e;
		}
		if (r === true) continue;
		if (r === false) {
			denials.push({ policy: policy.metadata.name, message: val.message || val.expression,
				reason: val.reason || "Invalid" });
			continue;
		}
		const why = isCelError(r) ? r.message : `not a boolean: ${String(r)}`;
		if (fail)
			denials.push({ policy: policy.metadata.name, message: val.message || val.expression,
				error: why });
	}
	return { denials, errors };
}

const input = JSON.parse(readFileSync(0, "utf8"));
const policies = new Map();
const bindings = [];
for (const o of input.objects) {
	if (o.apiVersion !== "admissionregistration.k8s.io/v1") continue;
	if (o.kind === "ValidatingAdmissionPolicy") policies.set(o.metadata.name, o);
	if (o.kind === "ValidatingAdmissionPolicyBinding") bindings.push(o);
}
const out = [];
for (const q of input.requests) {
	const res = { id: q.id, denials: [], errors: [], policies: [] };
	for (const b of bindings) {
		for (const a of b.spec.validationActions || [])
			if (a !== "Deny") throw new Error(`validationAction ${a} is not implemented`);
		const p = policies.get(b.spec.policyName);
		if (!p || !bindingMatches(b, q) || !policyMatches(p, q)) continue;
		res.policies.push(p.metadata.name);
		const r = evaluate(p, q);
		res.denials.push(...r.denials);
		res.errors.push(...r.errors);
	}
	res.allowed = res.denials.length === 0;
	out.push(res);
}
process.stdout.write(JSON.stringify(out) + "\n");
