/*
 * curlload: libcurl, loaded on first use.
 *
 * Only apply and delete talk to a cluster. Linking libcurl (and its
 * thirty-odd dependencies) into every process cost each `compile` about
 * 4 ms of start-up and 6 MiB of memory, so the program is not linked
 * against it: these definitions of the libcurl functions kapi.c calls load
 * libcurl.so.4 with dlopen() the first time one is called and forward to
 * it. If libcurl is missing, curl_global_init() fails and kapi reports it.
 */
#define CURL_DISABLE_TYPECHECK   /* we define the functions the macros wrap */
#include <curl/curl.h>
#include <dlfcn.h>
#include <stdarg.h>
#include <stddef.h>

/*
 * Two checks misfire on this file: the "cloned" branches differ in the
 * type they read from the va_list, and DECLARE's `args` is a parameter list.
 */
/* NOLINTBEGIN(bugprone-branch-clone,bugprone-macro-parentheses) */

#define CURL_FUNCS(X)                                                                \
	X(CURLcode, curl_global_init, (long))                                        \
	X(void, curl_global_cleanup, (void))                                         \
	X(CURL *, curl_easy_init, (void))                                            \
	X(void, curl_easy_cleanup, (CURL *))                                         \
	X(CURLcode, curl_easy_setopt, (CURL *, CURLoption, ...))                     \
	X(CURLcode, curl_easy_getinfo, (CURL *, CURLINFO, ...))                      \
	X(const char *, curl_easy_strerror, (CURLcode))                              \
	X(CURLM *, curl_multi_init, (void))                                          \
	X(CURLMcode, curl_multi_cleanup, (CURLM *))                                  \
	X(CURLMcode, curl_multi_add_handle, (CURLM *, CURL *))                       \
	X(CURLMcode, curl_multi_remove_handle, (CURLM *, CURL *))                    \
	X(CURLMcode, curl_multi_perform, (CURLM *, int *))                           \
	X(CURLMcode, curl_multi_poll, (CURLM *, struct curl_waitfd *, unsigned int, int, int *)) \
	X(CURLMsg *, curl_multi_info_read, (CURLM *, int *))                         \
	X(CURLMcode, curl_multi_setopt, (CURLM *, CURLMoption, ...))                 \
	X(CURLSH *, curl_share_init, (void))                                         \
	X(CURLSHcode, curl_share_cleanup, (CURLSH *))                                \
	X(CURLSHcode, curl_share_setopt, (CURLSH *, CURLSHoption, ...))              \
	X(struct curl_slist *, curl_slist_append, (struct curl_slist *, const char *)) \
	X(void, curl_slist_free_all, (struct curl_slist *))

#define DECLARE(ret, name, args) static ret (*p_##name) args;
CURL_FUNCS(DECLARE)

static int loaded;   /* 0 not tried, 1 ok, -1 failed */

