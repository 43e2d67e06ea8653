"""No rules means no change, also when memory really runs out: a program
that allocates until malloc returns NULL and then exits 0 does so under
the shim with no rule and no setting, with both backends. The kernel's
"too small to fail" retrying is a policy (set small=retry), and its
reports name the module of the stuck call site even with the heap
exhausted."""
import re
import tempfile
import shlex
from aftest import *

AS_KIB = 300000  # ulimit -v: enough for the shim, soon exhausted


def limited(argv, **extra):
    cmd = f"ulimit -v {AS_KIB} && exec " + " ".join(shlex.quote(a) for a in argv)
    return run(["sh", "-c", cmd], timeout=60, **extra)


want = b"NULL after many blocks, errno=12\n"


@case
def exhausted_alone():
    bare = limited([prog("exhaust")])
    eq((bare.returncode, bare.stdout), (0, want), "alone: malloc returns NULL/ENOMEM, exit 0")


@case
def no_rule_no_change():
    for label, kw in [("jemalloc", {}), ("next", {"ALLOCFAIL_BACKEND": "next"})]:
        r = limited([TOOL, "run", "--", prog("exhaust")], **kw)
        eq((r.returncode, r.stdout, r.stderr), (0, want, b""),
           f"allocfail run with no rule ({label}): the same, nothing on stderr")
        r = limited([prog("exhaust")], preload=True, **kw)
        eq((r.returncode, r.stdout, r.stderr), (0, want, b""),
           f"preloaded with no configuration ({label}): the same")


# the kernel's semantics, asked for: retried, a canary, the OOM action;
# every line names the module of the call site
retry = ["--set", "small=retry", "--set", "retry_warn=2", "--set", "retry_timeout=200ms",
         "--set", "oom=fail"]


@case
def small_retry_names_the_module():
    for label, kw in [("jemalloc", {}), ("next", {"ALLOCFAIL_BACKEND": "next"})]:
        with tempfile.TemporaryDirectory() as d:
            log = os.path.join(d, "log")
            r = limited([TOOL, "run", *retry, "--", prog("exhaust")], **kw)
            eq((r.returncode, r.stdout), (0, want), f"small=retry oom=fail ({label}): NULL in the end")
            err = stderr_lines(r)
            named = [l for l in err if "malloc(1000) at " in l]
            check(any("possible memory allocation deadlock" in l for l in named) and
                  any("out of memory" in l for l in named),
                  f"small=retry ({label}): a canary and the OOM action", err)
            check(named and all(re.search(r" at exhaust\+0x[0-9a-f]+", l) for l in named),
                  f"small=retry ({label}): each line names the module of the stuck call site", err)
            check(all(" at ?+" not in l for l in err),
                  f"small=retry ({label}): no call site without a module", err)
            r = limited([TOOL, "run", *retry, "--log", log, "--", prog("exhaust")], **kw)
            events = [e for e in json_lines(log) if e.get("ev") in ("canary", "oom")]
            sites = [e.get("site", "") for e in events if e.get("size") == 1000]
            check(sites and all(s.startswith("exhaust+0x") for s in sites),
                  f"small=retry ({label}): the log's events name the module", events)


main()
