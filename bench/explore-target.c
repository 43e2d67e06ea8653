/* explore-target.c - a small program with 24 allocation call sites, each
   handled (message, exit 1): what explore's throughput is measured on. */
#include <stdio.h>
#include <stdlib.h>

#define SITE(k)                                                                      \
	static __attribute__((noinline)) void *site##k(void)                         \
	{                                                                            \
		void *p = malloc(16 * (k + 1));                                      \
		if (!p) {                                                            \
			fprintf(stderr, "explore-target: out of memory at site %d\n", k); \
			exit(1);                                                     \
		}                                                                    \
		return p;                                                            \
	}
SITE(0) SITE(1) SITE(2) SITE(3) SITE(4) SITE(5) SITE(6) SITE(7) SITE(8) SITE(9) SITE(10)
SITE(11) SITE(12) SITE(13) SITE(14) SITE(15) SITE(16) SITE(17) SITE(18) SITE(19) SITE(20)
SITE(21) SITE(22) SITE(23)

int main(void)
{
	void *(*sites[])(void) = {site0,  site1,  site2,  site3,  site4,  site5,  site6,  site7,
				  site8,  site9,  site10, site11, site12, site13, site14, site15,
				  site16, site17, site18, site19, site20, site21, site22, site23};
	unsigned long sum = 0;
	for (unsigned i = 0; i < sizeof sites / sizeof *sites; i++) {
		void *p = sites[i]();
		sum += (unsigned long)i;
		free(p);
	}
	printf("%lu\n", sum);
	return 0;
}
