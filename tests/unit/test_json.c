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

/* The documents the number rows read. */
enum { EXACT, NONINT };
static const char *const docs[] = {
    [EXACT] = "{\"a\":2606686373309865962,\"b\":18446744073709551615,"
	      "\"c\":-9223372036854775808,\"d\":9223372036854775807,"
	      "\"e\":9007199254740993,\"f\":0,\"g\":-1}",
    [NONINT] = "{\"half\":2.5,\"exp\":1e3,\"big\":1e30,\"huge\":18446744073709551616,"
	       "\"s\":\"12\",\"t\":true}",
};

/* A document, a key, a default, and what json_int reads there. */
static const struct {
	int doc;
	const char *key;
	long long def, want;
} ints[] = {
    {EXACT, "a", 0, 2606686373309865962ll},
    {EXACT, "b", -7, -7}, /* beyond int64: not a long long */
    {EXACT, "c", 0, INT64_MIN},
    {EXACT, "d", 0, INT64_MAX},
    {EXACT, "f", 9, 0},
    {EXACT, "g", 0, -1},
    {NONINT, "half", 0, 2},
    {NONINT, "exp", 0, 1000},
    {NONINT, "big", 4, 4}, /* out of range: the default */
    {NONINT, "s", 8, 8},   /* a string is not a number */
    {NONINT, "missing", 8, 8},
};

/* The same for json_u64. */
static const struct {
	int doc;
	const char *key;
	uint64_t def, want;
} u64s[] = {
    {EXACT, "a", 0, 2606686373309865962ull},
    {EXACT, "b", 0, UINT64_MAX},
    {EXACT, "c", 5, 5},                     /* negative: not a uint64 */
    {EXACT, "e", 0, 9007199254740993ull},   /* 2^53 + 1 */
    {EXACT, "f", 9, 0},
    {EXACT, "g", 3, 3},
    {NONINT, "half", 1, 1}, /* a fraction is no uint64 */
    {NONINT, "huge", 6, 6}, /* 2^64: beyond 64 bits */
};

/* Document doc parsed, and each of its rows read from it (a failure names
   the row); the parsed document, for the caller to free. */
static struct jv *check_rows(int doc)
{
	struct jv *v = parse(docs[doc]);
	CHECK(v != NULL);
	if (!v)
		return NULL;
	for (size_t i = 0; i < sizeof ints / sizeof *ints; i++) {
		if (ints[i].doc != doc)
			continue;
		long long got = json_int(v, ints[i].key, ints[i].def);
		if (got != ints[i].want)
			printf("    json_int row %zu, \"%s\":\n", i, ints[i].key);
		CHECK_EQ(got, ints[i].want);
	}
	for (size_t i = 0; i < sizeof u64s / sizeof *u64s; i++) {
		if (u64s[i].doc != doc)
			continue;
		uint64_t got = json_u64(v, u64s[i].key, u64s[i].def);
		if (got != u64s[i].want)
			printf("    json_u64 row %zu, \"%s\": got %llu, expected %llu\n", i, u64s[i].key,
			       (unsigned long long)got, (unsigned long long)u64s[i].want);
		CHECK(got == u64s[i].want);
	}
	return v;
}

static void test_integers_exact(void)
{
	json_free(check_rows(EXACT));
}

static void test_non_integers(void)
{
	struct jv *v = check_rows(NONINT);
	if (!v)
		return;
	CHECK(json_get(v, "half")->num == 2.5);
	CHECK(json_get(v, "huge")->num == 18446744073709551616.0);
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
