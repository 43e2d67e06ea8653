/* af_elf.c - function symbols of an ELF object, from .symtab when present
   (static functions included), else from a separate debug file found by
   build-id or .gnu_debuglink under /usr/lib/debug, else from .dynsym.
   Files are mapped read-only and stay mapped: names point into them.
   No libc call here allocates, so the shim can use it on its slow path. */
#define _GNU_SOURCE
#include "af_elf.h"

#include <elf.h>
#include <fcntl.h>
#include <link.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "af_fmt.h"
#include "af_mem.h"

#define image af_image

int af_image_map(const char *path, struct image *im)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	struct stat st;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size < (off_t)sizeof(ElfW(Ehdr))) {
		close(fd);
		return -1;
	}
	void *m = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	close(fd);
	if (m == MAP_FAILED)
		return -1;
	const ElfW(Ehdr) *eh = m;
	if (memcmp(eh->e_ident, ELFMAG, SELFMAG) != 0 || eh->e_ident[EI_CLASS] != ELFCLASS64 ||
	    eh->e_shentsize != sizeof(ElfW(Shdr)) || eh->e_shoff == 0 ||
	    eh->e_shoff + (uint64_t)eh->e_shnum * sizeof(ElfW(Shdr)) > (uint64_t)st.st_size) {
		munmap(m, (size_t)st.st_size);
		return -1;
	}
	im->base = m;
	im->len = (size_t)st.st_size;
	return 0;
}

static const ElfW(Shdr) *sections(const struct image *im, int *n)
{
	const ElfW(Ehdr) *eh = (const void *)im->base;
	*n = eh->e_shnum;
	return (const void *)(im->base + eh->e_shoff);
}

static const ElfW(Shdr) *find_section(const struct image *im, uint32_t type)
{
	int n;
	const ElfW(Shdr) *sh = sections(im, &n);
	for (int i = 0; i < n; i++)
		if (sh[i].sh_type == type && sh[i].sh_offset + sh[i].sh_size <= im->len)
			return &sh[i];
	return NULL;
}

static const ElfW(Shdr) *find_named(const struct image *im, const char *name)
{
	const ElfW(Ehdr) *eh = (const void *)im->base;
	int n;
	const ElfW(Shdr) *sh = sections(im, &n);
	if (eh->e_shstrndx >= n)
		return NULL;
	const ElfW(Shdr) *strs = &sh[eh->e_shstrndx];
	if (strs->sh_offset + strs->sh_size > im->len)
		return NULL;
	for (int i = 0; i < n; i++) {
		if (sh[i].sh_name >= strs->sh_size)
			continue;
		const char *nm = (const char *)im->base + strs->sh_offset + sh[i].sh_name;
		if (strcmp(nm, name) == 0 && sh[i].sh_offset + sh[i].sh_size <= im->len)
			return &sh[i];
	}
	return NULL;
}

/* One symbol table and its strings, checked against the file's size. */
struct symview {
	const ElfW(Sym) *syms;
	size_t count;
	const char *names;
	size_t names_size;
};

static int symview(const struct image *im, const ElfW(Shdr) *tab, struct symview *v)
{
	int n;
	const ElfW(Shdr) *sh = sections(im, &n);
	if (tab->sh_link >= (unsigned)n || tab->sh_entsize != sizeof(ElfW(Sym)))
		return -1;
	const ElfW(Shdr) *strs = &sh[tab->sh_link];
	if (strs->sh_offset + strs->sh_size > im->len)
		return -1;
	v->syms = (const void *)(im->base + tab->sh_offset);
	v->count = tab->sh_size / sizeof(ElfW(Sym));
	v->names = (const char *)im->base + strs->sh_offset;
	v->names_size = strs->sh_size;
	return 0;
}

/* A named function defined here (what both readers below consider). */
static int is_func(const struct symview *v, const ElfW(Sym) *s)
{
	int type = ELF64_ST_TYPE(s->st_info);
	return (type == STT_FUNC || type == STT_GNU_IFUNC) && s->st_shndx != SHN_UNDEF &&
	       s->st_value != 0 && s->st_name < v->names_size && v->names[s->st_name];
}

