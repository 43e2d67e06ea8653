/* af_addr.h - code addresses: their modules, functions and the rules that
   accept them (af_addr.c), and stack capture with libunwind (af_unwind.c). */
#ifndef AF_ADDR_H
#define AF_ADDR_H

#include "af.h"

/* ---- addresses, modules, stacks (af_addr.c, af_unwind.c) -------------- */

struct af_mod {
	uintptr_t start, end, bias;
	void *link_map;
	const char *path, *base;
	int runtime, shim, alive, id;
	int syms_state; /* 0 not loaded, 1 loaded, -1 none */
	void *syms;
	/* before the table is built: the mapped file, scanned per address
	   (af_addr_func); published once complete, for the crash handler */
	struct af_symscan *_Atomic scan;
	int scans;
	int lines_state; /* the same, for the line tables */
	struct af_lines *lines;
	/* .eh_frame_hdr and the segment that holds it (af_cfi.h); 0: none */
	uintptr_t eh_hdr, eh_lo, eh_hi;
};

struct af_addr {
	uintptr_t pc; /* first: the key in the address table (af_ptab.c) */
	struct af_mod *mod;
	const char *func;
	const char *const *aliases;
	int naliases;
	uintptr_t func_off; /* pc - function start, when func is known */
	uint64_t *site, *in, *notin; /* rule masks, NULL without rules */
	_Atomic int src_state; /* 0 not looked up, 1 known, -1 unknown */
	const char *src;
	int line;
	/* this return address's frame rule for the quick path's walk to the
	   call site (af_walk.c): 0 not learned yet, AF_CFI_NONE none usable,
	   else af_cfi_pack(cfa offset, return address offset) */
	_Atomic uint64_t cfi;
	struct af_site *_Atomic census; /* its site (af_site_get), once known */
	int transient; /* the thread's scratch entry (table full): never keep it */
};
#define AF_CFI_NONE 1
#define AF_CFI_END 2 /* the outermost frame */
static inline uint64_t af_cfi_pack(int32_t cfa_off, int32_t ra_off)
{
	return (uint64_t)(uint32_t)cfa_off << 32 | (uint64_t)(uint32_t)ra_off;
}

struct af_addr *af_addr_get(uintptr_t pc);
void af_addr_frameinfo(const struct af_addr *a, struct af_frameinfo *f);
const char *af_addr_func(struct af_addr *a, uintptr_t *off);
extern struct af_mod af_unknown_mod;
void af_addr_unloaded(void); /* after dlclose: mark modules that are gone */

int af_unwind_init(void);
extern int (*af_unw_backtrace)(void **, int);
/* libunwind's link map once loaded: its frames count as the shim's */
extern void *af_unw_link_map;
void af_fork_child_reset(void);
int af_unwind_signal(void *uc, uintptr_t *out, int max);
const char *af_addr_peek_func(uintptr_t pc, int exact);
int af_is_runtime_path(const char *path);
/* 1 when libunwind, from the caller's stack, finds the frame with pc and
   stack pointer sp and steps to the frame at sp + cfa_off whose pc is the
   word at sp + cfa_off + ra_off (cfa_off 0: finds no frame above it): the
   check of a rule af_cfi_sp_rule read. The caller holds the guard (the
   thread's walk caches hold libunwind's context and cursor). */
int af_unwind_check(uintptr_t pc, uintptr_t sp, int32_t cfa_off, int32_t ra_off);
/* Frames above the shim: out[0] is ra itself. The caller holds the guard. */
int af_stack(void *ra, uintptr_t *out, int max);

#endif
