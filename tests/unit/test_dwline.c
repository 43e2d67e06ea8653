/* test_dwline.c - the .debug_line reader the shim uses for file:line.
   On this program's own line table (built once with -gdwarf-4 and once
   with -gdwarf-5): the lines of known calls, and llvm-symbolizer's answer
   for every address of the program. On hand-made units: exact rows of DWARF 4
   and 5, and malformed contents, which must give "unknown" and never a
   crash, a read outside the section (the section ends at a guard page) or
   a hang (an alarm fails the case). */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>

#include "af_dwline.h"
#include "harness.h"

/* ---- this program's own table --------------------------------------- */

/* The return address of its call: the line of pc - 1 is the caller's. */
__attribute__((noinline)) static uintptr_t here(void)
{
	return (uintptr_t)__builtin_return_address(0);
}

static uintptr_t bias(void)
{
	Dl_info info;
	if (!dladdr((void *)here, &info))
		return 0;
	return (uintptr_t)info.dli_fbase;
}

static void test_own_lines(void)
{
	struct af_lines *t = af_lines_load("/proc/self/exe");
	CHECK(t != NULL);
	uintptr_t pc[3];
	int line[3];
	pc[0] = here(); line[0] = __LINE__;
	pc[1] = here(); line[1] = __LINE__;
	for (int i = 0; i < 1; i++) {
		pc[2] = here(); line[2] = __LINE__;
	}
	for (int i = 0; i < 3; i++) {
		const char *file = "-";
		int l = -1;
		CHECK_EQ(af_lines_find(t, pc[i] - bias() - 1, &file, &l), 0);
#if DWARF >= 5
		CHECK_STR(file, SRCDIR "/tests/unit/test_dwline.c");
#else
		/* before DWARF 5 the line table does not name the compilation
		   directory: the path is as the compiler was given it */
		const char *tail = "tests/unit/test_dwline.c";
		CHECK(strlen(file) > strlen(tail) && !strcmp(file + strlen(file) - strlen(tail), tail));
#endif
		CHECK_EQ(l, line[i]);
	}
	af_lines_free(t);
}

#ifdef SYMBOLIZER
extern char __executable_start[], etext[];

/* Every third address of the program's code against llvm-symbolizer
   (binutils 2.40's addr2line takes DWARF 5's file 1 for file 0: it puts
   the first function of a header, harness.h's, in this file). */
static void test_symbolizer_agrees(void)
{
	struct af_lines *t = af_lines_load("/proc/self/exe");
	CHECK(t != NULL);
	uintptr_t lo = (uintptr_t)__executable_start - bias(), hi = (uintptr_t)etext - bias();
	char in[] = "/tmp/af-dwline-XXXXXX";
	int fd = mkstemp(in);
	CHECK(fd >= 0);
	FILE *f = fdopen(fd, "w");
	for (uintptr_t a = lo; a < hi; a += 3)
		fprintf(f, "0x%lx\n", (unsigned long)a);
	fclose(f);
	char cmd[256];
	snprintf(cmd, sizeof cmd,
		 SYMBOLIZER " --obj=/proc/%d/exe --output-style=GNU --functions=none --no-inlines < %s",
		 (int)getpid(), in);
	FILE *p = popen(cmd, "r");
	CHECK(p != NULL);
	char want[4096];
	long n = 0, known = 0, bad = 0;
	for (uintptr_t a = lo; a < hi && p && fgets(want, sizeof want, p); a += 3, n++) {
		want[strcspn(want, "\n")] = 0;
		char *disc = strstr(want, " (discriminator");
		if (disc)
			*disc = 0;
		/* its paths are not normalized (build/../tests) */
		char *colon = strrchr(want, ':'), real[4096];
		if (want[0] == '/' && colon) {
			*colon = 0;
			if (realpath(want, real)) {
				size_t k = strlen(real);
				real[k] = ':';
				memmove(real + k + 1, colon + 1, strlen(colon + 1) + 1);
				strcpy(want, real);
			} else {
				*colon = ':';
			}
		}
		const char *file;
		int line;
		char got[4096] = "??:0";
		if (af_lines_find(t, a, &file, &line) == 0) {
			snprintf(got, sizeof got, "%s:%d", file, line);
			known++;
		}
		/* a file is named for line 0 */
		if (strlen(want) > 2 && !strcmp(want + strlen(want) - 2, ":?"))
			strcpy(want, "??:0");
		/* before DWARF 5 a relative name stays relative (the table does
		   not name the compilation directory): it must be the end of
		   the full name */
		if (got[0] != '/' && got[0] != '?') {
			const char *g = got;
			while (!strncmp(g, "../", 3) || !strncmp(g, "./", 2))
				g += g[1] == '/' ? 2 : 3;
			size_t gl = strlen(g), wl = strlen(want);
			if (wl > gl && want[wl - gl - 1] == '/' && !strcmp(want + wl - gl, g))
				strcpy(got, want);
		}
		if (strcmp(got, want) && bad++ < 5)
			printf("    0x%lx: got %s, llvm-symbolizer %s\n", (unsigned long)a, got, want);
	}
	if (p)
		pclose(p);
	unlink(in);
	CHECK_EQ(bad, 0);
	CHECK_EQ(n, (long)((hi - lo + 2) / 3));
	CHECK(known > n / 2);
	af_lines_free(t);
}
#endif

