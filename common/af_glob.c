/* af_glob.c - allocation-free glob matching (see af_glob.h). */
#include "af_glob.h"

#include <stddef.h>

/* Matches one bracket expression at *pp against c; advances *pp past it.
   Returns 1 on match, 0 on no match, -1 on a malformed set. */
static int match_set(const char **pp, char c)
{
	const char *p = *pp + 1;
	int neg = 0, ok = 0;
	if (*p == '!' || *p == '^') {
		neg = 1;
		p++;
	}
	int first = 1;
	while (*p && (*p != ']' || first)) {
		char lo = *p;
		if (lo == '\\' && p[1])
			lo = *++p;
		char hi = lo;
		if (p[1] == '-' && p[2] && p[2] != ']') {
			p += 2;
			hi = *p;
			if (hi == '\\' && p[1])
				hi = *++p;
		}
		if ((unsigned char)c >= (unsigned char)lo && (unsigned char)c <= (unsigned char)hi)
			ok = 1;
		p++;
		first = 0;
	}
	if (*p != ']')
		return -1;
	*pp = p + 1;
	return ok != neg;
}

int af_glob(const char *pat, const char *s)
{
	const char *star_p = NULL, *star_s = NULL;
	while (*s) {
		if (*pat == '*') {
			while (*pat == '*')
				pat++;
			if (!*pat)
				return 1;
			star_p = pat;
			star_s = s;
			continue;
		}
		int ok;
		const char *next = pat + 1;
		if (*pat == '?') {
			ok = 1;
		} else if (*pat == '[') {
			next = pat;
			ok = match_set(&next, *s);
			if (ok < 0)
				return 0;
		} else if (*pat == '\\' && pat[1]) {
			ok = pat[1] == *s;
			next = pat + 2;
		} else {
			ok = *pat && *pat == *s;
		}
		if (ok) {
			pat = next;
			s++;
		} else if (star_p) {
			pat = star_p;
			s = ++star_s;
		} else {
			return 0;
		}
	}
	while (*pat == '*')
		pat++;
	return *pat == 0;
}

int af_glob_is_literal(const char *p)
{
	for (; *p; p++)
		if (*p == '*' || *p == '?' || *p == '[' || *p == '\\')
			return 0;
	return 1;
}

int af_glob_min_len(const char *p)
{
	int n = 0;
	for (; *p; p++) {
		if (*p == '*')
			continue;
		if (*p == '\\' && p[1]) {
			p++;
		} else if (*p == '[') {
			const char *q = p;
			if (match_set(&q, 'a') >= 0)
				p = q - 1;
		}
		n++;
	}
	return n;
}

const char *af_glob_check(const char *p)
{
	for (; *p; p++) {
		if (*p == '\\') {
			if (!p[1])
				return "trailing backslash";
			p++;
		} else if (*p == '[') {
			const char *q = p;
			if (match_set(&q, 'a') < 0)
				return "unterminated '['";
			p = q - 1;
		}
	}
	return NULL;
}
