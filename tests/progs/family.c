/* family.c - every malloc-family entry point, checked for the behaviour
   glibc documents: alignment, usable size, zeroing, overflow, errno.
   Prints one line per failed check; exits 0 when all pass. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <malloc.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>


static int failures, checks;
#define CHECK(c)                                                                  \
	do {                                                                      \
		checks++;                                                         \
		if (!(c)) {                                                       \
			failures++;                                               \
			printf("FAIL %s:%d: %s\n", __FILE__, __LINE__, #c);       \
		}                                                                 \
	} while (0)

static int aligned(void *p, size_t a)
{
	return ((uintptr_t)p & (a - 1)) == 0;
}

static int zero(const unsigned char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i])
			return 0;
	return 1;
}

int main(void)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	void *volatile p;
	/* malloc */
	for (size_t n = 0; n < 70000; n = n < 40 ? n + 1 : n * 2 + 1) {
		p = malloc(n);
		CHECK(p != NULL);
		CHECK(aligned(p, 16));
		CHECK(malloc_usable_size(p) >= n);
		memset(p, 0xab, n);
		free(p);
	}
	p = malloc(0);
	CHECK(p != NULL); /* glibc: a unique pointer */
	free(p);
	free(NULL);
	/* free preserves errno */
	p = malloc(100);
	errno = 12345;
	free(p);
	CHECK(errno == 12345);
	/* cfree is a compat symbol in glibc >= 2.26: look it up the way a
	   program linked against an old glibc would reach it */
	void (*cf)(void *) = (void (*)(void *))dlsym(RTLD_DEFAULT, "cfree");
	printf("cfree %s\n", cf ? "present" : "absent");
	if (cf) {
		errno = 777;
		cf(malloc(10));
		CHECK(errno == 777);
	}
	/* calloc zeroes, and overflows cleanly */
	for (size_t n = 1; n < 1 << 20; n *= 3) {
		unsigned char *q = malloc(n);
		memset(q, 0xff, n);
		free(q);
		q = calloc(n, 1);
		CHECK(q && zero(q, n));
		free(q);
	}
	errno = 0;
	p = calloc(SIZE_MAX / 2, 3);
	CHECK(p == NULL && errno == ENOMEM);
	errno = 0;
	p = calloc((size_t)1 << 40, (size_t)1 << 40);
	CHECK(p == NULL && errno == ENOMEM);
	/* realloc */
	char *s = realloc(NULL, 10);
	CHECK(s != NULL);
	strcpy(s, "abcdefghi");
	s = realloc(s, 100000);
	CHECK(s && strcmp(s, "abcdefghi") == 0);
	s = realloc(s, 5);
	CHECK(s && memcmp(s, "abcde", 5) == 0);
	errno = 0;
	void *big = realloc(s, SIZE_MAX - 4096);
	CHECK(big == NULL && errno == ENOMEM && memcmp(s, "abcde", 5) == 0);
	CHECK(realloc(s, 0) == NULL); /* glibc: frees, returns NULL */
	/* reallocarray */
	int *v = reallocarray(NULL, 10, sizeof(int));
	CHECK(v != NULL);
	for (int i = 0; i < 10; i++)
		v[i] = i;
	errno = 0;
	CHECK(reallocarray(v, SIZE_MAX / 2, 4) == NULL && errno == ENOMEM);
	CHECK(v[9] == 9);
	v = reallocarray(v, 1000, sizeof(int));
	CHECK(v && v[9] == 9);
	free(v);
	/* posix_memalign */
	for (size_t a = sizeof(void *); a <= 65536; a *= 2) {
		void *q = NULL;
		CHECK(posix_memalign(&q, a, 100) == 0 && q && aligned(q, a));
		CHECK(malloc_usable_size(q) >= 100);
		free(q);
	}
	void *q = (void *)1;
	CHECK(posix_memalign(&q, 3, 100) == EINVAL && q == (void *)1);
	CHECK(posix_memalign(&q, 4, 100) == EINVAL); /* below sizeof(void *) */
	CHECK(posix_memalign(&q, 64, SIZE_MAX - 100) == ENOMEM);
	/* aligned_alloc, memalign: glibc 2.36 rounds a non-power-of-two up */
	for (size_t a = 1; a <= 8192; a *= 2) {
		q = aligned_alloc(a, 3 * a);
		CHECK(q && aligned(q, a) && malloc_usable_size(q) >= 3 * a);
		free(q);
		q = memalign(a, 77);
		CHECK(q && aligned(q, a) && malloc_usable_size(q) >= 77);
		free(q);
	}
	q = memalign(48, 10);
	CHECK(q && aligned(q, 64));
	free(q);
	errno = 0;
	CHECK(memalign(((size_t)1 << 63) + 1, 10) == NULL && errno == EINVAL);
	/* an alignment no address space has room for: ENOMEM at once, not a
	   10-byte "small" request retried (its class counts its alignment) */
	errno = 0;
	q = memalign((size_t)1 << 50, 10);
	CHECK(q == NULL && errno == ENOMEM);
	errno = 0;
	CHECK(posix_memalign(&q, (size_t)1 << 50, 10) == ENOMEM);
	/* valloc, pvalloc */
	q = valloc(10);
	CHECK(q && aligned(q, page) && malloc_usable_size(q) >= 10);
	free(q);
	q = pvalloc(10);
	CHECK(q && aligned(q, page) && malloc_usable_size(q) >= page);
	free(q);
	q = pvalloc(0); /* glibc: page-aligned, size not specified */
	CHECK(q && aligned(q, page));
	free(q);
	errno = 0;
	CHECK(pvalloc(SIZE_MAX - 10) == NULL && errno == ENOMEM);
	/* malloc_usable_size(NULL) */
	CHECK(malloc_usable_size(NULL) == 0);
	/* a huge malloc fails with ENOMEM */
	errno = 0;
	CHECK(malloc(SIZE_MAX - 1000) == NULL && errno == ENOMEM);
	printf("%d checks, %d failed\n", checks, failures);
	return failures != 0;
}
