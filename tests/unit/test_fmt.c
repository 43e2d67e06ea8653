/* test_fmt.c - the allocation-free printf subset and output buffer
   (common/af_fmt.c): every conversion, flag and length against the C
   library's snprintf where they overlap, truncation at every capacity,
   the JSON and terminal escapes, and FNV-1a's published vectors. */
#define _GNU_SOURCE
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>

#include "af_fmt.h"
#include "harness.h"

static int mismatches;

/* af_fmt and snprintf on the same arguments: same text, same length, at
   a capacity that fits and at every one that does not. */
__attribute__((format(printf, 2, 3))) static void same_at(int line, const char *fmt, ...)
{
	char want[512], got[512];
	va_list ap, aq;
	va_start(ap, fmt);
	va_copy(aq, ap);
	int wn = vsnprintf(want, sizeof want, fmt, ap);
	va_end(ap);
	for (size_t cap = (size_t)wn + 2; cap != (size_t)-1; cap--) {
		char w[512], g[512];
		memset(w, '#', sizeof w);
		memset(g, '#', sizeof g);
		va_list a1, a2;
		va_copy(a1, aq);
		va_copy(a2, aq);
		vsnprintf(w, cap, fmt, a1);
		size_t gn = af_vfmt(g, cap, fmt, a2);
		va_end(a1);
		va_end(a2);
		if (gn != (size_t)wn || memcmp(w, g, sizeof w)) {
			af_fmt(got, sizeof got, "%.*s", (int)(cap ? cap - 1 : 0), g);
			printf("    line %d: \"%s\" at cap %zu: got \"%s\" (%zu), snprintf \"%.*s\" (%d)\n",
			       line, fmt, cap, got, gn, (int)(cap ? cap - 1 : 0), w, wn);
			mismatches++;
			break;
		}
	}
	va_end(aq);
}
#define SAME(...) same_at(__LINE__, __VA_ARGS__)

static void test_conversions(void)
{
	mismatches = 0;
	SAME("plain text");
	SAME("%d %d %d %d", 0, 42, -42, INT_MIN);
	SAME("%i %i", INT_MAX, -1);
	SAME("%u %u", 0u, UINT_MAX);
	SAME("%ld %ld %ld", 0L, LONG_MAX, LONG_MIN);
	SAME("%lu %lu", 7UL, ULONG_MAX);
	SAME("%lld %lld", LLONG_MAX, LLONG_MIN);
	SAME("%llu", ULLONG_MAX);
	SAME("%zu %zu", (size_t)0, SIZE_MAX);
	SAME("%zd", (ssize_t)-3);
	SAME("%jd %ju", INTMAX_MIN, UINTMAX_MAX);
	SAME("%x %x %X", 0u, 0xdeadbeefu, 0xdeadbeefu);
	SAME("%lx %llx %zx", ULONG_MAX, 0x123456789abcdefULL, (size_t)4096);
	SAME("%p %p", (void *)0x1234, (void *)&mismatches);
	SAME("%s|%s|%s", "", "abc", "a longer string with spaces");
	SAME("%c%c%c", 'a', ' ', '~');
	SAME("100%% %%d");
	SAME("%s", (const char *)NULL); /* glibc's "(null)" */
	CHECK_EQ(mismatches, 0);
}

static void test_widths_and_flags(void)
{
	mismatches = 0;
	SAME("[%5d] [%-5d] [%05d]", 42, 42, 42);
	SAME("[%5d] [%-5d] [%05d]", -42, -42, -42);
	SAME("[%1d] [%2d] [%02d]", 123, -123, -1);
	SAME("[%-05d]", 7); /* '-' wins over '0' */
	SAME("[%8x] [%08x] [%-8X]", 0xabcu, 0xabcu, 0xabcu);
	SAME("[%016lx]", 0xfeedUL);
	SAME("[%20lu] [%-20llu]", ULONG_MAX, 1ULL);
	SAME("[%*d] [%-*d]", 6, 1, 6, 1);
	SAME("[%*d]", -6, 1); /* a negative width is the '-' flag */
	SAME("[%8s] [%-8s] [%2s]", "ab", "ab", "abcd");
	SAME("[%.3s] [%.0s] [%.10s]", "abcdef", "abc", "abc");
	SAME("[%.*s] [%-6.2s]", 2, "xyz", "xyz");
	SAME("[%.*s]", -1, "negative precision: all of it");
	SAME("[%5c] [%-3c]", 'x', 'y');
	SAME("[%18p] [%-18p]", (void *)0xabc, (void *)0xabc);
	CHECK_EQ(mismatches, 0);
}