static int
load(void)
{
	void *h;

	if (loaded)
		return loaded;
	h = dlopen("libcurl.so.4", RTLD_NOW | RTLD_LOCAL);
	loaded = -1;
	if (!h)
		return loaded;
#define RESOLVE(ret, name, args) \
	if (!(*(void **)&p_##name = dlsym(h, #name))) \
		return loaded;
	CURL_FUNCS(RESOLVE)
	loaded = 1;
	return loaded;
}

/*
 * The variadic setters take one argument whose type the option number
 * says: below 10000 a long, from 30000 to 39999 a curl_off_t, else a
 * pointer (objects, callbacks, blobs).
 */
static int
is_long(long opt)
{
	return opt < CURLOPTTYPE_OBJECTPOINT;
}

static int
is_off_t(long opt)
{
	return opt >= CURLOPTTYPE_OFF_T && opt < CURLOPTTYPE_BLOB;
}

CURLcode
curl_global_init(long flags)
{
	return load() > 0 ? p_curl_global_init(flags) : CURLE_FAILED_INIT;
}

void
curl_global_cleanup(void)
{
	if (loaded > 0)
		p_curl_global_cleanup();
}

CURL *
curl_easy_init(void)
{
	return load() > 0 ? p_curl_easy_init() : NULL;
}

void
curl_easy_cleanup(CURL *e)
{
	if (loaded > 0)
		p_curl_easy_cleanup(e);
}

CURLcode
curl_easy_setopt(CURL *e, CURLoption opt, ...)
{
	va_list ap;
	CURLcode rc;

	if (load() <= 0)
		return CURLE_FAILED_INIT;
	va_start(ap, opt);
	/* the branches differ in the type read from the va_list */
	if (is_long(opt))
		rc = p_curl_easy_setopt(e, opt, va_arg(ap, long));
	else if (is_off_t(opt))
		rc = p_curl_easy_setopt(e, opt, va_arg(ap, curl_off_t));
	else
		rc = p_curl_easy_setopt(e, opt, va_arg(ap, void *));
	va_end(ap);
	return rc;
}

CURLcode
curl_easy_getinfo(CURL *e, CURLINFO info, ...)
{
	va_list ap;
	CURLcode rc;

	if (load() <= 0)
		return CURLE_FAILED_INIT;
	va_start(ap, info);
	rc = p_curl_easy_getinfo(e, info, va_arg(ap, void *));
	va_end(ap);
	return rc;
}

const char *
curl_easy_strerror(CURLcode c)
{
	return load() > 0 ? p_curl_easy_strerror(c) : "libcurl (libcurl.so.4) could not be loaded";
}

CURLM *
curl_multi_init(void)
{
	return load() > 0 ? p_curl_multi_init() : NULL;
}

CURLMcode
curl_multi_cleanup(CURLM *m)
{
	return loaded > 0 ? p_curl_multi_cleanup(m) : CURLM_OK;
}

CURLMcode
curl_multi_add_handle(CURLM *m, CURL *e)
{
	return load() > 0 ? p_curl_multi_add_handle(m, e) : CURLM_INTERNAL_ERROR;
}

CURLMcode
curl_multi_remove_handle(CURLM *m, CURL *e)
{
	return load() > 0 ? p_curl_multi_remove_handle(m, e) : CURLM_INTERNAL_ERROR;
}

CURLMcode
curl_multi_perform(CURLM *m, int *running)
{
	return load() > 0 ? p_curl_multi_perform(m, running) : CURLM_INTERNAL_ERROR;
}

CURLMcode
curl_multi_poll(CURLM *m, struct curl_waitfd *fds, unsigned int n, int ms, int *numfds)
{
	return load() > 0 ? p_curl_multi_poll(m, fds, n, ms, numfds) : CURLM_INTERNAL_ERROR;
}

CURLMsg *
curl_multi_info_read(CURLM *m, int *left)
{
	return load() > 0 ? p_curl_multi_info_read(m, left) : NULL;
}

CURLMcode
curl_multi_setopt(CURLM *m, CURLMoption opt, ...)
{
	va_list ap;
	CURLMcode rc;

	if (load() <= 0)
		return CURLM_INTERNAL_ERROR;
	va_start(ap, opt);
	/* the branches differ in the type read from the va_list */
	if (is_long(opt))
		rc = p_curl_multi_setopt(m, opt, va_arg(ap, long));
	else if (is_off_t(opt))
		rc = p_curl_multi_setopt(m, opt, va_arg(ap, curl_off_t));
	else
		rc = p_curl_multi_setopt(m, opt, va_arg(ap, void *));
	va_end(ap);
	return rc;
}

CURLSH *
curl_share_init(void)
{
	return load() > 0 ? p_curl_share_init() : NULL;
}

CURLSHcode
curl_share_cleanup(CURLSH *s)
{
	return loaded > 0 ? p_curl_share_cleanup(s) : CURLSHE_OK;
}

CURLSHcode
curl_share_setopt(CURLSH *s, CURLSHoption opt, ...)
{
	va_list ap;
	CURLSHcode rc;

	if (load() <= 0)
		return CURLSHE_NOT_BUILT_IN;
	va_start(ap, opt);
	/* CURLSHOPT_SHARE/UNSHARE take a curl_lock_data (an int, as libcurl
	 * reads it); the lock callbacks and user data are pointers */
	if (opt == CURLSHOPT_SHARE || opt == CURLSHOPT_UNSHARE)
		rc = p_curl_share_setopt(s, opt, va_arg(ap, int));
	else
		rc = p_curl_share_setopt(s, opt, va_arg(ap, void *));
	va_end(ap);
	return rc;
}

struct curl_slist *
curl_slist_append(struct curl_slist *l, const char *s)
{
	return load() > 0 ? p_curl_slist_append(l, s) : NULL;
}

void
curl_slist_free_all(struct curl_slist *l)
{
	if (loaded > 0)
		p_curl_slist_free_all(l);
}
/* NOLINTEND(bugprone-branch-clone,bugprone-macro-parentheses) */
