"""Reports: the injection log, crash attribution, the census, the summary
and allocfail report."""
import atexit
import functools
import re
import shlex
import shutil
import signal
import subprocess
import tempfile
from aftest import *

crashy_src = os.path.join(SRC, "tests", "progs", "crashy.c")
with open(crashy_src) as f:
    src = f.read().splitlines()
malloc_line = next(i + 1 for i, l in enumerate(src) if "malloc(sizeof *r)" in l)
strcpy_line = malloc_line + 1
main_call_line = next(i + 1 for i, l in enumerate(src) if 'parse_record("first record")' in l)


@functools.lru_cache(maxsize=None)
def deref_logged():
    """crashy deref, its malloc failed, with a log: (the run, the log's path)."""
    d = tempfile.mkdtemp(prefix="af-reports-")
    atexit.register(shutil.rmtree, d, True)
    log = os.path.join(d, "log")
    r = run([prog("crashy"), "deref"], preload=True, ALLOCFAIL_LOG=log,
            ALLOCFAIL_RULE="fail caller=parse_record")
    return r, log


def crashy_crashes(args, rule, label, **extra):
    """crashy ARGS under RULE, logged, checked to die of SIGSEGV: the run
    and the log's crash records."""
    r, log = run_logged([prog("crashy")] + args, ALLOCFAIL_RULE=rule, **extra)
    eq(r.returncode, -11, f"{label}: SIGSEGV")
    return r, [e for e in log if e["ev"] == "crash"]


# the allocations between an injection and a crash are counted exactly up
# to 1000 (the crash record's "after"), on the quick path too: malloc,
# calloc and realloc from one call site, which the memo serves
@case
def crash_counts_allocations_after():
    for n, census in ((0, False), (5, False), (700, False), (999, True), (700, True), (1500, False)):
        extra = {"ALLOCFAIL_CENSUS": os.devnull} if census else {}
        r, crash = crashy_crashes(["late", str(n)], "fail caller=late_alloc", f"late {n}", **extra)
        eq([c["after"] for c in crash], [min(n, 1000)], f"late {n} (census {census}): allocations after")
        err = r.stderr.decode()
        want = ("more than 1000 allocations after" if n >= 1000 else
                f"{n} allocation{'' if n == 1 else 's'} after an injected failure")
        check(want in err, f"late {n}: stderr says {want!r}", err)


@case
def injection_and_crash_logged():
    r, log = deref_logged()
    eq(r.returncode, -11, "the program still dies of SIGSEGV")
    entries = json_lines(log)
    eq([e["ev"] for e in entries], ["inject", "crash"], "the log holds the injection, then the crash")
    inj, crash = entries
    top = inj["stack"][0]
    eq((top["func"], os.path.basename(top["file"]), top["line"]),
       ("parse_record", "crashy.c", malloc_line), "the injection names function and file:line")
    eq((inj["stack"][1]["func"], inj["stack"][1]["line"]), ("main", main_call_line),
       "and its caller's")
    check(inj["site"].startswith("crashy+0x") and inj["site"].endswith("(parse_record)"),
          "the site is MODULE+0xOFFSET", inj["site"])
    eq((inj["fn"], inj["size"], inj["class"], inj["rule"]), ("malloc", 44, "small", "ALLOCFAIL_RULE:1"),
       "entry point, size, class and rule")
    for k in ("seq", "time", "pid", "tid", "thread"):
        check(k in inj, f"the entry has {k}")
    eq((crash["signal"], crash["addr"], crash["after"]), ("SIGSEGV", "0x0", 0),
       "the crash record: signal, fault address, allocations after")
    cs = crash["stack"][crash["crash_site"]]
    eq(cs.get("func"), "parse_record", "the crash site is the first frame outside the C runtime")
    eq(crash["recent"], [inj["seq"]], "the crash record points at the injection")
    err = r.stderr.decode()
    check(re.search(r"SIGSEGV \(address 0x0\) in parse_record \(crashy\+0x[0-9a-f]+\)", err),
          "stderr names the crash site", err)
    check(f"malloc(44) at crashy+" in err and f"parse_record (crashy.c:{malloc_line})" in err,
          "stderr names the injection site with file:line", err)

    rep = tool("report", log)
    out = rep.stdout.decode()
    eq(rep.returncode, 0, "allocfail report: status 0")
    check(re.search(rf"at parse_record \(progs/crashy.c:{malloc_line}\)", out), "report: injection site", out)
    check(re.search(rf"parse_record \(progs/crashy.c:{strcpy_line}\)", out),
          "report: the crash stack symbolized with file:line", out)
    check("# 1 injected failure, 1 crash" in out, "report: counts", out)


