/* af_backend.c - where memory really comes from.
   jemalloc: Debian's libjemalloc_pic.a with every public symbol renamed to
   afje_* at build time (shim/jemalloc-rename.sh) and hidden by the version
   script, so its malloc/free never land in the process's global scope. The
   plain malloc/calloc/realloc/free are jemalloc's fastest paths; mallocx
   serves alignment and sallocx usable sizes.
   next: the allocator after the shim in symbol lookup (glibc, or the ASan
   runtime), found with dlsym(RTLD_NEXT); dlsym's own allocations are served
   from a static bootstrap pool whose blocks are never freed. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <malloc.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "af_fmt.h"

#include "af.h"

void *afje_malloc(size_t n);
void *afje_calloc(size_t n, size_t m);
void *afje_realloc(void *p, size_t n);
void afje_free(void *p);
void *afje_mallocx(size_t n, int flags);
size_t afje_sallocx(const void *p, int flags);
int afje_mallctl(const char *name, void *oldp, size_t *oldlenp, void *newp, size_t newlen);

#define AFJE_ALIGN(a) ((int)(ffsll((long long)(a)) - 1))
#define AFJE_ZERO 0x40

static int backend = AF_BE_JEMALLOC;

static void *(*next_malloc)(size_t);
static void *(*next_calloc)(size_t, size_t);
static void *(*next_realloc)(void *, size_t);
static void (*next_free)(void *);
static int (*next_posix_memalign)(void **, size_t, size_t);
static size_t (*next_usable)(void *);
static int (*next_trim)(size_t);
static struct mallinfo2 (*next_mallinfo2)(void);

/* ---- bootstrap pool for dlsym --------------------------------------- */

#define POOL_SIZE (256 * 1024)
static _Alignas(64) unsigned char pool[POOL_SIZE];
static _Atomic size_t pool_used;

struct pool_hdr {
	size_t size;
	size_t pad;
};

static void *pool_alloc(size_t n, size_t align)
{
	if (align < 16)
		align = 16;
	size_t need = n + sizeof(struct pool_hdr) + align;
	size_t off = atomic_fetch_add(&pool_used, (need + 15) & ~(size_t)15);
	if (off + need > POOL_SIZE)
		return NULL;
	uintptr_t base = (uintptr_t)pool + off + sizeof(struct pool_hdr);
	uintptr_t p = (base + align - 1) & ~(uintptr_t)(align - 1);
	((struct pool_hdr *)p)[-1].size = n;
	return (void *)p; /* static storage: already zero */
}

int af_be_owns_bootstrap(void *p)
{
	return (unsigned char *)p >= pool && (unsigned char *)p < pool + POOL_SIZE;
}

static void *resolve(const char *name, int required)
{
	void *f = dlsym(RTLD_NEXT, name);
	if (!f && required) {
		af_say(2, "ALLOCFAIL_BACKEND=next: no next definition of %s in the process", name);
		_exit(125);
	}
	return f;
}

void af_backend_init(int which)
{
	backend = which;
	if (which != AF_BE_NEXT)
		return;
	next_malloc = resolve("malloc", 1);
	next_calloc = resolve("calloc", 1);
	next_realloc = resolve("realloc", 1);
	next_free = resolve("free", 1);
	next_posix_memalign = resolve("posix_memalign", 1);
	next_usable = resolve("malloc_usable_size", 1);
	next_trim = resolve("malloc_trim", 0);
	next_mallinfo2 = resolve("mallinfo2", 0);
}

/* ---- the program's memory --------------------------------------------- */

/* glibc aligns every block to 16 bytes on x86-64, and programs rely on it
   (pointer tagging in the low bits, SSE); jemalloc's smallest class is 8
   bytes with 8-byte alignment, so tiny requests are rounded up. */
static inline size_t min16(size_t n)
{
	return n < 16 ? 16 : n;
}

void *af_be_malloc(size_t n)
{
	if (AF_LIKELY(backend == AF_BE_JEMALLOC))
		return afje_malloc(min16(n));
	if (AF_UNLIKELY(!next_malloc))
		return pool_alloc(n, 16);
	return next_malloc(n);
}

void *af_be_calloc(size_t n)
{
	if (AF_LIKELY(backend == AF_BE_JEMALLOC))
		return afje_calloc(1, min16(n));
	if (AF_UNLIKELY(!next_calloc))
		return pool_alloc(n, 16);
	return next_calloc(1, n);
}

void *af_be_aligned(size_t align, size_t n)
{
	if (n == 0)
		n = 1;
	if (backend == AF_BE_JEMALLOC)
		return afje_mallocx(n, AFJE_ALIGN(align));
	if (!next_posix_memalign)
		return pool_alloc(n, align);
	void *p = NULL;
	if (align < sizeof(void *))
		align = sizeof(void *);
	return next_posix_memalign(&p, align, n) == 0 ? p : NULL;
}

void *af_be_realloc(void *p, size_t n)
{
	if (AF_LIKELY(backend == AF_BE_JEMALLOC))
		return afje_realloc(p, min16(n));
	if (AF_UNLIKELY(af_be_owns_bootstrap(p))) {
		void *q = af_be_malloc(n);
		if (q) {
			size_t old = ((struct pool_hdr *)p)[-1].size;
			memcpy(q, p, old < n ? old : n);
		}
		return q;
	}
	return next_realloc(p, n);
}

void af_be_free(void *p)
{
	if (AF_LIKELY(backend == AF_BE_JEMALLOC)) {
		afje_free(p);
		return;
	}
	if (AF_UNLIKELY(af_be_owns_bootstrap(p)))
		return;
	next_free(p);
}

size_t af_be_usable(void *p)
{
	if (AF_LIKELY(backend == AF_BE_JEMALLOC))
		return afje_sallocx(p, 0);
	if (af_be_owns_bootstrap(p))
		return ((struct pool_hdr *)p)[-1].size;
	return next_usable(p);
}

void af_be_purge(void)
{
	if (backend == AF_BE_JEMALLOC)
		afje_mallctl("arena.4096.purge", NULL, NULL, NULL, 0);
	else if (next_trim)
		next_trim(0);
}

uint64_t af_be_allocated(void)
{
	if (backend == AF_BE_JEMALLOC) {
		uint64_t epoch = 1;
		size_t sz = sizeof epoch;
		afje_mallctl("epoch", &epoch, &sz, &epoch, sz);
		size_t allocated = 0;
		sz = sizeof allocated;
		if (afje_mallctl("stats.allocated", &allocated, &sz, NULL, 0) == 0)
			return allocated;
		return 0;
	}
	if (next_mallinfo2)
		return next_mallinfo2().uordblks;
	return 0;
}

/* ---- the shim's own memory -------------------------------------------- */

void *af_imalloc(size_t n)
{
	return afje_calloc(1, n ? n : 1);
}

void af_ifree(void *p)
{
	if (p)
		afje_free(p);
}

void *af_mem_alloc(size_t n)
{
	return af_imalloc(n);
}

void af_mem_free(void *p)
{
	af_ifree(p);
}
