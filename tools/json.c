/* json.c - a recursive-descent JSON reader and a string writer. */
#define _GNU_SOURCE
#include "json.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "af_fmt.h"
#include "af_tool.h"

struct parser {
	const char *p, *end;
	char *err;
	size_t errcap;
	int depth;
};

static int fail(struct parser *ps, const char *what)
{
	if (ps->err && !ps->err[0])
		snprintf(ps->err, ps->errcap, "%s at offset %ld", what, (long)(ps->end - ps->p));
	return -1;
}

static void ws(struct parser *ps)
{
	while (ps->p < ps->end && (*ps->p == ' ' || *ps->p == '\t' || *ps->p == '\n' || *ps->p == '\r'))
		ps->p++;
}

static int value(struct parser *ps, struct jv *v);

static void put_utf8(char **o, unsigned cp)
{
	char *q = *o;
	if (cp < 0x80) {
		*q++ = (char)cp;
	} else if (cp < 0x800) {
		*q++ = (char)(0xc0 | (cp >> 6));
		*q++ = (char)(0x80 | (cp & 0x3f));
	} else if (cp < 0x10000) {
		*q++ = (char)(0xe0 | (cp >> 12));
		*q++ = (char)(0x80 | ((cp >> 6) & 0x3f));
		*q++ = (char)(0x80 | (cp & 0x3f));
	} else {
		*q++ = (char)(0xf0 | (cp >> 18));
		*q++ = (char)(0x80 | ((cp >> 12) & 0x3f));
		*q++ = (char)(0x80 | ((cp >> 6) & 0x3f));
		*q++ = (char)(0x80 | (cp & 0x3f));
	}
	*o = q;
}

static int hex4(const char *p, unsigned *out)
{
	unsigned v = 0;
	for (int i = 0; i < 4; i++) {
		char c = p[i];
		v <<= 4;
		if (c >= '0' && c <= '9')
			v |= (unsigned)(c - '0');
		else if (c >= 'a' && c <= 'f')
			v |= (unsigned)(c - 'a' + 10);
		else if (c >= 'A' && c <= 'F')
			v |= (unsigned)(c - 'A' + 10);
		else
			return -1;
	}
	*out = v;
	return 0;
}

static int string(struct parser *ps, char **out)
{
	ps->p++; /* opening quote */
	const char *start = ps->p;
	while (ps->p < ps->end && *ps->p != '"') {
		if (*ps->p == '\\')
			ps->p++;
		ps->p++;
	}
	if (ps->p >= ps->end)
		return fail(ps, "unterminated string");
	char *s = xmalloc((size_t)(ps->p - start) + 1), *o = s;
	for (const char *q = start; q < ps->p; q++) {
		if (*q != '\\') {
			*o++ = *q;
			continue;
		}
		q++;
		switch (*q) {
		case 'n': *o++ = '\n'; break;
		case 't': *o++ = '\t'; break;
		case 'r': *o++ = '\r'; break;
		case 'b': *o++ = '\b'; break;
		case 'f': *o++ = '\f'; break;
		case 'u': {
			unsigned cp;
			if (q + 4 >= ps->p || hex4(q + 1, &cp) < 0) {
				free(s);
				return fail(ps, "bad \\u escape");
			}
			q += 4;
			if (cp >= 0xd800 && cp < 0xdc00 && q + 6 < ps->p && q[1] == '\\' && q[2] == 'u') {
				unsigned lo;
				if (hex4(q + 3, &lo) == 0 && lo >= 0xdc00 && lo < 0xe000) {
					cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
					q += 6;
				}
			}
			put_utf8(&o, cp);
			break;
		}
		default: *o++ = *q; break;
		}
	}
	*o = 0;
	ps->p++;
	*out = s;
	return 0;
}

static int grow(struct jv *v, int *cap)
{
	if (v->n == *cap) {
		*cap = *cap ? *cap * 2 : 4;
		v->items = xrealloc(v->items, sizeof *v->items * (size_t)*cap);
		if (v->t == J_OBJ)
			v->keys = xrealloc(v->keys, sizeof *v->keys * (size_t)*cap);
	}
	return 0;
}

/* When text (a number strtod took whole) is an integer, also hold it
   exactly in v->i and/or v->u. */
static void exact_integer(struct jv *v, const char *text)
{
	int neg = *text == '-';
	const char *d = text + neg;
	uint64_t mag = 0;
	for (; *d >= '0' && *d <= '9'; d++) {
		unsigned digit = (unsigned)(*d - '0');
		if (mag > (UINT64_MAX - digit) / 10)
			return; /* beyond 64 bits: the double alone */
		mag = mag * 10 + digit;
	}
	if (*d)
		return; /* a fraction or an exponent */
	if (!neg || mag == 0) {
		v->has_u = 1;
		v->u = mag;
	}
	if (mag <= (uint64_t)INT64_MAX) {
		v->has_i = 1;
		v->i = neg ? -(int64_t)mag : (int64_t)mag;
	} else if (neg && mag == (uint64_t)INT64_MAX + 1) {
		v->has_i = 1;
		v->i = INT64_MIN;
	}
}

