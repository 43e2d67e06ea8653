/* cmd_report.c - `allocfail report LOG`: render an injection log for people,
   symbolizing what the crash handler could only record raw. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "af_tool.h"
#include "json.h"
#include "symbolize.h"

static const char usage[] =
    "usage: allocfail report [--frames N] LOG...\n"
    "Render injection logs (ALLOCFAIL_LOG, allocfail run --log) for people:\n"
    "each injected failure, canary, OOM event and crash, with symbolized\n"
    "stacks (function, file:line, module+offset).\n"
    "\n"
    "  --frames N   frames shown per stack (default 12)\n";

static void frame_line(const struct jv *f, int first, int exact, const char *lead)
{
	const char *pc = json_str(f, "pc");
	struct sym s = sym_of_frame(f, exact);
	char where[1024];
	sym_where(&s, where, sizeof where);
	printf("    %s %-60s %s%s\n", first ? lead : "  ", where[0] ? where : "?", pc ? tty(pc) : "?",
	       json_bool(f, "runtime", 0) ? " [C runtime]" : "");
}

static void stack(const struct jv *st, int max, int crash, int from)
{
	if (!st || st->t != J_ARR)
		return;
	int shown = 0;
	for (int i = from; i < st->n && shown < max; i++, shown++)
		frame_line(&st->items[i], i == from, crash && i == 0, crash ? "in" : "at");
	if (st->n - from > max)
		printf("       ... %d more frames\n", st->n - from - max);
}

/* A log line's field for printing (tty()): "?" when a hand-made line
   lacks it. */
static const char *str_or(const struct jv *v, const char *key)
{
	const char *s = json_str(v, key);
	return s ? tty(s) : "?";
}

int cmd_report(int argc, char **argv)
{
	int max = 12, nfiles = 0;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
			fputs(usage, stdout);
			return 0;
		}
		if (!strcmp(argv[i], "--frames")) {
			if (i + 1 >= argc)
				die_usage("report: --frames needs a value");
			max = (int)opt_number("report", "--frames", argv[++i], 1, 1000);
			argv[i - 1] = argv[i] = NULL;
			continue;
		}
		if (argv[i][0] == '-')
			die_usage("report: unknown option '%s'", argv[i]);
		nfiles++;
	}
	if (!nfiles)
		die_usage("report: no log given (see allocfail report --help)");
	int injections = 0, crashes = 0, canaries = 0, ooms = 0, bad = 0;
	for (int i = 1; i < argc; i++) {
		if (!argv[i])
			continue;
		FILE *f = fopen(argv[i], "r");
		if (!f)
			die_usage("report: cannot read '%s': %m", argv[i]);
		char *line = NULL;
		size_t cap = 0;
		ssize_t len;
		int lineno = 0;
		while ((len = getline(&line, &cap, f)) > 0) {
			lineno++;
			char err[128];
			struct jv *v = json_parse(line, (size_t)len, err, sizeof err);
			if (!v) {
				warnx_("%s:%d: not a log line (%s)", argv[i], lineno, err);
				bad++;
				continue;
			}
			const char *ev = json_str(v, "ev");
			long long seq = json_int(v, "seq", 0), pid = json_int(v, "pid", 0);
			const char *thread = str_or(v, "thread");
			if (ev && !strcmp(ev, "inject")) {
				injections++;
				printf("#%lld injected failure: %s(%lld), %s  [pid %lld, thread %s, rule %s]\n",
				       seq, str_or(v, "fn"), json_int(v, "size", 0), str_or(v, "class"),
				       pid, thread, str_or(v, "rule"));
				if (json_str(v, "context"))
					printf("    in the calling context %s\n", tty(json_str(v, "context")));
				stack(json_get(v, "stack"), max, 0, 0);
			} else if (ev && (!strcmp(ev, "canary") || !strcmp(ev, "oom"))) {
				int oom = ev[0] == 'o';
				oom ? ooms++ : canaries++;
				printf("#%lld %s: %s(%lld) retried %lld times for %lld ms%s%s  [pid %lld]\n", seq,
				       oom ? "out of memory" : "canary (possible allocation deadlock)",
				       str_or(v, "fn"), json_int(v, "size", 0), json_int(v, "tries", 0),
				       json_int(v, "ms", 0), oom ? ", oom=" : "",
				       oom ? str_or(v, "action") : "", pid);
				stack(json_get(v, "stack"), max, 0, 0);
			} else if (ev && !strcmp(ev, "impossible")) {
				printf("#%lld impossible request: %s(%lld) can never succeed (%s): failed "
				       "at once, not retried as %s would  [pid %lld]\n",
				       seq, str_or(v, "fn"), json_int(v, "size", 0), str_or(v, "why"),
				       str_or(v, "instead_of"), pid);
				stack(json_get(v, "stack"), max, 0, 0);
			} else if (ev && !strcmp(ev, "crash")) {
				crashes++;
				const struct jv *rec = json_get(v, "recent");
				const struct jv *after = json_get(v, "after");
				char aft[96];
				if (after && after->t == J_NUM)
					snprintf(aft, sizeof aft, "%lld allocations after an injected failure",
						 json_as_int(after, 0));
				else
					snprintf(aft, sizeof aft, "on a thread where no failure was injected");
				printf("#%lld crash: %s (%s %s), %s  [pid %lld, thread %s]\n", seq,
				       str_or(v, "signal"),
				       json_bool(v, "overflow", 0) ? "stack overflow at" : "address",
				       str_or(v, "addr"), aft, pid, thread);
				if (rec && rec->t == J_ARR && rec->n) {
					printf("    recent injected failures:");
					for (int k = 0; k < rec->n; k++)
						printf(" #%lld", json_as_int(&rec->items[k], 0));
					printf("\n");
				}
				stack(json_get(v, "stack"), max, 1, 0);
			} else if (ev && !strcmp(ev, "seed")) {
				printf("#%lld seed %llu (ALLOCFAIL_SEED repeats the run)  [pid %lld]\n", seq,
				       (unsigned long long)json_u64(v, "seed", 0), pid);
			} else {
				warnx_("%s:%d: unknown event '%s'", argv[i], lineno, ev ? ev : "?");
				bad++;
			}
			json_free(v);
		}
		/* a directory opens, and fails at the first read */
		if (ferror(f))
			die_usage("report: cannot read '%s': %s", argv[i], strerror(errno));
		free(line);
		fclose(f);
	}
	printf("# %d injected failure%s, %d crash%s, %d canar%s, %d OOM event%s\n", injections,
	       injections == 1 ? "" : "s", crashes, crashes == 1 ? "" : "es", canaries,
	       canaries == 1 ? "y" : "ies", ooms, ooms == 1 ? "" : "s");
	return bad ? EXIT_USAGE : 0;
}
