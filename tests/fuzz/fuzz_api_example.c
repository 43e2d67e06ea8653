/* fuzz_api_example.c - a libFuzzer harness that explores allocation-failure
   paths with allocfail_fail_nth(): the first input byte chooses which
   allocation of the target fails, the rest is the target's input. Run it
   with liballocfail.so preloaded; coverage guidance then finds the failure
   paths that reach new code. The target here is allocfail's own rule
   parser, whose out-of-memory handling this exercises. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "af_trigger.h"
#include "allocfail.h"

static unsigned long injected;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1 || size > 2048)
		return 0;
	struct af_policy p;
	struct af_error err;
	af_policy_init(&p);
	unsigned long before = allocfail_injected();
	allocfail_fail_nth(data[0]); /* 0: no failure */
	int rc = af_policy_parse_text(&p, (const char *)data + 1, size - 1, "fuzz", &err);
	if (rc == 0) {
		af_policy_finish(&p);
		char line[4096];
		for (int i = 0; i < p.nrules; i++)
			af_rule_format(p.rules[i], line, sizeof line);
	}
	allocfail_fail_nth(0);
	injected += allocfail_injected() - before;
	if (rc < 0 && err.msg[0] == 0)
		abort(); /* a failure must always say why */
	af_policy_free(&p);
	return 0;
}

__attribute__((destructor)) static void report(void)
{
	fprintf(stderr, "fuzz_api_example: %lu allocation failures injected\n", injected);
}
