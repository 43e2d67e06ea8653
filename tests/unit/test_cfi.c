/* test_cfi.c - the .eh_frame reader the quick path walks the C runtime's
   frames with (common/af_cfi.c): on live stacks, every rule it gives must
   land on the frame libunwind steps to; frames it cannot describe (a frame
   pointer, alloca) must get no rule; and copies of a real module's tables,
   damaged byte by byte, must never make it read outside them. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <link.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#define UNW_LOCAL_ONLY
#include <libunwind.h>

#include "af_cfi.h"
#include "harness.h"

#define MAXF 64

struct frames {
	int n;
	uintptr_t ip[MAXF], sp[MAXF];
};

/* The rule for a caller frame's return address; -2: no module. */
static int rule_of(uintptr_t ra, int32_t *k, int32_t *ro)
{
	struct dl_find_object fo;
	if (_dl_find_object((void *)(ra - 1), &fo) != 0 || !fo.dlfo_eh_frame)
		return -2;
	uintptr_t lo, hi;
	if (af_cfi_segment((uintptr_t)fo.dlfo_map_start, fo.dlfo_link_map->l_addr, (uintptr_t)fo.dlfo_eh_frame,
			   &lo, &hi) < 0)
		return -2;
	return af_cfi_sp_rule((uintptr_t)fo.dlfo_eh_frame, lo, hi, ra - 1, k, ro);
}

static int in_module(uintptr_t pc, const char *name)
{
	Dl_info di;
	return dladdr((void *)pc, &di) && di.dli_fname && strstr(di.dli_fname, name);
}

/* Every frame of the stack at probe's caller, as libunwind steps. */
__attribute__((noinline)) static void capture(struct frames *f)
{
	unw_context_t uc;
	unw_cursor_t c;
	unw_getcontext(&uc);
	unw_init_local(&c, &uc);
	f->n = 0;
	do {
		unw_word_t ip, sp;
		unw_get_reg(&c, UNW_REG_IP, &ip);
		unw_get_reg(&c, UNW_REG_SP, &sp);
		f->ip[f->n] = ip;
		f->sp[f->n] = sp;
		f->n++;
	} while (f->n < MAXF && unw_step(&c) > 0);
}

/* Each frame above capture's: the rule, when there is one, must give
   the next frame's stack pointer and pc, and "outermost" (2) only the
   last frame libunwind gives. Returns how many had a rule; *in_libc counts
   those in libc; *last the last frame's answer. */
static int compare_last(const struct frames *f, int *in_libc, int *bad, int *last)
{
	int known = 0;
	*in_libc = 0;
	for (int i = 1; i < f->n; i++) {
		int32_t k = 0, ro = 0;
		int rc = rule_of(f->ip[i], &k, &ro);
		if (rc == -1)
			(*bad)++;
		if (i == f->n - 1)
			*last = rc;
		else if (rc == 2)
			(*bad)++;
		if (rc != 1 || i == f->n - 1)
			continue;
		known++;
		*in_libc += in_module(f->ip[i], "libc.so");
		int ok = f->sp[i] + (uintptr_t)k == f->sp[i + 1] &&
			 *(uintptr_t *)(f->sp[i] + (uintptr_t)k + (intptr_t)ro) == f->ip[i + 1];
		if (!ok) {
			(*bad)++;
			Dl_info di;
			dladdr((void *)f->ip[i], &di);
			printf("    frame %d %s+0x%lx: cfa sp+%d, ra at cfa%d; libunwind: sp+%ld\n", i,
			       di.dli_fname ? di.dli_fname : "?",
			       (unsigned long)(f->ip[i] - (uintptr_t)di.dli_fbase), k, ro,
			       (long)(f->sp[i + 1] - f->sp[i]));
		}
	}
	return known;
}

static int compare(const struct frames *f, int *in_libc, int *bad)
{
	int last;
	return compare_last(f, in_libc, bad, &last);
}

/* compared where captured: the rules read the live stack */
static struct frames got;
static int got_known, got_libc, got_bad;

