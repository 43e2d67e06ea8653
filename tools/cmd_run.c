/* cmd_run.c - `allocfail run`: run a command with the shim preloaded. */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "af_tool.h"

static const char usage[] =
    "usage: allocfail run [OPTIONS] [--] COMMAND [ARGS...]\n"
    "Run COMMAND with liballocfail.so preloaded; exit with its status\n"
    "(128 + the signal number when it is killed).\n"
    "\n"
    "  --rules FILE       rule file (see allocfail-rules(5))\n"
    "  --rule 'RULE'      one more rule, after those of the file (repeatable)\n"
    "  --set KEY=VALUE    a global setting, as on a `set` line (repeatable)\n"
    "  --log FILE         append a JSON line per injected failure, canary, OOM\n"
    "  --summary          print allocations and failures by call site at exit\n"
    "  --seed N           seed for probability triggers\n"
    "  --backend NAME     jemalloc (default) or next (glibc, or the ASan runtime)\n"
    "  -h, --help         this text\n";

int cmd_run(int argc, char **argv)
{
	struct ruleopts o = {0};
	int i = 1;
	for (; i < argc; i++) {
		if (strcmp(argv[i], "--") == 0) {
			i++;
			break;
		}
		if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
			fputs(usage, stdout);
			return 0;
		}
		if (ruleopts_parse(&o, argc, argv, &i))
			continue;
		if (argv[i][0] == '-')
			die_usage("run: unknown option '%s' (see allocfail run --help)", argv[i]);
		break;
	}
	if (i >= argc)
		die_usage("run: no command given (see allocfail run --help)");
	ruleopts_check(&o);
	char *path = find_command(argv[i]);
	if (!path) {
		warnx_("cannot run '%s': %s", argv[i], strerror(errno));
		return 127;
	}
	if (is_static_elf(path))
		die_usage("'%s' is statically linked: LD_PRELOAD cannot reach its allocator",
			  argv[i]);
	char **env = child_env(&o, NULL);

	/* Like system(): the terminal's signals go to the child, and we
	   report how it ended. */
	struct sigaction ign = {.sa_handler = SIG_IGN}, old_int, old_quit;
	sigaction(SIGINT, &ign, &old_int);
	sigaction(SIGQUIT, &ign, &old_quit);
	pid_t pid = fork();
	if (pid < 0) {
		warnx_("fork: %s", strerror(errno));
		return EXIT_INTERNAL;
	}
	if (pid == 0) {
		sigaction(SIGINT, &old_int, NULL);
		sigaction(SIGQUIT, &old_quit, NULL);
		execve(path, argv + i, env);
		int e = errno;
		fprintf(stderr, "allocfail: cannot run '%s': %s\n", argv[i], strerror(e));
		_exit(e == ENOENT ? 127 : 126);
	}
	int st;
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR) {
			warnx_("waitpid: %s", strerror(errno));
			return EXIT_INTERNAL;
		}
	return shell_status(st);
}
