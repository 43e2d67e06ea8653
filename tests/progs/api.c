/* api.c - every call of allocfail.h; prints one line per check so the
   test can compare a run with the shim and one without. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "allocfail.h"

#define NOINLINE __attribute__((noinline))

static NOINLINE void *target(void)
{
	return malloc(100);
}

static NOINLINE void *other(void)
{
	return malloc(200);
}

/* target() is what the test's rule fails; other() is left alone */
static int fails(void)
{
	void *p = target();
	free(p);
	return p == NULL;
}

static int other_fails(void)
{
	void *p = other();
	free(p);
	return p == NULL;
}

int main(void)
{
	setvbuf(stdout, NULL, _IONBF, 0);
	printf("active %d\n", allocfail_active());
	printf("plain %d\n", fails());

	unsigned a = allocfail_nofail_save();
	printf("nofail %d\n", fails());
	unsigned b = allocfail_nofail_save(); /* nested */
	allocfail_nofail_restore(b);
	printf("nofail-nested %d\n", fails());
	allocfail_nofail_restore(a);
	printf("after-nofail %d\n", fails());

	unsigned s = allocfail_suspend();
	printf("suspended %d\n", fails());
	allocfail_resume(s);
	printf("resumed %d\n", fails());

	unsigned long before = allocfail_injected();
	printf("fail_nth %d\n", allocfail_fail_nth(3));
	int seq[5];
	for (int i = 0; i < 5; i++)
		seq[i] = other_fails();
	printf("nth-sequence %d%d%d%d%d\n", seq[0], seq[1], seq[2], seq[3], seq[4]);
	printf("injected +%lu\n", allocfail_injected() - before);
	allocfail_fail_nth(2);
	allocfail_fail_nth(0); /* disarmed */
	printf("disarmed %d%d%d\n", other_fails(), other_fails(), other_fails());
	allocfail_fail_nth(1);
	s = allocfail_suspend();
	printf("nth-suspended %d\n", other_fails());
	allocfail_resume(s);
	allocfail_fail_nth(0);

	unsigned r = allocfail_noretry_save();
	allocfail_noretry_restore(r);
	printf("noretry-cookie %u\n", r);

	long tok = allocfail_reserve(4096);
	printf("reserve %s\n", tok > 0 ? "token" : tok == 0 ? "none" : "error");
	printf("reserved-alloc %d\n", fails());
	printf("unreserve %d\n", allocfail_unreserve(tok));
	printf("unreserve-again %d\n", allocfail_unreserve(tok));
	printf("after-reserve %d\n", fails());
	return 0;
}
