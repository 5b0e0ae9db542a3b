/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fuzz_kubeconfig: the kubeconfig reader on arbitrary bytes.
 *
 * The input is written as the only file of a private folder and read with
 * kubeconfig_load(--kubeconfig FILE), so every relative file it names
 * resolves inside that empty folder. Invariants: nothing crashes or
 * leaks; a load that succeeds has a server; a token that was read never
 * shows up in a diagnostic (secrets are never printed). The same bytes
 * also go through the strict base64 decoder of the *-data fields.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "diag.h"
#include "fuzz.h"
#include "kubeconfig.h"

static char dir[64], path[96];

static void
cleanup(void)
{
	unlink(path);
	rmdir(dir);
}

static void
check_no_secret(const struct diags *d, const char *secret)
{
	if (!secret || strlen(secret) < 8)
		return;   /* too short to tell a leak from a coincidence */
	for (size_t i = 0; i < d->n; i++)
		FUZZ_CHECK(!strstr(d->items[i].msg, secret));
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct kubeconfig kc;
	struct kubeconfig_blob b;
	struct diags d = DIAGS_INIT;
	FILE *f;
	int rc;

	if (!dir[0]) {
		strcpy(dir, "/tmp/fuzz_kubeconfig.XXXXXX");
		FUZZ_CHECK(mkdtemp(dir) != NULL);
		snprintf(path, sizeof(path), "%s/config", dir);
		atexit(cleanup);
	}
	if (kubeconfig_base64_decode((const char *)data, size, &b) == 0) {
		FUZZ_CHECK(b.p != NULL && b.n <= size);
		free(b.p);
	}
	FUZZ_CHECK((f = fopen(path, "wb")) != NULL);
	FUZZ_CHECK(fwrite(data, 1, size, f) == size && fclose(f) == 0);
	chmod(path, 0600);

	rc = kubeconfig_load(&kc, path, NULL, &d);
	FUZZ_CHECK(rc == 0 || d.errors > 0);
	if (rc == 0) {
		FUZZ_CHECK(kc.server != NULL);
		FUZZ_CHECK(kubeconfig_auth_kind(&kc) != NULL);
		check_no_secret(&d, kc.token);
	}
	kubeconfig_free(&kc);
	diags_free(&d);
	unlink(path);
	return 0;
}
