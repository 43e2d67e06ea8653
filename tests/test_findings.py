"""explore's findings as a maintainer acts on them: judged at the process
that took the failure, in the right class, grouped by root cause, and
baselines that survive a rebuild (tests/progs/outcomes.c, badalloc.cc)."""
import re
import shutil
import tempfile
from aftest import *

OUT = prog("outcomes")


def explore_json(*args):
    with tempfile.TemporaryDirectory() as d:
        js = os.path.join(d, "r.json")
        r = tool("explore", "-q", "--timeout", "5", "--json", js, *args, timeout=300)
        doc = json.loads(open(js).read()) if os.path.exists(js) and os.path.getsize(js) else None
        return r, doc


def groups(doc):
    return sorted((g["class"], len(g["sites"])) for g in doc["groups"])


# a pipeline whose first process reports the failure and exits 2, whose
# last succeeds: the shell's status is 0, the output short, and yet the
# failure was handled, by the process that took it
@case
def pipeline_judged_where_failed():
    sh = need("sh")
    r, doc = explore_json("--scope", "outcomes", "--", sh, "-c", f"{OUT} handler | cat; echo done")
    eq(r.returncode, 0, "pipeline: no bug")
    handled = [s for s in doc["sites"] if s["outcome"] == "handled" and "exit 2" in s["detail"]]
    check(len(handled) == 1, "pipeline: the failing site is handled, judged by the process that took it",
          doc["sites"])
    check(handled and re.match(r"outcomes \(pid \d+\) exit 2: outcomes: memory exhausted; the command "
                               r"then exited normally with other output$", handled[0]["detail"]),
          "with that process's name, pid, status and message, and what the command did next", handled)
    eq(doc["findings"], [], "pipeline: no finding")


# g_error's way: a message, then SIGTRAP: a deliberate end
@case
def trap_after_message():
    r, doc = explore_json("--", OUT, "trap")
    eq((r.returncode, groups(doc)), (0, [("abort", 1)]), "trap after a message: an abort, not a bug")
    check(doc["findings"][0]["detail"].startswith("SIGTRAP after: outcomes-ERROR **: failed to allocate"),
          "with the message as detail", doc["findings"][0]["detail"])


# an uncaught std::bad_alloc: terminate says so and aborts
@case
def uncaught_bad_alloc():
    r, doc = explore_json("--", prog("badalloc"))
    eq(groups(doc), [("abort", 2)], "uncaught bad_alloc: one abort group (new, and the string's buffer)")
    check("std::bad_alloc" in doc["findings"][0]["detail"], "naming bad_alloc", doc["findings"][0]["detail"])
    r, doc = explore_json("--abort-is-bug", "--", prog("badalloc"))
    eq(r.returncode, 1, "--abort-is-bug: the abort counts as a bug")


# warned and silent: the normal status and short output, with and without a word
@case
def warned():
    r, doc = explore_json("--", OUT, "warn")
    eq((r.returncode, groups(doc)), (1, [("warned", 1)]), "warn and go on: warned, a bug")
    check(doc["findings"][0]["detail"].endswith(
        "after the message: outcomes: warning: no memory for the index; going on without it"),
          "with the warning as detail", doc["findings"][0]["detail"])


@case
def silent():
    r, doc = explore_json("--", OUT, "silent")
    eq((r.returncode, groups(doc)), (1, [("silent", 1)]), "say nothing and lose output: silent")


# one crash reached from five call sites: one group of five
@case
def one_group_of_five():
    r, doc = explore_json("--", OUT, "five")
    eq(groups(doc), [("crash", 5)], "five sites, one crash site: one group of five")
    g = doc["groups"][0]
    eq(sorted(s["function"] for s in g["sites"]), ["fill0", "fill1", "fill2", "fill3", "fill4"],
       "the group lists each site with its function")
    check(all(s["reproducer"] and s["site"] in s["reproducer"] for s in g["sites"]),
          "and its reproducer", g["sites"])
    eq(g["key"], "crash|outcomes:use", "its key names the crash site's function, not an offset")
    check("5 call sites, one root cause" in r.stdout.decode() and r.stdout.decode().count("\ncrash ") == 1,
          "the table shows it once", r.stdout)


# an error path whose outcome only repeats its parent's folds into it
@case
def error_path_folds():
    r, doc = explore_json("--", OUT, "fold")
    eq(groups(doc), [("silent", 3)], "fold: the error path's sites join their parent's group")
    depths = sorted(f["depth"] for f in doc["findings"])
    eq(depths, [0, 1, 1], "the JSON keeps every finding, with its depth")
    eq(doc["groups"][0]["sites"][0]["function"], "load", "the parent leads the group")


# an error path's run fails its parent first: what the parent's failure
# said counts for it too (warned, not silent)
@case
def error_path_parent_said():
    r, doc = explore_json("--", OUT, "said")
    eq(sorted((f["class"], f["depth"]) for f in doc["findings"]), [("warned", 0), ("warned", 1), ("warned", 1)],
       "said: the error path's runs are warned, as their parent, not silent")