# ALLOCFAIL_LOG_NAMES=0 (explore's runs): frames as module+offset only,
# and report names them the same
@case
def log_without_names():
    _, log = deref_logged()
    inj, _ = json_lines(log)
    with tempfile.TemporaryDirectory() as d:
        log0 = os.path.join(d, "log0")
        r = run([prog("crashy"), "deref"], preload=True, ALLOCFAIL_LOG=log0, ALLOCFAIL_LOG_NAMES="0",
                ALLOCFAIL_RULE="fail caller=parse_record")
        eq(r.returncode, -11, "LOG_NAMES=0: the same SIGSEGV")
        inj0 = json_lines(log0)[0]
        eq([sorted(f) for f in inj0["stack"][:2]], [["module", "pc"], ["module", "pc"]],
           "LOG_NAMES=0: the program's frames carry pc and module only")
        eq([f["pc"] for f in inj0["stack"]], [f["pc"] for f in inj["stack"]],
           "LOG_NAMES=0: the same frames")
        eq(inj0["site"], inj["site"].split(" ")[0], "LOG_NAMES=0: the site without its function")
        rep0 = tool("report", log0).stdout.decode()
        check(re.search(rf"at parse_record \(progs/crashy.c:{malloc_line}\)", rep0),
              "LOG_NAMES=0: report names the injection site", rep0)


# the program's own handler still runs, and the status is unchanged
@case
def program_handler_runs():
    r = run([prog("crashy"), "handler"], preload=True, ALLOCFAIL_RULE="fail caller=parse_record")
    eq(r.returncode, -11, "with its own handler: still SIGSEGV")
    err = r.stderr.decode()
    check("crashy: own handler ran" in err, "the program's handler ran", err)
    check("SIGSEGV (address 0x0) in parse_record" in err, "after ours recorded the crash", err)


# stack overflow: the handler runs on an alternate stack
@case
def stack_overflow():
    r = run([prog("crashy"), "overflow"], preload=True, ALLOCFAIL_RULE="fail caller=main size=100")
    eq(r.returncode, -11, "stack overflow: SIGSEGV")
    check(re.search(r"SIGSEGV \(stack overflow at 0x[0-9a-f]+\) in recurse", r.stderr.decode()),
          "the overflow is attributed, and said to be one", r.stderr)


# the stack runs out during the shim's own walk of it (every attempt of
# an unbounded retry fails, on a 256 KiB thread): the crash site is
# still the program's frame, libunwind's and the shim's frames skipped
@case
def stack_overflow_in_walk():
    r, crash = crashy_crashes(["deepalloc"], "fail caller=deep_alloc", "deepalloc")
    eq(len(crash), 1, "deepalloc: one crash record")
    cs = crash[0]["stack"][crash[0]["crash_site"]] if crash else {}
    eq((crash[0].get("overflow") if crash else None, cs.get("func"), os.path.basename(cs.get("module", ""))),
       (True, "deep_alloc", "crashy"), "deepalloc: an overflow, at the program's frame")
    check(crash and any("libunwind" in f.get("module", "") for f in crash[0]["stack"][:crash[0]["crash_site"]]),
          "deepalloc: it happened in the shim's walk (libunwind's frames above the site)",
          crash[0]["stack"][:8] if crash else None)
    check(re.search(r"SIGSEGV \(stack overflow at 0x[0-9a-f]+\) in deep_alloc \(crashy\+0x",
                    r.stderr.decode()), "deepalloc: the note names the program's frame", r.stderr)


# abort after an injected failure
@case
def abort_attributed():
    r = run([prog("crashy"), "abort"], preload=True, ALLOCFAIL_RULE="fail caller=xmalloc")
    eq(r.returncode, -6, "xmalloc-style abort: SIGABRT")
    check("SIGABRT (code -6) in xmalloc" in r.stderr.decode(), "the abort is attributed", r.stderr)


# no injection: no handler, no output
@case
def no_injection_nothing_said():
    r = run([prog("crashy"), "deref"], preload=True, ALLOCFAIL_RULE="fail caller=nothing_here")
    eq((r.returncode, r.stderr), (0, b""), "without an injection nothing is installed or printed")


