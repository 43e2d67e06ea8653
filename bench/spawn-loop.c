/* spawn-loop.c - the baseline for explore's throughput: run a command N
   times in a row, as explore's runner does (a new process group, output
   through pipes that are drained, a wait), and print runs per second. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: spawn-loop N COMMAND [ARGS...]\n");
		return 2;
	}
	int n = atoi(argv[1]);
	struct timespec a, b;
	clock_gettime(CLOCK_MONOTONIC, &a);
	for (int i = 0; i < n; i++) {
		int out[2], err[2];
		if (pipe2(out, O_CLOEXEC) || pipe2(err, O_CLOEXEC))
			return 1;
		pid_t pid = fork();
		if (pid == 0) {
			setpgid(0, 0);
			int in = open("/dev/null", O_RDONLY);
			dup2(in, 0);
			dup2(out[1], 1);
			dup2(err[1], 2);
			execvp(argv[2], argv + 2);
			_exit(127);
		}
		close(out[1]);
		close(err[1]);
		char buf[65536];
		struct pollfd pf[2] = {{out[0], POLLIN, 0}, {err[0], POLLIN, 0}};
		int open_fds = 2;
		while (open_fds) {
			poll(pf, 2, -1);
			for (int k = 0; k < 2; k++)
				if (pf[k].fd >= 0 && (pf[k].revents & (POLLIN | POLLHUP)) &&
				    read(pf[k].fd, buf, sizeof buf) <= 0) {
					close(pf[k].fd);
					pf[k].fd = -1;
					open_fds--;
				}
		}
		waitpid(pid, NULL, 0);
	}
	clock_gettime(CLOCK_MONOTONIC, &b);
	double s = (double)(b.tv_sec - a.tv_sec) + (double)(b.tv_nsec - a.tv_nsec) / 1e9;
	printf("%.1f\n", n / s);
	return 0;
}
