/* af_srcline.c - file:line of code addresses for the injection log, from
   libdw (af_dwarf.c), loaded by the constructor only when a log is
   configured. Resolved on the injection slow path, once per address. */
#include "af.h"
#include "af_dwarf.h"

static int ready;

int af_srcline_init(void)
{
	ready = af_dwarf_open() == 0;
	return ready ? 0 : -1;
}

int af_srcline(struct af_addr *a, const char **file, int *line)
{
	int st = atomic_load_explicit(&a->src_state, memory_order_acquire);
	if (st == 0) {
		const char *f;
		int l;
		if (ready && a->mod != &af_unknown_mod &&
		    af_dwarf_srcline(a->mod->path, a->pc - a->mod->bias - 1, &f, &l) == 0) {
			a->src = f;
			a->line = l;
			st = 1;
		} else {
			st = -1;
		}
		atomic_store_explicit(&a->src_state, st, memory_order_release);
	}
	if (st != 1)
		return -1;
	*file = a->src;
	*line = a->line;
	return 0;
}