# 8 threads in 4 processes write the log at once: whole lines only
@case
def log_storm_whole_lines():
    with tempfile.TemporaryDirectory() as d:
        log2 = os.path.join(d, "storm")
        r = run([prog("logstorm")], preload=True, ALLOCFAIL_LOG=log2, ALLOCFAIL_SEED="7",
                ALLOCFAIL_RULE="fail caller=worker probability=20%")
        failed = sum(int(l.split()[1]) for l in r.stdout.decode().split("\n") if l.startswith("failed"))
        with open(log2, "rb") as f:
            lines = f.read().split(b"\n")
    eq(lines[-1], b"", "the log ends with a newline")
    parsed = []
    for l in lines[:-1]:
        try:
            parsed.append(json.loads(l))
        except ValueError:
            parsed.append(None)
    eq(sum(1 for p in parsed if p is None), 0, "every line of the log parses")
    eq(len({p["pid"] for p in parsed if p}), 4, "four processes wrote to it")
    check(failed > 1000, "thousands of failures were injected", failed)
    eq(sum(1 for p in parsed if p["ev"] == "inject"), failed, "one line per failure the program saw")
    eq([(p["status"], p["argv0"]) for p in parsed if p["ev"] == "exit"], [(0, "logstorm")],
       "the process that exit()s says how it exited; its children end by _exit(), unseen")


# a symlink planted at the log path is refused
@case
def log_symlink_refused():
    with tempfile.TemporaryDirectory() as d:
        target = os.path.join(d, "target")
        link = os.path.join(d, "link")
        os.symlink(target, link)
        r = run([prog("crashy"), "deref"], preload=True, ALLOCFAIL_LOG=link,
                ALLOCFAIL_RULE="fail caller=parse_record")
        eq(r.returncode, 125, "a symlink at the log path: status 125")
        eq(stderr_lines(r), [f"allocfail: ALLOCFAIL_LOG: cannot open log '{link}': it is a symbolic link, which is refused"],
           "with one line saying why")
        check(not os.path.exists(target), "and nothing was written through it")


# a FIFO planted at the log path is refused too, without blocking
@case
def log_fifo_refused():
    with tempfile.TemporaryDirectory() as d:
        fifo = os.path.join(d, "fifo")
        os.mkfifo(fifo)
        r = run([prog("crashy"), "deref"], preload=True, ALLOCFAIL_LOG=fifo, timeout=20)
        eq(r.returncode, 125, "a FIFO at the log path: status 125")
        eq(stderr_lines(r), [f"allocfail: ALLOCFAIL_LOG: cannot open log '{fifo}': it is a FIFO or socket, "
                             "not a regular file or a terminal"], "with one line saying why")


# a program that closes the log's descriptor and opens a file of its own:
# the log goes on in the log, never into the program's file
@case
def log_descriptor_closed():
    with tempfile.TemporaryDirectory() as d:
        data, log = os.path.join(d, "data"), os.path.join(d, "closefds.log")
        r = run([prog("closefds"), data], preload=True, ALLOCFAIL_LOG=log,
                ALLOCFAIL_RULE="fail caller=main fn=malloc size=100")
        eq((r.returncode, r.stdout), (0, b"failed\n"), "closefds: the allocation was failed")
        eq(open(data, "rb").read(), b"DATA\n", "the program's file holds only its own data")
        eq([e["ev"] for e in json_lines(log)], ["inject", "exit"],
           "and the log holds the injection and how the process exited")


# the census: every known call site with its count
@case
def census():
    r = tool("sites", "--json", "--", prog("census"))
    eq(r.returncode, 0, "allocfail sites: status 0")
    doc = json.loads(r.stdout)
    by_func = {}
    for s in doc["sites"]:
        if s["function"]:
            by_func.setdefault(s["function"], []).append(s)
    for func, calls, cls in [("site_a", 10, "small"), ("site_b", 3, "small"), ("site_c", 5, "small"),
                             ("site_d", 2, "costly")]:
        got = by_func.get(func, [])
        eq([(s["calls"], s["class"], s["runtime"]) for s in got], [(calls, cls, False)],
           f"census: {func} with {calls} calls")
        if got:
            check(re.match(r"census\+0x[0-9a-f]+$", got[0]["site"]) and got[0]["file"].endswith("census.c"),
                  f"census: {func} has a site and a file", got[0])
    eq(doc["sites"][0]["function"], "site_a", "census: sorted by calls")
    r = tool("sites", "--", prog("census"))
    check(re.search(r"census\+0x[0-9a-f]+\s+10\s+240 small\s+site_a \(progs/census.c:\d+\)", r.stdout.decode()),
          "allocfail sites prints a table", r.stdout.decode())


