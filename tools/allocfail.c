/* allocfail.c - the allocfail command: a dispatcher for its subcommands. */
#define _GNU_SOURCE
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>

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

/* The command's own stack. libdw's line-table reader takes more than
   128 KiB of it, so under a small RLIMIT_STACK (ulimit -s 128) naming a
   line crashed the command. There the command runs on a thread with a
   stack of TOOL_STACK, and so do the threads it starts; the programs it
   runs keep the limit they were given. The first thread blocks every
   signal, so that signals meant for the process reach the command's
   thread (run --timeout waits for SIGCHLD with sigtimedwait). */
#define TOOL_STACK ((size_t)8 << 20)

struct call {
	const struct command *c;
	int argc, ret;
	char **argv;
	sigset_t mask;
};

static void *on_own_stack(void *p)
{
	struct call *k = p;
	pthread_sigmask(SIG_SETMASK, &k->mask, NULL);
	k->ret = k->c->fn(k->argc, k->argv);
	return NULL;
}

static int dispatch(const struct command *c, int argc, char **argv)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_STACK, &rl) < 0 || rl.rlim_cur == RLIM_INFINITY ||
	    rl.rlim_cur >= TOOL_STACK)
		return c->fn(argc, argv);
	pthread_attr_t a;
	struct call k = {.c = c, .argc = argc, .argv = argv};
	sigset_t all;
	sigfillset(&all);
	pthread_t t;
	if (pthread_attr_init(&a) || pthread_attr_setstacksize(&a, TOOL_STACK) ||
	    pthread_setattr_default_np(&a))
		return c->fn(argc, argv);
	pthread_sigmask(SIG_BLOCK, &all, &k.mask);
	if (pthread_create(&t, &a, on_own_stack, &k) != 0) {
		pthread_sigmask(SIG_SETMASK, &k.mask, NULL);
		return c->fn(argc, argv);
	}
	pthread_join(t, NULL);
	return k.ret;
}

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
			return dispatch(&commands[i], argc - 1, argv + 1);
	const char *names[sizeof commands / sizeof *commands];
	for (size_t i = 0; i < sizeof commands / sizeof *commands; i++)
		names[i] = commands[i].name;
	const char *sug = af_suggest(argv[1], names, (int)(sizeof commands / sizeof *commands));
	if (sug)
		die_usage("unknown command '%s' (did you mean '%s'?)", argv[1], sug);
	die_usage("unknown command '%s' (see allocfail --help)", argv[1]);
}
