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
__errno_location afje_errno_location
EOF
# Every libc call of jemalloc's that can set errno goes through a wrapper
# that keeps the program's errno as it was (af_jeglue.c).
for s in mmap munmap madvise mprotect sbrk open close creat readlink sysconf syscall \
	clock_gettime gettimeofday sched_getcpu sched_getaffinity sched_setaffinity \
	secure_getenv strerror_r dlsym pthread_create pthread_join pthread_setname_np \
	pthread_getname_np; do
	echo "$s afje_sys_$s"
done >>map
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
# Nothing that can set errno may be called unwrapped: what jemalloc still
# calls of libc is known not to.
allowed=" __ctype_b_loc __sched_cpucount __stack_chk_fail _exit abort atexit getpid memchr \
memcmp memcpy memmove memset pthread_atfork pthread_cond_init pthread_cond_signal \
pthread_cond_timedwait pthread_cond_wait pthread_key_create pthread_mutex_init \
pthread_mutex_lock pthread_mutex_trylock pthread_mutex_unlock pthread_mutexattr_destroy \
pthread_mutexattr_init pthread_mutexattr_settype pthread_self pthread_setspecific \
pthread_sigmask sched_yield sigfillset strchr strcmp strcpy strlen strncmp strncpy \
__popcountdi2 _GLOBAL_OFFSET_TABLE_ "
for u in $(nm -u *.o | awk 'NF == 2 { print $2 }' | sort -u); do
	case $u in je_* | afje_*) continue ;; esac
	case $allowed in
	*" $u "*) ;;
	*)
		echo "jemalloc-rename.sh: jemalloc calls $u, which af_jeglue.c does not wrap" >&2
		exit 1
		;;
	esac
done
rm -f "$out"
"$ar" rcs "$out" *.o
