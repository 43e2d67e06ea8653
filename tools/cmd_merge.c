/* cmd_merge.c - `allocfail merge`: combine the JSON reports of explore
   shards into one report (table, JSON, JUnit, SARIF). */
#define _GNU_SOURCE
#include <stdio.h>
#include <string.h>

#include "af_tool.h"
#include "explore.h"

static const char usage[] =
    "usage: allocfail merge [--json FILE] [--junit FILE] [--sarif FILE] REPORT.json...\n"
    "Combine reports written by `allocfail explore --json` (typically one per\n"
    "--shard K/N job) into one; findings are deduplicated. Exit status as for\n"
    "explore: 1 when there is a bug.\n";

int cmd_merge(int argc, char **argv)
{
	const char *json = NULL, *junit = NULL, *sarif = NULL;
	struct report r = {0};
	int nfiles = 0;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
			fputs(usage, stdout);
			return 0;
		}
		const char **dst = !strcmp(argv[i], "--json")	 ? &json
				   : !strcmp(argv[i], "--junit") ? &junit
				   : !strcmp(argv[i], "--sarif") ? &sarif
								 : NULL;
		if (dst) {
			if (i + 1 >= argc)
				die_usage("merge: %s needs a value", argv[i]);
			*dst = argv[++i];
			continue;
		}
		if (argv[i][0] == '-' && argv[i][1])
			die_usage("merge: unknown option '%s'", argv[i]);
		char err[512];
		if (read_json(argv[i], &r, err, sizeof err) < 0)
			die_usage("merge: %s", err);
		nfiles++;
	}
	if (!nfiles)
		die_usage("merge: no report given (see allocfail merge --help)");
	check_report_paths("merge", json, junit, sarif);
	r.shard_k = r.shard_n = 1;
	report_sort(&r);
	int rc = write_reports(&r, json, junit, sarif);
	return rc ? rc : report_bugs(&r) ? 1 : 0;
}
