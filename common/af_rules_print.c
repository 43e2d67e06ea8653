/* af_rules_print.c - the normalized form of rules and settings, what
   `allocfail check` prints and the logs quote; it parses back to the same
   rules. */
#include <string.h>

#include "af_fmt.h"
#include "af_rules.h"

static void put_size(struct af_buf *b, uint64_t v)
{
	af_buf_fmt(b, "%llu", (unsigned long long)v);
}

/* v then suffix (which needs no quoting) as one item of a value, quoted
   when it holds what would end or split it */
static void put_item_with(struct af_buf *b, const char *v, const char *suffix)
{
	if (!strpbrk(v, " \t#;\"")) {
		af_buf_puts(b, v);
		af_buf_puts(b, suffix);
		return;
	}
	af_buf_putc(b, '"');
	for (const char *c = v; *c; c++) {
		if (*c == '"' || *c == '\\')
			af_buf_putc(b, '\\');
		af_buf_putc(b, *c);
	}
	af_buf_puts(b, suffix);
	af_buf_putc(b, '"');
}

/* v with '"' and '\\' escaped, for inside quotes. */
static void put_escaped(struct af_buf *b, const char *v)
{
	for (const char *c = v; *c; c++) {
		if (*c == '"' || *c == '\\')
			af_buf_putc(b, '\\');
		af_buf_putc(b, *c);
	}
}

/* A site, with its calling context: one item, quoted whole if need be. */
static void put_site(struct af_buf *b, const struct af_siteref *ref)
{
	int quote = strpbrk(ref->module, " \t#;\"") != NULL;
	for (int k = 0; k < ref->nctx; k++)
		quote |= strpbrk(ref->ctx[k].module, " \t#;\"") != NULL;
	if (quote)
		af_buf_putc(b, '"');
	for (int k = -1; k < ref->nctx; k++) {
		const struct af_siteref *f = k < 0 ? ref : &ref->ctx[k];
		if (k >= 0)
			af_buf_putc(b, '<');
		if (quote)
			put_escaped(b, f->module);
		else
			af_buf_puts(b, f->module);
		af_buf_fmt(b, "+0x%llx", (unsigned long long)f->offset);
	}
	if (quote)
		af_buf_putc(b, '"');
}

static void put_item(struct af_buf *b, const char *v)
{
	put_item_with(b, v, "");
}

static void put_list(struct af_buf *b, const char *key, const struct af_list *l)
{
	af_buf_fmt(b, " %s=", key);
	for (int i = 0; i < l->n; i++) {
		if (i)
			af_buf_putc(b, ',');
		put_item(b, l->v[i]);
	}
}

size_t af_rule_format(const struct af_rule *r, char *out, size_t cap)
{
	struct af_buf b;
	af_buf_init(&b, out, cap);
	af_buf_puts(&b, af_action_names[r->action]);
	if (r->given & (1u << AF_K_FN)) {
		af_buf_puts(&b, " fn=");
		int first = 1;
		for (int f = 0; f < AF_FN_COUNT; f++)
			if (r->fnmask & (1u << f)) {
				af_buf_fmt(&b, "%s%s", first ? "" : ",", af_fn_names[f]);
				first = 0;
			}
	}
	if (r->nsizes) {
		af_buf_puts(&b, " size=");
		for (int i = 0; i < r->nsizes; i++) {
			const struct af_size *z = &r->sizes[i];
			if (i)
				af_buf_putc(&b, ',');
			if (z->kind == AF_SZ_SMALL)
				af_buf_puts(&b, "small");
			else if (z->kind == AF_SZ_COSTLY)
				af_buf_puts(&b, "costly");
			else if (z->lo == z->hi)
				put_size(&b, z->lo);
			else if (z->lo == 0) {
				af_buf_puts(&b, "<=");
				put_size(&b, z->hi);
			} else if (z->hi == UINT64_MAX) {
				af_buf_puts(&b, ">=");
				put_size(&b, z->lo);
			} else {
				put_size(&b, z->lo);
				af_buf_puts(&b, "..");
				put_size(&b, z->hi);
			}
		}
	}
	if (r->caller.n)
		put_list(&b, "caller", &r->caller);
	if (r->in.n)
		put_list(&b, "in", &r->in);
	if (r->notin.n)
		put_list(&b, "notin", &r->notin);
	if (r->module.n)
		put_list(&b, "module", &r->module);
	if (r->nsites) {
		af_buf_puts(&b, " site=");
		for (int i = 0; i < r->nsites; i++) {
			if (i)
				af_buf_putc(&b, ',');
			put_site(&b, &r->sites[i]);
		}
	}
	if (r->thread.n)
		put_list(&b, "thread", &r->thread);
	if (r->given & (1u << AF_K_DEPTH))
		af_buf_fmt(&b, " depth=%d", r->depth);
	if (r->given & (1u << AF_K_NTH))
		af_buf_fmt(&b, " nth=%llu", (unsigned long long)r->nth);
	if (r->given & (1u << AF_K_TIMES))
		af_buf_fmt(&b, " times=%lld", (long long)r->times);
	if (r->given & (1u << AF_K_SPACE))
		af_buf_fmt(&b, " space=%llu", (unsigned long long)r->space);
	if (r->given & (1u << AF_K_INTERVAL))
		af_buf_fmt(&b, " interval=%llu", (unsigned long long)r->interval);
	if (r->given & (1u << AF_K_PROBABILITY))
		af_buf_fmt(&b, " probability=%s", r->prob_text);
	return b.len;
}

static void put_duration(struct af_buf *b, uint64_t ns)
{
	if (ns % 1000000000ull == 0)
		af_buf_fmt(b, "%llus", (unsigned long long)(ns / 1000000000ull));
	else if (ns % 1000000ull == 0)
		af_buf_fmt(b, "%llums", (unsigned long long)(ns / 1000000ull));
	else if (ns % 1000ull == 0)
		af_buf_fmt(b, "%lluus", (unsigned long long)(ns / 1000ull));
	else
		af_buf_fmt(b, "%lluns", (unsigned long long)ns);
}

size_t af_settings_format(const struct af_settings *s, char *out, size_t cap)
{
	static const char *const oom[] = {"abort", "fail", "wait"};
	struct af_buf b;
	af_buf_init(&b, out, cap);
	af_buf_puts(&b, "set");
	for (int k = 0; k < AF_S_COUNT; k++) {
		if (!(s->given & (1u << k)))
			continue;
		af_buf_fmt(&b, " %s=", af_setting_names[k]);
		switch (k) {
		case AF_S_COSTLY_ORDER: af_buf_fmt(&b, "%u", s->costly_order); break;
		case AF_S_PAGE_SIZE: put_size(&b, s->page_size); break;
		case AF_S_SMALL: af_buf_puts(&b, s->small_noretry ? "noretry" : "retry"); break;
		case AF_S_RETRY_WARN: af_buf_fmt(&b, "%u", s->retry_warn); break;
		case AF_S_RETRY_TIMEOUT: put_duration(&b, s->retry_timeout_ns); break;
		case AF_S_OOM: af_buf_puts(&b, oom[s->oom]); break;
		case AF_S_LIMIT: put_size(&b, s->limit); break;
		case AF_S_SEED: af_buf_fmt(&b, "%llu", (unsigned long long)s->seed); break;
		case AF_S_DEPTH: af_buf_fmt(&b, "%d", s->depth); break;
		case AF_S_LOG: put_item(&b, s->log ? s->log : "stderr"); break;
		}
	}
	return b.len;
}
