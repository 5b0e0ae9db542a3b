/* SPDX-License-Identifier: Apache-2.0 */
/*
 * admission: the admission guard of an agent namespace, with
 * spec.admission.writers in the profile.
 *
 * A ValidatingAdmissionPolicy (admissionregistration.k8s.io/v1) and its
 * binding to the namespace. In the namespace, only the writers may create,
 * change or delete NetworkPolicies and CiliumNetworkPolicies, create a Pod
 * with an agentfence.dev/ label or change such a label, or write the
 * ServiceAccount ADMISSION_SA; and no one, writers included, may add
 * ephemeral containers to an agent Pod or give it a projected
 * service-account token volume (which a credential-injecting mutating
 * webhook would add before validation).
 *
 * The builders fill the spec of an object whose apiVersion, kind and
 * metadata build.c has set (one place for the guard objects' metadata).
 *
 * Ownership: nodes live in the arena passed in; the profile is borrowed.
 */
#ifndef AGENTFENCE_ADMISSION_H
#define AGENTFENCE_ADMISSION_H

#include "arena.h"
#include "build.h"
#include "node.h"
#include "profile.h"

#define ADMISSION_API "admissionregistration.k8s.io/v1"
#define ADMISSION_SA AGENT_SERVICE_ACCOUNT

/* "agentfence-admission.<ns>", both objects' name, into out (256 bytes). */
void admission_name(char *out, const char *ns);
/* The policy's spec into obj. 0, or -1 when out of memory. */
int admission_policy(struct arena *a, const struct profile *p, const char *ns, struct node *obj);
/* The binding's spec into obj. 0, or -1 when out of memory. */
int admission_binding(struct arena *a, const char *ns, struct node *obj);

#endif
