/* contexts.c - calling contexts of a call site (see contexts.h). */
#define _GNU_SOURCE
#include "contexts.h"

#include <stdlib.h>
#include <string.h>

/* Frames of a chain: pointers into it and their lengths. */
struct chain {
	const char *f[32];
	size_t len[32];
	int n;
};

static void split(const char *s, struct chain *c)
{
	c->n = 0;
	while (*s && c->n < 32) {
		size_t k = strcspn(s, "<");
		c->f[c->n] = s;
		c->len[c->n++] = k;
		s += k + (s[k] == '<');
	}
}

static int same_frame(const struct chain *a, int i, const struct chain *b, int j)
{
	return a->len[i] == b->len[j] && !memcmp(a->f[i], b->f[j], a->len[i]);
}

static int same_prefix(const struct chain *a, const struct chain *b, int l)
{
	if (a->n < l || b->n < l)
		return 0;
	for (int i = 0; i < l; i++)
		if (!same_frame(a, i, b, i))
			return 0;
	return 1;
}

/* Distinct frames at position l among the chains that share a's first l,
   up to 2 (that is all the caller needs to know). */
static int continuations(const struct chain *v, int n, const struct chain *a, int l)
{
	int first = -1;
	for (int j = 0; j < n; j++) {
		if (v[j].n <= l || !same_prefix(&v[j], a, l))
			continue;
		if (first < 0)
			first = j;
		else if (!same_frame(&v[j], l, &v[first], l))
			return 2;
	}
	return first < 0 ? 0 : 1;
}

int contexts_of(char *const *chains, int n, int depth, int max, struct strv *out, int *cut)
{
	*cut = 0;
	if (n < 2 || depth < 1)
		return 0;
	struct chain *v = xmalloc(sizeof *v * (size_t)n);
	for (int i = 0; i < n; i++)
		split(chains[i], &v[i]);
	struct strv got = {0};
	for (int i = 0; i < n; i++) {
		/* through a wrapper's own plumbing (frames with one caller: a
		   function pointer's target called from one place), to the
		   first frame reached from two or more callers, and on while
		   each next frame is too */
		int l = 1;
		while (l - 1 < depth && l < v[i].n && continuations(v, n, &v[i], l) == 1)
			l++;
		int plumbing = l;
		while (l - 1 < depth && l < v[i].n && continuations(v, n, &v[i], l) >= 2)
			l++;
		if (l == plumbing)
			l = 1; /* one caller all the way up: the plain site */
		/* the context: the chain's first l frames */
		size_t bytes = (size_t)(v[i].f[l - 1] - chains[i]) + v[i].len[l - 1];
		char *ctx = strndup(chains[i], bytes);
		int dup = 0;
		for (int k = 0; k < got.n && !dup; k++)
			dup = !strcmp(got.v[k], ctx);
		if (!dup)
			strv_add(&got, ctx);
		free(ctx);
	}
	free(v);
	int added = 0;
	if (got.n >= 2) {
		for (int k = 0; k < got.n; k++) {
			if (added < max) {
				strv_add(out, got.v[k]);
				added++;
			} else {
				(*cut)++;
			}
		}
	}
	strv_free(&got);
	return added;
}
