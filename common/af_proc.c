/* af_proc.c - see af_proc.h. Raw open/read and no allocation: the shim
   calls it inside an allocation, at --fork's fork point. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "af_fmt.h"
#include "af_proc.h"

/* /proc/PID/NAME into buf (NUL-terminated); its length, or -1. */
static long read_proc(int pid, const char *name, char *buf, size_t cap)
{
	char path[64];
	af_fmt(path, sizeof path, "/proc/%d/%s", pid, name);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	ssize_t n = read(fd, buf, cap - 1);
	close(fd);
	if (n < 0)
		return -1;
	buf[n] = 0;
	return (long)n;
}

/* A hexadecimal number at p (with or without 0x); the text after it, or
   NULL when there is none. */
static const char *hex(const char *p, uint64_t *v)
{
	while (*p == ' ' || *p == '\t')
		p++;
	if (p[0] == '0' && p[1] == 'x')
		p += 2;
	const char *start = p;
	*v = 0;
	for (;; p++) {
		int d = *p >= '0' && *p <= '9'	 ? *p - '0'
			: *p >= 'a' && *p <= 'f' ? *p - 'a' + 10
						 : -1;
		if (d < 0)
			return p == start ? NULL : p;
		*v = *v << 4 | (uint64_t)d;
	}
}

/* The value of a line "\nName:\t..." of /proc/PID/status (never its
   first line, Name:) */
static const char *field(const char *status, const char *name)
{
	const char *p = strstr(status, name);
	return p ? p + strlen(name) : NULL;
}

#define BIT(s) ((uint64_t)1 << ((s) - 1))

int af_proc_deadlocked(int pid)
{
	char buf[4096]; /* Threads: is past the memory figures */
	if (read_proc(pid, "status", buf, sizeof buf) < 0)
		return 0;
	const char *th = field(buf, "\nThreads:\t"), *cgt = field(buf, "\nSigCgt:\t");
	uint64_t caught;
	if (!th || strncmp(th, "1\n", 2) != 0 || !cgt || !hex(cgt, &caught))
		return 0;
	/* the crash signals end a process rather than resume it; 32 and 33
	   are glibc's (cancellation, setxid) */
	uint64_t harmless = BIT(SIGSEGV) | BIT(SIGBUS) | BIT(SIGILL) | BIT(SIGFPE) | BIT(SIGABRT) |
			    BIT(SIGTRAP) | BIT(SIGSYS) | BIT(32) | BIT(33);
	if (caught & ~harmless)
		return 0;
	if (read_proc(pid, "syscall", buf, sizeof buf) <= 0)
		return 0;
	const char *p = buf;
	long nr = 0;
	while (*p >= '0' && *p <= '9')
		nr = nr * 10 + (*p++ - '0');
	if (p == buf || nr != SYS_futex)
		return 0;
	uint64_t a[4];
	for (int i = 0; i < 4; i++)
		if (!(p = hex(p, &a[i])))
			return 0;
	unsigned op = (unsigned)a[1], cmd = op & 127; /* FUTEX_CMD_MASK */
	int private = (op & 128) != 0;		     /* FUTEX_PRIVATE_FLAG */
	/* FUTEX_WAIT, FUTEX_LOCK_PI, FUTEX_WAIT_BITSET, FUTEX_LOCK_PI2; the
	   fourth argument is the timeout */
	return private && (cmd == 0 || cmd == 6 || cmd == 9 || cmd == 13) && a[3] == 0;
}