static void test_no_table(void)
{
	const char *file;
	int line;
	CHECK(af_lines_load("/nonexistent") == NULL);
	CHECK(af_lines_load("/etc/passwd") == NULL);
	CHECK_EQ(af_lines_find(NULL, 0x1000, &file, &line), -1);
}

/* ---- hand-made units ------------------------------------------------- */

struct bytes {
	unsigned char v[1024];
	size_t n;
};

static void put(struct bytes *b, const void *p, size_t n)
{
	memcpy(b->v + b->n, p, n);
	b->n += n;
}
static void b1(struct bytes *b, unsigned x)
{
	b->v[b->n++] = (unsigned char)x;
}
static void bfix(struct bytes *b, uint64_t x, int n)
{
	for (int i = 0; i < n; i++)
		b1(b, (unsigned)(x >> (8 * i)) & 0xff);
}
static void uleb(struct bytes *b, uint64_t x)
{
	do {
		unsigned c = x & 0x7f;
		x >>= 7;
		b1(b, c | (x ? 0x80 : 0));
	} while (x);
}
static void sleb(struct bytes *b, int64_t x)
{
	for (;;) {
		unsigned c = (unsigned)x & 0x7f;
		x >>= 7;
		if ((x == 0 && !(c & 0x40)) || (x == -1 && (c & 0x40))) {
			b1(b, c);
			return;
		}
		b1(b, c | 0x80);
	}
}
static void str(struct bytes *b, const char *s)
{
	put(b, s, strlen(s) + 1);
}
static void set32(unsigned char *at, uint64_t v)
{
	for (int i = 0; i < 4; i++)
		at[i] = (unsigned char)(v >> (8 * i));
}

/* The program every unit runs, at 0x1000: a.c-ish file 1 line 10, four
   bytes later line 11 (a special opcode), then file 2 at 0x100c line 11,
   ending at 0x1010. */
static void program(struct bytes *b, int file2)
{
	b1(b, 0), uleb(b, 9), b1(b, 2), bfix(b, 0x1000, 8); /* set_address */
	b1(b, 3), sleb(b, 9);                              /* advance_line: 10 */
	b1(b, 1);                                          /* copy */
	b1(b, (1 - -5) + 14 * 4 + 13);                     /* addr += 4, line += 1 */
	b1(b, 4), uleb(b, (uint64_t)file2);                /* set_file */
	b1(b, 2), uleb(b, 8);                              /* advance_pc */
	b1(b, 1);                                          /* copy */
	b1(b, 2), uleb(b, 4);
	b1(b, 0), uleb(b, 1), b1(b, 1); /* end_sequence */
}

