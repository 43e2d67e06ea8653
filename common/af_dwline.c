/* af_dwline.c - source lines from DWARF .debug_line, for the injection
   log. The shim reads line tables itself instead of loading libdw: Debian's
   libdw loads libdebuginfod from its constructor, and with it curl, gnutls,
   p11-kit and krb5, whose destructors then run inside the program (one of
   them deadlocked in freelocale at exit). This reader needs nothing but the
   mapped file. DWARF 2 to 5, 32- and 64-bit; compressed sections are not
   read (no file:line then). */
#include <stdint.h>
#include <string.h>

#include "af_dwline.h"
#include "af_elf.h"
#include "af_mem.h"

struct row {
	uint64_t addr;
	uint32_t file; /* index into files */
	uint32_t line; /* 0: end of a sequence */
};

struct af_lines {
	int nrows;
	struct row *rows;
	int nfiles, capfiles;
	char **files;
};

struct cur {
	const unsigned char *p, *end;
	int bad;
};

static uint64_t u8(struct cur *c)
{
	if (c->p + 1 > c->end) {
		c->bad = 1;
		return 0;
	}
	return *c->p++;
}

static uint64_t fixed(struct cur *c, int n)
{
	if (c->p + n > c->end) {
		c->bad = 1;
		c->p = c->end;
		return 0;
	}
	uint64_t v = 0;
	for (int i = 0; i < n; i++)
		v |= (uint64_t)c->p[i] << (8 * i);
	c->p += n;
	return v;
}

static uint64_t uleb(struct cur *c)
{
	uint64_t v = 0;
	int shift = 0;
	for (;;) {
		if (c->p >= c->end) {
			c->bad = 1;
			return v;
		}
		unsigned char b = *c->p++;
		if (shift < 64)
			v |= (uint64_t)(b & 0x7f) << shift;
		shift += 7;
		if (!(b & 0x80))
			return v;
	}
}

static int64_t sleb(struct cur *c)
{
	int64_t v = 0;
	int shift = 0;
	unsigned char b;
	do {
		if (c->p >= c->end) {
			c->bad = 1;
			return v;
		}
		b = *c->p++;
		if (shift < 64)
			v |= (int64_t)((uint64_t)(b & 0x7f) << shift);
		shift += 7;
	} while (b & 0x80);
	if (shift < 64 && (b & 0x40))
		v = (int64_t)((uint64_t)v | (~(uint64_t)0 << shift));
	return v;
}

static const char *cstr(struct cur *c)
{
	const char *s = (const char *)c->p;
	while (c->p < c->end && *c->p)
		c->p++;
	if (c->p >= c->end) {
		c->bad = 1;
		return "";
	}
	c->p++;
	return s;
}

struct strsec {
	const char *p;
	size_t n;
};

static const char *strat(const struct strsec *s, uint64_t off)
{
	if (!s->p || off >= s->n || !memchr(s->p + off, 0, s->n - off))
		return NULL;
	return s->p + off;
}

/* growable arrays on af_mem_alloc */
static int grow(void **v, int *cap, int need, size_t size)
{
	if (need <= *cap)
		return 0;
	int ncap = *cap ? *cap * 2 : 64;
	while (ncap < need)
		ncap *= 2;
	void *n = af_mem_alloc(size * (size_t)ncap);
	if (!n)
		return -1;
	if (*v)
		memcpy(n, *v, size * (size_t)*cap);
	af_mem_free(*v);
	*v = n;
	*cap = ncap;
	return 0;
}

/* A path with "." and ".." resolved lexically and slashes collapsed, in
   place. out is always the end of the written path, without a trailing
   slash (except for the root). */
