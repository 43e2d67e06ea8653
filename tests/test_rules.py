"""Each matcher and trigger of the rule language on a program with known
call sites; exactly the expected allocations fail."""
import tempfile
from aftest import *

LABELS = ["static", "strdup", "deep", "calloc", "32k", "32k+1", "main", "thread", "plugin"]


def failed(*rules, log=None, steps=()):
    args = []
    for r in rules:
        args += ["--rule", r]
    if log:
        args += ["--log", log]
    r = tool("run", *args, "--", prog("sites"), prog("libplugin.so"), *steps)
    out = r.stdout.decode().splitlines()
    if r.returncode != 0 or len(out) != len(steps or LABELS):
        print(f"    unexpected run: status {r.returncode}\n    {out}\n    {r.stderr.decode()}")
        return None
    return [l.split()[0] for l in out if l.endswith(" NULL")]


def table(rows):
    """Each row: rules, the labels whose allocation fails, what it shows,
    and optionally the steps to run and the one line the program prints
    (where that line is given, it is what is asserted, not the labels)."""
    for row in rows:
        rules, expect, what = row[:3]
        steps = row[3] if len(row) > 3 else ()
        if len(row) > 4:
            r = tool("run", *sum((["--rule", x] for x in rules), []), "--", prog("sites"),
                     prog("libplugin.so"), *steps)
            eq(r.stdout.decode().splitlines(), [row[4]], what)
            continue
        got = failed(*rules, steps=steps)
        eq(got, expect, what + ": " + "; ".join(rules))


# the stack: caller=, in=, depth=, notin=
@case
def stack_matchers():
    table([
        (["fail caller=alloc_static"], ["static"], "caller= names a static function"),
        (["fail caller=via_strdup"], ["strdup"], "strdup's allocation is attributed to its caller"),
        (["fail caller=strdup"], [], "caller= never names a C runtime frame"),
        (["fail in=strdup"], ["strdup"], "in= sees the C runtime frames", ["static", "strdup", "deep"]),
        (["fail in=__strdup"], ["strdup"], "any alias of a function matches", ["static", "strdup"]),
        (["fail caller=level3"], ["deep"], "caller= of a function three frames down"),
        (["fail in=level1"], ["deep"], "in= finds a frame three down"),
        (["fail in=level1 depth=2"], [], "depth=2 does not reach the third frame"),
        (["fail in=level1 depth=3"], ["deep"], "depth=3 does"),
        (["fail in=level* notin=level2"], [], "notin= vetoes"),
        (["fail notin=main size=400"], ["thread"], "notin=main leaves only the thread's allocation"),
    ])


# the call: fn= and size=
@case
def call_matchers():
    table([
        (["fail fn=calloc"], ["calloc"], "fn=calloc", ["static", "calloc", "main"]),
        (["fail fn=calloc"], [], "pthread_create's own calloc fails: the thread is not created",
         ["thread"], "thread not created"),
        (["fail fn=malloc caller=zeroed"], [], "fn= and caller= are ANDed"),
        (["fail size=32K"], ["32k"], "size=32K: exactly 32 KiB"),
        (["fail size=costly"], ["32k+1"], "size=costly: 32 KiB + 1 and above"),
        (["fail size=small caller=main"], ["32k", "main"], "size=small includes 32 KiB exactly",
         ["32k", "32k+1", "main"]),
        (["fail size=>32K"], ["32k+1"], "size=>32K"),
        (["fail size=200,300,400..500"], ["deep", "calloc", "main", "thread"], "a comma list of sizes"),
    ])


# the thread and the module, also a library dlopen'ed
@case
def thread_and_module_matchers():
    table([
        (["fail thread=worker-*"], ["thread"], "thread= matches the thread's name"),
        (["fail caller=plugin_static_alloc"], ["plugin"], "a static function in a dlopen'ed library"),
        (["fail caller=plugin_init"], [], "the plugin's constructor fails and copes",
         ["plugin"]),
        (["fail module=libplugin.so"], ["plugin"], "module= by basename"),
        (["fail module=*/tests/libplugin.so"], ["plugin"], "module= by path"),
        (["fail module=sites caller=main,alloc_static size=100..600"], ["static", "main"],
         "module= of the program itself, caller= list", ["static", "strdup", "main"]),
    ])


