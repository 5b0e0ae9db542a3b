/* SPDX-License-Identifier: Apache-2.0 */
/*
 * sink: transactional output to stdout (see sink.h).
 */
#include "sink.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int
write_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t w = write(fd, p, n);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

static int
fail(struct sink *s, int err)
{
	if (!s->err)
		s->err = err ? err : EIO;
	return -1;
}

void
sink_open(struct sink *s, int fd)
{
	struct stat st, dn;

	s->fd = fd;
	s->mode = SINK_HOLD;
	if (fstat(fd, &st) < 0)
		return;
	if (S_ISREG(st.st_mode)) {
		int fl = fcntl(fd, F_GETFL);

		/* with O_APPEND (">>") writes go to the end, whatever the offset says */
		s->start = fl >= 0 && (fl & O_APPEND) ? st.st_size : lseek(fd, 0, SEEK_CUR);
		if (fl >= 0 && s->start >= 0)
			s->mode = SINK_FILE;
	} else if (S_ISCHR(st.st_mode) && stat("/dev/null", &dn) == 0 && st.st_rdev == dn.st_rdev) {
		s->mode = SINK_NULL;
	}
}

int
sink_flush(struct sink *s)
{
	int rc = s->err ? -1 : 0;

	if (rc == 0 && s->b.n && s->mode == SINK_FILE) {
		if (write_all(s->fd, s->b.p, s->b.n) < 0)
			rc = fail(s, errno);
	} else if (rc == 0 && s->b.n && s->mode == SINK_HOLD) {
		if ((!s->spill && !(s->spill = tmpfile())) ||
		    fwrite(s->b.p, 1, s->b.n, s->spill) != s->b.n)
			rc = fail(s, errno);
	}
	/* after an error too: the run fails anyway, and memory stays flat */
	s->b.n = 0;
	return rc;
}

int
sink_commit(struct sink *s)
{
	char chunk[1 << 16];
	size_t n;

	if (s->b.err)
		return fail(s, ENOMEM);
	if (sink_flush(s) < 0)
		return -1;
	if (s->mode != SINK_HOLD || !s->spill)
		return 0;
	errno = 0;
	if (fflush(s->spill) != 0 || fseek(s->spill, 0, SEEK_SET) != 0)
		return fail(s, errno);
	while ((n = fread(chunk, 1, sizeof(chunk), s->spill)) > 0)
		if (write_all(s->fd, chunk, n) < 0)
			return fail(s, errno);
	return ferror(s->spill) ? fail(s, errno) : 0;
}

int
sink_abort(struct sink *s)
{
	if (s->mode == SINK_FILE && s->start >= 0 &&
	    (ftruncate(s->fd, s->start) < 0 || lseek(s->fd, s->start, SEEK_SET) < 0))
		return -1;
	return 0;
}

void
sink_close(struct sink *s)
{
	if (s->spill)
		fclose(s->spill);
	s->spill = NULL;
	buf_free(&s->b);
}
