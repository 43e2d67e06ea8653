"""Every malloc-family function behaves as glibc documents, under both
backends and without the shim."""
import re
import tempfile
from aftest import *

for label, kw in [("no shim", {}), ("jemalloc", {"preload": True}),
                  ("next", {"preload": True, "ALLOCFAIL_BACKEND": "next"})]:
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
    cases = [(kib, what, extra) for kib in ("16", "64") for what, extra in [
             ("", {}),
             (", rules", {"ALLOCFAIL_RULE": "fail caller=no_such_fn", "ALLOCFAIL_LOG": "/dev/null"}),
             (", census", {"ALLOCFAIL_CENSUS": "/dev/null"}),
             (", in= rule", {"ALLOCFAIL_RULE": "fail in=no_such_fn"}),
             (", injections", {"ALLOCFAIL_RULE": "fail caller=work interval=10"})]]
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

# errno stays as it was across malloc and free even when the allocator's
# own system calls fail (a seccomp filter fails every madvise; jemalloc
# purges freed pages at once): Debian's libjemalloc.so.2 alone changes it
# in every free there
purge_now = "dirty_decay_ms:0,muzzy_decay_ms:0"
r = run([prog("errnokeep")], MALLOC_CONF=purge_now)
if r.returncode == 2:
    print("SKIP: no seccomp filter can be installed here:", r.stderr.decode().strip())
else:
    eq((r.returncode, r.stdout), (0, b"errno changed by malloc 0 times, by free 0 times\n"),
       "errno across malloc and free, failing madvise (no shim)")
    for label, kw in [("jemalloc", {}), ("next", {"ALLOCFAIL_BACKEND": "next"}),
                      ("jemalloc, rules", {"ALLOCFAIL_RULE": "fail caller=no_such_fn"})]:
        r = run([prog("errnokeep")], preload=True, MALLOC_CONF=purge_now, **kw)
        eq((r.returncode, r.stdout), (0, b"errno changed by malloc 0 times, by free 0 times\n"),
           f"errno across malloc and free, failing madvise ({label})")

# jemalloc's heap profiler, if a user turns it on: its stacks come from the
# shim (af_jeglue.c), which needs neither libgcc_s nor libm
import glob
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
done()
