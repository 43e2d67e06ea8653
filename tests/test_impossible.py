"""Requests that can never succeed fail at once whatever the action, as
Linux's __GFP_NOFAIL fails impossible orders: beyond the address space,
with an alignment beyond it, or beyond a simulated limit on their own. A
nofail rule, or small=retry, would otherwise retry them forever; the log
has an "impossible" event for each, and stderr without a log one line."""
import re
import tempfile
from aftest import *

never = ["malloc:max", "malloc:2^48", "calloc:2^24:2^24", "realloc:max",
         "memalign:2^62:16", "aligned_alloc:2^48:16", "posix_memalign:2^62:16"]
want = [f"{r}: NULL errno=12" if not r.startswith("posix") else f"{r}: rc=12 errno=12"
        for r in never]
why = {r: "alignment beyond the address space"
       for r in ("memalign:2^62:16", "aligned_alloc:2^48:16", "posix_memalign:2^62:16")}


@case
def fail_at_once_under_nofail():
    for label, kw in [("jemalloc", {}), ("next", {"ALLOCFAIL_BACKEND": "next"})]:
        with tempfile.TemporaryDirectory() as d:
            log = os.path.join(d, "log")
            # --timeout only ends a run that retries forever, as it did
            r = tool("run", "--timeout", "30", "--rule", "nofail caller=main", "--log", log, "--",
                     prog("impossible"), *never, **kw)
            eq((r.returncode, r.stdout.decode().splitlines()), (0, want),
               f"nofail ({label}): each impossible request fails at once with ENOMEM")
            ev = [e for e in json_lines(log) if e.get("ev") == "impossible"] if os.path.exists(log) else []
            eq([(e["fn"], e["instead_of"]) for e in ev],
               [(r.split(":")[0], "nofail") for r in never],
               f"nofail ({label}): one impossible event for each, in order")
            eq([e["why"] for e in ev],
               [why.get(r, "beyond the address space") for r in never],
               f"nofail ({label}): each says why")
            check(all(e["site"].startswith("impossible+0x") and "(main)" in e["site"] for e in ev),
                  f"nofail ({label}): each names its call site", ev)
            rep = tool("report", log)
            eq(rep.stdout.decode().count("can never succeed"), len(never),
               f"allocfail report shows them ({label})")


# beyond a limit on its own: under nofail, and under small=retry for a
# small request (costly_order=4: 64 KiB is still small)
@case
def small_retry_beyond_the_limit():
    r = tool("run", "--timeout", "30", "--set", "limit=48K", "--set", "small=retry",
             "--set", "costly_order=4", "--", prog("impossible"), "malloc:60000")
    eq((r.returncode, r.stdout), (0, b"malloc:60000: NULL errno=12\n"),
       "small=retry: a small request beyond the limit fails at once")
    err = stderr_lines(r)
    check(len(err) == 1 and re.fullmatch(
        r"allocfail: malloc\(60000\) at impossible\+0x[0-9a-f]+ \(main\) can never succeed \(beyond "
        r"the limit\): failed at once, not retried as small=retry would \(ALLOCFAIL_LOG=FILE records "
        r"every such request\)", err[0]), "small=retry: one line on stderr says so, naming the call site", err)


@case
def nofail_beyond_the_limit():
    r = tool("run", "--timeout", "30", "--set", "limit=1M", "--rule", "nofail caller=main", "--",
             prog("impossible"), "malloc:2000000", "malloc:2000000", "malloc:1000")
    eq((r.returncode, r.stdout.decode().splitlines()),
       (0, ["malloc:2000000: NULL errno=12", "malloc:2000000: NULL errno=12", "malloc:1000: ok errno=0"]),
       "nofail: a request beyond the limit fails at once, a possible one succeeds")
    eq(len(stderr_lines(r)), 1, "without a log, one line on stderr for all of them")


main()
