/* json.h - a small JSON reader (for the shim's logs and census, and for
   `allocfail merge`) and helpers to write JSON. */
#ifndef AF_JSON_H
#define AF_JSON_H

#include <stdint.h>
#include <stdio.h>

enum jtype { J_NULL, J_BOOL, J_NUM, J_STR, J_ARR, J_OBJ };

struct jv {
	enum jtype t;
	int b;
	double num;      /* every number, rounded to a double */
	/* integers exactly: a seed or a byte count above 2^53 does not
	   survive the double */
	unsigned has_i : 1; /* an integer that int64_t holds: i */
	unsigned has_u : 1; /* a non-negative integer that uint64_t holds: u */
	int64_t i;
	uint64_t u;
	char *s;
	int n;           /* array items / object members */
	struct jv *items;
	char **keys;     /* objects */
};

/* NULL on error, with a message in err. */
struct jv *json_parse(const char *text, size_t len, char *err, size_t errcap);
void json_free(struct jv *v);
const struct jv *json_get(const struct jv *obj, const char *key);
const char *json_str(const struct jv *obj, const char *key);
/* A number as an integer: exact when the text is an integer in range;
   a fraction is truncated; def when not a number or out of range. */
long long json_as_int(const struct jv *v, long long def);
long long json_int(const struct jv *obj, const char *key, long long def);
double json_num(const struct jv *obj, const char *key, double def);
/* An unsigned 64-bit integer, exactly; def for anything else. */
uint64_t json_u64(const struct jv *obj, const char *key, uint64_t def);
int json_bool(const struct jv *obj, const char *key, int def);

/* Write s as a JSON string literal. */
void json_put_str(FILE *f, const char *s);

#endif
