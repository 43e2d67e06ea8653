/* af_cfi.h - one frame's unwind rule from a loaded module's .eh_frame, for
   the quick path's walk from a return address in the C runtime to the
   program's call site (docs/design.md, "Call sites through the runtime").
   Plain C over memory the caller says is readable; nothing allocates. */
#ifndef AF_CFI_H
#define AF_CFI_H

#include <stdint.h>

/* The bytes of the loadable segment of the module mapped at map_start
   (load bias `bias`) that holds its .eh_frame_hdr at `hdr`: [*lo, *hi).
   Read from the ELF header at map_start. 0, or -1 when map_start holds no
   ELF header or no segment holds hdr. */
int af_cfi_segment(uintptr_t map_start, uintptr_t bias, uintptr_t hdr, uintptr_t *lo, uintptr_t *hi);

/* The rule of the frame whose function is executing the instruction at pc
   (for a caller's frame: its return address - 1), from the module's
   .eh_frame_hdr at hdr, every read kept inside [lo, hi): when the CFA is
   the stack pointer plus a constant and the return address is saved at an
   offset from it, 1 with *cfa_off and *ra_off (the caller's stack pointer
   is sp + *cfa_off; its pc is at sp + *cfa_off + *ra_off). 0: any other
   rule (a frame pointer, an expression, a signal frame, no FDE for pc);
   2: the return address is undefined there, the outermost frame (_start,
   a thread's start); -1: the tables are malformed. */
int af_cfi_sp_rule(uintptr_t hdr, uintptr_t lo, uintptr_t hi, uintptr_t pc, int32_t *cfa_off,
		   int32_t *ra_off);

#endif
