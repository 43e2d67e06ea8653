/* af_srcline.c - file:line of code addresses for the injection log, from
   the module's own line tables (af_dwline.c): never libdw inside the
   program. Resolved on the injection slow path only, once per address, and
   for frames outside the C runtime only (their tables can be large, and
   their lines say little about the program). */
#include <pthread.h>

#include "af.h"
#include "af_addr.h"
#include "af_log.h"
#include "af_dwline.h"


int af_srcline(struct af_addr *a, const char **file, int *line)
{
	if (af_g.no_names) /* ALLOCFAIL_LOG_NAMES=0: the reader names frames */
		return -1;
	int st = atomic_load_explicit(&a->src_state, memory_order_acquire);
	if (st == 0) {
		struct af_mod *m = a->mod;
		st = -1;
		if (m != &af_unknown_mod && !m->runtime && !m->shim) {
			pthread_mutex_lock(&af_lock);
			if (m->lines_state == 0) {
				m->lines = af_lines_load(m->path);
				m->lines_state = m->lines ? 1 : -1;
			}
			pthread_mutex_unlock(&af_lock);
			const char *f;
			int l;
			if (m->lines_state == 1 &&
			    af_lines_find(m->lines, a->pc - m->bias - 1, &f, &l) == 0) {
				a->src = f;
				a->line = l;
				st = 1;
			}
		}
		atomic_store_explicit(&a->src_state, st, memory_order_release);
	}
	if (st != 1)
		return -1;
	*file = a->src;
	*line = a->line;
	return 0;
}
