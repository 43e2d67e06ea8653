"""allocfail explore on fixtures with planted bugs: each found at the right
injection site and nothing else; reports; shards; the ASan build; error
paths inside error paths; --mode nth and every (test_explore_more.py has
the rest, run side by side)."""
import functools
from explore_common import *


@functools.lru_cache(maxsize=None)
def demo():
    """One explore of the demo, its three reports read: the cases below
    each read what they need of it."""
    with tempfile.TemporaryDirectory() as d:
        js, ju, sa = (os.path.join(d, n) for n in ("r.json", "r.xml", "r.sarif"))
        r = explore("--timeout", "1", "--json", js, "--junit", ju, "--sarif", sa, "--", DEMO)
        doc = json.loads(open(js).read())
        return r, doc, ET.parse(ju).getroot(), json.loads(open(sa).read())


@case
def demo_planted_bugs():
    r, doc, _, _ = demo()
    eq(r.returncode, 1, "demo: exit status 1 (bugs found)")
    eq(findings(doc), planted, "demo: each planted bug at its injection site, and nothing else")
    out = r.stdout.decode()
    check(re.search(r"crash\s+parse_item \(demo/allocfail-demo.c:\d+\)\s+SIGSEGV in parse_item", out),
          "the table names the injection site and the crash site", out)
    check("(not counted as a bug)" in out and "4 findings from 4 call sites, 3 bugs" in out,
          "the abort is listed but not counted", out)
    by_class = {f["class"]: f for f in doc["findings"]}
    crash = by_class.get("crash", {})
    check(crash.get("crash_stack") and crash["crash_stack"][0]["function"] == "parse_item",
          "the crash finding carries the crash stack", crash.get("crash_stack"))
    eq(sum(1 for s in doc["sites"] if s["outcome"] == "handled") >= 3, True,
       "the properly handled sites are handled")
    read_stock = [s for s in doc["sites"] if s["function"] == "read_stock"]
    eq([s["outcome"] for s in read_stock], ["handled"], "read_stock's failure is handled")
    check(read_stock and "cannot read the stock list" in read_stock[0]["detail"],
          "with the program's message as detail", read_stock)


# every reproducer reproduces its finding
@case
def demo_reproducers():
    _, doc, _, _ = demo()
    check(all(f["reproducer"].startswith(shlex.quote(TOOL) + " run ") for f in doc["findings"]),
          "reproducers call this build of allocfail, which is not on PATH",
          [f["reproducer"] for f in doc["findings"]])
    for f in doc["findings"]:
        cmd = f["reproducer"]  # names this very build of allocfail (not on PATH)
        p = shell_group(cmd, 10)
        status = p.returncode
        # a hang's reproducer carries explore's timeout: 124, as timeout(1)
        expect = {"crash": 139, "abort": 134, "hang": 124, "silent": 0}[f["class"]]
        eq(status, expect, f"the reproducer of the {f['class']} finding reproduces it")
        eq(" --timeout 1 " in cmd, f["class"] == "hang", f"{f['class']}: a timeout in hangs' only")
        if f["class"] == "silent":
            check(len(p.stdout) < 104 and p.returncode == 0, "the silent run loses output", p.stdout)


# JUnit: one test case per site, a failure per bug
@case
def demo_junit():
    _, doc, root, _ = demo()
    cases = root.findall(".//testcase")
    eq(len(cases), len(doc["sites"]), "JUnit: one test case per site")
    eq(sorted(c.find("failure").get("type") for c in cases if c.find("failure") is not None),
       ["crash", "hang", "silent"], "JUnit: a failure per bug")


