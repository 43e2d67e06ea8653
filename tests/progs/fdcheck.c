/* fdcheck.c - what a program sees of its descriptors: whether 0, 1 and 2
   are open, every descriptor below 1000 that is, after an allocation (the
   rules may fail it), and the number its next open() gets. Everything is
   written to OUTFILE at the end, as 0-2 may be closed.
   Usage: fdcheck OUTFILE */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char report[4096];

static void add(const char *s)
{
	strncat(report, s, sizeof report - strlen(report) - 1);
}

static void look(const char *when)
{
	char line[512];
	snprintf(line, sizeof line, "%s: 0 %s, 1 %s, 2 %s; open below 1000:", when,
		 fcntl(0, F_GETFD) < 0 ? "closed" : "open", fcntl(1, F_GETFD) < 0 ? "closed" : "open",
		 fcntl(2, F_GETFD) < 0 ? "closed" : "open");
	add(line);
	/* by number, not by reading /proc/self/fd, which takes a descriptor */
	for (int fd = 0; fd < 1000; fd++) {
		if (fcntl(fd, F_GETFD) >= 0) {
			snprintf(line, sizeof line, " %d", fd);
			add(line);
		}
	}
	add("\n");
}

int main(int argc, char **argv)
{
	if (argc < 2)
		return 2;
	look("start");
	char *p = malloc(100);
	add(p ? "allocated\n" : "failed\n");
	free(p);
	look("after");
	int fd = open("/dev/null", O_RDONLY);
	char line[64];
	snprintf(line, sizeof line, "next open: %d\n", fd);
	add(line);
	int out = open(argv[1], O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (out < 0 || write(out, report, strlen(report)) < 0)
		return 1;
	return 0;
}
