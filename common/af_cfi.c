/* af_cfi.c - a frame's unwind rule from .eh_frame_hdr and .eh_frame (the
   DWARF call frame information of the System V x86-64 ABI and the LSB's
   .eh_frame_hdr), reduced to what the quick path can use: a CFA that is
   the stack pointer plus a constant, and a return address saved at an
   offset from the CFA. Anything else (a frame pointer, an expression, a
   signal frame, register rules for the return address) is "no rule", and
   the caller falls back to libunwind. Every read is bounds-checked against
   the segment the caller names; a malformed table is an answer (-1), not
   a fault. The shim also checks each rule it learns against libunwind
   once (af_unwind_check) before it trusts it. */
#include "af_cfi.h"

#include <elf.h>
#include <string.h>

/* DWARF register numbers on x86-64 */
#define REG_RSP 7
#define REG_RA 16

/* DW_EH_PE_* pointer encodings */
#define PE_OMIT 0xff
#define PE_FORMAT 0x0f
#define PE_APPL 0x70
#define PE_INDIRECT 0x80
#define PE_PCREL 0x10
#define PE_DATAREL 0x30
#define PE_DATAREL_SDATA4 0x3b

#define MAX_FRAME (1 << 20) /* a larger constant frame is not believed */
#define MAX_STATES 8        /* DW_CFA_remember_state nesting */

struct rd {
	const uint8_t *p, *end;
	int bad;
};

/* a factored offset, wrapping rather than overflowing on garbage */
static int64_t scaled(uint64_t v, int64_t factor)
{
	return (int64_t)(v * (uint64_t)factor);
}

static int has(struct rd *r, size_t n)
{
	if (r->bad || (size_t)(r->end - r->p) < n) {
		r->bad = 1;
		return 0;
	}
	return 1;
}

static uint64_t rd_u(struct rd *r, size_t n)
{
	if (!has(r, n))
		return 0;
	uint64_t v = 0;
	memcpy(&v, r->p, n); /* little-endian */
	r->p += n;
	return v;
}

/* LEB128, sign-extended when sleb */
static uint64_t rd_leb(struct rd *r, int sleb)
{
	uint64_t v = 0;
	for (unsigned s = 0;; s += 7) {
		if (!has(r, 1) || s > 63)
			return r->bad = 1, 0;
		uint8_t b = *r->p++;
		v |= (uint64_t)(b & 0x7f) << s;
		if (!(b & 0x80)) {
			if (sleb && s + 7 < 64 && (b & 0x40))
				v |= ~(uint64_t)0 << (s + 7);
			return v;
		}
	}
}

#define rd_uleb(r) rd_leb(r, 0)
#define rd_sleb(r) ((int64_t)rd_leb(r, 1))

/* An encoded pointer; base is the data-relative base (.eh_frame_hdr). The
   indirect bit is left to the caller (only a personality, skipped, has
   it). */
static uintptr_t rd_ptr(struct rd *r, uint8_t enc, uintptr_t base)
{
	uintptr_t at = (uintptr_t)r->p;
	uint64_t v;
	switch (enc & PE_FORMAT) {
	case 0x00: v = rd_u(r, 8); break;
	case 0x01: v = rd_uleb(r); break;
	case 0x02: v = rd_u(r, 2); break;
	case 0x03: v = rd_u(r, 4); break;
	case 0x04: v = rd_u(r, 8); break;
	case 0x09: v = (uint64_t)rd_sleb(r); break;
	case 0x0a: v = (uint64_t)(int64_t)(int16_t)rd_u(r, 2); break;
	case 0x0b: v = (uint64_t)(int64_t)(int32_t)rd_u(r, 4); break;
	case 0x0c: v = rd_u(r, 8); break;
	default: r->bad = 1; return 0;
	}
	switch (enc & PE_APPL) {
	case 0: break;
	case PE_PCREL: v += at; break;
	case PE_DATAREL: v += base; break;
	default: r->bad = 1; return 0;
	}
	return (uintptr_t)v;
}

/* A reader over the record (CIE or FDE) at p: its length checked against
   [lo, hi); r->p after the length. */