# rules in order
@case
def first_matching_rule_decides():
    table([
        (["nofail caller=alloc_static", "fail caller=alloc_static,via_strdup"], ["strdup"],
         "the first matching rule decides (nofail wins)"),
        (["fail caller=level3 probability=0%", "fail caller=level3"], [],
         "a matched fail rule whose trigger does not fire still decides"),
    ])


# strdup and strndup in a loop from four callers and at two sizes: the
# quick path's memo of a caller found plain (af_quick_stack) must not answer
# for another caller, size interval or function in libc
def dups(*rules):
    r = tool("run", *sum((["--rule", x] for x in rules), []), "--", prog("sites"),
             prog("libplugin.so"), "dups")
    return r.stdout.decode().strip()


# (a rule on a caller that never calls makes every size a candidate, so
# that the memos are made at each size)
@case
def strdup_callers_in_a_loop():
    for rules, want in [(["fail caller=via_strdup2"], "dups 0 2000 0 0 first 1"),
                        (["fail caller=via_strdup2 interval=3"], "dups 0 666 0 0 first 3"),
                        (["fail caller=via_strdup2 nth=2"], "dups 0 1 0 0 first 2"),
                        (["fail caller=via_strdup size=100..200", "fail caller=no_such_function"],
                         "dups 0 0 1 0 first 0"),
                        (["fail caller=via_ptr size=100..200", "fail caller=no_such_function"],
                         "dups 0 0 0 1 first 0"),
                        (["fail caller=via_ptr size=small"], "dups 1000 0 0 1 first 0"),
                        (["fail module=no_such_module"], "dups 0 0 0 0 first 0")]:
        eq(dups(*rules), want, f"strdup's callers in a loop: {'; '.join(rules)}")


# site= names exactly the site the log reports
@case
def site_from_the_log():
    with tempfile.TemporaryDirectory() as d:
        log = os.path.join(d, "log")
        eq(failed("fail caller=alloc_static", log=log), ["static"], "a log of the injection")
        entries = injections(log)
        eq(len(entries), 1, "one injection logged")
        site = entries[0]["site"].split()[0] if entries else ""
        check(site.startswith("sites+0x"), "the log names the site as MODULE+0xOFFSET", site)
        eq(failed(f"fail site={site}"), ["static"], f"site={site} fails that call site only")
        eq(failed(f"fail site={site}1"), [], "another offset does not match")


# a rule file with include
@case
def rule_file_include():
    with tempfile.TemporaryDirectory() as d:
        with open(os.path.join(d, "inc.rules"), "w") as f:
            f.write("fail caller=via_strdup\n")
        with open(os.path.join(d, "main.rules"), "w") as f:
            f.write("# comment\nfail caller=alloc_static\ninclude inc.rules\n")
        r = tool("run", "--rules", os.path.join(d, "main.rules"), "--", prog("sites"))
        eq([l.split()[0] for l in r.stdout.decode().splitlines() if l.endswith("NULL")],
           ["static", "strdup"], "--rules with include")


# inline rules separated by ';'
@case
def inline_rules():
    r = run([prog("sites")], preload=True, ALLOCFAIL_RULE="fail caller=alloc_static; fail caller=zeroed")
    eq([l.split()[0] for l in r.stdout.decode().splitlines() if l.endswith("NULL")],
       ["static", "calloc"], "ALLOCFAIL_RULE with ';'")


# the triggers end to end, through the shim (tests/unit covers the predicate)
def trig(rule, n=20, size=100, *more, **env):
    r = run([prog("trig"), str(n), str(size), *more], preload=True, ALLOCFAIL_RULE=rule,
            ALLOCFAIL_LOG="/dev/null", **env)
    return r.stdout.decode().strip()


