/* af_fd.c - the shim's descriptors, out of the program's way. A program
   may start with 0, 1 or 2 closed (`cmd 0<&-`), and what the shim opens
   must neither land there (the program's stderr came back on its stdin
   when libunwind's pipe took 0) nor take the low numbers the program's
   next open() gets. What stays open lives from AF_FD_HIGH up; while the
   constructor opens things (the rules, the log, libunwind and the
   libraries it needs), the missing low descriptors hold /dev/null and are
   closed again after. Raw system calls: the log reopens from the crash
   handler. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "af.h"
#include "af_log.h"

int af_fd_high(int fd)
{
	int high = (int)syscall(SYS_fcntl, fd, F_DUPFD_CLOEXEC, AF_FD_HIGH);
	if (high < 0) /* a descriptor limit under AF_FD_HIGH: at least above 2 */
		high = fd > 2 ? -1 : (int)syscall(SYS_fcntl, fd, F_DUPFD_CLOEXEC, 3);
	if (high < 0)
		return fd;
	syscall(SYS_close, fd);
	return high;
}

unsigned af_fd_plug(void)
{
	unsigned plugged = 0;
	for (int fd = 0; fd < 3; fd++) {
		if (syscall(SYS_fcntl, fd, F_GETFD) >= 0)
			continue;
		int n = (int)syscall(SYS_openat, AT_FDCWD, "/dev/null", O_RDWR | O_CLOEXEC);
		if (n < 0)
			break;
		if (n != fd) { /* a lower one was free meanwhile: not ours to fill */
			syscall(SYS_close, n);
			break;
		}
		plugged |= 1u << fd;
	}
	return plugged;
}

void af_fd_unplug(unsigned plugged)
{
	for (int fd = 0; fd < 3; fd++)
		if (plugged & (1u << fd))
			syscall(SYS_close, fd);
}
