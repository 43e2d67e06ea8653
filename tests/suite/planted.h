struct table;
struct table *table_open(int n);
int table_count(const struct table *t);
const char *table_name(const struct table *t, int i);
void table_close(struct table *t);
char *copy(const char *s);
char *join(const char *a, const char *b);
