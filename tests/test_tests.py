"""explore --tests: a project's own test suite (tests/suite: one library
with planted bugs, three tests), read from meson, CTest and a list file;
each bug found once and named by its test, a site not explored again once
it has shown a bug, reproducers that run the test alone, shards merged."""
import atexit
import functools
import shutil
import tempfile
from aftest import *

SUITE = os.path.join(SRC, "tests", "suite")
tmp = tempfile.mkdtemp(prefix="af-suite-")
atexit.register(shutil.rmtree, tmp, True)
B = os.path.join(tmp, "build")


@functools.lru_cache(maxsize=None)
def suite():
    """The suite configured and built in B (once): meson's and ninja's runs."""
    meson, ninja = need("meson", "ninja")
    return run([meson, "setup", B, SUITE], timeout=120), run([ninja, "-C", B], timeout=120)


def explore(*args, cwd=None):
    suite()
    js = os.path.join(tmp, "r.json")
    if os.path.exists(js):
        os.unlink(js)
    r = tool("explore", "-q", "--json", js, *args, timeout=300, cwd=cwd)
    doc = json.load(open(js)) if os.path.exists(js) and os.path.getsize(js) else None
    return r, doc


def by_function(doc):
    """{function: (class, test, library)} of the groups' first findings."""
    out = {}
    for g in doc["groups"]:
        f = next(f for f in doc["findings"] if f["group"] == g["key"])
        out[f["function"]] = (g["class"], f["test"], g["library"])
    return out


def sites(doc, function):
    """(test, outcome) where the site of function's finding was failed."""
    key = next(f["injection_site"] for f in doc["findings"] if f["function"] == function)
    return sorted((s["test"], s["outcome"]) for s in doc["sites"] if s["site"] == key)


@case
def suite_builds():
    configure, build = suite()
    eq(configure.returncode, 0, "the suite configures")
    eq(build.returncode, 0, "the suite builds")


@functools.lru_cache(maxsize=None)
def in_order():
    return explore("--tests", B, "--jobs", "1")


# in the suite's order, one test at a time
@case
def meson_suite_in_order():
    r, doc = in_order()
    eq(r.returncode, 1, "bugs found: exit 1")
    eq(by_function(doc), {
        "table_open": ("crash", "planted:names", True),  # stored NULL, read by a later test
        "copy": ("crash", "planted:names", True),
        "join": ("silent", "planted:join", True),
        "main": ("crash", "planted:join", False),        # the test's own code
    }, "each planted bug once, named by the test that showed it, library apart from test code")
    eq(len(doc["findings"]), 4, "four findings, one each")
    eq(sites(doc, "table_open"), [("planted:count", "handled"), ("planted:names", "crash")],
       "a site handled in one test is explored again in the next, which reads what it stored")
    eq(sites(doc, "copy"), [("planted:names", "crash")],
       "a site that showed a bug is not explored again in a later test")
    eq([(t["name"], t["skipped"], t["note"]) for t in doc["tests"]],
       [("planted:count", 0, None), ("planted:names", 0, None), ("planted:join", 1, None)],
       "the tests, and the site skipped")
    eq(sorted({t["timeout"] for t in doc["tests"]}), [5.0], "each test's timeout from its reference run")
    check(not any(s["module"] and "/usr/" in s["module"] for s in doc["sites"]),
          "the default scope: the build tree's objects, not the C runtime",
          [s["module"] for s in doc["sites"]])
    check(not any(f["unconfirmed"] for f in doc["findings"]), "every bug came back when run alone")
    names = next(f for f in doc["findings"] if f["function"] == "table_open")
    check(names["reproducer"].startswith(f"cd {B} && env LD_LIBRARY_PATH="),
          "the reproducer runs the test in its directory with its environment", names["reproducer"])
    rr = subprocess.run(["/bin/sh", "-c", names["reproducer"]], capture_output=True, timeout=60)
    eq(rr.returncode, 128 + 11, "the reproducer crashes as reported")
    rt = tool("explore", "--tests", B, "--jobs", "1", timeout=300)
    out = rt.stdout.decode()
    check("In the tests' own code:\n" in out and "\nIn shared libraries:\n" in out and
          "in test planted:names" in out, "the table: test code apart, findings name the test", out)


