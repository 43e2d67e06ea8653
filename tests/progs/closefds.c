/* closefds.c - closes every descriptor above 2, as daemons do, opens a data
   file (which gets a low number, maybe the one the shim's log had), writes
   to it around an allocation, and prints the allocation's outcome. The
   shim's lines must never land in the program's file. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	if (argc < 2)
		return 2;
	for (int fd = 3; fd < 4096; fd++)
		close(fd);
	int fd = open(argv[1], O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0 || write(fd, "DATA\n", 5) != 5)
		return 1;
	void *p = malloc(100);
	printf("%s\n", p ? "allocated" : "failed");
	free(p);
	close(fd);
	return 0;
}
