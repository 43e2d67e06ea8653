#!/bin/sh
# jemalloc-rename.sh IN.a OUT.a OBJCOPY AR
# Rebuilds Debian's libjemalloc_pic.a for the shim: every public symbol is
# renamed to afje_* and jemalloc's C++ operators are dropped, so that
# jemalloc's own malloc/free/operator new can never enter the host
# process's global scope (the shim's version script hides the rest).
set -eu
in=$1
out=$2
objcopy=$3
ar=$4
case $out in /*) ;; *) out=$(pwd)/$out ;; esac
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cd "$tmp"
"$ar" x "$in"
rm -f jemalloc_cpp.pic.o jemalloc_cpp.o
for s in malloc calloc realloc free posix_memalign aligned_alloc memalign valloc \
	malloc_usable_size mallocx rallocx xallocx sallocx dallocx sdallocx nallocx \
	mallctl mallctlnametomib mallctlbymib malloc_stats_print malloc_message \
	malloc_conf malloc_conf_2_conf_harder; do
	echo "$s afje_$s"
done >map
# What jemalloc's heap profiler asks of libm and libgcc_s, served by the
# shim itself (af_jeglue.c), so that neither library is loaded.
cat >>map <<EOF
log afje_log
exp afje_exp
round afje_round
_Unwind_Backtrace afje_unwind_backtrace
_Unwind_GetIP afje_unwind_getip
EOF
for o in *.o; do
	"$objcopy" --redefine-syms=map "$o"
done
# Nothing unprefixed may remain defined.
leaks=$(nm -g --defined-only *.o 2>/dev/null | awk 'NF == 3 { print $3 }' |
	grep -v -e '^je_' -e '^afje_' -e '^_GLOBAL_' -e '^DW\.ref\.' | sort -u || true)
if [ -n "$leaks" ]; then
	echo "jemalloc-rename.sh: unexpected public symbols: $leaks" >&2
	exit 1
fi
rm -f "$out"
"$ar" rcs "$out" *.o
