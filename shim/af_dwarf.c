/* af_dwarf.c - libdw through dlopen (see af_dwarf.h). One Dwfl per object
   file, reported at its ELF addresses, cached by path; a mutex serializes
   everything, since a Dwfl is not thread-safe. */
#define _GNU_SOURCE
#include "af_dwarf.h"

#include <dlfcn.h>
#include <elfutils/libdwfl.h>
#include <pthread.h>
#include <string.h>

#include "af_policy.h"

static struct {
	void *h;
	Dwfl *(*begin)(const Dwfl_Callbacks *);
	void (*end)(Dwfl *);
	void (*report_begin)(Dwfl *);
	int (*report_end)(Dwfl *, int (*)(Dwfl_Module *, void *, const char *, Dwarf_Addr, void *),
			  void *);
	Dwfl_Module *(*report_elf)(Dwfl *, const char *, const char *, int, GElf_Addr, bool);
	Elf *(*getelf)(Dwfl_Module *, GElf_Addr *);
	Dwfl_Line *(*getsrc)(Dwfl_Module *, Dwarf_Addr);
	const char *(*lineinfo)(Dwfl_Line *, Dwarf_Addr *, int *, int *, Dwarf_Word *, Dwarf_Word *);
	const char *(*addrinfo)(Dwfl_Module *, GElf_Addr, GElf_Off *, GElf_Sym *, GElf_Word *,
				Elf **, Dwarf_Addr *);
	Dwfl_Callbacks cb;
} dw;

struct obj {
	char *path;
	Dwfl *dwfl;
	Dwfl_Module *mod;
	GElf_Addr bias;
	struct obj *next;
};

static struct obj *objs;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static int state; /* 0 not tried, 1 loaded, -1 unavailable */

#define SYM(field, name)                                            \
	do {                                                        \
		*(void **)&dw.field = dlsym(dw.h, name);            \
		if (!dw.field)                                      \
			return -1;                                  \
	} while (0)

static int load(void)
{
	dw.h = dlopen("libdw.so.1", RTLD_NOW | RTLD_LOCAL);
	if (!dw.h)
		return -1;
	SYM(begin, "dwfl_begin");
	SYM(end, "dwfl_end");
	SYM(report_begin, "dwfl_report_begin");
	SYM(report_end, "dwfl_report_end");
	SYM(report_elf, "dwfl_report_elf");
	SYM(getelf, "dwfl_module_getelf");
	SYM(getsrc, "dwfl_module_getsrc");
	SYM(lineinfo, "dwfl_lineinfo");
	SYM(addrinfo, "dwfl_module_addrinfo");
	SYM(cb.find_elf, "dwfl_build_id_find_elf");
	SYM(cb.find_debuginfo, "dwfl_standard_find_debuginfo");
	SYM(cb.section_address, "dwfl_offline_section_address");
	return 0;
}

int af_dwarf_open(void)
{
	pthread_mutex_lock(&lock);
	if (state == 0)
		state = load() == 0 ? 1 : -1;
	int ok = state;
	pthread_mutex_unlock(&lock);
	return ok == 1 ? 0 : -1;
}

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
	o->dwfl = dw.begin(&dw.cb);
	if (!o->dwfl)
		return NULL;
	dw.report_begin(o->dwfl);
	o->mod = dw.report_elf(o->dwfl, path, path, -1, 0, false);
	dw.report_end(o->dwfl, NULL, NULL);
	if (!o->mod)
		return NULL;
	if (!dw.getelf(o->mod, &o->bias)) {
		o->mod = NULL;
		return NULL;
	}
	return o;
}

int af_dwarf_srcline(const char *path, uint64_t vaddr, const char **file, int *line)
{
	if (state != 1)
		return -1;
	int rc = -1;
	pthread_mutex_lock(&lock);
	struct obj *o = object(path);
	if (o) {
		Dwfl_Line *l = dw.getsrc(o->mod, vaddr + o->bias);
		int ln = 0, col = 0;
		Dwarf_Addr a;
		const char *f = l ? dw.lineinfo(l, &a, &ln, &col, NULL, NULL) : NULL;
		if (f && ln > 0) {
			*file = f;
			*line = ln;
			rc = 0;
		}
	}
	pthread_mutex_unlock(&lock);
	return rc;
}

int af_dwarf_func(const char *path, uint64_t vaddr, const char **name, uint64_t *off)
{
	if (state != 1)
		return -1;
	int rc = -1;
	pthread_mutex_lock(&lock);
	struct obj *o = object(path);
	if (o) {
		GElf_Off offset = 0;
		GElf_Sym sym;
		const char *n = dw.addrinfo(o->mod, vaddr + o->bias, &offset, &sym, NULL, NULL, NULL);
		if (n && *n) {
			*name = n;
			*off = offset;
			rc = 0;
		}
	}
	pthread_mutex_unlock(&lock);
	return rc;
}

void af_dwarf_close(void)
{
	pthread_mutex_lock(&lock);
	while (objs) {
		struct obj *o = objs;
		objs = o->next;
		if (o->dwfl)
			dw.end(o->dwfl);
		af_mem_free(o->path);
		af_mem_free(o);
	}
	pthread_mutex_unlock(&lock);
}