static int record(struct rd *r, uintptr_t p, uintptr_t lo, uintptr_t hi)
{
	if (p < lo || p >= hi)
		return -1;
	r->p = (const uint8_t *)p;
	r->end = (const uint8_t *)hi;
	r->bad = 0;
	uint32_t len = (uint32_t)rd_u(r, 4);
	if (r->bad || len == 0 || len == 0xffffffffu || len > (size_t)(r->end - r->p))
		return -1; /* a terminator, or a 64-bit record: not in .eh_frame of x86-64 */
	r->end = r->p + len;
	return 0;
}

struct cie {
	uint64_t code_align;
	int64_t data_align;
	uint64_t ra_reg;
	uint8_t fde_enc;
	int has_z, signal;
	const uint8_t *insns, *end;
};

static int parse_cie(uintptr_t p, uintptr_t lo, uintptr_t hi, struct cie *c)
{
	struct rd r;
	if (record(&r, p, lo, hi) < 0 || rd_u(&r, 4) != 0)
		return -1;
	unsigned version = (unsigned)rd_u(&r, 1);
	if (version != 1 && version != 3)
		return -1;
	char aug[8];
	size_t na = 0;
	for (;;) {
		if (!has(&r, 1))
			return -1;
		char ch = (char)*r.p++;
		if (!ch)
			break;
		if (na == sizeof aug - 1)
			return -1;
		aug[na++] = ch;
	}
	aug[na] = 0;
	c->code_align = rd_uleb(&r);
	c->data_align = rd_sleb(&r);
	c->ra_reg = version == 1 ? rd_u(&r, 1) : rd_uleb(&r);
	c->fde_enc = 0;
	c->has_z = aug[0] == 'z';
	c->signal = 0;
	if (na && !c->has_z)
		return -1; /* "eh" and other old forms */
	if (c->has_z) {
		uint64_t alen = rd_uleb(&r);
		if (!has(&r, alen))
			return -1;
		struct rd a = {r.p, r.p + alen, 0};
		for (size_t i = 1; i < na; i++) {
			switch (aug[i]) {
			case 'R': c->fde_enc = (uint8_t)rd_u(&a, 1); break;
			case 'L': rd_u(&a, 1); break;
			case 'P': {
				uint8_t penc = (uint8_t)rd_u(&a, 1);
				rd_ptr(&a, penc & (uint8_t)~PE_INDIRECT, 0);
				break;
			}
			case 'S': c->signal = 1; break;
			case 'B': break; /* AArch64's BTI marker, no data */
			default: return -1;
			}
		}
		if (a.bad)
			return -1;
		r.p += alen;
	}
	if (r.bad || c->code_align == 0)
		return -1;
	c->insns = r.p;
	c->end = r.end;
	return 0;
}

/* The rules the quick path needs of one row of the table. */
struct row {
	uint64_t cfa_reg;
	int64_t cfa_off;
	int cfa_expr;
	int ra_kind; /* 0 unknown or not an offset, 1 saved at CFA + ra_off,
			2 undefined (the outermost frame) */
	int64_t ra_off;
};

/* A DWARF expression's block, skipped */
static void skip_block(struct rd *r)
{
	uint64_t n = rd_uleb(r);
	if (has(r, n))
		r->p += n;
}

/* Register reg's rule becomes kind (struct row's ra_kind) at off; only
   the return address's is kept. */
static void set_rule(struct row *st, const struct cie *c, uint64_t reg, int kind, int64_t off)
{
	if (reg == c->ra_reg)
		st->ra_kind = kind, st->ra_off = off;
}

/* Runs instructions [p, end) from location *loc, up to the row of pc.
   init: the row after the CIE's instructions (DW_CFA_restore). 0 or -1. */
