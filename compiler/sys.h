/* SPDX-License-Identifier: Apache-2.0 */
/*
 * sys: the operating system's services used in more than one place, written
 * once: a whole file read into memory, and the monotonic clock.
 *
 * Ownership: sys_read_file's buffer belongs to the caller (free(), or
 * sys_wipe_free() for a secret).
 */
#ifndef AGENTFENCE_SYS_H
#define AGENTFENCE_SYS_H

#include <stddef.h>
#include <sys/stat.h>

/* a secret: every buffer that held the bytes is wiped before it is freed */
#define SYS_SECRET 1

/*
 * Read the whole file at `path`, at most `max` bytes, into a new buffer
 * with a NUL after the last byte. Returns 0 with *out and *len set (and
 * *st, when not NULL, the open file's fstat), or -1 with errno set: ENOENT
 * when it does not exist, EFBIG when it is larger than `max`, ENOMEM, or
 * the system's.
 */
int sys_read_file(const char *path, size_t max, int flags, char **out, size_t *len,
		  struct stat *st);

/* explicit_bzero the n bytes at p, then free p (NULL is fine). */
void sys_wipe_free(void *p, size_t n);

/* The monotonic clock in milliseconds (for timeouts and progress). */
long sys_now_ms(void);

#endif