static void normalize(char *s)
{
	int abs = *s == '/';
	char *out = s + abs, *p = s;
	while (*p) {
		while (*p == '/')
			p++;
		char *seg = p;
		while (*p && *p != '/')
			p++;
		size_t n = (size_t)(p - seg);
		if (n == 0 || (n == 1 && seg[0] == '.'))
			continue;
		if (n == 2 && seg[0] == '.' && seg[1] == '.') {
			char *q = out;
			while (q > s + abs && q[-1] != '/')
				q--;
			int last_is_up = out - q == 2 && q[0] == '.' && q[1] == '.';
			if (out > s + abs && !last_is_up) {
				out = q > s + abs ? q - 1 : q; /* drop the last segment */
				continue;
			}
			if (abs)
				continue; /* "/.." is "/" */
		}
		if (out > s + abs)
			*out++ = '/';
		memmove(out, seg, n);
		out += n;
	}
	*out = 0;
}

/* comp: the compilation directory, which relative directories are
   relative to (DWARF 5 names it as directory 0). */
static int add_file3(struct af_lines *t, const char *comp, const char *dir, const char *name)
{
	if (grow((void **)&t->files, &t->capfiles, t->nfiles + 1, sizeof(char *)) < 0)
		return -1;
	if (name[0] == '/')
		dir = comp = NULL;
	if (dir && dir[0] == '/')
		comp = NULL;
	size_t cl = comp ? strlen(comp) : 0, dl = dir ? strlen(dir) : 0, nl = strlen(name);
	char *s = af_mem_alloc(cl + dl + nl + 3);
	if (!s)
		return -1;
	size_t k = 0;
	if (cl) {
		memcpy(s, comp, cl);
		k = cl;
		s[k++] = '/';
	}
	if (dl) {
		memcpy(s + k, dir, dl);
		k += dl;
		s[k++] = '/';
	}
	memcpy(s + k, name, nl + 1);
	normalize(s);
	t->files[t->nfiles++] = s;
	return 0;
}

static int add_file(struct af_lines *t, const char *dir, const char *name)
{
	return add_file3(t, NULL, dir, name);
}

struct seq {
	int first, n;
	uint64_t start;
};

struct build {
	struct row *rows;
	int nrows, caprows;
	struct seq *seqs;
	int nseqs, capseqs, seqstart;
};

static int emit(struct build *b, uint64_t addr, uint32_t file, uint32_t line)
{
	if (grow((void **)&b->rows, &b->caprows, b->nrows + 1, sizeof(struct row)) < 0)
		return -1;
	b->rows[b->nrows++] = (struct row){addr, file, line};
	return 0;
}

static int end_seq(struct build *b)
{
	int n = b->nrows - b->seqstart;
	if (n > 0) {
		if (grow((void **)&b->seqs, &b->capseqs, b->nseqs + 1, sizeof(struct seq)) < 0)
			return -1;
		b->seqs[b->nseqs++] = (struct seq){b->seqstart, n, b->rows[b->seqstart].addr};
	}
	b->seqstart = b->nrows;
	return 0;
}

/* n bytes on; a length past the end (or one that would wrap the pointer
   back) is malformed */
static void skip(struct cur *c, uint64_t n)
{
	if (n > (uint64_t)(c->end - c->p)) {
		c->bad = 1;
		c->p = c->end;
		return;
	}
	c->p += n;
}

/* Skip or read one attribute value of a v5 entry format. */
static int form_value(struct cur *c, uint64_t form, int off8, const struct strsec *str,
		      const struct strsec *line_str, const char **s, uint64_t *u)
{
	*s = NULL;
	*u = 0;
	switch (form) {
	case 0x08: *s = cstr(c); break;                                    /* string */
	case 0x1f: *s = strat(line_str, fixed(c, off8 ? 8 : 4)); break;    /* line_strp */
	case 0x0e: *s = strat(str, fixed(c, off8 ? 8 : 4)); break;         /* strp */
	case 0x0f: *u = uleb(c); break;                                    /* udata */
	case 0x0d: *u = (uint64_t)sleb(c); break;                          /* sdata */
	case 0x0b: *u = fixed(c, 1); break;                                /* data1 */
	case 0x05: *u = fixed(c, 2); break;                                /* data2 */
	case 0x06: *u = fixed(c, 4); break;                                /* data4 */
	case 0x07: *u = fixed(c, 8); break;                                /* data8 */
	case 0x1e: skip(c, 16); break;                                     /* data16 */
	case 0x09: skip(c, uleb(c)); break;                                /* block */
	default: return -1;
	}
	return c->bad ? -1 : 0;
}