static int run(const struct cie *c, const uint8_t *p, const uint8_t *end, uintptr_t *loc,
	       uintptr_t pc, struct row *st, const struct row *init)
{
	struct rd r = {p, end, 0};
	struct row saved[MAX_STATES];
	int depth = 0;
	while (r.p < r.end) {
		uint8_t op = (uint8_t)rd_u(&r, 1);
		uint64_t reg = op & 0x3f, adv = 0;
		int advance = 0;
		switch (op & 0xc0) {
		case 0x40: /* advance_loc */
			adv = reg;
			advance = 1;
			break;
		case 0x80: /* offset */
			set_rule(st, c, reg, 1, scaled(rd_uleb(&r), c->data_align));
			break;
		case 0xc0: /* restore */
			set_rule(st, c, reg, init->ra_kind, init->ra_off);
			break;
		default:
			switch (op) {
			case 0x00: break; /* nop */
			case 0x01: { /* set_loc */
				uintptr_t to = rd_ptr(&r, c->fde_enc, 0);
				if (r.bad || to < *loc)
					return -1;
				if (to > pc)
					return 0;
				*loc = to;
				break;
			}
			case 0x02: adv = rd_u(&r, 1), advance = 1; break;
			case 0x03: adv = rd_u(&r, 2), advance = 1; break;
			case 0x04: adv = rd_u(&r, 4), advance = 1; break;
			case 0x05: /* offset_extended */
				reg = rd_uleb(&r);
				set_rule(st, c, reg, 1, scaled(rd_uleb(&r), c->data_align));
				break;
			case 0x06: /* restore_extended */
				set_rule(st, c, rd_uleb(&r), init->ra_kind, init->ra_off);
				break;
			case 0x07: /* undefined: for the return address, the outermost frame */
				set_rule(st, c, rd_uleb(&r), 2, 0);
				break;
			case 0x08: /* same_value */
				set_rule(st, c, rd_uleb(&r), 0, 0);
				break;
			case 0x09:   /* register */
			case 0x14:   /* val_offset */
			case 0x15: /* val_offset_sf: the operand's sign does not matter */
				reg = rd_uleb(&r);
				rd_uleb(&r);
				set_rule(st, c, reg, 0, 0);
				break;
			case 0x0a: /* remember_state */
				if (depth == MAX_STATES)
					return -1;
				saved[depth++] = *st;
				break;
			case 0x0b: /* restore_state */
				if (depth == 0)
					return -1;
				*st = saved[--depth];
				break;
			case 0x0c: /* def_cfa */
				st->cfa_reg = rd_uleb(&r);
				st->cfa_off = (int64_t)rd_uleb(&r);
				st->cfa_expr = 0;
				break;
			case 0x0d: /* def_cfa_register */
				st->cfa_reg = rd_uleb(&r);
				st->cfa_expr = 0;
				break;
			case 0x0e: /* def_cfa_offset */
				st->cfa_off = (int64_t)rd_uleb(&r);
				break;
			case 0x0f: /* def_cfa_expression */
				skip_block(&r);
				st->cfa_expr = 1;
				break;
			case 0x10: /* expression */
			case 0x16: /* val_expression */
				reg = rd_uleb(&r);
				skip_block(&r);
				set_rule(st, c, reg, 0, 0);
				break;
			case 0x11: /* offset_extended_sf */
				reg = rd_uleb(&r);
				set_rule(st, c, reg, 1, scaled((uint64_t)rd_sleb(&r), c->data_align));
				break;
			case 0x12: /* def_cfa_sf */
				st->cfa_reg = rd_uleb(&r);
				st->cfa_off = scaled((uint64_t)rd_sleb(&r), c->data_align);
				st->cfa_expr = 0;
				break;
			case 0x13: /* def_cfa_offset_sf */
				st->cfa_off = scaled((uint64_t)rd_sleb(&r), c->data_align);
				break;
			case 0x2e: /* GNU_args_size */
				rd_uleb(&r);
				break;
			case 0x2f: /* GNU_negative_offset_extended */
				reg = rd_uleb(&r);
				set_rule(st, c, reg, 1, (int64_t)(0 - (uint64_t)scaled(rd_uleb(&r), c->data_align)));
				break;
			default:
				return -1;
			}
		}
		if (r.bad)
			return -1;
		if (advance) {
			/* the row at pc is the last one that starts at or before it */
			uint64_t d = adv * c->code_align;
			if (d > pc - *loc)
				return 0;
			*loc += d;
		}
	}
	return 0;
}

int af_cfi_segment(uintptr_t map_start, uintptr_t bias, uintptr_t hdr, uintptr_t *lo, uintptr_t *hi)
{
	const Elf64_Ehdr *eh = (const Elf64_Ehdr *)map_start;
	if (!map_start || memcmp(eh->e_ident, ELFMAG, SELFMAG) != 0 || eh->e_ident[EI_CLASS] != ELFCLASS64 ||
	    eh->e_phentsize != sizeof(Elf64_Phdr) || eh->e_phoff > 4096 ||
	    eh->e_phoff + (uint64_t)eh->e_phnum * sizeof(Elf64_Phdr) > 4096)
		return -1; /* the program headers must lie in the header's page */
	const Elf64_Phdr *ph = (const Elf64_Phdr *)(map_start + eh->e_phoff);
	for (int i = 0; i < eh->e_phnum; i++) {
		if (ph[i].p_type != PT_LOAD || !(ph[i].p_flags & PF_R))
			continue;
		uintptr_t s = bias + ph[i].p_vaddr, e = s + ph[i].p_filesz;
		if (hdr >= s && hdr < e) {
			*lo = s;
			*hi = e;
			return 0;
		}
	}
	return -1;
}

