/* af_dwarf.c - libdw (see af_dwarf.h). One Dwfl per object file, reported
   at its ELF addresses, cached by path. */
#define _GNU_SOURCE
#include "af_dwarf.h"

#include <elfutils/libdwfl.h>
#include <string.h>

#include "af_rules.h"

static const Dwfl_Callbacks callbacks = {
	.find_elf = dwfl_build_id_find_elf,
	.find_debuginfo = dwfl_standard_find_debuginfo,
	.section_address = dwfl_offline_section_address,
};

/* Paths made absolute with the compilation directory, kept for the life
   of the process (the same few files recur). */
struct path {
	char *s;
	struct path *next;
};
static struct path *paths;

static const char *absolute(const char *dir, const char *file)
{
	char buf[4096];
	size_t n = 0;
	if (file[0] != '/' && dir && dir[0] == '/') {
		size_t d = strlen(dir);
		if (d + strlen(file) + 2 > sizeof buf)
			return file;
		memcpy(buf, dir, d);
		n = d;
		if (n && buf[n - 1] != '/')
			buf[n++] = '/';
	}
	/* copy file, resolving "./" and "../" lexically */
	for (const char *p = file; *p;) {
		const char *slash = strchr(p, '/');
		size_t len = slash ? (size_t)(slash - p) : strlen(p);
		if (len == 1 && p[0] == '.') {
			/* skip */
		} else if (len == 2 && p[0] == '.' && p[1] == '.' && n > 1) {
			while (n > 1 && buf[n - 1] == '/')
				n--;
			while (n > 1 && buf[n - 1] != '/')
				n--;
		} else {
			if (n + len + 2 > sizeof buf)
				return file;
			if (n && buf[n - 1] != '/')
				buf[n++] = '/';
			else if (!n && file[0] == '/')
				buf[n++] = '/';
			memcpy(buf + n, p, len);
			n += len;
		}
		p += len + (slash ? 1 : 0);
		if (!slash)
			break;
	}
	buf[n] = 0;
	for (struct path *q = paths; q; q = q->next)
		if (strcmp(q->s, buf) == 0)
			return q->s;
	struct path *q = af_mem_alloc(sizeof *q);
	char *s = q ? af_mem_alloc(n + 1) : NULL;
	if (!s) {
		af_mem_free(q);
		return file;
	}
	memcpy(s, buf, n + 1);
	q->s = s;
	q->next = paths;
	paths = q;
	return s;
}

struct obj {
	char *path;
	Dwfl *dwfl;
	Dwfl_Module *mod;
	GElf_Addr bias;
	struct obj *next;
};

static struct obj *objs;

static struct obj *object(const char *path)
{
	for (struct obj *o = objs; o; o = o->next)
		if (strcmp(o->path, path) == 0)
			return o->mod ? o : NULL;
	struct obj *o = af_mem_alloc(sizeof *o);
	if (!o)
		return NULL;
	size_t n = strlen(path);
	o->path = af_mem_alloc(n + 1);
	if (!o->path) {
		af_mem_free(o);
		return NULL;
	}
	memcpy(o->path, path, n + 1);
	o->next = objs;
	objs = o; /* remembered even when it fails, so it is tried once */
	o->dwfl = dwfl_begin(&callbacks);
	if (!o->dwfl)
		return NULL;
	dwfl_report_begin(o->dwfl);
	o->mod = dwfl_report_elf(o->dwfl, path, path, -1, 0, false);
	dwfl_report_end(o->dwfl, NULL, NULL);
	if (!o->mod)
		return NULL;
	if (!dwfl_module_getelf(o->mod, &o->bias)) {
		o->mod = NULL;
		return NULL;
	}
	return o;
}

int af_dwarf_srcline(const char *path, uint64_t vaddr, const char **file, int *line)
{
	struct obj *o = object(path);
	Dwfl_Line *l = o ? dwfl_module_getsrc(o->mod, vaddr + o->bias) : NULL;
	int ln = 0, col = 0;
	Dwarf_Addr at;
	const char *f = l ? dwfl_lineinfo(l, &at, &ln, &col, NULL, NULL) : NULL;
	if (!f || ln <= 0)
		return -1;
	*file = absolute(f[0] == '/' ? NULL : dwfl_line_comp_dir(l), f);
	*line = ln;
	return 0;
}

int af_dwarf_func(const char *path, uint64_t vaddr, const char **name, uint64_t *off)
{
	struct obj *o = object(path);
	GElf_Off offset = 0;
	GElf_Sym sym;
	const char *n = o ? dwfl_module_addrinfo(o->mod, vaddr + o->bias, &offset, &sym, NULL, NULL, NULL)
			  : NULL;
	if (!n || !*n)
		return -1;
	*name = n;
	*off = offset;
	return 0;
}
