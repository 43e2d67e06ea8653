/* af_rules_values.c - the syntax of values that rule files and the
   command line share: numbers, sizes (K, M, G: powers of 1024), durations,
   and "did you mean" suggestions for a misspelt word. Plain C, no
   allocation, no locale. */
#define _GNU_SOURCE
#include "af_rules.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

static int edit_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	if (la > 32 || lb > 32)
		return 99;
	int prev[34], cur[34];
	for (size_t j = 0; j <= lb; j++)
		prev[j] = (int)j;
	for (size_t i = 1; i <= la; i++) {
		cur[0] = (int)i;
		for (size_t j = 1; j <= lb; j++) {
			int c = prev[j - 1] + (a[i - 1] != b[j - 1]);
			if (prev[j] + 1 < c)
				c = prev[j] + 1;
			if (cur[j - 1] + 1 < c)
				c = cur[j - 1] + 1;
			cur[j] = c;
		}
		memcpy(prev, cur, sizeof(int) * (lb + 1));
	}
	return prev[lb];
}

const char *af_suggest(const char *word, const char *const *words, int n)
{
	const char *best = NULL;
	int bestd = 3;
	size_t lw = strlen(word);
	for (int i = 0; i < n; i++) {
		int d = edit_distance(word, words[i]);
		/* A prefix of a longer word is a near miss too (costly -> costly_order). */
		if (d >= bestd && lw >= 3 && strncmp(words[i], word, lw) == 0)
			d = 2;
		if (d < bestd && (size_t)d < (lw > 1 ? lw : 2)) {
			best = words[i];
			bestd = d;
		}
	}
	return best;
}

int af_parse_u64(const char *s, uint64_t *out)
{
	if (!*s)
		return -1;
	uint64_t v = 0;
	unsigned base = 10;
	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		base = 16;
		s += 2;
		if (!*s)
			return -1;
	}
	for (; *s; s++) {
		unsigned d;
		if (*s >= '0' && *s <= '9')
			d = (unsigned)(*s - '0');
		else if (base == 16 && *s >= 'a' && *s <= 'f')
			d = (unsigned)(*s - 'a' + 10);
		else if (base == 16 && *s >= 'A' && *s <= 'F')
			d = (unsigned)(*s - 'A' + 10);
		else
			return -1;
		if (v > (UINT64_MAX - d) / base)
			return -1;
		v = v * base + d;
	}
	*out = v;
	return 0;
}

int af_parse_size(const char *s, uint64_t *out)
{
	const char *p = s;
	uint64_t v = 0;
	if (*p < '0' || *p > '9')
		return -1;
	while (*p >= '0' && *p <= '9') {
		uint64_t d = (uint64_t)(*p++ - '0');
		if (v > (UINT64_MAX - d) / 10)
			return -1;
		v = v * 10 + d;
	}
	unsigned shift = 0;
	switch (*p) {
	case 'k': case 'K': shift = 10; break;
	case 'm': case 'M': shift = 20; break;
	case 'g': case 'G': shift = 30; break;
	case 't': case 'T': shift = 40; break;
	case 0: break;
	case 'b': case 'B':
		if (p[1])
			return -1;
		*out = v;
		return 0;
	default: return -1;
	}
	if (shift) {
		p++;
		if (strcmp(p, "") != 0 && strcmp(p, "B") != 0 && strcmp(p, "iB") != 0 &&
		    strcmp(p, "ib") != 0 && strcmp(p, "b") != 0)
			return -1;
		if (v > (UINT64_MAX >> shift))
			return -1;
		v <<= shift;
	}
	*out = v;
	return 0;
}

/* Decimal with an optional fraction: integer part and up to 17 fraction
   digits, as num / 10^scale. */
int af_parse_decimal(const char **ps, uint64_t *num, int *scale)
{
	const char *p = *ps;
	uint64_t v = 0;
	int sc = 0, digits = 0;
	while (*p >= '0' && *p <= '9') {
		uint64_t d = (uint64_t)(*p++ - '0');
		if (v > (UINT64_MAX - d) / 10)
			return -1;
		v = v * 10 + d;
		digits++;
	}
	if (*p == '.') {
		p++;
		while (*p >= '0' && *p <= '9') {
			uint64_t d = (uint64_t)(*p++ - '0');
			if (sc == 17 || v > (UINT64_MAX - d) / 10)
				return -1;
			v = v * 10 + d;
			sc++;
			digits++;
		}
	}
	if (!digits)
		return -1;
	*num = v;
	*scale = sc;
	*ps = p;
	return 0;
}

uint64_t af_pow10u(int n)
{
	uint64_t v = 1;
	while (n-- > 0)
		v *= 10;
	return v;
}

int af_parse_duration(const char *s, uint64_t *ns)
{
	uint64_t num;
	int scale;
	const char *p = s;
	if (af_parse_decimal(&p, &num, &scale) < 0)
		return -1;
	uint64_t unit;
	if (!*p || strcmp(p, "s") == 0)
		unit = 1000000000ull;
	else if (strcmp(p, "ms") == 0)
		unit = 1000000ull;
	else if (strcmp(p, "us") == 0)
		unit = 1000ull;
	else if (strcmp(p, "ns") == 0)
		unit = 1;
	else if (strcmp(p, "m") == 0 || strcmp(p, "min") == 0)
		unit = 60000000000ull;
	else if (strcmp(p, "h") == 0)
		unit = 3600000000000ull;
	else
		return -1;
	unsigned __int128 v = (unsigned __int128)num * unit / af_pow10u(scale);
	if (v > (unsigned __int128)UINT64_MAX / 2)
		return -1;
	*ns = (uint64_t)v;
	return 0;
}
