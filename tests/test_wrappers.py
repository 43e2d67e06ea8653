"""Calling contexts: a call site reached from several callers (a wrapper)
is failed in each of its callers' contexts (tests/progs/wrapper.c)."""
import functools
import re
import tempfile
from aftest import *

W = prog("wrapper")


def explore(*args):
    """allocfail explore -q ARGS -- wrapper: its result and its JSON report."""
    with tempfile.TemporaryDirectory() as d:
        js = os.path.join(d, "r.json")
        r = tool("explore", "-q", *args, "--json", js, "--", W, timeout=120)
        return r, json.loads(open(js).read())


@functools.lru_cache(None)
def explored():
    """The plain exploration, which two cases read."""
    return explore()


# sites lists the contexts of the wrapper's call site
@case
def sites_lists_contexts():
    r = tool("sites", "--json", "--", W)
    doc = json.loads(r.stdout)
    by_func = {s["function"]: s for s in doc["sites"]}
    grow, xmalloc = by_func["grow"], by_func["xmalloc"]
    eq(sorted(c["function"] for c in grow["contexts"]),
       ["careful_a", "careful_b", "careful_c", "careless_d", "careless_e", "careless_f"],
       "sites: grow's six calling contexts, each with its caller")
    check(all(re.fullmatch(re.escape(grow["site"]) + r"<wrapper\+0x[0-9a-f]+", c["site"])
              for c in grow["contexts"]), "as SITE<RETURN-ADDRESS", grow["contexts"])
    eq(by_func["main"]["contexts"], [], "a site with one caller has no contexts")


@case
def sites_context_zero():
    r = tool("sites", "--context", "0", "--json", "--", W)
    eq([s["contexts"] for s in json.loads(r.stdout)["sites"] if s["function"] == "grow"], [[]],
       "sites --context 0: none")


# explore: the three callers that do not check, each its own finding
@case
def explore_finds_each_context():
    r, doc = explored()
    eq(r.returncode, 1, "explore: bugs found")
    crashes = sorted(f["crash_function"] for f in doc["findings"] if f["class"] == "crash")
    eq(crashes, ["careless_d", "careless_e", "careless_f"],
       "the three careless callers crash, each found through its context")
    check(all("<" in f["injection_site"] for f in doc["findings"] if f["class"] == "crash"),
          "each finding's site is a context", [f["injection_site"] for f in doc["findings"]])
    aborts = [f for f in doc["findings"] if f["class"] == "abort"]
    eq([(f["function"], "<" in f["injection_site"]) for f in aborts], [("xmalloc", False)],
       "xmalloc, which aborts whoever called it, stays one site")
    eq(doc["contexts"], {"wrappers": 2, "found": 8, "explored": 7, "kept": 1, "cut": 0},
       "the report counts contexts found, explored and not")
    check("grow < careless_d (progs/wrapper.c:" in r.stdout.decode(),
          "the table names the caller", r.stdout)


# each reproducer fails that context alone
@case
def reproducers_fail_one_context():
    r, doc = explored()
    crashes = [f for f in doc["findings"] if f["class"] == "crash"]
    if not crashes:  # alone, this case would otherwise pass with nothing checked
        raise AssertionError(f"explore found no crash to reproduce: {doc['findings']}")
    with tempfile.TemporaryDirectory() as d:
        for f in crashes:
            log = os.path.join(d, "log")
            cmd = f["reproducer"].replace(" run ", f" run --log {log} ", 1)
            p = shell_group(cmd, 30)
            eq(p.returncode, 139, f"the reproducer of {f['crash_function']} crashes")
            inj = injections(log)
            eq([i["stack"][1]["func"] for i in inj], [f["crash_function"]],
               f"after one failure, in {f['crash_function']}'s context only")
            eq([i.get("context") for i in inj], [f["injection_site"]],
               f"the log names the context by the reproducer's key")
            rep = tool("report", log)
            check(f"in the calling context {f['injection_site']}\n" in rep.stdout.decode(),
                  "and report shows it", rep.stdout)
            os.unlink(log)


# by hand: --not-wrapper keeps grow to one run, --wrapper multiplies xmalloc
@case
def not_wrapper():
    r, doc = explore("--not-wrapper", "gro?")
    eq([f["class"] for f in doc["findings"]], ["abort"], "--not-wrapper grow: its contexts are not failed")


@case
def wrapper():
    r, doc = explore("--wrapper", "xmalloc")
    eq(sorted((g["class"], len(g["sites"])) for g in doc["groups"]),
       [("abort", 2), ("crash", 1), ("crash", 1), ("crash", 1)],
       "--wrapper xmalloc: both its contexts run, one abort group of two sites")
    eq(doc["contexts"]["kept"], 0, "and none is kept back")


@case
def wrapper_bad_glob():
    r = tool("explore", "--wrapper", "[x", "--", W)
    eq(r.returncode, 2, "--wrapper with a bad glob: status 2")


# --context 0: plain sites, first hits only (grow's is careful_a's)
@case
def explore_context_zero():
    r, doc = explore("--context", "0")
    eq([f["class"] for f in doc["findings"]], ["abort"], "--context 0: the careless callers go unseen")


# the rule language takes contexts
@case
def rules_take_contexts():
    r = tool("check", "/dev/stdin", input="fail site=wrapper+0x11b1<wrapper+0x12fb<libc.so.6+0x2724a nth=1\n")
    eq((r.returncode, r.stdout.decode().split("#")[0].strip()),
       (0, "fail site=wrapper+0x11b1<wrapper+0x12fb<libc.so.6+0x2724a nth=1"),
       "check: a context prints back as given")
    r = tool("check", "/dev/stdin", input="fail site=wrapper+0x11b1<wrapper\n")
    eq(r.returncode, 2, "check: a frame without an offset is refused")
    check("(a calling context: SITE<MODULE+0xOFFSET...)" in r.stderr.decode(), "saying what is expected",
          r.stderr)


main()
