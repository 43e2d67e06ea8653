"""Every malloc-family function behaves as glibc documents, under both
backends and without the shim."""
import glob
import re
import tempfile
from aftest import *

SETUPS = [("no shim", {}), ("jemalloc", {"preload": True}),
          ("next", {"preload": True, "ALLOCFAIL_BACKEND": "next"})]
BACKENDS = [("jemalloc", {}), ("next", {"ALLOCFAIL_BACKEND": "next"})]


@case
def family_as_documented():
    for label, kw in SETUPS:
        r = run([prog("family")], **kw)
        out = r.stdout.decode()
        eq(r.returncode, 0, f"family checks pass ({label})")
        check("0 failed" in out, f"family reports no failed check ({label})", out)
        eq(r.stderr, b"", f"nothing on stderr ({label})")
        if label != "no shim":
            check("cfree present" in out, f"cfree is exported ({label})", out)


# the shim's thread-local storage is small, and so are its frames on a
# thread's stack: a 16 KiB thread stack (PTHREAD_STACK_MIN) works with
# nothing configured, with rules on callers and a log, under the census
# (walks to strdup's caller), with an in= rule and with injections
# reported (docs/design.md, "Small frames on the program's stack")
@case
def small_thread_stacks():
    cases = [(kib, what, extra) for kib in ("16", "64") for what, extra in [
             ("", {}),
             (", rules", {"ALLOCFAIL_RULE": "fail caller=no_such_fn", "ALLOCFAIL_LOG": "/dev/null"}),
             (", census", {"ALLOCFAIL_CENSUS": "/dev/null"}),
             (", census with contexts", {"ALLOCFAIL_CENSUS": "/dev/null", "ALLOCFAIL_CONTEXT": "8"}),
             (", in= rule", {"ALLOCFAIL_RULE": "fail in=no_such_fn"}),
             (", injections", {"ALLOCFAIL_RULE": "fail caller=work interval=10"})]]
    for label, kw in SETUPS:
        for kib, what, extra in cases:
            if what and label == "no shim":
                continue
            with tempfile.TemporaryDirectory() as d:
                log = os.path.join(d, "log")
                if what == ", injections":
                    extra = dict(extra, ALLOCFAIL_LOG=log)
                r = run([prog("smallstack"), kib], **kw, **extra)
                eq((r.returncode, r.stdout), (0, b"create: ok\n"),
                   f"a thread with a {kib} KiB stack ({label}{what})")
                if what == ", injections": # 200 calls in work(), every tenth fails
                    eq(len([e for e in json_lines(log) if e.get("ev") == "inject"]), 20,
                       f"a thread with a {kib} KiB stack: its injections logged ({label})")


# requests glibc refuses are refused alike: an alignment of 2^63 (or one
# that rounds up to it) is ENOMEM, above 2^63 EINVAL; posix_memalign's
# ENOMEM leaves errno ENOMEM, its EINVAL leaves errno alone; and what no
# memory could back (glibc maps without MAP_NORESERVE, so the kernel's
# overcommit heuristic refuses it) is NULL, not a block that faults later
@case
def impossible_as_glibc():
    reqs = ["memalign:2^63:16", "aligned_alloc:2^63:16", "posix_memalign:2^63:16",
            "memalign:0x4000000000000001:16", "memalign:max:16", "aligned_alloc:0x8000000000000001:16",
            "posix_memalign:3:16", "posix_memalign:2^62:16"]
    exact = ["memalign:2^63:16: NULL errno=12", "aligned_alloc:2^63:16: NULL errno=12",
             "posix_memalign:2^63:16: rc=12 errno=12", "memalign:0x4000000000000001:16: NULL errno=12",
             "memalign:max:16: NULL errno=22", "aligned_alloc:0x8000000000000001:16: NULL errno=22",
             "posix_memalign:3:16: rc=22 errno=0", "posix_memalign:2^62:16: rc=12 errno=12"]
    huge = ["malloc:2^46", "memalign:2^40:10", "calloc:2^20:2^20", "realloc:2^46"]
    bare = run([prog("impossible"), *reqs, *huge])
    eq(bare.stdout.decode().splitlines()[:len(reqs)], exact, "glibc's answers to impossible alignments")
    for label, kw in BACKENDS:
        r = run([prog("impossible"), *reqs, *huge], preload=True, **kw)
        eq(r.stdout.decode().splitlines(), bare.stdout.decode().splitlines(),
           f"alignments, errno and unmappable sizes as glibc answers them ({label})")


