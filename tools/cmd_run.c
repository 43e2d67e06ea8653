/* cmd_run.c - `allocfail run`: run a command with the shim preloaded. */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
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
    "  --timeout SEC      kill the command's process group after SEC seconds and\n"
    "                     exit 124 (the command then runs in a process group of\n"
    "                     its own, as in explore's runs)\n"
    "  -h, --help         this text\n";

/* --timeout: wait for pid, its own process group, for secs at most;
   signals that would end us are passed on to the group. */
static int wait_timed(pid_t pid, double secs, const sigset_t *set)
{
	double end = mono_now() + secs;
	for (;;) {
		int st;
		pid_t w = waitpid(pid, &st, WNOHANG);
		if (w == pid)
			return shell_status(st);
		if (w < 0 && errno != EINTR) {
			warnx_("waitpid: %s", strerror(errno));
			return EXIT_INTERNAL;
		}
		double left = end - mono_now();
		if (left <= 0)
			break;
		struct timespec ts = {(time_t)left, (long)((left - (double)(time_t)left) * 1e9)};
		int sig = sigtimedwait(set, NULL, &ts);
		if (sig > 0 && sig != SIGCHLD)
			kill(-pid, sig);
	}
	kill(-pid, SIGKILL);
	while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
		;
	warnx_("run: no exit after %g s; the process group was killed", secs);
	return 124;
}

int cmd_run(int argc, char **argv)
{
	struct ruleopts o = {0};
	double timeout = 0;
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
		if (strcmp(argv[i], "--timeout") == 0) {
			if (i + 1 >= argc)
				die_usage("run: --timeout needs a value");
			timeout = opt_seconds("run", "--timeout", argv[++i]);
			continue;
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
	check_preloadable("", argv[i], path);
	char **env = child_env(&o, NULL);

	/* Like system(): the terminal's signals go to the child, and we
	   report how it ended. With a timeout the child has a process group
	   of its own, so that all of it can be killed, and what would end us
	   is passed on to it. */
	struct sigaction ign = {.sa_handler = SIG_IGN}, old_int, old_quit;
	sigset_t timed, old_mask;
	sigemptyset(&timed);
	if (timeout > 0) {
		int pass[] = {SIGCHLD, SIGINT, SIGQUIT, SIGTERM, SIGHUP};
		for (size_t k = 0; k < sizeof pass / sizeof *pass; k++)
			sigaddset(&timed, pass[k]);
		sigprocmask(SIG_BLOCK, &timed, &old_mask);
	} else {
		sigaction(SIGINT, &ign, &old_int);
		sigaction(SIGQUIT, &ign, &old_quit);
	}
	pid_t pid = fork();
	if (pid < 0) {
		warnx_("fork: %s", strerror(errno));
		return EXIT_INTERNAL;
	}
	if (pid == 0) {
		if (timeout > 0) {
			setpgid(0, 0);
			sigprocmask(SIG_SETMASK, &old_mask, NULL);
		} else {
			sigaction(SIGINT, &old_int, NULL);
			sigaction(SIGQUIT, &old_quit, NULL);
		}
		execve(path, argv + i, env);
		int e = errno;
		fprintf(stderr, "allocfail: cannot run '%s': %s\n", argv[i], strerror(e));
		_exit(e == ENOENT ? 127 : 126);
	}
	if (timeout > 0) {
		setpgid(pid, pid); /* whichever of the two runs first */
		return wait_timed(pid, timeout, &timed);
	}
	int st;
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR) {
			warnx_("waitpid: %s", strerror(errno));
			return EXIT_INTERNAL;
		}
	return shell_status(st);
}