# under a small stack limit (ulimit -s 128) the command names lines all the
# same (libdw's line reader needs more than that: it crashed), and the
# program it runs keeps the limit
@case
def small_stack_limit():
    small = f"ulimit -s 128 && exec {shlex.quote(TOOL)}"
    r = run(["sh", "-c", f"{small} sites -- {shlex.quote(prog('census'))}"])
    check(r.returncode == 0 and
          re.search(r"census\+0x[0-9a-f]+\s+10\s+240 small\s+site_a \(progs/census.c:\d+\)", r.stdout.decode()),
          "ulimit -s 128: allocfail sites names lines", (r.returncode, r.stdout, r.stderr))
    for extra in ([], ["--timeout", "10"]):
        r = run(["sh", "-c", f"{small} run {' '.join(extra)} -- sh -c 'ulimit -s'"])
        eq((r.returncode, r.stdout), (0, b"128\n"), f"ulimit -s 128: run {extra} keeps the program's limit")


# counts from threads (each counts in a table of its own, folded in when
# it exits) are exact: 4 threads x (K + 1) calls at site K, and 5 more
# calls of site 0 from main
THREAD_SITES = {f"site{k}": 4 * (k + 1) + (5 if k == 0 else 0) for k in range(80)}


@case
def census_of_threads():
    r = tool("sites", "--json", "--", prog("threadcount"))
    doc = json.loads(r.stdout)
    got = {s["function"]: s["calls"] for s in doc["sites"] if (s["function"] or "").startswith("site")}
    eq(got, THREAD_SITES, "census from 4 threads: every one of 80 sites counted exactly")


@case
def summary_of_threads():
    r = run([prog("threadcount")], preload=True, ALLOCFAIL_SUMMARY="1")
    total = sum(THREAD_SITES.values())
    check(any(re.match(rf"allocfail: summary of pid \d+: (\d+) allocations", l) and
              int(re.match(r"allocfail: summary of pid \d+: (\d+)", l).group(1)) >= total
              for l in stderr_lines(r)), f"the summary counts at least the {total} of the sites", stderr_lines(r))
    check(any(re.search(r"^allocfail:\s+320\s+27840\s+0\s+0\s+0\s+threadcount\+0x[0-9a-f]+ \(site79\)", l)
              for l in stderr_lines(r)), "the summary line of site79: 320 calls of 87 bytes", stderr_lines(r))


# a crash inside the allocator (the program frees what malloc never gave
# it): the crash site is the program's frame that called free, not the
# shim's jemalloc; explore says so
badfree_line = next(i + 1 for i, l in enumerate(src) if "free(p ? p : not_heap + 64)" in l)


@case
def crash_inside_allocator():
    r, crash = crashy_crashes(["badfree"], "fail nth=4", "badfree: inside the allocator")
    eq(len(crash), 1, "badfree: one crash record")
    if crash:
        st, cs = crash[0]["stack"], crash[0]["crash_site"]
        check(cs > 0 and all(f["module"].endswith("liballocfail.so") for f in st[:cs]),
              "badfree: the frames before the crash site are the shim's", st[:cs + 1])
        eq(st[cs].get("func"), "main", "badfree: the crash site is the program's call of free")


@case
def explore_crash_inside_allocator():
    r = tool("explore", "-q", "--json", "-", "--", prog("crashy"), "badfree")
    doc = json.loads(r.stdout)
    got = [s["detail"] for s in doc["sites"] if s["outcome"] == "crash"]
    eq(len(got), 1, "explore badfree: one crash")
    check(got and re.match(rf"SIGSEGV inside the allocator \(je_\w+\), called from main \(\S*crashy.c:{badfree_line}\): "
                           r"a double or invalid free\? \(--backend next lets glibc check it\)$", got[0]),
          "explore badfree: the detail says the crash is inside the allocator", got)


@functools.lru_cache(maxsize=None)
def livesample_census():
    r = tool("sites", "--json", "--", prog("livesample"), "sites")
    return json.loads(r.stdout)


# the census's quick path: malloc, calloc and realloc counted exactly
@case
def census_quick_path():
    doc = livesample_census()
    N = 8192
    calls = {s["function"]: s["calls"] for s in doc["sites"] if (s["function"] or "").startswith("site_")}
    eq(sorted((f, c) for f, c in calls.items() if not f.startswith("site_print")),
       [("site_dup_a", N), ("site_dup_b", 2 * N), ("site_fill", 1), ("site_grow", 3 * N),
        ("site_hold", N), ("site_tmp", N)],
       "census: quick-path counts of malloc, realloc and calloc sites, and of strdup's callers")
    # asprintf allocates in libc two frames down or more: N calls count N times
    # what one call counts
    check(calls.get("site_print_once", 0) >= 1 and calls.get("site_print") == N * calls["site_print_once"],
          "census: asprintf's allocations counted at its caller", calls)
    eq([s["bytes"] for s in doc["sites"] if s["function"] == "site_grow"], [N * (64 + 4096 + 8192)],
       "census: realloc's bytes")