int af_cfi_sp_rule(uintptr_t hdr, uintptr_t lo, uintptr_t hi, uintptr_t pc, int32_t *cfa_off,
		   int32_t *ra_off)
{
	/* .eh_frame_hdr: version, three encodings, .eh_frame, count, table */
	struct rd r = {(const uint8_t *)hdr, (const uint8_t *)hi, 0};
	if (hdr < lo || hdr >= hi || rd_u(&r, 1) != 1)
		return -1;
	uint8_t ptr_enc = (uint8_t)rd_u(&r, 1), count_enc = (uint8_t)rd_u(&r, 1),
		table_enc = (uint8_t)rd_u(&r, 1);
	if (r.bad || ptr_enc == PE_OMIT || (ptr_enc & PE_INDIRECT))
		return -1;
	rd_ptr(&r, ptr_enc, hdr);
	if (count_enc == PE_OMIT || (count_enc & PE_INDIRECT) || table_enc != PE_DATAREL_SDATA4)
		return 0; /* no binary search table: leave it to libunwind */
	uint64_t count = rd_ptr(&r, count_enc, hdr);
	if (r.bad || count > (size_t)(r.end - r.p) / 8)
		return -1;
	if (count == 0)
		return 0;
	const uint8_t *table = r.p;
	/* the last entry whose start is at or before pc */
	uint64_t a = 0, b = count;
	while (b - a > 1) {
		uint64_t m = a + (b - a) / 2;
		int32_t start;
		memcpy(&start, table + m * 8, 4);
		if (hdr + (intptr_t)start <= pc)
			a = m;
		else
			b = m;
	}
	int32_t start, fde_rel;
	memcpy(&start, table + a * 8, 4);
	memcpy(&fde_rel, table + a * 8 + 4, 4);
	if (hdr + (intptr_t)start > pc)
		return 0;

	/* the FDE, and its CIE */
	struct rd f;
	if (record(&f, hdr + (intptr_t)fde_rel, lo, hi) < 0)
		return -1;
	uintptr_t idpos = (uintptr_t)f.p;
	uint32_t cie_rel = (uint32_t)rd_u(&f, 4);
	if (f.bad || cie_rel == 0 || cie_rel > idpos)
		return -1;
	struct cie c;
	if (parse_cie(idpos - cie_rel, lo, hi, &c) < 0 || (c.fde_enc & PE_INDIRECT))
		return -1;
	uintptr_t begin = rd_ptr(&f, c.fde_enc, 0);
	uintptr_t range = rd_ptr(&f, c.fde_enc & PE_FORMAT, 0);
	if (f.bad)
		return -1;
	if (pc < begin || pc - begin >= range)
		return 0; /* a gap the table does not cover */
	if (c.has_z) {
		uint64_t alen = rd_uleb(&f);
		if (!has(&f, alen))
			return -1;
		f.p += alen;
	}
	if (c.signal)
		return 0;

	struct row st = {0, 0, 0, 0, 0}, init;
	uintptr_t loc = begin;
	if (run(&c, c.insns, c.end, &loc, pc, &st, &st) < 0)
		return -1;
	init = st;
	if (run(&c, f.p, f.end, &loc, pc, &st, &init) < 0)
		return -1;
	if (st.ra_kind == 2 && c.ra_reg == REG_RA)
		return 2;
	if (st.cfa_expr || st.cfa_reg != REG_RSP || st.ra_kind != 1 || st.cfa_off < 8 ||
	    st.cfa_off > MAX_FRAME || (st.cfa_off & 7) || st.ra_off >= 0 || st.ra_off < -st.cfa_off ||
	    (st.ra_off & 7) || c.ra_reg != REG_RA)
		return 0;
	*cfa_off = (int32_t)st.cfa_off;
	*ra_off = (int32_t)st.ra_off;
	return 1;
}
