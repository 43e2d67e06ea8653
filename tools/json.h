/* json.h - a small JSON reader (for the shim's logs and census, and for
   `allocfail merge`) and helpers to write JSON. */
#ifndef AF_JSON_H
#define AF_JSON_H

#include <stdio.h>

enum jtype { J_NULL, J_BOOL, J_NUM, J_STR, J_ARR, J_OBJ };

struct jv {
	enum jtype t;
	int b;
	double num;
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
long long json_int(const struct jv *obj, const char *key, long long def);
int json_bool(const struct jv *obj, const char *key, int def);

/* Write s as a JSON string literal. */
void json_put_str(FILE *f, const char *s);

#endif
