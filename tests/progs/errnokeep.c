/* errnokeep.c - malloc and free leave errno alone even when the system
   calls the allocator makes behind the program's back fail: a seccomp
   filter makes every madvise fail with EINVAL, and jemalloc is told (by
   the test, MALLOC_CONF) to purge freed pages at once, with madvise.
   Built with -fno-builtin: GCC otherwise assumes that free() keeps errno
   and never reads it again. Prints the counts; exits 0 when both are 0,
   1 when not, 2 when no seccomp filter can be installed here. */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/syscall.h>

static int deny_madvise(void)
{
	struct sock_filter f[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_madvise, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (EINVAL & SECCOMP_RET_DATA)),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog prog = {.len = sizeof f / sizeof *f, .filter = f};
	return prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) ||
	       prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog);
}

int main(void)
{
	if (deny_madvise()) {
		perror("errnokeep: seccomp");
		return 2;
	}
	int by_malloc = 0, by_free = 0;
	for (int i = 0; i < 2000; i++) {
		size_t n = (size_t)(64 + i % 64) << 12; /* 256 KiB to 512 KiB */
		errno = 777;
		char *p = malloc(n);
		if (!p)
			return 3;
		by_malloc += errno != 777;
		p[0] = 1;
		errno = 777;
		free(p);
		by_free += errno != 777;
	}
	printf("errno changed by malloc %d times, by free %d times\n", by_malloc, by_free);
	return by_malloc || by_free;
}