/* A DWARF 5 entry format (directories' or files'): its (content type,
   form) pairs, then the count of entries, which each take a byte at least:
   a count beyond the header would loop (no attributes) or allocate names
   for ever. */
struct entry_format {
	uint64_t f[16][2];
	int n;
};

static int entry_format(struct cur *u, struct entry_format *ef, uint64_t *count)
{
	ef->n = (int)u8(u);
	if (ef->n > 16)
		return -1;
	for (int i = 0; i < ef->n; i++) {
		ef->f[i][0] = uleb(u);
		ef->f[i][1] = uleb(u);
	}
	*count = uleb(u);
	return *count > (uint64_t)(u->end - u->p) ? -1 : 0;
}

/* One entry: its path (DW_LNCT_path) and directory index
   (DW_LNCT_directory_index). */
static int entry(struct cur *u, const struct entry_format *ef, int off8, const struct strsec *str,
		 const struct strsec *line_str, const char **path, uint64_t *dir)
{
	*path = NULL;
	*dir = 0;
	for (int i = 0; i < ef->n; i++) {
		const char *s;
		uint64_t v;
		if (form_value(u, ef->f[i][1], off8, str, line_str, &s, &v) < 0)
			return -1;
		if (ef->f[i][0] == 1)
			*path = s;
		else if (ef->f[i][0] == 2)
			*dir = v;
	}
	return 0;
}


/* One line-number program; 0 on success. */
#define MAXDIRS 512

/* dirs: room for MAXDIRS (on the heap: this runs when an injection is
   reported, maybe on a thread's small stack) */