static const unsigned char std_lengths[12] = {0, 1, 1, 1, 1, 0, 0, 0, 1, 0, 0, 1};

/* Where the header's lengths go, for the malformed cases. */
struct layout {
	size_t hlen_at, header_at, program_at;
};

static void unit4(struct bytes *b, struct layout *l, uint64_t file2)
{
	size_t start = b->n;
	bfix(b, 0, 4); /* unit_length, below */
	bfix(b, 4, 2);
	l->hlen_at = b->n;
	bfix(b, 0, 4);
	l->header_at = b->n;
	b1(b, 1), b1(b, 1), b1(b, 1), b1(b, (unsigned char)-5), b1(b, 14), b1(b, 13);
	put(b, std_lengths, 12);
	str(b, "/src"), str(b, "inc"), b1(b, 0);
	str(b, "a.c"), uleb(b, 1), uleb(b, 0), uleb(b, 0);
	str(b, "b.c"), uleb(b, 0), uleb(b, 0), uleb(b, 0);
	str(b, "h.h"), uleb(b, 2), uleb(b, 0), uleb(b, 0);
	b1(b, 0);
	l->program_at = b->n;
	program(b, (int)file2);
	set32(b->v + start, b->n - start - 4);
	set32(b->v + l->hlen_at, l->program_at - l->header_at);
	if (file2 > 255) { /* a huge file number: rewrite the set_file */
		b->n = l->program_at;
		b1(b, 0), uleb(b, 9), b1(b, 2), bfix(b, 0x3000, 8);
		b1(b, 4), uleb(b, file2);
		b1(b, 1);
		b1(b, 2), uleb(b, 4);
		b1(b, 0), uleb(b, 1), b1(b, 1);
		set32(b->v + start, b->n - start - 4);
	}
}

/* .debug_line_str for unit5: the directories by offset */
static const char line_str[] = "/comp\0inc";

static void unit5(struct bytes *b, struct layout *l)
{
	size_t start = b->n;
	bfix(b, 0, 4);
	bfix(b, 5, 2);
	b1(b, 8), b1(b, 0); /* address size, segment selector size */
	l->hlen_at = b->n;
	bfix(b, 0, 4);
	l->header_at = b->n;
	b1(b, 1), b1(b, 1), b1(b, 1), b1(b, (unsigned char)-5), b1(b, 14), b1(b, 13);
	put(b, std_lengths, 12);
	b1(b, 1), uleb(b, 1), uleb(b, 0x1f); /* directories: path as line_strp */
	uleb(b, 2), bfix(b, 0, 4), bfix(b, 6, 4);
	b1(b, 3), uleb(b, 1), uleb(b, 0x08), uleb(b, 2), uleb(b, 0x0b), uleb(b, 5), uleb(b, 0x1e);
	uleb(b, 2); /* files: path as string, directory as data1, an MD5 */
	str(b, "a.c"), b1(b, 0), bfix(b, 0, 8), bfix(b, 0, 8);
	str(b, "h.h"), b1(b, 1), bfix(b, 0, 8), bfix(b, 0, 8);
	l->program_at = b->n;
	program(b, 0);
	set32(b->v + start, b->n - start - 4);
	set32(b->v + l->hlen_at, l->program_at - l->header_at);
}