/* Count (out == NULL) or collect function symbols of one table. */
static int collect(const struct image *im, const ElfW(Shdr) *tab, struct af_sym *out)
{
	struct symview v;
	if (symview(im, tab, &v) < 0)
		return 0;
	int k = 0;
	for (size_t i = 0; i < v.count; i++) {
		const ElfW(Sym) *s = &v.syms[i];
		if (!is_func(&v, s))
			continue;
		if (out) {
			out[k].start = s->st_value;
			out[k].end = s->st_value + s->st_size;
			out[k].name = v.names + s->st_name;
			out[k].bind = ELF64_ST_BIND(s->st_info);
		}
		k++;
	}
	return k;
}

static int better(const struct af_sym *a, const struct af_sym *b)
{
	/* among aliases, prefer the public spelling (strdup over __strdup),
	   then global, weak, local, then the first by name: an order, so that
	   the table and the scan below pick the same name */
	int ua = a->name[0] == '_', ub = b->name[0] == '_';
	if (ua != ub)
		return ua < ub;
	static const int rank[] = {[STB_LOCAL] = 2, [STB_GLOBAL] = 0, [STB_WEAK] = 1};
	int ra = a->bind <= STB_WEAK ? rank[a->bind] : 3, rb = b->bind <= STB_WEAK ? rank[b->bind] : 3;
	if (ra != rb)
		return ra < rb;
	return strcmp(a->name, b->name) < 0;
}

static void sift(struct af_sym *v, int i, int n)
{
	for (;;) {
		int c = 2 * i + 1;
		if (c >= n)
			return;
		if (c + 1 < n && v[c + 1].start > v[c].start)
			c++;
		if (v[i].start >= v[c].start)
			return;
		struct af_sym t = v[i];
		v[i] = v[c];
		v[c] = t;
		i = c;
	}
}

static void sort_syms(struct af_sym *v, int n)
{
	for (int i = n / 2 - 1; i >= 0; i--)
		sift(v, i, n);
	for (int i = n - 1; i > 0; i--) {
		struct af_sym t = v[0];
		v[0] = v[i];
		v[i] = t;
		sift(v, 0, i);
	}
}

static int build_id(const struct image *im, char *hex, size_t cap)
{
	int n;
	const ElfW(Shdr) *sh = sections(im, &n);
	for (int i = 0; i < n; i++) {
		if (sh[i].sh_type != SHT_NOTE || sh[i].sh_offset + sh[i].sh_size > im->len)
			continue;
		const unsigned char *p = im->base + sh[i].sh_offset, *end = p + sh[i].sh_size;
		while (p + sizeof(ElfW(Nhdr)) <= end) {
			const ElfW(Nhdr) *nh = (const void *)p;
			const unsigned char *name = p + sizeof *nh;
			const unsigned char *desc = name + ((nh->n_namesz + 3) & ~3u);
			if (desc + nh->n_descsz > end)
				break;
			if (nh->n_type == NT_GNU_BUILD_ID && nh->n_namesz == 4 &&
			    memcmp(name, "GNU", 4) == 0 && nh->n_descsz > 1 &&
			    nh->n_descsz * 2 + 1 < cap) {
				for (unsigned j = 0; j < nh->n_descsz; j++)
					af_fmt(hex + 2 * j, 3, "%02x", desc[j]);
				return 0;
			}
			p = desc + ((nh->n_descsz + 3) & ~3u);
		}
	}
	return -1;
}

static int has_data(const struct image *im, const char *section)
{
	if (!section)
		return find_section(im, SHT_SYMTAB) != NULL;
	const ElfW(Shdr) *sh = find_named(im, section);
	return sh && sh->sh_type != SHT_NOBITS && sh->sh_size > 0;
}