# baselines: the keys survive a rebuild that moves every offset
@case
def baseline_survives_rebuild():
    with tempfile.TemporaryDirectory() as d:
        base = os.path.join(d, "baseline")
        r = tool("explore", "-q", "--write-baseline", base, "--", OUT, "five", timeout=120)
        eq(r.returncode, 1, "the crash is a new bug without a baseline")
        eq([l for l in open(base).read().splitlines() if not l.startswith("#")], ["crash|outcomes:use"],
           "--write-baseline writes the group's key")
        js, sa = os.path.join(d, "r.json"), os.path.join(d, "r.sarif")
        # the rebuilt program, under its own name
        os.mkdir(os.path.join(d, "rebuilt"))
        rebuilt = os.path.join(d, "rebuilt", "outcomes")
        shutil.copy(prog("outcomes-extra"), rebuilt)
        r = tool("explore", "-q", "--baseline", base, "--json", js, "--sarif", sa, "--",
                 rebuilt, "five", timeout=120)
        eq(r.returncode, 0, "after an unrelated change, the known crash does not fail the run")
        doc = json.loads(open(js).read())
        eq([(g["class"], g["known"]) for g in doc["groups"]], [("crash", True)], "it is listed, marked known")
        check("[known: in the baseline]" in r.stdout.decode() and "0 new bugs (1 more known from the baseline)"
              in r.stdout.decode(), "the table says so", r.stdout)
        sarif = json.loads(open(sa).read())["runs"][0]["results"]
        eq([(x["baselineState"], x["partialFingerprints"]["allocfailGroup/v1"]) for x in sarif],
           [("unchanged", "crash|outcomes:use")], "SARIF: one result, baselineState unchanged")
        eq(len(sarif[0]["relatedLocations"]), 5, "with the crash site and the four other sites related")


# a JSON report is a baseline too; merge honours it
@case
def report_as_baseline():
    with tempfile.TemporaryDirectory() as d:
        js = os.path.join(d, "r.json")
        tool("explore", "-q", "--json", js, "--", OUT, "silent", timeout=120)
        r = tool("merge", "--baseline", js, js, timeout=60)
        eq(r.returncode, 0, "merge --baseline REPORT.json: nothing new")
        r = tool("merge", js, timeout=60)
        eq(r.returncode, 1, "merge without it: the silent loss is a bug")


@case
def bad_baseline_line():
    with tempfile.TemporaryDirectory() as d:
        bad = os.path.join(d, "bad")
        open(bad, "w").write("crash|x\nnot a key\n")
        r = tool("explore", "--baseline", bad, "--", OUT, "five")
        eq((r.returncode, stderr_lines(r)),
           (2, [f"allocfail: explore: {bad}:2: expected a group key (CLASS|WHERE...), got 'not a key'"]),
           "a bad baseline line: status 2 and the line")


# forking says how many sites were not forked, and why: the five crashes
# forked, then confirmed by runs of their own; the C runtime's not forked
@case
def fork_note():
    r, doc = explore_json("--", OUT, "five")
    eq(groups(doc), [("crash", 5)], "forking: the same group")
    eq((doc["forked"], doc["not_forked"], doc["fork_note"]),
       (0, {"runtime": 1, "unhandled": 5},
        "0 of 6 call sites failed in forked children; 1 got runs of their own: 1 reached inside "
        "the C runtime; 5 forked children did not handle the failure and were confirmed by runs of "
        "their own"), "forking: the report says how each site went, and why")


# --stacks N: the injection stack under each finding
@case
def stacks():
    r = tool("explore", "-q", "--stacks", "2", "--", OUT, "silent", timeout=120)
    out = r.stdout.decode()
    check(re.search(r"\n  stack: silent \(progs/outcomes.c:\d+\)  outcomes\+0x[0-9a-f]+\n"
                    r"        main \(progs/outcomes.c:\d+\)  outcomes\+0x[0-9a-f]+\n", out),
          "--stacks 2: the call site and its caller", out)


# a report does not depend on the order in which parallel runs ended:
# the sites in the order the reference run reached them (their error paths
# and calling contexts after, by key), the findings by site and reproducer
@case
def report_order_stable():
    def order(doc):
        return ([(s["site"], s["depth"], tuple(s["chain"] or [])) for s in doc["sites"]],
                [(f["class"], f["injection_site"], f["reproducer"]) for f in doc["findings"]])
    for args in (["--jobs", "2", "--", OUT, "five"], ["--jobs", "2", "--", prog("wrapper")],
                 ["--jobs", "2", "--no-fork", "--", prog("nested"), "abort"]):
        seen = [order(explore_json(*args)[1]) for _ in range(3)]
        name = " ".join(os.path.basename(a) for a in args)
        check(len(seen[0][0]) > 1 and len(seen[0][1]) > 0, f"{name}: sites and findings to order",
              seen[0])
        eq(seen[1], seen[0], f"{name}: the second report in the order of the first")
        eq(seen[2], seen[0], f"{name}: the third too")


main()