# SARIF 2.1.0 with source locations
@case
def demo_sarif():
    _, _, _, sarif = demo()
    eq(sarif["version"], "2.1.0", "SARIF: version 2.1.0")
    results = sarif["runs"][0]["results"]
    locs = sorted((x["ruleId"], x["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
                   x["locations"][0]["physicalLocation"]["region"]["startLine"]) for x in results)
    eq(locs, sorted((f"allocfail/{c}", os.path.relpath(SRCFILE, os.getcwd()) if SRCFILE.startswith(os.getcwd()) else "file://" + SRCFILE, l)
                    for c, _, l in planted),
       "SARIF: each finding at its source line")
    eq(sorted(x["level"] for x in results), ["error", "error", "error", "note"], "SARIF: levels")


# shards: 1/2 and 2/2 together find what the whole run found
@case
def shards():
    _, doc, _, _ = demo()
    with tempfile.TemporaryDirectory() as d:
        parts = []
        for k in (1, 2):
            p = os.path.join(d, f"shard{k}.json")
            explore("--timeout", "1", "--shard", f"{k}/2", "--json", p, "--", DEMO)
            parts.append(json.loads(open(p).read()))
        names = [sorted(s["site"] for s in p["sites"]) for p in parts]
        eq(sorted(names[0] + names[1]), sorted(s["site"] for s in doc["sites"]),
           "the shards split the sites between them")
        check(not set(names[0]) & set(names[1]), "with no site in both")
        m = tool("merge", "--json", os.path.join(d, "merged.json"), os.path.join(d, "shard1.json"),
                 os.path.join(d, "shard2.json"))
        eq(m.returncode, 1, "merge: exit status 1 (bugs)")
        merged = json.loads(open(os.path.join(d, "merged.json")).read())
        eq(findings(merged), planted, "merge: the same findings as one run")


# --exclude takes known sites out
@case
def exclude():
    _, doc, _, _ = demo()
    crash = {f["class"]: f for f in doc["findings"]}.get("crash", {})
    with tempfile.TemporaryDirectory() as d:
        js = os.path.join(d, "r.json")
        excl = os.path.join(d, "exclude")
        with open(excl, "w") as f:
            f.write("# accepted\n" + crash["injection_site"] + "   parse_item\n")
        explore("--timeout", "1", "--exclude", excl, "--json", js, "--", DEMO)
        eq([c for c, _, _ in findings(json.loads(open(js).read()))], ["abort", "hang", "silent"],
           "--exclude: the excluded site is not explored")


# AddressSanitizer build with --backend next: the leak on an error path
@case
def asan_leak():
    if not os.path.exists(DEMO_ASAN):
        skip("the demo's ASan build is not there")
    with tempfile.TemporaryDirectory() as d:
        js = os.path.join(d, "a.json")
        explore("--backend", "next", "--timeout", "1", "--json", js, "--", DEMO_ASAN)
        doc = json.loads(open(js).read())
        got = findings(doc)
        leak_line = line_of("char *scratch = malloc(256);")
        check(("sanitizer", "load_prices", leak_line) in got,
              "ASan build: the leak on load_prices' error path is a sanitizer finding", got)
        eq(sorted(c for c, _, _ in got), ["abort", "crash", "hang", "sanitizer", "silent"],
           "ASan build: one finding of each class")
        # its reproducer reproduces it: allocfail run --backend next sets up ASan
        san = [f for f in doc["findings"] if f["class"] == "sanitizer"]
        for f in san:
            cmd = f["reproducer"]  # names this very build of allocfail (not on PATH)
            p = shell_group(cmd, 30)
            check(b"LeakSanitizer: detected memory leaks" in p.stderr,
                  "ASan build: the sanitizer finding's reproducer shows the leak", p.stderr[-600:])


# error paths inside error paths
@case
def error_path_in_error_path():
    with tempfile.TemporaryDirectory() as d:
        js = os.path.join(d, "n.json")
        explore("--json", js, "--", prog("nested"))
        doc = json.loads(open(js).read())
        eq([(f["class"], f["injection_stack"][0]["function"]) for f in doc["findings"]],
           [("crash", "report_error")], "nested: the crash on the error path is found")
        deep = [s for s in doc["sites"] if s["function"] == "report_error"]
        check(deep and deep[0]["depth"] == 1 and len(deep[0]["chain"]) == 1,
              "nested: reached by failing load_table first", deep)


@case
def depth_0():
    with tempfile.TemporaryDirectory() as d:
        js = os.path.join(d, "n.json")
        explore("--depth", "0", "--json", js, "--", prog("nested"))
        eq(json.loads(open(js).read())["findings"], [], "--depth 0 does not go there")


# the error path found by a forked child that is set aside (it did not
# handle its failure) is found again by its run of its own
@case
def error_path_of_unhandled_child():
    with tempfile.TemporaryDirectory() as d:
        js = os.path.join(d, "n.json")
        for extra in ([], ["--fork"]):
            explore(*extra, "--json", js, "--", prog("nested"), "abort")
            doc = json.loads(open(js).read())
            eq(sorted((f["class"], f["injection_stack"][0]["function"]) for f in doc["findings"]),
               [("abort", "load_table"), ("crash", "report_error")],
               f"nested abort {extra}: the abort, and the crash on its error path")


# --mode nth and --mode every find the same planted crash
@case
def modes_find_the_crash():
    for mode in ("nth", "every"):
        with tempfile.TemporaryDirectory() as d:
            js = os.path.join(d, "m.json")
            explore("--mode", mode, "--timeout", "1", "--json", js, "--", DEMO)
            got = findings(json.loads(open(js).read()))
            check(("crash", "parse_item", line_of("struct item *it = malloc(sizeof *it);")) in got,
                  f"--mode {mode}: the crash in parse_item", got)


main()
