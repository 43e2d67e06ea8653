/* census.c - read and merge census streams. */
#define _GNU_SOURCE
#include "census.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "af_tool.h"
#include "json.h"

struct site *census_find(struct census *c, const char *key)
{
	for (int i = 0; i < c->n; i++)
		if (strcmp(c->v[i]->key, key) == 0)
			return c->v[i];
	return NULL;
}

struct site *census_add(struct census *c, const char *key, const char *module, int runtime)
{
	struct site *s = census_find(c, key);
	if (s)
		return s;
	if (c->n == c->cap) {
		c->cap = c->cap ? c->cap * 2 : 64;
		c->v = xrealloc(c->v, sizeof *c->v * (size_t)c->cap);
	}
	s = xmalloc(sizeof *s);
	s->key = xstrdup(key);
	s->module = xstrdup(module ? module : "?");
	site_offset(key, &s->off);
	s->runtime = runtime;
	s->order = c->n;
	c->v[c->n++] = s;
	return s;
}

int census_read(struct census *c, const char *path)
{
	FILE *f = fopen(path, "r");
	if (!f)
		return -1;
	char *line = NULL;
	size_t cap = 0;
	ssize_t len;
	while ((len = getline(&line, &cap, f)) > 0) {
		char err[128];
		struct jv *v = json_parse(line, (size_t)len, err, sizeof err);
		if (!v) {
			c->errors++;
			continue;
		}
		const char *ev = json_str(v, "ev"), *key = json_str(v, "site");
		if (ev && key && !strcmp(ev, "context")) {
			struct site *s = census_find(c, key);
			const char *chain = json_str(v, "context");
			int dup = !s || !chain;
			for (int i = 0; !dup && i < s->nchains; i++)
				dup = !strcmp(s->chains[i], chain);
			if (!dup) {
				s->chains = xrealloc(s->chains, sizeof *s->chains * (size_t)(s->nchains + 1));
				s->chains[s->nchains++] = xstrdup(chain);
			}
		} else if (ev && key) {
			long pid = (long)json_int(v, "pid", 0);
			int k = 0;
			while (k < c->nprocs && c->procs[k].pid != pid)
				k++;
			if (k == c->nprocs) {
				c->procs = xrealloc(c->procs, sizeof *c->procs * (size_t)(k + 1));
				c->procs[k].pid = pid;
				c->procs[k].counted = 0;
				c->nprocs++;
			}
			c->procs[k].counted |= strcmp(ev, "count") == 0;
			struct site *s = census_add(c, key, json_str(v, "module"), json_bool(v, "runtime", 0));
			if (strcmp(ev, "site") == 0 && !s->first_fn && json_str(v, "fn")) {
				s->first_fn = xstrdup(json_str(v, "fn"));
				s->first_size = (uint64_t)json_int(v, "size", 0);
			} else if (strcmp(ev, "count") == 0) {
				s->calls += (uint64_t)json_int(v, "calls", 0);
				s->bytes += (uint64_t)json_int(v, "bytes", 0);
				s->small += (uint64_t)json_int(v, "small", 0);
				s->costly += (uint64_t)json_int(v, "costly", 0);
				s->injected += (uint64_t)json_int(v, "injected", 0);
			}
		}
		json_free(v);
	}
	free(line);
	fclose(f);
	return 0;
}

void census_symbolize(struct census *c)
{
	for (int i = 0; i < c->n; i++)
		if (!c->v[i]->symbolized) {
			symbolize(c->v[i]->module, c->v[i]->off, 0, &c->v[i]->sym);
			c->v[i]->symbolized = 1;
		}
}

const char *site_class(const struct site *s)
{
	if (s->small && s->costly)
		return "mixed";
	if (s->costly)
		return "costly";
	if (s->small)
		return "small";
	return s->first_size > 32768 ? "costly" : "small";
}

int census_uncounted(const struct census *c)
{
	int n = 0;
	for (int i = 0; i < c->nprocs; i++)
		n += !c->procs[i].counted;
	return n;
}

void census_free(struct census *c)
{
	free(c->procs);
	for (int i = 0; i < c->n; i++) {
		free(c->v[i]->key);
		free(c->v[i]->module);
		free(c->v[i]->first_fn);
		for (int k = 0; k < c->v[i]->nchains; k++)
			free(c->v[i]->chains[k]);
		free(c->v[i]->chains);
		free(c->v[i]);
	}
	free(c->v);
	memset(c, 0, sizeof *c);
}