static int debug_in(const char *path, const struct image *im, const char *section,
		    struct image *dbg, char *file, size_t cap)
{
	char hex[130];
	if (build_id(im, hex, sizeof hex) == 0) {
		af_fmt(file, cap, "/usr/lib/debug/.build-id/%.2s/%s.debug", hex, hex + 2);
		if (af_image_map(file, dbg) == 0) {
			if (has_data(dbg, section))
				return 0;
			munmap((void *)dbg->base, dbg->len);
		}
	}
	const ElfW(Shdr) *dl = find_named(im, ".gnu_debuglink");
	if (dl && dl->sh_size > 1) {
		const char *name = (const char *)im->base + dl->sh_offset;
		if (memchr(name, 0, dl->sh_size)) {
			const char *slash = strrchr(path, '/');
			int dirlen = slash ? (int)(slash - path) : 0;
			af_fmt(file, cap, "/usr/lib/debug%.*s/%s", dirlen, path, name);
			if (af_image_map(file, dbg) == 0) {
				if (has_data(dbg, section))
					return 0;
				munmap((void *)dbg->base, dbg->len);
			}
		}
	}
	return -1;
}

/* A separate debug file holding `section` (NULL: a .symtab), or -1. The
   path's buffer is on the heap: this runs when an injection is reported,
   maybe on a thread's small stack. */
int af_image_debug(const char *path, const struct image *im, const char *section,
		   struct image *dbg)
{
	char *file = af_mem_alloc(4096);
	if (!file)
		return -1;
	int rc = debug_in(path, im, section, dbg, file, 4096);
	af_mem_free(file);
	return rc;
}

int af_symscan_open(const char *path, struct af_symscan *s)
{
	memset(s, 0, sizeof *s);
	if (af_image_map(path, &s->im) < 0)
		return -1;
	const ElfW(Shdr) *tab = find_section(&s->im, SHT_SYMTAB);
	if (!tab && af_image_debug(path, &s->im, NULL, &s->dbg) == 0) {
		tab = find_section(&s->dbg, SHT_SYMTAB);
		s->from_debug = 1;
	}
	s->tab = tab;
	s->dyn = find_section(&s->im, SHT_DYNSYM);
	return 0;
}

void af_symscan_close(struct af_symscan *s)
{
	af_image_unmap(&s->im);
	af_image_unmap(&s->dbg);
}

/* The candidates for vaddr in one table: the greatest start at or below
   it, the largest extent and the best name among the symbols there. */
struct scanbest {
	int have, above; /* above: a function starts above vaddr */
	uint64_t end;
	struct af_sym sym;
};

static void scan_table(const struct image *im, const ElfW(Shdr) *tab, uint64_t vaddr,
		       struct scanbest *b)
{
	struct symview v;
	if (symview(im, tab, &v) < 0)
		return;
	for (size_t i = 0; i < v.count; i++) {
		const ElfW(Sym) *x = &v.syms[i];
		if (!is_func(&v, x))
			continue;
		if (x->st_value > vaddr) {
			b->above = 1;
			continue;
		}
		if (b->have && x->st_value < b->sym.start)
			continue;
		struct af_sym c = {.start = x->st_value,
				   .end = x->st_value + x->st_size,
				   .name = v.names + x->st_name,
				   .bind = ELF64_ST_BIND(x->st_info)};
		if (!b->have || c.start > b->sym.start) {
			b->have = 1;
			b->sym = c;
			b->end = c.end;
			continue;
		}
		if (c.end > b->end)
			b->end = c.end;
		if (better(&c, &b->sym))
			b->sym = c;
	}
}

const char *af_symscan_find(const struct af_symscan *s, uint64_t vaddr, uint64_t *start)
{
	struct scanbest b = {0};
	const struct image *src = s->from_debug ? &s->dbg : &s->im;
	if (s->tab)
		scan_table(src, s->tab, vaddr, &b);
	if (s->dyn)
		scan_table(&s->im, s->dyn, vaddr, &b);
	/* a zero-sized symbol (assembly) extends to the next one, which lies
	   above vaddr since this one has the greatest start below it; the
	   last one covers its first byte only */
	if (b.have && b.end <= b.sym.start)
		b.end = b.above ? vaddr + 1 : b.sym.start + 1;
	if (!b.have || vaddr >= b.end)
		return NULL;
	*start = b.sym.start;
	return b.sym.name;
}

