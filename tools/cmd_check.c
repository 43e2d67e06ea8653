/* cmd_check.c - `allocfail check`: parse, validate and print rule files in
   their normalized form, with the shim's own parser. */
#define _GNU_SOURCE
#include <stdio.h>
#include <string.h>

#include "af_match.h"
#include "af_tool.h"

static const char usage[] =
    "usage: allocfail check [--quiet] FILE...\n"
    "Parse and validate rule files; print the rules in normalized form, each\n"
    "with the file:line it came from. Exit 0 when all are valid, 2 when not.\n";

int cmd_check(int argc, char **argv)
{
	int quiet = 0, nfiles = 0;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
			fputs(usage, stdout);
			return 0;
		}
		if (strcmp(argv[i], "-q") == 0 || strcmp(argv[i], "--quiet") == 0) {
			quiet = 1;
			continue;
		}
		if (argv[i][0] == '-' && argv[i][1])
			die_usage("check: unknown option '%s'", argv[i]);
		nfiles++;
	}
	if (!nfiles)
		die_usage("check: no rule file given (see allocfail check --help)");
	int status = 0;
	for (int i = 1; i < argc; i++) {
		if (argv[i][0] == '-' && argv[i][1])
			continue;
		struct af_policy p;
		struct af_error err;
		af_policy_init(&p);
		if (af_policy_parse_file(&p, argv[i], &err) < 0) {
			fprintf(stderr, "allocfail: %s\n", err.msg);
			status = EXIT_USAGE;
			af_policy_free(&p);
			continue;
		}
		af_policy_finish(&p);
		if (!quiet) {
			char line[8192];
			if (nfiles > 1)
				printf("# %s\n", argv[i]);
			if (p.set.given) {
				af_settings_format(&p.set, line, sizeof line);
				printf("%s\n", line);
			}
			for (int r = 0; r < p.nrules; r++) {
				af_rule_format(p.rules[r], line, sizeof line);
				printf("%-60s # %s:%d\n", line, p.rules[r]->file, p.rules[r]->line);
			}
			printf("# %d rule%s; small requests are those of at most %llu bytes\n",
			       p.nrules, p.nrules == 1 ? "" : "s",
			       (unsigned long long)af_policy_threshold(&p.set));
		}
		af_policy_free(&p);
	}
	return status;
}
