/* af_runtime.h - the one list of the objects whose allocations are
   attributed to their caller (the C and C++ runtimes, the loader, the vdso,
   sanitizer runtimes): the shim's attribution and explore's default scope
   both read it. A comma-separated glob list, as module= takes it. */
#ifndef AF_RUNTIME_H
#define AF_RUNTIME_H

#define AF_RUNTIME_MODULES                                                               \
	"libc.so*,ld-linux*.so*,ld64.so*,libstdc++.so*,libgcc_s.so*,libpthread.so*,"     \
	"libdl.so*,librt.so*,libm.so*,libc++.so*,libc++abi.so*,libasan.so*,"              \
	"libubsan.so*,liblsan.so*,libtsan.so*,libhwasan.so*,linux-vdso.so*,"             \
	"linux-gate.so*"

#endif