# --once: each site in the first test only, so the NULL stored in
# planted:count is never read, and the report says what it skipped
@case
def once():
    names = next(f for f in in_order()[1]["findings"] if f["function"] == "table_open")
    r, doc = explore("--tests", B, "--jobs", "1", "--once")
    eq(sorted(by_function(doc)), ["copy", "join", "main"], "--once: the stored NULL is missed")
    key = next(s["site"] for s in doc["sites"] if s["function"] == "table_open" and
               s["site"] == names["injection_site"])
    eq(sorted(s["test"] for s in doc["sites"] if s["site"] == key), ["planted:count"],
       "--once: explored in one test")
    check(doc["once"] and doc["tests"][1]["skipped"] >= 2, "--once: the skipped sites counted",
          doc["tests"])


# shards: tests dealt out, the merge the same findings
@case
def shards_merged():
    suite()
    parts = []
    for k in (1, 2, 3):
        js = os.path.join(tmp, f"s{k}.json")
        tool("explore", "-q", "--tests", B, "--jobs", "1", "--shard", f"{k}/3", "--json", js,
             timeout=300)
        parts.append(js)
    eq([len(json.load(open(p))["tests"]) for p in parts], [1, 1, 1], "--shard K/3: one test each")
    mj = os.path.join(tmp, "m.json")
    m = tool("merge", "--json", mj, *parts, timeout=60)
    eq(m.returncode, 1, "merged: bugs")
    eq(sorted(by_function(json.load(open(mj)))), ["copy", "join", "main", "table_open"],
       "merged shards: the same findings")


# a baseline of them all: nothing new
@case
def baseline():
    suite()
    bl = os.path.join(tmp, "base.txt")
    tool("explore", "-q", "--tests", B, "--jobs", "1", "--write-baseline", bl, timeout=300)
    r, doc = explore("--tests", B, "--jobs", "2", "--baseline", bl)
    eq((r.returncode, doc["new_bugs"]), (0, 0), "--baseline: the known bugs do not fail")


# CTest: the same suite, with its properties
@case
def ctest():
    cmake = need("cmake")
    C = os.path.join(tmp, "cbuild")
    ok = run([cmake, "-S", SUITE, "-B", C], timeout=120).returncode == 0 and \
        run([cmake, "--build", C], timeout=120).returncode == 0
    eq(ok, True, "the CMake build")
    r, doc = explore("--tests", C, "--jobs", "2")
    eq(by_function(doc), {"table_open": ("crash", "names", True), "copy": ("crash", "names", True),
                          "join": ("silent", "join", True), "main": ("crash", "join", False)},
       "ctest: the same bugs")
    f = next(f for f in doc["findings"] if f["function"] == "table_open")
    check(f["reproducer"].startswith(f"cd {C} && env PLANTED_NOTE=1 "),
          "ctest: the test's ENVIRONMENT in the reproducer", f["reproducer"])


# a list file: one command a line, NAME=VALUE first, run in its directory;
# tests that cannot be explored are said so, one by one
@case
def list_file():
    suite()
    lst = os.path.join(B, "tests.txt")
    with open(lst, "w") as fh:
        fh.write("# make check\n"
                 f"LD_LIBRARY_PATH={B} ./test-names\n"
                 f"{os.path.abspath(prog('static-hello'))}\n"
                 "/bin/sh -c 'exit 3'\n"
                 "/bin/true\n")
    r, doc = explore("--tests", lst, "--jobs", "2")
    notes = {t["name"]: t["note"] for t in doc["tests"]}
    eq(notes[f"LD_LIBRARY_PATH={B} ./test-names"], None, "list: the test is explored")
    check("statically linked" in (notes[os.path.abspath(prog("static-hello"))] or ""), "list: a static test is said so",
          notes)
    check("already fails: exit status 3" in (notes["/bin/sh -c 'exit 3'"] or ""),
          "list: a failing test is said so", notes)
    check("saw no allocation in scope" in (notes["/bin/true"] or ""),
          "list: a test the shim sees nothing of in scope is said so", notes)
    eq(sorted(by_function(doc)), ["copy", "table_open"], "list: the bugs of the one test")


# bad sources
@case
def bad_sources():
    suite()
    r = tool("explore", "--tests", tmp, timeout=60)
    check(r.returncode == 2 and b"neither a meson build directory" in r.stderr,
          "a directory that is no build tree: one line, status 2", r.stderr)
    r = tool("explore", "--tests", B, "--", "/bin/true", timeout=60)
    check(r.returncode == 2 and b"no COMMAND" in r.stderr, "--tests with a command: status 2", r.stderr)


# a plain explore: --timeout is a ceiling over the reference's derived limit
@case
def timeout_ceiling():
    r, doc = explore("--timeout", "60", "--", os.path.join(B, "test-count"))
    eq(doc["timeout"], 5.0, "--timeout 60 over a fast reference: 5 s a run, said in the report")


main()
