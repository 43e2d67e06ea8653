/* cmd_sites.c - `allocfail sites`: run a command once with no injection and
   print the census of its allocation call sites. */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "af_tool.h"
#include "census.h"
#include "contexts.h"
#include "json.h"
#include "runner.h"

static const char usage[] =
    "usage: allocfail sites [--json] [--all] [--context N] [--stdin FILE] [--] COMMAND [ARGS...]\n"
    "Run COMMAND once with the shim and no injection, and print its allocation\n"
    "call sites: MODULE+0xOFFSET (as site= rules take it), function, file:line,\n"
    "calls, bytes and size class. Sites in the C runtime (allocations the\n"
    "runtime makes for itself) are marked, and hidden unless --all.\n"
    "\n"
    "  --json         machine-readable output\n"
    "  --all          include C runtime sites in the table\n"
    "  --context N    under a site reached from several callers, its calling\n"
    "                 contexts up to N frames above it, as site= rules take them\n"
    "                 (default 4; 0: none)\n"
    "  --stdin FILE   the command's standard input (default: /dev/null)\n"
    "  --timeout SEC  give up after SEC seconds (default: none)\n";

/* The outermost frame a context names, symbolized where it lies in the
   site's own module (the census names modules of frames by base name). */
static void caller_of(const struct site *s, const char *ctx, struct sym *out)
{
	memset(out, 0, sizeof *out);
	const char *last = strrchr(ctx, '<');
	last = last ? last + 1 : ctx;
	const char *base = strrchr(s->module, '/');
	base = base ? base + 1 : s->module;
	size_t bl = strlen(base);
	uint64_t off;
	if (!strncmp(last, base, bl) && last[bl] == '+' && site_offset(last, &off) == 0)
		symbolize(s->module, off, 0, out);
}

/* The site's calling contexts, as JSON objects or as indented lines, with
   the outermost caller each names; returns how many. */
static int put_contexts(const struct site *s, int depth, int json)
{
	struct strv ctx = {0};
	int cut;
	contexts_of(s->chains, s->nchains, depth, 1 << 20, &ctx, &cut);
	for (int j = 0; j < ctx.n; j++) {
		struct sym up;
		caller_of(s, ctx.v[j], &up);
		if (json) {
			printf("%s{\"site\":", j ? "," : "");
			json_put_str(stdout, ctx.v[j]);
			printf(",\"function\":");
			if (up.func)
				json_put_str(stdout, up.func);
			else
				printf("null");
			printf("}");
		} else {
			char where[1024];
			sym_where(&up, where, sizeof where);
			printf("  %s  < %s\n", tty(ctx.v[j]), where[0] ? where : "?");
		}
	}
	int n = ctx.n;
	strv_free(&ctx);
	return n;
}

static int cmp_calls(const void *a, const void *b)
{
	const struct site *x = *(struct site *const *)a, *y = *(struct site *const *)b;
	if (x->calls != y->calls)
		return x->calls < y->calls ? 1 : -1;
	return x->order - y->order;
}

