/* lockfile.c - creates ./lockfile.tmp exclusively, works, removes it: two
   copies running in one directory at once collide, hence --isolate. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int main(void)
{
	int fd = open("lockfile.tmp", O_CREAT | O_EXCL | O_WRONLY, 0600);
	if (fd < 0) {
		perror("lockfile: lockfile.tmp");
		return 1;
	}
	char *buf = malloc(4096);
	if (!buf) {
		fputs("lockfile: out of memory\n", stderr);
		unlink("lockfile.tmp");
		return 1;
	}
	memset(buf, 'x', 4096);
	usleep(20000);
	if (write(fd, buf, 4096) != 4096)
		return 1;
	free(buf);
	close(fd);
	unlink("lockfile.tmp");
	puts("done");
	return 0;
}
