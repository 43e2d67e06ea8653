/* test_glob.c - the allocation-free glob and formatter. */
#include <stdint.h>

#include "af_fmt.h"
#include "af_glob.h"
#include "harness.h"

/* A pattern, a subject, and whether the one matches the other. */
static const struct {
	const char *pattern, *subject;
	int match;
} matches[] = {
    {"*", "", 1},
    {"*", "abc", 1},
    {"a*c", "abc", 1},
    {"a*c", "ac", 1},
    {"a*c", "ab", 0},
    {"a?c", "abc", 1},
    {"a?c", "ac", 0},
    {"lib*.so*", "libc.so.6", 1},
    {"*/libfoo.so*", "/usr/lib/libfoo.so.1", 1},
    {"[a-c]x", "bx", 1},
    {"[a-c]x", "dx", 0},
    {"[!a-c]x", "dx", 1},
    {"[^a-c]x", "dx", 1},
    {"[]]", "]", 1},
    {"\\*", "*", 1},
    {"\\*", "a", 0},
    {"*_ZN*Parser*parse*", "_ZN6Parser5parseEv", 1},
    {"a*b*c*d", "aXXbYYcZZd", 1},
    {"a*b*c*d", "aXXbYYcZZ", 0},
    {"abc", "abcd", 0},
};

/* A pattern, whether af_glob_check rejects it, the shortest subject it
   matches, and whether it is a literal. */
static const struct {
	const char *pattern;
	int bad, min_len, literal;
} patterns[] = {
    {"[ab", 1, -1, -1},
    {"ab\\", 1, -1, -1},
    {"[ab]*", 0, -1, -1},
    {"worker", -1, 6, -1},
    {"w*r?[abc]\\*", -1, 5, -1},
    {"[]]*", -1, 1, -1},
    {"***", -1, 0, -1},
    {"malloc", -1, -1, 1},
    {"m*", -1, -1, 0},
};

static void test_glob(void)
{
	for (size_t i = 0; i < sizeof matches / sizeof *matches; i++) {
		int got = af_glob(matches[i].pattern, matches[i].subject) != 0;
		if (got != matches[i].match)
			printf("    row %zu: '%s' against '%s'\n", i, matches[i].pattern,
			       matches[i].subject);
		CHECK_EQ(got, matches[i].match);
	}
	/* -1: a column the row does not check */
	for (size_t i = 0; i < sizeof patterns / sizeof *patterns; i++) {
		const char *p = patterns[i].pattern;
		int fails = h_failed;
		if (patterns[i].bad >= 0)
			CHECK_EQ(af_glob_check(p) != NULL, patterns[i].bad);
		if (patterns[i].min_len >= 0)
			CHECK_EQ(af_glob_min_len(p), patterns[i].min_len);
		if (patterns[i].literal >= 0)
			CHECK_EQ(af_glob_is_literal(p) != 0, patterns[i].literal);
		if (h_failed != fails)
			printf("    row %zu: '%s'\n", i, p);
	}
}

static void test_text(void)
{
	char out[128];
	struct af_buf b;
	af_buf_init(&b, out, sizeof out);
	/* C0, DEL, C1 (U+009B), a lone continuation byte, an overlong '/',
	   a surrogate, a truncated sequence; kept: e-acute, U+20AC, U+1F600 */
	af_buf_text(&b, "a\x1b[2J\t\x7f\xc2\x9b\x80\xc0\xaf\xed\xa0\x80\xe2\x82"
			"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80z");
	CHECK_STR(out, "a\\x1b[2J\\x09\\x7f\\xc2\\x9b\\x80\\xc0\\xaf\\xed\\xa0\\x80\\xe2\\x82"
		       "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80z");
	CHECK(!b.truncated);
	af_buf_init(&b, out, 6);
	af_buf_text(&b, "ab\x1b");
	CHECK(b.truncated);
	CHECK_STR(out, "ab\\x1");
}

static void test_fmt(void)
{
	char b[64];
	CHECK_EQ(af_fmt(b, sizeof b, "%d %u %x %s %c %%", -5, 7u, 255u, "hi", 'z'), 14);
	CHECK_STR(b, "-5 7 ff hi z %");
	af_fmt(b, sizeof b, "%08lx|%-4s|%4s|%.2s", 0xabcUL, "a", "b", "xyz");
	CHECK_STR(b, "00000abc|a   |   b|xy");
	af_fmt(b, sizeof b, "%lld %llu %zu", (long long)INT64_MIN, (unsigned long long)UINT64_MAX,
	       (size_t)42);
	CHECK_STR(b, "-9223372036854775808 18446744073709551615 42");
	CHECK_EQ(af_fmt(b, 4, "abcdef"), 6); /* full length, like snprintf */
	CHECK_STR(b, "abc");
	struct af_buf buf;
	char s[16];
	af_buf_init(&buf, s, sizeof s);
	af_buf_json(&buf, "a\"b\\\n\x01");
	CHECK_STR(s, "\"a\\\"b\\\\\\n\\u0001"); /* the closing quote did not fit */
	CHECK(buf.truncated);
}

int main(void)
{
	static const struct h_test tests[] = {T(test_glob), T(test_fmt), T(test_text)};
	return h_run(tests, (int)(sizeof tests / sizeof *tests));
}