/* called by qsort, so libc's frames lie between it and the test */
static int by_value(const void *a, const void *b)
{
	static int once;
	if (!once++) {
		capture(&got);
		got_known = compare(&got, &got_libc, &got_bad);
	}
	return *(const int *)a - *(const int *)b;
}

static void test_libc_frames(void)
{
	int v[64];
	for (int i = 0; i < 64; i++)
		v[i] = (i * 37) % 64;
	qsort(v, 64, sizeof *v, by_value);
	CHECK_EQ(got_bad, 0);
	CHECK(got_known >= 2);
	CHECK(got_libc >= 1); /* qsort's own frames: Debian builds libc without a frame pointer */
}

/* A frame without a frame pointer (a rule), and one that needs it
   (alloca: the CFA is rbp-based, no rule). */
static volatile size_t vla_n = 64;
static struct frames own;
static int own_known, own_bad;

__attribute__((noinline, optimize("omit-frame-pointer"))) static void no_fp(void)
{
	int libc;
	capture(&own);
	own_known = compare(&own, &libc, &own_bad);
	__asm__ volatile("" ::: "memory");
}

__attribute__((noinline)) static void with_fp(void)
{
	char *p = alloca(vla_n);
	memset(p, 1, vla_n);
	no_fp();
	__asm__ volatile("" ::"r"(p) : "memory");
}

__attribute__((noinline, optimize("omit-frame-pointer"))) static void sp_frame(int depth)
{
	if (depth == 0) {
		with_fp();
		return;
	}
	sp_frame(depth - 1);
	__asm__ volatile("" ::: "memory");
}

static void test_own_frames(void)
{
	sp_frame(3);
	/* own.ip[0] is in capture; [1] no_fp's return address, [2] with_fp's,
	   [3..6] sp_frame's four */
	int32_t k, ro;
	CHECK(own.n > 7);
	CHECK_EQ(rule_of(own.ip[1], &k, &ro), 1);
	CHECK_EQ(rule_of(own.ip[2], &k, &ro), 0); /* rbp-based CFA: no rule */
	for (int i = 3; i < 7; i++)
		CHECK_EQ(rule_of(own.ip[i], &k, &ro), 1);
	CHECK(own_known >= 5);
	CHECK_EQ(own_bad, 0);
}

/* Every return address of a recursion through frames without a frame
   pointer gets a rule (the recursion's frames are all alike). */
static int sp_known;
__attribute__((noinline, optimize("omit-frame-pointer"))) static void sp_rec(int depth)
{
	if (depth == 0) {
		struct frames f;
		capture(&f);
		int libc, bad = 0;
		sp_known = compare(&f, &libc, &bad) - (bad ? 1000 : 0);
		return;
	}
	sp_rec(depth - 1);
	__asm__ volatile("" ::: "memory");
}

static void test_recursion(void)
{
	sp_rec(5);
	CHECK(sp_known >= 5); /* sp_rec's five callers' frames */
}

/* The outermost frame, of the main thread (_start) and of a thread
   (clone3 in libc), says so. */
static int main_last = -9, thread_last = -9, outer_bad;
static int on_thread;

__attribute__((noinline)) static void *outermost(void *arg)
{
	struct frames f;
	int libc;
	capture(&f);
	compare_last(&f, &libc, &outer_bad, arg ? &thread_last : &main_last);
	return NULL;
}

static void test_outermost(void)
{
	outermost(NULL);
	pthread_t th;
	CHECK_EQ(pthread_create(&th, NULL, outermost, &on_thread), 0);
	pthread_join(th, NULL);
	CHECK_EQ(main_last, 2);
	CHECK_EQ(thread_last, 2);
	CHECK_EQ(outer_bad, 0);
}

/* A copy of libc's segment with the tables, between inaccessible pages:
   damaged tables must give answers, never a read outside. */
