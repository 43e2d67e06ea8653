/* fuzz_rules.c - libFuzzer target for the rule parser. Beyond not
   crashing, it checks a property: a policy that parses prints to a
   normalized form that parses again to the very same form. */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "af_match.h"
#include "af_trigger.h"

static size_t normalized(struct af_policy *p, char *out, size_t cap)
{
	size_t n = 0;
	/* a rule's normalized form may be several times its text (1G prints
	   as 1073741824), and the text may be 4 KiB */
	static char line[1 << 17];
	if (p->set.given) {
		af_settings_format(&p->set, line, sizeof line);
		n += (size_t)snprintf(out + n, cap - n, "%s\n", line);
	}
	for (int i = 0; i < p->nrules && n < cap; i++) {
		af_rule_format(p->rules[i], line, sizeof line);
		n += (size_t)snprintf(out + n, cap - n, "%s\n", line);
	}
	return n < cap ? n : cap;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > 4096)
		return 0;
	/* no include: the fuzzer must not read files */
	if (memmem(data, size, "include", 7))
		return 0;
	struct af_policy p;
	struct af_error err;
	af_policy_init(&p);
	if (af_policy_parse_text(&p, (const char *)data, size, "fuzz", &err) == 0) {
		af_policy_finish(&p);
		struct af_match m;
		if (af_match_compile(&m, &p) == 0) {
			struct af_query q = {AF_FN_MALLOC, 100, NULL, NULL, NULL, NULL};
			af_match_first(&m, &q);
		}
		af_match_free(&m);
		for (int i = 0; i < p.nrules; i++)
			af_rule_should_fail(p.rules[i], &p.state[i], 64);
		static char a[1 << 17], b[1 << 17];
		size_t na = normalized(&p, a, sizeof a);
		struct af_policy q;
		af_policy_init(&q);
		if (af_policy_parse_text(&q, a, na, "fuzz", &err) != 0) {
			fprintf(stderr, "normalized text does not parse: %s\n%.*s\n", err.msg, (int)na, a);
			abort();
		}
		af_policy_finish(&q);
		size_t nb = normalized(&q, b, sizeof b);
		if (na != nb || memcmp(a, b, na) != 0) {
			fprintf(stderr, "normalization is not stable:\n%.*s---\n%.*s\n", (int)na, a,
				(int)nb, b);
			abort();
		}
		af_policy_free(&q);
	} else if (strlen(err.msg) == 0) {
		fprintf(stderr, "parse failed without a message\n");
		abort();
	}
	af_policy_free(&p);
	return 0;
}