@case
def triggers():
    for rule, want in [("fail caller=one interval=3", "3 6 9 12 15 18"),
                       ("fail caller=one times=2", "1 2"),
                       ("fail caller=one nth=5", "5"),
                       ("fail caller=one space=1000", "10 11 12 13 14 15 16 17 18 19 20"),
                       ("fail caller=one interval=2 times=3", "2 4 6"),
                       ("fail caller=one size=>100", ""),
                       ("fail caller=one probability=0%", "")]:
        eq(trig(rule), want, f"trig: {rule}")


@case
def probability_rate():
    n = int(trig("fail caller=one probability=10%", 100000, ALLOCFAIL_SEED="7"))
    # binomial(100000, 0.1): sd ~95; 6 sd either side
    check(abs(n - 10000) < 570, "trig: probability=10% over 100000 calls within 6 sd of 10000", n)
    eq(trig("fail caller=one probability=10%", 100000, ALLOCFAIL_SEED="7"), str(n),
       "trig: the same seed fails the same number of calls")


@case
def probability_seed():
    a = trig("fail caller=one probability=30%", 40, ALLOCFAIL_SEED="11")
    eq(trig("fail caller=one probability=30%", 40, ALLOCFAIL_SEED="11"), a, "trig: the same seed, the same calls")
    check(a != trig("fail caller=one probability=30%", 40, ALLOCFAIL_SEED="12"), "trig: another seed, other calls")


# the quick path's draw (a decrement in the memo's entry, most calls) and
# the slow path's (ALLOCFAIL_CONTEXT sends every allocation there) fail
# the same calls under the same seed: rare failures, so that the calls
# between them are the quick path's own, not the 1000 counted after each
# injection; and frequent ones, where they are those
@case
def probability_quick_equals_slow():
    for prob, n in (("0.05%", 40000), ("3%", 3000)):
        for seed in ("1", "2", "3"):
            rule = f"fail caller=one probability={prob}"
            def calls(**env):
                return trig(rule, n, 100, "list", ALLOCFAIL_SEED=seed, **env).split()
            quick = calls()
            check(len(quick) >= 3, f"trig {n} at {prob}, seed {seed}: some calls fail", len(quick))
            eq(calls(ALLOCFAIL_CENSUS=os.devnull), quick,
               f"trig {n} at {prob}, seed {seed}: the same calls with the census")
            eq(calls(ALLOCFAIL_CENSUS=os.devnull, ALLOCFAIL_CONTEXT="1"), quick,
               f"trig {n} at {prob}, seed {seed}: the same calls on the slow path")


# a fail rule that can never fire again (nth= past its count, times= used
# up) still decides what it matches: no later rule is consulted, on the
# quick path too (past the 1000 slow allocations after an injection)
@case
def spent_rule_still_decides():
    for rule in ("fail caller=one times=2; fail caller=one probability=50%",
                 "fail caller=one nth=2; fail caller=one probability=50%"):
        want = "2" if "times" in rule else "1"
        eq(trig(rule, 5000, ALLOCFAIL_SEED="3"), want, f"trig 5000: {rule}")


# a library unloaded and another loaded at the same address: the rules see
# the new one, not what was cached of the old
twin_a, twin_b = (os.path.join(BUILD, "tests", f"libtwin{t}.so") for t in "ab")


# (with strdup's call site through libc, which the quick path keeps from
# one call to the next)
@case
def library_reloaded_at_same_address():
    for rule, want in [("fail caller=twin_b", ["1 ok dups 0", "2 NULL dups 0"]),
                       ("fail module=libtwinb.so", ["1 ok dups 0", "2 NULL dups 100"]),
                       ("fail caller=twin_a", ["1 NULL dups 0", "2 ok dups 0"]),
                       ("fail caller=twin_dup_b", ["1 ok dups 0", "2 ok dups 100"]),
                       ("fail caller=twin_dup_a", ["1 ok dups 100", "2 ok dups 0"])]:
        r = run([prog("dltwin"), twin_a, twin_b], preload=True, ALLOCFAIL_RULE=rule,
                ALLOCFAIL_LOG="/dev/null")
        eq(r.stdout.decode().splitlines(), want, f"dlclose, dlopen at the same address: {rule}")


main()