static void test_damaged_tables(void)
{
	struct dl_find_object fo;
	uintptr_t qs = (uintptr_t)dlsym(RTLD_DEFAULT, "qsort");
	CHECK(qs != 0 && _dl_find_object((void *)qs, &fo) == 0);
	uintptr_t lo, hi, hdr = (uintptr_t)fo.dlfo_eh_frame;
	CHECK_EQ(af_cfi_segment((uintptr_t)fo.dlfo_map_start, fo.dlfo_link_map->l_addr, hdr, &lo, &hi), 0);
	size_t len = hi - lo, pg = 4096, span = (len + pg - 1) / pg * pg;
	uint8_t *m = mmap(NULL, span + 2 * pg, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CHECK(m != MAP_FAILED);
	/* the copy ends exactly at the guard page above it */
	uint8_t *buf = m + pg + (span - len);
	CHECK_EQ(mprotect(m + pg, span, PROT_READ | PROT_WRITE), 0);
	memcpy(buf, (void *)lo, len);
	uintptr_t shift = (uintptr_t)buf - lo, chdr = hdr + shift;

	/* undamaged, the copy answers as the original for addresses in libc
	   (shifted as the copy is: its pointers are relative) */
	uintptr_t text = qs & ~(uintptr_t)0xfff;
	int same = 1, rules = 0;
	for (uintptr_t pc = text - 0x40000; pc < text + 0x40000; pc += 61) {
		int32_t k1 = 0, r1 = 0, k2 = 0, r2 = 0;
		int a = af_cfi_sp_rule(hdr, lo, hi, pc, &k1, &r1);
		int b = af_cfi_sp_rule(chdr, (uintptr_t)buf, (uintptr_t)buf + len, pc + shift, &k2, &r2);
		same &= a == b && k1 == k2 && r1 == r2;
		rules += a == 1;
	}
	CHECK(same);
	CHECK(rules > 100);

	/* damaged: each of the first 1024 bytes of .eh_frame_hdr in turn, then
	   random bytes from it to the end of the segment (.eh_frame), set to
	   values that push lengths and pointers out; asked for the functions
	   of the table's entries, the last ones most (their records lie at the
	   segment's end); only the return value may change */
	int32_t count;
	memcpy(&count, (void *)(hdr + 8), 4); /* hdr: 4 bytes, eh_frame_ptr, count (sdata4/udata4) */
	CHECK(count > 100);
	const uint8_t *table = (const uint8_t *)hdr + 12;
	unsigned seed = 12345;
	long asked = 0;
	for (int round = 0; round < 3000; round++) {
		memcpy(buf, (void *)lo, len);
		for (int j = 0; j < 1 + round % 8; j++) {
			seed = seed * 1103515245u + 12345u;
			size_t at = (round < 1024 && j == 0) ? (hdr - lo) + (size_t)round
							      : (hdr - lo) + (seed >> 4) % (len - (hdr - lo));
			static const uint8_t vals[] = {0xff, 0x00, 0x7f, 0x80, 0x3b, 0x1b, 0x0f, 0x0a, 0x0b};
			buf[at] = vals[(seed >> 20) % sizeof vals] ^ (uint8_t)(round & 1 ? (seed >> 8) : 0);
		}
		for (int q = 0; q < 16; q++) {
			seed = seed * 1103515245u + 12345u;
			int32_t e = q < 8 ? count - 1 - (int32_t)((seed >> 8) % 64) : (int32_t)((seed >> 8) % (unsigned)count);
			int32_t start;
			memcpy(&start, table + (size_t)e * 8, 4);
			uintptr_t pc = hdr + (intptr_t)start + (seed >> 24) % 64 + shift;
			int32_t k, ro;
			int rc = af_cfi_sp_rule(chdr, (uintptr_t)buf, (uintptr_t)buf + len, pc, &k, &ro);
			CHECK(rc >= -1 && rc <= 2);
			asked++;
		}
	}
	CHECK_EQ(asked, 3000 * 16);
	munmap(m, span + 2 * pg);
}

int main(void)
{
	const struct h_test tests[] = {
	    T(test_libc_frames),
	    T(test_own_frames),
	    T(test_recursion),
	    T(test_outermost),
	    T(test_damaged_tables),
	};
	return h_run(tests, sizeof tests / sizeof *tests);
}