static int value(struct parser *ps, struct jv *v)
{
	memset(v, 0, sizeof *v);
	ws(ps);
	if (ps->p >= ps->end)
		return fail(ps, "unexpected end");
	if (++ps->depth > 64)
		return fail(ps, "nested too deep");
	int rc = 0;
	char c = *ps->p;
	if (c == '{' || c == '[') {
		v->t = c == '{' ? J_OBJ : J_ARR;
		ps->p++;
		int cap = 0;
		ws(ps);
		if (ps->p < ps->end && *ps->p == (c == '{' ? '}' : ']')) {
			ps->p++;
		} else {
			for (;;) {
				grow(v, &cap);
				ws(ps);
				if (v->t == J_OBJ) {
					if (ps->p >= ps->end || *ps->p != '"')
						return fail(ps, "expected a key");
					if (string(ps, &v->keys[v->n]) < 0)
						return -1;
					ws(ps);
					if (ps->p >= ps->end || *ps->p != ':')
						return fail(ps, "expected ':'");
					ps->p++;
				}
				if (value(ps, &v->items[v->n]) < 0) {
					if (v->t == J_OBJ)
						free(v->keys[v->n]);
					return -1;
				}
				v->n++;
				ws(ps);
				if (ps->p < ps->end && *ps->p == ',') {
					ps->p++;
					continue;
				}
				if (ps->p < ps->end && *ps->p == (c == '{' ? '}' : ']')) {
					ps->p++;
					break;
				}
				return fail(ps, "expected ',' or a closing bracket");
			}
		}
	} else if (c == '"') {
		v->t = J_STR;
		rc = string(ps, &v->s);
	} else if (c == 't' && ps->end - ps->p >= 4 && !memcmp(ps->p, "true", 4)) {
		v->t = J_BOOL;
		v->b = 1;
		ps->p += 4;
	} else if (c == 'f' && ps->end - ps->p >= 5 && !memcmp(ps->p, "false", 5)) {
		v->t = J_BOOL;
		ps->p += 5;
	} else if (c == 'n' && ps->end - ps->p >= 4 && !memcmp(ps->p, "null", 4)) {
		v->t = J_NULL;
		ps->p += 4;
	} else if (c == '-' || (c >= '0' && c <= '9')) {
		char buf[64];
		size_t n = 0;
		while (ps->p < ps->end && n < sizeof buf - 1 && strchr("+-0123456789.eE", *ps->p))
			buf[n++] = *ps->p++;
		buf[n] = 0;
		char *endp;
		v->t = J_NUM;
		v->num = strtod(buf, &endp);
		if (*endp)
			return fail(ps, "bad number");
		exact_integer(v, buf);
	} else {
		return fail(ps, "unexpected character");
	}
	ps->depth--;
	return rc;
}

struct jv *json_parse(const char *text, size_t len, char *err, size_t errcap)
{
	struct parser ps = {text, text + len, err, errcap, 0};
	if (err && errcap)
		err[0] = 0;
	struct jv *v = xmalloc(sizeof *v);
	if (value(&ps, v) < 0) {
		json_free(v);
		return NULL;
	}
	ws(&ps);
	if (ps.p != ps.end) {
		fail(&ps, "trailing text");
		json_free(v);
		return NULL;
	}
	return v;
}

static void free_inner(struct jv *v)
{
	for (int i = 0; i < v->n; i++) {
		free_inner(&v->items[i]);
		if (v->t == J_OBJ)
			free(v->keys[i]);
	}
	free(v->items);
	free(v->keys);
	free(v->s);
}

void json_free(struct jv *v)
{
	if (!v)
		return;
	free_inner(v);
	free(v);
}

const struct jv *json_get(const struct jv *o, const char *key)
{
	if (!o || o->t != J_OBJ)
		return NULL;
	for (int i = 0; i < o->n; i++)
		if (o->keys[i] && strcmp(o->keys[i], key) == 0)
			return &o->items[i];
	return NULL;
}

const char *json_str(const struct jv *o, const char *key)
{
	const struct jv *v = json_get(o, key);
	return v && v->t == J_STR ? v->s : NULL;
}

long long json_as_int(const struct jv *v, long long def)
{
	if (!v || v->t != J_NUM)
		return def;
	if (v->has_i)
		return v->i;
	/* 2^63 is exact as a double; the cast of anything beyond is undefined */
	if (v->num >= -9223372036854775808.0 && v->num < 9223372036854775808.0)
		return (long long)v->num;
	return def;
}

long long json_int(const struct jv *o, const char *key, long long def)
{
	return json_as_int(json_get(o, key), def);
}

double json_num(const struct jv *o, const char *key, double def)
{
	const struct jv *v = json_get(o, key);
	return v && v->t == J_NUM ? v->num : def;
}

uint64_t json_u64(const struct jv *o, const char *key, uint64_t def)
{
	const struct jv *v = json_get(o, key);
	return v && v->t == J_NUM && v->has_u ? v->u : def;
}

int json_bool(const struct jv *o, const char *key, int def)
{
	const struct jv *v = json_get(o, key);
	return v && v->t == J_BOOL ? v->b : def;
}

void json_put_str(FILE *f, const char *s)
{
	fputc('"', f);
	put_escaped(f, s, af_json_escape);
	fputc('"', f);
}