static int unit(struct af_lines *t, struct build *b, struct cur *c, const struct strsec *str,
		const struct strsec *line_str, const char **dirs)
{
	uint64_t len = fixed(c, 4);
	int off8 = 0;
	if (len == 0xffffffffu) {
		len = fixed(c, 8);
		off8 = 1;
	}
	if (c->bad || len > (uint64_t)(c->end - c->p))
		return -1;
	struct cur u = {c->p, c->p + len, 0};
	c->p += len;
	unsigned version = (unsigned)fixed(&u, 2);
	if (version < 2 || version > 5)
		return 0; /* skip what we do not know */
	if (version >= 5) {
		u8(&u); /* address size: set_address's own length says it */
		u8(&u); /* segment selector size */
	}
	uint64_t hlen = fixed(&u, off8 ? 8 : 4);
	if (hlen > (uint64_t)(u.end - u.p))
		return -1;
	const unsigned char *program = u.p + hlen;
	unsigned min_inst = (unsigned)u8(&u);
	unsigned max_ops = version >= 4 ? (unsigned)u8(&u) : 1;
	(void)max_ops;
	int default_stmt = (int)u8(&u);
	(void)default_stmt;
	int line_base = (int8_t)u8(&u);
	unsigned line_range = (unsigned)u8(&u);
	unsigned opcode_base = (unsigned)u8(&u);
	unsigned char std_len[256] = {0};
	for (unsigned i = 1; i < opcode_base; i++)
		std_len[i] = (unsigned char)u8(&u);
	if (u.bad || line_range == 0)
		return -1;

	/* directories and files: this unit's file k is files[base + k] */
	int ndirs = 0;
	int base = t->nfiles;
	if (version >= 5) {
		/* the directories' table, then the files' */
		for (int files = 0; files < 2; files++) {
			struct entry_format ef;
			uint64_t n;
			if (entry_format(&u, &ef, &n) < 0)
				return -1;
			for (uint64_t k = 0; k < n && !u.bad; k++) {
				const char *path;
				uint64_t dir;
				if (entry(&u, &ef, off8, str, line_str, &path, &dir) < 0)
					return -1;
				if (!files) {
					if (ndirs < MAXDIRS)
						dirs[ndirs++] = path ? path : "";
					continue;
				}
				const char *d = dir < (uint64_t)ndirs ? dirs[dir] : NULL;
				if (add_file3(t, dir > 0 && ndirs ? dirs[0] : NULL, d, path ? path : "?") < 0)
					return -1;
			}
		}
	} else {
		dirs[ndirs++] = NULL; /* 0: the compilation directory, not known here */
		while (!u.bad && u.p < u.end && *u.p) {
			const char *d = cstr(&u);
			if (ndirs < MAXDIRS)
				dirs[ndirs++] = d;
		}
		u8(&u);
		if (add_file(t, NULL, "?") < 0) /* DWARF < 5 counts files from 1 */
			return -1;
		while (!u.bad && u.p < u.end && *u.p) {
			const char *name = cstr(&u);
			uint64_t dir = uleb(&u);
			uleb(&u);
			uleb(&u);
			if (add_file(t, dir < (uint64_t)ndirs ? dirs[dir] : NULL, name) < 0)
				return -1;
		}
		u8(&u);
	}
	/* a header longer than its stated length is not a header */
	if (u.bad || u.p > program)
		return -1;

	/* the state machine */
	struct cur pc = {program, u.end, 0};
	uint64_t addr = 0;
	uint64_t line = 1; /* wraps, as the registers of a malformed program may */
	uint64_t file = 1;
#define FILE_INDEX() \
	(file < (uint64_t)(t->nfiles - base) ? (uint32_t)(base + (int)file) : UINT32_MAX)
#define LINE() ((int64_t)line > 0 && line <= UINT32_MAX ? (uint32_t)line : 1)
	while (pc.p < pc.end && !pc.bad) {
		unsigned op = (unsigned)u8(&pc);
		if (op >= opcode_base) {
			unsigned adj = op - opcode_base;
			addr += (uint64_t)min_inst * (adj / line_range);
			line += (uint64_t)(int64_t)(line_base + (int)(adj % line_range));
			if (emit(b, addr, FILE_INDEX(), LINE()) < 0)
				return -1;
			continue;
		}
		switch (op) {
		case 0: { /* extended */
			uint64_t n = uleb(&pc);
			if (n == 0 || n > (uint64_t)(pc.end - pc.p))
				return -1;
			const unsigned char *next = pc.p + n;
			unsigned sub = (unsigned)u8(&pc);
			if (sub == 1) { /* end_sequence */
				if (emit(b, addr, 0, 0) < 0 || end_seq(b) < 0)
					return -1;
				addr = 0;
				line = 1;
				file = 1;
			} else if (sub == 2) { /* set_address */
				addr = fixed(&pc, n - 1 <= 8 ? (int)(n - 1) : 8);
			} else if (sub == 3 && version < 5) { /* define_file */
				const char *name = cstr(&pc);
				uint64_t dir = uleb(&pc);
				if (add_file(t, dir < (uint64_t)ndirs ? dirs[dir] : NULL, name) < 0)
					return -1;
			}
			pc.p = next;
			break;
		}
		case 1: /* copy */
			if (emit(b, addr, FILE_INDEX(), LINE()) < 0)
				return -1;
			break;
		case 2: addr += min_inst * uleb(&pc); break;
		case 3: line += (uint64_t)sleb(&pc); break;
		case 4: file = uleb(&pc); break;
		case 5: uleb(&pc); break; /* column */
		case 6: case 7: case 10: case 11: break;
		case 8: addr += (uint64_t)min_inst * ((255 - opcode_base) / line_range); break;
		case 9: addr += fixed(&pc, 2); break;
		case 12: uleb(&pc); break; /* isa */
		default:
			for (unsigned i = 0; i < std_len[op]; i++)
				uleb(&pc);
		}
	}
#undef FILE_INDEX
#undef LINE
	/* a sequence without its end (the program cut short or misread)
	   would claim every address above it */
	b->nrows = b->seqstart;
	return 0;
}