# and the live-memory sampler keeps up with it: after a real out-of-memory
# (RLIMIT_AS), the blocks made and freed (by free and by realloc) are gone
# from the report, the blocks held are there, the largest first; also when
# four threads make them and free each other's (the sampler has no lock)
@case
def sampler_after_oom():
    named = {s["site"]: s["function"] for s in livesample_census()["sites"]}
    for label, args, kw in [("the summary", [], {"ALLOCFAIL_SUMMARY": "1"}),
                            ("the census", [], {"ALLOCFAIL_CENSUS": os.devnull}),
                            ("the census, 4 threads making and freeing", ["threads"],
                             {"ALLOCFAIL_CENSUS": os.devnull})]:
        r = run([prog("livesample")] + args, preload=True,
                ALLOCFAIL_RULE="set small=retry retry_timeout=200ms", **kw)
        eq(r.returncode, -signal.SIGABRT, f"{label}: a real out-of-memory ends in oom=abort")
        err = stderr_lines(r)
        i = next((k for k, l in enumerate(err) if "call sites holding the most live memory" in l), None)
        listed = []
        for l in err[i + 1:] if i is not None else []:
            m = re.match(r"allocfail:\s+\d+\s+(\S+)", l)
            if not m:
                break
            listed.append(named.get(m.group(1), m.group(1)))
        eq(listed, ["site_fill", "site_hold"], f"{label}: the sampler lists what is held, not what was freed")


# a request the quick path counted before jemalloc refused it (a real
# out-of-memory, no retrying) is neither counted twice nor left counted:
# site_fill's calls in the census are the allocations that succeeded
@case
def census_exact_after_real_oom():
    named = {s["function"]: s["site"] for s in livesample_census()["sites"] if s["function"]}
    with tempfile.TemporaryDirectory() as d:
        cen = os.path.join(d, "census")
        r = run([prog("livesample")], preload=True, ALLOCFAIL_CENSUS=cen)
        m = re.match(r"NULL after (\d+)", r.stdout.decode())
        check(r.returncode == 3 and m, "livesample: the real out-of-memory returns NULL at site_fill",
              (r.returncode, r.stdout))
        calls = [e["calls"] for e in json_lines(cen)
                 if e.get("ev") == "count" and e.get("site") == named["site_fill"]]
        eq(calls, [int(m.group(1))] if m else None,
           "census: site_fill's calls are the allocations that succeeded")


# seeds are printed exactly, above 2^53 and 2^63 too: "ALLOCFAIL_SEED
# repeats the run" must name the seed that does
@case
def seeds_printed_exactly():
    with tempfile.TemporaryDirectory() as d:
        log = os.path.join(d, "log")
        seeds = [2606686373309865962, 2**53 + 1, 2**63 + 5, 2**64 - 1]
        with open(log, "w") as f:
            for k, seed in enumerate(seeds):
                f.write(json.dumps({"ev": "seed", "seq": k + 1, "pid": 7, "seed": seed}) + "\n")
        r = tool("report", log)
        eq([l for l in r.stdout.decode().splitlines() if " seed " in l],
           [f"#{k + 1} seed {seed} (ALLOCFAIL_SEED repeats the run)  [pid 7]" for k, seed in enumerate(seeds)],
           "report prints each seed exactly as the log holds it")


# and the one the shim drew and logged itself
@case
def drawn_seed_printed():
    with tempfile.TemporaryDirectory() as d:
        log = os.path.join(d, "drawn")
        run([prog("census")], preload=True, ALLOCFAIL_LOG=log, ALLOCFAIL_RULE="fail caller=site_c probability=1%")
        drawn = [e["seed"] for e in json_lines(log) if e["ev"] == "seed"]
        eq(len(drawn), 1, "a drawn seed is logged")
        out = tool("report", log).stdout.decode()
        check(drawn and f" seed {drawn[0]} (ALLOCFAIL_SEED" in out, "report prints the drawn seed exactly",
              (drawn, out))


# the exit summary
@case
def exit_summary():
    r = run([prog("census")], preload=True, ALLOCFAIL_SUMMARY="1", ALLOCFAIL_RULE="fail caller=site_c nth=2")
    err = stderr_lines(r)
    check(any(re.match(r"allocfail: summary of pid \d+: \d+ allocations at \d+ call sites; 1 injected", l) for l in err),
          "the summary totals", err)
    check(any(re.search(r"^allocfail:\s+5\s+35\s+1\s+0\s+0\s+census\+0x[0-9a-f]+ \(site_c\)", l) for l in err),
          "the summary line of site_c: 5 calls, 35 bytes, 1 injected", err)


main()
