/* cmd_merge.c - `allocfail merge`: combine the JSON reports of explore
   shards into one report (table, JSON, JUnit, SARIF). */
#define _GNU_SOURCE
#include <stdio.h>
#include <string.h>

#include "af_tool.h"
#include "explore.h"

static const char usage[] =
    "usage: allocfail merge [--json FILE] [--junit FILE] [--sarif FILE] [--baseline FILE]\n"
    "                       [--write-baseline FILE] REPORT.json...\n"
    "Combine reports written by `allocfail explore --json` (typically one per\n"
    "--shard K/N job) into one; findings are deduplicated and grouped again.\n"
    "Exit status as for explore: 1 when there is a new bug.\n";

int cmd_merge(int argc, char **argv)
{
	const char *json = NULL, *junit = NULL, *sarif = NULL, *baseline = NULL, *write_base = NULL;
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
				   : !strcmp(argv[i], "--baseline") ? &baseline
				   : !strcmp(argv[i], "--write-baseline") ? &write_base
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
	if (write_base)
		check_report_paths("merge", write_base, NULL, NULL);
	char err[512];
	if (baseline && report_read_baseline(&r, baseline, err, sizeof err) < 0)
		die_usage("merge: %s", err);
	r.shard_k = r.shard_n = 1;
	report_group(&r);
	int rc = write_reports(&r, json, junit, sarif);
	if (write_base && write_baseline(write_base, &r) < 0)
		rc = EXIT_INTERNAL;
	return rc ? rc : report_bugs(&r) ? 1 : 0;
}
