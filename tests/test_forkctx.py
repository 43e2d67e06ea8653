"""allocfail explore's forking runs for calling contexts (SITE<RA<...):
after the plain sites' forking runs, the contexts their children queued
are forked at too, each at its first hit, with the outcome a run of its
own gives it; where a context cannot be forked, a run of its own and the
reason counted."""
import re
import tempfile
from aftest import *


def explore(*args):
    r = tool("explore", "-q", "--json", "-", *args, timeout=300)
    return json.loads(r.stdout)


def outcomes(doc, depth0=True):
    # an error path's parent is the first run that reached it, which
    # depends on the order runs end in (forked or not): depth 0 in full,
    # deeper ones by site, outcome and detail
    return sorted((s["site"], tuple(s["chain"] or []) if depth0 else (), s["outcome"],
                   re.sub(r"pid \d+", "pid N", s["detail"] or ""))
                  for s in doc["sites"] if (s["depth"] == 0) == depth0)


def findings(doc):
    return sorted((f["class"], f["injection_stack"][0]["function"] or "",
                   f["injection_stack"][0]["line"] or 0,
                   re.sub(r"pid \d+", "pid N", f["detail"] or "")) for f in doc["findings"])


def contexts(doc):
    return sum(1 for s in doc["sites"] if "<" in s["site"])


def same_as_on_their_own(name, args):
    """Explores args without and with forking; the forking report."""
    own = explore("--no-fork", *args)
    fk = explore(*args)
    eq(outcomes(fk), outcomes(own), f"{name}: forking, each site and context as on its own")
    eq(outcomes(fk, False), outcomes(own, False), f"{name}: forking, the same error paths")
    eq(findings(fk), findings(own), f"{name}: forking, the same findings")
    eq((own["forked"], own.get("forked_contexts", 0), own["not_forked"]), (0, 0, {}),
       f"{name} --no-fork: nothing forked")
    check(contexts(own) > 0, f"{name}: calling contexts explored", contexts(own))
    check(fk.get("forked_contexts", 0) > 0, f"{name}: some contexts failed in forked children",
          fk["contexts"])
    # every plain site is offered to the first forking runs, every context
    # (queued once all plain sites are decided) to the next
    offered = fk["forked"] + sum(fk["not_forked"].values())
    depth0 = sum(1 for s in fk["sites"] if s["depth"] == 0)
    eq(offered, depth0, f"{name}: each site and context forked or given a reason")
    return fk


# wrapper: grow()'s six callers, three checking, three not
@case
def wrapper_contexts():
    for mode in ("first", "every"):
        fk = same_as_on_their_own(f"wrapper --mode {mode}", ["--mode", mode, "--", prog("wrapper")])
        # the careful callers' contexts are forked (careful_a's is the plain
        # site's own run); the careless ones crash in the child, and runs of
        # their own confirm them
        eq(fk.get("forked_contexts", 0), 2, f"wrapper --mode {mode}: careful_b's and careful_c's forked")
        check(fk["not_forked"].get("unhandled", 0) >= 3,
              f"wrapper --mode {mode}: the careless contexts confirmed on their own", fk["not_forked"])


# ctxthreads: contexts two and three frames above the call site, some
# reached before a second thread starts and some after: those after are
# not forked ("threads") and get runs of their own
@case
def contexts_after_threads():
    for mode in ("first", "every"):
        fk = same_as_on_their_own(f"ctxthreads --mode {mode}", ["--mode", mode, "--", prog("ctxthreads")])
        # early_b's context forked (early_a's is the plain site's run,
        # early_careless's crashes: unhandled); late_c's and late_careless's
        # reached with the idle thread running
        eq(fk.get("forked_contexts", 0), 1, f"ctxthreads --mode {mode}: early_b's context forked")
        eq(fk["not_forked"].get("threads"), 2,
           f"ctxthreads --mode {mode}: the two late contexts not forked: more than one thread")
        check("2 reached with more than one thread" in fk["fork_note"],
              f"ctxthreads --mode {mode}: and the note says so", fk["fork_note"])


# a real program: python3's allocator wrappers (PyMem_*) have hundreds of
# calling contexts
@case
def python_contexts():
    py = need("python3")
    fk = same_as_on_their_own("python3 -c pass", ["--jobs", "2", "--", py, "-c", "pass"])
    check(fk.get("forked_contexts", 0) > 100, "python3 -c pass: most of its contexts forked",
          fk["contexts"])


# the shim's side: a listed context that its rule's parser refuses, or that
# no stack matches, is never forked at, and the program runs as it would
@case
def contexts_not_matched():
    with tempfile.TemporaryDirectory() as d:
        with open(os.path.join(d, "sites"), "w") as f:
            f.write("wrapper+0x1<not a frame\nwrapper+0x2<wrapper+0x3<wrapper+0x4\n")
        r = run([prog("wrapper")], preload=True, ALLOCFAIL_CENSUS=os.path.join(d, "census"),
                ALLOCFAIL_FORK=f"5000:first:0:{d}")
        eq((r.returncode, r.stdout, r.stderr), (0, b"ok\n", b""), "wrapper runs as it would")
        eq(os.path.exists(os.path.join(d, "results")), False, "nothing forked, nothing recorded")


main()
