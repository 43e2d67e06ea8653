"""allocfail explore's forking runs (the default): in every mode the same
outcomes as runs of their own; where a key cannot be forked, a run of its
own and the reason counted; budgets bound the forking runs too."""
import re
import tempfile
from aftest import *

DEMO = os.path.join(BUILD, "demo", "allocfail-demo")


def explore(*args):
    r = tool("explore", "-q", "--json", "-", *args, timeout=300)
    return r, json.loads(r.stdout)


def outcomes(doc):
    # in --mode nth a site's detail is that of the first of its allocations
    # recorded, which depends on the order runs end in: the outcome decides
    nth = doc["mode"] == "nth"
    return sorted((s["site"], tuple(s["chain"] or []), s["outcome"],
                   None if nth else re.sub(r"pid \d+", "pid N", s["detail"] or ""))
                  for s in doc["sites"])


def findings(doc):
    nth = doc["mode"] == "nth"
    return sorted((f["class"], f["injection_stack"][0]["function"], f["injection_stack"][0]["line"],
                   None if nth else f["detail"]) for f in doc["findings"])


# in each mode, forking gives every site (or allocation) the outcome a run
# of its own gives it, and the same findings; some forked, all accounted for
cases = [("demo", ["--timeout", "1", "--", DEMO]),
         ("nested abort", ["--", prog("nested"), "abort"]),
         ("differ", ["--status", "1", "--", prog("differ")])]

@case
def forking_as_on_its_own():
    for name, args in cases:
        for mode in ("first", "every", "nth"):
            _, own = explore("--no-fork", "--mode", mode, *args)
            _, fk = explore("--mode", mode, *args)
            eq(outcomes(fk), outcomes(own), f"{name} --mode {mode}: forking, each outcome as on its own")
            eq(findings(fk), findings(own), f"{name} --mode {mode}: forking, the same findings")
            eq((own["forked"], own["not_forked"], own["fork_note"]), (0, {}, None),
               f"{name} --mode {mode} --no-fork: nothing forked, nothing said")
            if name == "nested abort":  # each child aborts: confirmed by runs of their own
                check(fk["not_forked"].get("unhandled", 0) > 0,
                      f"{name} --mode {mode}: children that aborted, confirmed", fk["not_forked"])
            else:
                check(fk["forked"] > 0, f"{name} --mode {mode}: some failures in forked children",
                      fk["forked"])
            # every depth-0 key offered is either forked or counted with a reason
            offered = fk["forked"] + sum(fk["not_forked"].values())
            if mode != "nth":
                depth0 = sum(1 for s in fk["sites"] if s["depth"] == 0)
                eq(offered, depth0, f"{name} --mode {mode}: each site forked or given a reason")
            # a run of its own per site: the two references and one run each
            if mode == "first" and name == "demo":
                eq(own["runs"], len(own["sites"]) + 2, "--no-fork: a run of its own per site")


# more than one thread: never forked, each site a run of its own
@case
def threads_not_forked():
    _, doc = explore("--", prog("threadcount"))
    # 80 call sites and the one calling context of its wrapper
    eq((doc["forked"], doc["not_forked"]), (0, {"threads": 81, "runtime": 2}),
       "threadcount: the sites reached with threads and in the C runtime are not forked")
    eq({s["outcome"] for s in doc["sites"]}, {"handled"}, "threadcount: each decided by a run of its own")
    check("81 reached with more than one thread" in doc["fork_note"], "and the note says so", doc["fork_note"])


# a site reached in a process the command started: a run of its own fails
# it there, so a forked child could not stand for it
@case
def subprocess_not_forked():
    cmd = ["--", "/bin/sh", "-c", prog("nested") + "; exit $?"]
    _, own = explore("--no-fork", *cmd)
    _, fk = explore(*cmd)
    eq(outcomes(fk), outcomes(own), "sh -c nested: the same outcomes")
    nested_sites = sum(1 for s in own["sites"] if s["module"] and s["module"].endswith("/nested") and
                       s["depth"] == 0)
    # (and the sites of sh's own child, which runs nested)
    check(fk["not_forked"].get("subprocess", 0) >= nested_sites > 0,
          "sh -c nested: nested's sites not forked: reached in a process the command started",
          (fk["not_forked"], nested_sites))


# with --isolate, no forking (its runs each have a directory of their own)
@case
def isolate_not_forked():
    _, doc = explore("--isolate", "--", prog("nested"))
    eq((doc["forked"], doc["not_forked"]), (0, {}), "--isolate: runs of their own, silently")


# --budget in --mode nth: the forking run lists only what the budget
# allows, and the summary line says how many allocations were left out
@case
def nth_budget():
    with tempfile.TemporaryDirectory() as d:
        js = os.path.join(d, "b.json")
        r = tool("explore", "-q", "--mode", "nth", "--budget", "5", "--jobs", "1", "--timeout", "1",
                 "--json", js, "--", DEMO, timeout=300)
        doc = json.loads(open(js).read())
        eq(doc["runs"], 1 + 5, "--mode nth --budget 5: the reference and five runs")
        check(doc["unexplored"] > 0 and
              f"; the budget ran out with {doc['unexplored']} allocations unexplored)" in
              r.stdout.decode().splitlines()[0],
              "--mode nth --budget 5: the summary line says how many allocations are left",
              r.stdout.decode())


main()