/* The section copied to end at a PROT_NONE page, and parsed. */
static struct af_lines *parse_guarded(const void *p, size_t n, const char *lstr, size_t nlstr)
{
	size_t pg = (size_t)sysconf(_SC_PAGESIZE), room = (n + pg - 1) / pg * pg + pg;
	unsigned char *m = mmap(NULL, room + pg, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (m == MAP_FAILED)
		return NULL;
	mprotect(m, pg, PROT_NONE);
	mprotect(m + room, pg, PROT_NONE);
	unsigned char *at = m + room - n;
	memcpy(at, p, n);
	struct af_dwsections s = {at, n, NULL, lstr, 0, nlstr};
	struct af_lines *t = af_lines_parse(&s);
	munmap(m, room + pg);
	return t;
}

static const char *where(const struct af_lines *t, uint64_t a)
{
	static char s[256];
	const char *file;
	int line;
	if (af_lines_find(t, a, &file, &line) != 0)
		return "unknown";
	snprintf(s, sizeof s, "%s:%d", file, line);
	return s;
}

/* The sections the tests build, and for each the places its table gives
   addresses: one row an address. */
enum section {
	NOTHING,        /* nothing of it known */
	V4,             /* unit4(.., 2) */
	V4_RELATIVE,    /* unit4(.., 3): a relative include directory */
	V5,             /* unit5, with .debug_line_str */
	V5_NAMELESS,    /* the same without it */
	TWO_UNITS,      /* unit5, then unit4's sequence at 0x2000 */
	AFTER_V6,       /* a unit of version 6, then unit4 */
	BAD_OPCODE_LEN, /* a standard opcode of 255 arguments */
};
static const struct row {
	enum section in;
	uint64_t addr;
	const char *where;
} rows[] = {
    {NOTHING, 0x1000, "unknown"},
    {V4, 0xfff, "unknown"},
    {V4, 0x1000, "/src/a.c:10"},
    {V4, 0x1003, "/src/a.c:10"},
    {V4, 0x1004, "/src/a.c:11"},
    {V4, 0x100b, "/src/a.c:11"},
    {V4, 0x100c, "b.c:11"}, /* directory 0: not known */
    {V4, 0x100f, "b.c:11"},
    {V4, 0x1010, "unknown"},
    {V4, UINT64_MAX, "unknown"},
    {V4_RELATIVE, 0x100c, "inc/h.h:11"},
    /* file 1 (the register's default) is h.h in directory 1, "inc",
       relative to directory 0, the compilation directory */
    {V5, 0x1000, "/comp/inc/h.h:10"},
    {V5, 0x1007, "/comp/inc/h.h:11"},
    {V5, 0x100c, "/comp/a.c:11"},
    {V5, 0x1010, "unknown"},
    /* without .debug_line_str the directories have no names */
    {V5_NAMELESS, 0x100c, "a.c:11"},
    {TWO_UNITS, 0x1000, "/comp/inc/h.h:10"},
    {TWO_UNITS, 0x2000, "/src/a.c:10"},
    {TWO_UNITS, 0x200c, "b.c:11"},
    {TWO_UNITS, 0x1fff, "unknown"},
    {AFTER_V6, 0x1004, "/src/a.c:11"},
    {BAD_OPCODE_LEN, 0x1000, "unknown"},
    {BAD_OPCODE_LEN, 0x1004, "unknown"},
};

/* The section b, built as `in` says (with lstr as .debug_line_str, or
   none), read: a table, and each of in's rows as the table gives it; a
   failure names its row. */
static void check_section(const struct bytes *b, const char *lstr, size_t nlstr, enum section in)
{
	struct af_lines *t = parse_guarded(b->v, b->n, lstr, nlstr);
	CHECK(t != NULL);
	for (size_t i = 0; i < sizeof rows / sizeof *rows; i++) {
		if (rows[i].in != in)
			continue;
		const char *got = where(t, rows[i].addr);
		if (strcmp(got, rows[i].where))
			printf("    row %zu, address 0x%llx:\n", i, (unsigned long long)rows[i].addr);
		CHECK_STR(got, rows[i].where);
	}
	af_lines_free(t);
}

/* Nothing of the section c is known (at the units' 0x1000). */
static void all_unknown(const struct bytes *c)
{
	check_section(c, line_str, sizeof line_str, NOTHING);
}

static void test_dwarf4_rows(void)
{
	struct bytes b = {0};
	struct layout l;
	unit4(&b, &l, 2);
	check_section(&b, NULL, 0, V4);
	/* a relative include directory is kept relative */
	memset(&b, 0, sizeof b);
	unit4(&b, &l, 3);
	check_section(&b, NULL, 0, V4_RELATIVE);
}

static void test_dwarf5_rows(void)
{
	struct bytes b = {0};
	struct layout l;
	unit5(&b, &l);
	check_section(&b, line_str, sizeof line_str, V5);
	check_section(&b, NULL, 0, V5_NAMELESS);
}

/* Two units: the second unit's rows come after the first's, sorted. */
static void test_two_units(void)
{
	struct bytes b = {0};
	struct layout l;
	unit5(&b, &l);
	size_t first = b.n;
	unit4(&b, &l, 2);
	/* move the v4 unit's sequence to 0x2000 */
	for (size_t i = first; i + 10 < b.n; i++)
		if (b.v[i] == 0 && b.v[i + 1] == 9 && b.v[i + 2] == 2) {
			b.v[i + 4] = 0x20;
			break;
		}
	check_section(&b, line_str, sizeof line_str, TWO_UNITS);
}

/* Every prefix of a unit, as a whole section: its length says more bytes
   than there are, so nothing of it is read. */
static void truncated(int version)
{
	struct bytes b = {0};
	struct layout l;
	if (version == 4)
		unit4(&b, &l, 2);
	else
		unit5(&b, &l);
	for (size_t n = 0; n < b.n; n++) {
		struct af_lines *t = parse_guarded(b.v, n, line_str, sizeof line_str);
		CHECK(t != NULL);
		if (strcmp(where(t, 0x1000), "unknown"))
			printf("    cut at %zu of %zu: %s\n", n, b.n, where(t, 0x1000));
		CHECK_STR(where(t, 0x1000), "unknown");
		af_lines_free(t);
	}
	/* the unit's own length cut, at every byte after it: a header cut
	   short, or a sequence without its end, is unknown */
	for (size_t n = 4; n < b.n; n++) {
		struct bytes c = b;
		c.n = n;
		set32(c.v, n - 4);
		all_unknown(&c);
	}
}

static void test_truncated4(void)
{
	truncated(4);
}

static void test_truncated5(void)
{
	truncated(5);
}

static void test_bad_header_length(void)
{
	struct bytes b = {0};
	struct layout l;
	unit4(&b, &l, 2);
	uint64_t lengths[] = {0xffffffffu, 0x7fffffff, b.n, 0};
	for (size_t k = 0; k < sizeof lengths / sizeof *lengths; k++) {
		struct bytes c = b;
		set32(c.v + l.hlen_at, lengths[k]);
		all_unknown(&c);
	}
	/* a 64-bit unit length larger than the section */
	struct bytes c = {0};
	bfix(&c, 0xffffffffu, 4);
	bfix(&c, UINT64_MAX - 4, 8);
	put(&c, b.v + 4, b.n - 4);
	all_unknown(&c);
	/* a line range of 0 would divide by zero */
	c = b;
	c.v[l.header_at + 4] = 0;
	all_unknown(&c);
	/* unknown versions are skipped, the next unit is read */
	c = b;
	c.v[4] = 6;
	put(&c, b.v, b.n);
	check_section(&c, NULL, 0, AFTER_V6);
}

/* Opcode lengths that do not fit: the reading stops where the unit ends,
   and the sequence it was in, never ended, is not kept. */
static void test_bad_opcode_lengths(void)
{
	struct bytes b = {0};
	struct layout l;
	unit4(&b, &l, 2);
	/* opcode 13 made standard, with 255 arguments, right after the copy */
	struct bytes c = b;
	c.v[l.header_at + 5] = 14;
	memmove(c.v + l.header_at + 19, c.v + l.header_at + 18, c.n - (l.header_at + 18));
	c.v[l.header_at + 18] = 255;
	c.n++;
	set32(c.v, c.n - 4);
	set32(c.v + l.hlen_at, l.program_at + 1 - l.header_at);
	c.v[l.program_at + 1 + 11 + 3] = 13; /* the special opcode after the copy */
	check_section(&c, NULL, 0, BAD_OPCODE_LEN);
}

/* An extended opcode whose length is 2^64 - 11: it points back at itself,
   and the state machine read the same bytes for ever. */
static void test_huge_extended_length(void)
{
	struct bytes b = {0};
	struct layout l;
	unit4(&b, &l, 2);
	b.n = l.program_at;
	b1(&b, 0), uleb(&b, 9), b1(&b, 2), bfix(&b, 0x1000, 8);
	b1(&b, 1);
	b1(&b, 0), uleb(&b, UINT64_MAX - 10), b1(&b, 0x80);
	b1(&b, 0), uleb(&b, 1), b1(&b, 1);
	set32(b.v, b.n - 4);
	alarm(5);
	all_unknown(&b);
}

/* DWARF 5 counts of directories and files far beyond what the section
   holds; with no attributes per entry, or a block whose length leads
   back: the reader looped 2^64 times, or allocated a name per round. */
static void huge_counts(int which)
{
	struct bytes b = {0};
	struct layout l;
	unit5(&b, &l);
	struct bytes c = {0};
	put(&c, b.v, l.header_at + 18);
	if (which == 0) { /* directories: no format, 2^64 - 1 of them */
		b1(&c, 0), uleb(&c, UINT64_MAX);
	} else if (which == 1) { /* files: the same */
		b1(&c, 0), uleb(&c, 0);
		b1(&c, 0), uleb(&c, UINT64_MAX);
	} else { /* a directory's path as a block of length 2^64 - 10 */
		b1(&c, 1), uleb(&c, 1), uleb(&c, 0x09);
		uleb(&c, UINT64_MAX);
		uleb(&c, UINT64_MAX - 9);
	}
	size_t hdr_end = c.n;
	put(&c, b.v + l.program_at, b.n - l.program_at);
	set32(c.v, c.n - 4);
	set32(c.v + l.hlen_at, hdr_end - l.header_at);
	alarm(5);
	all_unknown(&c);
}

static void test_huge_dir_count(void)
{
	huge_counts(0);
}

static void test_huge_file_count(void)
{
	huge_counts(1);
}

static void test_block_leads_back(void)
{
	huge_counts(2);
}

/* A file number that wraps around past the unit's first file named a file
   of an earlier unit. */
static void test_huge_file_number(void)
{
	struct bytes b = {0};
	struct layout l;
	unit4(&b, &l, 2); /* files 0..3 of the table */
	unit4(&b, &l, UINT64_MAX - 2); /* at 0x3000; base 4: 4 + f wraps to 2 */
	struct af_lines *t = parse_guarded(b.v, b.n, NULL, 0);
	const char *file;
	int line;
	CHECK_STR(where(t, 0x100c), "b.c:11");
	int r = af_lines_find(t, 0x3000, &file, &line);
	if (r == 0)
		printf("    found %s:%d\n", file, line);
	CHECK_EQ(r, -1);
	af_lines_free(t);
}

int main(void)
{
	static const struct h_test tests[] = {
		T(test_own_lines),
#ifdef SYMBOLIZER
		T(test_symbolizer_agrees),
#endif
		T(test_no_table),
		T(test_dwarf4_rows),       T(test_dwarf5_rows),        T(test_two_units),
		T(test_truncated4),        T(test_truncated5),         T(test_bad_header_length),
		T(test_bad_opcode_lengths), T(test_huge_extended_length), T(test_huge_dir_count),
		T(test_huge_file_count),   T(test_block_leads_back),   T(test_huge_file_number),
	};
	return h_run(tests, (int)(sizeof tests / sizeof *tests));
}