/* What only af_fmt does, or does differently. */
static void test_own_behaviour(void)
{
	char b[64];
	/* %.*s stops at the precision: the bytes need no NUL */
	char raw[3] = {'a', 'b', 'c'};
	CHECK_EQ(af_fmt(b, sizeof b, "%.*s|", 3, raw), 4);
	CHECK_STR(b, "abc|");
	/* a null pointer is 0x0 (glibc: "(nil)") */
	af_fmt(b, sizeof b, "%p", (void *)0);
	CHECK_STR(b, "0x0");
	/* an unknown conversion is copied, taking no argument */
	CHECK_EQ(af_fmt(b, sizeof b, "%q %d", 5), 4);
	CHECK_STR(b, "%q 5");
	/* a '%' at the very end is dropped */
	af_fmt(b, sizeof b, "50%");
	CHECK_STR(b, "50");
	/* capacity 0 writes nothing and says how much was needed */
	b[0] = '#';
	CHECK_EQ(af_fmt(b, 0, "%d", 12345), 5);
	CHECK_EQ(b[0], '#');
}

static void test_buf(void)
{
	char s[8];
	struct af_buf b;
	af_buf_init(&b, s, sizeof s);
	CHECK_STR(s, "");
	af_buf_puts(&b, "abc");
	af_buf_putc(&b, 'd');
	af_buf_fmt(&b, "%d", 12);
	CHECK_STR(s, "abcd12");
	CHECK_EQ(b.len, 6);
	CHECK_EQ(b.truncated, 0);
	af_buf_putc(&b, 'e'); /* the last byte the NUL leaves */
	CHECK_STR(s, "abcd12e");
	CHECK_EQ(b.truncated, 0);
	af_buf_putc(&b, 'f');
	CHECK_STR(s, "abcd12e");
	CHECK_EQ(b.len, 7);
	CHECK_EQ(b.truncated, 1);
	/* cut in the middle of a piece, by putn and by fmt */
	af_buf_init(&b, s, sizeof s);
	af_buf_putn(&b, "0123456789", 10);
	CHECK_STR(s, "0123456");
	CHECK_EQ(b.truncated, 1);
	af_buf_init(&b, s, sizeof s);
	af_buf_puts(&b, "ab");
	af_buf_fmt(&b, "%s-%d", "xyz", 98765);
	CHECK_STR(s, "abxyz-9");
	CHECK_EQ(b.len, 7);
	CHECK_EQ(b.truncated, 1);
	/* no room at all */
	struct af_buf z;
	af_buf_init(&z, s, 0);
	af_buf_puts(&z, "x");
	af_buf_fmt(&z, "%d", 1);
	CHECK_EQ(z.len, 0);
	CHECK_EQ(z.truncated, 1);
}

/* An escape (af_buf_json, af_buf_text): a string and what it becomes. */
typedef void (*escape_fn)(struct af_buf *b, const char *s);
struct escape {
	const char *in, *out;
};

/* Each row escaped into a buffer of cap bytes (cut: it must say so); a
   failure names its row. */
static void check_escapes(escape_fn put, size_t cap, int cut, const struct escape *rows, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		char s[256];
		struct af_buf b;
		af_buf_init(&b, s, cap);
		put(&b, rows[i].in);
		if (strcmp(s, rows[i].out))
			printf("    row %zu:\n", i);
		CHECK_STR(s, rows[i].out);
		if (cut)
			CHECK_EQ(b.truncated, 1);
	}
}

#define ESCAPES(put, cap, cut, rows) check_escapes(put, cap, cut, rows, sizeof rows / sizeof *rows)