struct af_symtab *af_symtab_load(const char *path)
{
	struct af_symscan s;
	if (af_symscan_open(path, &s) < 0)
		return NULL;
	struct af_symtab *st = af_symtab_build(&s);
	if (!st)
		af_symscan_close(&s);
	return st;
}

struct af_symtab *af_symtab_build(const struct af_symscan *sc)
{
	const struct image *src = sc->from_debug ? &sc->dbg : &sc->im, *im = &sc->im;
	const ElfW(Shdr) *tab = sc->tab, *dyn = sc->dyn;
	int from_debug = sc->from_debug;
	int n = (tab ? collect(src, tab, NULL) : 0) + (dyn ? collect(im, dyn, NULL) : 0);
	struct af_symtab *st = af_mem_alloc(sizeof *st + sizeof(struct af_sym) * (size_t)(n + 1));
	if (!st)
		return NULL;
	st->v = (struct af_sym *)(st + 1);
	st->has_symtab = tab != NULL;
	st->from_debug = from_debug;
	int k = tab ? collect(src, tab, st->v) : 0;
	if (dyn)
		k += collect(im, dyn, st->v + k);
	sort_syms(st->v, k);
	/* merge aliases (same start): the best name leads, the others are
	   kept for matching; the extent is the largest */
	const char **al = af_mem_alloc(sizeof(char *) * (size_t)(k + 1));
	if (!al) {
		af_mem_free(st);
		return NULL;
	}
	st->aliases = al;
	int u = 0, na = 0;
	for (int i = 0; i < k;) {
		int j = i, best = i;
		uint64_t end = st->v[i].end;
		while (j < k && st->v[j].start == st->v[i].start) {
			if (better(&st->v[j], &st->v[best]))
				best = j;
			if (st->v[j].end > end)
				end = st->v[j].end;
			j++;
		}
		struct af_sym lead = st->v[best];
		lead.end = end;
		lead.alias = na;
		for (int x = i; x < j; x++)
			if (x != best && strcmp(st->v[x].name, lead.name) != 0) {
				int dup = 0;
				for (int y = lead.alias; y < na; y++)
					dup |= strcmp(al[y], st->v[x].name) == 0;
				if (!dup)
					al[na++] = st->v[x].name;
			}
		lead.nalias = na - lead.alias;
		st->v[u++] = lead;
		i = j;
	}
	/* zero-sized symbols (assembly) extend to the next one */
	for (int i = 0; i < u; i++)
		if (st->v[i].end <= st->v[i].start)
			st->v[i].end = i + 1 < u ? st->v[i + 1].start : st->v[i].start + 1;
	st->n = u;
	return st;
}

const void *af_image_section(const struct image *im, const char *name, size_t *size)
{
	const ElfW(Shdr) *sh = find_named(im, name);
	if (!sh || sh->sh_type == SHT_NOBITS || (sh->sh_flags & SHF_COMPRESSED))
		return NULL;
	*size = sh->sh_size;
	return im->base + sh->sh_offset;
}

void af_image_unmap(struct image *im)
{
	if (im->base)
		munmap((void *)im->base, im->len);
	im->base = NULL;
}

static uint64_t table_key(const void *base, size_t size, size_t key, int i)
{
	uint64_t k;
	memcpy(&k, (const char *)base + size * (size_t)i + key, sizeof k);
	return k;
}

int af_addr_table_find(const void *base, int n, size_t size, size_t key, uint64_t v)
{
	if (n <= 0 || v < table_key(base, size, key, 0))
		return -1;
	int lo = 0, hi = n - 1;
	while (lo < hi) {
		int mid = (lo + hi + 1) / 2;
		if (table_key(base, size, key, mid) <= v)
			lo = mid;
		else
			hi = mid - 1;
	}
	return lo;
}

const struct af_sym *af_symtab_find(const struct af_symtab *st, uint64_t vaddr)
{
	if (!st)
		return NULL;
	int i = af_addr_table_find(st->v, st->n, sizeof *st->v, offsetof(struct af_sym, start), vaddr);
	return i >= 0 && vaddr < st->v[i].end ? &st->v[i] : NULL;
}
