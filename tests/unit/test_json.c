/* test_json.c - the command's JSON reader: structure, strings, and numbers,
   integers exactly to 64 bits. */
#include <stdint.h>

#include "harness.h"
#include "json.h"

static struct jv *parse(const char *text)
{
	char err[128];
	struct jv *v = json_parse(text, strlen(text), err, sizeof err);
	if (!v)
		printf("    parse error: %s\n", err);
	return v;
}

static void test_integers_exact(void)
{
	struct jv *v = parse("{\"a\":2606686373309865962,\"b\":18446744073709551615,"
			     "\"c\":-9223372036854775808,\"d\":9223372036854775807,"
			     "\"e\":9007199254740993,\"f\":0,\"g\":-1}");
	CHECK(v != NULL);
	if (!v)
		return;
	CHECK(json_u64(v, "a", 0) == 2606686373309865962ull);
	CHECK_EQ(json_int(v, "a", 0), 2606686373309865962ll);
	CHECK(json_u64(v, "b", 0) == UINT64_MAX);
	CHECK_EQ(json_int(v, "b", -7), -7); /* beyond int64: not a long long */
	CHECK(json_int(v, "c", 0) == INT64_MIN);
	CHECK(json_u64(v, "c", 5) == 5);    /* negative: not a uint64 */
	CHECK(json_int(v, "d", 0) == INT64_MAX);
	CHECK(json_u64(v, "e", 0) == 9007199254740993ull); /* 2^53 + 1 */
	CHECK_EQ(json_int(v, "f", 9), 0);
	CHECK(json_u64(v, "f", 9) == 0);
	CHECK_EQ(json_int(v, "g", 0), -1);
	CHECK(json_u64(v, "g", 3) == 3);
	json_free(v);
}

static void test_non_integers(void)
{
	struct jv *v = parse("{\"half\":2.5,\"exp\":1e3,\"big\":1e30,\"huge\":18446744073709551616,"
			     "\"s\":\"12\",\"t\":true}");
	CHECK(v != NULL);
	if (!v)
		return;
	CHECK_EQ(json_int(v, "half", 0), 2);
	CHECK(json_get(v, "half")->num == 2.5);
	CHECK(json_u64(v, "half", 1) == 1); /* a fraction is no uint64 */
	CHECK_EQ(json_int(v, "exp", 0), 1000);
	CHECK_EQ(json_int(v, "big", 4), 4); /* out of range: the default */
	CHECK(json_u64(v, "huge", 6) == 6); /* 2^64: beyond 64 bits */
	CHECK(json_get(v, "huge")->num == 18446744073709551616.0);
	CHECK_EQ(json_int(v, "s", 8), 8); /* a string is not a number */
	CHECK_EQ(json_int(v, "missing", 8), 8);
	CHECK_EQ(json_bool(v, "t", 0), 1);
	json_free(v);
}

static void test_structure_and_strings(void)
{
	struct jv *v = parse(" {\"ev\":\"inject\",\"stack\":[{\"pc\":\"a+0x1\"},{}],"
			     "\"esc\":\"q\\\"b\\\\n\\n\\u00e9\\ud83d\\ude00\",\"n\":null} ");
	CHECK(v != NULL);
	if (!v)
		return;
	CHECK_STR(json_str(v, "ev"), "inject");
	const struct jv *st = json_get(v, "stack");
	CHECK(st && st->t == J_ARR && st->n == 2);
	if (st && st->n == 2) {
		CHECK_STR(json_str(&st->items[0], "pc"), "a+0x1");
		CHECK(st->items[1].t == J_OBJ && st->items[1].n == 0);
	}
	CHECK_STR(json_str(v, "esc"), "q\"b\\n\n\xc3\xa9\xf0\x9f\x98\x80");
	CHECK(json_get(v, "n") && json_get(v, "n")->t == J_NULL);
	CHECK(json_str(v, "n") == NULL);
	json_free(v);
}

static void test_errors(void)
{
	static const char *const bad[] = {"", "{", "[1,]", "{\"a\" 1}", "\"open", "1 2", "tru",
					  "{\"a\":1x}", "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["
					  "[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]"
					  "]]]]]]]]]]]]]]]]]]]]]]]]]]]]"};
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		char err[128];
		struct jv *v = json_parse(bad[i], strlen(bad[i]), err, sizeof err);
		if (v) {
			printf("    accepted: %s\n", bad[i]);
			json_free(v);
		}
		CHECK(v == NULL);
		CHECK(err[0] != 0);
	}
}

int main(void)
{
	static const struct h_test tests[] = {
	    T(test_integers_exact),
	    T(test_non_integers),
	    T(test_structure_and_strings),
	    T(test_errors),
	};
	return h_run(tests, (int)(sizeof tests / sizeof *tests));
}