static void test_json(void)
{
	static const struct escape rows[] = {
	    {"plain", "\"plain\""},
	    {"", "\"\""},
	    {NULL, "\"\""},
	    {"a\"b\\c", "\"a\\\"b\\\\c\""},
	    {"\n\t\r", "\"\\n\\t\\r\""},
	    {"\x01\x08\x0c\x1f\x7f", "\"\\u0001\\u0008\\u000c\\u001f\\u007f\""},
	    {"/ and \xc3\xa9", "\"/ and \xc3\xa9\""}, /* UTF-8 as is */
	};
	ESCAPES(af_buf_json, 256, 0, rows);
	/* cut short, the buffer says so */
	static const struct escape cut[] = {{"abcdef", "\"abcd"}};
	ESCAPES(af_buf_json, 6, 1, cut);
}

static void test_text(void)
{
	static const struct escape rows[] = {
	    {"main.c: ok ~", "main.c: ok ~"},
	    {NULL, ""},
	    {"a\nb\tc\x1b[31m", "a\\x0ab\\x09c\\x1b[31m"},
	    {"\x7f", "\\x7f"},
	    /* well-formed UTF-8 of 2, 3 and 4 bytes passes */
	    {"\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80 \xf4\x8f\xbf\xbf",
	     "\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80 \xf4\x8f\xbf\xbf"},
	    /* C1 controls (U+0080..U+009F, 0x9b a CSI) are escaped, U+00A0 not */
	    {"\xc2\x85\xc2\x9b\xc2\xa0", "\\xc2\\x85\\xc2\\x9b\xc2\xa0"},
	    /* overlong forms, surrogates, past U+10FFFF, bytes never in UTF-8 */
	    {"\xc0\x80\xc1\xbf", "\\xc0\\x80\\xc1\\xbf"},
	    {"\xe0\x9f\xbf", "\\xe0\\x9f\\xbf"},
	    {"\xed\xa0\x80", "\\xed\\xa0\\x80"},
	    {"\xf0\x8f\xbf\xbf", "\\xf0\\x8f\\xbf\\xbf"},
	    {"\xf4\x90\x80\x80", "\\xf4\\x90\\x80\\x80"},
	    {"\xf5\xff\xfe", "\\xf5\\xff\\xfe"},
	    /* a lone continuation byte; a sequence cut by the end of the string */
	    {"a\x80z", "a\\x80z"},
	    {"ab\xe2\x82", "ab\\xe2\\x82"},
	};
	ESCAPES(af_buf_text, 256, 0, rows);
	/* an escape that does not fit is cut, as a plain piece is */
	static const struct escape cut[] = {{"abcd\x01", "abcd\\x0"}};
	ESCAPES(af_buf_text, 8, 1, cut);
}

static void test_fnv64(void)
{
	/* the FNV-1a test vectors (Fowler, Noll, Vo) */
	CHECK(af_fnv64(AF_FNV64_INIT, "", 0) == 0xcbf29ce484222325ull);
	CHECK(af_fnv64(AF_FNV64_INIT, "a", 1) == 0xaf63dc4c8601ec8cull);
	CHECK(af_fnv64(AF_FNV64_INIT, "foobar", 6) == 0x85944171f73967e8ull);
	/* continued, as a stream is hashed in pieces */
	CHECK(af_fnv64(af_fnv64(AF_FNV64_INIT, "foo", 3), "bar", 3) == 0x85944171f73967e8ull);
	/* bytes above 0x7f are not sign-extended */
	unsigned char hi[2] = {0xff, 0x80};
	uint64_t h = AF_FNV64_INIT;
	for (int i = 0; i < 2; i++)
		h = (h ^ hi[i]) * 0x100000001b3ull;
	CHECK(af_fnv64(AF_FNV64_INIT, hi, 2) == h);
}

static void test_say(void)
{
	int fd[2];
	CHECK(pipe(fd) == 0);
	af_say(fd[1], "bad rule %d in %s", 3, "x\x1b]0;y");
	close(fd[1]);
	char s[256];
	ssize_t n = read(fd[0], s, sizeof s - 1);
	s[n > 0 ? n : 0] = 0;
	CHECK_STR(s, "allocfail: bad rule 3 in x\\x1b]0;y\n");
	close(fd[0]);
}

int main(void)
{
	static const struct h_test tests[] = {
		T(test_conversions), T(test_widths_and_flags), T(test_own_behaviour), T(test_buf),
		T(test_json),        T(test_text),             T(test_fnv64),         T(test_say),
	};
	return h_run(tests, (int)(sizeof tests / sizeof *tests));
}
