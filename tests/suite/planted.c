/* A library with planted allocation-failure bugs. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "planted.h"

struct table {
	int n;
	char **names;
};

struct table *table_open(int n)
{
	struct table *t = malloc(sizeof *t);
	if (!t)
		return NULL; /* handled */
	t->n = n;
	/* planted: unchecked, stored; only table_name reads it */
	t->names = malloc(sizeof *t->names * (size_t)n);
	for (int i = 0; t->names && i < n; i++)
		t->names[i] = "item";
	return t;
}

int table_count(const struct table *t)
{
	return t->n;
}

const char *table_name(const struct table *t, int i)
{
	return t->names[i];
}

void table_close(struct table *t)
{
	free(t->names);
	free(t);
}

char *copy(const char *s)
{
	size_t n = strlen(s) + 1;
	char *d = malloc(n);
	memcpy(d, s, n); /* planted: unchecked */
	return d;
}

char *join(const char *a, const char *b)
{
	char *d = malloc(strlen(a) + strlen(b) + 1);
	if (!d)
		return copy(""); /* planted: the failure becomes an empty result */
	strcpy(d, a);
	strcat(d, b);
	return d;
}
