/* test_elf.c - the ELF symbol reader: a linear scan of a file's symbol
   tables (what the shim uses for its first few names) must give the same
   function, start and name as the sorted table, on real files. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <link.h>
#include <stdint.h>
#include <string.h>

#include "af_elf.h"
#include "harness.h"

/* A static function of this file: only .symtab knows its name. */
__attribute__((noinline)) static int local_probe(int x)
{
	return x * 3 + 1;
}

static int (*volatile keep)(int) = local_probe;

/* Both answers for vaddr; 1 if they agree. */
static int same(const struct af_symtab *t, const struct af_symscan *s, uint64_t vaddr, int *shown)
{
	const struct af_sym *a = af_symtab_find(t, vaddr);
	uint64_t start = 0;
	const char *b = af_symscan_find(s, vaddr, &start);
	int ok = (!a && !b) || (a && b && a->start == start && !strcmp(a->name, b));
	if (!ok && (*shown)++ < 5)
		printf("    0x%llx: table %s@0x%llx, scan %s@0x%llx\n", (unsigned long long)vaddr,
		       a ? a->name : "-", a ? (unsigned long long)a->start : 0ull, b ? b : "-",
		       (unsigned long long)start);
	return ok;
}

/* Probes every function's edges and middle and the gaps around them;
   returns how many addresses were compared. */
static long compare_file(const char *path)
{
	struct af_symscan s;
	if (af_symscan_open(path, &s) != 0) {
		printf("    cannot open %s\n", path);
		h_failed++;
		return 0;
	}
	struct af_symtab *t = af_symtab_build(&s);
	CHECK(t != NULL);
	if (!t)
		return 0;
	long n = 0;
	int bad = 0, shown = 0;
	for (int i = 0; i < t->n; i++) {
		const struct af_sym *x = &t->v[i];
		uint64_t probes[] = {x->start - 1, x->start, x->start + 1, x->start + (x->end - x->start) / 2,
				     x->end - 1, x->end, x->end + 7};
		for (size_t k = 0; k < sizeof probes / sizeof *probes; k++, n++)
			bad += !same(t, &s, probes[k], &shown);
	}
	bad += !same(t, &s, 0, &shown);
	bad += !same(t, &s, UINT64_MAX / 2, &shown);
	if (bad)
		printf("    %s: %d of %ld addresses differ\n", path, bad, n);
	CHECK_EQ(bad, 0);
	return n;
}

static const char *module_of(void *addr, uint64_t *vaddr)
{
	Dl_info info;
	struct link_map *lm = NULL;
	if (!dladdr1(addr, &info, (void **)&lm, RTLD_DL_LINKMAP) || !lm)
		return NULL;
	*vaddr = (uint64_t)((uintptr_t)addr - lm->l_addr);
	return lm->l_name && lm->l_name[0] ? lm->l_name : "/proc/self/exe";
}

static void test_scan_equals_table(void)
{
	uint64_t v;
	void *hm = dlopen("libm.so.6", RTLD_NOW);
	void *log1p_fn = hm ? dlsym(hm, "log1p") : NULL;
	const char *libc = module_of((void *)strdup, &v), *libm = log1p_fn ? module_of(log1p_fn, &v) : NULL;
	CHECK(libc != NULL);
	CHECK(libm != NULL);
	/* libc: thousands of functions, many aliases (.dynsym, or the debug
	   file's .symtab where libc6-dbg is installed) */
	CHECK(compare_file(libc) > 5000);
	if (libm)
		CHECK(compare_file(libm) > 1000);
	/* this program: a .symtab with static functions */
	CHECK(compare_file("/proc/self/exe") > 50);
}

static void test_known_names(void)
{
	uint64_t vaddr, start;
	struct af_symscan s;
	/* the public spelling among libc's aliases (strdup, not __strdup) */
	const char *libc = module_of((void *)strdup, &vaddr);
	CHECK(libc && af_symscan_open(libc, &s) == 0);
	if (libc) {
		CHECK_STR(af_symscan_find(&s, vaddr + 3, &start), "strdup");
		CHECK_EQ(start, vaddr);
		struct af_symtab *t = af_symtab_build(&s);
		CHECK(t && af_symtab_find(t, vaddr + 3) && !strcmp(af_symtab_find(t, vaddr + 3)->name, "strdup"));
	}
	/* a static function of the program */
	const char *self = module_of((void *)keep, &vaddr);
	CHECK(self && af_symscan_open("/proc/self/exe", &s) == 0);
	const char *fn = af_symscan_find(&s, vaddr + 1, &start);
	CHECK(fn && !strcmp(fn, "local_probe"));
	CHECK_EQ(start, vaddr);
	CHECK(keep(1) == 4);
}

static void test_stripped(void)
{
	/* a file that is not ELF cannot be opened; nothing is found in a
	   stripped program's .dynsym of imports */
	struct af_symscan s;
	CHECK(af_symscan_open("/etc/passwd", &s) != 0);
	CHECK(af_symscan_open("/nonexistent", &s) != 0);
}

int main(void)
{
	static const struct h_test tests[] = {T(test_scan_equals_table), T(test_known_names),
					      T(test_stripped)};
	return h_run(tests, 3);
}