int cmd_sites(int argc, char **argv)
{
	int json = 0, all = 0, i = 1, context = 4;
	const char *stdin_path = NULL;
	double timeout = 0;
	for (; i < argc; i++) {
		if (strcmp(argv[i], "--") == 0) {
			i++;
			break;
		}
		if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
			fputs(usage, stdout);
			return 0;
		}
		if (!strcmp(argv[i], "--json"))
			json = 1;
		else if (!strcmp(argv[i], "--all"))
			all = 1;
		else if (!strcmp(argv[i], "--context") && i + 1 < argc)
			context = (int)opt_number("sites", "--context", argv[++i], 0, 8);
		else if ((!strcmp(argv[i], "--stdin") || !strcmp(argv[i], "--timeout") ||
			  !strcmp(argv[i], "--context")) && i + 1 >= argc)
			die_usage("sites: %s needs a value", argv[i]);
		else if (!strcmp(argv[i], "--stdin"))
			stdin_path = argv[++i];
		else if (!strcmp(argv[i], "--timeout"))
			timeout = opt_seconds("sites", "--timeout", argv[++i]);
		else if (argv[i][0] == '-')
			die_usage("sites: unknown option '%s' (see allocfail sites --help)", argv[i]);
		else
			break;
	}
	if (i >= argc)
		die_usage("sites: no command given (see allocfail sites --help)");
	char *path = find_command(argv[i]);
	if (!path)
		die_usage("sites: cannot run '%s': %s", argv[i], strerror(errno));
	check_preloadable("", argv[i], path);
	if (stdin_path && access(stdin_path, R_OK) != 0)
		die_usage("sites: cannot read '%s': %s", stdin_path, strerror(errno));

	char dir[PATH_MAX];
	snprintf(dir, sizeof dir, "%s/allocfail-sites-XXXXXX", scratch_parent(1));
	if (!mkdtemp(dir)) {
		warnx_("sites: cannot create a temporary directory in %s: %s", scratch_parent(1),
		       strerror(errno));
		return EXIT_INTERNAL;
	}
	char *cpath = xasprintf("%s/census", dir);
	char *extra[] = {xasprintf("ALLOCFAIL_CENSUS=%s", cpath),
			 context ? xasprintf("ALLOCFAIL_CONTEXT=%d", context) : NULL, NULL};
	/* no rules, log or summary from the caller's environment: a census
	   injects nothing */
	char **env = child_env(NULL, (const char *const *)extra);
	struct runspec rs = {.argv = argv + i, .env = env, .stdin_path = stdin_path, .timeout = timeout};
	struct runres rr;
	if (run_child(&rs, &rr) < 0)
		die_usage("sites: cannot run '%s': %s", argv[i], strerror(errno));
	struct census c = {0};
	census_read(&c, cpath);
	unlink(cpath);
	rmdir(dir);
	if (rr.exec_failed)
		die_usage("sites: cannot run '%s': %s", argv[i], strerror(rr.exec_failed));
	census_symbolize(&c);
	qsort(c.v, (size_t)c.n, sizeof *c.v, cmp_calls);

	int st = rr.timed_out ? -1 : shell_status(rr.wstatus);
	if (json) {
		printf("{\"command\":[");
		for (int k = i; k < argc; k++) {
			if (k > i)
				putchar(',');
			json_put_str(stdout, argv[k]);
		}
		printf("],\"status\":%d,\"timed_out\":%s,\"sites\":[", st, rr.timed_out ? "true" : "false");
		for (int k = 0; k < c.n; k++) {
			struct site *s = c.v[k];
			printf("%s\n{\"site\":", k ? "," : "");
			json_put_str(stdout, s->key);
			printf(",\"module\":");
			json_put_str(stdout, s->module);
			printf(",\"function\":");
			if (s->sym.func)
				json_put_str(stdout, s->sym.func);
			else
				printf("null");
			printf(",\"file\":");
			if (s->sym.file)
				json_put_str(stdout, s->sym.file);
			else
				printf("null");
			printf(",\"line\":%d,\"calls\":%llu,\"bytes\":%llu,\"small\":%llu,\"costly\":%llu,"
			       "\"class\":\"%s\",\"runtime\":%s,\"contexts\":[",
			       s->sym.line, (unsigned long long)s->calls, (unsigned long long)s->bytes,
			       (unsigned long long)s->small, (unsigned long long)s->costly, site_class(s),
			       s->runtime ? "true" : "false");
			put_contexts(s, context, 1);
			printf("]}");
		}
		printf("\n]}\n");
	} else {
		int shown = 0, hidden = 0, contexts = 0;
		printf("%-32s %10s %12s %-6s  %s\n", "SITE", "CALLS", "BYTES", "CLASS",
		       "FUNCTION (FILE:LINE)");
		for (int k = 0; k < c.n; k++) {
			struct site *s = c.v[k];
			if (s->runtime && !all) {
				hidden++;
				continue;
			}
			char where[1024];
			sym_where(&s->sym, where, sizeof where);
			printf("%-32s %10llu %12llu %-6s  %s%s\n", tty(s->key), (unsigned long long)s->calls,
			       (unsigned long long)s->bytes, site_class(s), where,
			       s->runtime ? "  [C runtime]" : "");
			shown++;
			contexts += put_contexts(s, context, 0);
		}
		printf("# %d call site%s", shown, shown == 1 ? "" : "s");
		if (contexts)
			printf(", %d calling contexts of those reached from several callers", contexts);
		if (hidden)
			printf(", and %d in the C runtime (--all shows them)", hidden);
		printf("\n");
	}
	int uncounted = census_uncounted(&c);
	if (uncounted)
		warnx_("sites: note: %d process%s ended without running exit handlers (_exit, a "
		       "signal); the calls and bytes of %s sites are missing",
		       uncounted, uncounted == 1 ? "" : "es", uncounted == 1 ? "its" : "their");
	if (rr.deadlocked)
		warnx_("sites: the command deadlocked (its one thread waits for good on a lock) and "
		       "was killed; the census is partial");
	else if (rr.timed_out)
		warnx_("sites: the command did not finish in %g s; the census is partial", timeout);
	else if (st != 0)
		warnx_("sites: note: the command exited with status %d", st);
	runres_free(&rr);
	census_free(&c);
	return 0;
}
