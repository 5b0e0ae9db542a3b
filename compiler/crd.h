/* SPDX-License-Identifier: Apache-2.0 */
/*
 * crd: the CustomResourceDefinitions (apiextensions.k8s.io/v1) of
 * AgentIsolation (namespaced: an agent runs in a namespace) and
 * ClusterProfile (cluster-scoped: it describes the whole cluster), group
 * agentfence.dev, version v1alpha1.
 *
 * Their openAPIV3Schema is generated from schema/NAME.schema.json (embedded
 * at build time) by crd_schema(): a JSON Schema (draft 2020-12) to
 * structural OpenAPI v3 conversion, rules in crd.c.
 *
 * Ownership: crd_schema returns a new reference (json_decref it);
 * crd_write appends to the caller's buffer.
 */
#ifndef AGENTFENCE_CRD_H
#define AGENTFENCE_CRD_H

#include <jansson.h>

#include "buf.h"

/* The structural schema for a JSON Schema document; NULL when out of
 * memory or when the input is not a schema this converter knows. */
json_t *crd_schema(const json_t *json_schema);

/* Both CRDs as a YAML stream ("---" before each document), or with json
 * a v1 List. Returns 0, or -1 (out of memory, or an embedded schema that
 * does not parse). */
int crd_write(struct buf *out, int json);

#endif
