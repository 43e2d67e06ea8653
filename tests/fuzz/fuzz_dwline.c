/* fuzz_dwline.c - libFuzzer target for the .debug_line reader: any bytes
   as the section (and as the string sections its DWARF 5 forms point
   into) must give a table or NULL, never a crash, an out-of-bounds read,
   undefined behaviour or a hang, and lookups in the table must be safe. */
#include <stdint.h>
#include <string.h>

#include "af_dwline.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct af_dwsections s = {data, size, (const char *)data, (const char *)data, size, size};
	struct af_lines *t = af_lines_parse(&s);
	uint64_t probes[] = {0, 1, 0x1000, 0x1004, 0x100c, 0x2000, UINT64_MAX, 0};
	if (size >= 8)
		memcpy(&probes[7], data + size - 8, 8);
	for (size_t i = 0; i < sizeof probes / sizeof *probes; i++) {
		const char *file;
		int line;
		if (af_lines_find(t, probes[i], &file, &line) == 0)
			(void)strlen(file);
	}
	af_lines_free(t);
	return 0;
}
