/* allocfail.c - the allocfail command: a dispatcher for its subcommands. */
#include <stdio.h>
#include <string.h>

#include "af_tool.h"

static const char usage[] =
    "usage: allocfail COMMAND [OPTIONS] [ARGS...]\n"
    "Make the allocation-failure paths of programs run.\n"
    "\n"
    "commands:\n"
    "  explore   fail each allocation call site in turn; report what breaks\n"
    "  run       run a program with the shim and rules\n"
    "  check     validate rule files and print them normalized\n"
    "  sites     list a program's allocation call sites\n"
    "  report    render an injection log for people\n"
    "  merge     combine the JSON reports of explore shards\n"
    "\n"
    "  --help, --version\n"
    "See allocfail(1) and allocfail-rules(5).\n";

struct command {
	const char *name;
	int (*fn)(int, char **);
};

static const struct command commands[] = {
    {"explore", cmd_explore},
    {"run", cmd_run},
    {"check", cmd_check},
    {"sites", cmd_sites},
    {"report", cmd_report},
    {"merge", cmd_merge},
};

int main(int argc, char **argv)
{
	if (argc < 2)
		die_usage("no command given (see allocfail --help)");
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
	    strcmp(argv[1], "help") == 0) {
		fputs(usage, stdout);
		return 0;
	}
	if (strcmp(argv[1], "--version") == 0) {
		printf("allocfail %s\n", ALLOCFAIL_VERSION);
		return 0;
	}
	for (size_t i = 0; i < sizeof commands / sizeof *commands; i++)
		if (strcmp(argv[1], commands[i].name) == 0)
			return commands[i].fn(argc - 1, argv + 1);
	const char *names[sizeof commands / sizeof *commands];
	for (size_t i = 0; i < sizeof commands / sizeof *commands; i++)
		names[i] = commands[i].name;
	const char *sug = af_suggest(argv[1], names, (int)(sizeof commands / sizeof *commands));
	if (sug)
		die_usage("unknown command '%s' (did you mean '%s'?)", argv[1], sug);
	die_usage("unknown command '%s' (see allocfail --help)", argv[1]);
}
