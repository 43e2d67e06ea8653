/* symbolize.c - offline symbolization for the command: libdw (DWARF, with
   separate debug files) first, the shim's ELF symbol reader as fallback,
   and C++ names demangled with libstdc++'s __cxa_demangle when present.
   Results are cached by module and offset. One lock covers the cache and
   libdw, which is not thread-safe: explore classifies runs in parallel
   worker threads, and the frames a crash handler recorded raw are named
   here. */
#define _GNU_SOURCE
#include "symbolize.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "af_dwarf.h"
#include "af_elf.h"
#include "af_fmt.h"
#include "af_tool.h"
#include "json.h"

struct entry {
	char *module;
	uint64_t off;
	int exact;
	struct sym s;
	struct entry *next;
};

#define NBUCKETS 4096
static struct entry *buckets[NBUCKETS];

struct symfile {
	char *path;
	struct af_symtab *st;
	struct symfile *next;
};
static struct symfile *symfiles;

static char *(*demangle_fn)(const char *, char *, size_t *, int *);

static const char *demangle(const char *versioned)
{
	/* symbol versions (name@@GLIBC_2.34) are not part of the name */
	char name[1024];
	snprintf(name, sizeof name, "%s", versioned);
	char *at = strchr(name, '@');
	if (at && at != name)
		*at = 0;
	static int tried;
	if (!tried) {
		tried = 1;
		void *h = dlopen("libstdc++.so.6", RTLD_NOW | RTLD_LOCAL);
		if (h)
			*(void **)&demangle_fn = dlsym(h, "__cxa_demangle");
	}
	if (demangle_fn && name[0] == '_' && name[1] == 'Z') {
		int status;
		char *d = demangle_fn(name, NULL, NULL, &status);
		if (d && status == 0)
			return d;
		free(d);
	}
	return xstrdup(name);
}

static struct af_symtab *symtab(const char *path)
{
	for (struct symfile *f = symfiles; f; f = f->next)
		if (strcmp(f->path, path) == 0)
			return f->st;
	struct symfile *f = xmalloc(sizeof *f);
	f->path = xstrdup(path);
	f->st = af_symtab_load(path);
	f->next = symfiles;
	symfiles = f;
	return f->st;
}

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

static void symbolize_locked(const char *module, uint64_t off, int exact, struct sym *out);

void symbolize(const char *module, uint64_t off, int exact, struct sym *out)
{
	memset(out, 0, sizeof *out);
	if (!module || !*module || module[0] == '?')
		return;
	pthread_mutex_lock(&lock);
	symbolize_locked(module, off, exact, out);
	pthread_mutex_unlock(&lock);
}

static void symbolize_locked(const char *module, uint64_t off, int exact, struct sym *out)
{
	unsigned h = (unsigned)((off * 0x9e3779b97f4a7c15ull) >> 52) % NBUCKETS;
	for (struct entry *e = buckets[h]; e; e = e->next)
		if (e->off == off && e->exact == exact && strcmp(e->module, module) == 0) {
			*out = e->s;
			return;
		}
	uint64_t vaddr = exact || off == 0 ? off : off - 1;
	const char *name = NULL, *file = NULL;
	uint64_t foff;
	int line = 0;
	af_dwarf_func(module, vaddr, &name, &foff);
	af_dwarf_srcline(module, vaddr, &file, &line);
	if (!name) {
		const struct af_sym *s = af_symtab_find(symtab(module), vaddr);
		if (s)
			name = s->name;
	}
	struct entry *e = xmalloc(sizeof *e);
	e->module = xstrdup(module);
	e->off = off;
	e->exact = exact;
	e->s.func = name ? demangle(name) : NULL;
	e->s.file = file ? xstrdup(file) : NULL;
	e->s.line = line;
	e->next = buckets[h];
	buckets[h] = e;
	*out = e->s;
}

int site_offset(const char *site, uint64_t *off)
{
	const char *plus = site ? strrchr(site, '+') : NULL;
	if (!plus || strncmp(plus + 1, "0x", 2) != 0)
		return -1;
	char *end;
	*off = strtoull(plus + 3, &end, 16);
	return *end == 0 || *end == ' ' ? 0 : -1;
}

const char *sym_where(const struct sym *s, char *buf, size_t cap)
{
	buf[0] = 0;
	const char *file = s->file;
	if (file) {
		/* keep the last two components: dir/file.c */
		const char *last = strrchr(file, '/');
		if (last) {
			const char *q = last;
			while (q > file && q[-1] != '/')
				q--;
			file = q > file ? q : file;
			if (file[0] == '.' && file[1] == '.' && file[2] == '/')
				file = last + 1;
		}
	}
	/* names from the program's symbol and line tables: for a terminal */
	struct af_buf b;
	af_buf_init(&b, buf, cap);
	if (s->func)
		af_buf_text(&b, s->func);
	if (file) {
		af_buf_puts(&b, s->func ? " (" : "(");
		af_buf_text(&b, file);
		af_buf_fmt(&b, ":%d)", s->line);
	}
	return buf;
}

struct sym sym_of_frame(const struct jv *fr, int exact)
{
	struct sym s = {json_str(fr, "func"), json_str(fr, "file"), (int)json_int(fr, "line", 0)};
	const char *module = json_str(fr, "module");
	uint64_t off;
	if ((!s.func || !s.file) && module && site_offset(json_str(fr, "pc"), &off) == 0) {
		struct sym d;
		symbolize(module, off, exact, &d);
		if (d.func)
			s.func = d.func;
		if (!s.file) {
			s.file = d.file;
			s.line = d.line;
		}
	}
	return s;
}
