/* SPDX-License-Identifier: Apache-2.0 */
/*
 * replay: feed files to a fuzz target without libFuzzer, so any compiler
 * (and valgrind) can run the saved corpus and every crash found.
 *
 *     replay FILE|DIR...
 *
 * Each file, and each regular file of each folder, is one input. Exit 0
 * when every input ran; a broken invariant aborts.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fuzz.h"

static int
run_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	unsigned char *p = NULL, *q;
	size_t n = 0, cap = 0, got;

	if (!f) {
		perror(path);
		return -1;
	}
	do {
		if (cap - n < 65536) {
			cap = cap ? cap * 2 : 65536;
			if (!(q = realloc(p, cap))) {
				fclose(f);
				free(p);
				fprintf(stderr, "%s: out of memory\n", path);
				return -1;
			}
			p = q;
		}
		got = fread(p + n, 1, cap - n, f);
		n += got;
	} while (got > 0);
	if (ferror(f)) {
		perror(path);
		fclose(f);
		free(p);
		return -1;
	}
	fclose(f);
	/* an exact-size copy: ASan then sees a read one past the input */
	q = malloc(n ? n : 1);
	if (!q) {
		free(p);
		return -1;
	}
	if (n)
		memcpy(q, p, n);
	free(p);
	LLVMFuzzerTestOneInput(q, n);
	free(q);
	return 0;
}

int
main(int argc, char **argv)
{
	size_t runs = 0;
	int bad = 0;

	for (int i = 1; i < argc; i++) {
		struct stat st;
		DIR *dp;
		struct dirent *e;

		if (stat(argv[i], &st) < 0) {
			perror(argv[i]);
			bad = 1;
			continue;
		}
		if (!S_ISDIR(st.st_mode)) {
			bad |= run_file(argv[i]) < 0;
			runs++;
			continue;
		}
		if (!(dp = opendir(argv[i]))) {
			perror(argv[i]);
			bad = 1;
			continue;
		}
		while ((e = readdir(dp)) != NULL) {
			char path[4096];

			if (e->d_name[0] == '.')
				continue;
			snprintf(path, sizeof(path), "%s/%s", argv[i], e->d_name);
			if (stat(path, &st) < 0 || !S_ISREG(st.st_mode))
				continue;
			bad |= run_file(path) < 0;
			runs++;
		}
		closedir(dp);
	}
	printf("replay: %zu inputs\n", runs);
	return bad;
}
