/* SPDX-License-Identifier: Apache-2.0 */
#include "sys.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "xalloc.h"

void
sys_wipe_free(void *p, size_t n)
{
	if (p) {
		explicit_bzero(p, n);
		free(p);
	}
}

int
sys_read_file(const char *path, size_t max, int flags, char **out, size_t *len,
	      struct stat *st)
{
	struct stat sb;
	char *p = NULL;
	size_t n = 0, cap = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC), err = 0;

	*out = NULL;
	*len = 0;
	if (fd < 0)
		return -1;
	if (fstat(fd, &sb) < 0) {
		err = errno;
		goto fail;
	}
	if (st)
		*st = sb;
	for (;;) {
		ssize_t r;

		if (n == cap) {
			/* a regular file's size first: one read; then doubling */
			size_t ncap = !cap && S_ISREG(sb.st_mode) && (size_t)sb.st_size < max
				      ? (size_t)sb.st_size + 1 : cap ? cap * 2 : 4096;
			char *q;

			if (cap > max) {
				err = EFBIG;
				goto fail;
			}
			if (ncap > max + 1)
				ncap = max + 1;
			if (!(q = xmalloc(ncap + 1))) {
				err = ENOMEM;
				goto fail;
			}
			if (p) {
				memcpy(q, p, n);
				if (flags & SYS_SECRET)
					sys_wipe_free(p, n);
				else
					free(p);
			}
			p = q;
			cap = ncap;
		}
		r = read(fd, p + n, cap - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			err = errno;
			goto fail;
		}
		if (r == 0)
			break;
		n += (size_t)r;
		if (n > max) {
			err = EFBIG;
			goto fail;
		}
	}
	close(fd);
	if (!p && !(p = xmalloc(1))) {
		errno = ENOMEM;
		return -1;
	}
	p[n] = '\0';
	*out = p;
	*len = n;
	return 0;
fail:
	if (flags & SYS_SECRET)
		sys_wipe_free(p, cap + 1);
	else
		free(p);
	close(fd);
	errno = err;
	return -1;
}

long
sys_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}