static void sort_seqs(struct seq *v, int n)
{
	for (int i = 1; i < n; i++) {
		struct seq x = v[i];
		int j = i;
		while (j > 0 && v[j - 1].start > x.start) {
			v[j] = v[j - 1];
			j--;
		}
		v[j] = x;
	}
}

void af_lines_free(struct af_lines *t)
{
	if (!t)
		return;
	for (int i = 0; i < t->nfiles; i++)
		af_mem_free(t->files[i]);
	af_mem_free(t->files);
	af_mem_free(t->rows);
	af_mem_free(t);
}

struct af_lines *af_lines_parse(const struct af_dwsections *in)
{
	struct af_lines *t = af_mem_alloc(sizeof *t);
	if (!t)
		return NULL;
	struct strsec str = {in->str, in->nstr}, lstr = {in->line_str, in->nline_str};
	struct build b = {0};
	const unsigned char *sec = in->line;
	struct cur c = {sec, sec + in->nline, 0};
	const char **dirs = af_mem_alloc(sizeof(const char *) * MAXDIRS);
	while (dirs && c.p < c.end && !c.bad)
		if (unit(t, &b, &c, &str, &lstr, dirs) < 0)
			break;
	af_mem_free(dirs);
	/* sequences are disjoint and sorted inside: order them by start */
	sort_seqs(b.seqs, b.nseqs);
	t->rows = af_mem_alloc(sizeof(struct row) * (size_t)(b.nrows ? b.nrows : 1));
	if (!t->rows) {
		af_mem_free(b.rows);
		af_mem_free(b.seqs);
		af_lines_free(t);
		return NULL;
	}
	for (int i = 0; i < b.nseqs; i++) {
		memcpy(t->rows + t->nrows, b.rows + b.seqs[i].first, sizeof(struct row) * (size_t)b.seqs[i].n);
		t->nrows += b.seqs[i].n;
	}
	af_mem_free(b.rows);
	af_mem_free(b.seqs);
	return t;
}

struct af_lines *af_lines_load(const char *path)
{
	struct af_image im = {0}, dbg = {0}, *src = &im;
	if (af_image_map(path, &im) < 0)
		return NULL;
	struct af_dwsections s = {0};
	s.line = af_image_section(&im, ".debug_line", &s.nline);
	if (!s.line && af_image_debug(path, &im, ".debug_line", &dbg) == 0) {
		src = &dbg;
		s.line = af_image_section(&dbg, ".debug_line", &s.nline);
	}
	struct af_lines *t = NULL;
	if (s.line) {
		s.str = af_image_section(src, ".debug_str", &s.nstr);
		s.line_str = af_image_section(src, ".debug_line_str", &s.nline_str);
		t = af_lines_parse(&s);
	}
	/* the names were copied: the mapping can go */
	af_image_unmap(&im);
	af_image_unmap(&dbg);
	return t;
}

int af_lines_find(const struct af_lines *t, uint64_t vaddr, const char **file, int *line)
{
	if (!t)
		return -1;
	/* among rows at the same address, the last one holds */
	int i = af_addr_table_find(t->rows, t->nrows, sizeof *t->rows, offsetof(struct row, addr), vaddr);
	if (i < 0)
		return -1;
	const struct row *r = &t->rows[i];
	if (r->line == 0 || r->file >= (uint32_t)t->nfiles)
		return -1;
	*file = t->files[r->file];
	*line = (int)r->line;
	return 0;
}
