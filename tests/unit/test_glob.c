/* test_glob.c - the allocation-free glob and formatter. */
#include <stdint.h>

#include "af_fmt.h"
#include "af_glob.h"
#include "harness.h"

static void test_glob(void)
{
	CHECK(af_glob("*", ""));
	CHECK(af_glob("*", "abc"));
	CHECK(af_glob("a*c", "abc"));
	CHECK(af_glob("a*c", "ac"));
	CHECK(!af_glob("a*c", "ab"));
	CHECK(af_glob("a?c", "abc"));
	CHECK(!af_glob("a?c", "ac"));
	CHECK(af_glob("lib*.so*", "libc.so.6"));
	CHECK(af_glob("*/libfoo.so*", "/usr/lib/libfoo.so.1"));
	CHECK(af_glob("[a-c]x", "bx"));
	CHECK(!af_glob("[a-c]x", "dx"));
	CHECK(af_glob("[!a-c]x", "dx"));
	CHECK(af_glob("[^a-c]x", "dx"));
	CHECK(af_glob("[]]", "]"));
	CHECK(af_glob("\\*", "*"));
	CHECK(!af_glob("\\*", "a"));
	CHECK(af_glob("*_ZN*Parser*parse*", "_ZN6Parser5parseEv"));
	CHECK(af_glob("a*b*c*d", "aXXbYYcZZd"));
	CHECK(!af_glob("a*b*c*d", "aXXbYYcZZ"));
	CHECK(!af_glob("abc", "abcd"));
	CHECK(af_glob_check("[ab") != NULL);
	CHECK(af_glob_check("ab\\") != NULL);
	CHECK(af_glob_check("[ab]*") == NULL);
	CHECK_EQ(af_glob_min_len("worker"), 6);
	CHECK_EQ(af_glob_min_len("w*r?[abc]\\*"), 5);
	CHECK_EQ(af_glob_min_len("[]]*"), 1);
	CHECK_EQ(af_glob_min_len("***"), 0);
	CHECK(af_glob_is_literal("malloc"));
	CHECK(!af_glob_is_literal("m*"));
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