# glibc's questions about the heap answer about the heap in use: 10 MB
# held show in mallinfo2 and mallinfo, malloc_trim gives back what was
# freed (1) and then has nothing left (0), malloc_stats prints the totals
@case
def heap_questions():
    grew = ["mallinfo2 in use grew by 10 MB: yes", "mallinfo in use grew by 10 MB: yes",
            "mallinfo2 heap holds it: yes", "mallinfo2 in use after free: back"]
    r = run([prog("heapinfo")])
    eq(r.stdout.decode().splitlines()[:4], grew, "heapinfo without the shim (glibc)")
    for label, kw in BACKENDS:
        r = run([prog("heapinfo")], preload=True, **kw)
        out = r.stdout.decode().splitlines()
        eq(out[:4], grew, f"mallinfo2 and mallinfo see the program's heap ({label})")
        if label == "jemalloc":
            eq(out[4:], ["malloc_trim after free: 1, again: 0"],
               "malloc_trim purges jemalloc's freed pages, then has none left")
        use = re.findall(r"^in use bytes += +(\d+)$", r.stderr.decode(), re.M)
        check(use and int(use[-1]) > 0 and re.search(r"^Total \(incl. mmap\):$", r.stderr.decode(), re.M),
              f"malloc_stats prints glibc's totals block ({label})", r.stderr.decode())


# errno stays as it was across malloc and free even when the allocator's
# own system calls fail (a seccomp filter fails every madvise; jemalloc
# purges freed pages at once): Debian's libjemalloc.so.2 alone changes it
# in every free there
@case
def errno_kept():
    purge_now = "dirty_decay_ms:0,muzzy_decay_ms:0"
    r = run([prog("errnokeep")], MALLOC_CONF=purge_now)
    if r.returncode == 2:
        skip("no seccomp filter can be installed here: " + r.stderr.decode().strip())
    eq((r.returncode, r.stdout), (0, b"errno changed by malloc 0 times, by free 0 times\n"),
       "errno across malloc and free, failing madvise (no shim)")
    for label, kw in BACKENDS + [("jemalloc, rules", {"ALLOCFAIL_RULE": "fail caller=no_such_fn"})]:
        r = run([prog("errnokeep")], preload=True, MALLOC_CONF=purge_now, **kw)
        eq((r.returncode, r.stdout), (0, b"errno changed by malloc 0 times, by free 0 times\n"),
           f"errno across malloc and free, failing madvise ({label})")


# jemalloc's heap profiler, if a user turns it on: its stacks come from the
# shim (af_jeglue.c), which needs neither libgcc_s nor libm
@case
def heap_profiler():
    with tempfile.TemporaryDirectory() as d:
        r = run([prog("trig")], preload=True,
                MALLOC_CONF=f"prof:true,prof_final:true,lg_prof_sample:0,prof_prefix:{d}/jeprof")
        eq(r.returncode, 0, "MALLOC_CONF=prof:true: the program runs")
        heaps = glob.glob(os.path.join(d, "jeprof.*.heap"))
        eq(len(heaps), 1, "and jemalloc writes its final heap profile")
        text = open(heaps[0]).read() if heaps else ""
        maps = re.findall(r"^([0-9a-f]+)-([0-9a-f]+) r-xp .*/trig$", text, re.M)
        pcs = [int(a, 16) for a in re.findall(r"0x([0-9a-f]+)", " ".join(re.findall(r"^@ (.*)$", text, re.M)))]
        check(maps and any(int(lo, 16) <= pc < int(hi, 16) for lo, hi in maps for pc in pcs),
              "whose stacks reach the program's own code", text[:600])


main()
