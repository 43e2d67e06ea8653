/* test_contexts.c - which calling contexts of a call site explore fails. */
#include <string.h>

#include "contexts.h"
#include "harness.h"

static char *joined(const struct strv *s)
{
	static char buf[4096];
	buf[0] = 0;
	for (int i = 0; i < s->n; i++) {
		if (i)
			strcat(buf, " ");
		strcat(buf, s->v[i]);
	}
	return buf;
}

static const char *ctx(char *const *chains, int n, int depth, int max, int *cut)
{
	struct strv out = {0};
	contexts_of(chains, n, depth, max, &out, cut);
	const char *j = joined(&out);
	strv_free(&out);
	return j;
}

/* a wrapper with three callers, each called from one place: one frame */
static void wrapper_three_callers(void)
{
	char *c[] = {"w+0x10<a+0x20<m+0x1", "w+0x10<b+0x30<m+0x2", "w+0x10<c+0x40<m+0x3",
		     "w+0x10<a+0x20<m+0x1"};
	int cut;
	CHECK_STR(ctx(c, 4, 4, 64, &cut), "w+0x10<a+0x20 w+0x10<b+0x30 w+0x10<c+0x40");
	CHECK_EQ(cut, 0);
}

/* one caller all the way up (within depth): the plain site says it all */
static void one_caller(void)
{
	char *c[] = {"w+0x10<a+0x20<m+0x1<s+0x1", "w+0x10<a+0x20<m+0x1<s+0x2"};
	int cut;
	CHECK_STR(ctx(c, 2, 2, 64, &cut), "");
	/* a function with one caller, itself called from two places: through
	   it to them */
	char *d[] = {"w+0x10<a+0x20<m+0x1", "w+0x10<a+0x20<m+0x2"};
	CHECK_STR(ctx(d, 2, 4, 64, &cut), "w+0x10<a+0x20<m+0x1 w+0x10<a+0x20<m+0x2");
}

/* a wrapper of a wrapper: extends while the frames so far have callers
   from two places */
static void wrapper_of_wrapper(void)
{
	char *c[] = {"x+0x1<xs+0x2<p+0x3<m+0x9", "x+0x1<xs+0x2<q+0x4<m+0x9", "x+0x1<r+0x5<m+0x8"};
	int cut;
	CHECK_STR(ctx(c, 3, 4, 64, &cut), "x+0x1<xs+0x2<p+0x3 x+0x1<xs+0x2<q+0x4 x+0x1<r+0x5");
}

/* a wrapper's plumbing, one caller each, passed through to its callers
   (sqlite3MemMalloc < mallocWithAlarm < sqlite3Malloc < callers) */
static void plumbing(void)
{
	char *c[] = {"m+0x1<w+0x2<s+0x3<a+0x4<x+0x9", "m+0x1<w+0x2<s+0x3<b+0x5<x+0x9",
		     "m+0x1<w+0x2<s+0x3<a+0x4<y+0x8"};
	int cut;
	CHECK_STR(ctx(c, 3, 4, 64, &cut),
		  "m+0x1<w+0x2<s+0x3<a+0x4<x+0x9 m+0x1<w+0x2<s+0x3<b+0x5 m+0x1<w+0x2<s+0x3<a+0x4<y+0x8");
	CHECK_STR(ctx(c, 3, 3, 64, &cut), "m+0x1<w+0x2<s+0x3<a+0x4 m+0x1<w+0x2<s+0x3<b+0x5");
	/* beyond depth before it branches: the plain site */
	CHECK_STR(ctx(c, 3, 2, 64, &cut), "");
}

/* bounded by depth, and by max (the rest counted) */
static void bounds(void)
{
	char *c[] = {"w+0x1<a+0x2<b+0x3", "w+0x1<a+0x2<c+0x4", "w+0x1<d+0x5<e+0x6"};
	int cut;
	CHECK_STR(ctx(c, 3, 1, 64, &cut), "w+0x1<a+0x2 w+0x1<d+0x5");
	CHECK_STR(ctx(c, 3, 4, 2, &cut), "w+0x1<a+0x2<b+0x3 w+0x1<a+0x2<c+0x4");
	CHECK_EQ(cut, 1);
	CHECK_STR(ctx(c, 3, 0, 64, &cut), "");
}

int main(void)
{
	static const struct h_test tests[] = {T(wrapper_three_callers), T(one_caller),
					      T(wrapper_of_wrapper), T(plumbing), T(bounds)};
	return h_run(tests, sizeof tests / sizeof *tests);
}
